package translate

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"ingress-controller/internal/clip"
	"ingress-controller/pkg/lbconfig"
)

// Backend policy annotations, read per Ingress and applied to every backend
// its paths and default backend use. docs/annotations.md documents each.
const (
	AnnotationAffinity               = AnnotationPrefix + "affinity"
	AnnotationAffinityCookieName     = AnnotationPrefix + "affinity-cookie-name"
	AnnotationAffinityCookieMaxAge   = AnnotationPrefix + "affinity-cookie-max-age"
	AnnotationAffinityCookiePath     = AnnotationPrefix + "affinity-cookie-path"
	AnnotationAffinityCookieSameSite = AnnotationPrefix + "affinity-cookie-samesite"
	AnnotationLoadBalance            = AnnotationPrefix + "load-balance"
	AnnotationConnectTimeout         = AnnotationPrefix + "connect-timeout"
	AnnotationResponseTimeout        = AnnotationPrefix + "response-timeout"
	AnnotationIdleTimeout            = AnnotationPrefix + "idle-timeout"
	AnnotationRetries                = AnnotationPrefix + "retries"
	AnnotationHealthFailures         = AnnotationPrefix + "passive-health-failures"
	AnnotationHealthEjection         = AnnotationPrefix + "passive-health-ejection"
	AnnotationMaxBodySize            = AnnotationPrefix + "max-body-size"
	AnnotationBackendProtocol        = AnnotationPrefix + "backend-protocol"
)

// Policy defaults.
const (
	// DefaultRetries: an idempotent request whose endpoint refuses the
	// connection is tried on up to two others, as ingress-nginx does.
	DefaultRetries = 2
	// DefaultAffinityCookie is the cookie name of cookie affinity, the
	// one ingress-nginx users know.
	DefaultAffinityCookie = "INGRESSCOOKIE"
	// defaultEjection is the first ejection of passive health checks;
	// later ones double, up to maxEjectionFactor times it.
	defaultEjection   = 10 * time.Second
	maxEjectionFactor = 8
	maxDuration       = 24 * time.Hour
	maxRetries        = 10
	// maxCookieAge is the longest lifetime browsers give a cookie
	// (RFC 6265bis caps Max-Age at 400 days).
	maxCookieAge = 400 * 24 * time.Hour
)

// DefaultPolicy is the policy of a backend whose Ingress sets no policy
// annotation.
func DefaultPolicy() lbconfig.Policy { return lbconfig.Policy{Retries: DefaultRetries} }

// ingressPolicy is the backend policy an Ingress asks for; custom is set
// when any policy annotation took effect, which gives its backends names
// of their own.
type ingressPolicy struct {
	policy lbconfig.Policy
	// protocol is what the backends speak; "" is HTTP/1.1.
	protocol lbconfig.BackendProtocol
	// tls is how HTTPS and GRPCS backends are spoken to (backendtls.go).
	tls    *lbconfig.BackendTLS
	custom bool
}

// policyOf reads the policy annotations of an object (an Ingress, or a
// Service exposed over TCP). An annotation that does not parse is reported
// and ignored: the default holds for it alone.
func (b *builder) policyOf(annotations map[string]string, ref lbconfig.ObjectRef) ingressPolicy {
	p := ingressPolicy{policy: DefaultPolicy()}
	a := annotationReader{b: b, annotations: annotations, ref: ref, custom: &p.custom}
	pol := &p.policy

	if v, ok := a.get(AnnotationLoadBalance); ok {
		switch alg := lbconfig.Algorithm(v); alg {
		case lbconfig.RoundRobin, lbconfig.LeastRequest, lbconfig.Random:
			pol.Algorithm = alg
			a.took()
		default:
			a.invalid(AnnotationLoadBalance, "%q is not round_robin, least_request or random; round_robin is used", v)
		}
	}
	switch v, _ := a.get(AnnotationAffinity); v {
	case "":
	case "cookie":
		pol.Affinity = &lbconfig.Affinity{Type: lbconfig.AffinityByCookie, Cookie: a.cookie()}
		a.took()
	case "source-ip":
		pol.Affinity = &lbconfig.Affinity{Type: lbconfig.AffinityBySourceIP}
		a.took()
	default:
		a.invalid(AnnotationAffinity, "%q is not cookie or source-ip; no affinity is used", v)
	}
	a.hashOf(pol)
	if pol.Affinity == nil || pol.Affinity.Type != lbconfig.AffinityByCookie {
		for _, k := range []string{AnnotationAffinityCookieName, AnnotationAffinityCookieMaxAge, AnnotationAffinityCookiePath, AnnotationAffinityCookieSameSite} {
			if _, ok := annotations[k]; ok {
				a.invalid(k, "only applies with %s: cookie; ignored", AnnotationAffinity)
			}
		}
	}
	pol.Timeouts.Connect = a.duration(AnnotationConnectTimeout)
	pol.Timeouts.ResponseHeader = a.duration(AnnotationResponseTimeout)
	pol.Timeouts.Idle = a.duration(AnnotationIdleTimeout)
	pol.Timeouts.Send = a.duration(AnnotationSendTimeout)
	if v, ok := a.get(AnnotationRetries); ok {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 && n <= maxRetries {
			pol.Retries = int32(n)
			a.took()
		} else {
			a.invalid(AnnotationRetries, "%q is not a whole number from 0 to %d; %d is used", v, maxRetries, DefaultRetries)
		}
	}
	if v, ok := a.get(AnnotationHealthFailures); ok {
		if n, err := strconv.Atoi(v); err == nil && n >= 1 && n <= 100 {
			base := orDuration(a.duration(AnnotationHealthEjection), lbconfig.Duration(defaultEjection))
			pol.PassiveHealthCheck = &lbconfig.PassiveHealthCheck{
				ConsecutiveFailures: int32(n),
				BaseEjection:        base,
				MaxEjection:         base * maxEjectionFactor,
			}
			a.took()
		} else {
			a.invalid(AnnotationHealthFailures, "%q is not a whole number from 1 to 100; no passive health checks", v)
		}
	} else if _, ok := annotations[AnnotationHealthEjection]; ok {
		a.invalid(AnnotationHealthEjection, "only applies with %s; ignored", AnnotationHealthFailures)
	}
	if v, ok := a.get(AnnotationBackendProtocol); ok {
		switch proto := lbconfig.BackendProtocol(strings.ToUpper(v)); proto {
		case lbconfig.BackendHTTP:
		case lbconfig.BackendHTTPS, lbconfig.BackendH2C, lbconfig.BackendGRPC, lbconfig.BackendGRPCS:
			p.protocol = proto
			a.took()
		default:
			a.invalid(AnnotationBackendProtocol, "%q is not HTTP, HTTPS, H2C, GRPC or GRPCS; HTTP is used", v)
		}
	}
	if v, ok := a.get(AnnotationMaxBodySize); ok {
		if n, err := parseSize(v); err == nil {
			pol.MaxRequestBodyBytes = n
			a.took()
		} else {
			a.invalid(AnnotationMaxBodySize, "%v; request bodies are not limited", err)
		}
	}
	return p
}

func orDuration(d, def lbconfig.Duration) lbconfig.Duration {
	if d == 0 {
		return def
	}
	return d
}

// annotationReader reads one Ingress's annotations, reporting bad values
// as InvalidAnnotation problems on the annotation's field.
type annotationReader struct {
	b           *builder
	annotations map[string]string
	ref         lbconfig.ObjectRef
	custom      *bool
}

func (a annotationReader) get(key string) (string, bool) {
	v, ok := a.annotations[key]
	return strings.TrimSpace(v), ok
}

// took records that an annotation changed the policy.
func (a annotationReader) took() { *a.custom = true }

func (a annotationReader) invalid(key, format string, args ...any) {
	a.b.problems.add(a.ref, "metadata.annotations["+key+"]", "InvalidAnnotation", format, args...)
}

// duration reads a positive duration up to 24h: Go syntax ("1m30s") or
// whole seconds ("90"). Zero means unset or invalid.
func (a annotationReader) duration(key string) lbconfig.Duration {
	return a.durationUpTo(key, maxDuration, "24h")
}

// durationUpTo reads a positive duration up to max, which reads maxText.
func (a annotationReader) durationUpTo(key string, max time.Duration, maxText string) lbconfig.Duration {
	v, ok := a.get(key)
	if !ok {
		return 0
	}
	d, err := parseDurationUpTo(v, max, maxText)
	if err != nil {
		a.invalid(key, "%v; the default is used", err)
		return 0
	}
	a.took()
	return lbconfig.Duration(d)
}

func parseDuration(v string) (time.Duration, error) {
	return parseDurationUpTo(v, maxDuration, "24h")
}

func parseDurationUpTo(v string, max time.Duration, maxText string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.ParseInt(v, 10, 64)
		if nerr != nil || n > int64(max/time.Second) {
			return 0, fmt.Errorf("%q is not a duration such as 30s, 1m30s or 90 (seconds)", clip.Value(v))
		}
		d = time.Duration(n) * time.Second
	}
	if d <= 0 || d > max {
		return 0, fmt.Errorf("%q is not between 0 and %s", clip.Value(v), maxText)
	}
	return d, nil
}

// cookie reads the affinity cookie annotations; bad values fall back to
// the defaults one by one.
func (a annotationReader) cookie() *lbconfig.AffinityCookie {
	c := &lbconfig.AffinityCookie{Name: DefaultAffinityCookie}
	if v, ok := a.get(AnnotationAffinityCookieName); ok {
		if err := lbconfig.CheckCookieName(v); err != nil {
			a.invalid(AnnotationAffinityCookieName, "%v; %s is used", err, DefaultAffinityCookie)
		} else {
			c.Name = v
		}
	}
	if d := a.durationUpTo(AnnotationAffinityCookieMaxAge, maxCookieAge, "9600h (400 days)"); d > 0 {
		c.MaxAge = d
	}
	if v, ok := a.get(AnnotationAffinityCookiePath); ok {
		if err := lbconfig.CheckCookiePath(v); err != nil {
			a.invalid(AnnotationAffinityCookiePath, "%v; / is used", err)
		} else {
			c.Path = v
		}
	}
	if v, ok := a.get(AnnotationAffinityCookieSameSite); ok {
		switch strings.ToLower(v) {
		case "lax":
			c.SameSite = "Lax"
		case "strict":
			c.SameSite = "Strict"
		case "none":
			c.SameSite = "None"
		default:
			a.invalid(AnnotationAffinityCookieSameSite, "%q is not Lax, Strict or None; the attribute is left out", v)
		}
	}
	return c
}

// parseSize reads a byte size: a whole number of bytes, or one with a
// binary suffix k, m or g (as nginx's client_max_body_size, any case) or
// Ki, Mi or Gi (as Kubernetes quantities). "0" means no limit.
func parseSize(v string) (int64, error) {
	num, mult := v, int64(1)
	for _, s := range []struct {
		suffix string
		mult   int64
	}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"k", 1 << 10}, {"K", 1 << 10}, {"m", 1 << 20}, {"M", 1 << 20}, {"g", 1 << 30}, {"G", 1 << 30}} {
		if n, ok := strings.CutSuffix(v, s.suffix); ok {
			num, mult = n, s.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("%q is not a size such as 8m, 512Ki or 1048576 (bytes), up to 1Ti", clip.Value(v))
	}
	return n * mult, nil
}
