package haproxy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// Rate limits (lbconfig.RateLimit) as stick tables: one per zone, keyed
// by the client's address (src, type ipv6: an IPv4 client is stored as
// its IPv4-mapped address, the same key as the builtin's), which the
// routes of the zone track in sc0 after routing and access. Redirects
// are never limited, as in the builtin: a route with an HTTPS redirect
// carries no rate limit.
//
// The map value of a route carries its zone's id after "~" (after an
// access rule's id, if any), taken into txn.ratelimit. A request over a
// limit is answered the zone's status code and the builtin's body.
//
// What is counted, as close to the builtin as HAProxy 2.6 allows:
//   - A rate of Requests per period with Burst is a gpc rate over a
//     window W = (Burst+1) × period/Requests, admitting while fewer than
//     Burst+1 were admitted in the last W: Burst+1 at once, then on
//     average one per period/Requests, as the builtin's GCRA. HAProxy's
//     rate over a window is a sliding estimate from the current and the
//     previous window, so within a window the admissions spread a little
//     differently. Only admitted requests are counted (sc-inc-gpc after
//     the checks), as the builtin and nginx do.
//   - Concurrent is conn_cur of the tracked entry: the streams (requests,
//     or an upgraded connection until it closes) that track it at once.
//   - Tables hold rateLimitTableSize addresses; when full HAProxy drops
//     the least recently used entry that no stream tracks (an evicted
//     client starts with its full burst again). Counts are lost on a
//     reload (no peers section), where the builtin keeps them.

// rateLimitTableSize is the number of client addresses of one zone's
// stick table.
const rateLimitTableSize = "100k"

// maxRateWindow is the longest gpc rate period that HAProxy keeps
// (milliseconds in 32 bits, with room).
const maxRateWindow = 24 * 24 * time.Hour

// rateLimitTables numbers the distinct zones of a config, in the order
// routes first use them.
type rateLimitTables struct {
	ids   map[string]string
	zones []rateLimitTable
}

type rateLimitTable struct {
	id string // "r<N>"
	rl *lbconfig.RateLimit
	// windows are the gpc0 (per second) and gpc1 (per minute) rate
	// periods; 0 is no rate.
	windows [2]time.Duration
}

// add returns the id of rl's zone, checking what HAProxy can express.
func (ts *rateLimitTables) add(rl *lbconfig.RateLimit) (string, error) {
	if id, ok := ts.ids[rl.Zone]; ok {
		return id, nil
	}
	t := rateLimitTable{id: "r" + strconv.Itoa(len(ts.zones)), rl: rl}
	for i, r := range []*lbconfig.Rate{rl.PerSecond, rl.PerMinute} {
		if r == nil {
			continue
		}
		period := time.Second
		if i == 1 {
			period = time.Minute
		}
		if r.Requests < 1 || r.Burst < 0 {
			return "", fmt.Errorf("rate limit: %d requests with a burst of %d", r.Requests, r.Burst)
		}
		w := (time.Duration(r.Burst) + 1) * period / time.Duration(r.Requests)
		if w > maxRateWindow {
			return "", fmt.Errorf("rate limit: a burst of %d at %d per %v is a window of %v, longer than HAProxy keeps (%v)", r.Burst, r.Requests, period, w, maxRateWindow)
		}
		t.windows[i] = max(w, time.Millisecond)
	}
	for i, p := range rl.Exempt {
		if err := lbconfig.CheckPrefix(p); err != nil {
			return "", fmt.Errorf("rate limit: exempt[%d]: %w", i, err)
		}
	}
	if rl.StatusCode < 400 || rl.StatusCode > 599 {
		return "", fmt.Errorf("rate limit: status code %d is not 400 to 599", rl.StatusCode)
	}
	if ts.ids == nil {
		ts.ids = map[string]string{}
	}
	ts.ids[rl.Zone] = t.id
	ts.zones = append(ts.zones, t)
	return t.id, nil
}

func (t *rateLimitTable) table() string { return "rl_" + t.id }

func (t *rateLimitTable) exemptFile() string { return mapsDir + "/" + t.id + "-exempt.lst" }

// rateLimitedBody is the builtin's answer to a request over a limit.
func rateLimitedBody(status int32) string {
	return strconv.Itoa(int(status)) + " rate limited: too many requests from this client address"
}

// rateLimitKey takes the zone id of the route out of the map value, before
// the access rules take theirs and cut the value to the backend.
func rateLimitKey(w *lines, used []string) {
	if len(used) == 0 {
		return
	}
	w.line("    http-request set-var(txn.ratelimit) var(txn.backend),regsub(^.*~,) if { var(txn.backend) -m reg ~r[0-9]+$ }")
}

// rules checks the zones used (ids) after access: tracks the
// client unless exempt, answers a request over a limit, and counts an
// admitted one.
func (ts *rateLimitTables) rules(w *lines, used []string) {
	if len(used) == 0 {
		return
	}
	w.line("    http-request set-var(txn.backend) var(txn.backend),field(1,~) if { var(txn.ratelimit) -m found }")
	for _, t := range ts.zones {
		if !slices.Contains(used, t.id) {
			continue
		}
		zone := "{ var(txn.ratelimit) -m str " + t.id + " }"
		track := "    http-request track-sc0 src table " + t.table() + " if " + zone
		if len(t.rl.Exempt) > 0 {
			track += " !{ src -f " + t.exemptFile() + " }"
		}
		w.line(track)
		var over []string
		if c := t.rl.Concurrent; c > 0 {
			// conn_cur counts this request too.
			over = append(over, zone+" { sc_conn_cur(0) gt "+strconv.Itoa(int(c))+" }")
		}
		for i, rate := range []*lbconfig.Rate{t.rl.PerSecond, t.rl.PerMinute} {
			if rate != nil {
				over = append(over, zone+" { sc_gpc"+strconv.Itoa(i)+"_rate(0) ge "+strconv.Itoa(int(rate.Burst)+1)+" }")
			}
		}
		w.line("    http-request return status " + strconv.Itoa(int(t.rl.StatusCode)) + " content-type \"text/plain; charset=utf-8\" string \"" + rateLimitedBody(t.rl.StatusCode) + "\" if " + strings.Join(over, " || "))
		for i, rate := range []*lbconfig.Rate{t.rl.PerSecond, t.rl.PerMinute} {
			if rate != nil {
				w.line("    http-request sc-inc-gpc" + strconv.Itoa(i) + "(0) if " + zone)
			}
		}
	}
}

// tables writes a stick table per zone, and the exempt prefix files.
func (ts *rateLimitTables) tables(w *lines, files map[string][]byte) {
	for _, t := range ts.zones {
		var store []string
		longest := time.Duration(0)
		for i, win := range t.windows {
			if win > 0 {
				store = append(store, "gpc"+strconv.Itoa(i)+"_rate("+strconv.FormatInt(win.Milliseconds(), 10)+"ms)")
				longest = max(longest, win)
			}
		}
		if t.rl.Concurrent > 0 {
			store = append(store, "conn_cur")
		}
		// An entry idle for two windows holds a rate of 0: forgetting it
		// then loses nothing. Entries that streams track never expire.
		expire := max(2*longest, 10*time.Second)
		w.line("")
		w.line("# rate limit zone " + quote(t.rl.Zone))
		w.line("backend " + t.table())
		w.line("    stick-table type ipv6 size " + rateLimitTableSize + " expire " + strconv.FormatInt(expire.Milliseconds(), 10) + "ms store " + strings.Join(store, ","))
		if len(t.rl.Exempt) > 0 {
			var b strings.Builder
			for _, p := range t.rl.Exempt {
				b.WriteString(p.String())
				b.WriteByte('\n')
			}
			files[t.exemptFile()] = []byte(b.String())
		}
	}
}
