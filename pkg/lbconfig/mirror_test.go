package lbconfig

import (
	"testing"
)

func TestValidateMirrors(t *testing.T) {
	const rf = "loadBalancers[0].listeners[0].virtualHosts[0].routes[0]"
	for name, tc := range map[string]struct {
		mirrors []Mirror
		field   string
	}{
		"every request":    {[]Mirror{{Name: "ns/web:80"}}, ""},
		"percent":          {[]Mirror{{Name: "ns/web:80", Numerator: 30, Denominator: 100}}, ""},
		"fraction none":    {[]Mirror{{Name: "ns/web:80", Numerator: 0, Denominator: 3}}, ""},
		"unknown backend":  {[]Mirror{{Name: "ns/none:80"}}, rf + ".mirrors[0].name"},
		"over one":         {[]Mirror{{Name: "ns/web:80", Numerator: 4, Denominator: 3}}, rf + ".mirrors[0].numerator"},
		"negative":         {[]Mirror{{Name: "ns/web:80", Numerator: -1, Denominator: 3}}, rf + ".mirrors[0].numerator"},
		"numerator alone":  {[]Mirror{{Name: "ns/web:80", Numerator: 1}}, rf + ".mirrors[0].numerator"},
		"huge denominator": {[]Mirror{{Name: "ns/web:80", Numerator: 1, Denominator: MaxWeight + 1}}, rf + ".mirrors[0].denominator"},
		"too many": {func() []Mirror {
			var ms []Mirror
			for range MaxMirrors + 1 {
				ms = append(ms, Mirror{Name: "ns/web:80"})
			}
			return ms
		}(), rf + ".mirrors"},
	} {
		t.Run(name, func(t *testing.T) {
			c := validConfig()
			c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].Mirrors = tc.mirrors
			checkField(t, c, tc.field)
		})
	}
}

func TestMirrorCopies(t *testing.T) {
	m := Mirror{Numerator: 1, Denominator: 4}
	n := 0
	for i := range int32(4) {
		if m.Copies(i) {
			n++
		}
	}
	if n != 1 || !(Mirror{}).Copies(12345) {
		t.Errorf("1/4 copies %d of 4 draws, or a mirror of every request skips one", n)
	}
}

func TestSelectKeepsMirrorBackends(t *testing.T) {
	c := validConfig()
	c.Backends = append(c.Backends, Backend{Name: "ns/shadow:80"})
	c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].Mirrors = []Mirror{{Name: "ns/shadow:80"}}
	out := c.Select(func(LoadBalancer) bool { return true })
	if out.Backend("ns/shadow:80") == nil {
		t.Error("Select left out the mirror's backend")
	}
}
