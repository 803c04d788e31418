package lbconfig

import "strings"

// A Redirect with RequestHost reflects the request's host into the
// Location of a wildcard or catch-all virtual host. The host is the Host
// header as routing reads it, less a port and a trailing dot, and only
// if it is a plain DNS name or a bracketed IPv6 literal: a Location never
// carries a byte of a Host the proxy would not route by name (an '@', a
// '/', a quote, CR or LF, an empty label), and a request with such a Host
// gets 400. Both providers apply this same grammar (LocationHost).

// MaxLocationHost bounds the host a Location reflects: a DNS name's
// length.
const MaxLocationHost = 253

// maxIPv6Literal bounds a bracketed IPv6 literal a Location reflects:
// the longest IPv6 text (45 bytes, with an embedded IPv4 address) and
// its brackets.
const maxIPv6Literal = 47

// ReflectsHost reports whether rd, on virtual host vhost, puts the
// request's host in its Location.
func (rd *Redirect) ReflectsHost(vhost string) bool {
	return rd.RequestHost && rd.URL == "" && rd.Hostname == "" && (vhost == "" || strings.HasPrefix(vhost, "*."))
}

// LocationHost returns what a Location reflects of the Host header value
// h: h less a port (a ':' and only digits at its end), then less one
// trailing dot, when that is a DNS name (labels of 1 to 63 ASCII letters,
// digits and inner '-', joined by dots, MaxLocationHost bytes in all) or
// an IPv6 literal (hex digits, ':' and '.' in brackets, at most 47
// bytes). Letters keep their case: the Location has them in lower case.
// ok is false for anything else.
func LocationHost(h string) (host string, ok bool) {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && i < len(h)-1 && allDigits(h[i+1:]) {
		h = h[:i]
	}
	h = strings.TrimSuffix(h, ".")
	if strings.HasPrefix(h, "[") {
		return h, len(h) > 2 && len(h) <= maxIPv6Literal && h[len(h)-1] == ']' && ipv6Text(h[1:len(h)-1])
	}
	return h, len(h) > 0 && len(h) <= MaxLocationHost && dnsText(h)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func ipv6Text(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isHex(c) && c != ':' && c != '.' {
			return false
		}
	}
	return true
}

// dnsText reports whether s is labels of 1 to 63 letters (either case),
// digits and inner '-', joined by single dots.
func dnsText(s string) bool {
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			c := s[i] | 0x20
			if !('a' <= c && c <= 'z') && !('0' <= s[i] && s[i] <= '9') && s[i] != '-' {
				return false
			}
			continue
		}
		if n := i - start; n == 0 || n > 63 || s[start] == '-' || s[i-1] == '-' {
			return false
		}
		start = i + 1
	}
	return true
}
