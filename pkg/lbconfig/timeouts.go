package lbconfig

import (
	"fmt"
	"time"
)

// MaxRouteTimeout bounds RouteTimeouts' durations.
const MaxRouteTimeout = 24 * time.Hour

// RouteTimeouts bound the exchanges of a route, as Gateway API's
// HTTPRouteTimeouts do. A zero duration sets no bound of the route's
// (Gateway API's "0s", which turns a timeout off, translates to zero).
//
// A route with timeouts waits for its backend's response head, and
// through any silence of the response body, for as long as its timeout
// (the smaller of the two when both are set) instead of the backend's
// Policy.Timeouts.ResponseHeader and Idle; the connect timeout stays.
// When a bound passes before the response head was sent the client gets
// 504; after it, the connection is cut, as the response cannot be
// finished. Upgraded connections (websockets) are bound by neither once
// the backend switched protocols. How each provider measures them is in
// docs/providers.md: the builtin ends the exchange at the deadline,
// HAProxy, which has only inactivity timeouts on the server side, when
// the backend is silent that long.
type RouteTimeouts struct {
	// Request bounds the whole exchange: from the moment the proxy has
	// the request head to the end of the response, every attempt
	// included.
	Request Duration `json:"request,omitzero"`
	// BackendRequest bounds one attempt to send the request to a
	// backend endpoint and get its whole response; it is at most
	// Request when both are set.
	BackendRequest Duration `json:"backendRequest,omitzero"`
}

// Bound is the timeout the route's exchanges wait for the backend: the
// smaller of the durations that are set, or zero for none.
func (t *RouteTimeouts) Bound() time.Duration {
	if t == nil {
		return 0
	}
	r, b := t.Request.Std(), t.BackendRequest.Std()
	switch {
	case r == 0:
		return b
	case b == 0:
		return r
	}
	return min(r, b)
}

// timeouts checks a route's timeouts.
func (v *validator) timeouts(f string, t *RouteTimeouts) {
	if t.Request == 0 && t.BackendRequest == 0 {
		v.add(f, "must set request or backendRequest; leave it out for no timeouts of the route")
	}
	for name, d := range map[string]Duration{"request": t.Request, "backendRequest": t.BackendRequest} {
		if d < 0 || d.Std() > MaxRouteTimeout || (d > 0 && d.Std() < time.Millisecond) {
			v.add(f+"."+name, fmt.Sprintf("%s is not within 1ms and %s (or 0 for none)", d.Std(), MaxRouteTimeout))
		}
	}
	if t.Request > 0 && t.BackendRequest > t.Request {
		v.add(f+".backendRequest", fmt.Sprintf("%s is longer than the request timeout %s, which includes it", t.BackendRequest.Std(), t.Request.Std()))
	}
}
