package lbconfig

import (
	"strings"
	"testing"
)

func TestVirtualHostForMultiLabel(t *testing.T) {
	l := &Listener{VirtualHosts: []VirtualHost{
		{Hostname: ""},
		{Hostname: "*.b.example.com", MultiLabel: true},
		{Hostname: "*.c.example.com"},
		{Hostname: "*.example.com", MultiLabel: true},
		{Hostname: "a.example.com"},
	}}
	for host, want := range map[string]string{
		"a.example.com":       "a.example.com",
		"x.example.com":       "*.example.com",
		"x.y.z.example.com":   "*.example.com",
		"b.example.com":       "*.example.com",
		"x.b.example.com":     "*.b.example.com",
		"x.y.b.example.com":   "*.b.example.com",
		"x.c.example.com":     "*.c.example.com",
		"x.y.c.example.com":   "*.example.com", // one label only for *.c
		"example.com":         "",
		".example.com":        "",
		"xexample.com":        "",
		"a.example.com.other": "",
		"":                    "",
	} {
		if got := l.VirtualHostFor(host); got == nil || got.Hostname != want {
			t.Errorf("VirtualHostFor(%q) = %v, want %q", host, got, want)
		}
	}
	// The order of the virtual hosts does not matter.
	for i, j := 0, len(l.VirtualHosts)-1; i < j; i, j = i+1, j-1 {
		l.VirtualHosts[i], l.VirtualHosts[j] = l.VirtualHosts[j], l.VirtualHosts[i]
	}
	if got := l.VirtualHostFor("x.y.b.example.com"); got.Hostname != "*.b.example.com" {
		t.Errorf("reversed: VirtualHostFor(x.y.b.example.com) = %q, want *.b.example.com", got.Hostname)
	}
}

// TestOneLabelBeforeMultiLabel: a one-label wildcard that matches wins
// over a multi-label one of the same or a shorter suffix.
func TestOneLabelBeforeMultiLabel(t *testing.T) {
	l := &Listener{VirtualHosts: []VirtualHost{
		{Hostname: "*.example.com", MultiLabel: true},
		{Hostname: "*.b.example.com"},
	}}
	if got := l.VirtualHostFor("x.b.example.com"); got == nil || got.Hostname != "*.b.example.com" {
		t.Errorf("VirtualHostFor(x.b.example.com) = %v, want *.b.example.com", got)
	}
	if got := l.VirtualHostFor("y.x.b.example.com"); got == nil || got.Hostname != "*.example.com" {
		t.Errorf("VirtualHostFor(y.x.b.example.com) = %v, want *.example.com", got)
	}
}

func TestValidateMultiLabel(t *testing.T) {
	const vh0 = "loadBalancers[0].listeners[0].virtualHosts[0]"
	for name, tc := range map[string]struct {
		vh    VirtualHost
		field string
	}{
		"wildcard":       {vh: VirtualHost{Hostname: "*.example.org", MultiLabel: true}},
		"exact":          {vh: VirtualHost{Hostname: "a.example.org", MultiLabel: true}, field: vh0 + ".multiLabel"},
		"catch-all":      {vh: VirtualHost{Hostname: "", MultiLabel: true}, field: vh0 + ".multiLabel"},
		"same hostname":  {vh: VirtualHost{Hostname: "*.example.com", MultiLabel: true}, field: "loadBalancers[0].listeners[0].virtualHosts[2].hostname"},
		"bad wildcard":   {vh: VirtualHost{Hostname: "*.*.example.org", MultiLabel: true}, field: vh0 + ".hostname"},
		"crlf in suffix": {vh: VirtualHost{Hostname: "*.a\r\nb.org", MultiLabel: true}, field: vh0 + ".hostname"},
	} {
		t.Run(name, func(t *testing.T) {
			c := validConfig()
			l := &c.LoadBalancers[0].Listeners[0]
			l.VirtualHosts = append([]VirtualHost{tc.vh}, l.VirtualHosts...)
			err := checkField(t, c, tc.field)
			if err != nil && strings.ContainsAny(err.Error(), "\r\n") {
				t.Errorf("error %q holds a line break", err)
			}
		})
	}
}
