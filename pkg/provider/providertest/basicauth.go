package providertest

import (
	"encoding/base64"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// Password hashes of "s3cret" in every format lbconfig knows, made by
// htpasswd (apache2-utils) and openssl passwd.
var s3cretHashes = map[lbconfig.HashFormat][]string{
	lbconfig.HashBcrypt: {
		"$2y$05$40FKswUoByTuMd3BQAf5oO1FCWsAxQWUMWg/wGSwFgVamrlMc8/Bm",
		"$2a$05$40FKswUoByTuMd3BQAf5oO1FCWsAxQWUMWg/wGSwFgVamrlMc8/Bm",
		"$2b$05$40FKswUoByTuMd3BQAf5oO1FCWsAxQWUMWg/wGSwFgVamrlMc8/Bm",
	},
	lbconfig.HashAPR1:        {"$apr1$CT7MCO5G$TG8lUK7RX2o7F4TqVz0Fw."},
	lbconfig.HashMD5Crypt:    {"$1$Jts9GFdp$affxqbidfwI07xO7LfBjR/"},
	lbconfig.HashSHA256Crypt: {"$5$bPT2VqnzPN/tvdPc$iNCqR3LN0stzZMAg3X81/NmTwXw3Ci925EMUj5BOF34"},
	lbconfig.HashSHA512Crypt: {"$6$Wr5jba/42dNyFThc$JyVlwtSz/fH6EzwZXPXR//LhlQzq4xrlQnzqUqYG3baJrEU95qcGEZ4AlTrqL/tqqezAY45X3SenuC44A3Dce1"},
	lbconfig.HashSHA1:        {"{SHA}/vNB+F2HQ559kaLUZbmHHvZrXpg="},
}

// Other bcrypt hashes (htpasswd -B -C 4): of "" and of "n3w-pass".
const (
	emptyPasswordHash = "$2y$04$F3WXDc6M6ZDBcqu.IVZReesKiC.4MPaWitCX0mBLdgpWLwFjzt4M."
	newPasswordHash   = "$2y$04$TucRBCpOdo/Lvl3rYCWdyu556Re2faTeDRo486SELV5e/GIK.unIy"
)

const testRealm = "Test realm - private"

// hostileUserNames are user names that a provider's configuration could
// take for syntax (quotes, comments, variables, fetches, spaces).
var hostileUserNames = []string{`a b`, `#x`, `$HOME`, `${HOME}`, `"q"`, `back\slash`, `%[src]`, `user x password y`, `a;b,c=d`}

// basicAuthCredentials has a user "<format>-<i>" for each hash of each
// format the provider verifies, a UTF-8 user, users with hostile names,
// and one with an empty password.
func (s *Suite) basicAuthCredentials() lbconfig.Credentials {
	c := lbconfig.Credentials{Name: "test/users", Users: []lbconfig.User{
		{Name: "zoë", Hash: s3cretHashes[lbconfig.HashBcrypt][0]},
		{Name: "empty", Hash: emptyPasswordHash},
	}}
	for _, name := range hostileUserNames {
		c.Users = append(c.Users, lbconfig.User{Name: name, Hash: s3cretHashes[lbconfig.HashBcrypt][0]})
	}
	for _, f := range s.Capabilities.HashFormats {
		for i, h := range s3cretHashes[f] {
			c.Users = append(c.Users, lbconfig.User{Name: string(f) + "-" + strconv.Itoa(i), Hash: h})
		}
	}
	return c
}

func basicCredentials(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// testBasicAuth checks lbconfig.Route.BasicAuth: without credentials, or
// with wrong or malformed ones, the load balancer answers 401 with the
// realm and the backend sees nothing; with a right password in each hash
// format the provider declares, the backend answers and never sees the
// Authorization header; a format it does not declare is rejected by Apply
// while the old config keeps serving; a changed password takes effect.
func (s *Suite) testBasicAuth(t *testing.T) {
	if len(s.Capabilities.HashFormats) == 0 {
		t.Fatal("providertest: Capabilities.HashFormats is empty: every provider verifies some password hash format")
	}
	l := s.start(t)
	open, guarded, def := l.startBackend("open"), l.startBackend("guarded"), l.startBackend("default")
	port := l.freePort()
	creds := s.basicAuthCredentials()
	build := func(c lbconfig.Credentials) *lbconfig.Config {
		auth := &lbconfig.BasicAuth{Realm: testRealm, Credentials: c.Name}
		private, privateExact := prefix("/private", guarded), exact("/private-exact", guarded)
		private.BasicAuth, privateExact.BasicAuth = auth, auth
		cfg := config(oneLB(port, def.defaultTo(),
			vhost("app.example.com", prefix("/", open), private, privateExact),
		), open.pool(), guarded.pool(), def.pool())
		cfg.Credentials = []lbconfig.Credentials{c}
		return cfg
	}
	l.apply(build(creds))
	unauthorized := status(http.StatusUnauthorized)
	l.expect(
		at(port, "app.example.com", "/", from(open)),
		at(port, "app.example.com", "/private", unauthorized),
		at(port, "app.example.com", "/private/x", unauthorized),
		at(port, "app.example.com", "/private-exact", unauthorized),
		at(port, "app.example.com", "/private//x", unauthorized),
		at(port, "app.example.com", "/x/../private", unauthorized),
		at(port, "app.example.com", "/privatex", from(open)),
		at(port, "other.example.com", "/private", from(def)),
	)
	r := l.get(l.client, port, "app.example.com", "/private")
	if got, want := r.header.Get("WWW-Authenticate"), `Basic realm="`+testRealm+`"`; !strings.HasPrefix(got, want) {
		t.Errorf("401 WWW-Authenticate = %q, want %s...", got, want)
	}
	refused := map[string][]string{
		"wrong password":          {"Authorization", basicCredentials("zoë", "s3cret!")},
		"unknown user":            {"Authorization", basicCredentials("mallory", "s3cret")},
		"user case":               {"Authorization", basicCredentials("ZOË", "s3cret")},
		"empty password":          {"Authorization", basicCredentials("zoë", "")},
		"no colon":                {"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("zoës3cret"))},
		"scheme only":             {"Authorization", "Basic"},
		"not base64":              {"Authorization", "Basic !!!!"},
		"raw credentials":         {"Authorization", "Basic zoë:s3cret"},
		"other scheme":            {"Authorization", "Bearer " + base64.StdEncoding.EncodeToString([]byte("zoë:s3cret"))},
		"non-utf-8 user":          {"Authorization", basicCredentials("zo\xeb", "s3cret")},
		"nul in user":             {"Authorization", basicCredentials("zoë\x00", "s3cret")},
		"long password":           {"Authorization", basicCredentials("zoë", strings.Repeat("s3cret", 500))},
		"two fields":              {"Authorization", basicCredentials("mallory", "x"), "Authorization", basicCredentials("zoë", "s3cret")},
		"two fields, valid first": {"Authorization", basicCredentials("zoë", "s3cret"), "Authorization", basicCredentials("mallory", "x")},
		"forwarded user":          {"X-Forwarded-User", "zoë", "X-Remote-User", "zoë", "Remote-User", "zoë"},
		"proxy credentials":       {"Proxy-Authorization", basicCredentials("zoë", "s3cret")},
	}
	for name, hdr := range refused {
		for _, path := range []string{"/private", "/private-exact"} {
			if r := l.get(l.client, port, "app.example.com", path, hdr...); !unauthorized.matches(r) {
				t.Errorf("%s: GET %s: got %s, want %s", name, path, r, unauthorized)
			}
		}
	}
	if n := guarded.hits.Load(); n != 0 {
		t.Fatalf("the protected backend got %d requests without valid credentials, want none", n)
	}
	for _, u := range creds.Users {
		password := "s3cret"
		if u.Name == "empty" {
			password = ""
		}
		for _, path := range []string{"/private/x", "/private-exact"} {
			r := l.get(l.client, port, "app.example.com", path, "Authorization", basicCredentials(u.Name, password), "X-Echo-Headers", "1")
			if !from(guarded).matches(r) {
				t.Errorf("user %s: GET %s: got %s, want %s", u.Name, path, r, from(guarded))
				continue
			}
			if strings.Contains(strings.ToLower(r.body), "authorization:") {
				t.Errorf("user %s: the backend saw the Authorization header:\n%s", u.Name, r.body)
			}
		}
	}
	// The scheme is case-insensitive (RFC 7617).
	if r := l.get(l.client, port, "app.example.com", "/private", "Authorization", "basic "+base64.StdEncoding.EncodeToString([]byte("zoë:s3cret"))); !from(guarded).matches(r) {
		t.Errorf("lower-case scheme: got %s, want %s", r, from(guarded))
	}
	// A field holding a bare CR or NUL, or a second field smuggled after
	// one, sent raw, never opens. (A field folded over two lines is
	// unfolded by both providers, as RFC 9112 allows: it is the same
	// credentials.)
	for _, raw := range []string{
		"Authorization: " + basicCredentials("zoë", "s3cret") + "\rX: y\r\n",
		"Authorization: " + basicCredentials("zoë", "s3cret") + "\x00\r\n",
		"Authorization: Basic\rAuthorization: " + basicCredentials("zoë", "s3cret") + "\r\n",
		"Authorization : " + basicCredentials("zoë", "s3cret") + "\r\n",
	} {
		if st := l.rawAuthStatus(port, raw); st == http.StatusOK {
			t.Errorf("raw header %q: got 200", raw)
		}
	}
	s.checkUnsupportedHashRejected(t, l, build, creds)

	// A changed password takes effect; the old one no longer opens, even
	// for a client that was served with it (a cache must follow).
	changed := creds
	changed.Users = []lbconfig.User{{Name: "zoë", Hash: newPasswordHash}}
	l.apply(build(changed))
	l.eventually("the changed password to take effect", func() (bool, string) {
		r := l.get(l.client, port, "app.example.com", "/private", "Authorization", basicCredentials("zoë", "n3w-pass"))
		return from(guarded).matches(r), r.String()
	})
	for _, u := range creds.Users {
		if r := l.get(l.client, port, "app.example.com", "/private", "Authorization", basicCredentials(u.Name, "s3cret")); !unauthorized.matches(r) {
			t.Errorf("after the change, user %s with the old password: got %s, want %s", u.Name, r, unauthorized)
		}
	}
}

// checkUnsupportedHashRejected applies, for each format the provider
// does not declare, credentials with a user in it: Apply must fail, and
// the old config keep serving with its protection.
func (s *Suite) checkUnsupportedHashRejected(t *testing.T, l *lab, build func(lbconfig.Credentials) *lbconfig.Config, creds lbconfig.Credentials) {
	t.Helper()
	for f, hashes := range s3cretHashes {
		if containsFormat(s.Capabilities.HashFormats, f) {
			continue
		}
		bad := creds
		bad.Users = []lbconfig.User{{Name: "x", Hash: hashes[0]}}
		if _, err := l.tryApply(build(bad)); err == nil {
			t.Errorf("Apply of a %s hash, which the provider does not declare, succeeded", f)
			continue
		}
		port := build(creds).LoadBalancers[0].Listeners[0].Port
		if r := l.get(l.client, port, "app.example.com", "/private"); r.status != http.StatusUnauthorized {
			t.Errorf("after the rejected %s Apply, GET /private without credentials: got %s, want 401", f, r)
		}
	}
}

func containsFormat(fs []lbconfig.HashFormat, f lbconfig.HashFormat) bool {
	for _, x := range fs {
		if x == f {
			return true
		}
	}
	return false
}

// rawAuthStatus sends GET /private with the raw header lines hdr and
// returns the status of the answer, or 0.
func (l *lab) rawAuthStatus(port int32, hdr string) int {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(l.addr, strconv.Itoa(int(port))), 5*time.Second)
	if err != nil {
		return 0
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("GET /private HTTP/1.1\r\nHost: app.example.com\r\n" + hdr + "Connection: close\r\n\r\n")); err != nil {
		return 0
	}
	buf := make([]byte, 64)
	n, _ := c.Read(buf)
	// "HTTP/1.1 NNN"
	if n < 12 {
		return 0
	}
	st, _ := strconv.Atoi(string(buf[9:12]))
	return st
}

// testAuthWithHeaders checks the order of basic authentication, CORS and
// request header changes on one route: a CORS preflight is answered
// without credentials (a browser sends none with it) and never reaches
// the backend; a request header change, even one that sets an
// Authorization field, never stands in for the client's credentials;
// with them, the backend gets the request with the changes.
func (s *Suite) testAuthWithHeaders(t *testing.T) {
	l := s.start(t)
	guarded := l.startBackend("guarded")
	port := l.freePort()
	creds := lbconfig.Credentials{Name: "test/users", Users: []lbconfig.User{{Name: "zoë", Hash: s3cretHashes[lbconfig.HashBcrypt][0]}}}
	rt := prefix("/", guarded)
	rt.BasicAuth = &lbconfig.BasicAuth{Realm: testRealm, Credentials: creds.Name}
	rt.CORS = &lbconfig.CORS{AllowOrigins: []string{"https://app.example.org"}, AllowMethods: []string{"GET", "PUT"}}
	rt.RequestHeaders = &lbconfig.HeaderModifier{Set: []lbconfig.Header{
		{Name: "Authorization", Value: basicCredentials("zoë", "s3cret")},
		{Name: "X-Injected", Value: "yes"},
	}}
	cfg := config(oneLB(port, nil, vhost("app.example.com", rt)), guarded.pool())
	cfg.Credentials = []lbconfig.Credentials{creds}
	l.apply(cfg)

	r := l.do(http.MethodOptions, port, "app.example.com", "/x", "Origin", "https://app.example.org", "Access-Control-Request-Method", "PUT")
	if r.err != nil || r.status != http.StatusNoContent || r.server != "" || r.header.Get("Access-Control-Allow-Origin") != "https://app.example.org" {
		t.Errorf("preflight without credentials: got %s (Access-Control-Allow-Origin %q), want 204 from the load balancer with the grant", r, r.header.Get("Access-Control-Allow-Origin"))
	}
	for _, hdr := range [][]string{nil, {"Authorization", basicCredentials("zoë", "wrong")}} {
		if r := l.get(l.client, port, "app.example.com", "/x", hdr...); r.status != http.StatusUnauthorized {
			t.Errorf("GET with %q, on a route whose header changes set valid credentials: got %s, want 401", hdr, r)
		}
	}
	if n := guarded.hits.Load(); n != 0 {
		t.Fatalf("the protected backend got %d requests without valid credentials, want none", n)
	}
	r = l.get(l.client, port, "app.example.com", "/x", "Authorization", basicCredentials("zoë", "s3cret"), "X-Echo-Headers", "1")
	if !from(guarded).matches(r) || !strings.Contains(strings.ToLower(r.body), "x-injected: yes") {
		t.Errorf("GET with credentials: got %s, want the backend's answer with X-Injected: yes seen\n%s", r, r.body)
	}
}
