package translate

import (
	"crypto/tls"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"ingress-controller/pkg/lbconfig"
)

// AnnotationSSLRedirect turns the HTTP to HTTPS redirect of an Ingress
// with TLS hosts off ("false") or on ("true", the default).
const AnnotationSSLRedirect = AnnotationPrefix + "ssl-redirect"

// redirectStatus is the status of HTTP to HTTPS redirects: 308 keeps the
// method and body, as ingress-nginx does by default.
const redirectStatus = 308

// ingressTLS is what one Ingress asks for in spec.tls.
type ingressTLS struct {
	ref      lbconfig.ObjectRef
	redirect bool
	// hosts are the valid spec.tls[].hosts, with the certificate of their
	// entry (nil when its Secret is unusable) and where they were written.
	hosts []tlsHost
	// ruleHosts are the valid hosts of the Ingress's rules ("" for a rule
	// without host), covered by a tls entry without hosts.
	ruleHosts []string
	// noHosts is the first tls entry without hosts, if any.
	noHosts *tlsHost
}

type tlsHost struct {
	host  string
	cert  *lbconfig.CertificateRef
	field string
}

// tlsClaim is who decided the certificate of a TLS host.
type tlsClaim struct {
	cert  *lbconfig.CertificateRef
	owner claim
}

// secretResult is a Secret checked once, by "<ns>/<name>".
type secretResult struct {
	cert   *lbconfig.Certificate // nil when unusable
	reason string
	field  string // of the Secret, for the default certificate's problem
	msg    string
}

// addTLS records the spec.tls of ing. The certificates are checked now, so
// that every reference to a broken Secret gets its own problem; hosts are
// resolved once every Ingress is known (see tlsListener).
func (b *builder) addTLS(ing *networkingv1.Ingress, ref lbconfig.ObjectRef, ruleHosts []string) {
	if len(ing.Spec.TLS) == 0 {
		return
	}
	it := &ingressTLS{ref: ref, redirect: b.sslRedirect(ing, ref), ruleHosts: ruleHosts}
	for i := range ing.Spec.TLS {
		entry := &ing.Spec.TLS[i]
		field := fmt.Sprintf("spec.tls[%d]", i)
		var hosts []string
		for j, h := range entry.Hosts {
			hf := fmt.Sprintf("%s.hosts[%d]", field, j)
			host, err := normalizeHost(h)
			if err == nil && host == "" {
				err = fmt.Errorf("a TLS host must not be empty")
			}
			if err != nil {
				b.problems.add(ref, hf, "InvalidHost", "%v; this TLS host is ignored", err)
				continue
			}
			hosts = append(hosts, host)
			it.hosts = append(it.hosts, tlsHost{host: host, field: hf})
		}
		if len(entry.Hosts) > 0 && len(hosts) == 0 {
			continue // every host was invalid: nothing uses the Secret
		}
		served := "the Ingress's hosts are"
		switch len(hosts) {
		case 0:
		case 1:
			served = "host " + quoteList(hosts) + " is"
		default:
			served = "hosts " + quoteList(hosts) + " are"
		}
		cert := b.ingressCertificate(ref, field+".secretName", entry.SecretName, served)
		for k := len(it.hosts) - len(hosts); k < len(it.hosts); k++ {
			it.hosts[k].cert = cert
		}
		if len(entry.Hosts) == 0 && it.noHosts == nil {
			it.noHosts = &tlsHost{cert: cert, field: field}
		}
	}
	b.tls = append(b.tls, it)
}

// sslRedirect reads AnnotationSSLRedirect; true unless it says "false".
func (b *builder) sslRedirect(ing *networkingv1.Ingress, ref lbconfig.ObjectRef) bool {
	v, ok := ing.Annotations[AnnotationSSLRedirect]
	if !ok {
		return true
	}
	on, err := strconv.ParseBool(v)
	if err != nil {
		b.problems.add(ref, "metadata.annotations["+AnnotationSSLRedirect+"]", "InvalidAnnotation",
			"%q is not true or false; HTTP requests are redirected to HTTPS", v)
		return true
	}
	return on
}

// ingressCertificate returns the certificate of the Secret name in the
// Ingress's own namespace, or nil after reporting why it is unusable.
// served says which hosts then get the default certificate.
func (b *builder) ingressCertificate(ref lbconfig.ObjectRef, field, name, served string) *lbconfig.CertificateRef {
	const fallback = "served with the default certificate"
	switch {
	case name == "":
		b.problems.add(ref, field, "MissingSecretName", "a tls entry needs a secretName; %s %s", served, fallback)
		return nil
	case strings.Contains(name, "/"):
		b.problems.add(ref, field, "InvalidSecretName",
			"%q is not a Secret name: Secrets are only read from the Ingress's own namespace %q; %s %s",
			name, ref.Namespace, served, fallback)
		return nil
	}
	r := b.secret(ref.Namespace, name)
	if r.cert == nil {
		b.problems.add(ref, field, r.reason, "%s; %s %s", r.msg, served, fallback)
		return nil
	}
	return &lbconfig.CertificateRef{Name: r.cert.Name}
}

// secret checks the TLS Secret ns/name once.
func (b *builder) secret(ns, name string) *secretResult {
	key := ns + "/" + name
	if r := b.secrets[key]; r != nil {
		return r
	}
	r := checkSecret(b.index.secrets[key], ns, name)
	b.secrets[key] = r
	return r
}

// checkSecret validates a kubernetes.io/tls Secret: both keys present, the
// chain and key parse and belong together. There is no clock here, so
// expiry is not checked: a client judges that.
func checkSecret(sec *corev1.Secret, ns, name string) *secretResult {
	key := ns + "/" + name
	if sec == nil {
		return &secretResult{reason: "SecretNotFound", field: "metadata.name",
			msg: fmt.Sprintf("Secret %q not found in namespace %q", name, ns)}
	}
	if sec.Type != corev1.SecretTypeTLS {
		return &secretResult{reason: "InvalidSecret", field: "type",
			msg: fmt.Sprintf("Secret %q has type %q, not %q", key, sec.Type, corev1.SecretTypeTLS)}
	}
	chain, chainOK := secretValue(sec, corev1.TLSCertKey)
	privKey, keyOK := secretValue(sec, corev1.TLSPrivateKeyKey)
	for _, k := range []struct {
		name string
		ok   bool
	}{{corev1.TLSCertKey, chainOK}, {corev1.TLSPrivateKeyKey, keyOK}} {
		if !k.ok {
			return &secretResult{reason: "InvalidSecret", field: "data[" + k.name + "]",
				msg: fmt.Sprintf("Secret %q has no %s", key, k.name)}
		}
	}
	// The error texts of X509KeyPair never quote key material.
	if _, err := tls.X509KeyPair(chain, privKey); err != nil {
		return &secretResult{reason: "InvalidCertificate", field: "data",
			msg: fmt.Sprintf("Secret %q: %v", key, err)}
	}
	return &secretResult{cert: &lbconfig.Certificate{
		Name:     key,
		ChainPEM: slices.Clone(chain),
		KeyPEM:   slices.Clone(privKey),
	}}
}

// secretValue reads a key of a Secret, from stringData first as the API
// server merges it on write, so that manifests on disk may use either.
func secretValue(sec *corev1.Secret, key string) ([]byte, bool) {
	if v, ok := sec.StringData[key]; ok && v != "" {
		return []byte(v), true
	}
	v, ok := sec.Data[key]
	return v, ok && len(v) > 0
}

// defaultCertificate resolves Options.DefaultCertificate ("<ns>/<name>"),
// reporting problems on the Secret.
func (b *builder) defaultCertificate(name string) *lbconfig.CertificateRef {
	if name == "" {
		return nil
	}
	ns, n, _ := strings.Cut(name, "/")
	ref := lbconfig.ObjectRef{Kind: "Secret", Namespace: ns, Name: n}
	r := b.secret(ns, n)
	if r.cert == nil {
		b.problems.add(ref, r.field, r.reason,
			"%s; this --default-ssl-certificate is not used, the provider's own default certificate is served", r.msg)
		return nil
	}
	return &lbconfig.CertificateRef{Name: r.cert.Name}
}

// claimTLSHost gives host the certificate of its first claimant, oldest
// Ingress first; a later claim with another certificate is a problem.
func (b *builder) claimTLSHost(claims map[string]tlsClaim, it *ingressTLS, h tlsHost, report bool) {
	c, taken := claims[h.host]
	if !taken {
		claims[h.host] = tlsClaim{cert: h.cert, owner: claim{ref: it.ref, field: h.field}}
		return
	}
	if report && certName(c.cert) != certName(h.cert) {
		b.problems.add(it.ref, h.field, "TLSHostConflict",
			"TLS host %q is already served with %s by %s; this entry's certificate is not used for it",
			h.host, describeCert(c.cert), c.owner)
	}
}

func certName(c *lbconfig.CertificateRef) string {
	if c == nil {
		return ""
	}
	return c.Name
}

func describeCert(c *lbconfig.CertificateRef) string {
	if c == nil {
		return "the default certificate"
	}
	return fmt.Sprintf("certificate %q", c.Name)
}

// tlsListeners builds the HTTPS listener from every Ingress's spec.tls and
// marks the HTTP routes that redirect to it. vhosts are the HTTP listener's
// virtual hosts, which may gain copies (see below). It returns nil when no
// Ingress has TLS.
//
// The HTTPS listener serves each TLS host with the routes an HTTP request
// for that host would take (those of its own rule, else of the wildcard or
// host-less rule that matches it), and every rule host that a wildcard TLS
// host covers with the wildcard's certificate. A tls entry without hosts
// covers the hosts of its Ingress's rules, and makes its certificate the
// default one unless opts.DefaultCertificate is set.
func (b *builder) tlsListener(opts Options, defaultBackend *lbconfig.BackendRef) (*lbconfig.Listener, []lbconfig.Certificate) {
	if len(b.tls) == 0 {
		return nil, nil
	}
	claims := map[string]tlsClaim{}
	for _, it := range b.tls {
		for _, h := range it.hosts {
			b.claimTLSHost(claims, it, h, true)
		}
	}
	// Rule hosts covered by an entry without hosts come after every named
	// TLS host, which is more specific.
	explicit := maps.Clone(claims)
	var defaultCert *lbconfig.CertificateRef
	var defaultOwner claim
	for _, it := range b.tls {
		if it.noHosts == nil {
			continue
		}
		for _, h := range it.ruleHosts {
			if _, named := explicit[h]; !named {
				b.claimTLSHost(claims, it, tlsHost{host: h, cert: it.noHosts.cert, field: it.noHosts.field}, true)
			}
		}
		if it.noHosts.cert == nil || opts.DefaultCertificate != "" {
			continue
		}
		switch {
		case defaultCert == nil:
			defaultCert, defaultOwner = it.noHosts.cert, claim{ref: it.ref, field: it.noHosts.field}
		case defaultCert.Name != it.noHosts.cert.Name:
			b.problems.add(it.ref, it.noHosts.field, "DefaultCertificateConflict",
				"a tls entry without hosts makes its certificate the default one, but %s already did; it is only served for this Ingress's hosts",
				defaultOwner)
		}
	}
	if def := b.defaultCertificate(opts.DefaultCertificate); def != nil {
		defaultCert = def
	}

	// A rule host that a wildcard or host-less TLS host would otherwise
	// take on HTTPS is served there too, with its own routes as on HTTP.
	// Under a wildcard it gets the wildcard's certificate when all its
	// routes come from the certificate's namespace (a Secret never serves
	// another namespace's Ingresses); else the default certificate.
	_, anyCovered := claims[""]
	for host, vh := range b.vhosts {
		if _, ok := claims[host]; ok || host == "" {
			continue
		}
		c, underWildcard := claims[wildcardOf(host)]
		if strings.HasPrefix(host, "*.") || !underWildcard {
			if !anyCovered {
				continue
			}
			c = tlsClaim{}
		}
		if c.cert != nil {
			ns, _, _ := strings.Cut(c.cert.Name, "/")
			if slices.ContainsFunc(vh.Routes, func(r lbconfig.Route) bool { return r.Source.Namespace != ns }) {
				c.cert = nil
			}
		}
		claims[host] = c
	}

	l := &lbconfig.Listener{Port: opts.HTTPSPort, Protocol: lbconfig.ProtocolHTTPS, DefaultBackend: defaultBackend}
	origRoutes := map[string][]lbconfig.Route{}
	for _, host := range slices.Sorted(maps.Keys(claims)) {
		routes := b.routesFor(host)
		origRoutes[host] = routes
		vh := lbconfig.VirtualHost{Hostname: host, TLS: claims[host].cert, Routes: slices.Clone(routes)}
		if host == "" {
			vh.TLS = defaultCert
		}
		l.VirtualHosts = append(l.VirtualHosts, vh)
	}
	if _, ok := claims[""]; !ok && defaultCert != nil {
		l.VirtualHosts = append(l.VirtualHosts, lbconfig.VirtualHost{Hostname: "", TLS: defaultCert})
	}

	b.redirects(opts, origRoutes)
	return l, b.usedCertificates(l)
}

// routesFor returns the HTTP routes a request for host takes: those of its
// own virtual host, else of the wildcard that matches it, else of the
// catch-all. host may itself be a wildcard.
func (b *builder) routesFor(host string) []lbconfig.Route {
	if vh := b.vhosts[host]; vh != nil {
		return vh.Routes
	}
	if !strings.HasPrefix(host, "*.") {
		if vh := b.vhosts[wildcardOf(host)]; vh != nil {
			return vh.Routes
		}
	}
	if vh := b.vhosts[""]; vh != nil {
		return vh.Routes
	}
	return nil
}

// wildcardOf returns "*." and what follows the first label of host.
func wildcardOf(host string) string {
	_, rest, ok := strings.Cut(host, ".")
	if !ok {
		return ""
	}
	return "*." + rest
}

// redirects marks the HTTP routes of every Ingress with TLS on a host its
// TLS covers, unless its annotation turns the redirect off. A TLS host
// without an HTTP virtual host of its own gets one, a copy of the routes
// it reaches (routes), so that the redirect covers that host only; the
// routing does not change.
func (b *builder) redirects(opts Options, routes map[string][]lbconfig.Route) {
	covers := map[lbconfig.ObjectRef]map[string]bool{}
	for _, it := range b.tls {
		if !it.redirect {
			continue
		}
		set := covers[it.ref]
		if set == nil {
			set = map[string]bool{}
			covers[it.ref] = set
		}
		for _, h := range it.hosts {
			set[h.host] = true
		}
		if it.noHosts != nil {
			for _, h := range it.ruleHosts {
				set[h] = true
			}
		}
	}
	covered := func(src lbconfig.ObjectRef, host string) bool {
		set := covers[src]
		return set[host] || (host != "" && !strings.HasPrefix(host, "*.") && set[wildcardOf(host)])
	}
	for _, host := range slices.Sorted(maps.Keys(routes)) {
		if b.vhosts[host] != nil {
			continue
		}
		if slices.ContainsFunc(routes[host], func(r lbconfig.Route) bool { return covered(r.Source, host) }) {
			b.vhosts[host] = &lbconfig.VirtualHost{Hostname: host, Routes: slices.Clone(routes[host])}
		}
	}
	for host, vh := range b.vhosts {
		for i := range vh.Routes {
			// A route's own redirect comes first, as nginx's return
			// does before its HTTPS redirect.
			if r := &vh.Routes[i]; r.Redirect == nil && covered(r.Source, host) {
				r.HTTPSRedirect = &lbconfig.HTTPSRedirect{Port: opts.HTTPSPort, StatusCode: redirectStatus}
			}
		}
	}
}

// usedCertificates returns the certificates l refers to, each with the
// hosts it is served for.
func (b *builder) usedCertificates(l *lbconfig.Listener) []lbconfig.Certificate {
	byName := map[string]*lbconfig.Certificate{}
	for _, vh := range l.VirtualHosts {
		if vh.TLS == nil {
			continue
		}
		c := byName[vh.TLS.Name]
		if c == nil {
			ns, name, _ := strings.Cut(vh.TLS.Name, "/")
			cp := *b.secret(ns, name).cert
			c = &cp
			byName[vh.TLS.Name] = c
		}
		if vh.Hostname != "" {
			c.Hosts = append(c.Hosts, vh.Hostname)
		}
	}
	out := make([]lbconfig.Certificate, 0, len(byName))
	for _, c := range byName {
		out = append(out, *c)
	}
	return out
}

func quoteList(hosts []string) string {
	q := make([]string, len(hosts))
	for i, h := range hosts {
		q[i] = strconv.Quote(h)
	}
	return strings.Join(q, ", ")
}
