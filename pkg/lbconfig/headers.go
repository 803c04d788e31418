package lbconfig

import (
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"ingress-controller/internal/clip"
)

// HeaderModifier changes the header fields of a request on its way to the
// backend, or of a backend's response on its way to the client, shaped
// like Gateway API's HTTPHeaderFilter. Remove goes first, then Set
// replaces every field of its name, then Add appends a field. A name
// (compared without case) appears at most once in the three lists.
//
// Only fields that neither frame the message nor steer the proxy may be
// changed: Content-Length, Transfer-Encoding, Connection and the other
// hop-by-hop fields, Upgrade and Expect are refused, and so are the
// X-Forwarded-For, X-Real-Ip, X-Forwarded-Host, X-Forwarded-Proto and
// X-Forwarded-Port fields that the proxy sets on every request, which a
// route cannot take over. Host may be Set on a request only (the
// upstream virtual host), to a host[:port]. Proxy answers (404, 403, 503,
// redirects, CORS preflights) are not changed, only backend responses.
type HeaderModifier struct {
	Set    []Header `json:"set,omitempty"`
	Add    []Header `json:"add,omitempty"`
	Remove []string `json:"remove,omitempty"`
}

// Header is one header field: a token name and a value without control
// characters other than tab.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Limits of a HeaderModifier.
const (
	// MaxHeaderChanges is the most entries of Set, Add and Remove
	// together.
	MaxHeaderChanges = 32
	// MaxHeaderNameBytes and MaxHeaderValueBytes bound one field.
	MaxHeaderNameBytes  = 128
	MaxHeaderValueBytes = 1024
)

// proxyFields are the request fields the proxy itself writes.
var proxyFields = []string{"x-forwarded-for", "x-real-ip", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port"}

// framingFields frame a message or belong to one hop.
var framingFields = []string{
	"content-length", "transfer-encoding", "connection", "keep-alive", "proxy-connection",
	"te", "trailer", "upgrade", "expect", "proxy-authenticate", "proxy-authorization", "http2-settings",
}

// CheckHeaderName returns an error unless name is an HTTP token (RFC 9110,
// section 5.1) of at most MaxHeaderNameBytes.
func CheckHeaderName(name string) error {
	if name == "" {
		return fmt.Errorf("header name is empty")
	}
	if len(name) > MaxHeaderNameBytes {
		return fmt.Errorf("header name %q is longer than %d bytes", clip.Value(name), MaxHeaderNameBytes)
	}
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return fmt.Errorf("header name %q holds %q, which is not a token character", clip.Value(name), name[i])
		}
	}
	return nil
}

// CheckHeaderValue returns an error unless v is at most
// MaxHeaderValueBytes of UTF-8 (which JSON keeps as it is): visible
// characters, spaces and tabs, not starting or ending with a space; no
// CR, LF, NUL or other control character that could end the field.
func CheckHeaderValue(v string) error {
	if len(v) > MaxHeaderValueBytes {
		return fmt.Errorf("header value %q is longer than %d bytes", clip.Value(v), MaxHeaderValueBytes)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return fmt.Errorf("header value %q holds the control character %q", clip.Value(v), c)
		}
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("header value %q is not UTF-8", clip.Value(v))
	}
	if strings.TrimSpace(v) != v {
		return fmt.Errorf("header value %q starts or ends with white space", clip.Value(v))
	}
	return nil
}

// CheckUpstreamHost returns an error unless h is a host[:port] for the
// Host field sent to a backend: a lower-case DNS name, an IPv4 address or
// a bracketed IPv6 address, and a port from 1 to 65535.
func CheckUpstreamHost(h string) error {
	host, port := h, ""
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
		host, port = h[:i], h[i+1:]
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port != strconv.Itoa(n) {
			return fmt.Errorf("host %q: port %q is not a number from 1 to 65535", clip.Value(h), clip.Value(port))
		}
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		if a, err := netip.ParseAddr(host[1 : len(host)-1]); err != nil || !a.Is6() || a.Zone() != "" {
			return fmt.Errorf("host %q is not a bracketed IPv6 address", clip.Value(h))
		}
		return nil
	}
	if net.ParseIP(host) != nil {
		if strings.Contains(host, ":") {
			return fmt.Errorf("host %q: an IPv6 address is written in brackets", clip.Value(h))
		}
		return nil
	}
	if host == "" || strings.HasPrefix(host, "*") {
		return fmt.Errorf("host %q is not a host name or address", clip.Value(h))
	}
	return CheckHostname(host)
}

// headers checks m, of requests when request is true, else of
// responses.
func (v *validator) headers(f string, m *HeaderModifier, request bool) {
	if len(m.Set)+len(m.Add)+len(m.Remove) == 0 {
		v.add(f, "must set, add or remove a header; leave it out to change none")
	}
	if n := len(m.Set) + len(m.Add) + len(m.Remove); n > MaxHeaderChanges {
		v.add(f, fmt.Sprintf("%d changes; at most %d", n, MaxHeaderChanges))
		return
	}
	seen := map[string]bool{}
	check := func(ef, name string) bool {
		if err := CheckHeaderName(name); err != nil {
			v.add(ef+".name", err.Error())
			return false
		}
		lower := strings.ToLower(name)
		switch {
		case seen[lower]:
			v.add(ef+".name", fmt.Sprintf("header %q is changed more than once", name))
		case slices.Contains(framingFields, lower):
			v.add(ef+".name", fmt.Sprintf("header %q frames the message or belongs to one hop; it cannot be changed", name))
		case request && slices.Contains(proxyFields, lower):
			v.add(ef+".name", fmt.Sprintf("header %q is set by the proxy on every request", name))
		default:
			seen[lower] = true
			return true
		}
		seen[lower] = true
		return false
	}
	for i, h := range m.Set {
		ef := fmt.Sprintf("%s.set[%d]", f, i)
		if check(ef, h.Name) {
			v.headerValue(ef, h, request, true)
		}
	}
	for i, h := range m.Add {
		ef := fmt.Sprintf("%s.add[%d]", f, i)
		if check(ef, h.Name) {
			v.headerValue(ef, h, request, false)
		}
	}
	for i, name := range m.Remove {
		ef := fmt.Sprintf("%s.remove[%d]", f, i)
		if check(ef, name) && strings.EqualFold(name, "host") {
			v.add(ef, "Host cannot be removed")
		}
	}
}

func (v *validator) headerValue(f string, h Header, request, set bool) {
	if !strings.EqualFold(h.Name, "host") {
		if err := CheckHeaderValue(h.Value); err != nil {
			v.add(f+".value", err.Error())
		}
		return
	}
	switch {
	case !request:
		v.add(f+".name", "Host is a request header")
	case !set:
		v.add(f+".name", "Host can be set, not added")
	default:
		if err := CheckUpstreamHost(h.Value); err != nil {
			v.add(f+".value", err.Error())
		}
	}
}

// sortHeaders puts m's lists in order by name, so that equal modifiers
// compare and render equal; names are unique, so the order changes no
// outcome.
func (m *HeaderModifier) sort() {
	byName := func(a, b Header) int { return cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) }
	slices.SortFunc(m.Set, byName)
	slices.SortFunc(m.Add, byName)
	slices.SortFunc(m.Remove, func(a, b string) int { return cmp.Compare(strings.ToLower(a), strings.ToLower(b)) })
}

// routeHeaders checks a route's header modifiers and CORS.
func (v *validator) routeHeaders(f string, r Route) {
	if m := r.RequestHeaders; m != nil {
		v.headers(f+".requestHeaders", m, true)
	}
	if m := r.ResponseHeaders; m != nil {
		v.headers(f+".responseHeaders", m, false)
	}
	if c := r.CORS; c != nil {
		v.cors(f+".cors", c)
	}
}

// sortHeaders sorts a route's header modifiers and CORS origins.
func (r *Route) sortHeaders() {
	if m := r.RequestHeaders; m != nil {
		m.sort()
	}
	if m := r.ResponseHeaders; m != nil {
		m.sort()
	}
	if c := r.CORS; c != nil {
		c.sort()
	}
}

// Check returns the first problem Validate would find in m, changing
// requests when request is true, else responses; its field is relative
// to m ("set[0].value").
func (m *HeaderModifier) Check(request bool) error {
	v := validator{}
	v.headers("", m, request)
	return firstError(v.errs)
}

// Check returns the first problem Validate would find in c; its field is
// relative to c.
func (c *CORS) Check() error {
	v := validator{}
	v.cors("", c)
	return firstError(v.errs)
}

func firstError(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	if fe, ok := errs[0].(*FieldError); ok {
		return &FieldError{Field: strings.TrimPrefix(fe.Field, "."), Message: fe.Message}
	}
	return errs[0]
}
