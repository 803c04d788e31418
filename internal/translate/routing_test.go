package translate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// TestRequestRouting sends requests through golden configs with the model's
// matching, checking the Ingress spec end to end on the pure side: which
// backend a request for host and path reaches.
func TestRequestRouting(t *testing.T) {
	tests := []struct {
		golden, host, path, want string
	}{
		{"exact-host", "shop.example.com", "/", "shop/web:80"},
		{"exact-host", "Shop.Example.COM:80", "/cart", "shop/web:80"},
		{"exact-host", "other.example.com", "/", "404"},

		{"wildcard-host", "bar.foo.com", "/", "shop/web:80"},
		{"wildcard-host", "www.foo.com", "/", "shop/api:80"}, // exact beats wildcard
		{"wildcard-host", "baz.bar.foo.com", "/", "404"},
		{"wildcard-host", "foo.com", "/", "404"},

		{"host-upper-case", "shop.example.com", "/", "shop/web:80"},
		{"host-upper-case", "a.example.org", "/", "shop/web:80"},

		{"no-host", "anything.example.net", "/x", "shop/web:80"},
		{"no-host", "api.example.com", "/x", "shop/api:80"},

		{"host-without-paths", "quiet.example.com", "/", "shop/api:80"}, // default backend
		{"host-without-paths", "loud.example.com", "/", "shop/web:80"},

		{"path-precedence", "shop.example.com", "/foo", "shop/foo-exact:80"},
		{"path-precedence", "shop.example.com", "/foo/", "shop/foo-prefix:80"},
		{"path-precedence", "shop.example.com", "/foo/baz", "shop/foo-prefix:80"},
		{"path-precedence", "shop.example.com", "/foo/bar", "shop/foo-bar:80"},
		{"path-precedence", "shop.example.com", "/foo/bar/", "shop/foo-bar:80"},
		{"path-precedence", "shop.example.com", "/foo/bar/baz", "shop/foo-bar:80"},
		{"path-precedence", "shop.example.com", "/foo/barx", "shop/foo-prefix:80"},
		{"path-precedence", "shop.example.com", "/foobar", "shop/foobar:80"},
		{"path-precedence", "shop.example.com", "/foobar/x", "shop/foobar:80"},
		{"path-precedence", "shop.example.com", "/fooba", "shop/root:80"},
		{"path-precedence", "shop.example.com", "/", "shop/root:80"},

		{"trailing-slash", "shop.example.com", "/foo", "shop/web:80"},
		{"trailing-slash", "shop.example.com", "/foo/", "shop/web:80"},
		{"trailing-slash", "shop.example.com", "/foo/bar", "shop/web:80"},
		{"trailing-slash", "shop.example.com", "/foobar", "404"},
		{"trailing-slash", "shop.example.com", "/bar", "shop/api:80"},
		{"trailing-slash", "shop.example.com", "/bar/", "shop/web:80"},

		{"implementation-specific", "shop.example.com", "/api/v1", "shop/api:80"},
		{"implementation-specific", "shop.example.com", "/apix", "shop/web:80"},
		{"implementation-specific", "shop.example.com", "/", "shop/web:80"},

		{"default-backend", "unknown.example.com", "/", "shop/web:http"},
		{"default-backend", "api.example.com", "/x", "shop/api:80"},

		{"merge-host", "shop.example.com", "/cart/1", "shop/web:80"},
		{"merge-host", "shop.example.com", "/api", "shop/api:80"},
		{"merge-host", "shop.example.com", "/", "404"},

		{"route-conflict", "shop.example.com", "/api", "shop/api:80"},   // Exact
		{"route-conflict", "shop.example.com", "/api/", "shop/web:80"},  // oldest Prefix
		{"route-conflict", "tie.example.com", "/name", "alpha/web:80"},  // alpha/a
		{"route-conflict", "tie.example.com", "/other", "alpha/web:80"}, // alpha/tie

		{"missing-service", "shop.example.com", "/gone", "shop/gone:80"},
		{"missing-service", "shop.example.com", "/", "shop/web:80"},
	}
	configs := map[string]*lbconfig.Config{}
	for _, tt := range tests {
		cfg := configs[tt.golden]
		if cfg == nil {
			cfg = readGoldenConfig(t, tt.golden)
			configs[tt.golden] = cfg
		}
		if got := route(cfg, tt.host, tt.path); got != tt.want {
			t.Errorf("%s: %s%s goes to %s, want %s", tt.golden, tt.host, tt.path, got, tt.want)
		}
	}
}

// readGoldenConfig reads the golden config of the case name, which must
// have one load balancer with one listener.
func readGoldenConfig(t *testing.T, name string) *lbconfig.Config {
	t.Helper()
	cfg := loadGoldenConfig(t, name)
	if len(cfg.LoadBalancers) != 1 || len(cfg.LoadBalancers[0].Listeners) != 1 {
		t.Fatalf("%s: want one load balancer with one listener", name)
	}
	return cfg
}

// loadGoldenConfig reads the golden config of the case name.
func loadGoldenConfig(t *testing.T, name string) *lbconfig.Config {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name, "config.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg lbconfig.Config
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &cfg
}

// route returns the backend a request reaches, or "404", the way a provider
// routes: the exact virtual host, else a matching wildcard, else the
// catch-all host; then the first route in precedence order; else the
// listener's default backend. There is no fallback to a less specific host.
func route(cfg *lbconfig.Config, rawHost, path string) string {
	l := cfg.LoadBalancers[0].Listeners[0]
	if vh := virtualHost(l.VirtualHosts, lbconfig.NormalizeHost(rawHost)); vh != nil {
		for _, r := range vh.Routes {
			if r.Matches(path) {
				return r.Backend.Name
			}
		}
	}
	if l.DefaultBackend != nil {
		return l.DefaultBackend.Name
	}
	return "404"
}

func virtualHost(vhosts []lbconfig.VirtualHost, host string) *lbconfig.VirtualHost {
	tiers := []func(string) bool{
		func(h string) bool { return h != "" && !strings.HasPrefix(h, "*") },
		func(h string) bool { return strings.HasPrefix(h, "*") },
		func(h string) bool { return h == "" },
	}
	for _, inTier := range tiers {
		for i, vh := range vhosts {
			if inTier(vh.Hostname) && lbconfig.HostMatches(vh.Hostname, host) {
				return &vhosts[i]
			}
		}
	}
	return nil
}
