package haproxy

import (
	"strings"
	"testing"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// hashConfig has a backend for each kind of hash key, one also used by a
// TCP listener (balanced without its key there), and a send timeout.
func hashConfig() *lbconfig.Config {
	eps := []lbconfig.Endpoint{{Address: "10.0.0.1", Port: 8080, Ready: true, Serving: true}, {Address: "10.0.0.2", Port: 8080, Ready: true, Serving: true}}
	backend := func(name string, parts ...lbconfig.HashPart) lbconfig.Backend {
		return lbconfig.Backend{Name: name, Endpoints: eps, Policy: lbconfig.Policy{Hash: &lbconfig.Hash{Key: parts}}}
	}
	route := func(path, backend string) lbconfig.Route {
		return lbconfig.Route{Path: path, Match: lbconfig.MatchPrefix, Backend: ref(backend), Source: ing("shop")}
	}
	all := backend("default/all:80",
		lbconfig.HashPart{Type: lbconfig.HashClientAddress}, lbconfig.HashPart{Type: lbconfig.HashRequestURI},
		lbconfig.HashPart{Type: lbconfig.HashPath}, lbconfig.HashPart{Type: lbconfig.HashHeader, Name: "x-user"},
		lbconfig.HashPart{Type: lbconfig.HashHeader, Name: "host"}, lbconfig.HashPart{Type: lbconfig.HashCookie, Name: "Session_ID.v2"},
		lbconfig.HashPart{Type: lbconfig.HashLiteral, Name: "a-b.c_~:/@Z9"})
	all.Policy.Timeouts = lbconfig.Timeouts{Send: lbconfig.Duration(90 * time.Second), ResponseHeader: lbconfig.Duration(30 * time.Second)}
	uri := backend("default/uri:80", lbconfig.HashPart{Type: lbconfig.HashRequestURI})
	uri.Policy.Timeouts.Send = lbconfig.Duration(5 * time.Second)
	return &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{
			Name: "default",
			Listeners: []lbconfig.Listener{
				{Port: 8080, Protocol: lbconfig.ProtocolHTTP, VirtualHosts: []lbconfig.VirtualHost{{Hostname: "shop.example.com", Routes: []lbconfig.Route{
					route("/all", "default/all:80"), route("/uri", "default/uri:80"), route("/user", "default/user:80"),
				}}}},
				{Port: 9000, Protocol: lbconfig.ProtocolTCP, TCP: &lbconfig.BackendRef{Name: "default/user:80"}},
			},
		}},
		Backends: []lbconfig.Backend{all, uri, backend("default/user:80", lbconfig.HashPart{Type: lbconfig.HashCookie, Name: "user"})},
	}
}

// TestRenderHashRejects checks that parts lbconfig would refuse are
// refused here too, whoever skipped Validate: none reaches haproxy.cfg.
func TestRenderHashRejects(t *testing.T) {
	for name, part := range map[string]lbconfig.HashPart{
		"header injection":  {Type: lbconfig.HashHeader, Name: "x),src,concat(a"},
		"header newline":    {Type: lbconfig.HashHeader, Name: "x\nbalance roundrobin"},
		"cookie paren":      {Type: lbconfig.HashCookie, Name: "a)b"},
		"literal comma":     {Type: lbconfig.HashLiteral, Name: "a,b"},
		"literal space":     {Type: lbconfig.HashLiteral, Name: "a b"},
		"literal too long":  {Type: lbconfig.HashLiteral, Name: strings.Repeat("a", 65)},
		"unknown part type": {Type: "Body"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := hashConfig()
			cfg.Backends[2].Policy.Hash.Key = []lbconfig.HashPart{part}
			cfg.Sort()
			if r, err := RenderConfig(cfg, goldenOptions(t)); err == nil {
				t.Fatalf("rendered:\n%s", r.Files[configFile])
			}
		})
	}
}

// hashSeeds are key parts, valid and hostile, for FuzzRenderHash and
// TestHashSeedsWithHAProxy.
var hashSeeds = []lbconfig.HashPart{
	{Type: lbconfig.HashHeader, Name: "x-user"}, {Type: lbconfig.HashHeader, Name: "x),src,concat(a"},
	{Type: lbconfig.HashCookie, Name: "Session_ID.v2"}, {Type: lbconfig.HashCookie, Name: "a b"},
	{Type: lbconfig.HashLiteral, Name: "~/@:-._"}, {Type: lbconfig.HashLiteral, Name: "a'b\"c"},
	{Type: lbconfig.HashLiteral, Name: "%[src]"}, {Type: lbconfig.HashLiteral, Name: "$HOME"},
	{Type: lbconfig.HashPath}, {Type: lbconfig.HashPath, Name: "x"},
}

// FuzzRenderHash renders a backend hashing on one part of any type and
// name: what RenderConfig accepts keeps to the grammar.
func FuzzRenderHash(f *testing.F) {
	for _, p := range hashSeeds {
		f.Add(string(p.Type), p.Name)
	}
	f.Fuzz(func(t *testing.T, typ, name string) {
		cfg := hashConfig()
		cfg.Backends[2].Policy.Hash.Key = []lbconfig.HashPart{{Type: lbconfig.HashPartType(typ), Name: name}}
		cfg.Sort()
		r, err := RenderConfig(cfg, RenderOptions{RuntimeDir: testRuntimeDir, DefaultCertificate: []byte("z")})
		if err != nil {
			return
		}
		checkGrammar(t, r)
	})
}

// TestHashSeedsWithHAProxy: every seed RenderConfig accepts, haproxy -c
// accepts too.
func TestHashSeedsWithHAProxy(t *testing.T) {
	bin := haproxyBinary(t)
	accepted := 0
	for _, p := range hashSeeds {
		cfg := hashConfig()
		cfg.Backends[2].Policy.Hash.Key = []lbconfig.HashPart{p}
		cfg.Sort()
		r, err := RenderConfig(cfg, goldenOptions(t))
		if err != nil {
			continue
		}
		accepted++
		checkGrammar(t, r)
		if err := checkWithHAProxy(t, bin, r); err != nil {
			t.Errorf("%+v: %v", p, err)
		}
	}
	if accepted != 4 {
		t.Errorf("%d seeds rendered, want the 4 valid ones", accepted)
	}
}
