package haproxy

import (
	"fmt"
	"strconv"

	"ingress-controller/pkg/lbconfig"
)

// Route timeouts (lbconfig.Route.Timeouts). A route with them carries
// the id of its timeout in its map value after "=", which no backend,
// redirect or other rule id holds, last, so it is taken off first, right
// after the groups' rules, and turned into the route's timeout (the
// smaller of the two) in milliseconds, in txn.timeout_ms. Every backend
// of such a route (set-timeout works in backends only) gives the stream
// that timeout in place of its "timeout server" when the variable is
// set. That is an inactivity timeout: it
// bounds the wait for the response head and every silence of the body,
// not the whole exchange, as HAProxy 2.6 has no total timeout on the
// server side; a body that keeps coming, however slowly, is not cut.
// docs/providers.md says so.

// timeoutMarker separates a route's timeout id in its map value.
const timeoutMarker = "="

// timeoutRules numbers the distinct timeouts of one listener.
type timeoutRules struct {
	ids   map[string]string
	rules []string
}

// add returns value with the id of rt's timeout, or value as it is for
// a route without timeouts.
func (tr *timeoutRules) add(rt lbconfig.Route, value string) (string, error) {
	t := rt.Timeouts
	if t == nil {
		return value, nil
	}
	d := t.Bound()
	if d <= 0 || d > lbconfig.MaxRouteTimeout || t.Request < 0 || t.BackendRequest < 0 {
		return "", fmt.Errorf("timeouts: %v is not a timeout HAProxy keeps", d)
	}
	ms := strconv.FormatInt(max(d.Milliseconds(), 1), 10)
	if tr.ids == nil {
		tr.ids = map[string]string{}
	}
	id, ok := tr.ids[ms]
	if !ok {
		id = "t" + strconv.Itoa(len(tr.ids))
		tr.ids[ms] = id
		tr.rules = append(tr.rules, "http-request set-var(txn.timeout_ms) int("+ms+") if { var(txn.timeout) -m str "+id+" }")
	}
	return value + timeoutMarker + id, nil
}

// routeTimeoutRule is the rule of a backend of a route with timeouts.
const routeTimeoutRule = "http-request set-timeout server var(txn.timeout_ms) if { var(txn.timeout_ms) -m found }"

// markTimed notes the backends of rt when it has timeouts: they get
// routeTimeoutRule.
func (r *renderer) markTimed(rt lbconfig.Route) {
	if rt.Timeouts == nil {
		return
	}
	if r.timed == nil {
		r.timed = map[string]bool{}
	}
	r.timed[rt.Backend.Name] = true
	for _, b := range rt.Backends {
		r.timed[b.Name] = true
	}
}

// lines takes the timeout id off the value the routing left in
// txn.backend and sets txn.timeout_ms.
func (tr *timeoutRules) lines(w *lines) {
	if len(tr.rules) == 0 {
		return
	}
	w.line("    http-request set-var(txn.timeout) var(txn.backend),field(2," + timeoutMarker + ") if { var(txn.backend) -m sub " + timeoutMarker + " }")
	w.line("    http-request set-var(txn.backend) var(txn.backend),field(1," + timeoutMarker + ") if { var(txn.timeout) -m found }")
	for _, l := range tr.rules {
		w.line("    " + l)
	}
}
