package lbconfig_test

import (
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// fallThroughListener is one Gateway listener's hostnames: an exact
// host with "/api" only, a host under a longer wildcard, two wildcards
// and the catch-all, each falling through to the next less specific.
func fallThroughListener() lbconfig.Listener {
	route := func(path, b string) []lbconfig.Route {
		return []lbconfig.Route{{Path: path, Match: lbconfig.MatchPrefix, Backend: lbconfig.BackendRef{Name: b}}}
	}
	to := func(h string) *string { return &h }
	return lbconfig.Listener{Port: 80, Protocol: lbconfig.ProtocolHTTP, VirtualHosts: []lbconfig.VirtualHost{
		{Hostname: "", Routes: route("/x", "ns/any:80")},
		{Hostname: "*.b.example.com", MultiLabel: true, Routes: route("/", "ns/b:80"), FallThrough: to("*.example.com")},
		{Hostname: "*.example.com", MultiLabel: true, Routes: route("/api/long", "ns/wild:80"), FallThrough: to("")},
		{Hostname: "a.example.com", Routes: route("/api", "ns/a:80"), FallThrough: to("*.example.com")},
		{Hostname: "c.b.example.com", FallThrough: to("*.b.example.com")},
	}}
}

func TestVirtualHostsFor(t *testing.T) {
	l := fallThroughListener()
	for host, want := range map[string]string{
		"a.example.com":     "a.example.com,*.example.com,",
		"x.example.com":     "*.example.com,",
		"x.b.example.com":   "*.b.example.com,*.example.com,",
		"y.x.b.example.com": "*.b.example.com,*.example.com,",
		"c.b.example.com":   "c.b.example.com,*.b.example.com,*.example.com,",
		"b.example.com":     "*.example.com,",
		"example.com":       "",
		"other.org":         "",
	} {
		var names []string
		for _, vh := range l.VirtualHostsFor(host) {
			names = append(names, vh.Hostname)
		}
		if got := strings.Join(names, ","); got != want {
			t.Errorf("VirtualHostsFor(%q) = %q, want %q", host, got, want)
		}
	}
	// Without a catch-all, a host no virtual host takes has none.
	l.VirtualHosts = l.VirtualHosts[1:]
	l.VirtualHosts[1].FallThrough = nil
	if got := l.VirtualHostsFor("other.org"); len(got) != 0 {
		t.Errorf("VirtualHostsFor(other.org) without a catch-all = %d virtual hosts", len(got))
	}
	// A chain that Validate refuses (a loop) still ends.
	loop := "a.example.com"
	l.VirtualHosts[1].FallThrough = &loop
	if got := l.VirtualHostsFor("a.example.com"); len(got) > len(l.VirtualHosts)+1 {
		t.Errorf("a loop gave %d virtual hosts", len(got))
	}
}

func TestCovers(t *testing.T) {
	vh := func(h string) *lbconfig.VirtualHost {
		return &lbconfig.VirtualHost{Hostname: h, MultiLabel: strings.HasPrefix(h, "*.")}
	}
	one := func(h string) *lbconfig.VirtualHost { return &lbconfig.VirtualHost{Hostname: h} }
	for _, tc := range []struct {
		vh, other *lbconfig.VirtualHost
		want      bool
	}{
		{vh(""), vh("a.example.com"), true},
		{vh(""), vh("*.example.com"), true},
		{vh(""), vh(""), false},
		{vh("*.example.com"), vh(""), false},
		{vh("*.example.com"), vh("a.example.com"), true},
		{vh("*.example.com"), vh("a.b.example.com"), true},
		{vh("*.example.com"), vh("example.com"), false},
		{vh("*.example.com"), vh("aexample.com"), false},
		{vh("*.example.com"), vh("*.b.example.com"), true},
		{vh("*.example.com"), one("*.b.example.com"), true},
		{vh("*.example.com"), vh("*.example.com"), false},
		{vh("*.b.example.com"), vh("*.example.com"), false},
		{vh("*.example.com"), vh("*.bexample.com"), false},
		{one("*.example.com"), vh("a.example.com"), true},
		{one("*.example.com"), vh("a.b.example.com"), false},
		{one("*.example.com"), vh("*.b.example.com"), false},
		{vh("a.example.com"), vh("a.example.com"), false},
		{vh("a.example.com"), vh("*.example.com"), false},
		{vh("a.example.com"), vh("b.example.com"), false},
	} {
		if got := tc.vh.Covers(tc.other); got != tc.want {
			t.Errorf("%q (multi-label %v) Covers(%q (multi-label %v)) = %v, want %v",
				tc.vh.Hostname, tc.vh.MultiLabel, tc.other.Hostname, tc.other.MultiLabel, got, tc.want)
		}
	}
}

func TestValidateFallThrough(t *testing.T) {
	valid := func() *lbconfig.Config {
		c := &lbconfig.Config{LoadBalancers: []lbconfig.LoadBalancer{{Name: "gateway/ns/gw", Listeners: []lbconfig.Listener{fallThroughListener()}}}}
		for _, b := range []string{"ns/any:80", "ns/a:80", "ns/b:80", "ns/wild:80"} {
			c.Backends = append(c.Backends, lbconfig.Backend{Name: b, Policy: lbconfig.Policy{Algorithm: lbconfig.RoundRobin}})
		}
		c.Sort()
		return c
	}
	if err := valid().Validate(); err != nil {
		t.Fatalf("valid chain: %v", err)
	}
	https := valid()
	https.LoadBalancers[0].Listeners[0].Protocol = lbconfig.ProtocolHTTPS
	https.LoadBalancers[0].Listeners[0].Port = 443
	for i := range https.LoadBalancers[0].Listeners[0].VirtualHosts {
		https.LoadBalancers[0].Listeners[0].VirtualHosts[i].ConnectionGroup = "ns/gw/https"
	}
	if err := https.Validate(); err != nil {
		t.Fatalf("valid chain on HTTPS, one group: %v", err)
	}
	// Sorted: "", "*.b.example.com", "*.example.com", "a.example.com",
	// "c.b.example.com".
	const f = "loadBalancers[0].listeners[0].virtualHosts[3].fallThrough"
	name := func(s string) *string { return &s }
	for what, mutate := range map[string]func(*lbconfig.Listener){
		"missing":             func(l *lbconfig.Listener) { l.VirtualHosts[3].FallThrough = name("*.a.example.com") },
		"itself":              func(l *lbconfig.Listener) { l.VirtualHosts[3].FallThrough = name("a.example.com") },
		"more specific":       func(l *lbconfig.Listener) { l.VirtualHosts[3].FallThrough = name("c.b.example.com") },
		"not taking the host": func(l *lbconfig.Listener) { l.VirtualHosts[3].FallThrough = name("*.b.example.com") },
		"CRLF":                func(l *lbconfig.Listener) { l.VirtualHosts[3].FallThrough = name("\r\nhttp-request deny") },
		"passthrough target": func(l *lbconfig.Listener) {
			l.Protocol, l.Port = lbconfig.ProtocolHTTPS, 443
			l.VirtualHosts[2].Routes, l.VirtualHosts[2].FallThrough = nil, nil
			l.VirtualHosts[2].Passthrough = &lbconfig.BackendRef{Name: "ns/wild:80"}
		},
		"other connection group": func(l *lbconfig.Listener) {
			l.Protocol, l.Port = lbconfig.ProtocolHTTPS, 443
			l.VirtualHosts[3].ConnectionGroup = "ns/gw/a"
			l.VirtualHosts[2].ConnectionGroup = "ns/gw/wild"
		},
		"TLS passthrough listener": func(l *lbconfig.Listener) {
			l.Protocol, l.Port = lbconfig.ProtocolTLSPassthrough, 443
			for i := range l.VirtualHosts {
				l.VirtualHosts[i].Routes = nil
				l.VirtualHosts[i].Passthrough = &lbconfig.BackendRef{Name: "ns/a:80"}
			}
		},
	} {
		t.Run(what, func(t *testing.T) {
			c := valid()
			mutate(&c.LoadBalancers[0].Listeners[0])
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), f+":") {
				t.Fatalf("Validate() = %v, want an error on %s", err, f)
			}
		})
	}
	// The catch-all has nothing less specific to fall to.
	c := valid()
	c.LoadBalancers[0].Listeners[0].VirtualHosts[0].FallThrough = name("*.example.com")
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "virtualHosts[0].fallThrough:") {
		t.Fatalf("catch-all falling through: Validate() = %v", err)
	}
}

// TestSortKeepsFallThrough: Sort reorders virtual hosts, and FallThrough
// names one, so the chain is the same in any order.
func TestSortKeepsFallThrough(t *testing.T) {
	c := &lbconfig.Config{LoadBalancers: []lbconfig.LoadBalancer{{Name: "gateway/ns/gw", Listeners: []lbconfig.Listener{fallThroughListener()}}}}
	l := &c.LoadBalancers[0].Listeners[0]
	l.VirtualHosts[0], l.VirtualHosts[4] = l.VirtualHosts[4], l.VirtualHosts[0]
	before := len(l.VirtualHostsFor("c.b.example.com"))
	c.Sort()
	l = &c.LoadBalancers[0].Listeners[0]
	if l.VirtualHosts[0].Hostname != "" || len(l.VirtualHostsFor("c.b.example.com")) != before || before != 4 {
		t.Errorf("after Sort: %d virtual hosts for c.b.example.com, %d before, want 4", len(l.VirtualHostsFor("c.b.example.com")), before)
	}
}
