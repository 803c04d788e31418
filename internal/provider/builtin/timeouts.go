package builtin

import (
	"context"
	"errors"
	"net/http"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// Route timeouts (lbconfig.Route.Timeouts). A route with them is served
// on net/http's path. Each attempt runs under a context whose deadline
// is the sooner of the request's (from the moment the request head was
// read) and the attempt's own; when it passes the exchange is aborted,
// as when the client goes away, but the cause tells them apart: before
// the response head the client gets 504, after it the connection is cut.
// The wait for the response head and the silences of its body are bound
// by the route's timeout instead of the backend's, through a copy of the
// backend's policy made per request.

// errRouteTimeout is the cause of an exchange its route's timeouts ended.
var errRouteTimeout = errors.New("the route's timeout passed before the response was complete")

// routeTimeouts is a compiled lbconfig.RouteTimeouts.
type routeTimeouts struct {
	request, attempt, bound time.Duration
}

func compileTimeouts(t *lbconfig.RouteTimeouts) *routeTimeouts {
	if t == nil {
		return nil
	}
	return &routeTimeouts{request: t.Request.Std(), attempt: t.BackendRequest.Std(), bound: t.Bound()}
}

// exchangeTimeouts are the route timeouts of one request to backend.
type exchangeTimeouts struct {
	// deadline is the request's, zero for none; attempt bounds each
	// attempt, zero for none.
	deadline time.Time
	attempt  time.Duration
	// pol is the backend's policy with the route's timeout as its
	// response and idle timeouts.
	pol *policy
}

// forRequest returns the timeouts of a request to b that started at
// start, or nil when the route has none.
func (t *routeTimeouts) forRequest(b *backend, start time.Time) *exchangeTimeouts {
	if t == nil {
		return nil
	}
	pol := *b.policy
	pol.responseHeader, pol.idle = t.bound, t.bound
	x := &exchangeTimeouts{attempt: t.attempt, pol: &pol}
	if t.request > 0 {
		x.deadline = start.Add(t.request)
	}
	return x
}

// bound returns r under the deadline of an attempt starting now, and
// the function that releases it; without timeouts, r as it is.
func (t *exchangeTimeouts) bound(r *http.Request) (*http.Request, context.CancelFunc) {
	if t == nil {
		return r, func() {}
	}
	deadline := t.deadline
	if t.attempt > 0 {
		if d := time.Now().Add(t.attempt); deadline.IsZero() || d.Before(deadline) {
			deadline = d
		}
	}
	ctx, cancel := context.WithDeadlineCause(r.Context(), deadline, errRouteTimeout)
	return r.WithContext(ctx), cancel
}

// policyFor is the policy of an exchange with b: the route's copy when
// it has timeouts.
func (c choice) policyFor(b *backend) *policy {
	if c.timeouts != nil {
		return c.timeouts.pol
	}
	return b.policy
}

// timedOut reports whether r's exchange was ended by its route's
// timeouts (and not by its client): its context ended with that cause,
// or its deadline, the route's, has passed with the context not ended
// yet (a dial or read bound by the deadline can fail first).
func timedOut(r *http.Request) bool {
	ctx := r.Context()
	if context.Cause(ctx) == errRouteTimeout {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && ctx.Err() == nil && !time.Now().Before(d)
}

// routeTimedOut answers a request whose route's timeout passed.
func routeTimedOut(w http.ResponseWriter) int {
	http.Error(w, "504 gateway timeout: the route's timeout passed", http.StatusGatewayTimeout)
	return http.StatusGatewayTimeout
}
