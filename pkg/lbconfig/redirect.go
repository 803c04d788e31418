package lbconfig

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"ingress-controller/internal/clip"
)

// Redirect answers a route's requests with a redirect instead of
// forwarding them; Backend is never reached. It has the shape of Gateway
// API's RequestRedirect, plus URL, a literal Location.
//
// With URL empty the Location is the request's, changed as the fields
// say: "<scheme>://<host>[:<port>]<path>[?<query>]", the path normalized
// as routing saw it and the query as it came. The host is Hostname, else
// the virtual host's own name; the request's Host header is reflected
// only with RequestHost (requesthost.go). On a wildcard or catch-all
// virtual host, a Redirect without Hostname, RequestHost, Scheme and
// Port gives a Location of the path and query alone (a relative
// reference, resolved by the client against the URL it asked for); with
// Scheme or Port it needs a Hostname or RequestHost.
type Redirect struct {
	// URL, if set, is the whole Location: an absolute http or https
	// URL, or a path starting with "/". Nothing of the request is added,
	// as nginx's "return 301 <url>" does not. The other fields but
	// StatusCode are then empty.
	URL string `json:"url,omitempty"`
	// Scheme is "http" or "https"; empty keeps the listener's.
	Scheme string `json:"scheme,omitempty"`
	// Hostname is an exact DNS name; empty is the virtual host's.
	Hostname string `json:"hostname,omitempty"`
	// RequestHost, with Hostname empty, makes the host of the Location
	// the request's on a wildcard or catch-all virtual host, as Gateway
	// API's RequestRedirect does; on an exact virtual host the request's
	// host is its name anyway. A request whose Host a Location cannot
	// carry as it is (LocationHost) gets 400. Such a Redirect may change
	// nothing but the status code.
	RequestHost bool `json:"requestHost,omitempty"`
	// Port is left out of the Location when it is the scheme's default.
	// Zero means the scheme's default when Scheme is set, else the
	// listener's port.
	Port int32 `json:"port,omitempty"`
	// Path, if set, changes the request path; nil keeps it.
	Path *RedirectPath `json:"path,omitempty"`
	// StatusCode is 301, 302, 303, 307 or 308. 307 and 308 keep the
	// method and body of the request.
	StatusCode int32 `json:"statusCode"`
}

// RedirectPath changes the path of a Redirect's Location.
type RedirectPath struct {
	Type RedirectPathType `json:"type"`
	// Value is a path starting with "/".
	Value string `json:"value"`
}

// RedirectPathType says how a RedirectPath changes the request path.
type RedirectPathType string

// Redirect path types.
const (
	// ReplaceFullPath puts Value in place of the whole path.
	ReplaceFullPath RedirectPathType = "ReplaceFullPath"
	// ReplacePrefixMatch puts Value in place of the part of the path
	// that the route's Path (a Prefix route) matched: "/old" replaced by
	// "/new" sends "/old/a" to "/new/a" and "/old" to "/new".
	ReplacePrefixMatch RedirectPathType = "ReplacePrefixMatch"
)

// MaxRedirectURL bounds a Redirect's URL, Hostname and path Value.
const MaxRedirectURL = 2048

// RedirectBase returns what comes before the path in the Location of rd
// (no URL) on a virtual host named vhost of a listener with proto and
// port: "<scheme>://<host>[:<port>]", or "" for a relative Location.
// Validate has checked rd.
// With RequestHost on a wildcard or catch-all virtual host it is ""
// too: the Location is then absolute, made with RedirectAround.
func RedirectBase(rd *Redirect, vhost string, proto Protocol, port int32) string {
	host := rd.Hostname
	if host == "" {
		if vhost == "" || strings.HasPrefix(vhost, "*.") {
			return ""
		}
		host = vhost
	}
	before, after := RedirectAround(rd, proto, port)
	return before + host + after
}

// RedirectAround returns what comes before the host in the Location of
// rd (no URL) on a listener with proto and port, "<scheme>://", and what
// comes after it and before the path, "[:<port>]". Port is rd's, else
// the default of rd's Scheme when set, else the listener's; it is left
// out when it is the scheme's default.
func RedirectAround(rd *Redirect, proto Protocol, port int32) (before, after string) {
	scheme := rd.Scheme
	switch {
	case rd.Port != 0:
		port = rd.Port
	case scheme != "":
		port = defaultPort(scheme)
	}
	if scheme == "" {
		scheme = "http"
		if proto == ProtocolHTTPS {
			scheme = "https"
		}
	}
	if port == defaultPort(scheme) {
		return scheme + "://", ""
	}
	return scheme + "://", ":" + strconv.Itoa(int(port))
}

func defaultPort(scheme string) int32 {
	if scheme == "https" {
		return 443
	}
	return 80
}

// ReplacePrefix returns path with the part prefix (a Prefix route's
// MatchPath without its trailing "/") matched replaced by value, without
// a doubled "/" where they meet. The root prefix "" matches "/" whole.
func ReplacePrefix(path, prefix, value string) string {
	head, rest := ReplacePrefixParts(path, prefix, value)
	return head + rest
}

// ReplacePrefixParts is ReplacePrefix in two pieces, for a writer that
// writes them one after the other without allocating.
func ReplacePrefixParts(path, prefix, value string) (head, rest string) {
	rest = path[min(len(prefix), len(path)):]
	if rest == "" || (prefix == "" && rest == "/") {
		return value, ""
	}
	return strings.TrimSuffix(value, "/"), rest
}

// redirectTo checks a Redirect of a route of virtual host vhost.
func (v *validator) redirectTo(f string, rd *Redirect, vhost string, route Route) {
	switch rd.StatusCode {
	case 301, 302, 303, 307, 308:
	default:
		v.add(f+".statusCode", fmt.Sprintf("%d is not 301, 302, 303, 307 or 308", rd.StatusCode))
	}
	if route.HTTPSRedirect != nil {
		v.add(f, "a route has a redirect or an HTTPS redirect, not both")
	}
	if rd.URL != "" {
		if rd.Scheme != "" || rd.Hostname != "" || rd.RequestHost || rd.Port != 0 || rd.Path != nil {
			v.add(f, "a redirect to a URL has no scheme, hostname, request host, port or path")
		}
		if err := CheckRedirectURL(rd.URL); err != nil {
			v.add(f+".url", err.Error())
		}
		return
	}
	if rd.Scheme == "" && rd.Hostname == "" && !rd.RequestHost && rd.Port == 0 && rd.Path == nil {
		v.add(f, "a redirect that changes nothing sends the client back to the same URL")
	}
	switch rd.Scheme {
	case "", "http", "https":
	default:
		v.add(f+".scheme", fmt.Sprintf("%q is not http or https", clip.Value(rd.Scheme)))
	}
	switch {
	case rd.Hostname != "":
		if err := CheckHostname(rd.Hostname); err != nil || strings.HasPrefix(rd.Hostname, "*.") {
			v.add(f+".hostname", fmt.Sprintf("%q is not an exact hostname", clip.Value(rd.Hostname)))
		}
		if rd.RequestHost {
			v.add(f+".requestHost", "a redirect takes its hostname from Hostname or from the request, not both")
		}
	case rd.RequestHost:
	case (vhost == "" || strings.HasPrefix(vhost, "*.")) && (rd.Scheme != "" || rd.Port != 0):
		v.add(f+".hostname", "a redirect of a wildcard or catch-all virtual host that sets a scheme or port needs a hostname or requestHost")
	}
	if rd.Port < 0 || rd.Port > 65535 {
		v.add(f+".port", fmt.Sprintf("%d is not a port number", rd.Port))
	}
	if p := rd.Path; p != nil {
		switch p.Type {
		case ReplaceFullPath:
		case ReplacePrefixMatch:
			if route.Match != MatchPrefix {
				v.add(f+".path.type", "only Prefix routes replace a prefix")
			}
		default:
			v.add(f+".path.type", fmt.Sprintf("%q is not ReplaceFullPath or ReplacePrefixMatch", clip.Value(string(p.Type))))
		}
		if err := CheckRedirectPath(p.Value); err != nil {
			v.add(f+".path.value", err.Error())
		}
	}
}

// CheckRedirectURL returns an error unless u can be a Redirect's URL: an
// absolute http or https URL with a host and no user information, or a
// path starting with "/" (not "//"), at most MaxRedirectURL bytes of
// the characters a Location may hold as they are (checkLocationText).
func CheckRedirectURL(u string) error {
	if err := checkLocationText(u); err != nil {
		return err
	}
	if strings.HasPrefix(u, "/") {
		if strings.HasPrefix(u, "//") {
			return fmt.Errorf("%q starts with \"//\", which a client reads as a host", clip.Value(u))
		}
		return nil
	}
	p, err := url.Parse(u)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not a URL", clip.Value(u))
	case p.Scheme != "http" && p.Scheme != "https":
		return fmt.Errorf("%q is not an http or https URL, or a path starting with \"/\"", clip.Value(u))
	case p.User != nil:
		return fmt.Errorf("%q must not hold user information", clip.Value(u))
	case p.Opaque != "" || p.Host == "":
		return fmt.Errorf("%q has no host", clip.Value(u))
	}
	if port := p.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%q: %q is not a port number", clip.Value(u), port)
		}
	}
	host := p.Hostname()
	if _, err := netip.ParseAddr(host); err == nil {
		return nil
	}
	if err := CheckHostname(strings.ToLower(host)); err != nil || strings.HasPrefix(host, "*.") {
		return fmt.Errorf("%q: %q is not a hostname or an IP address", clip.Value(u), clip.Value(host))
	}
	return nil
}

// CheckRedirectPath returns an error unless p can replace a path in a
// Location: it starts with "/" (not "//") and holds only what
// checkLocationText allows, and no "?" or "#".
func CheckRedirectPath(p string) error {
	if err := checkLocationText(p); err != nil {
		return err
	}
	switch {
	case !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//"):
		return fmt.Errorf("path %q must start with one '/'", clip.Value(p))
	case strings.ContainsAny(p, "?#"):
		return fmt.Errorf("path %q must not hold '?' or '#'", clip.Value(p))
	}
	return nil
}

var errEmptyLocation = errors.New("must not be empty")

// checkLocationText returns an error unless s is not empty, at most
// MaxRedirectURL bytes, and holds only printable ASCII that a URI may
// carry as it is: no space, control byte, quote, backslash or <>^`{|},
// which could split or inject a header or a configuration line, and a
// "%" only before two hex digits.
func checkLocationText(s string) error {
	if s == "" {
		return errEmptyLocation
	}
	if len(s) > MaxRedirectURL {
		return fmt.Errorf("%q is longer than %d bytes", clip.Value(s), MaxRedirectURL)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c <= ' ' || c >= 0x7f || strings.IndexByte("\"'<>\\^`{|}", c) >= 0:
			return fmt.Errorf("%q: byte %#02x at offset %d is not allowed", clip.Value(s), c, i)
		case c == '%' && (i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2])):
			return fmt.Errorf("%q: '%%' at offset %d is not followed by two hex digits", clip.Value(s), i)
		}
	}
	return nil
}
