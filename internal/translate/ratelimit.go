package translate

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"ingress-controller/internal/clip"
	"ingress-controller/pkg/lbconfig"
)

// Rate limit annotations on an Ingress, with ingress-nginx's semantics:
// counted per client address (the connection's, never a header), per
// replica, in one zone per Ingress that all its routes share. A value that
// does not parse gets an InvalidAnnotation problem and only that
// annotation is ignored: a limit left out, or the default burst, status
// code or no exemption, so that a bad exemption never lifts a limit.
const (
	// AnnotationLimitRPS is the requests per second of one client
	// address; 0 is no limit.
	AnnotationLimitRPS = AnnotationPrefix + "limit-rps"
	// AnnotationLimitRPM is the requests per minute of one client
	// address; 0 is no limit.
	AnnotationLimitRPM = AnnotationPrefix + "limit-rpm"
	// AnnotationLimitConnections is the requests in progress at once of
	// one client address; 0 is no limit.
	AnnotationLimitConnections = AnnotationPrefix + "limit-connections"
	// AnnotationLimitBurstMultiplier sets the burst of each rate: the rate
	// times this (DefaultLimitBurstMultiplier) requests more at once.
	AnnotationLimitBurstMultiplier = AnnotationPrefix + "limit-burst-multiplier"
	// AnnotationLimitExemptSourceRange lists the client ranges that are
	// not limited, as the source-range annotations write them.
	AnnotationLimitExemptSourceRange = AnnotationPrefix + "limit-exempt-source-range"
	// AnnotationLimitStatusCode answers the requests over a limit
	// (DefaultLimitStatusCode).
	AnnotationLimitStatusCode = AnnotationPrefix + "limit-status-code"
)

// Defaults of the rate limit annotations, ingress-nginx's.
const (
	DefaultLimitBurstMultiplier = 5
	DefaultLimitStatusCode      = 503
)

// rateLimitOf reads the rate limit of the Ingress ref, reporting its
// problems.
func (b *builder) rateLimitOf(ing *networkingv1.Ingress, ref lbconfig.ObjectRef) *lbconfig.RateLimit {
	rl := readRateLimit(ing.Annotations, ref.Namespace+"/"+ref.Name, func(key, format string, args ...any) {
		b.problems.add(ref, annotationField(key), "InvalidAnnotation", format, args...)
	})
	b.reportUnlimited(ing, ref, rl)
	return rl
}

// readRateLimit reads the rate limit annotations into a RateLimit of the
// zone named zone, or nil when they set no limit; invalid reports each
// value that does not parse.
func readRateLimit(annotations map[string]string, zone string, invalid func(key, format string, args ...any)) *lbconfig.RateLimit {
	count := func(key, what string) int32 {
		v, ok := annotations[key]
		if !ok {
			return 0
		}
		n, err := parseLimit(v, lbconfig.MaxRateLimit)
		if err != nil {
			invalid(key, "%v; %s are not limited", err, what)
			return 0
		}
		return n
	}
	rps := count(AnnotationLimitRPS, "requests per second")
	rpm := count(AnnotationLimitRPM, "requests per minute")
	conns := count(AnnotationLimitConnections, "requests in progress")
	if rps == 0 && rpm == 0 && conns == 0 {
		for _, key := range []string{AnnotationLimitBurstMultiplier, AnnotationLimitExemptSourceRange, AnnotationLimitStatusCode} {
			if _, ok := annotations[key]; ok {
				invalid(key, "only applies with %s, %s or %s; ignored", AnnotationLimitRPS, AnnotationLimitRPM, AnnotationLimitConnections)
			}
		}
		return nil
	}
	rl := &lbconfig.RateLimit{Zone: zone, Concurrent: conns, StatusCode: DefaultLimitStatusCode}
	multiplier := int32(DefaultLimitBurstMultiplier)
	if v, ok := annotations[AnnotationLimitBurstMultiplier]; ok {
		if n, err := parseLimit(v, lbconfig.MaxRateLimit); err != nil {
			invalid(AnnotationLimitBurstMultiplier, "%v; %d is used", err, DefaultLimitBurstMultiplier)
		} else {
			multiplier = n
		}
	}
	rate := func(n int32) *lbconfig.Rate {
		if n == 0 {
			return nil
		}
		// Both at most MaxRateLimit: no overflow in 64 bits.
		return &lbconfig.Rate{Requests: n, Burst: int32(min(int64(n)*int64(multiplier), lbconfig.MaxRateLimit))}
	}
	rl.PerSecond, rl.PerMinute = rate(rps), rate(rpm)
	if v, ok := annotations[AnnotationLimitExemptSourceRange]; ok {
		if ranges, err := parseSourceRanges(v); err != nil {
			invalid(AnnotationLimitExemptSourceRange, "%v; no client is exempt", err)
		} else {
			rl.Exempt = ranges
		}
	}
	if v, ok := annotations[AnnotationLimitStatusCode]; ok {
		if n, err := strconv.Atoi(v); err != nil || n < 400 || n > 599 || v != strconv.Itoa(n) {
			invalid(AnnotationLimitStatusCode, "%q is not a status code from 400 to 599; %d is used", clip.Value(v), DefaultLimitStatusCode)
		} else {
			rl.StatusCode = int32(n)
		}
	}
	return rl
}

// parseLimit reads a whole number from 0 to max, spaces around it
// allowed, as ingress-nginx's integer annotations.
func parseLimit(v string, max int32) (int32, error) {
	s := strings.TrimSpace(v)
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil || n < 0 || n > int64(max) || s != strconv.FormatInt(n, 10) {
		return 0, fmt.Errorf("%q is not a whole number from 0 to %d", clip.Value(v), max)
	}
	return int32(n), nil
}

// withRateLimit gives route a copy of rl, so that no two routes share
// what Sort puts in order.
func withRateLimit(route *lbconfig.Route, rl *lbconfig.RateLimit) {
	if rl == nil {
		return
	}
	c := *rl
	c.Exempt = slices.Clone(rl.Exempt)
	if rl.PerSecond != nil {
		r := *rl.PerSecond
		c.PerSecond = &r
	}
	if rl.PerMinute != nil {
		r := *rl.PerMinute
		c.PerMinute = &r
	}
	route.RateLimit = &c
}

// reportUnlimited reports what of ing the rate limit rl cannot limit: a
// default backend (not a route) and TLS passed through (not HTTP), both
// served without it.
func (b *builder) reportUnlimited(ing *networkingv1.Ingress, ref lbconfig.ObjectRef, rl *lbconfig.RateLimit) {
	if rl == nil {
		return
	}
	if ing.Spec.DefaultBackend != nil {
		b.problems.add(ref, "spec.defaultBackend", "UnlimitedDefaultBackend",
			"a default backend is not rate limited (the rate limit annotations apply to the rule paths); give it a rule path to limit it")
	}
	if v, ok := ing.Annotations[AnnotationSSLPassthrough]; ok {
		if on, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil && on {
			b.problems.add(ref, annotationField(AnnotationSSLPassthrough), "UnlimitedPassthrough",
				"TLS passed through is not rate limited: the limits count HTTP requests")
		}
	}
}

// readRateLimits reads ingress-nginx's limit-rps, limit-rpm,
// limit-connections, limit-burst-multiplier and limit-allowlist (or its
// older name limit-whitelist, which it wins over) into ours, which have
// the same semantics (the same defaults: a burst of 5 times the rate,
// 503). A value that does not parse is ignored as ingress-nginx ignores
// it, except an exemption: ingress-nginx then drops every limit of the
// Ingress, here the limits hold for every client.
func (r *nginxReader) readRateLimits() {
	for _, m := range []struct{ name, ours, otherwise string }{
		{"limit-rps", AnnotationLimitRPS, "requests per second are not limited"},
		{"limit-rpm", AnnotationLimitRPM, "requests per minute are not limited"},
		{"limit-connections", AnnotationLimitConnections, "connections are not limited"},
		{"limit-burst-multiplier", AnnotationLimitBurstMultiplier, "5 is used"},
	} {
		v, ok := r.get(m.name)
		if !ok || !r.free(m.name, m.ours) {
			continue
		}
		if n, err := parseLimit(v, lbconfig.MaxRateLimit); err != nil {
			r.invalid(m.name, "%v; %s", err, m.otherwise)
		} else {
			r.out[m.ours] = strconv.Itoa(int(n))
		}
	}
	const allow, white = "limit-allowlist", "limit-whitelist"
	name := white
	if _, ok := r.in[NginxAnnotationPrefix+allow]; ok {
		if _, both := r.get(white); both {
			r.problem(white, "OverriddenAnnotation", "%s%s is also set and wins; this annotation is ignored", NginxAnnotationPrefix, allow)
		}
		name = allow
	}
	v, ok := r.get(name)
	if !ok || !r.free(name, AnnotationLimitExemptSourceRange) {
		return
	}
	ranges, err := parseSourceRanges(v)
	if err != nil {
		r.invalid(name, "%v; no client is exempt from the rate limits (ingress-nginx would drop them all)", err)
		return
	}
	texts := make([]string, len(ranges))
	for i, p := range ranges {
		texts[i] = p.String()
	}
	r.out[AnnotationLimitExemptSourceRange] = strings.Join(texts, ",")
}
