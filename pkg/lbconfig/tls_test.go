package lbconfig

import (
	"testing"
)

// tlsConfig is a valid config with an HTTP listener whose route redirects
// to an HTTPS listener that serves a certificate.
func tlsConfig() *Config {
	route := Route{Path: "/", Match: MatchPrefix, Backend: BackendRef{Name: "ns/web:80"}}
	redirect := route
	redirect.HTTPSRedirect = &HTTPSRedirect{Port: 443, StatusCode: 308}
	return &Config{
		LoadBalancers: []LoadBalancer{{
			Name: "default",
			Listeners: []Listener{
				{Port: 80, Protocol: ProtocolHTTP, VirtualHosts: []VirtualHost{{Hostname: "foo.example.com", Routes: []Route{redirect}}}},
				{Port: 443, Protocol: ProtocolHTTPS, VirtualHosts: []VirtualHost{
					{Hostname: "", TLS: &CertificateRef{Name: "ns/default"}},
					{Hostname: "foo.example.com", TLS: &CertificateRef{Name: "ns/foo"}, Routes: []Route{route}},
				}},
			},
		}},
		Backends: []Backend{{Name: "ns/web:80"}},
		Certificates: []Certificate{
			{Name: "ns/default", ChainPEM: []byte("chain"), KeyPEM: []byte("key")},
			{Name: "ns/foo", ChainPEM: []byte("chain"), KeyPEM: []byte("key"), Hosts: []string{"foo.example.com"}},
		},
	}
}

func TestValidateTLS(t *testing.T) {
	if err := tlsConfig().Validate(); err != nil {
		t.Fatalf("valid TLS config: %v", err)
	}
	for name, tc := range map[string]struct {
		mutate func(*Config)
		field  string
	}{
		"tls on http": {func(c *Config) {
			c.LoadBalancers[0].Listeners[0].VirtualHosts[0].TLS = &CertificateRef{Name: "ns/foo"}
		}, "loadBalancers[0].listeners[0].virtualHosts[0].tls"},
		"missing certificate": {func(c *Config) {
			c.LoadBalancers[0].Listeners[1].VirtualHosts[1].TLS.Name = "ns/nope"
		}, "loadBalancers[0].listeners[1].virtualHosts[1].tls"},
		"redirect on https": {func(c *Config) {
			c.LoadBalancers[0].Listeners[1].VirtualHosts[1].Routes[0].HTTPSRedirect = &HTTPSRedirect{Port: 443, StatusCode: 308}
		}, "loadBalancers[0].listeners[1].virtualHosts[1].routes[0].httpsRedirect"},
		"redirect to no listener": {func(c *Config) {
			c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].HTTPSRedirect.Port = 8443
		}, "loadBalancers[0].listeners[0].virtualHosts[0].routes[0].httpsRedirect.port"},
		"redirect to http listener": {func(c *Config) {
			c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].HTTPSRedirect.Port = 80
		}, "loadBalancers[0].listeners[0].virtualHosts[0].routes[0].httpsRedirect.port"},
		"redirect status": {func(c *Config) {
			c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].HTTPSRedirect.StatusCode = 200
		}, "loadBalancers[0].listeners[0].virtualHosts[0].routes[0].httpsRedirect.statusCode"},
		"certificate host": {func(c *Config) {
			c.Certificates[1].Hosts = []string{"Foo.example.com"}
		}, "certificates[1].hosts[0]"},
		"empty key": {func(c *Config) { c.Certificates[0].KeyPEM = nil }, "certificates[0].keyPEM"},
	} {
		t.Run(name, func(t *testing.T) {
			c := tlsConfig()
			tc.mutate(c)
			checkField(t, c, tc.field)
		})
	}
}

func TestDiffTLS(t *testing.T) {
	base := tlsConfig()
	for name, mutate := range map[string]func(*Config){
		"redirect off": func(c *Config) { c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].HTTPSRedirect = nil },
		"redirect status": func(c *Config) {
			c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].HTTPSRedirect.StatusCode = 301
		},
		"certificate ref": func(c *Config) { c.LoadBalancers[0].Listeners[1].VirtualHosts[1].TLS = nil },
		"rotated chain":   func(c *Config) { c.Certificates[1].ChainPEM = []byte("new chain") },
		"rotated key":     func(c *Config) { c.Certificates[1].KeyPEM = []byte("new key") },
	} {
		c := tlsConfig()
		mutate(c)
		if ch := Diff(base, c); !ch.Structure {
			t.Errorf("%s: %+v, want a structural change", name, ch)
		}
	}
}

func TestVirtualHostFor(t *testing.T) {
	l := &Listener{VirtualHosts: []VirtualHost{
		{Hostname: ""},
		{Hostname: "*.example.com"},
		{Hostname: "a.example.com"},
	}}
	for host, want := range map[string]string{
		"a.example.com":   "a.example.com",
		"b.example.com":   "*.example.com",
		"x.b.example.com": "",
		"example.com":     "",
		"":                "",
	} {
		if got := l.VirtualHostFor(host); got == nil || got.Hostname != want {
			t.Errorf("VirtualHostFor(%q) = %v, want %q", host, got, want)
		}
	}
	l.VirtualHosts = l.VirtualHosts[1:]
	if got := l.VirtualHostFor("example.org"); got != nil {
		t.Errorf("no catch-all: VirtualHostFor(example.org) = %q, want nil", got.Hostname)
	}
}
