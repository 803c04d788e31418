package lbconfig

import (
	"slices"
	"strings"
	"testing"
)

// splitConfig has a route group on "/": a header route, a cookie route
// and the plain route splitting 30/70 over two backends.
func splitConfig() *Config {
	c := validConfig()
	c.Backends = append(c.Backends, Backend{Name: "ns/canary:80"})
	c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes = []Route{
		{Path: "/", Match: MatchPrefix, Backend: BackendRef{Name: "ns/web:80"},
			Backends: []WeightedBackend{{Name: "ns/web:80", Weight: 70}, {Name: "ns/canary:80", Weight: 30}}},
		{Path: "/", Match: MatchPrefix, Backend: BackendRef{Name: "ns/canary:80"}, Cookies: []CookieMatch{{Name: "canary", Value: "always"}}},
		{Path: "/", Match: MatchPrefix, Backend: BackendRef{Name: "ns/canary:80"}, Headers: []HeaderMatch{{Name: "x-canary", Type: HeaderExact, Value: "always"}}},
	}
	return c
}

func TestSplitSortAndValidate(t *testing.T) {
	c := splitConfig()
	c.Sort()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	var routes []Route
	for _, vh := range c.LoadBalancers[0].Listeners[0].VirtualHosts {
		if vh.Hostname == "foo.example.com" {
			routes = vh.Routes
		}
	}
	if len(routes[0].Headers) != 1 || len(routes[1].Cookies) != 1 || routes[2].HasConditions() {
		t.Errorf("order = %+v, want header, cookie, plain", routes)
	}
	if got := routes[2].Backends; got[0].Name != "ns/canary:80" {
		t.Errorf("backends = %+v, want sorted by name", got)
	}
}

func TestValidateSplit(t *testing.T) {
	const rf = "loadBalancers[0].listeners[0].virtualHosts[0].routes["
	for name, tc := range map[string]struct {
		change func(rs []Route)
		field  string
	}{
		"no plain route ok": {func(rs []Route) { rs[0].Headers = []HeaderMatch{{Name: "a", Type: HeaderExact, Value: "b"}} }, ""},
		"upper-case name":   {func(rs []Route) { rs[2].Headers[0].Name = "X-Canary" }, rf + "2].headers[0].name"},
		"name with colon":   {func(rs []Route) { rs[2].Headers[0].Name = "x:y" }, rf + "2].headers[0].name"},
		"CRLF value":        {func(rs []Route) { rs[2].Headers[0].Value = "a\r\nb: c" }, rf + "2].headers[0].value"},
		"non-ASCII value":   {func(rs []Route) { rs[2].Headers[0].Value = "é" }, rf + "2].headers[0].value"},
		"huge value":        {func(rs []Route) { rs[2].Headers[0].Value = strings.Repeat("a", MaxMatchValue+1) }, rf + "2].headers[0].value"},
		"unknown type":      {func(rs []Route) { rs[2].Headers[0].Type = "Prefix" }, rf + "2].headers[0].type"},
		"nested repeat": {func(rs []Route) {
			rs[2].Headers[0] = HeaderMatch{Name: "a", Type: HeaderRegularExpression, Value: "(a+)+$"}
		}, rf + "2].headers[0].value"},
		"unicode class": {func(rs []Route) {
			rs[2].Headers[0] = HeaderMatch{Name: "a", Type: HeaderRegularExpression, Value: `\pL`}
		}, rf + "2].headers[0].value"},
		"backreference": {func(rs []Route) {
			rs[2].Headers[0] = HeaderMatch{Name: "a", Type: HeaderRegularExpression, Value: `(a)\1`}
		}, rf + "2].headers[0].value"},
		"big count": {func(rs []Route) {
			rs[2].Headers[0] = HeaderMatch{Name: "a", Type: HeaderRegularExpression, Value: `a{1001}`}
		}, rf + "2].headers[0].value"},
		"cookie semicolon":     {func(rs []Route) { rs[1].Cookies[0].Value = "a;b=c" }, rf + "1].cookies[0].value"},
		"cookie name space":    {func(rs []Route) { rs[1].Cookies[0].Name = "a b" }, rf + "1].cookies[0].name"},
		"negative weight":      {func(rs []Route) { rs[0].Backends[0].Weight = -1 }, rf + "0].backends[0].weight"},
		"zero total":           {func(rs []Route) { rs[0].Backends[0].Weight, rs[0].Backends[1].Weight = 0, 0 }, rf + "0].backends"},
		"unknown backend":      {func(rs []Route) { rs[0].Backends[0].Name = "ns/a:80" }, rf + "0].backends[0].name"},
		"primary not a member": {func(rs []Route) { rs[0].Backend.Name = "ns/other:80" }, rf + "0].backend"},
		"unsorted":             {func(rs []Route) { rs[0].Backends[0], rs[0].Backends[1] = rs[0].Backends[1], rs[0].Backends[0] }, rf + "0].backends[1].name"},
		"regexp ok": {func(rs []Route) {
			rs[2].Headers[0] = HeaderMatch{Name: "a", Type: HeaderRegularExpression, Value: `^(?i)v[0-9]+\.x$`}
		}, ""},
		"weight zero ok":         {func(rs []Route) { rs[0].Backends[0].Weight = 0 }, ""},
		"sticky ok":              {func(rs []Route) { rs[0].StickyBackends, rs[0].Backends[0].Weight = true, 0 }, ""},
		"sticky without weights": {func(rs []Route) { rs[1].StickyBackends = true }, rf + "1].stickyBackends"},
	} {
		t.Run(name, func(t *testing.T) {
			c := splitConfig()
			c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes = []Route{
				{Path: "/", Match: MatchPrefix, Backend: BackendRef{Name: "ns/web:80"},
					Backends: []WeightedBackend{{Name: "ns/canary:80", Weight: 30}, {Name: "ns/web:80", Weight: 70}}},
				{Path: "/", Match: MatchPrefix, Backend: BackendRef{Name: "ns/canary:80"}, Cookies: []CookieMatch{{Name: "canary", Value: "always"}}},
				{Path: "/", Match: MatchPrefix, Backend: BackendRef{Name: "ns/canary:80"}, Headers: []HeaderMatch{{Name: "x-canary", Type: HeaderExact, Value: "always"}}},
			}
			tc.change(c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes)
			checkField(t, c, tc.field)
		})
	}
}

func TestPickBackend(t *testing.T) {
	r := Route{Backend: BackendRef{Name: "a"}, Backends: []WeightedBackend{{Name: "a", Weight: 0}, {Name: "b", Weight: 3}, {Name: "c", Weight: 1}}}
	var got []string
	for n := range r.TotalWeight() {
		got = append(got, r.PickBackend(n))
	}
	if want := []string{"b", "b", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("picks = %v, want %v", got, want)
	}
}

func TestCookieValues(t *testing.T) {
	for v, want := range map[string][]string{
		"canary=always":                    {"always"},
		"a=1; canary=never; canary=always": {"never", "always"},
		"  canary = \"always\" ;x=y":       {`"always"`},
		"Canary=always; xcanary=always":    nil,
		"canary; canary=; =always":         {""},
		strings.Repeat("a=b;", 10000):      nil,
	} {
		var got []string
		CookieValues(v, "canary", func(s string) bool { got = append(got, s); return true })
		if !slices.Equal(got, want) {
			t.Errorf("CookieValues(%.40q) = %q, want %q", v, got, want)
		}
	}
}
