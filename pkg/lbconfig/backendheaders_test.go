package lbconfig

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateBackendHeaders(t *testing.T) {
	const rf = "loadBalancers[0].listeners[0].virtualHosts[0].routes[0].backends["
	ok := func() *HeaderModifier { return &HeaderModifier{Set: []Header{{"Backend", "web"}}} }
	for name, tc := range map[string]struct {
		m     *HeaderModifier
		field string
	}{
		"set ok":        {ok(), ""},
		"remove ok":     {&HeaderModifier{Remove: []string{"X-A"}, Add: []Header{{"X-B", "b"}}}, ""},
		"empty":         {&HeaderModifier{}, rf + "1].requestHeaders"},
		"CRLF value":    {&HeaderModifier{Set: []Header{{"X-A", "a\r\nX-Injected: 1"}}}, rf + "1].requestHeaders.set[0].value"},
		"LF value":      {&HeaderModifier{Add: []Header{{"X-A", "a\nb"}}}, rf + "1].requestHeaders.add[0].value"},
		"NUL value":     {&HeaderModifier{Set: []Header{{"X-A", "a\x00b"}}}, rf + "1].requestHeaders.set[0].value"},
		"huge value":    {&HeaderModifier{Set: []Header{{"X-A", strings.Repeat("v", MaxHeaderValueBytes+1)}}}, rf + "1].requestHeaders.set[0].value"},
		"name with CR":  {&HeaderModifier{Set: []Header{{"X-A\r", "a"}}}, rf + "1].requestHeaders.set[0].name"},
		"huge name":     {&HeaderModifier{Remove: []string{strings.Repeat("n", MaxHeaderNameBytes+1)}}, rf + "1].requestHeaders.remove[0].name"},
		"framing field": {&HeaderModifier{Set: []Header{{"Content-Length", "0"}}}, rf + "1].requestHeaders.set[0].name"},
		"proxy field":   {&HeaderModifier{Set: []Header{{"X-Forwarded-For", "1.2.3.4"}}}, rf + "1].requestHeaders.set[0].name"},
		"twice":         {&HeaderModifier{Set: []Header{{"X-A", "a"}}, Remove: []string{"x-a"}}, rf + "1].requestHeaders.remove[0].name"},
		"host":          {&HeaderModifier{Set: []Header{{"Host", "a.example"}}}, rf + "1].requestHeaders.set[0].name"},
		"too many": {func() *HeaderModifier {
			m := &HeaderModifier{}
			for i := 0; i <= MaxHeaderChanges; i++ {
				m.Remove = append(m.Remove, "X-"+strings.Repeat("a", i+1))
			}
			return m
		}(), rf + "1].requestHeaders"},
	} {
		t.Run(name, func(t *testing.T) {
			c := splitConfig()
			rs := c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes
			rs[0].Backends = []WeightedBackend{{Name: "ns/canary:80", Weight: 30, RequestHeaders: ok()}, {Name: "ns/web:80", Weight: 70, RequestHeaders: tc.m}}
			checkField(t, c, tc.field)
		})
	}
}

func TestBackendHeadersSorted(t *testing.T) {
	c := splitConfig()
	rs := c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes
	rs[0].Backends[1].RequestHeaders = &HeaderModifier{Set: []Header{{"X-B", "2"}, {"x-a", "1"}}}
	if !rs[0].HasBackendHeaders() || rs[1].HasBackendHeaders() {
		t.Fatal("HasBackendHeaders: want true for the split route only")
	}
	c.Sort()
	for _, vh := range c.LoadBalancers[0].Listeners[0].VirtualHosts {
		for _, rt := range vh.Routes {
			for _, b := range rt.Backends {
				if m := b.RequestHeaders; m != nil && m.Set[0].Name != "x-a" {
					t.Errorf("set = %+v, want sorted by name", m.Set)
				}
			}
		}
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestCheckBackendHeaders(t *testing.T) {
	if err := CheckBackendHeaders(&HeaderModifier{Set: []Header{{"X-A", "a"}}}); err != nil {
		t.Errorf("CheckBackendHeaders = %v, want nil", err)
	}
	err := CheckBackendHeaders(&HeaderModifier{Set: []Header{{"host", "a.example"}}})
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "set[0].name" {
		t.Errorf("CheckBackendHeaders(Host) = %v, want a problem at set[0].name", err)
	}
}
