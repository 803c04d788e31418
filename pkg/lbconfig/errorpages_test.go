package lbconfig

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func errorPagesConfig(e *ErrorPages, fallback *BackendRef) *Config {
	c := validConfig()
	c.Backends = append(c.Backends, Backend{Name: "ns/errors:80"})
	r := &c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0]
	r.ErrorPages, r.Fallback = e, fallback
	return c
}

func TestValidateErrorPages(t *testing.T) {
	const route = "loadBalancers[0].listeners[0].virtualHosts[0].routes[0]"
	many := make([]int32, 0, 200)
	for s := int32(400); s <= 599; s++ {
		many = append(many, s)
	}
	for name, tc := range map[string]struct {
		pages    *ErrorPages
		fallback *BackendRef
		field    string // "" means valid
	}{
		"one":               {&ErrorPages{Backend: BackendRef{Name: "ns/errors:80"}, Statuses: []int32{503}}, nil, ""},
		"every error":       {&ErrorPages{Backend: BackendRef{Name: "ns/errors:80"}, Statuses: many}, nil, ""},
		"fallback":          {nil, &BackendRef{Name: "ns/errors:80"}, ""},
		"both":              {&ErrorPages{Backend: BackendRef{Name: "ns/errors:80"}, Statuses: []int32{404, 503}}, &BackendRef{Name: "ns/errors:80"}, ""},
		"missing backend":   {&ErrorPages{Backend: BackendRef{Name: "ns/nope:80"}, Statuses: []int32{503}}, nil, route + ".errorPages.backend"},
		"missing fallback":  {nil, &BackendRef{Name: "ns/nope:80"}, route + ".fallback"},
		"no status":         {&ErrorPages{Backend: BackendRef{Name: "ns/errors:80"}}, nil, route + ".errorPages.statuses"},
		"success":           {&ErrorPages{Backend: BackendRef{Name: "ns/errors:80"}, Statuses: []int32{200}}, nil, route + ".errorPages.statuses[0]"},
		"switch":            {&ErrorPages{Backend: BackendRef{Name: "ns/errors:80"}, Statuses: []int32{101}}, nil, route + ".errorPages.statuses[0]"},
		"redirect":          {&ErrorPages{Backend: BackendRef{Name: "ns/errors:80"}, Statuses: []int32{304}}, nil, route + ".errorPages.statuses[0]"},
		"600":               {&ErrorPages{Backend: BackendRef{Name: "ns/errors:80"}, Statuses: []int32{600}}, nil, route + ".errorPages.statuses[0]"},
		"negative":          {&ErrorPages{Backend: BackendRef{Name: "ns/errors:80"}, Statuses: []int32{-503}}, nil, route + ".errorPages.statuses[0]"},
		"huge":              {&ErrorPages{Backend: BackendRef{Name: "ns/errors:80"}, Statuses: []int32{1 << 30}}, nil, route + ".errorPages.statuses[0]"},
		"duplicate":         {&ErrorPages{Backend: BackendRef{Name: "ns/errors:80"}, Statuses: []int32{503, 503}}, nil, route + ".errorPages.statuses[1]"},
		"unsorted":          {&ErrorPages{Backend: BackendRef{Name: "ns/errors:80"}, Statuses: []int32{503, 404}}, nil, route + ".errorPages.statuses[1]"},
		"more than a range": {&ErrorPages{Backend: BackendRef{Name: "ns/errors:80"}, Statuses: append(slices.Clone(many), 600)}, nil, route + ".errorPages.statuses[200]"},
	} {
		t.Run(name, func(t *testing.T) {
			checkField(t, errorPagesConfig(tc.pages, tc.fallback), tc.field)
		})
	}
}

// TestValidateErrorPagesProtocol: pages are fetched over HTTP/1.1 in the
// clear, by both providers.
func TestValidateErrorPagesProtocol(t *testing.T) {
	for proto, ok := range map[BackendProtocol]bool{"": true, BackendHTTP: true, BackendHTTPS: false, BackendH2C: false, BackendGRPC: false} {
		c := errorPagesConfig(&ErrorPages{Backend: BackendRef{Name: "ns/errors:80"}, Statuses: []int32{503}}, nil)
		c.Backend("ns/errors:80").Protocol = proto
		field := ""
		if !ok {
			field = "loadBalancers[0].listeners[0].virtualHosts[0].routes[0].errorPages.backend"
		}
		checkField(t, c, field)
	}
	// A fallback is a backend like the route's: any protocol.
	c := errorPagesConfig(nil, &BackendRef{Name: "ns/errors:80"})
	c.Backend("ns/errors:80").Protocol = BackendGRPC
	checkField(t, c, "")
}

func TestSortErrorPages(t *testing.T) {
	c := errorPagesConfig(&ErrorPages{Backend: BackendRef{Name: "ns/errors:80"}, Statuses: []int32{503, 404, 503, 500}}, nil)
	c.Sort()
	var got []int32
	for _, vh := range c.LoadBalancers[0].Listeners[0].VirtualHosts {
		if vh.Routes[0].ErrorPages != nil {
			got = vh.Routes[0].ErrorPages.Statuses
		}
	}
	if want := []int32{404, 500, 503}; !slices.Equal(got, want) {
		t.Errorf("sorted statuses = %v, want %v", got, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() after Sort = %v", err)
	}
}

func TestErrorPagesHandles(t *testing.T) {
	e := &ErrorPages{Statuses: []int32{404, 500, 503}}
	for status, want := range map[int]bool{404: true, 500: true, 503: true, 200: false, 502: false, 0: false, -404: false, 404 + 1<<32: false} {
		if got := e.Handles(status); got != want {
			t.Errorf("Handles(%d) = %v, want %v", status, got, want)
		}
	}
	if (*ErrorPages)(nil).Handles(503) {
		t.Error("a nil ErrorPages handles 503")
	}
}

func TestErrorFieldsOf(t *testing.T) {
	src := ObjectRef{Kind: "Ingress", Namespace: "shop", Name: "web"}
	for backend, want := range map[string]ErrorFields{
		"shop/cart:80":          {Namespace: "shop", Ingress: "web", Service: "cart", Port: "80"},
		"shop/cart:http":        {Namespace: "shop", Ingress: "web", Service: "cart", Port: "http"},
		"shop/cart:8080@web":    {Namespace: "shop", Ingress: "web", Service: "cart", Port: "8080"},
		"shop/web!refused":      {Namespace: "shop", Ingress: "web"},
		"odd":                   {Namespace: "shop", Ingress: "web"},
		"shop/a\r\nX-Evil:1:80": {Namespace: "shop", Ingress: "web", Port: "80"},
	} {
		got := ErrorFieldsOf(src, backend)
		if got != want {
			t.Errorf("ErrorFieldsOf(%q) = %+v, want %+v", backend, got, want)
		}
	}
	// A name that would end the field is left out, never sent.
	hostile := ErrorFieldsOf(ObjectRef{Namespace: "a\r\nX-Injected: 1", Name: strings.Repeat("n", MaxHeaderValueBytes+1)}, "x/y:1")
	var names []string
	hostile.Each(func(name, value string) {
		names = append(names, name)
		if CheckHeaderValue(value) != nil {
			t.Errorf("%s: %q is not a header value", name, value)
		}
	})
	if want := []string{FieldService, FieldServicePort}; !slices.Equal(names, want) {
		t.Errorf("fields = %v, want %v", names, want)
	}
}

func TestErrorPagesJSON(t *testing.T) {
	r := Route{Path: "/", Match: MatchPrefix, Backend: BackendRef{Name: "ns/web:80"},
		ErrorPages: &ErrorPages{Backend: BackendRef{Name: "ns/errors:80"}, Statuses: []int32{404, 503}},
		Fallback:   &BackendRef{Name: "ns/errors:80"}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `"errorPages":{"backend":{"name":"ns/errors:80"},"statuses":[404,503]},"fallback":{"name":"ns/errors:80"}`
	if !strings.Contains(string(b), want) {
		t.Errorf("JSON = %s, want it to hold %s", b, want)
	}
}

func TestDiffErrorPagesIsStructural(t *testing.T) {
	old := errorPagesConfig(nil, nil)
	new := errorPagesConfig(&ErrorPages{Backend: BackendRef{Name: "ns/errors:80"}, Statuses: []int32{503}}, nil)
	if ch := Diff(old, new); !ch.Structure {
		t.Errorf("Diff = %+v, want a structural change", ch)
	}
}
