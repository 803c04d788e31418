package lbconfig_test

import (
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// groupedListener is the HTTPS port of Gateway API's conformance test
// HTTPRouteHTTPSListenerDetectMisdirectedRequests: listener "https" (no
// hostname) with a route for example.org, "https-with-hostname"
// (second-example.org), "https-with-wildcard-hostname" (*.wildcard.org)
// and "https-with-hostname-matching-wildcard"
// (fourth-example.wildcard.org).
func groupedListener() lbconfig.Listener {
	route := func(b string) []lbconfig.Route {
		return []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix, Backend: lbconfig.BackendRef{Name: b}}}
	}
	return lbconfig.Listener{Port: 443, Protocol: lbconfig.ProtocolHTTPS, VirtualHosts: []lbconfig.VirtualHost{
		{Hostname: "", ConnectionGroup: "https"},
		{Hostname: "*.wildcard.org", MultiLabel: true, ConnectionGroup: "https-with-wildcard-hostname", Routes: route("ns/v3:80")},
		{Hostname: "example.org", ConnectionGroup: "https", Routes: route("ns/v1:80")},
		{Hostname: "fourth-example.wildcard.org", ConnectionGroup: "https-with-hostname-matching-wildcard", Routes: route("ns/v1:80")},
		{Hostname: "second-example.org", ConnectionGroup: "https-with-hostname", Routes: route("ns/v2:80")},
	}}
}

func TestMisdirected(t *testing.T) {
	l := groupedListener()
	for _, tc := range []struct {
		sni, host string
		want      bool
	}{
		// The upstream test's cases.
		{"example.org", "example.org", false},
		{"example.org", "second-example.org", true},
		{"example.org", "unknown-example.org", false}, // the SNI's listener takes it: 404
		{"second-example.org", "second-example.org", false},
		{"second-example.org", "example.org", true},
		{"second-example.org", "unknown-example.org", true}, // the catch-all listener takes it
		{"third-example.wildcard.org", "third-example.wildcard.org", false},
		{"third-example.wildcard.org", "fith-example.wildcard.org", false},
		{"third-example.wildcard.org", "fourth-example.wildcard.org", true},
		{"third-example.wildcard.org", "second-example.org", true},
		{"third-example.wildcard.org", "unknown-example.org", true},
		{"fourth-example.wildcard.org", "fourth-example.wildcard.org", false},
		{"fourth-example.wildcard.org", "fith-example.wildcard.org", true},
		{"unknown-example.org", "example.org", false},
		{"unknown-example.org", "unknown-example.org", false},
		// No server name: the catch-all's connection.
		{"", "example.org", false},
		{"", "second-example.org", true},
		// No Host (HTTP/1.0): the catch-all's request.
		{"second-example.org", "", true},
		{"example.org", "", false},
		// Multi-label wildcard, and what it does not take.
		{"a.b.wildcard.org", "c.wildcard.org", false},
		{"a.b.wildcard.org", "wildcard.org", true},
	} {
		if got := l.Misdirected(tc.sni, tc.host); got != tc.want {
			t.Errorf("Misdirected(%q, %q) = %v, want %v", tc.sni, tc.host, got, tc.want)
		}
	}
	if !l.HasConnectionGroups() {
		t.Error("HasConnectionGroups() = false")
	}
}

func TestMisdirectedWithoutGroups(t *testing.T) {
	l := groupedListener()
	// Without a catch-all, a Host no listener takes is not misdirected
	// (404), nor is a connection whose server name no listener takes.
	l.VirtualHosts = l.VirtualHosts[1:]
	for _, tc := range [][2]string{{"second-example.org", "unknown-example.org"}, {"unknown-example.org", "second-example.org"}, {"", "second-example.org"}} {
		if l.Misdirected(tc[0], tc[1]) {
			t.Errorf("without a catch-all: Misdirected(%q, %q) = true", tc[0], tc[1])
		}
	}
	// A virtual host without a group takes no part, either side.
	l.VirtualHosts[1].ConnectionGroup = "" // example.org
	for _, tc := range [][2]string{{"example.org", "second-example.org"}, {"second-example.org", "example.org"}} {
		if l.Misdirected(tc[0], tc[1]) {
			t.Errorf("without a group: Misdirected(%q, %q) = true", tc[0], tc[1])
		}
	}
	for i := range l.VirtualHosts {
		l.VirtualHosts[i].ConnectionGroup = ""
	}
	if l.HasConnectionGroups() || l.Misdirected("second-example.org", "fourth-example.wildcard.org") {
		t.Error("a listener without groups checks requests")
	}
}

func TestValidateConnectionGroup(t *testing.T) {
	valid := func() *lbconfig.Config {
		return &lbconfig.Config{
			LoadBalancers: []lbconfig.LoadBalancer{{Name: "gateway/ns/gw", Listeners: []lbconfig.Listener{groupedListener()}}},
			Backends: []lbconfig.Backend{
				{Name: "ns/v1:80", Policy: lbconfig.Policy{Algorithm: lbconfig.RoundRobin}},
				{Name: "ns/v2:80", Policy: lbconfig.Policy{Algorithm: lbconfig.RoundRobin}},
				{Name: "ns/v3:80", Policy: lbconfig.Policy{Algorithm: lbconfig.RoundRobin}},
			},
		}
	}
	if err := valid().Validate(); err != nil {
		t.Fatalf("valid groups: %v", err)
	}
	long := valid()
	long.LoadBalancers[0].Listeners[0].VirtualHosts[0].ConnectionGroup = "ns/" + strings.Repeat("a", lbconfig.MaxConnectionGroupLength-3)
	if err := long.Validate(); err != nil {
		t.Fatalf("a group of %d bytes: %v", lbconfig.MaxConnectionGroupLength, err)
	}
	const f = "loadBalancers[0].listeners[0].virtualHosts[2].connectionGroup"
	for name, mutate := range map[string]func(*lbconfig.Listener){
		"too long": func(l *lbconfig.Listener) {
			l.VirtualHosts[2].ConnectionGroup = strings.Repeat("a", lbconfig.MaxConnectionGroupLength+1)
		},
		"space":     func(l *lbconfig.Listener) { l.VirtualHosts[2].ConnectionGroup = "a b" },
		"CRLF":      func(l *lbconfig.Listener) { l.VirtualHosts[2].ConnectionGroup = "a\r\nhttp-request deny" },
		"NUL":       func(l *lbconfig.Listener) { l.VirtualHosts[2].ConnectionGroup = "a\x00" },
		"quote":     func(l *lbconfig.Listener) { l.VirtualHosts[2].ConnectionGroup = `a"` },
		"non-ASCII": func(l *lbconfig.Listener) { l.VirtualHosts[2].ConnectionGroup = "lïstener" },
		"HTTP listener": func(l *lbconfig.Listener) {
			l.Protocol, l.Port = lbconfig.ProtocolHTTP, 80
		},
		"passthrough": func(l *lbconfig.Listener) {
			l.VirtualHosts[2].Routes = nil
			l.VirtualHosts[2].Passthrough = &lbconfig.BackendRef{Name: "ns/v1:80"}
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := valid()
			mutate(&c.LoadBalancers[0].Listeners[0])
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), f+":") {
				t.Fatalf("Validate() = %v, want an error on %s", err, f)
			}
		})
	}
}
