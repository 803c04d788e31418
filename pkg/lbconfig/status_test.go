package lbconfig

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// statusConfig is validConfig with a backend that answers 500, used as
// half of the first route's requests.
func statusConfig() *Config {
	c := validConfig()
	c.Backends = append(c.Backends, Backend{Name: "ns/route!invalid", Status: 500})
	r := &c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0]
	r.Backends = []WeightedBackend{{Name: "ns/route!invalid", Weight: 1}, {Name: "ns/web:80", Weight: 1}}
	return c
}

func TestValidateStatus(t *testing.T) {
	const lf = "loadBalancers[0].listeners[0]"
	const rf = lf + ".virtualHosts[0].routes[0]"
	const bf = "backends[1]"
	for name, tc := range map[string]struct {
		change func(c *Config)
		field  string
	}{
		"weighted share": {func(c *Config) {}, ""},
		"route backend": {func(c *Config) {
			c.LoadBalancers[0].Listeners[0].VirtualHosts[1].Routes[0].Backend.Name = "ns/route!invalid"
		}, ""},
		"default backend": {func(c *Config) { c.LoadBalancers[0].Listeners[0].DefaultBackend.Name = "ns/route!invalid" }, ""},
		"404":             {func(c *Config) { c.Backends[1].Status = 404 }, ""},
		"599":             {func(c *Config) { c.Backends[1].Status = 599 }, ""},
		"success":         {func(c *Config) { c.Backends[1].Status = 200 }, bf + ".status"},
		"redirect":        {func(c *Config) { c.Backends[1].Status = 302 }, bf + ".status"},
		"600":             {func(c *Config) { c.Backends[1].Status = 600 }, bf + ".status"},
		"negative":        {func(c *Config) { c.Backends[1].Status = -500 }, bf + ".status"},
		"huge":            {func(c *Config) { c.Backends[1].Status = 1 << 30 }, bf + ".status"},
		"endpoints": {func(c *Config) {
			c.Backends[1].Endpoints = []Endpoint{{Address: "198.18.0.1", Port: 80, Ready: true}}
		}, bf + ".endpoints"},
		"protocol": {func(c *Config) { c.Backends[1].Protocol = BackendH2C }, bf + ".protocol"},
		"tls":      {func(c *Config) { c.Backends[1].TLS = &BackendTLS{} }, bf + ".tls"},
		"mirror": {func(c *Config) {
			c.LoadBalancers[0].Listeners[0].VirtualHosts[1].Routes[0].Mirrors = []Mirror{{Name: "ns/route!invalid"}}
		}, lf + ".virtualHosts[1].routes[0].mirrors[0].name"},
		"fallback of another route": {func(c *Config) {
			c.LoadBalancers[0].Listeners[0].VirtualHosts[1].Routes[0].Fallback = &BackendRef{Name: "ns/route!invalid"}
		}, lf + ".virtualHosts[1].routes[0].fallback"},
		"route with a fallback": {func(c *Config) {
			c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].Fallback = &BackendRef{Name: "ns/web:80"}
		}, rf + ".backend"},
		"route with error pages": {func(c *Config) {
			c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].ErrorPages = &ErrorPages{Backend: BackendRef{Name: "ns/web:80"}, Statuses: []int32{500}}
		}, rf + ".backend"},
		"error pages": {func(c *Config) {
			c.LoadBalancers[0].Listeners[0].VirtualHosts[1].Routes[0].ErrorPages = &ErrorPages{Backend: BackendRef{Name: "ns/route!invalid"}, Statuses: []int32{500}}
		}, lf + ".virtualHosts[1].routes[0].errorPages.backend"},
		"tcp": {func(c *Config) {
			c.LoadBalancers[0].Listeners = append(c.LoadBalancers[0].Listeners, Listener{Port: 5432, Protocol: ProtocolTCP, TCP: &BackendRef{Name: "ns/route!invalid"}})
		}, "loadBalancers[0].listeners[1].tcp"},
		"negative order": {func(c *Config) { c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].Rank = -1 }, rf + ".rank"},
	} {
		t.Run(name, func(t *testing.T) {
			c := statusConfig()
			tc.change(c)
			err := c.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var fields []string
			for _, e := range flatten(err) {
				var fe *FieldError
				if errors.As(e, &fe) {
					fields = append(fields, fe.Field)
				}
			}
			if !slices.Contains(fields, tc.field) {
				t.Errorf("Validate() = %v, want an error on %q", err, tc.field)
			}
		})
	}
}

// flatten returns the errors errors.Join put together.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

func TestStatusAnswers(t *testing.T) {
	var none *Backend
	if none.Answers() || (&Backend{Name: "a"}).Answers() || !(&Backend{Status: 404}).Answers() {
		t.Error("Answers: a nil backend or one without a status answers, or one with 404 does not")
	}
}

// TestDiffStatus: a status that changes is a change of structure, never
// an endpoints-only change a provider could apply without rebuilding.
func TestDiffStatus(t *testing.T) {
	a, b := statusConfig(), statusConfig()
	b.Backends[1].Status = 503
	if ch := Diff(a, b); !ch.Structure {
		t.Errorf("Diff of a changed status = %+v, want a structure change", ch)
	}
	if ch := Diff(a, statusConfig()); !ch.Empty() {
		t.Errorf("Diff of equal configs = %+v, want none", ch)
	}
}

// TestSortRank: routes of one path with as many conditions of each kind
// come in Rank, whatever their text; Rank comes after the counts.
func TestSortRank(t *testing.T) {
	hdr := func(name, value string, order int32) Route {
		return Route{Path: "/", Match: MatchPrefix, Backend: BackendRef{Name: "ns/web:80"}, Rank: order,
			Headers: []HeaderMatch{{Name: name, Type: HeaderExact, Value: value}}}
	}
	two := hdr("version", "two", 0)
	two.Headers = append(two.Headers, HeaderMatch{Name: "color", Type: HeaderExact, Value: "orange"})
	two.Rank = 9
	routes := []Route{hdr("color", "blue", 3), hdr("version", "two", 1), two, hdr("version", "one", 0)}
	c := validConfig()
	c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes = routes
	c.Sort()
	var got []string
	l := c.LoadBalancers[0].Listeners[0]
	for _, r := range l.VirtualHosts[slices.IndexFunc(l.VirtualHosts, func(vh VirtualHost) bool { return vh.Hostname == "foo.example.com" })].Routes {
		var hs []string
		for _, h := range r.Headers {
			hs = append(hs, h.Name+"="+h.Value)
		}
		got = append(got, strings.Join(hs, "&"))
	}
	want := []string{"color=orange&version=two", "version=one", "version=two", "color=blue"}
	if !slices.Equal(got, want) {
		t.Errorf("routes after Sort: %q, want %q", got, want)
	}
}
