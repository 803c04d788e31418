package translate

import (
	"fmt"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"ingress-controller/pkg/lbconfig"
)

// Regular-expression paths and path rewrites, with ingress-nginx's
// semantics:
//
//   - An Ingress with use-regex "true", or with a rewrite-target, puts
//     its hosts in regex mode. On a host in regex mode EVERY path, of
//     every Ingress of the load balancer on that host, is a
//     case-insensitive pattern anchored at the start only
//     (lbconfig.MatchRegex, "(?i)" + the path as written), whatever its
//     pathType: a Prefix "/foo" also matches "/foobar", an Exact "/foo"
//     matches "/foo/bar". Routes are tried longest pattern first, the
//     first match wins (lbconfig.CompareRoutes).
//   - rewrite-target replaces the whole path the backend gets, "$1" to
//     "$9" standing for the groups of the path that matched; the query is
//     kept. A path equal to the target is not rewritten.
//
// An Ingress whose annotations or own patterns cannot be read is refused
// (readRegex), so that its paths answer 503 (addRefused) rather than be
// served without the pattern or rewrite that may be meant to shadow
// another route. A path of another Ingress that regex mode cannot compile
// answers 503 the same way, with a problem.
const (
	// AnnotationUseRegex, "true", makes the paths of the Ingress, and of
	// every Ingress on its hosts, regular expressions.
	AnnotationUseRegex = AnnotationPrefix + "use-regex"
	// AnnotationRewriteTarget is the path the backend gets; it implies
	// AnnotationUseRegex.
	AnnotationRewriteTarget = AnnotationPrefix + "rewrite-target"
)

// regexIntent is what an Ingress's annotations ask of its paths.
type regexIntent struct {
	useRegex bool
	rewrite  string
}

// on reports whether the Ingress puts its hosts in regex mode.
func (ri regexIntent) on() bool { return ri.useRegex || ri.rewrite != "" }

// regexOf reads the regex annotations of ing and checks its own paths
// against them: the key at fault and why, if any.
func regexOf(ing *networkingv1.Ingress) (regexIntent, string, error) {
	var ri regexIntent
	if v, ok := ing.Annotations[AnnotationUseRegex]; ok {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return ri, AnnotationUseRegex, fmt.Errorf("%q is not true or false", v)
		}
		ri.useRegex = on
	}
	if v, ok := ing.Annotations[AnnotationRewriteTarget]; ok {
		if err := lbconfig.CheckRewrite(&lbconfig.Rewrite{Path: v}, 9); err != nil {
			return ri, AnnotationRewriteTarget, err
		}
		ri.rewrite = v
	}
	if !ri.on() {
		return ri, "", nil
	}
	for _, rule := range ing.Spec.Rules {
		if rule.HTTP == nil {
			continue
		}
		for _, p := range rule.HTTP.Paths {
			re, err := lbconfig.CompileRegex(regexPattern(p.Path))
			if err != nil {
				key := AnnotationUseRegex
				if !ri.useRegex {
					key = AnnotationRewriteTarget
				}
				return ri, key, fmt.Errorf("path %w", err)
			}
			if ri.rewrite != "" && ri.rewrite != p.Path {
				if err := lbconfig.CheckRewrite(&lbconfig.Rewrite{Path: ri.rewrite}, re.NumSubexp()); err != nil {
					return ri, AnnotationRewriteTarget, err
				}
			}
		}
	}
	return ri, "", nil
}

// regexPattern is the pattern of an Ingress path in regex mode.
func regexPattern(path string) string {
	if path == "" {
		path = "/"
	}
	return "(?i)" + path
}

// readRegex reports whether the regex annotations and patterns of ing
// can be read; if not, the problem says the Ingress is not served.
func readRegex(ing *networkingv1.Ingress, ps *problems) bool {
	_, key, err := regexOf(ing)
	if err != nil {
		field := annotationField(key)
		// Ours as readRegexPaths set it from ingress-nginx's: that one is
		// at fault.
		nginx := NginxAnnotationPrefix + strings.TrimPrefix(key, AnnotationPrefix)
		if v, ok := ing.Annotations[nginx]; ok && strings.TrimSpace(v) == ing.Annotations[key] {
			field = nginxField(strings.TrimPrefix(key, AnnotationPrefix))
		}
		ps.add(ingressRef(ing), field, "InvalidAnnotation",
			"%v; its paths answer 503 rather than be matched otherwise, so this Ingress is not served", err)
		return false
	}
	return true
}

// noteRegex records what ing asks of its paths, for applyRegexMode.
func (b *builder) noteRegex(ing *networkingv1.Ingress) {
	ri, _, err := regexOf(ing)
	if err != nil || !ri.on() {
		return
	}
	if b.regex == nil {
		b.regex = map[lbconfig.ObjectRef]regexIntent{}
	}
	b.regex[ingressRef(ing)] = ri
}

// applyRegexMode turns every route of the hosts in regex mode into a
// case-insensitive Regex route, with the rewrite its Ingress asks for.
func (b *builder) applyRegexMode() {
	if len(b.regex) == 0 {
		return
	}
	for _, vh := range b.vhosts {
		if !b.inRegexMode(vh) {
			continue
		}
		for i := range vh.Routes {
			if vh.Routes[i].Match != lbconfig.MatchRegex { // once
				b.regexRoute(vh, &vh.Routes[i])
			}
		}
	}
}

func (b *builder) inRegexMode(vh *lbconfig.VirtualHost) bool {
	for _, rt := range vh.Routes {
		if b.regex[rt.Source].on() {
			return true
		}
	}
	return false
}

// regexRoute turns rt into a Regex route. A path that does not compile
// (of an Ingress that did not ask for regex: readRegex refused the
// others) keeps its own match, with a problem: it matches the literal
// path, as PCRE2 reads most of what RE2 refuses ("{id}"), only
// case-sensitive and before the patterns.
func (b *builder) regexRoute(vh *lbconfig.VirtualHost, rt *lbconfig.Route) {
	path := rt.Path
	pattern := regexPattern(path)
	if err := lbconfig.CheckRegex(pattern); err != nil {
		b.problems.add(rt.Source, "spec.rules", "InvalidPath",
			"%s path on %s, which another Ingress puts in regex mode (%s or %s): %v; it is matched as written (%s), not as a pattern",
			rt.Match, describeHost(vh.Hostname), AnnotationUseRegex, AnnotationRewriteTarget, err, rt.Match)
		return
	}
	rt.Path, rt.Match = pattern, lbconfig.MatchRegex
	if ri := b.regex[rt.Source]; ri.rewrite != "" && ri.rewrite != path {
		rt.Rewrite = &lbconfig.Rewrite{Path: ri.rewrite}
	}
}

// readRegexPaths reads ingress-nginx's use-regex and rewrite-target into
// ours. A use-regex that is not a boolean is false, as in ingress-nginx;
// a rewrite-target goes as it is, and one that cannot be read refuses the
// Ingress (readRegex).
func (r *nginxReader) readRegexPaths() {
	const useRegex, target = "use-regex", "rewrite-target"
	if v, ok := r.get(useRegex); ok && r.free(useRegex, AnnotationUseRegex) {
		if on, err := strconv.ParseBool(v); err != nil {
			r.invalid(useRegex, "%q is not true or false; paths are matched as written", v)
		} else {
			r.out[AnnotationUseRegex] = strconv.FormatBool(on)
		}
	}
	if v, ok := r.get(target); ok && r.free(target, AnnotationRewriteTarget) {
		r.out[AnnotationRewriteTarget] = v
	}
}
