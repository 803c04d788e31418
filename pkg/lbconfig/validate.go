package lbconfig

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"ingress-controller/internal/clip"
)

// FieldError is one problem found by Validate, with the path of the field at
// fault, e.g. "loadBalancers[0].listeners[1].port".
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Validate checks that c is internally consistent and that every value is one
// a provider can serve safely, including that no two load balancers use the
// same port on addresses that overlap (see Overlap). It returns all
// problems joined, each a *FieldError, or nil.
func (c *Config) Validate() error {
	v := validator{}
	backends := map[string]bool{}
	for i, b := range c.Backends {
		v.backend(fmt.Sprintf("backends[%d]", i), b, backends)
	}
	certs := map[string]bool{}
	for i, cert := range c.Certificates {
		f := fmt.Sprintf("certificates[%d]", i)
		switch {
		case cert.Name == "":
			v.add(f+".name", "must not be empty")
		case certs[cert.Name]:
			v.add(f+".name", fmt.Sprintf("duplicate certificate %q", cert.Name))
		}
		certs[cert.Name] = true
		if len(cert.ChainPEM) == 0 {
			v.add(f+".chainPEM", "must not be empty")
		}
		if len(cert.KeyPEM) == 0 {
			v.add(f+".keyPEM", "must not be empty")
		}
		for k, h := range cert.Hosts {
			if err := CheckHostname(h); err != nil || h == "" {
				v.add(fmt.Sprintf("%s.hosts[%d]", f, k), fmt.Sprintf("%q is not a hostname", h))
			}
		}
	}
	creds := v.credentials(c.Credentials)
	lbs := map[string]bool{}
	binds := bindOwners{}
	for i, lb := range c.LoadBalancers {
		f := fmt.Sprintf("loadBalancers[%d]", i)
		switch {
		case lb.Name == "":
			v.add(f+".name", "must not be empty")
		case lbs[lb.Name]:
			v.add(f+".name", fmt.Sprintf("duplicate load balancer %q", lb.Name))
		}
		lbs[lb.Name] = true
		v.addresses(f+".addresses", lb.Addresses)
		https := map[int32]bool{}
		for _, l := range lb.Listeners {
			if l.Protocol == ProtocolHTTPS {
				https[l.Port] = true
			}
		}
		ports := map[int32]bool{}
		for j, l := range lb.Listeners {
			lf := fmt.Sprintf("%s.listeners[%d]", f, j)
			if l.Port < 1 || l.Port > 65535 {
				v.add(lf+".port", fmt.Sprintf("%d is not a port number", l.Port))
			} else if ports[l.Port] {
				v.add(lf+".port", fmt.Sprintf("port %d is used by another listener", l.Port))
			} else if msg := binds.claim(lb, l.Port); msg != "" {
				v.add(lf+".port", msg)
			}
			ports[l.Port] = true
			v.listener(lf, l, backends, certs, https)
			v.basicAuths(lf, l, creds)
		}
	}
	v.rateLimitZones(c)
	v.errorPageBackends(c)
	v.statusRefs(c)
	return errors.Join(v.errs...)
}

type validator struct{ errs []error }

func (v *validator) add(field, msg string) {
	v.errs = append(v.errs, &FieldError{Field: field, Message: msg})
}

func (v *validator) backend(f string, b Backend, seen map[string]bool) {
	switch {
	case b.Name == "":
		v.add(f+".name", "must not be empty")
	case seen[b.Name]:
		v.add(f+".name", fmt.Sprintf("duplicate backend %q", b.Name))
	}
	seen[b.Name] = true
	switch b.Protocol {
	case "", BackendHTTP, BackendHTTPS, BackendH2C, BackendGRPC, BackendGRPCS:
	default:
		v.add(f+".protocol", fmt.Sprintf("unknown backend protocol %q", b.Protocol))
	}
	v.backendTLS(f+".tls", b.Protocol, b.TLS)
	v.policy(f+".policy", b.Policy)
	v.statusBackend(f, b)
	for k, e := range b.Endpoints {
		ef := fmt.Sprintf("%s.endpoints[%d]", f, k)
		if a, err := netip.ParseAddr(e.Address); err != nil || a.Zone() != "" {
			v.add(ef+".address", fmt.Sprintf("%q is not an IP address", e.Address))
		}
		if e.Port < 1 || e.Port > 65535 {
			v.add(ef+".port", fmt.Sprintf("%d is not a port number", e.Port))
		}
	}
}

func (v *validator) listener(f string, l Listener, backends, certs map[string]bool, httpsPorts map[int32]bool) {
	ref := func(field string, r *BackendRef) {
		if r != nil && !backends[r.Name] {
			v.add(field, fmt.Sprintf("backend %q does not exist", r.Name))
		}
	}
	ref(f+".defaultBackend", l.DefaultBackend)
	ref(f+".tcp", l.TCP)
	v.tcpSplit(f, l, ref)
	switch l.Protocol {
	case ProtocolHTTP, ProtocolHTTPS:
		if l.TCP != nil {
			v.add(f+".tcp", "only TCP listeners have a TCP backend")
		}
	case ProtocolTCP:
		if l.TCP == nil {
			v.add(f+".tcp", "a TCP listener needs a backend")
		}
		if len(l.VirtualHosts) > 0 {
			v.add(f+".virtualHosts", "a TCP listener has no virtual hosts")
		}
	case ProtocolTLSPassthrough:
		if l.DefaultBackend != nil {
			v.add(f+".defaultBackend", "a TLS passthrough listener has no HTTP default backend")
		}
	default:
		v.add(f+".protocol", fmt.Sprintf("unknown protocol %q", l.Protocol))
	}
	hosts := map[string]bool{}
	named := l.virtualHostsByName()
	for k, vh := range l.VirtualHosts {
		vf := fmt.Sprintf("%s.virtualHosts[%d]", f, k)
		if err := CheckHostname(vh.Hostname); err != nil {
			v.add(vf+".hostname", err.Error())
		} else if hosts[vh.Hostname] {
			v.add(vf+".hostname", fmt.Sprintf("duplicate virtual host %q", vh.Hostname))
		}
		hosts[vh.Hostname] = true
		v.checkMultiLabel(vf, &vh)
		if vh.TCP != nil {
			ref(vf+".tcp", vh.TCP)
			v.terminatedTCP(vf, l.Protocol, vh) // tlsterminate.go
		} else if vh.Passthrough != nil {
			ref(vf+".passthrough", vh.Passthrough)
			switch {
			case l.Protocol != ProtocolHTTPS && l.Protocol != ProtocolTLSPassthrough:
				v.add(vf+".passthrough", "only virtual hosts of HTTPS and TLS passthrough listeners pass TLS through")
			case vh.TLS != nil:
				v.add(vf+".tls", "a passthrough virtual host has no certificate")
			case len(vh.Routes) > 0:
				v.add(vf+".routes", "a passthrough virtual host has no routes")
			}
		} else if l.Protocol == ProtocolTLSPassthrough {
			v.add(vf+".passthrough", "virtual hosts of a TLS passthrough listener need a passthrough backend (or a certificate and a TCP backend)")
		}
		v.clientAuth(vf+".clientAuth", l.Protocol, &vh)           // clientauth.go
		v.connectionGroup(vf+".connectionGroup", l.Protocol, &vh) // misdirect.go
		v.fallThrough(vf+".fallThrough", &l, &vh, named)          // fallthrough.go
		switch {
		case vh.TLS == nil:
		case l.Protocol != ProtocolHTTPS && (l.Protocol != ProtocolTLSPassthrough || vh.TCP == nil):
			v.add(vf+".tls", "only virtual hosts of HTTPS listeners, and those with a TCP backend on TLS passthrough listeners, have a certificate")
		case !certs[vh.TLS.Name]:
			v.add(vf+".tls", fmt.Sprintf("certificate %q does not exist", vh.TLS.Name))
		}
		for r, route := range vh.Routes {
			rf := fmt.Sprintf("%s.routes[%d]", vf, r)
			if err := CheckPath(route.Path); err != nil && route.Match != MatchRegex {
				v.add(rf+".path", err.Error())
			}
			switch route.Match {
			case MatchExact, MatchPrefix:
			case MatchRegex:
				v.regexRoute(rf, route)
			default:
				v.add(rf+".match", fmt.Sprintf("unknown match type %q", route.Match))
			}
			v.checkRewriteType(rf, route)
			if route.Rewrite != nil && route.Match != MatchRegex {
				if err := CheckRewrite(route.Rewrite, 0); err != nil {
					v.add(rf+".rewrite.path", err.Error())
				}
			}
			ref(rf+".backend", &route.Backend)
			if rd := route.HTTPSRedirect; rd != nil {
				v.redirect(rf+".httpsRedirect", l.Protocol, rd, httpsPorts)
			}
			if rd := route.Redirect; rd != nil {
				v.redirectTo(rf+".redirect", rd, vh.Hostname, route)
			}
			if a := route.Access; a != nil {
				v.access(rf+".access", a)
			}
			v.routeHeaders(rf, route)
			v.split(rf, route, ref)
			v.stickyBackends(rf, route)
			if rl := route.RateLimit; rl != nil {
				v.rateLimit(rf+".rateLimit", rl)
			}
			v.errorPages(rf, route, ref)
			if ea := route.ExternalAuth; ea != nil {
				v.externalAuth(rf+".externalAuth", ea, ref)
			}
			if t := route.Timeouts; t != nil {
				v.timeouts(rf+".timeouts", t)
			}
			v.mirrors(rf, route, ref)
			v.retry(rf, route)
			if route.Rank < 0 {
				v.add(rf+".rank", fmt.Sprintf("%d is negative", route.Rank))
			}
		}
	}
}

// regexRoute checks the pattern of a MatchRegex route and its rewrite
// against the pattern's groups.
func (v *validator) regexRoute(f string, route Route) {
	re, err := CompileRegex(route.Path)
	if err != nil {
		v.add(f+".path", err.Error())
		return
	}
	if route.Rewrite != nil {
		if err := CheckRewrite(route.Rewrite, re.NumSubexp()); err != nil {
			v.add(f+".rewrite.path", err.Error())
		}
	}
}

func (v *validator) redirect(f string, proto Protocol, rd *HTTPSRedirect, httpsPorts map[int32]bool) {
	if proto != ProtocolHTTP {
		v.add(f, "only routes of HTTP listeners redirect to HTTPS")
	}
	if !httpsPorts[rd.Port] {
		v.add(f+".port", fmt.Sprintf("the load balancer has no HTTPS listener on port %d", rd.Port))
	}
	switch rd.StatusCode {
	case 301, 302, 307, 308:
	default:
		v.add(f+".statusCode", fmt.Sprintf("%d is not 301, 302, 307 or 308", rd.StatusCode))
	}
}

func (v *validator) access(f string, a *Access) {
	if len(a.Allow) == 0 && len(a.Deny) == 0 {
		v.add(f, "must have an allow or a deny prefix; leave it out to serve every client")
	}
	for name, ps := range map[string][]netip.Prefix{"allow": a.Allow, "deny": a.Deny} {
		for i, p := range ps {
			pf := fmt.Sprintf("%s.%s[%d]", f, name, i)
			if err := CheckPrefix(p); err != nil {
				v.add(pf, err.Error())
			} else if i > 0 && ps[i-1].Compare(p) >= 0 {
				v.add(pf, fmt.Sprintf("%s must come after %s, once (sorted without duplicates)", p, ps[i-1]))
			}
		}
	}
}

// CheckPrefix returns an error unless p is a valid prefix without host
// bits, without a zone, and not an IPv4-mapped IPv6 prefix (which is
// written as IPv4), as Access needs it.
func CheckPrefix(p netip.Prefix) error {
	switch {
	case !p.IsValid():
		return fmt.Errorf("%q is not a CIDR prefix", p.String())
	case p.Addr().Zone() != "":
		return fmt.Errorf("%s must not have a zone", p)
	case p.Addr().Is4In6():
		return fmt.Errorf("%s is an IPv4-mapped IPv6 prefix; write it as IPv4", p)
	case p.Masked() != p:
		return fmt.Errorf("%s has host bits set; the prefix is %s", p, p.Masked())
	}
	return nil
}

// CheckHostname returns an error unless h is "" (any host), a lower-case DNS
// name, or a wildcard "*." followed by a lower-case DNS name.
func CheckHostname(h string) error {
	if h == "" {
		return nil
	}
	name := strings.TrimPrefix(h, "*.")
	if len(name) > 253 {
		return fmt.Errorf("hostname %q is longer than 253 characters", clip.Value(h))
	}
	for label := range strings.SplitSeq(name, ".") {
		if len(label) == 0 || len(label) > 63 {
			return fmt.Errorf("hostname %q: labels must have 1 to 63 characters", clip.Value(h))
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			alnum := ('a' <= c && c <= 'z') || ('0' <= c && c <= '9')
			if !alnum && (c != '-' || i == 0 || i == len(label)-1) {
				return fmt.Errorf("hostname %q: labels hold only a-z, 0-9 and inner '-'", clip.Value(h))
			}
		}
	}
	return nil
}

// MaxPathLength bounds a route's path: more than a GRPCRoute's method
// match makes ("/" + service + "/" + method, each at most 1024 bytes),
// and far less than a request head may hold on either provider.
const MaxPathLength = 4096

// CheckPath returns an error unless p is an absolute URL path of at most
// MaxPathLength printable, non-space ASCII characters.
func CheckPath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("path %q must start with '/'", clip.Value(p))
	}
	if len(p) > MaxPathLength {
		return fmt.Errorf("path %q is longer than %d characters", clip.Value(p), MaxPathLength)
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("path %q holds a space, control or non-ASCII character", clip.Value(p))
		}
	}
	return nil
}
