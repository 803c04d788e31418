package builtin

import (
	"hash/maphash"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// Backend policies: how an endpoint is chosen (algorithm, affinity,
// passive health) and what bounds an exchange (timeouts, retries, body
// size). A backend's policy is compiled once per table; what must outlive
// a table (connections in flight, failures, ejections) lives in the
// endpoint's connPool, shared by every table and backend with its address.

// Defaults for a zero Policy.
const (
	defaultResponseHeaderTimeout = 60 * time.Second
	defaultIdleTimeout           = 60 * time.Second
)

// policy is a compiled lbconfig.Policy.
type policy struct {
	algorithm lbconfig.Algorithm
	// cookie is the affinity cookie's name, "" without cookie affinity;
	// cookieAttrs is what follows "name=value" in its Set-Cookie.
	cookie      string
	cookieAttrs string
	// cookieSecure is the SameSite=None case: Secure even over HTTP.
	cookieSecure bool
	sourceIP     bool
	// hash is the key of a hash policy (hash.go), nil without one.
	hash *hashKey

	connect, responseHeader, idle time.Duration
	// send bounds each write to the backend.
	send time.Duration
	// tunnelIdle is zero unless the policy sets an idle timeout; then
	// Options.TunnelIdleTimeout applies (tunnelIdle in clientlimits.go).
	tunnelIdle time.Duration
	retries    int
	health     *lbconfig.PassiveHealthCheck
	maxBody    int64
}

func compilePolicy(p lbconfig.Policy) *policy {
	cp := &policy{
		algorithm:      p.Algorithm,
		connect:        orDefault(p.Timeouts.Connect.Std(), dialTimeout),
		responseHeader: orDefault(p.Timeouts.ResponseHeader.Std(), defaultResponseHeaderTimeout),
		idle:           orDefault(p.Timeouts.Idle.Std(), defaultIdleTimeout),
		tunnelIdle:     p.Timeouts.Idle.Std(),
		retries:        int(p.Retries),
		health:         p.PassiveHealthCheck,
		maxBody:        p.MaxRequestBodyBytes,
		hash:           compileHash(p.Hash),
		send:           orDefault(p.Timeouts.Send.Std(), defaultSendTimeout),
	}
	if a := p.Affinity; a != nil {
		switch a.Type {
		case lbconfig.AffinityByCookie:
			c := a.Cookie
			cp.cookie = c.Name
			var attrs strings.Builder
			attrs.WriteString("; Path=")
			attrs.WriteString(orDefault(c.Path, "/"))
			if c.MaxAge > 0 {
				attrs.WriteString("; Max-Age=")
				attrs.WriteString(strconv.FormatInt(int64(max(c.MaxAge.Std()/time.Second, 1)), 10))
			}
			attrs.WriteString("; HttpOnly")
			if c.SameSite != "" {
				attrs.WriteString("; SameSite=")
				attrs.WriteString(c.SameSite)
			}
			cp.cookieAttrs = attrs.String()
			cp.cookieSecure = c.SameSite == "None"
		case lbconfig.AffinityBySourceIP:
			cp.sourceIP = true
		}
	}
	return cp
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// cookieValue names an endpoint in an affinity cookie: a hash of its
// address and port, the same in every table and every process.
func cookieValue(addr string) string {
	var h uint64 = 14695981039346656037 // FNV-1a
	for i := 0; i < len(addr); i++ {
		h ^= uint64(addr[i])
		h *= 1099511628211
	}
	return strconv.FormatUint(h, 36)
}

// choice is the endpoint chosen for a request, and the Set-Cookie to send
// with its response ("" when none is needed).
type choice struct {
	ep        *endpoint
	setCookie string
	// headers is what the route's header rules need of the response,
	// set on net/http's path only.
	headers responseHeaders
	// timeouts are the route's (timeouts.go), nil for none; set on
	// net/http's path only.
	timeouts *exchangeTimeouts
}

// choose picks the endpoint for r (clientIP is its client's address),
// skipping those in tried. It returns nil when the backend has no endpoint
// left.
func (b *backend) choose(r *http.Request, clientIP string, secure bool, tried []*endpoint) choice {
	n := len(b.endpoints)
	if n == 0 || len(tried) >= n {
		return choice{}
	}
	pol := b.policy
	if pol.hash != nil && r != nil {
		return b.chooseByKey(pol.hash.sumRequest(r, clientIP), tried)
	}
	now := time.Time{}
	if pol.health != nil {
		now = time.Now()
	}
	if pol.cookie != "" && r != nil {
		if v := requestCookie(r, pol.cookie); v != "" {
			if ep := b.byCookie[v]; ep != nil && !isTried(tried, ep) && !ep.pool.ejected(now) {
				return choice{ep: ep}
			}
		}
	}
	var ep *endpoint
	if pol.sourceIP {
		ep = b.rendezvous(clientIP, now, tried)
	} else {
		ep = b.byAlgorithm(now, tried)
	}
	c := choice{ep: ep}
	if pol.cookie != "" && r != nil {
		c.setCookie = pol.cookie + "=" + ep.cookie + pol.cookieAttrs
		if secure || pol.cookieSecure {
			c.setCookie += "; Secure"
		}
	}
	return c
}

// byAlgorithm picks with the backend's algorithm among the endpoints not
// tried and not ejected; when every one left is ejected, among those.
func (b *backend) byAlgorithm(now time.Time, tried []*endpoint) *endpoint {
	n := uint64(len(b.endpoints))
	start := b.next.Add(1) - 1
	if b.policy.algorithm == lbconfig.Random {
		start = rand.Uint64()
	}
	var best, fallback *endpoint
	for i := range n {
		ep := &b.endpoints[(start+i)%n]
		if isTried(tried, ep) {
			continue
		}
		if ep.pool.ejected(now) {
			if fallback == nil {
				fallback = ep
			}
			continue
		}
		if b.policy.algorithm != lbconfig.LeastRequest {
			return ep
		}
		if best == nil || ep.pool.active.Load() < best.pool.active.Load() {
			best = ep
		}
	}
	if best != nil {
		return best
	}
	return fallback
}

// rendezvous hashes the client onto the endpoints (highest random weight),
// so that only the clients of an endpoint that leaves move.
func (b *backend) rendezvous(clientIP string, now time.Time, tried []*endpoint) *endpoint {
	var best, fallback *endpoint
	var bestW, fallbackW uint64
	for i := range b.endpoints {
		ep := &b.endpoints[i]
		if isTried(tried, ep) {
			continue
		}
		w := maphash.String(hashSeed, ep.addr+"|"+clientIP)
		if ep.pool.ejected(now) {
			if fallback == nil || w > fallbackW {
				fallback, fallbackW = ep, w
			}
			continue
		}
		if best == nil || w > bestW {
			best, bestW = ep, w
		}
	}
	if best != nil {
		return best
	}
	return fallback
}

// hashSeed is fixed for the process: source-IP affinity survives config
// changes. (Across restarts clients may move, which only costs them a new
// session where the application keeps none of its own.)
var hashSeed = maphash.MakeSeed()

func isTried(tried []*endpoint, ep *endpoint) bool {
	for _, t := range tried {
		if t.addr == ep.addr {
			return true
		}
	}
	return false
}

// requestCookie returns the value of the cookie called name, or "".
func requestCookie(r *http.Request, name string) string {
	for _, line := range r.Header["Cookie"] {
		for part := range strings.SplitSeq(line, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && k == name {
				return strings.Trim(v, `"`)
			}
		}
	}
	return ""
}

// endpointHealth is the passive health state of one address.
type endpointHealth struct {
	failures     atomic.Int32
	ejections    atomic.Int32
	ejectedUntil atomic.Int64 // unix nanoseconds
}

// ejected reports whether the endpoint is ejected at now; a zero now (no
// health checks) never is.
func (cp *connPool) ejected(now time.Time) bool {
	return !now.IsZero() && now.UnixNano() < cp.health.ejectedUntil.Load()
}

// connected records a successful connect.
func (cp *connPool) connected() {
	if cp.health.failures.Load() != 0 {
		cp.health.failures.Store(0)
	}
	if cp.health.ejections.Load() != 0 {
		cp.health.ejections.Store(0)
	}
}

// connectFailed records a failed connect and ejects the endpoint once it
// failed hc.ConsecutiveFailures times in a row. It reports an ejection.
func (cp *connPool) connectFailed(hc *lbconfig.PassiveHealthCheck, now time.Time) (time.Duration, bool) {
	f := cp.health.failures.Add(1)
	if hc == nil || f < hc.ConsecutiveFailures {
		return 0, false
	}
	cp.health.failures.Store(0)
	k := cp.health.ejections.Add(1)
	d := hc.BaseEjection.Std()
	for i := int32(1); i < k && d < hc.MaxEjection.Std(); i++ {
		d *= 2
	}
	d = min(d, hc.MaxEjection.Std())
	cp.health.ejectedUntil.Store(now.Add(d).UnixNano())
	return d, true
}
