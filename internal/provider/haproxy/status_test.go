package haproxy

import (
	"strconv"
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// statusConfig has backends that are answers (lbconfig.Backend.Status):
// half of a weighted route's requests, a whole route's, the default
// backend's, with a body limit and a route timeout that the answer comes
// before.
func statusConfig() *lbconfig.Config {
	gw := lbconfig.ObjectRef{Kind: "HTTPRoute", Namespace: "default", Name: "shop"}
	route := func(path, backend string) lbconfig.Route {
		return lbconfig.Route{Path: path, Match: lbconfig.MatchPrefix, Backend: ref(backend), Source: gw}
	}
	half := route("/half", "default/shop!invalid")
	half.Backends = []lbconfig.WeightedBackend{{Name: "default/echo:80", Weight: 1}, {Name: "default/shop!invalid", Weight: 1}}
	timed := route("/timed", "default/shop!invalid")
	timed.Timeouts = &lbconfig.RouteTimeouts{Request: lbconfig.Duration(5e9)}
	hdr := route("/", "default/echo:80")
	hdr.Headers = []lbconfig.HeaderMatch{{Name: "version", Type: lbconfig.HeaderExact, Value: "two"}}
	return &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{
			Name: "gateway/default/gw",
			Listeners: []lbconfig.Listener{{
				Port: 80, Protocol: lbconfig.ProtocolHTTP, DefaultBackend: &lbconfig.BackendRef{Name: "gateway!unavailable"},
				VirtualHosts: []lbconfig.VirtualHost{{Hostname: "shop.example.com", Routes: []lbconfig.Route{
					half, route("/none", "default/shop!invalid"), timed, hdr, route("/", "gateway!not-found"),
				}}},
			}},
		}},
		Backends: []lbconfig.Backend{
			{Name: "default/echo:80", Endpoints: []lbconfig.Endpoint{{Address: "10.0.0.1", Port: 8080, Ready: true, Serving: true}}},
			{Name: "default/shop!invalid", Status: 500, Policy: lbconfig.Policy{MaxRequestBodyBytes: 1024}},
			{Name: "gateway!not-found", Status: 404},
			{Name: "gateway!unavailable", Status: 503},
		},
	}
}

// TestStatusRule: the answer of every status, and none for a backend
// with endpoints; the text never leaves the double quotes, and HAProxy
// takes a config with a backend of each status.
func TestStatusRule(t *testing.T) {
	cfg := &lbconfig.Config{LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{{Port: 80, Protocol: lbconfig.ProtocolHTTP}}}}}
	l := &cfg.LoadBalancers[0].Listeners[0]
	l.VirtualHosts = []lbconfig.VirtualHost{{Hostname: "x.example.com"}}
	for s := int32(lbconfig.MinStatus); s <= lbconfig.MaxStatus; s++ {
		name := "status-" + strconv.Itoa(int(s))
		cfg.Backends = append(cfg.Backends, lbconfig.Backend{Name: name, Status: s})
		l.VirtualHosts[0].Routes = append(l.VirtualHosts[0].Routes, lbconfig.Route{Path: "/" + name, Match: lbconfig.MatchExact, Backend: ref(name)})
	}
	cfg.Sort()
	r, err := RenderConfig(cfg, goldenOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	checkGrammar(t, r)
	if err := checkWithHAProxy(t, haproxyBinary(t), r); err != nil {
		t.Error(err)
	}
	if got := statusRule(&lbconfig.Backend{Name: "b"}); got != "" {
		t.Errorf("statusRule of a backend without a status = %q, want none", got)
	}
	for s := int32(lbconfig.MinStatus); s <= lbconfig.MaxStatus; s++ {
		rule := statusRule(&lbconfig.Backend{Name: "b", Status: s})
		_, text, ok := strings.Cut(rule, ` string "`)
		if !strings.HasPrefix(rule, "http-request return status ") || !ok || strings.Count(text, `"`) != 1 || !strings.HasSuffix(text, `"`) || strings.ContainsAny(text, `\%$`) {
			t.Errorf("status %d: rule %q", s, rule)
		}
	}
}
