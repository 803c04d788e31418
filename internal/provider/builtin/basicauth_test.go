package builtin

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// TestPasswordHashes checks every hash in testdata, made by openssl
// passwd, htpasswd (apache2-utils) and glibc's crypt(3), against its
// password and against wrong ones.
func TestPasswordHashes(t *testing.T) {
	b, err := os.ReadFile("testdata/password-hashes.json")
	if err != nil {
		t.Fatal(err)
	}
	var vectors [][2]string
	if err := json.Unmarshal(b, &vectors); err != nil {
		t.Fatal(err)
	}
	formats := map[lbconfig.HashFormat]int{}
	for _, v := range vectors {
		password, hash := v[0], v[1]
		f, err := lbconfig.HashFormatOf(hash)
		if err != nil {
			t.Errorf("HashFormatOf(%q) = %v", hash, err)
			continue
		}
		formats[f]++
		if !verifyPassword(f, hash, password) {
			t.Errorf("%s hash %q does not verify password %q", f, hash, password)
		}
		for _, wrong := range []string{password + "x", "x" + password, strings.ToUpper(password) + "!", ""} {
			if f == lbconfig.HashBcrypt && len(password) >= 72 && strings.HasPrefix(wrong, password) {
				continue // bcrypt reads 72 bytes, in crypt(3) too
			}
			if wrong != password && verifyPassword(f, hash, wrong) {
				t.Errorf("%s hash %q verifies the wrong password %q", f, hash, wrong)
			}
		}
	}
	for _, f := range []lbconfig.HashFormat{lbconfig.HashBcrypt, lbconfig.HashAPR1, lbconfig.HashMD5Crypt, lbconfig.HashSHA256Crypt, lbconfig.HashSHA512Crypt, lbconfig.HashSHA1} {
		if formats[f] == 0 {
			t.Errorf("no test vector of format %s", f)
		}
	}
}

func basic(userPass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(userPass))
}

// hashes of "s3cret" (openssl passwd, htpasswd -B -C 4).
const (
	apr1S3cret   = "$apr1$CT7MCO5G$TG8lUK7RX2o7F4TqVz0Fw."
	bcryptS3cret = "$2y$05$40FKswUoByTuMd3BQAf5oO1FCWsAxQWUMWg/wGSwFgVamrlMc8/Bm"
)

func testUsers(t *testing.T, users ...lbconfig.User) *userList {
	t.Helper()
	ul, err := newUserList(&lbconfig.Credentials{Name: "ns/auth", Users: users})
	if err != nil {
		t.Fatal(err)
	}
	return ul
}

func TestAuthenticate(t *testing.T) {
	ul := testUsers(t, lbconfig.User{Name: "alice", Hash: apr1S3cret}, lbconfig.User{Name: "bob", Hash: bcryptS3cret},
		lbconfig.User{Name: "zoë", Hash: apr1S3cret})
	for _, tc := range []struct {
		name   string
		header string
		want   bool
	}{
		{"apr1", basic("alice:s3cret"), true},
		{"bcrypt", basic("bob:s3cret"), true},
		{"utf-8 user", basic("zoë:s3cret"), true},
		{"scheme any case", "bAsIc " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret")), true},
		{"spaces around token", "Basic   " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret")) + " ", true},
		{"wrong password", basic("alice:s3cre"), false},
		{"password with colon", basic("alice:s3cret:"), false},
		{"empty password", basic("alice:"), false},
		{"no colon", basic("alices3cret"), false},
		{"unknown user", basic("mallory:s3cret"), false},
		{"user case", basic("Alice:s3cret"), false},
		{"empty", "", false},
		{"scheme only", "Basic", false},
		{"scheme and space", "Basic ", false},
		{"bearer", "Bearer " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret")), false},
		{"not base64", "Basic !!!!", false},
		{"raw", "Basic alice:s3cret", false},
		{"url-safe base64", "Basic " + base64.URLEncoding.EncodeToString([]byte("alice:s3cret?>")), false},
		{"non-utf-8", basic("\xff\xfe:s3cret"), false},
		{"nul in user", basic("alice\x00:s3cret"), false},
		{"crlf in user", basic("alice\r\nX: y:s3cret"), false},
		{"huge", basic("alice:" + strings.Repeat("s", 1<<20)), false},
		{"huge valid prefix", basic("alice:s3cret") + strings.Repeat(" ", maxAuthorization), false},
	} {
		if got := ul.authenticate(tc.header); got != tc.want {
			t.Errorf("%s: authenticate(%.60q) = %v, want %v", tc.name, tc.header, got, tc.want)
		}
	}
}

func TestAuthenticateEmptyPasswordUser(t *testing.T) {
	// A user whose password is empty (htpasswd -nbm u "") is served with
	// it, and only with it.
	ul := testUsers(t, lbconfig.User{Name: "u", Hash: "$apr1$7Lo7z.XX$L89imOqmpGsWu3e2WCVLp1"})
	if !ul.authenticate(basic("u:")) {
		t.Errorf("empty password refused")
	}
	if ul.authenticate(basic("u: ")) || ul.authenticate(basic("u")) {
		t.Errorf("a space or a missing colon was taken for the empty password")
	}
}

func TestAuthenticateCache(t *testing.T) {
	ul := testUsers(t, lbconfig.User{Name: "bob", Hash: bcryptS3cret})
	if ul.authenticate(basic("bob:wrong")) {
		t.Fatal("wrong password accepted")
	}
	if len(ul.verified) != 0 {
		t.Fatalf("a failed check was cached: %d entries", len(ul.verified))
	}
	if !ul.authenticate(basic("bob:s3cret")) || len(ul.verified) != 1 {
		t.Fatalf("right password: cache has %d entries, want 1", len(ul.verified))
	}
	for k := range ul.verified {
		if strings.Contains(string(k[:]), "s3cret") {
			t.Errorf("the cache key holds the password")
		}
	}
	// The cache is bounded: filled by distinct valid logins it empties.
	for i := range maxVerified + 10 {
		var k [32]byte
		k[0], k[1] = byte(i), byte(i>>8)
		ul.mu.Lock()
		if len(ul.verified) >= maxVerified {
			clear(ul.verified)
		}
		ul.verified[k] = struct{}{}
		ul.mu.Unlock()
	}
	if !ul.authenticate(basic("bob:s3cret")) || len(ul.verified) > maxVerified {
		t.Errorf("after a flood the cache has %d entries (max %d)", len(ul.verified), maxVerified)
	}
	// A changed Secret is a new list, without the old cache: the old
	// password no longer opens.
	changed := testUsers(t, lbconfig.User{Name: "bob", Hash: apr1S3cret[:len(apr1S3cret)-1] + "/"})
	if changed.authenticate(basic("bob:s3cret")) {
		t.Errorf("a changed hash still accepts the old password")
	}
}

func TestAuthenticateConcurrent(t *testing.T) {
	ul := testUsers(t, lbconfig.User{Name: "alice", Hash: apr1S3cret})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for range 50 {
				if ul.authenticate(basic("alice:s3cret")) != true || ul.authenticate(basic("alice:x"+string(rune('a'+i)))) {
					t.Error("wrong answer under concurrency")
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestUserListReusedOnlyWhenUnchanged(t *testing.T) {
	cfg := &lbconfig.Config{Credentials: []lbconfig.Credentials{{Name: "ns/a", Users: []lbconfig.User{{Name: "alice", Hash: apr1S3cret}}}}}
	prev := &table{auths: map[string]*userList{}}
	first, err := prev.userList("ns/a", cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	next := &table{auths: map[string]*userList{}}
	if same, _ := next.userList("ns/a", cfg, prev); same != first {
		t.Errorf("unchanged credentials were compiled again (their cache lost)")
	}
	cfg.Credentials[0].Users = []lbconfig.User{{Name: "alice", Hash: bcryptS3cret}}
	other := &table{auths: map[string]*userList{}}
	if ul, _ := other.userList("ns/a", cfg, prev); ul == first {
		t.Errorf("changed credentials reused the old list")
	}
	if _, err := other.userList("ns/missing", cfg, prev); err == nil {
		t.Errorf("missing credentials: no error")
	}
	cfg.Credentials[0].Users[0].Hash = "hunter2"
	if _, err := (&table{auths: map[string]*userList{}}).userList("ns/a", cfg, nil); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("bad hash: error %v, want one that does not quote the hash", err)
	}
}

// TestAuthenticateBoundsChecks: while every check slot is held (a flood
// of wrong passwords), a new check waits at most its bound and is
// refused, and a client in the cache is still served at once.
func TestAuthenticateBoundsChecks(t *testing.T) {
	ul := testUsers(t, lbconfig.User{Name: "alice", Hash: apr1S3cret})
	if !ul.authenticate(basic("alice:s3cret")) {
		t.Fatal("right password refused")
	}
	ul.wait = 50 * time.Millisecond
	for range cap(ul.checks) {
		ul.checks <- struct{}{}
	}
	start := time.Now()
	if ul.authenticate(basic("alice:other")) {
		t.Error("a check without a slot succeeded")
	}
	if d := time.Since(start); d < ul.wait || d > 5*time.Second {
		t.Errorf("a check without a slot took %v, want about %v", d, ul.wait)
	}
	if !ul.authenticate(basic("alice:s3cret")) {
		t.Error("a cached client was refused while the slots were full")
	}
	for range cap(ul.checks) {
		<-ul.checks
	}
	if ul.authenticate(basic("alice:other")) || !ul.authenticate(basic("alice:s3cret")) {
		t.Error("wrong answers once the slots are free")
	}
}
