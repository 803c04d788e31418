package translate

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"ingress-controller/pkg/lbconfig"
)

// ingress-nginx canaries. An Ingress of the nginx class with canary:
// "true" is never served as an Ingress of its own: each of its paths is
// merged into the route of the main Ingress, the one served Ingress that
// routes the same host and path, as routes with header and cookie matches
// before it and weights on it (lbconfig's split.go), in ingress-nginx's
// order: canary-by-header (its -value, else its -pattern, else "always"
// and "never"), then canary-by-cookie ("always" and "never"), then
// canary-weight out of canary-weight-total, drawn for every request. The
// routes to the canary are copies of the main route with the canary's
// backend, so that everything else of the main Ingress (access, header
// changes, CORS, redirects) holds for them, as in ingress-nginx, which
// ignores the canary's other annotations but its backends' balancing.
//
// As in ingress-nginx, a path without a main Ingress is not served, a
// path takes one canary (the oldest), and a canary's default backend is
// not merged; each gets a problem.

// canarySpec is what the canary annotations of one Ingress ask for.
type canarySpec struct {
	header, headerValue, headerPattern string
	cookie                             string
	weight, weightTotal                int32
	// legacy is affinity-canary-behavior: legacy; affinityCopied is set
	// once the main Ingress's affinity was given to the canary
	// (stickycanary.go).
	legacy, affinityCopied bool
}

// nginxCanaryKept are the ingress-nginx annotations a canary Ingress's own
// value counts for: they set its backends' balancing.
var nginxCanaryKept = []string{"load-balance", "upstream-hash-by", "affinity", "affinity-mode", "affinity-canary-behavior", "session-cookie-"}

// readCanary reads canary and, when it is "true", the canary-*
// annotations; it returns nil for an Ingress that is not a canary.
func (r *nginxReader) readCanary() *canarySpec {
	v, ok := r.get("canary")
	if !ok {
		return nil
	}
	on, err := strconv.ParseBool(v)
	if err != nil {
		r.invalid("canary", "%q is not true or false; this Ingress is not a canary", v)
	}
	if !on {
		return nil
	}
	s := &canarySpec{weightTotal: 100}
	if h, ok := r.get("canary-by-header"); ok {
		if err := lbconfig.CheckMatchHeaderName(strings.ToLower(h)); err != nil {
			r.invalid("canary-by-header", "%v; no request goes to the canary by header", err)
		} else {
			s.header = strings.ToLower(h)
		}
	}
	s.headerValue = r.canaryValue("canary-by-header-value", s.header, lbconfig.CheckMatchValue)
	pattern := r.canaryValue("canary-by-header-pattern", s.header, func(v string, _ bool) error { return lbconfig.CheckHeaderRegexp(v) })
	if pattern != "" && s.headerValue != "" {
		r.problem("canary-by-header-pattern", "IgnoredAnnotation", "canary-by-header-value is also set and wins, as in ingress-nginx; this pattern is ignored")
	} else {
		s.headerPattern = pattern
	}
	if c, ok := r.get("canary-by-cookie"); ok {
		if err := lbconfig.CheckMatchCookieName(c); err != nil {
			r.invalid("canary-by-cookie", "%v; no request goes to the canary by cookie", err)
		} else {
			s.cookie = c
		}
	}
	if v, ok := r.get("canary-weight-total"); ok {
		n, err := strconv.ParseInt(v, 10, 32)
		switch {
		case err != nil || n < 1 || n > lbconfig.MaxWeight:
			r.invalid("canary-weight-total", "%q is not an integer from 1 to %d; the total is 100", v, lbconfig.MaxWeight)
		case n > 100: // ingress-nginx takes a total below 100 as 100
			s.weightTotal = int32(n)
		}
	}
	if v, ok := r.get("canary-weight"); ok {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			r.invalid("canary-weight", "%q is not an integer; the weight is 0", v)
		}
		s.weight = int32(min(max(n, 0), int64(s.weightTotal)))
	}
	return s
}

// canaryValue reads a value for canary-by-header, checked by check; ""
// when it is missing, invalid or has no header to go with.
func (r *nginxReader) canaryValue(name, header string, check func(string, bool) error) string {
	v, ok := r.get(name)
	switch {
	case !ok:
		return ""
	case header == "":
		r.problem(name, "IgnoredAnnotation", "there is no valid canary-by-header to compare; this annotation is ignored")
		return ""
	}
	if err := check(v, false); err != nil {
		r.invalid(name, "%v; no request goes to the canary by this header", err)
		return ""
	}
	return v
}

// canary is a canary Ingress as readNginx rewrote it, with the
// annotations it came with and what it asks for.
type canary struct {
	ing      *networkingv1.Ingress
	original map[string]string
	spec     *canarySpec
}

// addCanaries merges every canary, oldest first, into the routes of the
// main Ingresses (see the top of this file).
func (t *translation) addCanaries(canaries []canary) {
	taken := map[routeKey]lbconfig.ObjectRef{}
	for _, c := range canaries {
		ref := ingressRef(c.ing)
		t.reportIgnored(c.original, ref)
		if c.ing.Spec.DefaultBackend != nil {
			t.problems.add(ref, "spec.defaultBackend", "CanaryDefaultBackend",
				"the default backend of a canary Ingress is not merged into the load balancer's; it is ignored")
		}
		for i := range c.ing.Spec.Rules {
			rule := &c.ing.Spec.Rules[i]
			host, err := normalizeHost(rule.Host)
			if err != nil {
				t.problems.add(ref, fmt.Sprintf("spec.rules[%d].host", i), "InvalidHost", "%v; this rule is ignored", err)
				continue
			}
			if rule.HTTP == nil {
				continue
			}
			for j := range rule.HTTP.Paths {
				field := fmt.Sprintf("spec.rules[%d].http.paths[%d]", i, j)
				t.addCanaryPath(c, ref, field, host, &rule.HTTP.Paths[j], taken)
			}
		}
	}
}

// addCanaryPath merges one path of a canary into its main route.
func (t *translation) addCanaryPath(c canary, ref lbconfig.ObjectRef, field, host string, p *networkingv1.HTTPIngressPath, taken map[routeKey]lbconfig.ObjectRef) {
	path, match, bad := matchOf(p)
	if bad != nil {
		t.problems.add(ref, field+bad.field, bad.reason, bad.format, bad.args...)
		return
	}
	key := routeKey{host: host, match: match, path: path}
	if match == lbconfig.MatchPrefix {
		key.path = strings.TrimRight(path, "/")
	}
	g, main := t.mainRoute(key)
	if main == nil {
		t.problems.add(ref, field, "CanaryWithoutMain",
			"no served Ingress routes %s path %q on %s, and a canary is served only beside one (as in ingress-nginx); this path is not served",
			match, path, describeHost(host))
		return
	}
	if other, ok := taken[key]; ok {
		t.problems.add(ref, field, "CanaryConflict",
			"%s is already the canary of %s path %q on %s, and a path has one canary (as in ingress-nginx); this path is ignored",
			other, match, path, describeHost(host))
		return
	}
	b := g.b
	site := backendSite{ref: ref, field: field + ".backend", what: "this canary path", served: "the canary"}
	svc, ok := b.checkBackend(site, &p.Backend)
	if !ok {
		return
	}
	if _, seen := b.policies[ref]; !seen {
		b.policies[ref] = b.policyOf(c.ing.Annotations, ref)
		b.withMainBackendTLS(ref, main.Source) // backendtls.go
	}
	sticky := t.stickyCanary(b, ref, main.Source, c.spec, c.original) // stickycanary.go
	taken[key] = ref
	if !slices.Contains(b.sources, ref) {
		b.sources = append(b.sources, ref)
	}
	canaryRoutes(b.vhosts[host], main, b.backend(site, svc), ref, c.spec, sticky)
}

// mainRoute finds the route of key that a served Ingress owns, and its
// load balancer; nil when there is none.
func (t *translation) mainRoute(key routeKey) (*lbGroup, *lbconfig.Route) {
	for _, name := range slices.Sorted(maps.Keys(t.groups)) {
		g := t.groups[name]
		owner, ok := g.b.claims[key]
		vh := g.b.vhosts[key.host]
		if !ok || vh == nil {
			continue
		}
		for i := range vh.Routes {
			r := &vh.Routes[i]
			if r.Source == owner.ref && !r.HasConditions() && r.Match == key.match && routePathKey(r) == key.path {
				return g, r
			}
		}
	}
	return nil, nil
}

// routePathKey is a route's path as routeKey holds it.
func routePathKey(r *lbconfig.Route) string {
	if r.Match == lbconfig.MatchPrefix {
		return strings.TrimRight(r.Path, "/")
	}
	return r.Path
}

// canaryRoutes adds to vh the routes that send main's requests to the
// canary backend as spec, of Ingress ref, asks, and weights main, with
// sticky backends when sticky (even at weight 0). A route to the canary's
// backend has ref as its source.
func canaryRoutes(vh *lbconfig.VirtualHost, main *lbconfig.Route, backend string, ref lbconfig.ObjectRef, spec *canarySpec, sticky bool) {
	primary := main.Backend.Name
	to := func(name string, headers []lbconfig.HeaderMatch, cookies []lbconfig.CookieMatch) lbconfig.Route {
		r := *main
		r.Backend, r.Headers, r.Cookies, r.Backends = lbconfig.BackendRef{Name: name}, headers, cookies, nil
		if name == backend {
			r.Source = ref
		}
		return r
	}
	header := func(typ lbconfig.HeaderMatchType, v string) []lbconfig.HeaderMatch {
		return []lbconfig.HeaderMatch{{Name: spec.header, Type: typ, Value: v}}
	}
	var add []lbconfig.Route
	switch {
	case spec.header == "":
	case spec.headerValue != "":
		add = append(add, to(backend, header(lbconfig.HeaderExact, spec.headerValue), nil))
	case spec.headerPattern != "":
		add = append(add, to(backend, header(lbconfig.HeaderRegularExpression, spec.headerPattern), nil))
	default:
		add = append(add, to(backend, header(lbconfig.HeaderExact, "always"), nil), to(primary, header(lbconfig.HeaderExact, "never"), nil))
	}
	if spec.cookie != "" {
		cookie := func(v string) []lbconfig.CookieMatch { return []lbconfig.CookieMatch{{Name: spec.cookie, Value: v}} }
		add = append(add, to(backend, nil, cookie("always")), to(primary, nil, cookie("never")))
	}
	if (spec.weight > 0 || sticky) && backend != primary && main.HTTPSRedirect == nil {
		main.Backends = []lbconfig.WeightedBackend{{Name: primary, Weight: spec.weightTotal - spec.weight}, {Name: backend, Weight: spec.weight}}
		slices.SortFunc(main.Backends, func(a, b lbconfig.WeightedBackend) int { return strings.Compare(a.Name, b.Name) })
		main.StickyBackends = sticky
	}
	// main is in vh.Routes, so it is appended to last.
	vh.Routes = append(vh.Routes, add...)
}

// reportIgnored reports the annotations of a canary Ingress that
// ingress-nginx ignores on it, ours and its own.
func (t *translation) reportIgnored(annotations map[string]string, ref lbconfig.ObjectRef) {
	n := 0
	for _, key := range slices.Sorted(maps.Keys(annotations)) {
		name, nginx := strings.CutPrefix(key, NginxAnnotationPrefix)
		if !nginx && !strings.HasPrefix(key, AnnotationPrefix) || name == "canary" || strings.HasPrefix(name, "canary-") {
			continue
		}
		if nginx && keptOnCanary(name) {
			continue
		}
		if n++; n <= maxNginxUnsupported {
			t.problems.add(ref, annotationField(key), "IgnoredAnnotation",
				"ingress-nginx ignores this on a canary Ingress, and so do we: the main Ingress's settings hold for the canary's requests")
		}
	}
}

// keptOnCanary reports whether ingress-nginx reads annotation name on a
// canary Ingress.
func keptOnCanary(name string) bool {
	return name == "canary" || strings.HasPrefix(name, "canary-") ||
		slices.ContainsFunc(nginxCanaryKept, func(k string) bool { return name == k || strings.HasSuffix(k, "-") && strings.HasPrefix(name, k) })
}
