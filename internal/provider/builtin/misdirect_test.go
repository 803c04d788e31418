package builtin

import (
	"crypto/tls"
	"net/http"
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// groupedListener is a listener with connection groups, compiled.
func groupedListener(t testing.TB) (lbconfig.Listener, *portRoutes) {
	l := lbconfig.Listener{Port: 443, Protocol: lbconfig.ProtocolHTTPS, VirtualHosts: []lbconfig.VirtualHost{
		{Hostname: "", ConnectionGroup: "any"},
		{Hostname: "*.wildcard.org", MultiLabel: true, ConnectionGroup: "wild"},
		{Hostname: "example.org", ConnectionGroup: "any"},
		{Hostname: "fourth.wildcard.org", ConnectionGroup: "fourth"},
		{Hostname: "open.example"},
		{Hostname: "second.org", ConnectionGroup: "second"},
	}}
	pr, err := compileListener(l, func(*lbconfig.BackendRef) (*backend, error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	if err := attachConnectionGroups(pr, l); err != nil {
		t.Fatal(err)
	}
	return l, pr
}

// TestMisdirectedLikeLbconfig: the compiled check answers as
// lbconfig.Listener.Misdirected for the server names and Hosts of every
// form, and a request without TLS is never misdirected.
func TestMisdirectedLikeLbconfig(t *testing.T) {
	l, pr := groupedListener(t)
	names := []string{
		"", "example.org", "EXAMPLE.org.", "example.org:443", "second.org", "Second.Org.:8443", "unknown.org",
		"a.wildcard.org", "a.b.wildcard.org", "fourth.wildcard.org", "FOURTH.wildcard.org.", "wildcard.org",
		"open.example", "[::1]:443", "second.org,example.org", strings.Repeat("a.", 2000) + "wildcard.org",
	}
	for _, sni := range names {
		for _, host := range names {
			r := &http.Request{Host: host, TLS: &tls.ConnectionState{ServerName: sni}}
			want := l.Misdirected(lbconfig.NormalizeHost(sni), lbconfig.NormalizeHost(host))
			if got := pr.misdirected(r); got != want {
				t.Errorf("SNI %.40q, Host %.40q: misdirected %v, want %v", sni, host, got, want)
			}
			r.TLS = nil
			if pr.misdirected(r) {
				t.Errorf("Host %.40q without TLS: misdirected", host)
			}
		}
	}
}

// FuzzMisdirected: the compiled check answers as the reference for any
// server name and Host.
func FuzzMisdirected(f *testing.F) {
	for _, s := range [][2]string{{"example.org", "second.org"}, {"a.wildcard.org", "FOURTH.wildcard.org."}, {"", "x:1"}, {"[::1]", "open.example"}} {
		f.Add(s[0], s[1])
	}
	l, pr := groupedListener(f)
	f.Fuzz(func(t *testing.T, sni, host string) {
		r := &http.Request{Host: host, TLS: &tls.ConnectionState{ServerName: sni}}
		if got, want := pr.misdirected(r), l.Misdirected(lbconfig.NormalizeHost(sni), lbconfig.NormalizeHost(host)); got != want {
			t.Errorf("SNI %q, Host %q: misdirected %v, want %v", sni, host, got, want)
		}
	})
}

// TestConnectionGroupsRefused: a group where the builtin never checks one
// is refused, not ignored; a listener without groups checks nothing.
func TestConnectionGroupsRefused(t *testing.T) {
	lookup := func(*lbconfig.BackendRef) (*backend, error) { return &backend{}, nil }
	for name, l := range map[string]lbconfig.Listener{
		"HTTP listener": {Port: 80, Protocol: lbconfig.ProtocolHTTP, VirtualHosts: []lbconfig.VirtualHost{{Hostname: "a.example", ConnectionGroup: "a"}}},
		"passthrough":   {Port: 443, Protocol: lbconfig.ProtocolHTTPS, VirtualHosts: []lbconfig.VirtualHost{{Hostname: "a.example", ConnectionGroup: "a", Passthrough: &lbconfig.BackendRef{Name: "b"}}}},
	} {
		pr, err := compileListener(l, lookup)
		if err != nil {
			t.Fatal(err)
		}
		if err := attachConnectionGroups(pr, l); err == nil || !strings.Contains(err.Error(), `virtual host 0 ("a.example"): connectionGroup`) {
			t.Errorf("%s: %v, want an error naming the virtual host", name, err)
		}
	}
	l := lbconfig.Listener{Port: 443, Protocol: lbconfig.ProtocolHTTPS, VirtualHosts: []lbconfig.VirtualHost{{Hostname: "a.example"}, {Hostname: "b.example"}}}
	pr, err := compileListener(l, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if err := attachConnectionGroups(pr, l); err != nil || pr.grouped {
		t.Errorf("a listener without groups: error %v, grouped %v", err, pr.grouped)
	}
}
