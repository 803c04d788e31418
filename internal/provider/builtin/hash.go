package builtin

import (
	"bytes"
	"net/http"
	"net/textproto"
	"slices"
	"time"

	"ingress-controller/internal/provider/builtin/http1"
	"ingress-controller/pkg/lbconfig"
)

// Hash policies (lbconfig.Hash): a request's key is hashed with FNV-1a,
// part by part with a zero byte between parts, from the bytes where they
// are (the fast path's buffer, net/http's header map), so that a key
// costs no allocation; the sum picks the first point at or after it on
// the backend's ring, built at Apply with ringPoints points per ready
// endpoint, placed by a hash of the endpoint's address alone. Every
// process and table places an endpoint at the same points, so replicas
// send a key to the same endpoint, and an endpoint that comes or goes
// moves only the keys of the arcs it gains or loses (about 1/N).

// ringPoints is how many points each endpoint has on a ring (as ketama):
// enough for the keys to spread within a few percent of evenly.
const ringPoints = 160

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// hashKey is a compiled lbconfig.Hash.
type hashKey struct {
	parts []hashPart
}

type hashPart struct {
	typ lbconfig.HashPartType
	// name is the header (lower case), cookie or literal; canonical is
	// the header's key in an http.Header.
	name, canonical string
}

func compileHash(h *lbconfig.Hash) *hashKey {
	if h == nil {
		return nil
	}
	k := &hashKey{parts: make([]hashPart, len(h.Key))}
	for i, p := range h.Key {
		k.parts[i] = hashPart{typ: p.Type, name: p.Name}
		if p.Type == lbconfig.HashHeader {
			k.parts[i].canonical = textproto.CanonicalMIMEHeaderKey(p.Name)
		}
	}
	return k
}

// ringPoint is a point of an endpoint (an index into backend.endpoints)
// on a ring.
type ringPoint struct {
	at uint64
	ep int32
}

// buildRing places every endpoint at its ringPoints points, sorted.
func buildRing(eps []endpoint) []ringPoint {
	ring := make([]ringPoint, 0, len(eps)*ringPoints)
	for i := range eps {
		base := fnvAdd(fnvOffset, eps[i].addr)
		for j := range ringPoints {
			h := fnvByte(fnvByte(fnvByte(base, '#'), byte(j)), byte(j>>8))
			ring = append(ring, ringPoint{at: mix(h), ep: int32(i)})
		}
	}
	slices.SortFunc(ring, func(a, b ringPoint) int {
		if a.at != b.at {
			if a.at < b.at {
				return -1
			}
			return 1
		}
		return int(a.ep - b.ep)
	})
	return ring
}

// chooseByKey is choose for a hash policy: the endpoint of the ring at or
// after sum that is neither tried nor ejected; when all left are
// ejected, the first of those.
func (b *backend) chooseByKey(sum uint64, tried []*endpoint) choice {
	n := len(b.ring)
	if n == 0 || len(tried) >= len(b.endpoints) {
		return choice{}
	}
	now := time.Time{}
	if b.policy.health != nil {
		now = time.Now()
	}
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if b.ring[m].at < sum {
			lo = m + 1
		} else {
			hi = m
		}
	}
	var fallback *endpoint
	for k := range n {
		ep := &b.endpoints[b.ring[(lo+k)%n].ep]
		if isTried(tried, ep) {
			continue
		}
		if !ep.pool.ejected(now) {
			return choice{ep: ep}
		}
		if fallback == nil {
			fallback = ep
		}
	}
	return choice{ep: fallback}
}

// keySource is what a hash key reads of a request: requestKeys on
// net/http's path, headKeys on the fast path, whose target is normal, so
// that one request has one sum on either path.
type keySource[T string | []byte] interface {
	target() T
	host() T
	// header is the first field of the part's header.
	header(p *hashPart) (T, bool)
	// cookie is the value of the first cookie called name.
	cookie(name string) (T, bool)
}

// sumKey hashes the key of the request s.
func sumKey[T string | []byte, S keySource[T]](k *hashKey, s S, clientIP string) uint64 {
	h := uint64(fnvOffset)
	for i := range k.parts {
		p := &k.parts[i]
		if i > 0 {
			h = fnvByte(h, 0)
		}
		switch p.typ {
		case lbconfig.HashClientAddress:
			h = fnvAdd(h, clientIP)
		case lbconfig.HashRequestURI:
			h = fnvAdd(h, s.target())
		case lbconfig.HashPath:
			h = fnvAdd(h, pathOf(s.target()))
		case lbconfig.HashHeader:
			if p.name == "host" {
				h = fnvAdd(h, s.host())
			} else if v, ok := s.header(p); ok {
				h = fnvAdd(h, v)
			}
		case lbconfig.HashCookie:
			if v, ok := s.cookie(p.name); ok {
				h = fnvAdd(h, v)
			}
		case lbconfig.HashLiteral:
			h = fnvAdd(h, p.name)
		}
	}
	return mix(h)
}

// sumRequest hashes the key of a request on net/http's path.
func (k *hashKey) sumRequest(r *http.Request, clientIP string) uint64 {
	return sumKey[string](k, requestKeys{r}, clientIP)
}

// sumHead hashes the key of a request on the fast path.
func (k *hashKey) sumHead(head *http1.RequestHead, clientIP string) uint64 {
	return sumKey[[]byte](k, headKeys{head}, clientIP)
}

type requestKeys struct{ r *http.Request }

func (s requestKeys) target() string { return s.r.RequestURI }
func (s requestKeys) host() string   { return s.r.Host }

func (s requestKeys) header(p *hashPart) (string, bool) {
	if vs := s.r.Header[p.canonical]; len(vs) > 0 {
		return vs[0], true
	}
	return "", false
}

func (s requestKeys) cookie(name string) (string, bool) {
	for _, line := range s.r.Header["Cookie"] {
		if v, ok := cookieIn(line, name); ok {
			return v, true
		}
	}
	return "", false
}

type headKeys struct{ h *http1.RequestHead }

func (s headKeys) target() []byte { return s.h.Target }
func (s headKeys) host() []byte   { return s.h.Host }

func (s headKeys) header(p *hashPart) ([]byte, bool) { return headField(s.h, p.name) }

func (s headKeys) cookie(name string) ([]byte, bool) {
	for i := range s.h.Fields {
		f := &s.h.Fields[i]
		if !bytes.EqualFold(f.Name, []byte("Cookie")) {
			continue
		}
		if v, ok := cookieIn(f.Value, name); ok {
			return v, true
		}
	}
	return nil, false
}

// choose is backend.choose on the fast path, which has no *http.Request.
func (fc *fastConn) choose(b *backend, tried []*endpoint) choice {
	if k := b.policy.hash; k != nil {
		return b.chooseByKey(k.sumHead(&fc.head, fc.client), tried)
	}
	return b.choose(nil, fc.client, false, tried)
}

// headField returns the value of the first field called name.
func headField(head *http1.RequestHead, name string) ([]byte, bool) {
	for i := range head.Fields {
		if f := &head.Fields[i]; len(f.Name) == len(name) && asciiEqualFold(f.Name, name) {
			return f.Value, true
		}
	}
	return nil, false
}

func asciiEqualFold(b []byte, s string) bool {
	for i := range len(b) {
		c, d := b[i], s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

// pathOf is target up to its query.
func pathOf[T string | []byte](target T) T {
	for i := range len(target) {
		if target[i] == '?' {
			return target[:i]
		}
	}
	return target
}

// cookieIn returns the value of the first cookie called name in one Cookie
// field, as it came (quotes and all).
func cookieIn[T string | []byte](line T, name string) (T, bool) {
	for len(line) > 0 {
		end := len(line)
		for i := range len(line) {
			if line[i] == ';' {
				end = i
				break
			}
		}
		pair := trimSpace(line[:end])
		if len(pair) > len(name) && pair[len(name)] == '=' && hasPrefix(pair, name) {
			return pair[len(name)+1:], true
		}
		if end == len(line) {
			break
		}
		line = line[end+1:]
	}
	return line[:0], false
}

func hasPrefix[T string | []byte](s T, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := range len(prefix) {
		if s[i] != prefix[i] {
			return false
		}
	}
	return true
}

func trimSpace[T string | []byte](s T) T {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

func fnvAdd[T string | []byte](h uint64, s T) uint64 {
	for i := range len(s) {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

func fnvByte(h uint64, c byte) uint64 { return (h ^ uint64(c)) * fnvPrime }

// mix spreads FNV's sum over all 64 bits (splitmix64's finalizer): FNV
// alone leaves similar keys close together on the ring.
func mix(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}
