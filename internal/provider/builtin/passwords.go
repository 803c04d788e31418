package builtin

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"hash"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"ingress-controller/pkg/lbconfig"
)

// The password hashes of htpasswd files, verified in Go. MD5 crypt
// ("$1$", and Apache's "$apr1$", the same with another magic) follows
// Poul-Henning Kamp's md5crypt; SHA crypt ("$5$", "$6$") follows Ulrich
// Drepper's "Unix crypt using SHA-256 and SHA-512" specification. Both are
// checked against hashes made by htpasswd and openssl passwd in the tests.

// cryptAlphabet is crypt(3)'s base-64 alphabet.
const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// verifyPassword reports whether password matches hash, in format f,
// comparing the results in constant time. hash has passed
// lbconfig.HashFormatOf, so its cost is bounded.
func verifyPassword(f lbconfig.HashFormat, hash, password string) bool {
	var computed string
	switch f {
	case lbconfig.HashBcrypt:
		// Only the first 72 bytes of a password count, as in crypt(3).
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	case lbconfig.HashAPR1:
		computed = md5Crypt("$apr1$", hash, password)
	case lbconfig.HashMD5Crypt:
		computed = md5Crypt("$1$", hash, password)
	case lbconfig.HashSHA256Crypt:
		computed = shaCrypt("$5$", sha256.New, sha256Order[:], hash, password)
	case lbconfig.HashSHA512Crypt:
		computed = shaCrypt("$6$", sha512.New, sha512Order[:], hash, password)
	case lbconfig.HashSHA1:
		sum := sha1.Sum([]byte(password))
		computed = "{SHA}" + base64.StdEncoding.EncodeToString(sum[:])
	default:
		return false
	}
	return subtle.ConstantTimeCompare([]byte(computed), []byte(hash)) == 1
}

// md5Crypt returns the hash of password with the salt of hash, which
// starts with magic.
func md5Crypt(magic, hash, password string) string {
	salt, _, _ := strings.Cut(strings.TrimPrefix(hash, magic), "$")
	salt = salt[:min(len(salt), 8)]
	pw := []byte(password)

	alt := md5.New()
	alt.Write(pw)
	alt.Write([]byte(salt))
	alt.Write(pw)
	altSum := alt.Sum(nil)

	h := md5.New()
	h.Write(pw)
	h.Write([]byte(magic))
	h.Write([]byte(salt))
	for n := len(pw); n > 0; n -= 16 {
		h.Write(altSum[:min(n, 16)])
	}
	for n := len(pw); n > 0; n >>= 1 {
		if n&1 != 0 {
			h.Write([]byte{0})
		} else {
			h.Write(pw[:1])
		}
	}
	sum := h.Sum(nil)
	for i := range 1000 {
		h.Reset()
		if i&1 != 0 {
			h.Write(pw)
		} else {
			h.Write(sum)
		}
		if i%3 != 0 {
			h.Write([]byte(salt))
		}
		if i%7 != 0 {
			h.Write(pw)
		}
		if i&1 != 0 {
			h.Write(sum)
		} else {
			h.Write(pw)
		}
		sum = h.Sum(sum[:0])
	}
	out := []byte(magic + salt + "$")
	for _, g := range [5][3]int{{0, 6, 12}, {1, 7, 13}, {2, 8, 14}, {3, 9, 15}, {4, 10, 5}} {
		out = append64(out, uint(sum[g[0]])<<16|uint(sum[g[1]])<<8|uint(sum[g[2]]), 4)
	}
	return string(append64(out, uint(sum[11]), 2))
}

// The byte order of SHA crypt's encoding: triples of digest indexes, each
// written as four characters, then the rest.
var (
	sha256Order = [...][3]int{
		{0, 10, 20}, {21, 1, 11}, {12, 22, 2}, {3, 13, 23}, {24, 4, 14},
		{15, 25, 5}, {6, 16, 26}, {27, 7, 17}, {18, 28, 8}, {9, 19, 29},
	}
	sha512Order = [...][3]int{
		{0, 21, 42}, {22, 43, 1}, {44, 2, 23}, {3, 24, 45}, {25, 46, 4},
		{47, 5, 26}, {6, 27, 48}, {28, 49, 7}, {50, 8, 29}, {9, 30, 51},
		{31, 52, 10}, {53, 11, 32}, {12, 33, 54}, {34, 55, 13}, {56, 14, 35},
		{15, 36, 57}, {37, 58, 16}, {59, 17, 38}, {18, 39, 60}, {40, 61, 19},
		{62, 20, 41},
	}
)

// shaCrypt returns the hash of password with the salt and rounds of hash,
// which starts with magic.
func shaCrypt(magic string, newHash func() hash.Hash, order [][3]int, stored, password string) string {
	rest := strings.TrimPrefix(stored, magic)
	rounds, prefix := 5000, magic
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		n, tail, _ := strings.Cut(r, "$")
		rounds, _ = strconv.Atoi(n)
		rounds = max(rounds, 1000) // bounded above by HashFormatOf
		prefix += "rounds=" + strconv.Itoa(rounds) + "$"
		rest = tail
	}
	salt, _, _ := strings.Cut(rest, "$")
	salt = salt[:min(len(salt), 16)]
	pw, s := []byte(password), []byte(salt)

	h := newHash()
	h.Write(pw)
	h.Write(s)
	h.Write(pw)
	b := h.Sum(nil)
	size := len(b)

	h.Reset()
	h.Write(pw)
	h.Write(s)
	n := len(pw)
	for ; n > size; n -= size {
		h.Write(b)
	}
	h.Write(b[:n])
	for n := len(pw); n > 0; n >>= 1 {
		if n&1 != 0 {
			h.Write(b)
		} else {
			h.Write(pw)
		}
	}
	a := h.Sum(nil)

	h.Reset()
	for range len(pw) {
		h.Write(pw)
	}
	p := repeatTo(h.Sum(nil), len(pw))
	h.Reset()
	for range 16 + int(a[0]) {
		h.Write(s)
	}
	sSeq := repeatTo(h.Sum(nil), len(s))

	c := a
	for i := range rounds {
		h.Reset()
		if i&1 != 0 {
			h.Write(p)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(sSeq)
		}
		if i%7 != 0 {
			h.Write(p)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(p)
		}
		c = h.Sum(c[:0])
	}
	out := []byte(prefix + salt + "$")
	for _, g := range order {
		out = append64(out, uint(c[g[0]])<<16|uint(c[g[1]])<<8|uint(c[g[2]]), 4)
	}
	if size == sha256.Size {
		return string(append64(out, uint(c[31])<<8|uint(c[30]), 3))
	}
	return string(append64(out, uint(c[63]), 2))
}

// repeatTo returns n bytes made of d repeated.
func repeatTo(d []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, d[:min(len(d), n-len(out))]...)
	}
	return out
}

// append64 appends the n low 6-bit groups of v, lowest first, in
// cryptAlphabet.
func append64(out []byte, v uint, n int) []byte {
	for range n {
		out = append(out, cryptAlphabet[v&0x3f])
		v >>= 6
	}
	return out
}
