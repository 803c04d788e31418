package lbconfig

import (
	"fmt"
	"net/netip"
	"reflect"
	"slices"
)

// RateLimit limits what one client may ask of a route, counted per client
// address: the address of the TCP peer (an IPv4-mapped IPv6 address
// counts as the IPv4 address it maps), never a header such as
// X-Forwarded-For. Each address is counted on its own, an IPv6 /128 as
// much as an IPv4 /32. Every replica, and every provider process, counts
// on its own: with N replicas a client may get N times the limit.
//
// A request over a limit is answered StatusCode by the proxy and reaches
// no backend. The counters are those of the Zone, shared by every route
// with that Zone: a limit of an Ingress holds across its paths, as in
// ingress-nginx, whose zones are per Ingress.
//
// A rate (PerSecond, PerMinute) admits Requests per period on average and
// up to Burst more at once: a client idle long enough may send Burst+1
// requests at once, then one per period/Requests. A refused request does
// not count. Concurrent limits the requests of one client address in
// progress at once (an upgraded connection is one until it closes).
// Requests from an Exempt prefix are not counted nor limited.
//
// Exempt is sorted without duplicates, as Access's lists; Sort puts it in
// order, Validate checks the rest.
type RateLimit struct {
	// Zone names the counters; not empty. Routes with the same Zone in
	// one Config have equal RateLimits.
	Zone string `json:"zone"`
	// PerSecond and PerMinute are the rates; nil is none.
	PerSecond *Rate `json:"perSecond,omitempty"`
	PerMinute *Rate `json:"perMinute,omitempty"`
	// Concurrent is the most requests in progress per client address; 0
	// is no limit.
	Concurrent int32 `json:"concurrent,omitempty"`
	// Exempt are the prefixes of the clients not limited.
	Exempt []netip.Prefix `json:"exempt,omitempty"`
	// StatusCode answers a request over a limit: 400 to 599.
	StatusCode int32 `json:"statusCode"`
}

// Rate is Requests per period with a Burst.
type Rate struct {
	// Requests per period, 1 to MaxRateLimit.
	Requests int32 `json:"requests"`
	// Burst is how many requests over the rate are admitted at once, 0
	// to MaxRateLimit.
	Burst int32 `json:"burst,omitempty"`
}

// MaxRateLimit bounds every count of a RateLimit, so that no provider's
// arithmetic overflows.
const MaxRateLimit = 1_000_000

// MaxRateLimitZone bounds the length of a zone name.
const MaxRateLimitZone = 253

func (v *validator) rateLimit(f string, rl *RateLimit) {
	switch {
	case rl.Zone == "":
		v.add(f+".zone", "must not be empty")
	case len(rl.Zone) > MaxRateLimitZone:
		v.add(f+".zone", fmt.Sprintf("is %d bytes long, over %d", len(rl.Zone), MaxRateLimitZone))
	}
	if rl.PerSecond == nil && rl.PerMinute == nil && rl.Concurrent == 0 {
		v.add(f, "must have a rate or a concurrent limit; leave it out to limit nothing")
	}
	for name, r := range map[string]*Rate{"perSecond": rl.PerSecond, "perMinute": rl.PerMinute} {
		if r == nil {
			continue
		}
		if r.Requests < 1 || r.Requests > MaxRateLimit {
			v.add(f+"."+name+".requests", fmt.Sprintf("%d is not 1 to %d", r.Requests, MaxRateLimit))
		}
		if r.Burst < 0 || r.Burst > MaxRateLimit {
			v.add(f+"."+name+".burst", fmt.Sprintf("%d is not 0 to %d", r.Burst, MaxRateLimit))
		}
	}
	if rl.Concurrent < 0 || rl.Concurrent > MaxRateLimit {
		v.add(f+".concurrent", fmt.Sprintf("%d is not 0 to %d", rl.Concurrent, MaxRateLimit))
	}
	for i, p := range rl.Exempt {
		pf := fmt.Sprintf("%s.exempt[%d]", f, i)
		if err := CheckPrefix(p); err != nil {
			v.add(pf, err.Error())
		} else if i > 0 && rl.Exempt[i-1].Compare(p) >= 0 {
			v.add(pf, fmt.Sprintf("%s must come after %s, once (sorted without duplicates)", p, rl.Exempt[i-1]))
		}
	}
	if rl.StatusCode < 400 || rl.StatusCode > 599 {
		v.add(f+".statusCode", fmt.Sprintf("%d is not 400 to 599", rl.StatusCode))
	}
}

// rateLimitZones checks that the routes of a zone agree on its limits.
func (v *validator) rateLimitZones(c *Config) {
	first := map[string]*RateLimit{}
	c.eachRateLimit(func(f string, rl *RateLimit) {
		if rl.Zone == "" {
			return
		}
		if prev, ok := first[rl.Zone]; !ok {
			first[rl.Zone] = rl
		} else if !reflect.DeepEqual(prev, rl) {
			v.add(f, fmt.Sprintf("zone %q has other limits on another route; a zone's routes share one rate limit", rl.Zone))
		}
	})
}

// eachRateLimit calls fn with every route's RateLimit and its field path.
func (c *Config) eachRateLimit(fn func(field string, rl *RateLimit)) {
	for i := range c.LoadBalancers {
		for j := range c.LoadBalancers[i].Listeners {
			for k, vh := range c.LoadBalancers[i].Listeners[j].VirtualHosts {
				for r := range vh.Routes {
					if rl := vh.Routes[r].RateLimit; rl != nil {
						fn(fmt.Sprintf("loadBalancers[%d].listeners[%d].virtualHosts[%d].routes[%d].rateLimit", i, j, k, r), rl)
					}
				}
			}
		}
	}
}

// Exempts reports whether a client at addr is exempt from rl.
func (rl *RateLimit) Exempts(addr netip.Addr) bool {
	addr = addr.Unmap().WithZone("")
	return slices.ContainsFunc(rl.Exempt, func(p netip.Prefix) bool { return p.Contains(addr) })
}
