package translate

import (
	"reflect"

	"ingress-controller/pkg/lbconfig"
)

// ingress-nginx's affinity-canary-behavior, read on the canary Ingress:
// "sticky", the default (and what any value but "legacy" means), gives
// the canary's backends the main Ingress's cookie affinity and keeps a
// client whose affinity cookie names the canary (or the main backend) on
// it, whatever the canary's weight, even 0. Here the main route then
// splits over both backends, with the canary's weight (0 without one),
// and its backends are sticky (lbconfig.Route.StickyBackends). Where the
// provider cannot keep a client so (Options.StickyCanaryIgnored), the
// canary still gets the main Ingress's affinity but the canary rules
// are checked on every request, as with "legacy", with a problem.
//
// As in ingress-nginx, "legacy" leaves the canary its own affinity and
// nothing sticks; unlike it, a client whose cookie names the main
// backend is not kept there either, and with sticky a header or cookie
// canary rule still wins over a client's affinity.

// readCanaryBehavior reads affinity-canary-behavior into r.legacyCanary.
func (r *nginxReader) readCanaryBehavior() {
	const name = "affinity-canary-behavior"
	switch v, ok := r.get(name); {
	case !ok, v == "sticky":
	case v == "legacy":
		r.legacyCanary = true
	default:
		r.invalid(name, "%q is not sticky or legacy; sticky, the default, holds", v)
	}
}

// stickyCanary gives the policy of canary ref, once, the cookie affinity
// of the main Ingress when spec is sticky, and reports whether the main
// route's backends stick.
func (t *translation) stickyCanary(b *builder, ref, main lbconfig.ObjectRef, spec *canarySpec, original map[string]string) bool {
	mp, ok := b.policies[main]
	if spec.legacy || !ok || mp.policy.Affinity == nil || mp.policy.Affinity.Type != lbconfig.AffinityByCookie {
		return false
	}
	if !spec.affinityCopied {
		spec.affinityCopied = true
		p := b.policies[ref]
		if own := p.policy.Affinity; own != nil && !reflect.DeepEqual(own, mp.policy.Affinity) {
			field := annotationField(AnnotationAffinity)
			if _, set := original[NginxAnnotationPrefix+"affinity"]; set {
				field = nginxField("affinity")
			}
			t.problems.add(ref, field, "IgnoredAnnotation",
				"with affinity-canary-behavior sticky (the default) the main Ingress's affinity holds for the canary, as in ingress-nginx; set it to legacy to keep this one")
		}
		a := *mp.policy.Affinity
		if a.Cookie != nil {
			c := *a.Cookie
			a.Cookie = &c
		}
		p.policy.Affinity, p.policy.Hash, p.custom = &a, nil, true
		b.policies[ref] = p
	}
	if why := t.opts.StickyCanaryIgnored; why != "" {
		t.problems.add(ref, nginxField("affinity-canary-behavior"), "UnsupportedAnnotation",
			"sticky (the default): a client whose affinity cookie names the canary is not kept on it (%s): the canary rules are checked on every request, as with legacy", why)
		return false
	}
	return true
}
