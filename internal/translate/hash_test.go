package translate

import (
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

func TestParseNginxHashBy(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want is our hash-by, "" when unsupported
	}{
		{"$request_uri", "request-uri"},
		{"$host$request_uri", "header:host,request-uri"},
		{"${request_uri}-v1", "request-uri,text:-v1"},
		{"v1-${uri}", "text:v1-,path"},
		{"$http_x_user_id", "header:x-user-id"},
		{"$http_X_User", "header:x-user"},
		{"$cookie_Session_ID", "cookie:Session_ID"},
		{"$remote_addr$binary_remote_addr", "client-address,client-address"},
		{"$document_uri$http_host", "path,header:host"},
		{"$arg_id", ""},
		{"$request_uri$", ""},
		{"$", ""},
		{"${", ""},
		{"${}", ""},
		{"$http_", ""},
		{"$cookie_", ""},
		{"$cookie_a;b", ""},
		{"$request_uri x", ""},
		{"$request_uri\r\nX-Evil: 1", ""},
		{"$http_x\x00", ""},
		{"é$uri", ""},
		{strings.Repeat("$uri", 9), ""},
		{strings.Repeat("$uri", 8), strings.TrimSuffix(strings.Repeat("path,", 8), ",")},
		{strings.Repeat("a", 65), ""},
		{strings.Repeat("$", 1<<20), ""},
	} {
		h, bad := parseNginxHashBy(tc.in)
		got := ""
		if h != nil {
			got = formatHashBy(h)
		} else if bad == "" {
			t.Errorf("%.40q: refused without saying what", tc.in)
		}
		if got != tc.want {
			t.Errorf("%.40q: %q (%s), want %q", tc.in, got, bad, tc.want)
		}
	}
}

// TestHashByRoundTrips checks that what readHashBy writes reads back the
// same.
func TestHashByRoundTrips(t *testing.T) {
	for _, v := range []string{"client-address", "request-uri,path", "header:x-a,cookie:B_c.d,text:~v1/@:x"} {
		h, err := parseHashBy(v)
		if err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		if got := formatHashBy(h); got != v {
			t.Errorf("%q reads back as %q", v, got)
		}
	}
	if _, err := parseHashBy(strings.Repeat("path,", 1<<16)); err == nil {
		t.Error("a huge value parses")
	}
}

// FuzzHashBy checks that whatever the two parsers accept is a key
// lbconfig accepts, and that our format reads back the same.
func FuzzHashBy(f *testing.F) {
	for _, s := range []string{"$host$request_uri", "${request_uri}-v1", "$http_x_y$cookie_z", "header:x,cookie:y,text:z", "$", "${", "text:,", "path,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, h := range []*lbconfig.Hash{first(parseNginxHashBy(v)), first(parseHashBy(v))} {
			if h == nil {
				continue
			}
			if len(h.Key) == 0 || len(h.Key) > lbconfig.MaxHashParts {
				t.Fatalf("%q: %d parts", v, len(h.Key))
			}
			for _, p := range h.Key {
				if err := lbconfig.CheckHashPart(p); err != nil {
					t.Fatalf("%q: %v", v, err)
				}
			}
			again, err := parseHashBy(formatHashBy(h))
			if err != nil || formatHashBy(again) != formatHashBy(h) {
				t.Fatalf("%q: %q reads back as %v, %v", v, formatHashBy(h), again, err)
			}
		}
	})
}

func first[T, U any](t T, _ U) T { return t }
