package lbconfig

import "strings"

// Matches reports whether the request path p, normalized with
// NormalizePath, matches the route (on MatchPath). It compiles a Regex
// route's pattern on each call: it is the reference that providers'
// precompiled matchers are tested against, not a matcher to route with.
func (r *Route) Matches(p string) bool {
	path := r.MatchPath()
	switch r.Match {
	case MatchExact:
		return p == path
	case MatchPrefix:
		return PrefixMatches(path, p)
	case MatchRegex:
		re, err := CompileRegex(r.Path)
		return err == nil && re.MatchString(p)
	}
	return false
}

// PrefixMatches reports whether request path p matches prefix element-wise:
// every "/"-separated element of prefix equals the element of p at the same
// place. A trailing "/" on either side is ignored for the comparison, so
// "/foo" and "/foo/" both match "/foo", "/foo/" and "/foo/bar" but never
// "/foobar".
func PrefixMatches(prefix, p string) bool {
	prefix = trimPrefixPath(prefix)
	if prefix == "" { // "/" matches everything
		return true
	}
	if !strings.HasPrefix(p, prefix) {
		return false
	}
	return len(p) == len(prefix) || p[len(prefix)] == '/'
}

// trimPrefixPath drops trailing slashes, so "/" becomes "".
func trimPrefixPath(p string) string {
	return strings.TrimRight(p, "/")
}

// HostMatches reports whether a virtual host's hostname pattern matches the
// request host, which must already be lower case and without a port.
// "*.example.com" matches exactly one extra label: "a.example.com" but not
// "example.com" or "a.b.example.com". An empty pattern matches any host.
func HostMatches(pattern, host string) bool {
	if pattern == "" {
		return true
	}
	if suffix, ok := strings.CutPrefix(pattern, "*"); ok {
		label, found := strings.CutSuffix(host, suffix)
		return found && label != "" && !strings.Contains(label, ".")
	}
	return pattern == host
}

// VirtualHostFor returns the virtual host that serves host, which must be
// normalized (NormalizeHost): the one named host, else the wildcard that
// matches it most specifically (wildcard.go), else the catch-all "", else
// nil. On HTTPS listeners host is also the TLS server name that picks the
// certificate.
func (l *Listener) VirtualHostFor(host string) *VirtualHost {
	var wildcard, any *VirtualHost
	for i := range l.VirtualHosts {
		vh := &l.VirtualHosts[i]
		switch {
		case vh.Hostname == "":
			any = vh
		case strings.HasPrefix(vh.Hostname, "*."):
			if vh.Matches(host) && (wildcard == nil || moreSpecific(vh, wildcard)) {
				wildcard = vh
			}
		case vh.Hostname == host:
			return vh
		}
	}
	if wildcard != nil {
		return wildcard
	}
	return any
}

// NormalizeHost lower-cases a Host header value and strips its port and a
// trailing dot, e.g. "Foo.Example.com:8080" -> "foo.example.com" and
// "[::1]:80" -> "::1". A port is one or more digits: "a.example:",
// "a.example:http" and "a.example:80,b.example" keep what follows the
// colon and so name no host a route has, as the haproxy provider's
// lookup (and a redirect that reflects the host refuses them).
func NormalizeHost(h string) string {
	if strings.HasPrefix(h, "[") {
		if end := strings.IndexByte(h, ']'); end > 0 && (end == len(h)-1 || isPort(h[end+1:])) {
			h = h[1:end]
		}
	} else if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.Count(h, ":") == 1 && isPort(h[i:]) {
		h = h[:i]
	}
	h = strings.TrimSuffix(h, ".")
	for i := 0; i < len(h); i++ {
		if c := h[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}

// isPort reports whether s is ':' and one or more digits.
func isPort(s string) bool {
	if len(s) < 2 || s[0] != ':' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// MatchPath is the path the route matches requests on: its Path
// normalized as requests are, so that "/%61dmin" and "/admin" are the same
// route path; a Regex route's pattern as it is. A Path NormalizePath refuses is kept as it is: it matches no
// request, since requests with such a path are refused before routing.
func (r *Route) MatchPath() string {
	if r.Match == MatchRegex {
		return r.Path // a pattern, not a path
	}
	if p, err := NormalizePath(r.Path); err == nil {
		return p
	}
	return r.Path
}
