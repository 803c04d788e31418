package haproxy

import (
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// Hashes of "s3cret" (htpasswd -B, openssl passwd -1/-5/-6/-apr1).
const (
	bcryptS3cret = "$2y$05$40FKswUoByTuMd3BQAf5oO1FCWsAxQWUMWg/wGSwFgVamrlMc8/Bm"
	md5S3cret    = "$1$Jts9GFdp$affxqbidfwI07xO7LfBjR/"
	sha256S3cret = "$5$bPT2VqnzPN/tvdPc$iNCqR3LN0stzZMAg3X81/NmTwXw3Ci925EMUj5BOF34"
	sha512S3cret = "$6$Wr5jba/42dNyFThc$JyVlwtSz/fH6EzwZXPXR//LhlQzq4xrlQnzqUqYG3baJrEU95qcGEZ4AlTrqL/tqqezAY45X3SenuC44A3Dce1"
	apr1S3cret   = "$apr1$CT7MCO5G$TG8lUK7RX2o7F4TqVz0Fw."
)

// basicAuthConfig has two credentials, one shared by two routes with the
// same realm (one rule), one with another realm; a route with access
// rules and basic auth; a redirecting route with basic auth; and routes
// and a default backend without.
func basicAuthConfig() *lbconfig.Config {
	web := ref("default/web:80")
	admins := &lbconfig.BasicAuth{Realm: "Admins only", Credentials: "default/admins"}
	return &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{
			Name: "default",
			Listeners: []lbconfig.Listener{{
				Port: 80, Protocol: lbconfig.ProtocolHTTP,
				DefaultBackend: &lbconfig.BackendRef{Name: "default/fallback:80"},
				VirtualHosts: []lbconfig.VirtualHost{{Hostname: "shop.example.com", Routes: []lbconfig.Route{
					{Path: "/admin", Match: lbconfig.MatchPrefix, Backend: web, BasicAuth: admins},
					{Path: "/ops", Match: lbconfig.MatchPrefix, Backend: web, BasicAuth: admins, Access: &lbconfig.Access{Allow: prefixes("10.0.0.0/8")}},
					{Path: "/staff", Match: lbconfig.MatchExact, Backend: web, BasicAuth: &lbconfig.BasicAuth{Realm: "Staff - ~:/._", Credentials: "team/staff"}},
					{Path: "/account", Match: lbconfig.MatchPrefix, Backend: web, BasicAuth: admins, HTTPSRedirect: &lbconfig.HTTPSRedirect{Port: 443, StatusCode: 308}},
					{Path: "/", Match: lbconfig.MatchPrefix, Backend: web},
				}}},
			}, {
				Port: 443, Protocol: lbconfig.ProtocolHTTPS,
				VirtualHosts: []lbconfig.VirtualHost{{Hostname: "shop.example.com", TLS: &lbconfig.CertificateRef{Name: "default/a-tls"}, Routes: []lbconfig.Route{
					{Path: "/account", Match: lbconfig.MatchPrefix, Backend: web, BasicAuth: admins},
				}}},
			}},
		}},
		Backends: []lbconfig.Backend{
			{Name: "default/fallback:80", Endpoints: []lbconfig.Endpoint{{Address: "10.0.5.1", Port: 80, Ready: true, Serving: true}}},
			{Name: "default/web:80", Endpoints: []lbconfig.Endpoint{{Address: "10.0.6.1", Port: 80, Ready: true, Serving: true}}},
		},
		Credentials: []lbconfig.Credentials{
			{Name: "default/admins", Users: []lbconfig.User{
				{Name: "alice", Hash: bcryptS3cret}, {Name: "bob", Hash: md5S3cret},
				{Name: `odd #name "$HOME" \x`, Hash: sha512S3cret}, {Name: "zoë", Hash: sha256S3cret},
			}},
			{Name: "team/staff", Users: []lbconfig.User{{Name: "carol", Hash: strings.Replace(bcryptS3cret, "$2y$", "$2b$", 1)}}},
		},
	}
}

func TestRenderBasicAuthGolden(t *testing.T) {
	bin := haproxyBinary(t)
	cfg := basicAuthConfig()
	cfg.Certificates = []lbconfig.Certificate{{Name: "default/a-tls", ChainPEM: readTestdata(t, "tls-a.crt"), KeyPEM: readTestdata(t, "tls-a.key"), Hosts: []string{"shop.example.com"}}}
	r, err := RenderConfig(cfg, goldenOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, bin, "basic-auth", r)
}

func TestRenderBasicAuthRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		user lbconfig.User
		want string
	}{
		{"apr1", lbconfig.User{Name: "alice", Hash: apr1S3cret}, "HAProxy cannot verify apr1 hashes"},
		{"sha1", lbconfig.User{Name: "alice", Hash: "{SHA}/vNB+F2HQ559kaLUZbmHHvZrXpg="}, "HAProxy cannot verify sha1 hashes"},
		{"quote in name", lbconfig.User{Name: "it's", Hash: md5S3cret}, "single quote"},
		{"newline in name", lbconfig.User{Name: "a\nuser b password x", Hash: md5S3cret}, "control character"},
		{"plain", lbconfig.User{Name: "alice", Hash: "s3cret"}, "unknown hash format"},
		{"injected hash", lbconfig.User{Name: "alice", Hash: md5S3cret + "\n    user x insecure-password y"}, "hash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := basicAuthConfig()
			cfg.Certificates = []lbconfig.Certificate{{Name: "default/a-tls", ChainPEM: []byte("x"), KeyPEM: []byte("y")}}
			cfg.Credentials[1].Users = []lbconfig.User{tc.user}
			_, err := RenderConfig(cfg, goldenOptions(t))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("RenderConfig = %v, want an error containing %q", err, tc.want)
			}
			for _, secret := range []string{"CT7MCO5G", "s3cret", "Jts9GFdp"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error quotes a hash or password: %v", err)
				}
			}
		})
	}
}

// FuzzUserLine: a user line RenderConfig writes is always one line of the
// grammar, the name in quotes it cannot leave, whatever name and hash come
// from a Secret.
func FuzzUserLine(f *testing.F) {
	for _, s := range [][2]string{
		{"alice", md5S3cret}, {"it's", bcryptS3cret}, {"a\nuser b password x", sha256S3cret},
		{"zoë", sha512S3cret + "\n    user x insecure-password y"}, {`#x "$HOME" \`, bcryptS3cret}, {"bob", apr1S3cret},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, name, hash string) {
		line, err := userLine(lbconfig.User{Name: name, Hash: hash})
		if err != nil {
			return
		}
		for _, re := range cfgGrammar {
			if re.MatchString(line) {
				return
			}
		}
		t.Errorf("user line %q is not in the grammar", line)
	})
}
