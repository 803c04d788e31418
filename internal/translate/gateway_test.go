package translate

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/pkg/lbconfig"
)

// testGateway is a Gateway of class "ours" created at minute age, with one
// HTTP listener, spec.addresses specs and status.addresses kept.
func testGateway(name string, age int, specs, kept []string) *gatewayv1.Gateway {
	gw := &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", CreationTimestamp: metav1.NewTime(time.Date(2024, 1, 1, 0, age, 0, 0, time.UTC))},
		Spec: gatewayv1.GatewaySpec{
			GatewayClassName: "ours",
			Listeners:        []gatewayv1.Listener{{Name: "http", Protocol: gatewayv1.HTTPProtocolType, Port: 80}},
		},
	}
	for _, a := range specs {
		gw.Spec.Addresses = append(gw.Spec.Addresses, gatewayv1.GatewaySpecAddress{Value: a})
	}
	for _, a := range kept {
		gw.Status.Addresses = append(gw.Status.Addresses, gatewayv1.GatewayStatusAddress{Type: ptrTo(gatewayv1.IPAddressType), Value: a})
	}
	return gw
}

// gatewayAddresses translates gws with pool and returns each Gateway's
// load balancer addresses ("-" when it has no load balancer) and the
// problems' reasons by Gateway.
func gatewayAddresses(t *testing.T, pool string, gws ...*gatewayv1.Gateway) (map[string]string, map[string][]string) {
	t.Helper()
	snap := &Snapshot{GatewayClasses: []*gatewayv1.GatewayClass{{
		ObjectMeta: metav1.ObjectMeta{Name: "ours"},
		Spec:       gatewayv1.GatewayClassSpec{ControllerName: GatewayControllerName},
	}}}
	snap.Gateways = gws
	opts := goldenOptions
	if pool != "" {
		opts.GatewayAddressPool = netip.MustParsePrefix(pool)
	}
	cfg, problems := Ingresses(snap, opts)
	checkResult(t, cfg, problems)
	got := map[string]string{}
	for _, gw := range gws {
		got[gw.Name] = "-"
	}
	for _, lb := range cfg.LoadBalancers {
		var as []string
		for _, a := range lb.Addresses {
			as = append(as, a.String())
		}
		got[strings.TrimPrefix(lb.Name, GatewayLoadBalancerPrefix+"ns/")] = strings.Join(as, ",")
	}
	reasons := map[string][]string{}
	for _, p := range problems {
		reasons[p.Object.Name] = append(reasons[p.Object.Name], p.Reason)
	}
	return got, reasons
}

func TestGatewayAddressPool(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pool    string
		gws     []*gatewayv1.Gateway
		want    map[string]string
		reasons map[string][]string
	}{{
		name: "lowest free by age, skipping the network address",
		pool: "10.0.0.0/29",
		gws:  []*gatewayv1.Gateway{testGateway("b", 2, nil, nil), testGateway("a", 1, nil, nil)},
		want: map[string]string{"a": "10.0.0.1", "b": "10.0.0.2"},
	}, {
		name: "a kept address stays when an older Gateway comes",
		pool: "10.0.0.0/29",
		gws:  []*gatewayv1.Gateway{testGateway("young", 5, nil, []string{"10.0.0.1"}), testGateway("old", 1, nil, nil)},
		want: map[string]string{"young": "10.0.0.1", "old": "10.0.0.2"},
	}, {
		name: "an address released by a deleted Gateway is handed out again",
		pool: "10.0.0.0/29",
		gws:  []*gatewayv1.Gateway{testGateway("b", 2, nil, []string{"10.0.0.2"}), testGateway("c", 3, nil, nil)},
		want: map[string]string{"b": "10.0.0.2", "c": "10.0.0.1"},
	}, {
		name: "a kept address outside the pool, the network or broadcast address is not kept",
		pool: "10.0.0.0/30",
		gws: []*gatewayv1.Gateway{
			testGateway("out", 1, nil, []string{"192.0.2.1"}),
			testGateway("net", 2, nil, []string{"10.0.0.0"}),
			testGateway("bcast", 3, nil, []string{"10.0.0.3", "not an address"}),
		},
		want:    map[string]string{"out": "10.0.0.1", "net": "10.0.0.2", "bcast": "-"},
		reasons: map[string][]string{"bcast": {"AddressNotAssigned"}},
	}, {
		name: "two Gateways keeping one address: the older keeps it",
		pool: "10.0.0.0/29",
		gws:  []*gatewayv1.Gateway{testGateway("second", 2, nil, []string{"10.0.0.3"}), testGateway("first", 1, nil, []string{"10.0.0.3"})},
		want: map[string]string{"first": "10.0.0.3", "second": "10.0.0.1"},
	}, {
		name: "spec.addresses come first, and never from the pool's count",
		pool: "10.0.0.0/30",
		gws: []*gatewayv1.Gateway{
			testGateway("pooled", 1, nil, nil),
			testGateway("static", 2, []string{"10.0.0.1", "127.0.0.7", "10.0.0.1"}, nil),
		},
		want: map[string]string{"pooled": "10.0.0.2", "static": "10.0.0.1,127.0.0.7"},
	}, {
		name: "with a pool, an address outside it that is not loopback is not usable, and taken from no one",
		pool: "10.0.0.0/30",
		gws: []*gatewayv1.Gateway{
			testGateway("outside", 1, []string{"10.0.0.1", "192.0.2.7"}, nil),
			testGateway("pooled", 2, nil, nil),
		},
		want:    map[string]string{"outside": "-", "pooled": "10.0.0.1"},
		reasons: map[string][]string{"outside": {"AddressNotUsable"}},
	}, {
		name:    "an address another Gateway has, or that is not one, is refused",
		gws:     []*gatewayv1.Gateway{testGateway("a", 1, []string{"192.0.2.1"}, nil), testGateway("b", 2, []string{"192.0.2.1"}, nil), testGateway("c", 3, []string{"192.0.2.300"}, nil), testGateway("d", 4, []string{"fe80::1%eth0"}, nil)},
		want:    map[string]string{"a": "192.0.2.1", "b": "-", "c": "-", "d": "-"},
		reasons: map[string][]string{"b": {"UnsupportedAddress"}, "c": {"UnsupportedAddress"}, "d": {"UnsupportedAddress"}},
	}, {
		name: "no pool: the listen address, and the second on port 80 loses it",
		gws:  []*gatewayv1.Gateway{testGateway("a", 1, nil, nil), testGateway("b", 2, nil, nil)},
		want: map[string]string{"a": "", "b": "-"},
		reasons: map[string][]string{
			"b": {"PortUnavailable"},
		},
	}, {
		name: "a /31 and a /32 hand out every address",
		pool: "10.0.0.8/31",
		gws:  []*gatewayv1.Gateway{testGateway("a", 1, nil, nil), testGateway("b", 2, nil, nil), testGateway("c", 3, nil, nil)},
		want: map[string]string{"a": "10.0.0.8", "b": "10.0.0.9", "c": "-"},
		reasons: map[string][]string{
			"c": {"AddressNotAssigned"},
		},
	}, {
		name: "a huge IPv6 pool costs no more than a small one",
		pool: "2001:db8::/32",
		gws:  []*gatewayv1.Gateway{testGateway("a", 1, nil, []string{"2001:db8::ffff"}), testGateway("b", 2, nil, nil)},
		want: map[string]string{"a": "2001:db8::ffff", "b": "2001:db8::1"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, reasons := gatewayAddresses(t, tc.pool, tc.gws...)
			for name, want := range tc.want {
				if got[name] != want {
					t.Errorf("Gateway %s: addresses %q, want %q", name, got[name], want)
				}
			}
			for _, gw := range tc.gws {
				if w, g := tc.reasons[gw.Name], reasons[gw.Name]; !slices.Equal(w, g) {
					t.Errorf("Gateway %s: problems %v, want %v", gw.Name, g, w)
				}
			}
		})
	}
}

// TestGatewayPoolExhausted fills a pool with many Gateways: each gets an
// address of its own, the rest get AddressNotAssigned, and none binds
// anything outside the pool.
func TestGatewayPoolExhausted(t *testing.T) {
	var gws []*gatewayv1.Gateway
	for i := range 300 {
		gws = append(gws, testGateway(fmt.Sprintf("gw-%03d", i), i, nil, nil))
	}
	got, reasons := gatewayAddresses(t, "10.1.0.0/24", gws...)
	pool := netip.MustParsePrefix("10.1.0.0/24")
	seen := map[string]bool{}
	served := 0
	for name, a := range got {
		if a == "-" {
			if !slices.Equal(reasons[name], []string{"AddressNotAssigned"}) {
				t.Errorf("Gateway %s without an address: problems %v", name, reasons[name])
			}
			continue
		}
		served++
		addr := netip.MustParseAddr(a)
		if !pool.Contains(addr) || seen[a] {
			t.Errorf("Gateway %s: address %s outside the pool or taken twice", name, a)
		}
		seen[a] = true
	}
	if served != 254 {
		t.Errorf("%d Gateways got addresses, want 254 (a /24 without its network and broadcast addresses)", served)
	}
}

func TestIntersectHostnames(t *testing.T) {
	for _, tc := range []struct {
		listener, route, want string
		ok                    bool
	}{
		{"", "a.example.com", "a.example.com", true},
		{"a.example.com", "a.example.com", "a.example.com", true},
		{"a.example.com", "b.example.com", "", false},
		{"*.example.com", "a.example.com", "a.example.com", true},
		{"*.example.com", "a.b.example.com", "a.b.example.com", true},
		{"*.example.com", "example.com", "", false},
		{"*.example.com", "badexample.com", "", false},
		{"a.example.com", "*.example.com", "a.example.com", true},
		{"*.example.com", "*.a.example.com", "*.a.example.com", true},
		{"*.a.example.com", "*.example.com", "*.a.example.com", true},
		{"*.example.com", "*.example.org", "", false},
	} {
		got, ok := intersectHostnames(tc.listener, tc.route)
		if got != tc.want || ok != tc.ok {
			t.Errorf("intersectHostnames(%q, %q) = %q, %v; want %q, %v", tc.listener, tc.route, got, ok, tc.want, tc.ok)
		}
	}
}

// TestFillGroups: a group of header matches without a plain route gets
// the routes of the longest shorter prefix, or the invalid backend.
func TestFillGroups(t *testing.T) {
	src := lbconfig.ObjectRef{Kind: kindHTTPRoute, Namespace: "ns", Name: "r"}
	hdr := []lbconfig.HeaderMatch{{Name: "x", Type: lbconfig.HeaderExact, Value: "1"}}
	routes := []lbconfig.Route{
		{Path: "/", Match: lbconfig.MatchPrefix, Backend: lbconfig.BackendRef{Name: "root"}, Source: src},
		{Path: "/a", Match: lbconfig.MatchPrefix, Backend: lbconfig.BackendRef{Name: "a-hdr"}, Headers: hdr, Source: src},
		{Path: "/a/b", Match: lbconfig.MatchPrefix, Backend: lbconfig.BackendRef{Name: "ab-hdr"}, Headers: []lbconfig.HeaderMatch{{Name: "y", Type: lbconfig.HeaderExact, Value: "2"}}, Source: src},
		{Path: "/a/b", Match: lbconfig.MatchExact, Backend: lbconfig.BackendRef{Name: "exact-hdr"}, Headers: hdr, Source: src},
		{Path: "^/re", Match: lbconfig.MatchRegex, Backend: lbconfig.BackendRef{Name: "re-hdr"}, Headers: hdr, Source: src},
	}
	got := fillGroups(slices.Clone(routes), func(lbconfig.ObjectRef) string { return "invalid" })
	var lines []string
	for _, r := range got {
		lines = append(lines, fmt.Sprintf("%s %s %d %s", r.Match, r.Path, len(r.Headers), r.Backend.Name))
	}
	slices.Sort(lines)
	want := []string{
		"Exact /a/b 0 root",      // from /a/b's copy of /a's copy of /
		"Exact /a/b 1 ab-hdr",    // y=2 from the prefix /a/b; its x=1 (a-hdr) is the exact route's own
		"Exact /a/b 1 exact-hdr", // its own
		"Prefix / 0 root",
		"Prefix /a 0 root",
		"Prefix /a 1 a-hdr",
		"Prefix /a/b 0 root",
		"Prefix /a/b 1 a-hdr",
		"Prefix /a/b 1 ab-hdr",
		"Regex ^/re 0 invalid",
		"Regex ^/re 1 re-hdr",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

// TestWithoutGatewayAPI: the engine's isolation leaves out Gateways and
// HTTPRoutes like Ingresses, and nothing else of the Gateway API.
func TestWithoutGatewayAPI(t *testing.T) {
	snap := &Snapshot{
		GatewayClasses: []*gatewayv1.GatewayClass{{ObjectMeta: metav1.ObjectMeta{Name: "ours"}}},
		Gateways:       []*gatewayv1.Gateway{{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "a"}}, {ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "b"}}},
		HTTPRoutes:     []*gatewayv1.HTTPRoute{{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "a"}}, {ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "r"}}},
	}
	got := Without(snap, []lbconfig.ObjectRef{
		{Kind: kindGateway, Namespace: "ns", Name: "a"}, {Kind: kindHTTPRoute, Namespace: "ns", Name: "r"}, {Kind: kindGatewayClass, Name: "ours"},
	})
	want := []string{"GatewayClass ours", "Gateway ns/b", "HTTPRoute ns/a"}
	if g := refsOf(got); !slices.Equal(g, want) {
		t.Errorf("got %q, want %q", g, want)
	}
	if len(snap.Gateways) != 2 || len(snap.HTTPRoutes) != 2 {
		t.Error("the input changed")
	}
}

// TestRouteHostsMostSpecificListener: a hostname goes to the most
// specific listener of a port that takes it, never to a less specific one
// too.
func TestRouteHostsMostSpecificListener(t *testing.T) {
	mk := func(name, host string) *listenerState {
		ls := &listenerState{l: gatewayv1.Listener{Name: gatewayv1.SectionName(name), Protocol: gatewayv1.HTTPProtocolType, Port: 80}, accepted: true, resolved: true,
			kinds: []gatewayv1.RouteGroupKind{{Kind: kindHTTPRoute}}}
		if host != "" {
			ls.l.Hostname = ptrTo(gatewayv1.Hostname(host))
		}
		return ls
	}
	anyHost, wild, deeper, exact := mk("any", ""), mk("wild", "*.example.com"), mk("deeper", "*.a.example.com"), mk("exact", "b.example.com")
	all := []*listenerState{anyHost, wild, deeper, exact}
	hosts := []gatewayv1.Hostname{"b.example.com", "x.a.example.com", "c.example.com", "other.org", "*.example.com"}
	for _, tc := range []struct {
		ls   *listenerState
		want []string
	}{
		{anyHost, []string{"other.org"}},
		{wild, []string{"c.example.com", "*.example.com"}},
		{deeper, []string{"x.a.example.com", "*.a.example.com"}}, // "*.example.com" narrowed to the listener's
		{exact, []string{"b.example.com"}},
	} {
		if got := routeHosts(tc.ls, all, hosts); !slices.Equal(got, tc.want) {
			t.Errorf("listener %s: %q, want %q", tc.ls.l.Name, got, tc.want)
		}
	}
}
