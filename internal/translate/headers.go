package translate

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"ingress-controller/internal/clip"
	"ingress-controller/pkg/lbconfig"
)

// Header annotations on an Ingress, applied to every route of its rules
// (not to its default backend, which is no route) as
// lbconfig.Route.RequestHeaders, ResponseHeaders and CORS. A value that
// cannot be read gets an InvalidAnnotation problem and is ignored, alone:
// the rest of the Ingress is served (none of these protects the app).
const (
	// AnnotationUpstreamHost is the Host sent to the backends,
	// "host[:port]"; without it they get the client's.
	AnnotationUpstreamHost = AnnotationPrefix + "upstream-host"
	// AnnotationRequestHeaders and AnnotationResponseHeaders change header
	// fields, one change a line: "set <name>: <value>", "add <name>:
	// <value>" or "remove <name>".
	AnnotationRequestHeaders  = AnnotationPrefix + "request-headers"
	AnnotationResponseHeaders = AnnotationPrefix + "response-headers"
	// AnnotationCORSAllowOrigins turns CORS on for the origins listed,
	// comma-separated: "*", "https://app.example.com",
	// "https://*.example.com" (one label).
	AnnotationCORSAllowOrigins = AnnotationPrefix + "cors-allow-origins"
	// The other CORS annotations, read only with
	// AnnotationCORSAllowOrigins: comma-separated methods and header
	// names, "true" or "false", seconds.
	AnnotationCORSAllowMethods     = AnnotationPrefix + "cors-allow-methods"
	AnnotationCORSAllowHeaders     = AnnotationPrefix + "cors-allow-headers"
	AnnotationCORSExposeHeaders    = AnnotationPrefix + "cors-expose-headers"
	AnnotationCORSAllowCredentials = AnnotationPrefix + "cors-allow-credentials"
	AnnotationCORSMaxAge           = AnnotationPrefix + "cors-max-age"
)

// The CORS defaults, ingress-nginx's, but for credentials, which are
// allowed only when asked for.
const (
	defaultCORSMethods = "GET, PUT, POST, DELETE, PATCH, OPTIONS"
	defaultCORSHeaders = "DNT, Keep-Alive, User-Agent, X-Requested-With, If-Modified-Since, Cache-Control, Content-Type, Range, Authorization"
	defaultCORSMaxAge  = 1728000
)

// routeHeaders are the header changes and CORS of one Ingress's routes.
type routeHeaders struct {
	request, response *lbconfig.HeaderModifier
	cors              *lbconfig.CORS
}

// headersOf reads the header annotations of an Ingress, reporting what
// it cannot read.
func (b *builder) headersOf(annotations map[string]string, ref lbconfig.ObjectRef) routeHeaders {
	a := annotationReader{b: b, annotations: annotations, ref: ref, custom: new(bool)}
	var h routeHeaders
	h.request = readHeaderChanges(a, AnnotationRequestHeaders, true)
	h.response = readHeaderChanges(a, AnnotationResponseHeaders, false)
	if v, ok := a.get(AnnotationUpstreamHost); ok {
		host := strings.ToLower(v)
		if err := lbconfig.CheckUpstreamHost(host); err != nil {
			a.invalid(AnnotationUpstreamHost, "%v; the backends get the client's Host", err)
		} else {
			if h.request == nil {
				h.request = &lbconfig.HeaderModifier{}
			}
			h.request.Set = append(h.request.Set, lbconfig.Header{Name: "Host", Value: host})
		}
	}
	h.cors = readCORS(a)
	return h
}

// applyTo gives r a copy of h, so that no two routes share one.
func (h routeHeaders) applyTo(r *lbconfig.Route) {
	r.RequestHeaders, r.ResponseHeaders = cloneChanges(h.request), cloneChanges(h.response)
	if c := h.cors; c != nil {
		cc := *c
		cc.AllowOrigins = slices.Clone(c.AllowOrigins)
		cc.AllowMethods, cc.AllowHeaders, cc.ExposeHeaders = slices.Clone(c.AllowMethods), slices.Clone(c.AllowHeaders), slices.Clone(c.ExposeHeaders)
		r.CORS = &cc
	}
}

func cloneChanges(m *lbconfig.HeaderModifier) *lbconfig.HeaderModifier {
	if m == nil {
		return nil
	}
	return &lbconfig.HeaderModifier{Set: slices.Clone(m.Set), Add: slices.Clone(m.Add), Remove: slices.Clone(m.Remove)}
}

// readHeaderChanges reads a request-headers or response-headers
// annotation, or returns nil when it is not set or cannot be read.
func readHeaderChanges(a annotationReader, key string, request bool) *lbconfig.HeaderModifier {
	v, ok := a.annotations[key]
	if !ok {
		return nil
	}
	m, err := parseHeaderChanges(v, request)
	if err != nil {
		a.invalid(key, "%v; no header is changed", err)
		return nil
	}
	return m
}

// parseHeaderChanges reads one change a line ("set <name>: <value>",
// "add <name>: <value>", "remove <name>"; blank lines are skipped) and
// checks them as Validate does.
func parseHeaderChanges(v string, request bool) (*lbconfig.HeaderModifier, error) {
	m := &lbconfig.HeaderModifier{}
	n := 0
	for line := range strings.SplitSeq(v, "\n") {
		n++
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if len(m.Set)+len(m.Add)+len(m.Remove) >= lbconfig.MaxHeaderChanges {
			return nil, fmt.Errorf("more than %d changes", lbconfig.MaxHeaderChanges)
		}
		verb, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToLower(verb) {
		case "remove":
			m.Remove = append(m.Remove, rest)
		case "set", "add":
			name, value, ok := strings.Cut(rest, ":")
			if !ok {
				return nil, fmt.Errorf("line %d: %q has no ':' between name and value", n, clip.Value(line))
			}
			h := lbconfig.Header{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)}
			if strings.EqualFold(verb, "set") {
				m.Set = append(m.Set, h)
			} else {
				m.Add = append(m.Add, h)
			}
		default:
			return nil, fmt.Errorf("line %d: %q does not start with set, add or remove", n, clip.Value(line))
		}
		if request && strings.EqualFold(strings.TrimSpace(strings.SplitN(rest, ":", 2)[0]), "host") {
			return nil, fmt.Errorf("line %d: the Host sent to the backends is set with %s", n, AnnotationUpstreamHost)
		}
	}
	if err := m.Check(request); err != nil {
		return nil, headerChangeError(err)
	}
	return m, nil
}

// headerChangeError says what Check found without the field path, which
// means nothing to whoever wrote the annotation.
func headerChangeError(err error) error {
	var fe *lbconfig.FieldError
	if errors.As(err, &fe) {
		return errors.New(fe.Message)
	}
	return err
}

// readCORS reads the CORS annotations: nil unless
// AnnotationCORSAllowOrigins is set and can be read.
func readCORS(a annotationReader) *lbconfig.CORS {
	v, ok := a.annotations[AnnotationCORSAllowOrigins]
	if !ok {
		return nil
	}
	origins, err := parseOrigins(v)
	if err != nil {
		a.invalid(AnnotationCORSAllowOrigins, "%v; CORS is off", err)
		return nil
	}
	c := &lbconfig.CORS{AllowOrigins: origins, MaxAge: defaultCORSMaxAge}
	c.AllowMethods = readNames(a, AnnotationCORSAllowMethods, defaultCORSMethods)
	c.AllowHeaders = readNames(a, AnnotationCORSAllowHeaders, defaultCORSHeaders)
	c.ExposeHeaders = readNames(a, AnnotationCORSExposeHeaders, "")
	if v, ok := a.get(AnnotationCORSAllowCredentials); ok {
		on, err := strconv.ParseBool(v)
		if err != nil {
			a.invalid(AnnotationCORSAllowCredentials, "%q is not true or false; credentials are not allowed", v)
		}
		c.AllowCredentials = on
	}
	if v, ok := a.get(AnnotationCORSMaxAge); ok {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 0 {
			a.invalid(AnnotationCORSMaxAge, "%q is not a number of seconds; the default, %d, holds", v, defaultCORSMaxAge)
		} else {
			c.MaxAge = int32(n)
		}
	}
	if err := c.Check(); err != nil {
		// Cannot happen: every part was checked.
		a.invalid(AnnotationCORSAllowOrigins, "%v; CORS is off", headerChangeError(err))
		return nil
	}
	return c
}

// parseOrigins reads a comma-separated list of origins, in lower case,
// sorted without duplicates; "*" stands alone.
func parseOrigins(v string) ([]string, error) {
	var out []string
	for o := range strings.SplitSeq(v, ",") {
		o = strings.ToLower(strings.TrimSpace(o))
		if o == "" {
			continue
		}
		if err := lbconfig.CheckOrigin(o); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	switch {
	case len(out) == 0:
		return nil, fmt.Errorf("%q names no origin", clip.Value(v))
	case len(out) > lbconfig.MaxCORSOrigins:
		return nil, fmt.Errorf("%d origins; at most %d", len(out), lbconfig.MaxCORSOrigins)
	case slices.Contains(out, "*"):
		if len(out) > 1 {
			return nil, fmt.Errorf("%q: \"*\" allows every origin; it stands alone", clip.Value(v))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// readNames reads a comma-separated list of tokens, or def when the
// annotation is not set or cannot be read.
func readNames(a annotationReader, key, def string) []string {
	v, ok := a.get(key)
	if ok {
		names, err := parseNames(v)
		if err == nil {
			return names
		}
		a.invalid(key, "%v; the default, %q, holds", err, def)
	}
	names, _ := parseNames(def)
	return names
}

// parseNames reads a comma-separated list of tokens ("*" included).
func parseNames(v string) ([]string, error) {
	var out []string
	for n := range strings.SplitSeq(v, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if n != "*" {
			if err := lbconfig.CheckHeaderName(n); err != nil {
				return nil, errors.New(strings.Replace(err.Error(), "header name", "name", 1))
			}
		}
		out = append(out, n)
	}
	if len(out) > lbconfig.MaxCORSNames {
		return nil, fmt.Errorf("%d names; at most %d", len(out), lbconfig.MaxCORSNames)
	}
	return out, nil
}

// nginxCORSOrigin is what ingress-nginx takes for one origin of
// cors-allow-origin; it skips the others.
func nginxCORSOrigin(o string) bool {
	if o == "*" {
		return true
	}
	rest, ok := strings.CutPrefix(o, "http://")
	if !ok {
		if rest, ok = strings.CutPrefix(o, "https://"); !ok {
			return false
		}
	}
	rest = strings.TrimPrefix(rest, "*.")
	host, port, hasPort := strings.Cut(rest, ":")
	for i := 0; i < len(host); i++ {
		c := host[i] | 0x20
		if !('a' <= c && c <= 'z') && !('0' <= host[i] && host[i] <= '9') && host[i] != '-' && host[i] != '.' {
			return false
		}
	}
	if hasPort {
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return false
		}
	}
	return true
}

// readHeaders reads upstream-vhost, x-forwarded-prefix, enable-cors and
// the cors-* annotations into ours, with ingress-nginx's defaults: CORS
// for every origin ("*", answered "*", never echoed), credentials
// allowed, its methods, headers and max age. Without enable-cors the
// cors-* annotations do nothing, as in ingress-nginx.
func (r *nginxReader) readHeaders() {
	const vhost, prefix = "upstream-vhost", "x-forwarded-prefix"
	if v, ok := r.get(vhost); ok && v != "" && r.free(vhost, AnnotationUpstreamHost) {
		host := strings.ToLower(v)
		if err := lbconfig.CheckUpstreamHost(host); err != nil {
			r.invalid(vhost, "%v (nginx variables are not read here); the backends get the client's Host", err)
		} else {
			r.out[AnnotationUpstreamHost] = host
		}
	}
	if v, ok := r.get(prefix); ok && v != "" && r.free(prefix, AnnotationRequestHeaders) {
		if err := lbconfig.CheckHeaderValue(v); err != nil {
			r.invalid(prefix, "%v; no X-Forwarded-Prefix header is added", err)
		} else {
			r.out[AnnotationRequestHeaders] = "set X-Forwarded-Prefix: " + v
		}
	}
	r.readCORS()
}

func (r *nginxReader) readCORS() {
	const enable, origin, methods, headers, expose, credentials, maxAge = "enable-cors", "cors-allow-origin",
		"cors-allow-methods", "cors-allow-headers", "cors-expose-headers", "cors-allow-credentials", "cors-max-age"
	for _, name := range []string{origin, methods, headers, expose, credentials, maxAge} {
		r.get(name) // read: without enable-cors they do nothing
	}
	v, ok := r.get(enable)
	if !ok {
		return
	}
	on, err := strconv.ParseBool(v)
	if err != nil {
		r.invalid(enable, "%q is not true or false; CORS is off", v)
		return
	}
	if !on || !r.free(enable, AnnotationCORSAllowOrigins) {
		return
	}
	origins := []string{"*"}
	if v, ok := r.get(origin); ok {
		origins = nil
		for o := range strings.SplitSeq(v, ",") {
			o = strings.ToLower(strings.TrimSpace(o))
			switch {
			case o == "*":
				origins = []string{"*"}
			case slices.Contains(origins, "*"):
			case !nginxCORSOrigin(o) || lbconfig.CheckOrigin(o) != nil:
				r.invalid(origin, "%q is not an origin (scheme://host[:port], or scheme://*.domain); it is left out", o)
			default:
				origins = append(origins, o)
			}
		}
		if len(origins) == 0 {
			r.invalid(origin, "%q names no origin that can be read; CORS is off", v)
			return
		}
	}
	r.out[AnnotationCORSAllowOrigins] = strings.Join(origins, ",")
	list := func(name, ours, def string) {
		v, ok := r.get(name)
		switch {
		case !ok || !r.free(name, ours):
			if _, set := r.in[ours]; !set {
				r.out[ours] = def
			}
			return
		case v == "":
			r.out[ours] = def
		default:
			if _, err := parseNames(v); err != nil {
				r.invalid(name, "%v; ingress-nginx's default, %q, holds", err, def)
				v = def
			}
			r.out[ours] = v
		}
	}
	list(methods, AnnotationCORSAllowMethods, defaultCORSMethods)
	list(headers, AnnotationCORSAllowHeaders, defaultCORSHeaders)
	list(expose, AnnotationCORSExposeHeaders, "")
	if v, ok := r.get(credentials); !ok || r.free(credentials, AnnotationCORSAllowCredentials) {
		allow := true
		if ok {
			if b, err := strconv.ParseBool(v); err != nil {
				r.invalid(credentials, "%q is not true or false; ingress-nginx's default, true, holds", v)
			} else {
				allow = b
			}
		}
		r.out[AnnotationCORSAllowCredentials] = strconv.FormatBool(allow)
	}
	if v, ok := r.get(maxAge); ok && r.free(maxAge, AnnotationCORSMaxAge) {
		if n, err := strconv.ParseInt(v, 10, 32); err != nil || n < 0 {
			r.invalid(maxAge, "%q is not a number of seconds; ingress-nginx's default, %d, holds", v, defaultCORSMaxAge)
		} else {
			r.out[AnnotationCORSMaxAge] = strconv.FormatInt(n, 10)
		}
	}
}
