package kubernetes

import (
	"log/slog"
	"time"
)

// retries is the backoff of a leader's failed syncs (Ingress status,
// Gateway API status, DNS): the wait before the next attempt doubles from
// first up to limit with each failure in a row, and starts again from
// first after a success.
type retries struct {
	first, limit, next time.Duration
	log                *slog.Logger
	// what failed, as the log says it: "writing Ingress status".
	what string
}

func newRetries(first, limit time.Duration, log *slog.Logger, what string) *retries {
	return &retries{first: first, limit: limit, next: first, log: log, what: what}
}

// after returns when to sync again after a sync that ended with err: nil
// (only when woken) after a success; else after the wait, logged.
func (r *retries) after(err error) <-chan time.Time {
	if err == nil {
		r.next = r.first
		return nil
	}
	r.log.Warn(r.what+" failed; retrying", "error", err, "retry_in", r.next)
	wait := r.next
	r.next = min(r.next*2, r.limit)
	return time.After(wait)
}
