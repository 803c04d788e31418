package lbconfig

import (
	"errors"
	"strings"
	"testing"
)

func TestPrefixMatches(t *testing.T) {
	for _, tc := range []struct {
		prefix, path string
		want         bool
	}{
		{"/", "/", true},
		{"/", "/anything/at/all", true},
		{"/foo", "/foo", true},
		{"/foo", "/foo/", true},
		{"/foo", "/foo/bar", true},
		{"/foo", "/foobar", false},
		{"/foo", "/fo", false},
		{"/foo", "/", false},
		{"/foo/", "/foo", true},
		{"/foo/", "/foo/bar", true},
		{"/foo/", "/foobar", false},
		{"/foo/bar", "/foo/bar/baz", true},
		{"/foo/bar", "/foo/barbaz", false},
		{"/foo/bar", "/foo", false},
		{"/aaa/bb", "/aaa/bbb", false},
		{"/Foo", "/foo", false},
	} {
		if got := PrefixMatches(tc.prefix, tc.path); got != tc.want {
			t.Errorf("PrefixMatches(%q, %q) = %v, want %v", tc.prefix, tc.path, got, tc.want)
		}
	}
}

func TestRouteMatchesExact(t *testing.T) {
	r := Route{Path: "/foo", Match: MatchExact}
	for path, want := range map[string]bool{"/foo": true, "/foo/": false, "/foo/bar": false, "/Foo": false} {
		if got := r.Matches(path); got != want {
			t.Errorf("Exact /foo matches %q = %v, want %v", path, got, want)
		}
	}
}

func TestHostMatches(t *testing.T) {
	for _, tc := range []struct {
		pattern, host string
		want          bool
	}{
		{"foo.com", "foo.com", true},
		{"foo.com", "bar.foo.com", false},
		{"*.foo.com", "bar.foo.com", true},
		{"*.foo.com", "baz.bar.foo.com", false},
		{"*.foo.com", "foo.com", false},
		{"*.foo.com", ".foo.com", false},
		{"*.foo.com", "barfoo.com", false},
		{"", "anything.example", true},
	} {
		if got := HostMatches(tc.pattern, tc.host); got != tc.want {
			t.Errorf("HostMatches(%q, %q) = %v, want %v", tc.pattern, tc.host, got, tc.want)
		}
	}
}

func TestNormalizeHost(t *testing.T) {
	for in, want := range map[string]string{
		"Foo.Example.COM":      "foo.example.com",
		"foo.example.com:8080": "foo.example.com",
		"foo.example.com.":     "foo.example.com",
		"[::1]:80":             "::1",
		"[2001:DB8::1]":        "2001:db8::1",
		"10.0.0.1:80":          "10.0.0.1",
		"":                     "",
		"foo.example.com.:80":  "foo.example.com",
		// A port is one or more digits: anything else is kept, and names
		// no host.
		"foo.example.com:":               "foo.example.com:",
		"foo.example.com:http":           "foo.example.com:http",
		"foo.example.com:80,bar.example": "foo.example.com:80,bar.example",
		"foo.example.com:80 ":            "foo.example.com:80 ",
		"[::1]:http":                     "[::1]:http",
		"[::1]x":                         "[::1]x",
		"[::1]:":                         "[::1]:",
	} {
		if got := NormalizeHost(in); got != want {
			t.Errorf("NormalizeHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSortOrdersRoutesByPrecedence(t *testing.T) {
	c := &Config{LoadBalancers: []LoadBalancer{{Name: "b"}, {Name: "a", Listeners: []Listener{{Port: 80, Protocol: ProtocolHTTP, VirtualHosts: []VirtualHost{{
		Routes: []Route{
			{Path: "/", Match: MatchPrefix},
			{Path: "/foo", Match: MatchPrefix},
			{Path: "/foo/bar/", Match: MatchPrefix},
			{Path: "/z", Match: MatchExact},
			{Path: "/foo/bar/baz", Match: MatchExact},
		},
	}}}}}}}
	c.Sort()
	if c.LoadBalancers[0].Name != "a" {
		t.Errorf("load balancers not sorted by name: %q first", c.LoadBalancers[0].Name)
	}
	var got []string
	for _, r := range c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes {
		got = append(got, string(r.Match)+" "+r.Path)
	}
	want := "Exact /foo/bar/baz,Exact /z,Prefix /foo/bar/,Prefix /foo,Prefix /"
	if strings.Join(got, ",") != want {
		t.Errorf("route order = %v, want %v", got, want)
	}
}

func validConfig() *Config {
	return &Config{
		LoadBalancers: []LoadBalancer{{
			Name: "default",
			Listeners: []Listener{{
				Port: 80, Protocol: ProtocolHTTP,
				VirtualHosts: []VirtualHost{
					{Hostname: "foo.example.com", Routes: []Route{{Path: "/", Match: MatchPrefix, Backend: BackendRef{Name: "ns/web:80"}}}},
					{Hostname: "*.example.com", Routes: []Route{{Path: "/x", Match: MatchExact, Backend: BackendRef{Name: "ns/web:80"}}}},
				},
				DefaultBackend: &BackendRef{Name: "ns/web:80"},
			}},
		}},
		Backends: []Backend{{Name: "ns/web:80", Endpoints: []Endpoint{
			{Address: "198.18.0.1", Port: 8080, Ready: true, Serving: true},
			{Address: "2001:db8::1", Port: 8080, Ready: true, Serving: true},
		}}},
	}
}

func TestValidateAcceptsValidConfig(t *testing.T) {
	if err := validConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestValidatePortsAcrossLoadBalancers: load balancers without addresses
// of their own share the listen address, so each port belongs to one load
// balancer; distinct ports are fine (see address_test.go for the rest).
func TestValidatePortsAcrossLoadBalancers(t *testing.T) {
	c := validConfig()
	c.LoadBalancers = append(c.LoadBalancers,
		LoadBalancer{Name: "internal", Listeners: []Listener{{Port: 8080, Protocol: ProtocolHTTP}, {Port: 8443, Protocol: ProtocolTCP, TCP: &BackendRef{Name: "ns/web:80"}}}},
		LoadBalancer{Name: "shop/web", Listeners: []Listener{{Port: 8443, Protocol: ProtocolHTTP}, {Port: 80, Protocol: ProtocolHTTP}}},
	)
	err := c.Validate()
	var got []string
	for _, e := range flattenErrors(err) {
		var fe *FieldError
		if errors.As(e, &fe) {
			got = append(got, fe.Error())
		}
	}
	want := []string{
		`loadBalancers[2].listeners[0].port: port 8443 is already used by load balancer "internal"`,
		`loadBalancers[2].listeners[1].port: port 80 is already used by load balancer "default"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Validate() errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	c.LoadBalancers[2].Listeners[0].Port, c.LoadBalancers[2].Listeners[1].Port = 9080, 9443
	if err := c.Validate(); err != nil {
		t.Errorf("distinct ports: %v", err)
	}
}

func flattenErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

func TestValidateNamesTheField(t *testing.T) {
	for name, tc := range map[string]struct {
		mutate func(*Config)
		field  string
	}{
		"port":            {func(c *Config) { c.LoadBalancers[0].Listeners[0].Port = 0 }, "loadBalancers[0].listeners[0].port"},
		"protocol":        {func(c *Config) { c.LoadBalancers[0].Listeners[0].Protocol = "SMTP" }, "loadBalancers[0].listeners[0].protocol"},
		"hostname":        {func(c *Config) { c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Hostname = "Foo.example.com" }, "loadBalancers[0].listeners[0].virtualHosts[0].hostname"},
		"injection host":  {func(c *Config) { c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Hostname = "a.com\nbind :1" }, "loadBalancers[0].listeners[0].virtualHosts[0].hostname"},
		"double wildcard": {func(c *Config) { c.LoadBalancers[0].Listeners[0].VirtualHosts[1].Hostname = "*.*.example.com" }, "loadBalancers[0].listeners[0].virtualHosts[1].hostname"},
		"duplicate host":  {func(c *Config) { c.LoadBalancers[0].Listeners[0].VirtualHosts[1].Hostname = "foo.example.com" }, "loadBalancers[0].listeners[0].virtualHosts[1].hostname"},
		"path":            {func(c *Config) { c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].Path = "foo" }, "loadBalancers[0].listeners[0].virtualHosts[0].routes[0].path"},
		"path space":      {func(c *Config) { c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].Path = "/a b" }, "loadBalancers[0].listeners[0].virtualHosts[0].routes[0].path"},
		"match":           {func(c *Config) { c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].Match = "Glob" }, "loadBalancers[0].listeners[0].virtualHosts[0].routes[0].match"},
		"missing backend": {func(c *Config) { c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].Backend.Name = "nope" }, "loadBalancers[0].listeners[0].virtualHosts[0].routes[0].backend"},
		"default backend": {func(c *Config) { c.LoadBalancers[0].Listeners[0].DefaultBackend.Name = "nope" }, "loadBalancers[0].listeners[0].defaultBackend"},
		"endpoint addr":   {func(c *Config) { c.Backends[0].Endpoints[0].Address = "localhost" }, "backends[0].endpoints[0].address"},
		"endpoint port":   {func(c *Config) { c.Backends[0].Endpoints[1].Port = 70000 }, "backends[0].endpoints[1].port"},
		"backend name":    {func(c *Config) { c.Backends = append(c.Backends, c.Backends[0]) }, "backends[1].name"},
		"lb name":         {func(c *Config) { c.LoadBalancers[0].Name = "" }, "loadBalancers[0].name"},
		"lb duplicate":    {func(c *Config) { c.LoadBalancers = append(c.LoadBalancers, LoadBalancer{Name: "default"}) }, "loadBalancers[1].name"},
		"port of another lb": {func(c *Config) {
			c.LoadBalancers = append(c.LoadBalancers, LoadBalancer{Name: "internal", Listeners: []Listener{
				{Port: 8080, Protocol: ProtocolHTTP},
				{Port: 80, Protocol: ProtocolHTTP},
			}})
		}, "loadBalancers[1].listeners[1].port"},
		"tcp on http": {func(c *Config) { c.LoadBalancers[0].Listeners[0].TCP = &BackendRef{Name: "ns/web:80"} }, "loadBalancers[0].listeners[0].tcp"},
		"certificate ref": {func(c *Config) {
			c.LoadBalancers[0].Listeners[0].VirtualHosts[0].TLS = &CertificateRef{Name: "ns/cert"}
		}, "loadBalancers[0].listeners[0].virtualHosts[0].tls"},
		"algorithm": {func(c *Config) { c.Backends[0].Policy.Algorithm = "fastest" }, "backends[0].policy.algorithm"},
	} {
		t.Run(name, func(t *testing.T) {
			c := validConfig()
			tc.mutate(c)
			checkField(t, c, tc.field)
		})
	}
}

func TestDiff(t *testing.T) {
	base := validConfig()
	if ch := Diff(base, validConfig()); !ch.Empty() {
		t.Errorf("equal configs differ: %+v", ch)
	}
	if ch := Diff(nil, base); !ch.Structure {
		t.Errorf("nil -> config: %+v, want a structural change", ch)
	}

	endpoints := validConfig()
	endpoints.Backends[0].Endpoints[0].Ready = false
	if ch := Diff(base, endpoints); ch.Structure || len(ch.Endpoints) != 1 || ch.Endpoints[0] != "ns/web:80" {
		t.Errorf("endpoint change: %+v, want only endpoints of ns/web:80", ch)
	}

	route := validConfig()
	route.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].Path = "/other"
	if ch := Diff(base, route); !ch.Structure {
		t.Errorf("route change: %+v, want a structural change", ch)
	}

	policy := validConfig()
	policy.Backends[0].Policy.Algorithm = Random
	if ch := Diff(base, policy); !ch.Structure {
		t.Errorf("policy change: %+v, want a structural change", ch)
	}
}

func FuzzCheckHostname(f *testing.F) {
	for _, s := range []string{"", "foo.com", "*.foo.com", "*", "a..b", "-a.com", "a\nb", "xn--bcher-kva.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		if CheckHostname(h) != nil {
			return
		}
		// Anything accepted is safe to put in a config file: no spaces,
		// quotes, control characters or upper case.
		for _, r := range h {
			ok := r == '.' || r == '-' || r == '*' || ('a' <= r && r <= 'z') || ('0' <= r && r <= '9')
			if !ok {
				t.Fatalf("CheckHostname accepted %q with %q", h, r)
			}
		}
		if strings.Contains(strings.TrimPrefix(h, "*."), "*") {
			t.Fatalf("CheckHostname accepted a misplaced wildcard: %q", h)
		}
	})
}

func TestCheckPathLength(t *testing.T) {
	long := "/" + strings.Repeat("a", MaxPathLength-1)
	if err := CheckPath(long); err != nil {
		t.Errorf("a path of MaxPathLength: %v", err)
	}
	if err := CheckPath(long + "a"); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("a path of MaxPathLength+1: %v, want refused", err)
	}
}

func FuzzCheckPath(f *testing.F) {
	for _, s := range []string{"/", "/foo", "foo", "/a b", "/a\x00", "/ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if CheckPath(p) != nil {
			return
		}
		if !strings.HasPrefix(p, "/") || len(p) > MaxPathLength {
			t.Fatalf("CheckPath accepted %q", p)
		}
		for i := 0; i < len(p); i++ {
			if p[i] <= ' ' || p[i] >= 0x7f {
				t.Fatalf("CheckPath accepted %q", p)
			}
		}
	})
}
