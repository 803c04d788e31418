package lbconfig

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestValidateRateLimit(t *testing.T) {
	const f = "loadBalancers[0].listeners[0].virtualHosts[0].routes[0].rateLimit"
	ok := func() *RateLimit {
		return &RateLimit{Zone: "ns/web", PerSecond: &Rate{Requests: 5, Burst: 25}, StatusCode: 503}
	}
	for name, tc := range map[string]struct {
		edit  func(*RateLimit)
		field string // "" means valid
	}{
		"per second":         {func(*RateLimit) {}, ""},
		"per minute":         {func(rl *RateLimit) { rl.PerSecond, rl.PerMinute = nil, &Rate{Requests: 1} }, ""},
		"concurrent only":    {func(rl *RateLimit) { rl.PerSecond, rl.Concurrent = nil, 1 }, ""},
		"status 429":         {func(rl *RateLimit) { rl.StatusCode = 429 }, ""},
		"exempt":             {func(rl *RateLimit) { rl.Exempt = prefixes("10.0.0.0/8", "2001:db8::/32") }, ""},
		"largest":            {func(rl *RateLimit) { rl.PerSecond.Requests, rl.PerSecond.Burst = MaxRateLimit, MaxRateLimit }, ""},
		"nothing":            {func(rl *RateLimit) { rl.PerSecond = nil }, f},
		"no zone":            {func(rl *RateLimit) { rl.Zone = "" }, f + ".zone"},
		"long zone":          {func(rl *RateLimit) { rl.Zone = strings.Repeat("z", MaxRateLimitZone+1) }, f + ".zone"},
		"zero requests":      {func(rl *RateLimit) { rl.PerSecond.Requests = 0 }, f + ".perSecond.requests"},
		"negative requests":  {func(rl *RateLimit) { rl.PerSecond.Requests = -1 }, f + ".perSecond.requests"},
		"huge requests":      {func(rl *RateLimit) { rl.PerSecond.Requests = MaxRateLimit + 1 }, f + ".perSecond.requests"},
		"negative burst":     {func(rl *RateLimit) { rl.PerSecond.Burst = -1 }, f + ".perSecond.burst"},
		"huge burst":         {func(rl *RateLimit) { rl.PerSecond.Burst = 1 << 30 }, f + ".perSecond.burst"},
		"bad minute":         {func(rl *RateLimit) { rl.PerMinute = &Rate{} }, f + ".perMinute.requests"},
		"negative conns":     {func(rl *RateLimit) { rl.Concurrent = -1 }, f + ".concurrent"},
		"huge conns":         {func(rl *RateLimit) { rl.Concurrent = MaxRateLimit + 1 }, f + ".concurrent"},
		"no status":          {func(rl *RateLimit) { rl.StatusCode = 0 }, f + ".statusCode"},
		"status 200":         {func(rl *RateLimit) { rl.StatusCode = 200 }, f + ".statusCode"},
		"status 600":         {func(rl *RateLimit) { rl.StatusCode = 600 }, f + ".statusCode"},
		"exempt host bits":   {func(rl *RateLimit) { rl.Exempt = prefixes("10.0.0.1/8") }, f + ".exempt[0]"},
		"exempt unsorted":    {func(rl *RateLimit) { rl.Exempt = prefixes("10.0.0.0/8", "1.0.0.0/8") }, f + ".exempt[1]"},
		"exempt mapped":      {func(rl *RateLimit) { rl.Exempt = prefixes("::ffff:10.0.0.0/104") }, f + ".exempt[0]"},
		"exempt zero prefix": {func(rl *RateLimit) { rl.Exempt = []netip.Prefix{{}} }, f + ".exempt[0]"},
	} {
		t.Run(name, func(t *testing.T) {
			c := validConfig()
			rl := ok()
			tc.edit(rl)
			c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].RateLimit = rl
			checkField(t, c, tc.field)
		})
	}
}

// TestValidateRateLimitZones: the routes of a zone share its counters, so
// they must agree on the limits.
func TestValidateRateLimitZones(t *testing.T) {
	c := validConfig()
	vhs := c.LoadBalancers[0].Listeners[0].VirtualHosts
	vhs[0].Routes[0].RateLimit = &RateLimit{Zone: "ns/a", Concurrent: 2, StatusCode: 503}
	vhs[1].Routes[0].RateLimit = &RateLimit{Zone: "ns/a", Concurrent: 2, StatusCode: 503}
	checkField(t, c, "")
	vhs[1].Routes[0].RateLimit = &RateLimit{Zone: "ns/a", Concurrent: 3, StatusCode: 503}
	checkField(t, c, "loadBalancers[0].listeners[0].virtualHosts[1].routes[0].rateLimit")
	vhs[1].Routes[0].RateLimit.Zone = "ns/b"
	checkField(t, c, "")
}

func TestSortCanonicalizesRateLimit(t *testing.T) {
	c := validConfig()
	c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].RateLimit = &RateLimit{
		Zone: "z", Concurrent: 1, StatusCode: 503,
		Exempt: prefixes("10.0.0.0/8", "2001:db8::/32", "1.0.0.0/8", "10.0.0.0/8"),
	}
	c.Sort()
	var got []netip.Prefix
	for _, vh := range c.LoadBalancers[0].Listeners[0].VirtualHosts {
		if vh.Hostname == "foo.example.com" {
			got = vh.Routes[0].RateLimit.Exempt
		}
	}
	if want := prefixes("1.0.0.0/8", "10.0.0.0/8", "2001:db8::/32"); !slices.Equal(got, want) {
		t.Errorf("sorted Exempt = %v, want %v", got, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() after Sort = %v", err)
	}
}

func TestRateLimitExempts(t *testing.T) {
	rl := &RateLimit{Exempt: prefixes("127.0.0.2/32", "2001:db8::/32")}
	for addr, want := range map[string]bool{
		"127.0.0.2": true, "::ffff:127.0.0.2": true, "127.0.0.1": false,
		"2001:db8::7": true, "2001:db9::7": false, "fe80::1%eth0": false,
	} {
		if got := rl.Exempts(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Exempts(%s) = %v, want %v", addr, got, want)
		}
	}
	if (&RateLimit{}).Exempts(netip.MustParseAddr("127.0.0.1")) {
		t.Error("an empty Exempt exempts")
	}
}

func TestRateLimitJSON(t *testing.T) {
	rl := &RateLimit{Zone: "ns/web", PerSecond: &Rate{Requests: 5, Burst: 25}, PerMinute: &Rate{Requests: 100}, Concurrent: 3, Exempt: prefixes("10.0.0.0/8"), StatusCode: 429}
	b, err := json.Marshal(rl)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"zone":"ns/web","perSecond":{"requests":5,"burst":25},"perMinute":{"requests":100},"concurrent":3,"exempt":["10.0.0.0/8"],"statusCode":429}`
	if string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
}

func TestDiffRateLimitIsStructural(t *testing.T) {
	old, new := validConfig(), validConfig()
	new.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].RateLimit = &RateLimit{Zone: "z", Concurrent: 1, StatusCode: 503}
	if ch := Diff(old, new); !ch.Structure {
		t.Errorf("Diff = %+v, want a structural change", ch)
	}
}
