package lbconfig

import (
	"strings"
	"testing"
)

// TestValidateGatewayCORS: the fields of Gateway API's semantics.
func TestValidateGatewayCORS(t *testing.T) {
	f := routeField + ".cors"
	for name, tc := range map[string]struct {
		cors  *CORS
		field string
	}{
		"multi-label":               {&CORS{AllowOrigins: []string{"https://*", "https://*.bar.com", "https://*:8443"}, MultiLabel: true}, ""},
		"bare wildcard one label":   {&CORS{AllowOrigins: []string{"https://*"}}, f + ".allowOrigins[0]"},
		"inner wildcard":            {&CORS{AllowOrigins: []string{"https://a.*.bar.com"}, MultiLabel: true}, f + ".allowOrigins[0]"},
		"wildcard scheme":           {&CORS{AllowOrigins: []string{"*://a.bar.com"}, MultiLabel: true}, f + ".allowOrigins[0]"},
		"echo":                      {&CORS{AllowOrigins: []string{"*"}, AllowMethods: []string{"*"}, AllowHeaders: []string{"*"}, ExposeHeaders: []string{"X-A"}, AllowCredentials: true, EchoWildcards: true, PreflightExposes: true}, ""},
		"echo star and a method":    {&CORS{AllowOrigins: []string{"*"}, AllowMethods: []string{"*", "GET"}, EchoWildcards: true}, f + ".allowMethods"},
		"echo star and a header":    {&CORS{AllowOrigins: []string{"*"}, AllowHeaders: []string{"X-A", "*"}, EchoWildcards: true}, f + ".allowHeaders"},
		"echo star exposed":         {&CORS{AllowOrigins: []string{"*"}, ExposeHeaders: []string{"X-A", "*"}, EchoWildcards: true}, f + ".exposeHeaders[1]"},
		"star exposed, no echo":     {&CORS{AllowOrigins: []string{"*"}, ExposeHeaders: []string{"*"}}, ""},
		"multi-label CRLF":          {&CORS{AllowOrigins: []string{"https://*.a.com\r\nX: 1"}, MultiLabel: true}, f + ".allowOrigins[0]"},
		"multi-label bare and CRLF": {&CORS{AllowOrigins: []string{"https://*\r\n"}, MultiLabel: true}, f + ".allowOrigins[0]"},
	} {
		t.Run(name, func(t *testing.T) {
			c := validConfig()
			c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].CORS = tc.cors
			checkField(t, c, tc.field)
		})
	}
}

func TestCORSAllowsMultiLabel(t *testing.T) {
	c := &CORS{AllowOrigins: []string{"https://*", "https://*.bar.com", "https://www.foo.com"}, MultiLabel: true}
	one := &CORS{AllowOrigins: []string{"https://*.bar.com"}}
	for _, tc := range []struct {
		cors   *CORS
		origin string
		want   bool
	}{
		{c, "https://www.bar.com", true},
		{c, "https://xpto.www.bar.com", true},
		{c, "HTTPS://XPTO.WWW.BAR.COM", true},
		{one, "https://xpto.www.bar.com", false},
		{one, "https://www.bar.com", true},
		{c, "https://www.foo.com", true},
		{c, "https://anything.example", true},
		{c, "https://10.0.0.1", true},
		{c, "https://a.example:8443", false},
		{c, "http://a.example", false},
		{c, "https://[::1]", false},
		{c, "https://a..bar.com", false},
		{c, "https://.bar.com", false},
		{c, "https://a.", false},
		{c, "https://a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.bar.com", true},
		{c, "https://" + strings.Repeat("a.", 150) + "bar.com", false}, // over MaxOriginBytes
		{c, "https://" + strings.Repeat("a", 64) + ".bar.com", false},
		{c, "https://a_b.bar.com", false},
		{c, "https://evil.com/.bar.com", false},
		{c, "https://evil.com\r\n.bar.com", false},
		{c, "null", false},
		{c, "", false},
		{&CORS{AllowOrigins: []string{"https://*:8443"}, MultiLabel: true}, "https://a.b:8443", true},
		{&CORS{AllowOrigins: []string{"https://*:8443"}, MultiLabel: true}, "https://a.b:443", false},
	} {
		if got := tc.cors.Allows(tc.origin); got != tc.want {
			t.Errorf("%v (multi-label %v).Allows(%q) = %v, want %v", tc.cors.AllowOrigins, tc.cors.MultiLabel, clipOrigin(tc.origin), got, tc.want)
		}
	}
}

func TestCORSAllowsEcho(t *testing.T) {
	c := &CORS{AllowOrigins: []string{"*"}, EchoWildcards: true}
	for origin, want := range map[string]bool{
		"https://foobar.com":           true,
		"https://foobar.com:12345":     true,
		"HTTP://FooBar.com":            true,
		"http://10.0.0.1:80":           true,
		"https://[2001:db8::1]:8443":   true,
		"https://[2001:db8::1]":        true,
		"null":                         false,
		"":                             false,
		"https://":                     false,
		"https://a.com:":               false,
		"https://a.com:123456":         false,
		"https://a.com/":               false,
		"https://a.com\r\nX-Evil: 1":   false,
		"https://a.com, https://b.com": false,
		"ftp://a.com":                  false,
		"https://[zz]":                 false,
		"https://a_b.com":              false,
		"http\u017f://a.com":           false,
		"https://" + strings.Repeat("a", MaxOriginBytes): false,
	} {
		if got := c.Allows(origin); got != want {
			t.Errorf("echoing \"*\": Allows(%q) = %v, want %v", clipOrigin(origin), got, want)
		}
	}
}

func TestIsEchoable(t *testing.T) {
	for _, tc := range []struct {
		v          string
		list, want bool
	}{
		{"PUT", false, true},
		{"PUT, GET", false, false},
		{"PUT ", false, false},
		{"", false, false},
		{"x-header-1, x-header-2", true, true},
		{"x-header-1,x-header-2", true, true},
		{"x-header-1 ,\tx_header.2", true, true},
		{"x-header-1,", true, false},
		{",x", true, false},
		{"x,,y", true, false},
		{"x y", true, false},
		{"x\r\ny", true, false},
		{"x%0d%0a", true, false},
		{"\u00e4", true, false},
		{strings.Repeat("a,", MaxEchoBytes/2-1) + "a", true, true},
		{strings.Repeat("a,", MaxEchoBytes/2) + "a", true, false},
	} {
		if got := IsEchoable(tc.v, tc.list); got != tc.want {
			t.Errorf("IsEchoable(%q, %v) = %v, want %v", clipOrigin(tc.v), tc.list, got, tc.want)
		}
	}
}

func TestGatewayCORSAllocatesNothing(t *testing.T) {
	c := &CORS{AllowOrigins: []string{"https://*.bar.com"}, MultiLabel: true}
	e := &CORS{AllowOrigins: []string{"*"}, EchoWildcards: true}
	if n := testing.AllocsPerRun(100, func() {
		c.Allows("https://a.b.bar.com")
		e.Allows("https://[::1]:8443")
		IsEchoable("x-a, x-b", true)
	}); n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
}
