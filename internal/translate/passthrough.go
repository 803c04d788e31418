package translate

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"ingress-controller/pkg/lbconfig"
)

// AnnotationSSLPassthrough on an Ingress: "true" passes the TLS connections
// for its rule hosts through to the backend of each rule's "/" path (else
// its first path) without terminating them; the backend does TLS itself.
// HTTP requests for those hosts are routed as usual.
const AnnotationSSLPassthrough = AnnotationPrefix + "ssl-passthrough"

// passthroughHost is a host whose TLS connections go to a backend as they
// are.
type passthroughHost struct {
	host    string
	backend string
	owner   claim
}

// addPassthrough reads AnnotationSSLPassthrough of ing and claims its rule
// hosts; the oldest Ingress wins a host. An Ingress with access (source
// ranges) passes nothing through.
func (b *builder) addPassthrough(ing *networkingv1.Ingress, ref lbconfig.ObjectRef, access *lbconfig.Access) {
	v, ok := ing.Annotations[AnnotationSSLPassthrough]
	if !ok {
		return
	}
	annotation := "metadata.annotations[" + AnnotationSSLPassthrough + "]"
	on, err := strconv.ParseBool(v)
	if err != nil {
		b.problems.add(ref, annotation, "InvalidAnnotation", "%q is not true or false; TLS is terminated as usual", v)
		return
	}
	if !on {
		return
	}
	if access != nil {
		// The model has no source ranges for TLS passed through.
		b.problems.add(ref, annotation, "UnprotectedPassthrough",
			"TLS passed through cannot be limited to source ranges (%s, %s), so it is not passed through rather than served to every client; TLS is terminated as usual",
			AnnotationAllowSourceRange, AnnotationDenySourceRange)
		return
	}
	for i := range ing.Spec.Rules {
		rule := &ing.Spec.Rules[i]
		field := fmt.Sprintf("spec.rules[%d]", i)
		host, err := normalizeHost(rule.Host)
		switch {
		case err != nil:
			continue // reported with the rule
		case host == "":
			b.problems.add(ref, field+".host", "InvalidPassthrough",
				"TLS passthrough needs a host to match the server name (SNI) on; this rule is not passed through")
			continue
		case rule.HTTP == nil || len(rule.HTTP.Paths) == 0:
			b.problems.add(ref, field+".http", "InvalidPassthrough",
				"TLS passthrough needs a path whose backend gets the connections; %s is not passed through", describeHost(host))
			continue
		}
		j := slices.IndexFunc(rule.HTTP.Paths, func(p networkingv1.HTTPIngressPath) bool { return p.Path == "/" || p.Path == "" })
		if j < 0 {
			j = 0
		}
		pf := fmt.Sprintf("%s.http.paths[%d]", field, j)
		site := backendSite{ref: ref, field: pf + ".backend", what: "TLS passthrough for " + describeHost(host), served: "TLS passthrough for " + describeHost(host), tcp: true}
		svc, ok := b.checkBackend(site, &rule.HTTP.Paths[j].Backend)
		if !ok {
			continue
		}
		if k := slices.IndexFunc(b.passthrough, func(p passthroughHost) bool { return p.host == host }); k >= 0 {
			if b.passthrough[k].owner.ref != ref {
				b.problems.add(ref, field+".host", "PassthroughConflict",
					"TLS for %s is already passed through by %s; this rule is not", describeHost(host), b.passthrough[k].owner)
			}
			continue
		}
		b.passthrough = append(b.passthrough, passthroughHost{host: host, backend: b.backend(site, svc), owner: claim{ref: ref, field: field}})
	}
}

// applyPassthrough puts the passthrough hosts on the HTTPS listener,
// making one if no Ingress has TLS. A passthrough host replaces the TLS
// termination another Ingress asked for on the same host, with a problem
// on each Ingress whose routes that drops from HTTPS.
func (b *builder) applyPassthrough(opts Options, https *lbconfig.Listener, certs []lbconfig.Certificate) (*lbconfig.Listener, []lbconfig.Certificate) {
	if len(b.passthrough) == 0 {
		return https, certs
	}
	if https == nil {
		https = &lbconfig.Listener{Port: opts.HTTPSPort, Protocol: lbconfig.ProtocolHTTPS}
	}
	for _, pt := range b.passthrough {
		vh := lbconfig.VirtualHost{Hostname: pt.host, Passthrough: &lbconfig.BackendRef{Name: pt.backend}}
		k := slices.IndexFunc(https.VirtualHosts, func(v lbconfig.VirtualHost) bool { return v.Hostname == pt.host })
		if k < 0 {
			https.VirtualHosts = append(https.VirtualHosts, vh)
			continue
		}
		var dropped []lbconfig.ObjectRef
		for _, r := range https.VirtualHosts[k].Routes {
			// A refused Ingress's routes (addRefused) serve nothing to lose.
			if r.Source != pt.owner.ref && !slices.Contains(dropped, r.Source) && !strings.HasSuffix(r.Backend.Name, RefusedBackendSuffix) {
				dropped = append(dropped, r.Source)
			}
		}
		for _, ref := range dropped {
			b.problems.add(ref, "spec.tls", "PassthroughConflict",
				"TLS for %s is passed through by %s, so it is not terminated here and these routes are served on HTTP only",
				describeHost(pt.host), pt.owner)
		}
		// Their HTTP routes must not redirect to what is no longer theirs.
		if hv := b.vhosts[pt.host]; hv != nil {
			for i := range hv.Routes {
				if slices.Contains(dropped, hv.Routes[i].Source) {
					hv.Routes[i].HTTPSRedirect = nil
				}
			}
		}
		https.VirtualHosts[k] = vh
	}
	return https, b.usedCertificates(https)
}
