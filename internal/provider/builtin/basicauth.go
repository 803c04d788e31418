package builtin

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// Limits of basic authentication on the proxy.
const (
	// maxAuthorization bounds the Authorization header that is decoded;
	// a longer one is refused unread.
	maxAuthorization = 4096
	// maxVerified bounds the cache of credentials that verified; when
	// full it is emptied, so a flood of distinct valid logins costs at
	// worst what no cache would.
	maxVerified = 1024
	// checkWait bounds how long a request waits for a password check
	// while others hold every slot (userList.checks); then it is refused.
	checkWait = 2 * time.Second
)

// unauthorizedBody answers a request without valid credentials.
const unauthorizedBody = "401 unauthorized: credentials required"

// basicAuth is a compiled lbconfig.BasicAuth.
type basicAuth struct {
	// challenge is the WWW-Authenticate value.
	challenge string
	users     *userList
}

// userList is a compiled lbconfig.Credentials: the users' hashes, and a
// cache of the credentials that verified, so that a client does not pay a
// bcrypt per request. A changed Secret makes a new userList, and so an
// empty cache.
type userList struct {
	// src is what the list was compiled from, for reuse by the next table.
	src   []lbconfig.User
	users map[string]storedHash
	// decoy is checked for an unknown user, so that the answer takes as
	// long as for a known one.
	decoy storedHash
	// key makes the cache's entries unlike any hash of a password kept
	// elsewhere.
	key [32]byte

	mu       sync.Mutex
	verified map[[sha256.Size]byte]struct{}
	// checks holds a slot per password check under way: at most half the
	// CPUs hash at once, so that a flood of wrong passwords (each a full
	// bcrypt) leaves the rest to serving; a client in the cache needs
	// no slot.
	checks chan struct{}
	wait   time.Duration
}

type storedHash struct {
	format lbconfig.HashFormat
	hash   string
}

// newUserList compiles c; a hash format that the builtin cannot verify
// (none today) or an invalid one is an error naming the user.
func newUserList(c *lbconfig.Credentials) (*userList, error) {
	ul := &userList{
		src: slices.Clone(c.Users), users: make(map[string]storedHash, len(c.Users)),
		verified: map[[sha256.Size]byte]struct{}{},
		checks:   make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2)), wait: checkWait,
	}
	for _, u := range c.Users {
		f, err := lbconfig.HashFormatOf(u.Hash)
		if err != nil {
			return nil, fmt.Errorf("credentials %q: user %q: %w", c.Name, u.Name, err)
		}
		ul.users[u.Name] = storedHash{format: f, hash: u.Hash}
		if ul.decoy.hash == "" {
			ul.decoy = storedHash{format: f, hash: u.Hash}
		}
	}
	if len(ul.users) == 0 {
		return nil, fmt.Errorf("credentials %q: no user", c.Name)
	}
	_, _ = rand.Read(ul.key[:])
	return ul, nil
}

// authenticate reports whether the Authorization header value holds the
// credentials of one of the users.
func (ul *userList) authenticate(authorization string) bool {
	if len(authorization) > maxAuthorization {
		return false
	}
	scheme, token, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return false
	}
	decoded, err := base64.StdEncoding.DecodeString(strings.Trim(token, " \t"))
	if err != nil {
		return false
	}
	user, password, ok := strings.Cut(string(decoded), ":")
	if !ok {
		return false
	}
	h := sha256.New()
	h.Write(ul.key[:])
	h.Write(decoded)
	var key [sha256.Size]byte
	h.Sum(key[:0])
	ul.mu.Lock()
	_, cached := ul.verified[key]
	ul.mu.Unlock()
	if cached {
		return true
	}
	timer := time.NewTimer(ul.wait)
	defer timer.Stop()
	select {
	case ul.checks <- struct{}{}:
		defer func() { <-ul.checks }()
	case <-timer.C:
		return false // too many checks under way: refused, never waved through
	}
	stored, known := ul.users[user]
	if !known {
		verifyPassword(ul.decoy.format, ul.decoy.hash, password)
		return false
	}
	if !verifyPassword(stored.format, stored.hash, password) {
		return false
	}
	ul.mu.Lock()
	if len(ul.verified) >= maxVerified {
		clear(ul.verified)
	}
	ul.verified[key] = struct{}{}
	ul.mu.Unlock()
	return true
}

// authorize answers 401 and returns false unless r carries credentials of
// one of a's users; an authorized request loses its Authorization header,
// which the backend never sees (as with ingress-nginx).
func (a *basicAuth) authorize(w http.ResponseWriter, r *http.Request) bool {
	values := r.Header.Values("Authorization")
	if len(values) == 1 && a.users.authenticate(values[0]) {
		r.Header.Del("Authorization")
		return true
	}
	w.Header().Set("WWW-Authenticate", a.challenge)
	http.Error(w, unauthorizedBody, http.StatusUnauthorized)
	return false
}

// attachAuth gives the routes of l their basic authentication, compiling
// each Credentials once per build, or reusing prev's when its users are
// the same (and so its cache of verified credentials).
func (t *table) attachAuth(pr *portRoutes, l lbconfig.Listener, cfg *lbconfig.Config, prev *table) error {
	for k, vh := range l.VirtualHosts {
		v := pr.vhostNamed(vh.Hostname)
		for r, rt := range vh.Routes {
			if rt.BasicAuth == nil {
				continue
			}
			ul, err := t.userList(rt.BasicAuth.Credentials, cfg, prev)
			if err != nil {
				return fmt.Errorf("virtual host %d (%q): route %d: %w", k, vh.Hostname, r, err)
			}
			if err := lbconfig.CheckRealm(rt.BasicAuth.Realm); err != nil {
				return fmt.Errorf("virtual host %d (%q): route %d: %w", k, vh.Hostname, r, err)
			}
			v.routes[r].auth = &basicAuth{challenge: `Basic realm="` + rt.BasicAuth.Realm + `", charset="UTF-8"`, users: ul}
		}
	}
	return nil
}

func (t *table) userList(name string, cfg *lbconfig.Config, prev *table) (*userList, error) {
	if ul := t.auths[name]; ul != nil {
		return ul, nil
	}
	c := cfg.Credential(name)
	if c == nil {
		return nil, fmt.Errorf("credentials %q do not exist", name)
	}
	var ul *userList
	if prev != nil {
		if old := prev.auths[name]; old != nil && slices.Equal(old.src, c.Users) {
			ul = old
		}
	}
	if ul == nil {
		var err error
		if ul, err = newUserList(c); err != nil {
			return nil, err
		}
	}
	t.auths[name] = ul
	return ul, nil
}
