package translate

import (
	"slices"
	"testing"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func TestHostCovers(t *testing.T) {
	for _, tc := range []struct {
		p, h string
		want bool
	}{
		{"", "a.example.com", true},
		{"", "", true},
		{"*.example.com", "a.example.com", true},
		{"*.example.com", "a.b.example.com", true},
		{"*.example.com", "*.foo.example.com", true},
		{"*.example.com", "*.example.com", true},
		{"*.example.com", "example.com", false},
		{"*.example.com", "aexample.com", false},
		{"*.example.com", "", false},
		{"*.foo.example.com", "*.example.com", false},
		{"a.example.com", "a.example.com", true},
		{"a.example.com", "*.example.com", false},
		{"a.example.com", "", false},
	} {
		if got := hostCovers(tc.p, tc.h); got != tc.want {
			t.Errorf("hostCovers(%q, %q) = %v, want %v", tc.p, tc.h, got, tc.want)
		}
	}
}

func TestIsolatedHosts(t *testing.T) {
	listener := func(host string) *listenerState {
		l := &listenerState{l: gatewayv1.Listener{Protocol: gatewayv1.HTTPProtocolType, Port: 80}}
		if host != "" {
			h := gatewayv1.Hostname(host)
			l.l.Hostname = &h
		}
		return l
	}
	all, wild, foo, abc := listener(""), listener("*.example.com"), listener("*.foo.example.com"), listener("abc.foo.example.com")
	port := []*listenerState{all, wild, foo, abc}
	hosts := []string{"bar.com", "*.example.com", "*.foo.example.com", "abc.foo.example.com"}
	for _, tc := range []struct {
		ls    *listenerState
		hosts []string
		want  []string
	}{
		{all, hosts, []string{"bar.com"}},
		{wild, []string{"*.example.com", "*.foo.example.com", "abc.foo.example.com"}, []string{"*.example.com"}},
		{foo, []string{"*.foo.example.com", "abc.foo.example.com"}, []string{"*.foo.example.com"}},
		{abc, []string{"abc.foo.example.com"}, []string{"abc.foo.example.com"}},
		// A listener alone on its port keeps every host.
		{all, hosts, hosts},
	} {
		p := port
		if len(tc.want) == len(hosts) {
			p = []*listenerState{all}
		}
		if got := isolatedHosts(tc.ls, tc.hosts, p); !slices.Equal(got, tc.want) {
			t.Errorf("isolatedHosts(%q, %q) = %q, want %q", tc.ls.hostname(), tc.hosts, got, tc.want)
		}
	}
	var isolating []string
	for _, ls := range isolatingHosts(port) {
		isolating = append(isolating, ls.hostname())
	}
	if want := []string{"*.example.com", "*.foo.example.com", "abc.foo.example.com"}; !slices.Equal(isolating, want) {
		t.Errorf("isolatingHosts = %q, want %q", isolating, want)
	}
}
