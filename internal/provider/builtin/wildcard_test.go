package builtin

import (
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// TestWildcardForLikeLbconfig: the compiled lookup picks the virtual host
// lbconfig.Listener.VirtualHostFor picks, odd hosts included, without
// allocating.
func TestWildcardForLikeLbconfig(t *testing.T) {
	l := lbconfig.Listener{Port: 80, VirtualHosts: []lbconfig.VirtualHost{
		{Hostname: ""},
		{Hostname: "*.b.example.com", MultiLabel: true},
		{Hostname: "*.c.example.com"},
		{Hostname: "*.example.com", MultiLabel: true},
		{Hostname: "*.one.example.org"},
		{Hostname: "a.example.com"},
	}}
	pr, err := compileListener(l, func(r *lbconfig.BackendRef) (*backend, error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	names := map[*vhost]string{}
	for _, vh := range l.VirtualHosts {
		names[pr.vhostNamed(vh.Hostname)] = vh.Hostname
	}
	for _, host := range []string{
		"a.example.com", "x.example.com", "x.y.z.example.com", "b.example.com", "x.b.example.com",
		"x.y.b.example.com", "x.c.example.com", "x.y.c.example.com", "example.com", ".example.com",
		".a.example.com", "..example.com", "a..example.com", "xexample.com", "a.example.com.other",
		"x.one.example.org", "x.y.one.example.org", "one.example.org", "", ".", "..", "a.", "com",
		// Many labels: only the suffixes as long as a key are looked up.
		strings.Repeat("a.", 4000) + "b.example.com", strings.Repeat("a.", 4000) + "example.org",
	} {
		want := l.VirtualHostFor(host)
		got := pr.vhostFor(host)
		if names[got] != want.Hostname {
			t.Errorf("vhostFor(%.40q) = %q, want %q", host, names[got], want.Hostname)
		}
	}
	if allocs := testing.AllocsPerRun(1000, func() { _ = pr.vhostFor("x.y.z.b.example.com") }); allocs != 0 {
		t.Errorf("%v allocations per multi-label lookup, want 0", allocs)
	}
}
