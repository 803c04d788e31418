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
