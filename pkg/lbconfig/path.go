package lbconfig

import (
	"errors"
	"fmt"
	"strings"
)

// Path normalization: routes are an access boundary ("/admin" to one
// backend, "/" to another), so a request path must reach the route that
// the backend will see it as. Every provider routes on, and forwards,
// NormalizePath of the raw request path; paths that some backend could
// still read differently are refused with 400 instead.
//
// The steps, in this order (HAProxy's "http-request normalize-uri"
// percent-decode-unreserved, percent-to-uppercase, path-merge-slashes,
// path-strip-dot and path-strip-dotdot full do the same):
//
//  1. percent-encoded unreserved characters (ALPHA DIGIT - . _ ~) are
//     decoded, and the hex digits of the other percent-encodings are
//     upper-cased (RFC 3986, sections 6.2.2.1 and 6.2.2.2);
//  2. repeated slashes are merged into one;
//  3. dot segments are removed (RFC 3986, section 5.2.4); ".." never
//     climbs above "/".
//
// Refused: an encoded "/" (%2F), "\" (%5C) or control byte (%00-%1F,
// %7F), a raw "\", an invalid percent-encoding ("%zz", "%4"), and every
// byte CheckRequestTarget refuses. Decoding %2F would split a segment
// the client sent as one, keeping it lets a backend that decodes it see a
// path the router did not; either choice lets some backend disagree with
// the router, so the request is refused. "\" is a separator for some
// backends (IIS, many Windows file servers) and NUL ends strings in
// others, for the same reason.

// CheckRequestTarget returns an error if a request target (the
// request-line target of HTTP/1.1, or ":path" of HTTP/2) holds a byte no
// valid target holds: a control byte, a space, DEL, a non-ASCII byte or
// "#" (a fragment is never sent). Such bytes, passed on raw, would end
// or change the request line a backend reads.
func CheckRequestTarget(target string) error {
	for i := 0; i < len(target); i++ {
		if c := target[i]; c <= ' ' || c >= 0x7f || c == '#' {
			return fmt.Errorf("request target: byte %#02x at offset %d is not allowed", c, i)
		}
	}
	return nil
}

// errNotAbsolute is returned for a path that does not start with "/".
var errNotAbsolute = errors.New("path must start with '/'")

// NormalizePath returns the normalized form of a raw (still
// percent-encoded) URL path, without its query, or an error for a path
// that is refused (see above). A path that is already normal is returned
// as it is, without allocating.
func NormalizePath(p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", errNotAbsolute
	}
	// One pass checks every byte and notes whether anything changes;
	// most paths are normal and end here.
	dirty := false
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '%':
			if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
				return "", fmt.Errorf("path: invalid percent-encoding at offset %d", i)
			}
			v := unhex(p[i+1])<<4 | unhex(p[i+2])
			switch {
			case v == '/' || v == '\\' || v < ' ' || v == 0x7f:
				return "", fmt.Errorf("path: encoded byte %%%02X at offset %d is not allowed", v, i)
			case isUnreserved(v) || isLowerHex(p[i+1]) || isLowerHex(p[i+2]):
				dirty = true
			}
			i += 2
		case c == '/':
			if rest := p[i+1:]; strings.HasPrefix(rest, "/") || isDotSegment(rest) {
				dirty = true
			}
		case c == '\\':
			return "", fmt.Errorf("path: raw '\\' at offset %d is not allowed", i)
		case c <= ' ' || c >= 0x7f || c == '#' || c == '?':
			return "", fmt.Errorf("path: byte %#02x at offset %d is not allowed", c, i)
		}
	}
	if !dirty {
		return p, nil
	}
	return normalizeSlow(p), nil
}

// normalizeSlow normalizes a path that NormalizePath checked and found to
// need changes.
func normalizeSlow(p string) string {
	// Step 1 into buf: it only shrinks the path.
	buf := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c != '%' {
			buf = append(buf, c)
			continue
		}
		v := unhex(p[i+1])<<4 | unhex(p[i+2])
		if isUnreserved(v) {
			buf = append(buf, v)
		} else {
			buf = append(buf, '%', upperHex[v>>4], upperHex[v&0xf])
		}
		i += 2
	}
	// Steps 2 and 3 in place: out (buf[:n]) never overtakes the segment
	// being read. Each segment is "/" plus its bytes; empty and "."
	// segments go, ".." takes the last segment out with it. A path that
	// ends in one of those keeps a trailing "/", as RFC 3986 does.
	n := 0
	trailing := false
	for i := 0; i < len(buf); {
		j := i + 1
		for j < len(buf) && buf[j] != '/' {
			j++
		}
		seg := buf[i+1 : j]
		trailing = false
		switch string(seg) {
		case "", ".":
			trailing = true
		case "..":
			n = max(0, lastSlash(buf[:n]))
			trailing = true
		default:
			n += copy(buf[n:], buf[i:j])
		}
		i = j
	}
	if n == 0 || trailing {
		buf = append(buf[:n], '/')
		n++
	}
	return string(buf[:n])
}

// isDotSegment reports whether rest, what follows a "/", begins with a
// "." or ".." segment.
func isDotSegment(rest string) bool {
	if end := strings.IndexByte(rest, '/'); end >= 0 {
		rest = rest[:end]
	}
	return rest == "." || rest == ".."
}

func lastSlash(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '/' {
			return i
		}
	}
	return -1
}

const upperHex = "0123456789ABCDEF"

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isLowerHex(c byte) bool { return 'a' <= c && c <= 'f' }

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// isUnreserved reports whether c is an unreserved character of RFC 3986,
// section 2.3, which percent-encoding must not change the meaning of.
func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
