package rfc2136

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// secret is a real tsig-keygen secret; errors and logs must never show it.
const secret = "BpPi7zZxgohdRGveKcOw81hCKavIfxXh0qnE8ACrmUQ="

func TestParseKey(t *testing.T) {
	want := Key{Name: "ic-test.", Algorithm: dns.HmacSHA256, Secret: secret}
	for _, tc := range []struct {
		name, file string
		want       Key
	}{
		{"tsig-keygen", "key \"ic-test\" {\n\talgorithm hmac-sha256;\n\tsecret \"" + secret + "\";\n};\n", want},
		{"one line, bare name, upper case", `key IC-Test. {algorithm HMAC-SHA256;secret "` + secret + `";};`, want},
		{"comments everywhere", "# made by hand\n// for the test\nkey /* the name */ \"ic-test\" { # algorithm first\n" +
			"\talgorithm hmac-sha256; // the default\n\t/* a\n\tlong comment */ secret \"" + secret + "\";\n}; # done\n", want},
		{"secret first, CRLF", "key \"ic-test\" {\r\n secret \"" + secret + "\";\r\n algorithm hmac-sha256;\r\n};\r\n", want},
		{"hmac-sha512", "key \"k\" { algorithm hmac-sha512; secret \"" + secret + "\"; };", Key{Name: "k.", Algorithm: dns.HmacSHA512, Secret: secret}},
		{"hmac-sha1", "key \"k\" { algorithm hmac-sha1; secret \"" + secret + "\"; };", Key{Name: "k.", Algorithm: dns.HmacSHA1, Secret: secret}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseKey([]byte(tc.file))
			if err != nil || got != tc.want {
				t.Errorf("ParseKey = %#v (secret %q), %v; want %#v", got, got.Secret, err, tc.want)
			}
		})
	}
}

func TestParseKeyErrors(t *testing.T) {
	body := func(clauses string) string { return "key \"k\" {\n" + clauses + "\n};\n" }
	alg, sec := "algorithm hmac-sha256;", `secret "`+secret+`";`
	for _, tc := range []struct{ name, file, err string }{
		{"empty", "", "no key statement"},
		{"only comments", "# nothing\n/* here */", "no key statement"},
		{"md5", body("algorithm hmac-md5; " + sec), `line 2: key k.: algorithm "hmac-md5" is not supported; use hmac-sha256`},
		{"gss-tsig", body("algorithm gss-tsig; " + sec), `algorithm "gss-tsig" is not supported`},
		{"no secret", body(alg), "key k. has no secret"},
		{"no algorithm", body(sec), "key k. has no algorithm"},
		{"secret not base64", body(alg + ` secret "not base64!";`), "line 2: key k.: the secret is not base64"},
		{"empty secret", body(alg + ` secret "";`), "the secret is not base64"},
		{"two secrets", body(alg + sec + sec), "a second secret"},
		{"two algorithms", body(alg + alg + sec), "a second algorithm"},
		{"unknown clause", body(alg + sec + "\nport 53;"), `line 3: key k.: "port", want algorithm or secret`},
		{"two keys", body(alg+sec) + body(alg+sec), "2 key statements, want one"},
		{"other statement", "options { directory \"/tmp\"; };\n" + body(alg+sec), `line 1: "options": a key file holds only key statements`},
		{"no semicolon after the secret", "key \"k\" { " + alg + ` secret "` + secret + `" };`, `want ";" after the secret`},
		{"no semicolon after the statement", body(alg + sec)[:len(body(alg+sec))-2], `unexpected end of file, want ";"`},
		{"unterminated string", "key \"k\" { " + alg + ` secret "` + secret, "line 1: unterminated quoted string"},
		{"unterminated comment", body(alg+sec) + "/* no end", "line 4: unterminated /* comment"},
		{"no name", "key { " + alg + sec + " };", `line 1: "{", want the key's name`},
		{"bad name", "key \"a..b\" { " + alg + sec + " };", `key name "a..b" is not a domain name`},
		{"secret split by a stray token", "key \"k\" { " + alg + ` secret BpPi7zZx gohdRGve; };`, `want ";" after the secret`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseKey([]byte(tc.file))
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("ParseKey: %v; want an error with %q", err, tc.err)
			}
			for _, s := range []string{secret, "BpPi7zZx", "gohdRGve"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("the error shows the secret: %v", err)
				}
			}
		})
	}
}

func TestReadKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ic.key")
	if err := os.WriteFile(path, []byte("key \"ic\" { algorithm hmac-sha256; };"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadKeyFile(path); err == nil || !strings.Contains(err.Error(), "key file "+path+": key ic. has no secret") {
		t.Errorf("ReadKeyFile: %v, want it to name the file and the problem", err)
	}
	if _, err := ReadKeyFile(path + ".missing"); !os.IsNotExist(err) {
		t.Errorf("ReadKeyFile of a missing file: %v", err)
	}
}

func TestKeyNeverShowsSecret(t *testing.T) {
	k := Key{Name: "ic-test.", Algorithm: dns.HmacSHA256, Secret: secret}
	var log bytes.Buffer
	slog.New(slog.NewTextHandler(&log, nil)).Info("key", "key", k)
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k), log.String()} {
		if strings.Contains(s, secret) || !strings.Contains(s, "TSIG key ic-test. (hmac-sha256)") {
			t.Errorf("printed key: %s", s)
		}
	}
}

func FuzzParseKey(f *testing.F) {
	f.Add([]byte("key \"ic-test\" {\n\talgorithm hmac-sha256;\n\tsecret \"" + secret + "\";\n};\n"))
	f.Add([]byte(`key k { secret "` + secret + `"; algorithm hmac-sha1; }; # x`))
	f.Add([]byte("/* a */ key \"k\" { algorithm hmac-md5; };"))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParseKey(b)
		if err != nil {
			return
		}
		if _, ok := dns.IsDomainName(k.Name); !ok || k.Algorithm == "" || k.Secret == "" {
			t.Fatalf("ParseKey(%q) = %#v with secret %q", b, k, k.Secret)
		}
	})
}
