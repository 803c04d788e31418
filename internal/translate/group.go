package translate

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"ingress-controller/internal/clip"
	"ingress-controller/pkg/lbconfig"
)

// Grouping: which load balancer each Ingress is on, and which ports each
// load balancer listens on.
//
//   - An Ingress is on DefaultLoadBalancer, or with Options.LBPerIngress on
//     a load balancer of its own named "<namespace>/<name>". In both modes
//     AnnotationLoadBalancer names the load balancer explicitly, so that
//     Ingresses with the same value share it ("default" is the default
//     load balancer). A value that is not a DNS label is a problem and the
//     Ingress stays where it would be without the annotation.
//   - Everything per load balancer is computed within it: merging hosts,
//     route and default backend conflicts, TLS hosts and certificates,
//     redirects and passthrough hosts. TCP Services are on the default one.
//   - The default load balancer listens on Options.HTTPPort and HTTPSPort.
//     The others do too, unless one of their Ingresses sets
//     AnnotationListenPorts: the oldest that does decides, Ingresses without
//     it follow, and a later different value is a problem. A list without
//     HTTP (HTTPS) gives the load balancer no HTTP (HTTPS) listener.
//   - Load balancers share one listen address, so a port is one listener's
//     in the whole config. Listeners claim their ports in the order of
//     their objects: an HTTP or HTTPS listener that of the oldest Ingress
//     of its load balancer, a TCP listener that of its Service (by
//     creationTimestamp, then namespace and name). A later claim loses its
//     listener with a problem; a load balancer left without listeners is
//     not in the config, and its Ingresses get a problem. Within the
//     default load balancer its HTTP and HTTPS listeners come before its
//     TCP listeners, as they always have. The HTTP listener of a default
//     load balancer with only TCP Services routes nothing and gives way to
//     any other claim silently.
//   - AnnotationScale limits a load balancer to that many controller
//     replicas, and AnnotationDNSName names it in DNS. As for
//     AnnotationListenPorts, the oldest Ingress that sets one decides and a
//     later different value is a problem; they may be set on the default
//     load balancer too.

// Grouping annotations on an Ingress.
const (
	// AnnotationLoadBalancer names the load balancer of an Ingress: a DNS
	// label. Ingresses with the same name share it.
	AnnotationLoadBalancer = AnnotationPrefix + "load-balancer"
	// AnnotationListenPorts sets the public ports of a dedicated load
	// balancer: a JSON list of single-key objects, HTTP or HTTPS, each at
	// most once, e.g. [{"HTTP":8080},{"HTTPS":8443}].
	AnnotationListenPorts = AnnotationPrefix + "listen-ports"
	// AnnotationScale is how many controller replicas serve the load
	// balancer: a positive integer, at most MaxScale. Without it every
	// replica does.
	AnnotationScale = AnnotationPrefix + "scale"
	// AnnotationDNSName is the DNS name the load balancer is published
	// under when DNS publishing is on, instead of the one the controller's
	// template makes.
	AnnotationDNSName = AnnotationPrefix + "dns-name"
)

// MaxScale is the largest AnnotationScale.
const MaxScale = 1000

// translation holds the builders of every load balancer and the state they
// share.
type translation struct {
	opts Options
	// shared holds the state common to every load balancer and makes the
	// builders of each.
	shared   *shared
	problems *problems
	groups   map[string]*lbGroup
}

// lbGroup is one load balancer being built.
type lbGroup struct {
	name string
	// dedicated is set for every load balancer but the default one.
	dedicated bool
	b         *builder
	// first is the oldest Ingress, whose age the HTTP and HTTPS listeners
	// claim their ports with; nil without Ingresses.
	first *networkingv1.Ingress
	// ports are set by portsOwner's AnnotationListenPorts; without an
	// owner the load balancer listens on the flags' ports.
	ports      listenPorts
	portsOwner *claim
	// scale is set by AnnotationScale; 0 is every replica.
	scale setting[int32]
	// dnsName is set by AnnotationDNSName; "" is the controller's template.
	dnsName setting[string]
}

// listenPorts are the ports of AnnotationListenPorts; 0 is no listener.
type listenPorts struct{ http, https int32 }

func (p listenPorts) String() string {
	var parts []string
	if p.http != 0 {
		parts = append(parts, fmt.Sprintf("HTTP %d", p.http))
	}
	if p.https != 0 {
		parts = append(parts, fmt.Sprintf("HTTPS %d", p.https))
	}
	return strings.Join(parts, " and ")
}

func newTranslation(snap *Snapshot, opts Options) *translation {
	s := newShared(snap)
	s.clusterDomain = opts.clusterDomain()
	return &translation{opts: opts, shared: s, problems: s.problems, groups: map[string]*lbGroup{}}
}

// group returns the load balancer called name, making it on first use.
func (t *translation) group(name string, dedicated bool) *lbGroup {
	g := t.groups[name]
	if g == nil {
		g = &lbGroup{name: name, dedicated: dedicated, b: t.shared.newBuilder()}
		t.groups[name] = g
	}
	return g
}

func annotationField(key string) string { return "metadata.annotations[" + key + "]" }

// addIngress puts ing, the next oldest Ingress, on its load balancer.
func (t *translation) addIngress(ing *networkingv1.Ingress) {
	ref := ingressRef(ing)
	g := t.groupOf(ing, ref)
	if g.first == nil {
		g.first = ing
	}
	t.readListenPorts(g, ing, ref)
	t.readScale(g, ing, ref)
	t.readDNSName(g, ing, ref)
	g.b.addIngress(ing)
}

// groupOf finds the load balancer of ing.
func (t *translation) groupOf(ing *networkingv1.Ingress, ref lbconfig.ObjectRef) *lbGroup {
	name, dedicated, invalid, bad := t.loadBalancerOf(ing)
	if bad {
		t.problems.add(ref, annotationField(AnnotationLoadBalancer), "InvalidAnnotation",
			"%q is not a load balancer name (a DNS label: 1 to 63 characters of a-z, 0-9 and inner '-'); this Ingress is on load balancer %q",
			invalid, name)
	}
	return t.group(name, dedicated)
}

// loadBalancerOf names the load balancer of ing, and returns the value of
// AnnotationLoadBalancer and true if it is not a name.
func (t *translation) loadBalancerOf(ing *networkingv1.Ingress) (name string, dedicated bool, invalid string, bad bool) {
	name = DefaultLoadBalancer
	if t.opts.LBPerIngress {
		name, dedicated = ing.Namespace+"/"+ing.Name, true
	}
	if v, ok := ing.Annotations[AnnotationLoadBalancer]; ok {
		v = strings.TrimSpace(v)
		if !isDNSLabel(v, 63) {
			return name, dedicated, v, true
		}
		return v, v != DefaultLoadBalancer, "", false
	}
	return name, dedicated, "", false
}

// addRefused keeps the requests for the paths of ing, an Ingress refused
// (nginx.go), from reaching other Ingresses' backends on its load balancer.
// Left out, its paths would fall through to a shorter prefix, another host
// rule or the default backend of another Ingress, often the same app, now
// without the protection that made ing refused. So each of its paths that
// no served Ingress claims answers 503 from a backend without endpoints,
// as ingress-nginx answers a location it denies. Nothing else of ing is
// used: no TLS host, no default backend, no policy, and it is not among
// the load balancer's sources, which get a status.
func (t *translation) addRefused(ing *networkingv1.Ingress) {
	name, _, _, _ := t.loadBalancerOf(ing)
	g := t.groups[name]
	if g == nil || len(g.ingressRefs()) == 0 {
		return // nothing served there to fall through to
	}
	g.b.addRefusedRoutes(ing)
}

// readListenPorts reads AnnotationListenPorts of ing, on load balancer g.
func (t *translation) readListenPorts(g *lbGroup, ing *networkingv1.Ingress, ref lbconfig.ObjectRef) {
	v, ok := ing.Annotations[AnnotationListenPorts]
	if !ok {
		return
	}
	field := annotationField(AnnotationListenPorts)
	ports, err := parseListenPorts(v)
	switch {
	case err != nil:
		t.problems.add(ref, field, "InvalidAnnotation", "%v; ignored", err)
	case !g.dedicated:
		t.problems.add(ref, field, "InvalidAnnotation",
			"only a dedicated load balancer (%s, or --lb-per-ingress) has ports of its own; the default load balancer listens on --http-port %d and --https-port %d, and this annotation is ignored",
			AnnotationLoadBalancer, t.opts.HTTPPort, t.opts.HTTPSPort)
	case g.portsOwner == nil:
		g.ports, g.portsOwner = ports, &claim{ref: ref, field: field}
	case ports != g.ports:
		t.problems.add(ref, field, "ListenPortsConflict",
			"load balancer %q already listens on %s, as set by %s, which is older; these ports (%s) are ignored",
			g.name, g.ports, *g.portsOwner, ports)
	}
}

// readScale reads AnnotationScale of ing, on load balancer g.
func (t *translation) readScale(g *lbGroup, ing *networkingv1.Ingress, ref lbconfig.ObjectRef) {
	v, ok := ing.Annotations[AnnotationScale]
	if !ok {
		return
	}
	field := annotationField(AnnotationScale)
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
	switch {
	case err != nil || n < 1 || n > MaxScale:
		t.problems.add(ref, field, "InvalidAnnotation",
			"%#q is not a number of replicas from 1 to %d; ignored", clip.Value(v), MaxScale)
	case t.opts.ScaleIgnored != "":
		t.problems.add(ref, field, "ScaleIgnored",
			"ignored: %s, so every replica serves load balancer %q", t.opts.ScaleIgnored, g.name)
	default:
		g.scale.claim(t, g, int32(n), claim{ref: ref, field: field}, "ScaleConflict", "is served by %d replicas")
	}
}

// readDNSName reads AnnotationDNSName of ing, on load balancer g.
func (t *translation) readDNSName(g *lbGroup, ing *networkingv1.Ingress, ref lbconfig.ObjectRef) {
	v, ok := ing.Annotations[AnnotationDNSName]
	if !ok {
		return
	}
	field := annotationField(AnnotationDNSName)
	name := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(v)), ".")
	if err := lbconfig.CheckHostname(name); err != nil || name == "" || strings.HasPrefix(name, "*") {
		t.problems.add(ref, field, "InvalidAnnotation",
			"%#q is not a DNS name (labels of a-z, 0-9 and inner '-', no wildcard); ignored", clip.Value(v))
		return
	}
	g.dnsName.claim(t, g, name, claim{ref: ref, field: field}, "DNSNameConflict", "is published as %q")
}

// setting is a value of a load balancer set by an annotation on its
// Ingresses: the oldest Ingress that sets it decides.
type setting[T comparable] struct {
	value T
	owner *claim
}

// claim sets s to v, claimed by c, unless an older Ingress set it: then a
// different v is a problem with reason, whose message says what the load
// balancer has with has, a format with one verb for the value.
func (s *setting[T]) claim(t *translation, g *lbGroup, v T, c claim, reason, has string) {
	switch {
	case s.owner == nil:
		s.value, s.owner = v, &c
	case v != s.value:
		t.problems.add(c.ref, c.field, reason,
			"load balancer %q "+has+", as set by %s, which is older; this value (%v) is ignored",
			g.name, s.value, *s.owner, v)
	}
}

// parseListenPorts reads [{"HTTP":8080},{"HTTPS":8443}]: one key an
// entry, HTTP or HTTPS, each at most once, on different ports.
func parseListenPorts(v string) (listenPorts, error) {
	var lp listenPorts
	quoted := clip.Value(v) // for errors
	var entries []map[string]int64
	if err := json.Unmarshal([]byte(v), &entries); err != nil {
		return lp, fmt.Errorf(`%#q is not a JSON list of ports such as [{"HTTP":8080},{"HTTPS":8443}]`, quoted)
	}
	if len(entries) == 0 {
		return lp, fmt.Errorf("%#q lists no port", quoted)
	}
	for i, e := range entries {
		if len(e) != 1 {
			return lp, fmt.Errorf("%#q: entry %d must have exactly one key, HTTP or HTTPS", quoted, i)
		}
		for proto, port := range e {
			var dst *int32
			switch proto {
			case "HTTP":
				dst = &lp.http
			case "HTTPS":
				dst = &lp.https
			default:
				return lp, fmt.Errorf("%#q: entry %d: %q is not HTTP or HTTPS", quoted, i, clip.Value(proto))
			}
			if port < 1 || port > 65535 {
				return lp, fmt.Errorf("%#q: entry %d: %d is not a port number", quoted, i, port)
			}
			if *dst != 0 {
				return lp, fmt.Errorf("%#q: %s is listed twice", quoted, proto)
			}
			*dst = int32(port)
		}
	}
	if lp.http == lp.https {
		return lp, fmt.Errorf("%#q: HTTP and HTTPS cannot share port %d", quoted, lp.http)
	}
	return lp, nil
}

// portsOf returns the HTTP and HTTPS ports of g; 0 is none.
func (t *translation) portsOf(g *lbGroup) listenPorts {
	if g.portsOwner != nil {
		return g.ports
	}
	return listenPorts{http: t.opts.HTTPPort, https: t.opts.HTTPSPort}
}

// ingressRefs returns the Ingresses of g.
func (g *lbGroup) ingressRefs() []lbconfig.ObjectRef {
	var out []lbconfig.ObjectRef
	for _, ref := range g.b.sources {
		if ref.Kind == "Ingress" && !slices.Contains(out, ref) {
			out = append(out, ref)
		}
	}
	return out
}

// tlsRefs returns the Ingresses of g that need HTTPS: with spec.tls or
// TLS passthrough.
func (g *lbGroup) tlsRefs() []lbconfig.ObjectRef {
	var out []lbconfig.ObjectRef
	for _, it := range g.b.tls {
		out = append(out, it.ref)
	}
	for _, pt := range g.b.passthrough {
		if !slices.Contains(out, pt.owner.ref) {
			out = append(out, pt.owner.ref)
		}
	}
	return out
}

// reportMissingPorts reports the Ingresses that g's listen-ports leaves
// without the listener they need.
func (t *translation) reportMissingPorts(g *lbGroup, ports listenPorts) {
	if g.portsOwner == nil {
		return
	}
	if ports.https == 0 {
		for _, it := range g.b.tls {
			t.problems.add(it.ref, "spec.tls", "NoHTTPSListener",
				"load balancer %q has no HTTPS port (%s lists only %s); spec.tls is ignored and the hosts are served on HTTP only",
				g.name, *g.portsOwner, ports)
		}
		for _, pt := range g.b.passthrough {
			t.problems.add(pt.owner.ref, annotationField(AnnotationSSLPassthrough), "NoHTTPSListener",
				"load balancer %q has no HTTPS port (%s lists only %s); TLS is not passed through",
				g.name, *g.portsOwner, ports)
		}
	}
	if ports.http == 0 {
		needHTTPS := g.tlsRefs()
		for _, ref := range g.ingressRefs() {
			if !slices.Contains(needHTTPS, ref) {
				t.problems.add(ref, "spec.rules", "NoHTTPListener",
					"load balancer %q has no HTTP port (%s lists only %s) and this Ingress has no spec.tls; its rules are served only on HTTPS, for TLS hosts of other Ingresses",
					g.name, *g.portsOwner, ports)
			}
		}
	}
}

// builtLB is a load balancer whose listeners are built but whose ports
// are not yet allocated.
type builtLB struct {
	g         *lbGroup
	listeners []lbconfig.Listener
	dropped   []bool
}

// config builds every load balancer, allocates the ports and assembles the
// sorted output.
func (t *translation) config() *lbconfig.Config {
	var built []*builtLB
	for _, name := range slices.Sorted(maps.Keys(t.groups)) {
		g := t.groups[name]
		if len(g.b.sources) == 0 {
			continue
		}
		ports := t.portsOf(g)
		t.reportMissingPorts(g, ports)
		opts := t.opts
		opts.HTTPPort, opts.HTTPSPort = ports.http, ports.https
		ls := g.b.listeners(opts)
		built = append(built, &builtLB{g: g, listeners: ls, dropped: make([]bool, len(ls))})
	}
	t.allocatePorts(built)

	cfg := &lbconfig.Config{}
	certs := map[string]*lbconfig.Certificate{}
	for _, bl := range built {
		lb := lbconfig.LoadBalancer{Name: bl.g.name, Sources: bl.g.b.sources, Scale: bl.g.scale.value, DNSName: bl.g.dnsName.value}
		for i, l := range bl.listeners {
			if bl.dropped[i] {
				continue
			}
			lb.Listeners = append(lb.Listeners, l)
			if l.Protocol == lbconfig.ProtocolHTTPS {
				for _, c := range bl.g.b.usedCertificates(&l) {
					if have := certs[c.Name]; have != nil {
						have.Hosts = append(have.Hosts, c.Hosts...)
					} else {
						certs[c.Name] = &c
					}
				}
			}
		}
		if len(lb.Listeners) == 0 {
			for _, ref := range bl.g.ingressRefs() {
				t.problems.add(ref, bl.g.portField(lbconfig.ProtocolHTTP), "NoListener",
					"load balancer %q is left without listeners, so this Ingress is not served", bl.g.name)
			}
			continue
		}
		cfg.LoadBalancers = append(cfg.LoadBalancers, lb)
	}
	for _, c := range certs {
		cfg.Certificates = append(cfg.Certificates, *c)
	}
	for _, rb := range t.shared.backends {
		cfg.Backends = append(cfg.Backends, rb.backend)
	}
	cfg.Credentials = t.shared.usedCredentials(cfg)
	cfg.Sort()
	for i := range cfg.Certificates {
		c := &cfg.Certificates[i]
		c.Hosts = slices.Compact(c.Hosts)
	}
	// A snapshot may hold the same Ingress twice; list it once.
	for i := range cfg.LoadBalancers {
		lb := &cfg.LoadBalancers[i]
		lb.Sources = slices.Compact(lb.Sources)
	}
	return cfg
}
