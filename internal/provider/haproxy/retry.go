package haproxy

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"ingress-controller/pkg/lbconfig"
)

// Route retries (lbconfig.Route.Retry). HAProxy keeps retries per
// backend, so a route with them goes to a variant of its backend made
// for its retries ("<id>_r<n>", one per distinct retry of that backend):
// the same servers (the runtime API updates every variant), with
// "retries", "retry-on" its codes and the failures of an exchange
// (refused, closed without an answer, a junk answer; the response
// timeout too where the route has no request timeout, which must end the
// request at once), "option redispatch 1" (each retry to another server
// where there is one) and "option http-buffer-request" (the body is
// waited for before the first attempt, so that it can go again). HAProxy
// retries a request only when it holds it whole in its buffer
// (tune.bufsize less the head): a larger body goes once. Not expressed,
// and refused by RenderConfig: a status HAProxy 2.6 cannot retry on
// (retryCodes), a backoff (HAProxy waits nothing between L7 retries), and
// retries on a route split over several backends.

// retryCodes are the statuses HAProxy 2.6's retry-on takes.
var retryCodes = []int32{401, 403, 404, 408, 425, 500, 501, 502, 503, 504}

// retryVariant is one distinct retry of a backend.
type retryVariant struct {
	id    string
	retry lbconfig.Retry
	// timeout: the response timeout ends an attempt, which goes again.
	timeout bool
}

// checkRetry returns an error for a retry HAProxy cannot serve.
func checkRetry(rt lbconfig.Route) error {
	t := rt.Retry
	if t == nil {
		return nil
	}
	for i, c := range t.Codes {
		if !slices.Contains(retryCodes, c) {
			return fmt.Errorf("retry.codes[%d]: HAProxy 2.6 retries only on statuses %s, not %d", i, joinCodes(retryCodes), c)
		}
	}
	if t.Backoff > 0 {
		return errors.New("retry.backoff: HAProxy 2.6 does not wait between retries; leave the backoff out")
	}
	if len(rt.Backends) > 0 {
		return errors.New("retry: the haproxy provider does not retry the requests of a route split over several backends")
	}
	if t.Attempts < 1 || t.Attempts > lbconfig.MaxRetryAttempts {
		return fmt.Errorf("retry.attempts: %d is not within 1 and %d", t.Attempts, lbconfig.MaxRetryAttempts)
	}
	return nil
}

// retryBackend returns the id of the variant of rt's backend for its
// retry, noting it for the backend's rendering.
func (r *renderer) retryBackend(rt lbconfig.Route) string {
	v := retryVariant{retry: *rt.Retry, timeout: rt.Timeouts == nil || rt.Timeouts.Request == 0}
	if r.retries == nil {
		r.retries = map[string][]retryVariant{}
	}
	vs := r.retries[rt.Backend.Name]
	for _, o := range vs {
		if o.timeout == v.timeout && o.retry.Attempts == v.retry.Attempts && slices.Equal(o.retry.Codes, v.retry.Codes) {
			return o.id
		}
	}
	v.id = r.ids[rt.Backend.Name] + "_r" + strconv.Itoa(len(vs))
	r.retries[rt.Backend.Name] = append(vs, v)
	return v.id
}

// lines are the retry lines of the variant, which replace the policy's.
func (v retryVariant) lines() []string {
	on := []string{"conn-failure", "empty-response", "junk-response"}
	if v.timeout {
		on = append(on, "response-timeout")
	}
	for _, c := range v.retry.Codes {
		on = append(on, strconv.Itoa(int(c)))
	}
	return []string{
		"retries " + strconv.Itoa(int(v.retry.Attempts)),
		"retry-on " + strings.Join(on, " "),
		"option redispatch 1",
		"option http-buffer-request",
	}
}

// withoutRetries is a backend's policy lines less its own retries.
func withoutRetries(policy []string) []string {
	return slices.DeleteFunc(slices.Clone(policy), func(l string) bool {
		return strings.HasPrefix(l, "retries ") || strings.HasPrefix(l, "retry-on ") || strings.HasPrefix(l, "http-request disable-l7-retry ")
	})
}

func joinCodes(cs []int32) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = strconv.Itoa(int(c))
	}
	return strings.Join(s, ", ")
}
