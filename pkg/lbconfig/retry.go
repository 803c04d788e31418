package lbconfig

import (
	"fmt"
	"slices"
	"time"
)

// Retries of a route, Gateway API's HTTPRouteRetry: a request whose
// attempt failed is sent again, to another endpoint where the backend
// has one, when it is safe. An attempt failed when the backend answered
// with one of Codes, or when the exchange failed before a response came
// (refused or reset connection, the backend's or the route's
// backendRequest timeout). A provider retries only a request it can send
// again whole: its body buffered up to a bound (docs/providers.md says
// which), never once a byte of the response reached the client, never an
// upgraded connection. The route's request timeout bounds all attempts
// together; its backendRequest timeout each.

// Bounds of Retry.
const (
	MaxRetryAttempts = 10
	MaxRetryBackoff  = time.Minute
	MaxRetryCodes    = 200
	minRetryCode     = 400
	maxRetryCode     = 599
)

// Retry says how a route's failed attempts go again.
type Retry struct {
	// Attempts is how many times a request is sent again after its first
	// attempt failed: 1 to MaxRetryAttempts.
	Attempts int32 `json:"attempts"`
	// Codes are the response statuses that fail an attempt, 400 to 599,
	// sorted without duplicates; empty retries only failed exchanges.
	Codes []int32 `json:"codes,omitempty"`
	// Backoff is the least wait before each retry, 0 to
	// MaxRetryBackoff.
	Backoff Duration `json:"backoff,omitzero"`
}

// Retries reports whether an answer with status fails an attempt.
func (r *Retry) Retries(status int) bool {
	_, ok := slices.BinarySearch(r.Codes, int32(status))
	return ok
}

// retry checks a route's retries.
func (v *validator) retry(f string, r Route) {
	rt := r.Retry
	if rt == nil {
		return
	}
	f += ".retry"
	if r.HTTPSRedirect != nil || r.Redirect != nil {
		v.add(f, "a route that redirects sends no request to retry")
	}
	if rt.Attempts < 1 || rt.Attempts > MaxRetryAttempts {
		v.add(f+".attempts", fmt.Sprintf("%d is not within 1 and %d", rt.Attempts, MaxRetryAttempts))
	}
	if len(rt.Codes) > MaxRetryCodes {
		v.add(f+".codes", fmt.Sprintf("more than %d codes", MaxRetryCodes))
	}
	for i, c := range rt.Codes {
		cf := fmt.Sprintf("%s.codes[%d]", f, i)
		switch {
		case c < minRetryCode || c > maxRetryCode:
			v.add(cf, fmt.Sprintf("%d is not within %d and %d", c, minRetryCode, maxRetryCode))
		case i > 0 && rt.Codes[i-1] >= c:
			v.add(cf, fmt.Sprintf("%d must come after %d, once (sorted without duplicates)", c, rt.Codes[i-1]))
		}
	}
	if rt.Backoff < 0 || rt.Backoff.Std() > MaxRetryBackoff {
		v.add(f+".backoff", fmt.Sprintf("%s is not within 0 and %s", rt.Backoff.Std(), MaxRetryBackoff))
	}
}

// sortRetry orders a route's retry codes.
func (r *Route) sortRetry() {
	if r.Retry != nil {
		slices.Sort(r.Retry.Codes)
		r.Retry.Codes = slices.Compact(r.Retry.Codes)
	}
}
