package lbconfig

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"ingress-controller/internal/clip"
)

// BasicAuth asks a route's clients for HTTP basic authentication
// (RFC 7617): a request without an Authorization header whose user and
// password match one of the users of Credentials gets 401 with
// WWW-Authenticate: Basic realm="<Realm>" and reaches no backend. An
// authenticated request reaches the backend without its Authorization
// header, as ingress-nginx sends it. The check comes after Access and
// after the HTTPS redirect, so that no password is asked over plain HTTP
// on a route that redirects.
type BasicAuth struct {
	// Realm is shown to the user by the browser; CheckRealm says which
	// characters it may hold.
	Realm string `json:"realm"`
	// Credentials names a Credentials of the same Config.
	Credentials string `json:"credentials"`
}

// Credentials is a list of users and their password hashes, read from one
// Secret and shared by every route that refers to it.
type Credentials struct {
	// Name is "<namespace>/<secret>".
	Name string `json:"name"`
	// Users are sorted by Name, each name once; at least one, at most
	// MaxUsers.
	Users []User `json:"users"`
}

// User is one user name and its password hash.
type User struct {
	// Name is valid UTF-8 of at most MaxUserNameLength bytes, without ':'
	// or control characters.
	Name string `json:"name"`
	// Hash is in one of the formats HashFormatOf knows; never serialized,
	// so never logged.
	Hash string `json:"-"`
}

// Limits on credentials, so that neither the controller nor a proxy can be
// made to hold or compute without bound.
const (
	MaxUsers          = 10000
	MaxUserNameLength = 256
	MaxHashLength     = 256
	MaxRealmLength    = 128
	// MaxBcryptCost bounds a bcrypt hash's cost: each step doubles the work
	// of one check, and a proxy checks the password of every request
	// (cost 12 is about a quarter of a second of CPU; 31 would be days).
	MaxBcryptCost = 12
	// MaxSHACryptRounds bounds the rounds of a $5$ or $6$ hash (5000 when
	// the hash does not say).
	MaxSHACryptRounds = 20000
)

// HashFormat is the format of a password hash.
type HashFormat string

// Password hash formats, as htpasswd, openssl passwd and crypt(3) write
// them.
const (
	// HashBcrypt is "$2a$", "$2b$" or "$2y$" (htpasswd -B).
	HashBcrypt HashFormat = "bcrypt"
	// HashAPR1 is Apache's MD5 "$apr1$" (htpasswd's default, openssl
	// passwd -apr1).
	HashAPR1 HashFormat = "apr1"
	// HashMD5Crypt is "$1$" (openssl passwd -1).
	HashMD5Crypt HashFormat = "md5-crypt"
	// HashSHA256Crypt is "$5$" (openssl passwd -5, htpasswd -2).
	HashSHA256Crypt HashFormat = "sha256-crypt"
	// HashSHA512Crypt is "$6$" (openssl passwd -6, htpasswd -5).
	HashSHA512Crypt HashFormat = "sha512-crypt"
	// HashSHA1 is "{SHA}", an unsalted SHA-1 (htpasswd -s).
	HashSHA1 HashFormat = "sha1"
)

// cryptAlphabet is the base-64 alphabet of crypt(3) and bcrypt hashes.
const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// HashFormatOf returns the format of hash, or an error when it is in no
// format a provider verifies (DES crypt and plain text among them) or is
// malformed, or its cost is above MaxBcryptCost or MaxSHACryptRounds.
func HashFormatOf(hash string) (HashFormat, error) {
	if len(hash) > MaxHashLength {
		return "", fmt.Errorf("hash is longer than %d bytes", MaxHashLength)
	}
	switch {
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		return HashBcrypt, checkBcrypt(hash)
	case strings.HasPrefix(hash, "$apr1$"):
		return HashAPR1, checkMD5Crypt(hash[len("$apr1$"):])
	case strings.HasPrefix(hash, "$1$"):
		return HashMD5Crypt, checkMD5Crypt(hash[len("$1$"):])
	case strings.HasPrefix(hash, "$5$"):
		return HashSHA256Crypt, checkSHACrypt(hash[len("$5$"):], 43)
	case strings.HasPrefix(hash, "$6$"):
		return HashSHA512Crypt, checkSHACrypt(hash[len("$6$"):], 86)
	case strings.HasPrefix(hash, "{SHA}"):
		if b, err := base64.StdEncoding.DecodeString(hash[len("{SHA}"):]); err != nil || len(b) != 20 {
			return "", fmt.Errorf("{SHA} hash is not the base64 of 20 bytes")
		}
		return HashSHA1, nil
	}
	return "", fmt.Errorf("unknown hash format (bcrypt, $apr1$, $1$, $5$, $6$ or {SHA} are known; plain text and DES crypt are not accepted)")
}

// checkBcrypt checks "$2x$NN$" followed by 53 characters of salt and hash.
func checkBcrypt(hash string) error {
	if len(hash) != 60 || hash[6] != '$' || !inAlphabet(hash[7:]) {
		return fmt.Errorf("bcrypt hash is not $2x$<cost>$ and 53 characters")
	}
	d1, d2 := hash[4], hash[5]
	cost := int(d1-'0')*10 + int(d2-'0')
	switch {
	case d1 < '0' || d1 > '9' || d2 < '0' || d2 > '9' || cost < 4 || cost > 31:
		return fmt.Errorf("bcrypt cost %q is not 04 to 31", hash[4:6])
	case cost > MaxBcryptCost:
		return fmt.Errorf("bcrypt cost %d is above %d: every request would pay it", cost, MaxBcryptCost)
	}
	return nil
}

// checkMD5Crypt checks "<salt>$<22 characters>" with a salt of 1 to 8
// characters.
func checkMD5Crypt(rest string) error {
	salt, sum, ok := strings.Cut(rest, "$")
	if !ok || len(salt) == 0 || len(salt) > 8 || !inAlphabet(salt) || len(sum) != 22 || !inAlphabet(sum) {
		return fmt.Errorf("MD5 crypt hash is not <magic><salt of 1 to 8>$<22 characters>")
	}
	return nil
}

// checkSHACrypt checks "[rounds=N$]<salt>$<sumLen characters>".
func checkSHACrypt(rest string, sumLen int) error {
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		n, tail, ok := strings.Cut(r, "$")
		rounds, err := strconv.Atoi(n)
		switch {
		case !ok || err != nil || rounds < 1 || n[0] == '0' || n[0] == '+':
			return fmt.Errorf("SHA crypt rounds %q is not a number", clip.Value(n))
		case rounds > MaxSHACryptRounds:
			return fmt.Errorf("SHA crypt rounds %d is above %d: every request would pay it", rounds, MaxSHACryptRounds)
		}
		rest = tail
	}
	salt, sum, ok := strings.Cut(rest, "$")
	if !ok || len(salt) > 16 || !inAlphabet(salt) || len(sum) != sumLen || !inAlphabet(sum) {
		return fmt.Errorf("SHA crypt hash is not <magic>[rounds=N$]<salt of up to 16>$<%d characters>", sumLen)
	}
	return nil
}

func inAlphabet(s string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(cryptAlphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}

// CheckUserName returns an error unless name can be a basic
// authentication user: not empty, valid UTF-8 of at most
// MaxUserNameLength bytes, without ':' (which ends the user in the
// Authorization header) or control characters.
func CheckUserName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("user name must not be empty")
	case len(name) > MaxUserNameLength:
		return fmt.Errorf("user name is longer than %d bytes", MaxUserNameLength)
	case !utf8.ValidString(name):
		return fmt.Errorf("user name %q is not valid UTF-8", clip.Value(name))
	case strings.ContainsRune(name, ':'):
		return fmt.Errorf("user name %q holds ':'", clip.Value(name))
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return fmt.Errorf("user name %q holds a control character", clip.Value(name))
		}
	}
	return nil
}

// CheckRealm returns an error unless realm is 1 to MaxRealmLength
// characters among letters, digits, space and "-._~:/", the characters
// ingress-nginx allows, which need no escaping in a quoted header value
// or a proxy's configuration.
func CheckRealm(realm string) error {
	if realm == "" {
		return fmt.Errorf("realm must not be empty")
	}
	if len(realm) > MaxRealmLength {
		return fmt.Errorf("realm is longer than %d characters", MaxRealmLength)
	}
	for i := 0; i < len(realm); i++ {
		c := realm[i]
		alnum := ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
		if !alnum && strings.IndexByte(" -._~:/", c) < 0 {
			return fmt.Errorf("realm %q holds a character other than letters, digits, space and -._~:/", clip.Value(realm))
		}
	}
	return nil
}

// Credential returns the credentials called name, or nil.
func (c *Config) Credential(name string) *Credentials {
	for i := range c.Credentials {
		if c.Credentials[i].Name == name {
			return &c.Credentials[i]
		}
	}
	return nil
}

// sortCredentials sorts the credentials by name and their users by name.
func (c *Config) sortCredentials() {
	slices.SortFunc(c.Credentials, func(a, b Credentials) int { return cmp.Compare(a.Name, b.Name) })
	for i := range c.Credentials {
		slices.SortStableFunc(c.Credentials[i].Users, func(a, b User) int { return cmp.Compare(a.Name, b.Name) })
	}
}

// credentials checks cs and returns the names of those that exist.
func (v *validator) credentials(cs []Credentials) map[string]bool {
	names := map[string]bool{}
	for i, cr := range cs {
		f := fmt.Sprintf("credentials[%d]", i)
		switch {
		case cr.Name == "":
			v.add(f+".name", "must not be empty")
		case names[cr.Name]:
			v.add(f+".name", fmt.Sprintf("duplicate credentials %q", cr.Name))
		}
		names[cr.Name] = true
		switch {
		case len(cr.Users) == 0:
			v.add(f+".users", "must have a user: without one no client could be served")
		case len(cr.Users) > MaxUsers:
			v.add(f+".users", fmt.Sprintf("%d users is more than %d", len(cr.Users), MaxUsers))
			continue
		}
		for k, u := range cr.Users {
			uf := fmt.Sprintf("%s.users[%d]", f, k)
			if err := CheckUserName(u.Name); err != nil {
				v.add(uf+".name", err.Error())
			} else if k > 0 && cr.Users[k-1].Name >= u.Name {
				v.add(uf+".name", fmt.Sprintf("%q must come after %q, once (sorted without duplicates)", clip.Value(u.Name), clip.Value(cr.Users[k-1].Name)))
			}
			if _, err := HashFormatOf(u.Hash); err != nil {
				v.add(uf+".hash", err.Error()) // the error never quotes the hash
			}
		}
	}
	return names
}

// basicAuths checks the BasicAuth of l's routes.
func (v *validator) basicAuths(f string, l Listener, creds map[string]bool) {
	for k, vh := range l.VirtualHosts {
		for r, route := range vh.Routes {
			ba := route.BasicAuth
			if ba == nil {
				continue
			}
			bf := fmt.Sprintf("%s.virtualHosts[%d].routes[%d].basicAuth", f, k, r)
			if err := CheckRealm(ba.Realm); err != nil {
				v.add(bf+".realm", err.Error())
			}
			if !creds[ba.Credentials] {
				v.add(bf+".credentials", fmt.Sprintf("credentials %q do not exist", clip.Value(ba.Credentials)))
			}
		}
	}
}
