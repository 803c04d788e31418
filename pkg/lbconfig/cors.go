package lbconfig

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"ingress-controller/internal/clip"
)

// CORS answers cross-origin requests for a route (the Fetch standard's
// CORS protocol), so that its backend need not.
//
// A preflight, an OPTIONS request with an Origin and an
// Access-Control-Request-Method field, is answered by the proxy with 204
// and never reaches the backend: with Access-Control-Allow-Origin,
// -Allow-Methods, -Allow-Headers, -Max-Age (and -Allow-Credentials) when
// the origin is allowed, without them when it is not. Any other request
// goes to the backend; when its origin is allowed the response gets
// Access-Control-Allow-Origin, -Expose-Headers (and -Allow-Credentials),
// replacing any the backend sent, which are removed when it is not. A
// request with more than one Origin field is not allowed.
//
// AllowOrigins is either ["*"], every origin, answered with a literal
// "*" (never the request's Origin, so that "*" with credentials grants
// none: browsers refuse it), or a list of origins, each
// "scheme://host[:port]" matched exactly, or "scheme://*.domain[:port]"
// where "*" stands for exactly one DNS label; both are compared without
// regard to ASCII case. An allowed Origin is echoed as the client sent
// it, and the answer has "Vary: Origin". "null" is never allowed by a
// list. An empty list allows no origin: the route takes back its
// backend's grants.
//
// That is ingress-nginx's behaviour. Gateway API's CORS filter asks for
// three things more, each a field of its own (see gatewaycors.go in the
// translator): MultiLabel, EchoWildcards and PreflightExposes.
type CORS struct {
	AllowOrigins     []string `json:"allowOrigins"`
	AllowMethods     []string `json:"allowMethods,omitempty"`
	AllowHeaders     []string `json:"allowHeaders,omitempty"`
	ExposeHeaders    []string `json:"exposeHeaders,omitempty"`
	AllowCredentials bool     `json:"allowCredentials,omitempty"`
	// MaxAge is how many seconds a preflight answer may be cached; 0
	// leaves Access-Control-Max-Age out.
	MaxAge int32 `json:"maxAge,omitempty"`
	// MultiLabel makes the "*" of an allowed origin stand for one or
	// more DNS labels, not exactly one, and allows a host of "*" alone,
	// which stands for any host name (not a bracketed IPv6 address).
	MultiLabel bool `json:"multiLabel,omitempty"`
	// EchoWildcards makes every "*" answer with what the request asked
	// for, never "*", which browsers refuse with credentials: ["*"] in
	// AllowOrigins grants the request's only Origin field when it is an
	// origin (IsOrigin: never "null"), and ["*"] in AllowMethods or
	// AllowHeaders grants a preflight the Access-Control-Request-Method
	// or -Headers it sent when that is one field of tokens (IsEchoable),
	// else nothing. A "*" stands alone in those lists, and ExposeHeaders
	// holds none.
	EchoWildcards bool `json:"echoWildcards,omitempty"`
	// PreflightExposes sends Access-Control-Expose-Headers in a
	// preflight's grant too, not only on the backend's responses.
	PreflightExposes bool `json:"preflightExposes,omitempty"`
}

// Limits of a CORS.
const (
	MaxCORSOrigins = 64
	MaxCORSNames   = 64
	// MaxOriginBytes bounds an allowed origin; longer Origin fields of
	// requests are never allowed by a list.
	MaxOriginBytes = 300
	// MaxEchoBytes bounds what EchoWildcards sends back of a preflight's
	// Access-Control-Request-Method or -Headers.
	MaxEchoBytes = 1024
)

// AnyOrigin reports whether c allows every origin.
func (c *CORS) AnyOrigin() bool {
	return len(c.AllowOrigins) == 1 && c.AllowOrigins[0] == "*"
}

// Allows reports whether c allows origin, the value of a request's only
// Origin field. It does not allocate.
func (c *CORS) Allows(origin string) bool {
	if c.AnyOrigin() {
		return !c.EchoWildcards || IsOrigin(origin)
	}
	if len(origin) > MaxOriginBytes {
		return false
	}
	for _, o := range c.AllowOrigins {
		if matchOrigin(o, origin, c.MultiLabel) {
			return true
		}
	}
	return false
}

// matchOrigin matches origin against pattern, a checked allowed origin;
// its "*" stands for one DNS label, or for one or more when multiLabel.
func matchOrigin(pattern, origin string, multiLabel bool) bool {
	before, after, wild := strings.Cut(pattern, "*")
	if !wild {
		return equalFoldASCII(pattern, origin)
	}
	if len(origin) < len(before)+len(after)+1 || !equalFoldASCII(origin[:len(before)], before) ||
		!equalFoldASCII(origin[len(origin)-len(after):], after) {
		return false
	}
	labels := origin[len(before) : len(origin)-len(after)]
	if !multiLabel {
		return isLabel(labels)
	}
	for {
		label, rest, more := strings.Cut(labels, ".")
		if !isLabel(label) {
			return false
		}
		if !more {
			return true
		}
		labels = rest
	}
}

// isLabel reports whether s is one DNS label of letters, digits and
// hyphens, in either case.
func isLabel(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if !('a' <= c && c <= 'z') && !('0' <= s[i] && s[i] <= '9') && s[i] != '-' {
			return false
		}
	}
	return true
}

// IsOrigin reports whether o, a request's Origin field, is an origin
// that EchoWildcards may send back: "http://" or "https://" (in any
// case), a host of letters, digits, "-" and "." or a bracketed IPv6
// address, an optional port of up to five digits, at most
// MaxOriginBytes; never "null". It does not allocate.
func IsOrigin(o string) bool {
	if len(o) > MaxOriginBytes {
		return false
	}
	var rest string
	switch {
	case len(o) > 7 && equalFoldASCII(o[:7], "http://"):
		rest = o[7:]
	case len(o) > 8 && equalFoldASCII(o[:8], "https://"):
		rest = o[8:]
	default:
		return false
	}
	host, port := rest, ""
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.HasSuffix(rest, "]") {
		host, port = rest[:i], rest[i+1:]
		if port == "" || len(port) > 5 || strings.Trim(port, "0123456789") != "" {
			return false
		}
	}
	if len(host) > 2 && host[0] == '[' && host[len(host)-1] == ']' {
		return strings.Trim(host[1:len(host)-1], "0123456789abcdefABCDEF:.") == ""
	}
	return host != "" && strings.Trim(host, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-.") == ""
}

// IsEchoable reports whether v, a preflight's Access-Control-Request-Method
// (list false) or -Headers (list true), may be sent back as it is: at
// most MaxEchoBytes, one name, or for a list names separated by commas
// with optional spaces or tabs, each of letters, digits, "-", "_" and
// ".". It does not allocate.
func IsEchoable(v string, list bool) bool {
	if v == "" || len(v) > MaxEchoBytes {
		return false
	}
	if !list {
		return isEchoName(v)
	}
	for {
		name, rest, more := strings.Cut(v, ",")
		if !isEchoName(strings.Trim(name, " \t")) {
			return false
		}
		if !more {
			return true
		}
		v = rest
	}
}

// isEchoName reports whether s is a method or header name that
// IsEchoable takes.
func isEchoName(s string) bool {
	return s != "" && strings.Trim(s, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_.") == ""
}

// equalFoldASCII compares a and b without regard to ASCII case only:
// strings.EqualFold would also take the Kelvin sign for "k" and the long
// s for "s".
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// CheckOrigin returns an error unless o is an allowed origin as CORS
// takes it: "*", or "http://" or "https://", a lower-case host name, or
// "*." and one, or an IPv4 address or a bracketed IPv6 address, and an
// optional port; nothing else (no path, no "null").
func CheckOrigin(o string) error {
	return CheckOriginPattern(o, false)
}

// CheckOriginPattern is CheckOrigin for a CORS with MultiLabel set to
// multiLabel, which also takes a host of "*" alone.
func CheckOriginPattern(o string, multiLabel bool) error {
	if o == "*" {
		return nil
	}
	if len(o) > MaxOriginBytes {
		return fmt.Errorf("origin %q is longer than %d bytes", clip.Value(o), MaxOriginBytes)
	}
	scheme, hostPort, ok := strings.Cut(o, "://")
	if !ok || (scheme != "http" && scheme != "https") {
		return fmt.Errorf("origin %q must be \"*\" or start with http:// or https://", clip.Value(o))
	}
	host := hostPort
	if i := strings.LastIndexByte(hostPort, ':'); i >= 0 && !strings.HasSuffix(hostPort, "]") {
		host = hostPort[:i]
		port := hostPort[i+1:]
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port != strconv.Itoa(n) {
			return fmt.Errorf("origin %q: port %q is not a number from 1 to 65535", clip.Value(o), clip.Value(port))
		}
	}
	if host == "*" && multiLabel {
		return nil
	}
	if strings.HasPrefix(host, "*.") {
		if err := CheckHostname(host); err != nil {
			return fmt.Errorf("origin %q: %w", clip.Value(o), err)
		}
		return nil
	}
	if err := CheckUpstreamHost(host); err != nil {
		return fmt.Errorf("origin %q: %w", clip.Value(o), err)
	}
	return nil
}

func (v *validator) cors(f string, c *CORS) {
	switch {
	case len(c.AllowOrigins) > MaxCORSOrigins:
		v.add(f+".allowOrigins", fmt.Sprintf("%d origins; at most %d", len(c.AllowOrigins), MaxCORSOrigins))
	case len(c.AllowOrigins) > 1 && slices.Contains(c.AllowOrigins, "*"):
		v.add(f+".allowOrigins", "\"*\" allows every origin; it stands alone")
	default:
		for i, o := range c.AllowOrigins {
			if err := CheckOriginPattern(o, c.MultiLabel); err != nil {
				v.add(fmt.Sprintf("%s.allowOrigins[%d]", f, i), err.Error())
			} else if i > 0 && c.AllowOrigins[i-1] >= o {
				v.add(fmt.Sprintf("%s.allowOrigins[%d]", f, i), fmt.Sprintf("%q must come after %q, once (sorted without duplicates)", o, c.AllowOrigins[i-1]))
			}
		}
	}
	for _, l := range []struct {
		name string
		list []string
	}{{"allowMethods", c.AllowMethods}, {"allowHeaders", c.AllowHeaders}, {"exposeHeaders", c.ExposeHeaders}} {
		name, list := l.name, l.list
		if len(list) > MaxCORSNames {
			v.add(f+"."+name, fmt.Sprintf("%d names; at most %d", len(list), MaxCORSNames))
			continue
		}
		for i, n := range list {
			if n == "*" && name != "allowMethods" {
				continue // every header (without credentials)
			}
			if err := CheckHeaderName(n); err != nil {
				v.add(fmt.Sprintf("%s.%s[%d]", f, name, i), err.Error())
			}
		}
	}
	if c.EchoWildcards {
		v.echoWildcards(f, c)
	}
	if c.MaxAge < 0 {
		v.add(f+".maxAge", fmt.Sprintf("%d seconds is negative", c.MaxAge))
	}
}

// echoWildcards checks that the "*" c echoes stands alone, and that
// ExposeHeaders, which has nothing to echo, holds none.
func (v *validator) echoWildcards(f string, c *CORS) {
	for _, l := range []struct {
		name string
		list []string
	}{{"allowMethods", c.AllowMethods}, {"allowHeaders", c.AllowHeaders}} {
		if len(l.list) > 1 && slices.Contains(l.list, "*") {
			v.add(f+"."+l.name, "\"*\" echoes what a preflight asks for; it stands alone")
		}
	}
	if i := slices.Index(c.ExposeHeaders, "*"); i >= 0 {
		v.add(fmt.Sprintf("%s.exposeHeaders[%d]", f, i), "\"*\" cannot be echoed; with echoWildcards the names must be listed")
	}
}

// sort puts the allowed origins in order without duplicates; the other
// lists are sent in the order given.
func (c *CORS) sort() {
	slices.Sort(c.AllowOrigins)
	c.AllowOrigins = slices.Compact(c.AllowOrigins)
}
