package builtin

import (
	"hash/maphash"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// Rate limits (lbconfig.RateLimit): one limiter per provider counts the
// requests of every client address for every zone, in a table of fixed
// size allocated on first use, so that no number of client addresses
// grows the heap past limiterBytes.
//
// Theory of operation. The table is split in limiterShards shards, each
// behind its own mutex and on its own cache lines, so that clients hash
// to different locks; one hot address takes one lock for a few dozen
// nanoseconds per request. A shard is a set-associative cache: an
// (address, zone) pair hashes, with a seed drawn per provider that a
// client cannot learn, to one set of limiterWays slots. A rate is kept as
// the GCRA's theoretical arrival time (the time at which the client's
// bucket is full again), which is what nginx's limit_req computes as its
// excess: a client may send Burst+1 requests at once, then one per
// period/Requests; a refused request counts nothing.
//
// A new pair takes a slot of its set: a free one, else one whose state
// says nothing (its buckets are full again and it holds no request), else
// the one that owes least; a slot that holds requests in progress is
// never taken, so that every release finds its count. The trade-off, for
// an attacker with many addresses: in a set full of owing clients, the
// newcomer takes the place of the one that owes least, which gets its
// burst again when it comes back (at most its burst, once per eviction,
// and only when the attacker has a set's worth of addresses owing at
// once); no eviction ever lifts the limit of every client. A newcomer
// whose set is full of requests in progress is refused as if over its
// limit (fail closed): that takes limiterWays addresses holding requests
// in one set, which the secret seed keeps an attacker from aiming at.
const (
	limiterShards = 256
	limiterSets   = 64 // per shard
	limiterWays   = 8
	// limiterSlots is the capacity of the table, for every zone.
	limiterSlots = limiterShards * limiterSets * limiterWays
	// limiterBytes bounds the memory of the table.
	limiterBytes = limiterSlots*40 + limiterShards*128
)

// limiter is the provider's rate limit table, shared by the routing
// tables that Apply builds, so that counts survive a new config.
type limiter struct {
	seed   maphash.Seed
	epoch  time.Time
	shards [limiterShards]limiterShard
	// zones numbers zone names, never reusing a number: a zone renamed
	// starts with fresh counts.
	zones atomic.Uint32
}

type limiterShard struct {
	mu    sync.Mutex
	slots []limitSlot // limiterSets*limiterWays, made on first use
	_     [128 - 8 - 24]byte
}

// limitSlot is the state of one client address in one zone.
type limitSlot struct {
	addr [16]byte
	// zone is the zone's number; 0 is a free slot.
	zone uint32
	// held counts the requests in progress.
	held int32
	// tat is the theoretical arrival time of each rate (per second, per
	// minute), in nanoseconds since the limiter's epoch.
	tat [2]int64
}

func newLimiter() *limiter {
	return &limiter{seed: maphash.MakeSeed(), epoch: time.Now()}
}

// rateLimit is a compiled lbconfig.RateLimit.
type rateLimit struct {
	l    *limiter
	zone uint32
	// interval is the time between two requests at each rate, and
	// tolerance how far ahead a client may be (Burst intervals); an
	// interval of 0 is no rate.
	interval, tolerance [2]int64
	held                int32 // Concurrent; 0 is no limit
	exempt              []netip.Prefix
	status              int
	body                string
}

// rateLimitedBody answers a request over a limit; the HAProxy provider
// writes the same.
func rateLimitedBody(status int) string {
	return strconv.Itoa(status) + " rate limited: too many requests from this client address"
}

// compileRateLimit compiles rl for the zone numbered zone of l.
func compileRateLimit(l *limiter, zone uint32, rl *lbconfig.RateLimit) *rateLimit {
	c := &rateLimit{l: l, zone: zone, held: rl.Concurrent, status: int(rl.StatusCode), body: rateLimitedBody(int(rl.StatusCode))}
	c.exempt = append([]netip.Prefix(nil), rl.Exempt...)
	for i, r := range []struct {
		rate   *lbconfig.Rate
		period time.Duration
	}{{rl.PerSecond, time.Second}, {rl.PerMinute, time.Minute}} {
		if r.rate == nil || r.rate.Requests <= 0 {
			continue
		}
		// Validate bounds Requests and Burst: no overflow.
		c.interval[i] = int64(r.period) / int64(r.rate.Requests)
		c.tolerance[i] = c.interval[i] * int64(r.rate.Burst)
	}
	return c
}

// zoneNumbers numbers the zones of cfg, keeping the numbers prev gave the
// same names and taking new ones from next.
func zoneNumbers(cfg *lbconfig.Config, next func() uint32, prev map[string]uint32) map[string]uint32 {
	zones := map[string]uint32{}
	for i := range cfg.LoadBalancers {
		for _, ln := range cfg.LoadBalancers[i].Listeners {
			for _, vh := range ln.VirtualHosts {
				for _, rt := range vh.Routes {
					if rt.RateLimit == nil {
						continue
					}
					name := rt.RateLimit.Zone
					if _, ok := zones[name]; ok {
						continue
					}
					if n, ok := prev[name]; ok {
						zones[name] = n
					} else {
						zones[name] = next()
					}
				}
			}
		}
	}
	return zones
}

// limitHold is one request in progress counted by a limiter; the zero
// value holds nothing.
type limitHold struct {
	shard *limiterShard
	slot  int
}

// release ends the request h holds, if any. Idempotent.
func (h *limitHold) release() {
	if h.shard == nil {
		return
	}
	h.shard.mu.Lock()
	h.shard.slots[h.slot].held--
	h.shard.mu.Unlock()
	h.shard = nil
}

// admit reports whether a request from addr that came at now may go on
// under rl (nil: no limit), and, when rl limits requests in progress,
// makes h hold this one until h.release. now is the time the request path
// read already: reading the clock costs more than the rest. admit never
// allocates, except for a shard's table the first time a client hashes to
// it.
func (h *limitHold) admit(rl *rateLimit, addr netip.Addr, now time.Time) bool {
	if rl == nil {
		return true
	}
	addr = addr.Unmap()
	for _, p := range rl.exempt {
		if p.Contains(addr) {
			return true
		}
	}
	return rl.l.admit(rl, addr.As16(), int64(now.Sub(rl.l.epoch)), h)
}

func (l *limiter) admit(rl *rateLimit, key [16]byte, now int64, h *limitHold) bool {
	var hb [20]byte
	copy(hb[:16], key[:])
	hb[16], hb[17], hb[18], hb[19] = byte(rl.zone), byte(rl.zone>>8), byte(rl.zone>>16), byte(rl.zone>>24)
	sum := maphash.Bytes(l.seed, hb[:])
	sh := &l.shards[sum%limiterShards]
	set := int(sum/limiterShards%limiterSets) * limiterWays

	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.slots == nil {
		sh.slots = make([]limitSlot, limiterSets*limiterWays)
	}
	i := sh.find(set, key, rl.zone, now)
	if i < 0 {
		return false // a set full of requests in progress
	}
	s := &sh.slots[i]
	var next [2]int64
	for r, iv := range rl.interval {
		if iv == 0 {
			continue
		}
		tat := max(s.tat[r], now)
		if tat-now > rl.tolerance[r] {
			return false
		}
		next[r] = tat + iv
	}
	if rl.held > 0 && s.held >= rl.held {
		return false
	}
	for r, iv := range rl.interval {
		if iv != 0 {
			s.tat[r] = next[r]
		}
	}
	if rl.held > 0 {
		s.held++
		h.shard, h.slot = sh, i
	}
	return true
}

// find returns the slot of (key, zone) in the set starting at set, taking
// one for it if it has none (see the theory of operation), or -1 when
// every slot of the set holds requests in progress. The caller holds
// sh.mu.
func (sh *limiterShard) find(set int, key [16]byte, zone uint32, now int64) int {
	victim, owes := -1, int64(0)
	for i := set; i < set+limiterWays; i++ {
		s := &sh.slots[i]
		if s.zone == zone && s.addr == key {
			return i
		}
		if s.held > 0 {
			continue
		}
		// What forgetting s would give back: the time until its
		// buckets are full again; 0 for a free slot.
		debt := int64(0)
		if s.zone != 0 {
			debt = max(s.tat[0], s.tat[1], now) - now
		}
		if victim < 0 || debt < owes {
			victim, owes = i, debt
		}
	}
	if victim >= 0 {
		sh.slots[victim] = limitSlot{addr: key, zone: zone}
	}
	return victim
}

// prepareRateLimits gives t the limiter of prev, or a new one if cfg
// limits anything and prev has none, and numbers the zones of cfg.
func (t *table) prepareRateLimits(cfg *lbconfig.Config, prev *table) {
	var prevZones map[string]uint32
	if prev != nil {
		t.limiter, prevZones = prev.limiter, prev.zones
	}
	zones := zoneNumbers(cfg, func() uint32 {
		if t.limiter == nil {
			t.limiter = newLimiter()
		}
		return t.limiter.zones.Add(1)
	}, prevZones)
	if len(zones) > 0 {
		t.zones = zones
	} else {
		t.zones = prevZones // kept for the next config's numbers
	}
}

// attachRateLimits gives the routes of pr, compiled from l, their rate
// limits.
func (t *table) attachRateLimits(pr *portRoutes, l lbconfig.Listener) {
	for _, vh := range l.VirtualHosts {
		v := pr.vhostNamed(vh.Hostname)
		for r, rt := range vh.Routes {
			if rt.RateLimit != nil && v != nil && r < len(v.routes) {
				v.routes[r].limit = compileRateLimit(t.limiter, t.zones[rt.RateLimit.Zone], rt.RateLimit)
			}
		}
	}
}

// refuseLimited answers a request over rt's limit on net/http's path.
func (p *Provider) refuseLimited(w http.ResponseWriter, r *http.Request, rt *route, start time.Time) {
	http.Error(w, rt.limit.body, rt.limit.status)
	rt.backend.metrics.observe(rt.limit.status, time.Since(start))
	p.logAccess(r, rt.backend, outcome{status: rt.limit.status}, start)
}
