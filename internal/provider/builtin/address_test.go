package builtin

import (
	"net/netip"
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// TestBuildTableListenAddressClashes: what lbconfig cannot see, a load
// balancer's own address on the port another binds on the listen
// address, is refused where the two overlap. The listen address binds as
// "tcp", dual-stack when unspecified; own addresses bind their family.
func TestBuildTableListenAddressClashes(t *testing.T) {
	for _, tc := range []struct {
		listen, own string
		clash       bool
	}{
		{"127.0.0.1", "127.0.0.2", false},
		{"127.0.0.1", "127.0.0.1", true},
		{"127.0.0.1", "0.0.0.0", true},
		{"127.0.0.1", "::", false},
		{"", "127.0.0.2", true},
		{"", "::1", true},
		{"0.0.0.0", "::1", true}, // dual-stack
		{"::1", "::", true},
		{"::1", "0.0.0.0", false},
		{"::1", "127.0.0.2", false},
	} {
		cfg := &lbconfig.Config{LoadBalancers: []lbconfig.LoadBalancer{
			{Name: "default", Listeners: []lbconfig.Listener{{Port: 80, Protocol: lbconfig.ProtocolHTTP}}},
			{Name: "gw", Addresses: []netip.Addr{netip.MustParseAddr(tc.own)}, Listeners: []lbconfig.Listener{{Port: 80, Protocol: lbconfig.ProtocolHTTP}}},
		}}
		cfg.Sort()
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		_, err := buildTable(cfg, tc.listen, nil)
		if tc.clash != (err != nil) {
			t.Errorf("listen %q, own %s: buildTable error %v, want a clash %v", tc.listen, tc.own, err, tc.clash)
		}
		if err != nil && !strings.Contains(err.Error(), `load balancer "gw": listener 0 (port 80)`) {
			t.Errorf("listen %q, own %s: error %q does not name the listener", tc.listen, tc.own, err)
		}
	}
}

// TestBuildTableSocketsAndEndpoints: one routing table entry per address
// and port, and each load balancer's own addresses in the Result.
func TestBuildTableSocketsAndEndpoints(t *testing.T) {
	cfg := &lbconfig.Config{LoadBalancers: []lbconfig.LoadBalancer{
		{Name: "default", Listeners: []lbconfig.Listener{{Port: 80, Protocol: lbconfig.ProtocolHTTP}}},
		{Name: "gw", Addresses: []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("::1")}, Listeners: []lbconfig.Listener{{Port: 80, Protocol: lbconfig.ProtocolHTTP}, {Port: 81, Protocol: lbconfig.ProtocolHTTP}}},
	}}
	cfg.Sort()
	tb, err := buildTable(cfg, "127.0.0.1", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []socket{{host: "127.0.0.1", port: 80}, {host: "127.0.0.2", port: 80, own: true}, {host: "::1", port: 81, own: true}} {
		if s.own {
			s = (&socketOwners{}).socketFor(netip.MustParseAddr(s.host), s.port)
		}
		if tb.routesAt(&s) == nil {
			t.Errorf("no routes for %v", s)
		}
	}
	if len(tb.ports) != 1 || len(tb.own) != 4 || len(tb.binds) != 5 {
		t.Errorf("%d + %d routing entries and %d binds, want 1 + 4 and 5", len(tb.ports), len(tb.own), len(tb.binds))
	}
	if got := tb.endpoints["gw"]; len(got) != 2 || got[0].IP != "127.0.0.2" || got[1].IP != "::1" {
		t.Errorf("endpoints of gw = %+v, want 127.0.0.2 and ::1", got)
	}
	if got := tb.endpoints["default"]; len(got) != 1 || got[0].IP != "127.0.0.1" {
		t.Errorf("endpoints of default = %+v, want 127.0.0.1", got)
	}
	if n := (socket{host: "::", port: 1, own: true}).network(); n != "tcp6" {
		t.Errorf("network of :: = %s, want tcp6 (v6only)", n)
	}
}
