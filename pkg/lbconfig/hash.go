package lbconfig

import (
	"fmt"

	"ingress-controller/internal/clip"
)

// HashPartType is what a part of a hash key reads from a request.
type HashPartType string

// Hash key parts. A part that is missing from a request (no such header
// or cookie) reads as empty, so such requests share one endpoint, as in
// ingress-nginx.
const (
	// HashClientAddress is the TCP peer's IP address, never a forwarding
	// header.
	HashClientAddress HashPartType = "ClientAddress"
	// HashRequestURI is the request target the backend gets: the
	// normalized path (after a Rewrite) and the query.
	HashRequestURI HashPartType = "RequestURI"
	// HashPath is that path, without the query.
	HashPath HashPartType = "Path"
	// HashHeader is the value of the first field called Name; "host" is
	// the request's host as the client sent it.
	HashHeader HashPartType = "Header"
	// HashCookie is the value of the first cookie called Name.
	HashCookie HashPartType = "Cookie"
	// HashLiteral is the text Name itself.
	HashLiteral HashPartType = "Literal"
)

// Hash limits.
const (
	// MaxHashParts bounds the parts of a key.
	MaxHashParts = 8
	// MaxHashLiteralBytes bounds a literal part.
	MaxHashLiteralBytes = 64
)

// Hash spreads requests over a backend's endpoints by a key read from
// each request, with consistent hashing: requests with the same key go to
// the same endpoint while it is ready, and adding or removing one of N
// endpoints moves about 1/N of the keys. An endpoint that is not ready, or
// ejected, passes its keys on to the next endpoints of the ring. A TCP
// connection has no request: it is balanced as without a Hash.
type Hash struct {
	// Key is the concatenation of its parts, in order.
	Key []HashPart `json:"key"`
}

// HashPart is one part of a hash key.
type HashPart struct {
	Type HashPartType `json:"type"`
	// Name is the header name (lower case) of HashHeader, the cookie name
	// of HashCookie and the text of HashLiteral; the other types have
	// none.
	Name string `json:"name,omitempty"`
}

// hash validates a policy's Hash.
func (v *validator) hash(f string, p Policy) {
	h := p.Hash
	if p.Affinity != nil {
		v.add(f+".hash", "a backend balances by affinity or by a hash, not both")
	}
	if len(h.Key) == 0 || len(h.Key) > MaxHashParts {
		v.add(f+".hash.key", fmt.Sprintf("must have 1 to %d parts", MaxHashParts))
	}
	for i, part := range h.Key {
		if i >= MaxHashParts {
			break
		}
		if err := CheckHashPart(part); err != nil {
			v.add(fmt.Sprintf("%s.hash.key[%d]", f, i), err.Error())
		}
	}
}

// CheckHashPart returns an error unless part is one a provider can read.
func CheckHashPart(part HashPart) error {
	switch part.Type {
	case HashClientAddress, HashRequestURI, HashPath:
		if part.Name != "" {
			return fmt.Errorf("a %s part has no name", part.Type)
		}
	case HashHeader:
		return CheckMatchHeaderName(part.Name)
	case HashCookie:
		return CheckMatchCookieName(part.Name)
	case HashLiteral:
		return checkHashLiteral(part.Name)
	default:
		return fmt.Errorf("unknown hash part type %q", clip.Value(string(part.Type)))
	}
	return nil
}

// checkHashLiteral accepts 1 to MaxHashLiteralBytes letters, digits and
// "-._~:/@", which every provider writes as they are.
func checkHashLiteral(s string) error {
	if s == "" || len(s) > MaxHashLiteralBytes {
		return fmt.Errorf("literal %q must have 1 to %d characters", clip.Value(s), MaxHashLiteralBytes)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z') && !('A' <= c && c <= 'Z') && !('0' <= c && c <= '9') && !isHashLiteralPunct(c) {
			return fmt.Errorf("literal %q holds %q: only letters, digits and -._~:/@ are allowed", clip.Value(s), c)
		}
	}
	return nil
}

func isHashLiteralPunct(c byte) bool {
	switch c {
	case '-', '.', '_', '~', ':', '/', '@':
		return true
	}
	return false
}
