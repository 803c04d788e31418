package translate

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"ingress-controller/internal/clip"
	"ingress-controller/pkg/lbconfig"
)

// Ingresses translates every Ingress of our class in snap into load
// balancers (see group.go): DefaultLoadBalancer unless an Ingress names
// another with AnnotationLoadBalancer or opts.LBPerIngress gives it one of
// its own. Each has an HTTP listener on opts.HTTPPort (80 when zero) and,
// if one of its Ingresses has spec.tls, an HTTPS listener on
// opts.HTTPSPort (443 when zero), unless AnnotationListenPorts says
// otherwise. The config is sorted and passes Validate; problems are sorted
// and unique. With no Ingress of ours the config has no load balancers.
//
// With opts.NginxCompat the Ingresses of opts.NginxIngressClass are ours
// too, read as ingress-nginx would (nginx.go).
//
// A zero ControllerName, IngressClass or NginxIngressClass means
// DefaultControllerName, DefaultIngressClass or DefaultNginxIngressClass.
// A non-zero HTTPPort must be a port number: flags are checked by the
// caller, and an invalid one fails the config's Validate.
//
// The Gateways of our GatewayClasses are load balancers of the same
// config (gateway.go).
func Ingresses(snap *Snapshot, opts Options) (*lbconfig.Config, []Problem) {
	cfg, _, problems := translateSnapshot(snap, opts)
	return cfg, problems
}

// translateSnapshot is Ingresses, with the Gateway API translation for
// its status.
func translateSnapshot(snap *Snapshot, opts Options) (*lbconfig.Config, *gatewayAPI, []Problem) {
	opts = withDefaults(opts)
	if snap == nil {
		return &lbconfig.Config{}, nil, nil
	}
	t := newTranslation(snap, opts)
	served, refused, canaries := ourIngresses(snap, opts, t.shared.index.secrets, t.problems)
	for _, ing := range served {
		t.addIngress(ing)
	}
	t.addCanaries(canaries) // canary.go
	// Last, so that they never take what a served Ingress claims.
	for _, ing := range refused {
		t.addRefused(ing)
	}
	t.group(DefaultLoadBalancer, false).b.addTCPServices(snap.Services, opts)
	cfg := t.config()
	gw := t.addGateways(snap, cfg)
	return cfg, gw, t.problems.sorted()
}

func withDefaults(opts Options) Options {
	if opts.ControllerName == "" {
		opts.ControllerName = DefaultControllerName
	}
	if opts.IngressClass == "" {
		opts.IngressClass = DefaultIngressClass
	}
	if opts.NginxIngressClass == "" {
		opts.NginxIngressClass = DefaultNginxIngressClass
	}
	if opts.HTTPPort == 0 {
		opts.HTTPPort = 80
	}
	if opts.HTTPSPort == 0 {
		opts.HTTPSPort = 443
	}
	return opts
}

// ourIngresses returns the Ingresses of our classes to serve, and those
// refused: of the nginx class that readNginx refuses, and of either class
// whose source ranges (readAccess) or regex paths (readRegex) do not
// parse, or whose basic or external authentication (readBasicAuth,
// readExtAuth) or backend TLS (readBackendTLS) cannot be honoured. Each
// oldest first, which is the order in which they win conflicts. Those of the nginx class to serve
// come as readNginx rewrites them, the canaries apart.
func ourIngresses(snap *Snapshot, opts Options, secrets map[string]*corev1.Secret, ps *problems) (served, refused []*networkingv1.Ingress, canaries []canary) {
	c := newClassifier(snap.IngressClasses, opts, ps)
	nginx := newNginxInputs(snap, opts)
	for _, ing := range snap.Ingresses {
		if ing == nil {
			continue
		}
		switch c.kind(ing) {
		case ourIngress:
			if readAccess(ing, ps) && readRegex(ing, ps) && readBasicAuth(ing, nil, secrets, ps) && readExtAuth(ing, nil, ps) && readBackendTLS(ing, nil, secrets, ps) {
				served = append(served, ing)
			} else {
				refused = append(refused, ing)
			}
		case nginxIngress:
			rewritten, spec, ok := readNginx(ing, nginx, ps)
			switch {
			case ok && spec != nil:
				canaries = append(canaries, canary{ing: rewritten, original: ing.Annotations, spec: spec})
			case ok && readAccess(rewritten, ps) && readRegex(rewritten, ps) && readBasicAuth(rewritten, ing.Annotations, secrets, ps) &&
				readExtAuth(rewritten, ing.Annotations, ps) && readBackendTLS(rewritten, ing.Annotations, secrets, ps):
				served = append(served, rewritten)
			default:
				refused = append(refused, ing)
			}
		}
	}
	byAge := func(a, b *networkingv1.Ingress) int {
		return cmp.Or(
			a.CreationTimestamp.Compare(b.CreationTimestamp.Time),
			cmp.Compare(a.Namespace, b.Namespace),
			cmp.Compare(a.Name, b.Name),
		)
	}
	slices.SortStableFunc(served, byAge)
	slices.SortStableFunc(refused, byAge)
	slices.SortStableFunc(canaries, func(a, b canary) int { return byAge(a.ing, b.ing) })
	return served, refused, canaries
}

// builder accumulates the routing state of one load balancer. The index,
// problems, backends, secrets and policies are shared by the builders of
// all load balancers (see forLoadBalancer).
type builder struct {
	*shared
	sources []lbconfig.ObjectRef
	// vhosts by hostname; "" is the catch-all host.
	vhosts map[string]*lbconfig.VirtualHost
	// claims records who owns each route, so later claimants lose.
	claims map[routeKey]claim
	// defaultBackend and its owner, the oldest Ingress that set one.
	defaultBackend *lbconfig.BackendRef
	defaultOwner   claim
	// tls holds the spec.tls of each Ingress that has one, oldest first.
	tls []*ingressTLS
	// tcp are the Services exposed as TCP listeners, oldest first.
	tcp []tcpService
	// passthrough are the hosts whose TLS is passed through, oldest first.
	passthrough []passthroughHost
	// regex holds what the Ingresses that ask for regex paths ask
	// (regex.go).
	regex map[lbconfig.ObjectRef]regexIntent
	// hostRedirects are the aliases and other names asked for, oldest
	// first (redirect.go).
	hostRedirects []hostRedirect
}

// shared is what the builders of every load balancer share: the objects
// of the snapshot, the problems found, and what is resolved once for all
// (backends, Secrets, policies).
type shared struct {
	index    *index
	problems *problems
	// backends that routes reference, by name, each resolved once.
	backends map[string]*resolvedBackend
	// secrets are the TLS Secrets checked so far, by "<ns>/<name>".
	secrets map[string]*secretResult
	// policies are the backend policies of the Ingresses and TCP
	// Services, by object.
	policies map[lbconfig.ObjectRef]ingressPolicy
	// headers are the header changes and CORS of the Ingresses' routes
	// (headers.go), by Ingress.
	headers map[lbconfig.ObjectRef]routeHeaders
	// credentials of basic authentication, by name (useCredentials).
	credentials map[string]*lbconfig.Credentials
	// rateLimits are the rate limits of the Ingresses (nil: none).
	rateLimits map[lbconfig.ObjectRef]*lbconfig.RateLimit
	// errors are the error pages and fallbacks of the Ingresses.
	errors map[lbconfig.ObjectRef]routeErrors
	// clusterDomain ends the Service names of auth URLs (authservice.go).
	clusterDomain string
}

func newShared(snap *Snapshot) *shared {
	return &shared{
		index:       newIndex(snap),
		problems:    &problems{},
		backends:    map[string]*resolvedBackend{},
		secrets:     map[string]*secretResult{},
		policies:    map[lbconfig.ObjectRef]ingressPolicy{},
		headers:     map[lbconfig.ObjectRef]routeHeaders{},
		credentials: map[string]*lbconfig.Credentials{},
		rateLimits:  map[lbconfig.ObjectRef]*lbconfig.RateLimit{},
		errors:      map[lbconfig.ObjectRef]routeErrors{},
	}
}

// newBuilder returns the builder of one more load balancer: all its
// routing state is its own, the rest is s.
func (s *shared) newBuilder() *builder {
	return &builder{
		shared: s,
		vhosts: map[string]*lbconfig.VirtualHost{},
		claims: map[routeKey]claim{},
	}
}

// routeKey identifies a route for conflict detection. Prefix paths are
// compared without trailing slashes, as they match the same requests.
type routeKey struct {
	host  string
	match lbconfig.MatchType
	path  string
}

// claim is the Ingress field that owns a route or the default backend.
type claim struct {
	ref   lbconfig.ObjectRef
	field string
}

func (c claim) String() string { return c.ref.String() + " at " + c.field }

func ingressRef(ing *networkingv1.Ingress) lbconfig.ObjectRef {
	return lbconfig.ObjectRef{Kind: "Ingress", Namespace: ing.Namespace, Name: ing.Name}
}

func (b *builder) addIngress(ing *networkingv1.Ingress) {
	ref := ingressRef(ing)
	access, _, err := accessOf(ing.Annotations)
	if err != nil {
		return // refused by ourIngresses; never served open
	}
	auth, creds, _, err := basicAuthOf(ing, b.index.secrets)
	if err != nil {
		return // refused by ourIngresses; never served open
	}
	ext, _, err := extAuthOf(ing.Annotations)
	if err != nil {
		return // refused by ourIngresses; never served open
	}
	b.authService(ing, ref, ext) // authservice.go
	if creds != nil {
		b.useCredentials(creds)
	}
	b.sources = append(b.sources, ref)
	b.noteRegex(ing)
	if _, seen := b.policies[ref]; !seen {
		b.policies[ref] = b.policyOf(ing.Annotations, ref)
		b.withBackendTLS(ing, ref)
		b.headers[ref] = b.headersOf(ing.Annotations, ref)
	}
	if _, seen := b.rateLimits[ref]; !seen {
		b.rateLimits[ref] = b.rateLimitOf(ing, ref)
	}
	if _, seen := b.errors[ref]; !seen {
		b.errors[ref] = b.errorsOf(ing, ref)
	}
	switch {
	case ing.Spec.DefaultBackend == nil:
	case access != nil:
		b.problems.add(ref, "spec.defaultBackend", "UnprotectedDefaultBackend",
			"a default backend cannot be limited to source ranges (%s, %s), so it is not served rather than served to every client; give it a rule path instead",
			AnnotationAllowSourceRange, AnnotationDenySourceRange)
	case auth != nil:
		b.problems.add(ref, "spec.defaultBackend", "UnprotectedDefaultBackend",
			"a default backend cannot ask for basic authentication (%s), so it is not served rather than served without; give it a rule path instead",
			AnnotationAuthType)
	case ext != nil:
		b.problems.add(ref, "spec.defaultBackend", "UnprotectedDefaultBackend",
			"a default backend cannot ask an auth server (%s), so it is not served rather than served without; give it a rule path instead",
			AnnotationAuthURL)
	default:
		b.addDefaultBackend(ref, ing.Spec.DefaultBackend)
	}
	var hosts []string
	for i := range ing.Spec.Rules {
		if host, ok := b.addRule(ref, fmt.Sprintf("spec.rules[%d]", i), &ing.Spec.Rules[i], access, auth, ext); ok {
			hosts = append(hosts, host)
		}
	}
	b.addRedirects(ing, ref, hosts)
	b.addTLS(ing, ref, hosts)
	if !b.passthroughWithAuth(ing, ref, auth) && !b.passthroughWithExtAuth(ing, ref, ext) {
		b.addPassthrough(ing, ref, access)
	}
}

func (b *builder) addDefaultBackend(ref lbconfig.ObjectRef, be *networkingv1.IngressBackend) {
	const field = "spec.defaultBackend"
	site := backendSite{ref: ref, field: field, what: "this default backend", served: "the default backend"}
	svc, ok := b.checkBackend(site, be)
	if !ok {
		return
	}
	if b.defaultBackend != nil {
		b.problems.add(ref, field, "DefaultBackendConflict",
			"the default backend is already set by %s; this one is ignored", b.defaultOwner)
		return
	}
	b.defaultBackend = &lbconfig.BackendRef{Name: b.backend(site, svc)}
	b.defaultOwner = claim{ref: ref, field: field}
}

// addRule adds the routes of one rule, each with access, auth and ext,
// and returns its host, unless the host is invalid.
func (b *builder) addRule(ref lbconfig.ObjectRef, field string, rule *networkingv1.IngressRule, access *lbconfig.Access, auth *lbconfig.BasicAuth, ext *lbconfig.ExternalAuth) (string, bool) {
	host, err := normalizeHost(rule.Host)
	if err != nil {
		b.problems.add(ref, field+".host", "InvalidHost", "%v; this rule is ignored", err)
		return "", false
	}
	// The host exists even if no path survives: its requests must not be
	// served by another rule's paths.
	vh := b.vhost(host)
	if rule.HTTP == nil {
		return host, true
	}
	for j := range rule.HTTP.Paths {
		pf := fmt.Sprintf("%s.http.paths[%d]", field, j)
		if route, ok := b.route(ref, pf, host, &rule.HTTP.Paths[j]); ok {
			route.Access = access
			b.headers[ref].applyTo(&route)
			route.BasicAuth = auth
			withExtAuth(&route, ext)
			withRateLimit(&route, b.rateLimits[ref])
			b.errors[ref].applyTo(&route)
			vh.Routes = append(vh.Routes, route)
		}
	}
	return host, true
}

// addRefusedRoutes adds, for every path of ing (refused) that no Ingress
// before it claimed, a route to its refused backend (see addRefused).
// Invalid hosts and paths are skipped without a problem: ing is not read.
func (b *builder) addRefusedRoutes(ing *networkingv1.Ingress) {
	ref := ingressRef(ing)
	for i := range ing.Spec.Rules {
		rule := &ing.Spec.Rules[i]
		host, err := normalizeHost(rule.Host)
		if err != nil || rule.HTTP == nil {
			continue
		}
		for j := range rule.HTTP.Paths {
			path, match, bad := matchOf(&rule.HTTP.Paths[j])
			if bad != nil {
				continue
			}
			key := routeKey{host: host, match: match, path: path}
			if match == lbconfig.MatchPrefix {
				key.path = strings.TrimRight(path, "/")
			}
			if _, taken := b.claims[key]; taken {
				continue
			}
			b.claims[key] = claim{ref: ref, field: fmt.Sprintf("spec.rules[%d].http.paths[%d]", i, j)}
			vh := b.vhost(host)
			vh.Routes = append(vh.Routes, lbconfig.Route{Path: path, Match: match, Backend: lbconfig.BackendRef{Name: b.refusedBackend(ref)}, Source: ref})
		}
	}
}

// refusedBackend names the backend without endpoints of a refused
// Ingress. "!" is in no Service backend's name.
func (b *builder) refusedBackend(ref lbconfig.ObjectRef) string {
	name := ref.Namespace + "/" + ref.Name + RefusedBackendSuffix
	if b.backends[name] == nil {
		b.backends[name] = &resolvedBackend{backend: lbconfig.Backend{Name: name}}
	}
	return name
}

func (b *builder) vhost(host string) *lbconfig.VirtualHost {
	vh := b.vhosts[host]
	if vh == nil {
		vh = &lbconfig.VirtualHost{Hostname: host}
		b.vhosts[host] = vh
	}
	return vh
}

// route turns one Ingress path into a route, or reports why it cannot.
func (b *builder) route(ref lbconfig.ObjectRef, field, host string, p *networkingv1.HTTPIngressPath) (lbconfig.Route, bool) {
	path, match, ok := b.pathMatch(ref, field, p)
	if !ok {
		return lbconfig.Route{}, false
	}
	site := backendSite{ref: ref, field: field + ".backend", what: "this path", served: "the route"}
	svc, ok := b.checkBackend(site, &p.Backend)
	if !ok {
		return lbconfig.Route{}, false
	}
	key := routeKey{host: host, match: match, path: path}
	if match == lbconfig.MatchPrefix {
		key.path = strings.TrimRight(path, "/")
	}
	if owner, taken := b.claims[key]; taken {
		b.problems.add(ref, field+".path", "RouteConflict",
			"%s path %q on %s is already routed by %s; this path is ignored",
			match, path, describeHost(host), owner)
		return lbconfig.Route{}, false
	}
	b.claims[key] = claim{ref: ref, field: field}
	return lbconfig.Route{
		Path:    path,
		Match:   match,
		Backend: lbconfig.BackendRef{Name: b.backend(site, svc)},
		Source:  ref,
	}, true
}

func describeHost(host string) string {
	if host == "" {
		return "any host"
	}
	return fmt.Sprintf("host %q", host)
}

// pathMatch checks the path and its type as the API server would, and maps
// them to the model.
func (b *builder) pathMatch(ref lbconfig.ObjectRef, field string, p *networkingv1.HTTPIngressPath) (string, lbconfig.MatchType, bool) {
	path, match, bad := matchOf(p)
	if bad != nil {
		b.problems.add(ref, field+bad.field, bad.reason, bad.format, bad.args...)
		return "", "", false
	}
	return path, match, true
}

// badPath says why a path is ignored.
type badPath struct {
	field, reason, format string
	args                  []any
}

// matchOf is the path and match type of p, or why it has none.
func matchOf(p *networkingv1.HTTPIngressPath) (string, lbconfig.MatchType, *badPath) {
	if p.PathType == nil {
		return "", "", &badPath{field: ".pathType", reason: "MissingPathType",
			format: "pathType is required (Exact, Prefix or ImplementationSpecific); this path is ignored"}
	}
	path := p.Path
	var match lbconfig.MatchType
	switch *p.PathType {
	case networkingv1.PathTypeExact:
		match = lbconfig.MatchExact
	case networkingv1.PathTypePrefix:
		match = lbconfig.MatchPrefix
	case networkingv1.PathTypeImplementationSpecific:
		// Documented in the package comment: we implement it as Prefix.
		match = lbconfig.MatchPrefix
		if path == "" {
			path = "/"
		}
	default:
		return "", "", &badPath{field: ".pathType", reason: "UnsupportedPathType",
			format: "pathType %q is not one of Exact, Prefix or ImplementationSpecific; this path is ignored", args: []any{string(*p.PathType)}}
	}
	if err := checkPath(path, *p.PathType); err != nil {
		return "", "", &badPath{field: ".path", reason: "InvalidPath", format: "%v; this path is ignored", args: []any{err}}
	}
	return path, match, nil
}

// Path sequences and suffixes the API server rejects in Exact and Prefix
// paths, because they are ambiguous once normalized.
var (
	invalidPathSequences = [...]string{"//", "/./", "/../", "%2f", "%2F"}
	invalidPathSuffixes  = [...]string{"/..", "/."}
)

func checkPath(path string, pt networkingv1.PathType) error {
	if err := lbconfig.CheckPath(path); err != nil {
		return err
	}
	if pt == networkingv1.PathTypeImplementationSpecific {
		return nil
	}
	for _, seq := range invalidPathSequences {
		if strings.Contains(path, seq) {
			return fmt.Errorf("path %q must not contain %q", clip.Value(path), seq)
		}
	}
	for _, suffix := range invalidPathSuffixes {
		if strings.HasSuffix(path, suffix) {
			return fmt.Errorf("path %q must not end with %q", clip.Value(path), suffix)
		}
	}
	return nil
}

// normalizeHost lower-cases an Ingress rule host and checks it: a DNS name,
// or "*." followed by a DNS name of at least two labels; not an IP address.
func normalizeHost(h string) (string, error) {
	host := lowerASCII(h)
	if host == "" {
		return "", nil
	}
	if err := lbconfig.CheckHostname(host); err != nil {
		return "", err
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return "", fmt.Errorf("host %q must be a DNS name, not an IP address", clip.Value(h))
	}
	if rest, ok := strings.CutPrefix(host, "*."); ok && !strings.Contains(rest, ".") {
		return "", fmt.Errorf("wildcard host %q must have the form \"*.example.com\"", clip.Value(h))
	}
	return host, nil
}

// lowerASCII lower-cases only A-Z. strings.ToLower would also map some
// non-ASCII runes to ASCII (the Kelvin sign to "k"), turning an invalid
// host into a valid one that is not what the user wrote.
func lowerASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

// listeners builds the listeners of this builder's load balancer: HTTP on
// opts.HTTPPort and HTTPS on opts.HTTPSPort, each left out when its port
// is 0 (HTTPS also when nothing needs it), then the TCP listeners.
func (b *builder) listeners(opts Options) []lbconfig.Listener {
	b.applyRegexMode()
	b.finishHostRedirects()
	var https *lbconfig.Listener
	if opts.HTTPSPort != 0 {
		// First: it may add HTTP virtual hosts for the redirects.
		https, _ = b.tlsListener(opts, b.defaultBackend)
		https, _ = b.applyPassthrough(opts, https, nil)
	}
	var listeners []lbconfig.Listener
	taken := map[int32]string{}
	if opts.HTTPPort != 0 {
		listener := lbconfig.Listener{
			Port:           opts.HTTPPort,
			Protocol:       lbconfig.ProtocolHTTP,
			DefaultBackend: b.defaultBackend,
		}
		for _, vh := range b.vhosts {
			listener.VirtualHosts = append(listener.VirtualHosts, *vh)
		}
		listeners = append(listeners, listener)
		taken[opts.HTTPPort] = "the HTTP listener"
	}
	if https != nil {
		listeners = append(listeners, *https)
		taken[https.Port] = "the HTTPS listener"
	}
	return append(listeners, b.tcpListeners(taken)...)
}
