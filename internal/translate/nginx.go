package translate

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	networkingv1 "k8s.io/api/networking/v1"

	"ingress-controller/internal/clip"
	"ingress-controller/pkg/lbconfig"
)

// ingress-nginx compatibility. With Options.NginxCompat the Ingresses of
// the nginx class are ours too (class.go), and readNginx reads their
// NginxAnnotationPrefix annotations with ingress-nginx's semantics before
// they are translated like any other:
//
//   - An annotation with an equivalent here becomes that annotation of
//     ours, on a copy of the Ingress, in a value our parser accepts. Where
//     the Ingress sets ours too, ours wins and the nginx annotation gets an
//     OverriddenAnnotation problem.
//   - Where ingress-nginx's default differs from ours and matters, it is
//     applied: request bodies are limited to 1m.
//   - An Ingress is refused, not translated at all, when it carries a
//     snippet (never run here, and it may hold access control), a
//     protection that cannot be honoured here (digest authentication,
//     external authentication with nginx variables not expanded here or
//     a ConfigMap of fields, client certificates, satisfy, a WAF, backend
//     certificate verification without the Secret of its CA, a source
//     range that does not parse), or what would be served wrong (a
//     backend protocol other than HTTP, HTTPS, GRPC and GRPCS). Each such
//     annotation gets a RefusedAnnotation problem; other Ingresses, on
//     the same hosts too, are served as if it did not exist, except that
//     its paths no served Ingress claims answer 503 instead of falling
//     through to theirs (addRefused in group.go).
//   - Every other annotation under the prefix is served without, with an
//     UnsupportedAnnotation problem. A value that does not parse gets an
//     InvalidAnnotation problem and ingress-nginx's default holds, except
//     for a protection, where the Ingress is refused.
//
// docs/migrate-from-ingress-nginx.md lists every annotation and what
// becomes of it.

// nginxDefaultBodySize is ingress-nginx's proxy-body-size default.
const nginxDefaultBodySize = 1 << 20

// maxNginxUnsupported bounds the UnsupportedAnnotation problems of one
// Ingress; one more problem counts the rest.
const maxNginxUnsupported = 20

// nginxCookieAnnotations are read only with cookie affinity.
var nginxCookieAnnotations = []string{
	"session-cookie-name", "session-cookie-max-age", "session-cookie-expires",
	"session-cookie-path", "session-cookie-samesite",
}

// readNginx returns ing, an Ingress of the nginx class, with its ingress-nginx
// annotations read into ours, and what it asks for as a canary (canary.go)
// or nil, or false when it must not be served. ing is not modified: the
// result is a copy with annotations of its own.
func readNginx(ing *networkingv1.Ingress, inputs nginxInputs, ps *problems) (*networkingv1.Ingress, *canarySpec, bool) {
	r := &nginxReader{
		ref:    ingressRef(ing),
		in:     ing.Annotations,
		out:    maps.Clone(ing.Annotations),
		ps:     ps,
		read:   map[string]bool{},
		inputs: inputs,
	}
	if r.out == nil {
		r.out = map[string]string{}
	}
	var names []string
	for key := range ing.Annotations {
		if name, ok := strings.CutPrefix(key, NginxAnnotationPrefix); ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	refused := false
	for _, name := range names {
		if r.refuses(name) {
			refused = true
		}
	}
	if refused {
		return nil, nil, false
	}
	spec := r.readCanary()
	if spec != nil {
		// The rest is ignored on a canary (reportIgnored) but its
		// backends' balancing.
		names = slices.DeleteFunc(names, func(n string) bool { return !keptOnCanary(n) })
	}
	r.readRedirects(ing)
	r.readHostRedirects()
	r.readSourceRanges()
	r.readBasicAuth()
	r.readExtAuth()
	r.readBackendProtocol()
	if spec == nil {
		r.readProxySSL()      // backendtls.go; a canary's are its main Ingress's
		r.readCustomHeaders() // customheaders.go
	}
	r.readLimits()
	r.readSendTimeout()
	r.readRateLimits()
	r.readAffinity()
	if spec != nil {
		spec.legacy = r.legacyCanary
	}
	r.readHeaders()
	r.readRegexPaths()
	r.readErrorPages()
	r.reportUnsupported(names)
	c := *ing
	c.Annotations = r.out
	return &c, spec, true
}

// nginxReader reads the ingress-nginx annotations of one Ingress. Names
// are without NginxAnnotationPrefix.
type nginxReader struct {
	ref lbconfig.ObjectRef
	// in are the Ingress's annotations; out are in plus ours as the nginx
	// ones set them.
	in, out map[string]string
	ps      *problems
	// read holds the names read, so that the rest can be reported as
	// unsupported.
	read map[string]bool
	// inputs are the ConfigMaps and options read by some annotations.
	inputs       nginxInputs // legacyCanary is affinity-canary-behavior: legacy (stickycanary.go).
	legacyCanary bool
}

// get reads an annotation, without surrounding spaces, and marks it read.
func (r *nginxReader) get(name string) (string, bool) {
	v, ok := r.in[NginxAnnotationPrefix+name]
	if ok {
		r.read[name] = true
	}
	return strings.TrimSpace(v), ok
}

func (r *nginxReader) problem(name, reason, format string, args ...any) {
	r.ps.add(r.ref, nginxField(name), reason, format, args...)
}

func (r *nginxReader) invalid(name, format string, args ...any) {
	r.problem(name, "InvalidAnnotation", format, args...)
}

func (r *nginxReader) unsupported(name, format string, args ...any) {
	r.problem(name, "UnsupportedAnnotation", format, args...)
}

func (r *nginxReader) refuse(name, format string, args ...any) {
	r.problem(name, "RefusedAnnotation", format+"; this Ingress is not served", args...)
}

// free reports whether the Ingress leaves ours to nginx annotation name;
// if not, ours wins, which is reported on name.
func (r *nginxReader) free(name, ours string) bool {
	if _, set := r.in[ours]; set {
		r.problem(name, "OverriddenAnnotation", "%s is also set and wins; this annotation is ignored", ours)
		return false
	}
	return true
}

// nginxField is the field of an annotation. A name that is not plain
// ASCII (possible in manifests, which the API server did not check) is
// quoted in ASCII, so that the field is one printable line.
func nginxField(name string) string {
	key := NginxAnnotationPrefix + name
	for i := 0; i < len(key); i++ {
		if key[i] <= ' ' || key[i] >= 0x7f || key[i] == ']' {
			return annotationField(clip.Value(strconv.QuoteToASCII(key)))
		}
	}
	return annotationField(clip.Value(key))
}

// refuses reports, and says whether, annotation name keeps the Ingress from
// being served. The protections that are off (enable-global-auth: "false",
// ...) are honoured: read, with nothing to do. Source ranges that parse
// are left to readSourceRanges.
//
// Annotation names are case-sensitive, so ingress-nginx ignores
// "Auth-URL"; but whoever wrote it meant a protection, and it is refused
// rather than quietly served open.
func (r *nginxReader) refuses(name string) bool {
	lower := strings.ToLower(name)
	if name != lower && isNginxProtection(lower) {
		r.refuse(name, "this names a protection (%q), which ingress-nginx reads only in lower case; spell it so, or remove it", lower)
		return true
	}
	v := strings.TrimSpace(r.in[NginxAnnotationPrefix+name])
	honoured := func() bool { r.read[name] = true; return false }
	switch {
	case strings.HasSuffix(name, "-snippet"):
		r.refuse(name, "snippets are nginx configuration, which is never run here, and may hold access control")
	case name == "auth-type":
		switch v {
		case "basic":
			return false // readBasicAuth reads it
		case "digest":
			r.refuse(name, "digest authentication is not supported here, only basic, and serving the app without it would open it")
		default:
			r.refuse(name, "%q is not basic or digest, so ingress-nginx denies every request", v)
		}
	case name == "auth-secret" || name == "auth-secret-type" || name == "auth-realm":
		return false // readBasicAuth reads it
	case nginxExtAuthNames[name]:
		return r.refusesExtAuth(name, v) // extauth.go
	case strings.HasPrefix(name, "auth-tls-"):
		r.refuse(name, "client certificate authentication is not supported here, and serving the app without it would open it")
	case strings.HasPrefix(name, "auth-"):
		r.refuse(name, "authentication is not supported here, and serving the app without it would open it")
	case name == "enable-global-auth":
		on, err := strconv.ParseBool(v)
		switch {
		case err != nil:
			r.refuse(name, "%q is not true or false, which ingress-nginx reads as true: the ConfigMap's global external authentication, which is not supported here", v)
		case on:
			r.refuse(name, "global external authentication (the ConfigMap's global-auth-url) is not supported here")
		default:
			return honoured() // no global authentication, as here
		}
	case name == "whitelist-source-range" || name == "allowlist-source-range" || name == "denylist-source-range":
		if _, err := parseSourceRanges(v); err != nil {
			r.refuse(name, "%v, so ingress-nginx denies every request", err)
			return true
		}
		return false // readSourceRanges reads it
	case name == "satisfy":
		r.refuse(name, "satisfy combines authentication and source ranges, which are not supported here")
	case name == "enable-modsecurity" || name == "enable-owasp-core-rules":
		if on, err := strconv.ParseBool(v); err == nil && !on {
			return honoured()
		}
		r.refuse(name, "the ModSecurity web application firewall is not supported here")
	case strings.HasPrefix(name, "modsecurity-"):
		r.refuse(name, "the ModSecurity web application firewall is not supported here")
	case name == "proxy-ssl-verify":
		return r.refusesProxySSLVerify(name, v) // backendtls.go
	case name == "backend-protocol":
		if _, ours := r.in[AnnotationBackendProtocol]; ours {
			return false // readBackendProtocol reports that ours wins
		}
		switch strings.ToUpper(v) {
		case "HTTP", "HTTPS", "GRPC", "GRPCS":
			return false
		case "FCGI":
			r.refuse(name, "FastCGI backends are not supported here, and serving them as HTTP would be wrong")
		case "AUTO_HTTP":
			r.refuse(name, "AUTO_HTTP (the client's scheme to the backend) is not supported here")
		default:
			r.refuse(name, "%q is not HTTP, HTTPS, GRPC, GRPCS, AUTO_HTTP or FCGI, so what the backends speak is unknown", v)
		}
	default:
		return false
	}
	return true
}

// isNginxProtection reports whether name (lower case) is an annotation
// that protects the app.
func isNginxProtection(name string) bool {
	switch name {
	case "enable-global-auth", "whitelist-source-range", "allowlist-source-range", "denylist-source-range",
		"satisfy", "enable-modsecurity", "enable-owasp-core-rules", "proxy-ssl-verify":
		return true
	}
	return strings.HasSuffix(name, "-snippet") || strings.HasPrefix(name, "auth-") || strings.HasPrefix(name, "modsecurity-")
}

// allowsEveryAddress reports whether ranges hold every IPv4 and every IPv6
// address: no restriction at all.
func allowsEveryAddress(ranges []netip.Prefix) bool {
	var v4, v6 bool
	for _, p := range ranges {
		if p.Bits() == 0 {
			v4 = v4 || p.Addr().Is4()
			v6 = v6 || p.Addr().Is6()
		}
	}
	return v4 && v6
}

// readSourceRanges reads allowlist-source-range (or its older name
// whitelist-source-range, which it wins over, as in ingress-nginx) and
// denylist-source-range into our source ranges; refuses took the values
// that do not parse. A list of every address is no restriction, as
// cert-manager's HTTP-01 solvers ask, and sets nothing.
func (r *nginxReader) readSourceRanges() {
	const allow, white, deny = "allowlist-source-range", "whitelist-source-range", "denylist-source-range"
	read := func(name, ours string) {
		v, ok := r.get(name)
		if !ok || !r.free(name, ours) {
			return
		}
		ranges, err := parseSourceRanges(v)
		if err != nil || (ours == AnnotationAllowSourceRange && allowsEveryAddress(ranges)) {
			return
		}
		texts := make([]string, len(ranges))
		for i, p := range ranges {
			texts[i] = p.String()
		}
		r.out[ours] = strings.Join(texts, ",")
	}
	if _, ok := r.in[NginxAnnotationPrefix+allow]; ok {
		if _, both := r.get(white); both {
			r.problem(white, "OverriddenAnnotation", "%s%s is also set and wins; this annotation is ignored", NginxAnnotationPrefix, allow)
		}
		read(allow, AnnotationAllowSourceRange)
	} else {
		read(white, AnnotationAllowSourceRange)
	}
	read(deny, AnnotationDenySourceRange)
}

// readBasicAuth reads auth-type: basic (refuses took the other types),
// auth-secret, auth-secret-type and auth-realm into ours, which check them
// against the Secret; a missing auth-realm leaves ours at its default
// where ingress-nginx sends an empty realm. Without auth-type ingress-nginx
// asks for no credentials, and neither is anything asked here.
func (r *nginxReader) readBasicAuth() {
	names := map[string]string{
		"auth-type": AnnotationAuthType, "auth-secret": AnnotationAuthSecret,
		"auth-secret-type": AnnotationAuthSecretType, "auth-realm": AnnotationAuthRealm,
	}
	_, on := r.in[NginxAnnotationPrefix+"auth-type"]
	oursSet := false
	for _, ours := range basicAuthAnnotations {
		_, set := r.in[ours]
		oursSet = oursSet || set
	}
	for _, name := range slices.Sorted(maps.Keys(names)) {
		v, ok := r.get(name)
		switch {
		case !ok:
		case !on:
			r.problem(name, "IgnoredAnnotation", "without auth-type ingress-nginx asks for no credentials, and neither is anything asked here; set auth-type: basic to protect the app")
		case oursSet:
			r.problem(name, "OverriddenAnnotation", "the Ingress sets %s annotations of ours too, which win; this annotation is ignored", AnnotationAuthType)
		default:
			r.out[names[name]] = v
		}
	}
}

// readRedirects reads ssl-redirect, force-ssl-redirect,
// preserve-trailing-slash and ssl-passthrough.
func (r *nginxReader) readRedirects(ing *networkingv1.Ingress) {
	const redirect, force, slash, passthrough = "ssl-redirect", "force-ssl-redirect", "preserve-trailing-slash", "ssl-passthrough"
	if v, ok := r.get(redirect); ok && r.free(redirect, AnnotationSSLRedirect) {
		if on, err := strconv.ParseBool(v); err != nil {
			r.invalid(redirect, "%q is not true or false; HTTP requests for the TLS hosts are redirected to HTTPS", v)
		} else {
			r.out[AnnotationSSLRedirect] = strconv.FormatBool(on)
		}
	}
	if v, ok := r.get(force); ok && r.free(force, AnnotationSSLRedirect) {
		on, err := strconv.ParseBool(v)
		switch {
		case err != nil:
			r.invalid(force, "%q is not true or false; the redirect is not forced", v)
		case !on:
		case len(ing.Spec.TLS) == 0:
			r.unsupported(force, "without spec.tls this redirects the requests whose TLS was terminated in front of the controller, which it cannot tell from plain HTTP here; HTTP requests are not redirected")
		default:
			r.out[AnnotationSSLRedirect] = "true" // even over ssl-redirect: "false", as in ingress-nginx
			if hosts := hostsWithoutTLS(ing); hosts != "" {
				r.unsupported(force, "HTTP requests for %s, which this Ingress gives no TLS, are not redirected: HTTPS would not serve them", hosts)
			}
		}
	}
	if v, ok := r.get(slash); ok {
		on, err := strconv.ParseBool(v)
		switch {
		case err != nil:
			r.invalid(slash, "%q is not true or false; redirects keep the path as requested", v)
		case !on:
			r.unsupported(slash, "redirects keep the path as requested, with its trailing slash")
		}
	}
	if v, ok := r.get(passthrough); ok && r.free(passthrough, AnnotationSSLPassthrough) {
		if on, err := strconv.ParseBool(v); err != nil {
			r.invalid(passthrough, "%q is not true or false; TLS is terminated as usual", v)
		} else {
			r.out[AnnotationSSLPassthrough] = strconv.FormatBool(on)
		}
	}
}

// hostsWithoutTLS describes the rule hosts of ing that its spec.tls does
// not cover, or returns "".
func hostsWithoutTLS(ing *networkingv1.Ingress) string {
	covered := map[string]bool{}
	for _, t := range ing.Spec.TLS {
		if len(t.Hosts) == 0 {
			return "" // an entry without hosts covers every rule host
		}
		for _, h := range t.Hosts {
			if host, err := normalizeHost(h); err == nil {
				covered[host] = true
			}
		}
	}
	var out []string
	for _, rule := range ing.Spec.Rules {
		host, err := normalizeHost(rule.Host)
		if err != nil || covered[host] || (host != "" && !strings.HasPrefix(host, "*.") && covered[wildcardOf(host)]) {
			continue
		}
		if d := describeHost(host); !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	const shown = 3
	if len(out) > shown {
		return fmt.Sprintf("%s and %d more hosts", strings.Join(out[:shown], ", "), len(out)-shown)
	}
	return strings.Join(out, ", ")
}

// readBackendProtocol reads backend-protocol; refuses took the values
// that keep the Ingress from being served.
func (r *nginxReader) readBackendProtocol() {
	const name = "backend-protocol"
	v, ok := r.get(name)
	if !ok || !r.free(name, AnnotationBackendProtocol) {
		return
	}
	switch proto := strings.ToUpper(v); proto {
	case "HTTPS", "GRPC", "GRPCS":
		r.out[AnnotationBackendProtocol] = proto
	}
}

// readLimits reads the body size, timeout and retry annotations.
func (r *nginxReader) readLimits() {
	const bodySize = "proxy-body-size"
	size := int64(nginxDefaultBodySize)
	if v, ok := r.get(bodySize); ok && r.free(bodySize, AnnotationMaxBodySize) {
		if n, err := parseNginxSize(v); err != nil {
			r.invalid(bodySize, "%v; the default 1m holds", err)
		} else {
			size = n
		}
	}
	if _, ours := r.in[AnnotationMaxBodySize]; !ours {
		r.out[AnnotationMaxBodySize] = strconv.FormatInt(size, 10)
	}

	const connect, read = "proxy-connect-timeout", "proxy-read-timeout"
	if v, ok := r.get(connect); ok && r.free(connect, AnnotationConnectTimeout) {
		if d, ok := r.timeout(connect, v); ok {
			r.out[AnnotationConnectTimeout] = d
		}
	}
	if v, ok := r.get(read); ok {
		r.readReadTimeout(read, v)
	}

	const tries, next = "proxy-next-upstream-tries", "proxy-next-upstream"
	if v, ok := r.get(tries); ok && r.free(tries, AnnotationRetries) {
		// Tries count the first attempt; 0 is no limit.
		if n, err := strconv.Atoi(v); err != nil || n < 0 {
			r.invalid(tries, "%q is not a whole number of tries; 3 (2 retries) are used", v)
		} else {
			retries := maxRetries
			if n > 0 {
				retries = min(n-1, maxRetries)
			}
			r.out[AnnotationRetries] = strconv.Itoa(retries)
		}
	}
	if v, ok := r.get(next); ok {
		r.readNextUpstream(next, v)
	}
}

// readReadTimeout reads proxy-read-timeout: the longest wait between two
// reads from the backend, the first of which is the response head. That is
// our response timeout and our idle timeout, each unless ours is set.
func (r *nginxReader) readReadTimeout(name, v string) {
	var free, set []string
	for _, ours := range []string{AnnotationResponseTimeout, AnnotationIdleTimeout} {
		if _, ok := r.in[ours]; ok {
			set = append(set, ours)
		} else {
			free = append(free, ours)
		}
	}
	switch len(free) {
	case 0:
		r.problem(name, "OverriddenAnnotation", "%s and %s are also set and win; this annotation is ignored", set[0], set[1])
		return
	case 1:
		r.problem(name, "OverriddenAnnotation", "%s is also set and wins; this annotation sets only %s", set[0], free[0])
	}
	if d, ok := r.timeout(name, v); ok {
		for _, ours := range free {
			r.out[ours] = d
		}
	}
}

// readNextUpstream reads proxy-next-upstream: "off" is no retries; here a
// request is retried only when connecting failed, which the default
// "error timeout" is closest to.
func (r *nginxReader) readNextUpstream(name, v string) {
	valid := []string{"error", "timeout", "invalid_header", "http_500", "http_502", "http_503", "http_504",
		"http_403", "http_404", "http_429", "non_idempotent", "off"}
	conditions := strings.Fields(v)
	var other []string
	for _, c := range conditions {
		if !slices.Contains(valid, c) {
			r.invalid(name, "%q is not a list of error, timeout, invalid_header, http_<status>, non_idempotent or off; error timeout is used", v)
			return
		}
		if c != "error" && c != "timeout" && c != "off" {
			other = append(other, c)
		}
	}
	switch {
	case len(conditions) == 0:
		r.invalid(name, "empty; error timeout is used")
	case slices.Contains(conditions, "off"):
		if r.free(name, AnnotationRetries) {
			r.out[AnnotationRetries] = "0"
		}
	case len(other) > 0:
		r.unsupported(name, "requests are retried only when connecting to the backend failed, not on %s", strings.Join(other, " "))
	}
}

// parseNginxSize reads an nginx size: bytes, or a number with k, m or g
// (any case). "0" is no limit.
func parseNginxSize(v string) (int64, error) {
	num, mult := v, int64(1)
	if n := len(v); n > 0 {
		switch v[n-1] {
		case 'k', 'K':
			num, mult = v[:n-1], 1<<10
		case 'm', 'M':
			num, mult = v[:n-1], 1<<20
		case 'g', 'G':
			num, mult = v[:n-1], 1<<30
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<40)/mult || strings.HasPrefix(num, "+") {
		return 0, fmt.Errorf("%q is not a size such as 8m, 512k or 1048576 (bytes), up to 1024g", clip.Value(v))
	}
	return n * mult, nil
}

// timeout reads the whole seconds of a timeout annotation as one of our
// durations. More than 24h, the most we take, is 24h.
func (r *nginxReader) timeout(name, v string) (string, bool) {
	n, err := nginxSeconds(v)
	switch {
	case err != nil:
		r.invalid(name, "%v; the default is used", err)
		return "", false
	case n > maxDuration:
		r.unsupported(name, "%q is more than the 24h (86400) supported here; 24h is used", v)
		n = maxDuration
	}
	return formatSeconds(n), true
}

// nginxSeconds reads a positive whole number of seconds, as ingress-nginx's
// timeouts and cookie ages are.
func nginxSeconds(v string) (time.Duration, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 || n > int64(1<<62/time.Second) || strings.HasPrefix(v, "+") {
		return 0, fmt.Errorf("%q is not a positive whole number of seconds", clip.Value(v))
	}
	return time.Duration(n) * time.Second, nil
}

// formatSeconds writes d as whole seconds, which our durations accept.
func formatSeconds(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }

// readAffinity reads load-balance, affinity, upstream-hash-by and the
// session cookie annotations.
func (r *nginxReader) readAffinity() {
	const lb, affinity, mode, hash = "load-balance", "affinity", "affinity-mode", "upstream-hash-by"
	if v, ok := r.get(lb); ok && r.free(lb, AnnotationLoadBalance) {
		switch v {
		case "round_robin":
			r.out[AnnotationLoadBalance] = string(lbconfig.RoundRobin)
		case "ewma":
			// The closest we have: both steer away from the slow endpoints.
			r.out[AnnotationLoadBalance] = string(lbconfig.LeastRequest)
		case "chash", "chashsubset", "sticky_balanced", "sticky_persistent":
			r.unsupported(lb, "%q is not supported here; round_robin is used", v)
		default:
			r.invalid(lb, "%q is not round_robin, ewma, chash, chashsubset, sticky_balanced or sticky_persistent; round_robin is used", v)
		}
	}
	if v, ok := r.get(affinity); ok && r.free(affinity, AnnotationAffinity) {
		if v == "cookie" {
			r.out[AnnotationAffinity] = "cookie"
		} else {
			r.invalid(affinity, "%q is not cookie; no affinity is used", v)
		}
	}
	// Cookie affinity wins over hashing, as in ingress-nginx.
	if v, ok := r.get(hash); ok && r.out[AnnotationAffinity] != "cookie" {
		r.readHashBy(v)
	}
	r.readCanaryBehavior()
	if v, ok := r.get(mode); ok {
		switch v {
		case "persistent":
		case "balanced":
			r.unsupported(mode, "sessions are not rebalanced when endpoints are added: a client stays on its endpoint until it leaves, as with persistent")
		default:
			r.invalid(mode, "%q is not balanced or persistent; a client stays on its endpoint until it leaves", v)
		}
	}

	cookie := strings.TrimSpace(r.out[AnnotationAffinity]) == "cookie"
	for _, name := range nginxCookieAnnotations {
		if _, ok := r.get(name); !ok || cookie {
			continue
		}
		if ours, set := r.in[AnnotationAffinity]; set {
			r.invalid(name, "only applies with cookie affinity, and %s is %q; ignored", AnnotationAffinity, ours)
		} else {
			r.invalid(name, "only applies with affinity: cookie; ignored")
		}
	}
	if cookie {
		r.readCookie()
	}
}

// readCookie reads the session cookie annotations, each into ours unless
// ours is set.
func (r *nginxReader) readCookie() {
	const name, maxAge, expires, path, sameSite = "session-cookie-name", "session-cookie-max-age", "session-cookie-expires", "session-cookie-path", "session-cookie-samesite"
	if v, ok := r.get(name); ok && r.free(name, AnnotationAffinityCookieName) {
		if err := lbconfig.CheckCookieName(v); err != nil {
			r.invalid(name, "%v; %s is used", err, DefaultAffinityCookie)
		} else {
			r.out[AnnotationAffinityCookieName] = v
		}
	}
	// Max-Age wins over Expires in browsers; both are seconds here.
	for _, n := range []string{expires, maxAge} {
		if v, ok := r.get(n); ok && r.free(n, AnnotationAffinityCookieMaxAge) {
			// Browsers keep a cookie 400 days at most, whatever it asks.
			if d, err := nginxSeconds(v); err != nil {
				r.invalid(n, "%v; ignored", err)
			} else {
				r.out[AnnotationAffinityCookieMaxAge] = formatSeconds(min(d, maxCookieAge))
			}
		}
	}
	if v, ok := r.get(path); ok && r.free(path, AnnotationAffinityCookiePath) {
		if err := lbconfig.CheckCookiePath(v); err != nil {
			r.invalid(path, "%v; / is used", err)
		} else {
			r.out[AnnotationAffinityCookiePath] = v
		}
	}
	if v, ok := r.get(sameSite); ok && r.free(sameSite, AnnotationAffinityCookieSameSite) {
		switch s := strings.ToLower(v); s {
		case "none", "lax", "strict":
			r.out[AnnotationAffinityCookieSameSite] = s
		default:
			r.invalid(sameSite, "%q is not None, Lax or Strict; the attribute is left out", v)
		}
	}
}

// nginxConsequences say what serving without some annotations means, by
// name or, for names ending in "-", by prefix; the first match counts.
var nginxConsequences = []struct{ name, consequence string }{
	{"limit-rate", "responses are not throttled to a bandwidth"},
	{"limit-rate-after", "responses are not throttled to a bandwidth"},
	{"proxy-next-upstream-", "only failed connects are retried"},
	{"canary-", "this Ingress is not a canary"},
	{"upstream-hash-by-", "each key goes to one endpoint, not to a subset of endpoints"},
	{"session-cookie-domain", "the affinity cookie has no Domain attribute"},
	{"session-cookie-secure", "the affinity cookie is Secure on HTTPS (and with SameSite None) only"},
	{"session-cookie-conditional-samesite-none", "SameSite=None is sent to every browser"},
	{"session-cookie-change-on-failure", "a client moves to another endpoint only when its own is not ready"},
	{"ssl-ciphers", "the provider's TLS settings hold"},
	{"ssl-prefer-server-ciphers", "the provider's TLS settings hold"},
	{"mirror-", "requests are not mirrored"},
	{"proxy-request-buffering", "request bodies are streamed to the backend as they come"},
	{"proxy-buffering", "responses are streamed to the client as they come"},
	{"auth-cache-", "every request is asked of the auth server; no answer is cached"},
	{"auth-keepalive", "connections to the auth server are kept by the provider's own rules"},
	{"auth-keepalive-", "connections to the auth server are kept by the provider's own rules"},
}

// reportUnsupported reports the annotations no reader took.
func (r *nginxReader) reportUnsupported(names []string) {
	n := 0
	for _, name := range names {
		if r.read[name] {
			continue
		}
		if n++; n > maxNginxUnsupported {
			continue
		}
		if c := nginxConsequence(name); c != "" {
			r.unsupported(name, "not supported here, so this Ingress is served without it: %s", c)
		} else {
			r.unsupported(name, "not supported here; this Ingress is served without it")
		}
	}
	if n > maxNginxUnsupported {
		r.ps.add(r.ref, "metadata.annotations", "UnsupportedAnnotation",
			"%d more %s annotations are not supported here; this Ingress is served without them", n-maxNginxUnsupported, NginxAnnotationPrefix)
	}
}

func nginxConsequence(name string) string {
	for _, c := range nginxConsequences {
		if name == c.name || (strings.HasSuffix(c.name, "-") && strings.HasPrefix(name, c.name)) {
			return c.consequence
		}
	}
	return ""
}
