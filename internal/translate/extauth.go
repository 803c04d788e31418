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

// External authentication annotations on an Ingress: every route of the
// Ingress asks an auth server about each request (lbconfig.ExternalAuth),
// as ingress-nginx's auth-url does.
//
// It is a protection: an annotation that does not read keeps the whole
// Ingress from being served (addRefused holds its paths at 503), and what
// the model cannot protect, a default backend and TLS passthrough, is left
// out of a protected Ingress with a problem.
const (
	// AnnotationAuthURL turns external authentication on: the absolute
	// http or https URL the subrequest goes to.
	AnnotationAuthURL = AnnotationPrefix + "auth-url"
	// AnnotationAuthMethod is the subrequest's method; GET without it.
	AnnotationAuthMethod = AnnotationPrefix + "auth-method"
	// AnnotationAuthSignin is where a 401 of the auth server sends the
	// client instead, with the original URL in a query parameter.
	AnnotationAuthSignin = AnnotationPrefix + "auth-signin"
	// AnnotationAuthSigninRedirectParam names that parameter; "rd"
	// without it.
	AnnotationAuthSigninRedirectParam = AnnotationPrefix + "auth-signin-redirect-param"
	// AnnotationAuthResponseHeaders lists the fields of an allowing
	// answer copied to the request the backend gets.
	AnnotationAuthResponseHeaders = AnnotationPrefix + "auth-response-headers"
	// AnnotationAuthRequestRedirect is the X-Auth-Request-Redirect value
	// sent to the auth server; the request target without it.
	AnnotationAuthRequestRedirect = AnnotationPrefix + "auth-request-redirect"
	// AnnotationAuthTimeout bounds the subrequest; 60s without it.
	AnnotationAuthTimeout = AnnotationPrefix + "auth-timeout"
	// AnnotationAuthAlwaysSetCookie, "true", passes the auth server's
	// cookies on every response, not only on 2xx and 3xx ones.
	AnnotationAuthAlwaysSetCookie = AnnotationPrefix + "auth-always-set-cookie"
)

// extAuthAnnotations are ours, AnnotationAuthURL first.
var extAuthAnnotations = []string{
	AnnotationAuthURL, AnnotationAuthMethod, AnnotationAuthSignin, AnnotationAuthSigninRedirectParam,
	AnnotationAuthResponseHeaders, AnnotationAuthRequestRedirect, AnnotationAuthTimeout, AnnotationAuthAlwaysSetCookie,
}

// extAuthOf reads the external authentication of an Ingress: nil without
// it, or the annotation at fault and why.
func extAuthOf(a map[string]string) (*lbconfig.ExternalAuth, string, error) {
	u, on := a[AnnotationAuthURL]
	if !on {
		for _, key := range extAuthAnnotations[1:] {
			if _, set := a[key]; set {
				return nil, key, fmt.Errorf("%s is set without %s, so which protection was meant is unclear", key, AnnotationAuthURL)
			}
		}
		return nil, "", nil
	}
	ea := &lbconfig.ExternalAuth{URL: strings.TrimSpace(u)}
	if err := lbconfig.CheckExternalAuthURL(ea.URL); err != nil {
		return nil, AnnotationAuthURL, err
	}
	if v, ok := a[AnnotationAuthMethod]; ok {
		ea.Method = strings.TrimSpace(v)
		if !slices.Contains(lbconfig.ExternalAuthMethods, ea.Method) {
			return nil, AnnotationAuthMethod, fmt.Errorf("%q is not one of %s", clip.Value(v), strings.Join(lbconfig.ExternalAuthMethods, ", "))
		}
	}
	if v, ok := a[AnnotationAuthSignin]; ok {
		ea.SigninURL = strings.TrimSpace(v)
		if err := lbconfig.CheckSigninURL(ea.SigninURL); err != nil {
			return nil, AnnotationAuthSignin, err
		}
	}
	if v, ok := a[AnnotationAuthSigninRedirectParam]; ok {
		ea.RedirectParam = strings.TrimSpace(v)
		if err := lbconfig.CheckRedirectParam(ea.RedirectParam); err != nil {
			return nil, AnnotationAuthSigninRedirectParam, err
		}
	}
	if v, ok := a[AnnotationAuthRequestRedirect]; ok {
		ea.RequestRedirect = strings.TrimSpace(v)
		if err := lbconfig.CheckHeaderValue(ea.RequestRedirect); err != nil || ea.RequestRedirect == "" {
			return nil, AnnotationAuthRequestRedirect, fmt.Errorf("%q is not a header value", clip.Value(v))
		}
	}
	if v, ok := a[AnnotationAuthResponseHeaders]; ok {
		names, err := authResponseHeaders(v)
		if err != nil {
			return nil, AnnotationAuthResponseHeaders, err
		}
		ea.ResponseHeaders = names
	}
	if v, ok := a[AnnotationAuthTimeout]; ok {
		d, err := parseDurationUpTo(strings.TrimSpace(v), lbconfig.MaxExternalAuthTimeout, "10m")
		if err != nil {
			return nil, AnnotationAuthTimeout, err
		}
		ea.Timeout = lbconfig.Duration(d)
	}
	if v, ok := a[AnnotationAuthAlwaysSetCookie]; ok {
		on, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return nil, AnnotationAuthAlwaysSetCookie, fmt.Errorf("%q is not true or false", clip.Value(v))
		}
		ea.AlwaysSetCookie = on
	}
	return ea, "", nil
}

// authResponseHeaders reads a comma-separated list of field names, with
// spaces around each and empty entries skipped, as ingress-nginx does,
// in canonical form, sorted, each once.
func authResponseHeaders(v string) ([]string, error) {
	var names []string
	for name := range strings.SplitSeq(v, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if err := lbconfig.CheckAuthResponseHeader(name); err != nil {
			return nil, err
		}
		names = append(names, httpCanonical(name))
		if len(names) > lbconfig.MaxAuthResponseHeaders {
			return nil, fmt.Errorf("more than %d fields", lbconfig.MaxAuthResponseHeaders)
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// httpCanonical is name as net/http and textproto write it.
func httpCanonical(name string) string {
	b := []byte(strings.ToLower(name))
	upper := true
	for i, c := range b {
		if upper && 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
		upper = c == '-'
	}
	return string(b)
}

// readExtAuth reports whether the external authentication of ing reads;
// if not, the problem says the Ingress is not served. nginx are the
// annotations of an Ingress of the nginx class as written, nil for ours:
// where ing's come from ingress-nginx's (readNginx), the problem names the
// nginx annotation.
func readExtAuth(ing *networkingv1.Ingress, nginx map[string]string, ps *problems) bool {
	_, key, err := extAuthOf(ing.Annotations)
	if err == nil {
		return true
	}
	field := annotationField(key)
	if _, set := nginx[key]; nginx != nil && !set {
		field = nginxField(strings.TrimPrefix(key, AnnotationPrefix))
	}
	ps.add(ingressRef(ing), field, "InvalidExternalAuth",
		"%v; external authentication that cannot be honoured must not open the app, so this Ingress is not served", err)
	return false
}

// withExtAuth gives route a copy of ea (nil: none).
func withExtAuth(route *lbconfig.Route, ea *lbconfig.ExternalAuth) {
	if ea == nil {
		return
	}
	c := *ea
	c.ResponseHeaders = slices.Clone(ea.ResponseHeaders)
	route.ExternalAuth = &c
}

// nginxExtAuth are ingress-nginx's external authentication annotations
// honoured as ours.
var nginxExtAuth = map[string]string{
	"auth-url": AnnotationAuthURL, "auth-method": AnnotationAuthMethod, "auth-signin": AnnotationAuthSignin,
	"auth-signin-redirect-param": AnnotationAuthSigninRedirectParam, "auth-response-headers": AnnotationAuthResponseHeaders,
	"auth-request-redirect": AnnotationAuthRequestRedirect, "auth-always-set-cookie": AnnotationAuthAlwaysSetCookie,
}

// nginxExtAuthNames are the external authentication annotations of
// ingress-nginx that refusesExtAuth decides on.
var nginxExtAuthNames = map[string]bool{
	"auth-url": true, "auth-method": true, "auth-signin": true, "auth-signin-redirect-param": true,
	"auth-response-headers": true, "auth-request-redirect": true, "auth-always-set-cookie": true,
	"auth-proxy-set-headers": true, "auth-cache-key": true, "auth-cache-duration": true,
	"auth-keepalive": true, "auth-keepalive-requests": true, "auth-keepalive-timeout": true,
	"auth-keepalive-share-vars": true,
}

// refusesExtAuth reports, and says why, whether an annotation of
// nginxExtAuthNames refuses the Ingress. Those honoured are left to
// readExtAuth; a cache or keep-alive setting is served without
// (nginxConsequences): every request is asked, which is stricter, not
// weaker.
func (r *nginxReader) refusesExtAuth(name, v string) bool {
	switch name {
	case "auth-signin":
		if strings.Contains(v, "$") && lbconfig.CheckSigninURL(v) != nil {
			r.refuse(name, "%q holds an nginx variable other than $%s, which is not expanded here", clip.Value(v), strings.Join(lbconfig.SigninVariables, ", $"))
			return true
		}
	case "auth-url", "auth-request-redirect":
		if strings.Contains(v, "$") {
			r.refuse(name, "%q holds an nginx variable, which is not expanded here", clip.Value(v))
			return true
		}
	case "auth-proxy-set-headers":
		r.refuse(name, "it names a ConfigMap of fields for the auth server, and ConfigMaps are not read here")
		return true
	}
	return false
}

// readExtAuth reads ingress-nginx's external authentication into ours,
// which check the values; the Ingress's own annotations win. Without
// auth-url ingress-nginx asks no auth server, and neither is one asked
// here.
func (r *nginxReader) readExtAuth() {
	_, on := r.in[NginxAnnotationPrefix+"auth-url"]
	oursSet := false
	for _, ours := range extAuthAnnotations {
		_, set := r.in[ours]
		oursSet = oursSet || set
	}
	names := make([]string, 0, len(nginxExtAuth))
	for name := range nginxExtAuth {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		v, ok := r.get(name)
		switch {
		case !ok:
		case name == "auth-always-set-cookie" && !isBool(v):
			r.invalid(name, "%q is not true or false; false, as ingress-nginx reads it", clip.Value(v))
		case !on:
			r.problem(name, "IgnoredAnnotation", "without auth-url ingress-nginx asks no auth server, and neither is one asked here; set auth-url to protect the app")
		case oursSet:
			r.problem(name, "OverriddenAnnotation", "the Ingress sets %s annotations of ours too, which win; this annotation is ignored", AnnotationAuthURL)
		default:
			r.out[nginxExtAuth[name]] = v
		}
	}
}

// passthroughWithExtAuth reports whether ing, protected by ext, asks for
// TLS passthrough, which the model cannot protect: then it is left out
// with a problem rather than passed through to every client.
func (b *builder) passthroughWithExtAuth(ing *networkingv1.Ingress, ref lbconfig.ObjectRef, ext *lbconfig.ExternalAuth) bool {
	if ext == nil {
		return false
	}
	if on, err := strconv.ParseBool(ing.Annotations[AnnotationSSLPassthrough]); err == nil && on {
		b.problems.add(ref, annotationField(AnnotationSSLPassthrough), "UnprotectedPassthrough",
			"TLS passed through cannot ask an auth server (%s), so it is not passed through rather than served without; TLS is terminated as usual", AnnotationAuthURL)
	}
	return true
}

// isBool reports whether v reads as a bool.
func isBool(v string) bool {
	_, err := strconv.ParseBool(v)
	return err == nil
}
