package lbconfig

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidatePolicy(t *testing.T) {
	cookie := func(mutate func(*AffinityCookie)) func(*Policy) {
		return func(p *Policy) {
			c := &AffinityCookie{Name: "route", MaxAge: Duration(time.Hour), Path: "/", SameSite: "Lax"}
			mutate(c)
			p.Affinity = &Affinity{Type: AffinityByCookie, Cookie: c}
		}
	}
	health := func(n int32, base, max time.Duration) func(*Policy) {
		return func(p *Policy) {
			p.PassiveHealthCheck = &PassiveHealthCheck{ConsecutiveFailures: n, BaseEjection: Duration(base), MaxEjection: Duration(max)}
		}
	}
	for name, tc := range map[string]struct {
		mutate func(*Policy)
		field  string // "" means valid
	}{
		"cookie":              {cookie(func(*AffinityCookie) {}), ""},
		"source ip":           {func(p *Policy) { p.Affinity = &Affinity{Type: AffinityBySourceIP} }, ""},
		"health":              {health(3, time.Second, time.Minute), ""},
		"all timeouts":        {func(p *Policy) { p.Timeouts = Timeouts{Connect: 1, ResponseHeader: 2, Idle: 3}; p.Retries = 2 }, ""},
		"affinity type":       {func(p *Policy) { p.Affinity = &Affinity{Type: "magic"} }, "backends[0].policy.affinity.type"},
		"cookie missing":      {func(p *Policy) { p.Affinity = &Affinity{Type: AffinityByCookie} }, "backends[0].policy.affinity.cookie"},
		"cookie on source ip": {func(p *Policy) { p.Affinity = &Affinity{Type: AffinityBySourceIP, Cookie: &AffinityCookie{Name: "x"}} }, "backends[0].policy.affinity.cookie"},
		"cookie name empty":   {cookie(func(c *AffinityCookie) { c.Name = "" }), "backends[0].policy.affinity.cookie.name"},
		"cookie name inject":  {cookie(func(c *AffinityCookie) { c.Name = "a=b; Domain=evil" }), "backends[0].policy.affinity.cookie.name"},
		"cookie name newline": {cookie(func(c *AffinityCookie) { c.Name = "a\r\nX: y" }), "backends[0].policy.affinity.cookie.name"},
		"cookie path":         {cookie(func(c *AffinityCookie) { c.Path = "/a; Domain=evil" }), "backends[0].policy.affinity.cookie.path"},
		"cookie path rel":     {cookie(func(c *AffinityCookie) { c.Path = "a" }), "backends[0].policy.affinity.cookie.path"},
		"same site":           {cookie(func(c *AffinityCookie) { c.SameSite = "lax" }), "backends[0].policy.affinity.cookie.sameSite"},
		"max age":             {cookie(func(c *AffinityCookie) { c.MaxAge = -1 }), "backends[0].policy.affinity.cookie.maxAge"},
		"connect timeout":     {func(p *Policy) { p.Timeouts.Connect = -1 }, "backends[0].policy.timeouts.connect"},
		"idle timeout":        {func(p *Policy) { p.Timeouts.Idle = -1 }, "backends[0].policy.timeouts.idle"},
		"retries":             {func(p *Policy) { p.Retries = -1 }, "backends[0].policy.retries"},
		"health failures":     {health(0, time.Second, time.Minute), "backends[0].policy.passiveHealthCheck.consecutiveFailures"},
		"health base":         {health(1, 0, time.Minute), "backends[0].policy.passiveHealthCheck.baseEjection"},
		"health max":          {health(1, time.Minute, time.Second), "backends[0].policy.passiveHealthCheck.maxEjection"},
		"body limit":          {func(p *Policy) { p.MaxRequestBodyBytes = -5 }, "backends[0].policy.maxRequestBodyBytes"},
	} {
		t.Run(name, func(t *testing.T) {
			c := validConfig()
			tc.mutate(&c.Backends[0].Policy)
			checkField(t, c, tc.field)
		})
	}
}

func TestPolicyJSON(t *testing.T) {
	p := Policy{
		Affinity: &Affinity{Type: AffinityByCookie, Cookie: &AffinityCookie{Name: "route", MaxAge: Duration(90 * time.Minute)}},
		Timeouts: Timeouts{Connect: Duration(1500 * time.Millisecond)},
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"affinity":{"type":"cookie","cookie":{"name":"route","maxAge":"1h30m0s"}},"timeouts":{"connect":"1.5s"}}`; string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
	var back Policy
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Affinity.Cookie.MaxAge != p.Affinity.Cookie.MaxAge || back.Timeouts.Connect != p.Timeouts.Connect {
		t.Errorf("round trip = %+v, want %+v", back, p)
	}
	if b, _ := json.Marshal(Policy{}); string(b) != "{}" {
		t.Errorf("zero policy JSON = %s, want {}", b)
	}
	if err := json.Unmarshal([]byte(`{"timeouts":{"idle":"soon"}}`), &back); err == nil || !strings.Contains(err.Error(), "soon") {
		t.Errorf("bad duration: %v", err)
	}
}

func TestDiffPolicyIsStructural(t *testing.T) {
	c := validConfig()
	c.Backends[0].Policy.Affinity = &Affinity{Type: AffinityBySourceIP}
	if ch := Diff(validConfig(), c); !ch.Structure {
		t.Errorf("a policy change: %+v, want a structural change", ch)
	}
}

func TestValidatePassthrough(t *testing.T) {
	https := func(vh VirtualHost) *Config {
		c := validConfig()
		c.LoadBalancers[0].Listeners = append(c.LoadBalancers[0].Listeners, Listener{Port: 443, Protocol: ProtocolHTTPS, VirtualHosts: []VirtualHost{vh}})
		return c
	}
	ref := &BackendRef{Name: "ns/web:80"}
	for name, tc := range map[string]struct {
		cfg   *Config
		field string
	}{
		"ok":          {https(VirtualHost{Hostname: "tls.example.com", Passthrough: ref}), ""},
		"with tls":    {https(VirtualHost{Hostname: "tls.example.com", Passthrough: ref, TLS: &CertificateRef{Name: "x"}}), "loadBalancers[0].listeners[1].virtualHosts[0].tls"},
		"with routes": {https(VirtualHost{Hostname: "tls.example.com", Passthrough: ref, Routes: []Route{{Path: "/", Match: MatchPrefix, Backend: *ref}}}), "loadBalancers[0].listeners[1].virtualHosts[0].routes"},
		"no backend":  {https(VirtualHost{Hostname: "tls.example.com", Passthrough: &BackendRef{Name: "nope"}}), "loadBalancers[0].listeners[1].virtualHosts[0].passthrough"},
		"on http": {func() *Config {
			c := validConfig()
			c.LoadBalancers[0].Listeners[0].VirtualHosts[0] = VirtualHost{Hostname: "foo.example.com", Passthrough: ref}
			return c
		}(), "loadBalancers[0].listeners[0].virtualHosts[0].passthrough"},
		"listener needs passthrough": {func() *Config {
			c := validConfig()
			c.LoadBalancers[0].Listeners = append(c.LoadBalancers[0].Listeners, Listener{Port: 8443, Protocol: ProtocolTLSPassthrough,
				VirtualHosts: []VirtualHost{{Hostname: "a.example.com"}}})
			return c
		}(), "loadBalancers[0].listeners[1].virtualHosts[0].passthrough"},
	} {
		t.Run(name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Errorf("Validate() = %v, want an error at %s", err, tc.field)
			}
		})
	}
}
