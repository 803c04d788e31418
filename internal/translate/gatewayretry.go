package translate

import (
	"fmt"
	"slices"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/pkg/lbconfig"
)

// defaultRetryAttempts is how many times a rule with a retry stanza
// that names no attempts sends a request again: the spec leaves it to
// the implementation, and one retry doubles a failing backend's load at
// most.
const defaultRetryAttempts = 1

// readRetry sets route's Retry from a rule's; false leaves the rule out,
// for values the API does not allow (a stanza the CRD should have
// refused). More attempts or a longer backoff than lbconfig keeps are
// served as its bounds with a problem. A rule that redirects sends no
// request, so it has no retries.
func (g *gatewayAPI) readRetry(r *routeState, f string, rt *gatewayv1.HTTPRouteRetry, route *lbconfig.Route) bool {
	if rt == nil || route.Redirect != nil {
		return true
	}
	out := lbconfig.Retry{Attempts: defaultRetryAttempts}
	if rt.Attempts != nil {
		switch n := *rt.Attempts; {
		case n < 1:
			g.leaveOut(r, f+".attempts", string(gatewayv1.RouteReasonUnsupportedValue), fmt.Sprintf("%d is not a number of attempts (at least 1); the rule is not served", n))
			return false
		case n > lbconfig.MaxRetryAttempts:
			g.t.problems.add(r.ref, f+".attempts", string(gatewayv1.RouteReasonUnsupportedValue), "%d is more than the %d attempts served; the rule is served with %d", n, lbconfig.MaxRetryAttempts, lbconfig.MaxRetryAttempts)
			out.Attempts = lbconfig.MaxRetryAttempts
		default:
			out.Attempts = int32(n)
		}
	}
	for i, c := range rt.Codes {
		if c < 400 || c > 599 {
			g.leaveOut(r, fmt.Sprintf("%s.codes[%d]", f, i), string(gatewayv1.RouteReasonUnsupportedValue), fmt.Sprintf("%d is not a status code from 400 to 599; the rule is not served", c))
			return false
		}
		out.Codes = append(out.Codes, int32(c))
	}
	slices.Sort(out.Codes)
	out.Codes = slices.Compact(out.Codes)
	if rt.Backoff != nil {
		d, err := parseGatewayDuration(string(*rt.Backoff))
		if err != nil {
			g.leaveOut(r, f+".backoff", string(gatewayv1.RouteReasonUnsupportedValue), err.Error()+"; the rule is not served")
			return false
		}
		if d > lbconfig.MaxRetryBackoff {
			g.t.problems.add(r.ref, f+".backoff", string(gatewayv1.RouteReasonUnsupportedValue), "%s is longer than the longest backoff; the rule is served with %s", d, lbconfig.MaxRetryBackoff)
			d = lbconfig.MaxRetryBackoff
		}
		out.Backoff = lbconfig.Duration(d)
	}
	route.Retry = &out
	if why := g.t.opts.TimeoutRetriesUnserved; why != "" && route.Timeouts != nil && route.Timeouts.Bound() < route.Timeouts.Request.Std() {
		g.t.problems.add(r.ref, f, string(gatewayv1.RouteReasonUnsupportedValue), "%s: an attempt that passes timeouts.backendRequest is not sent again", why)
	}
	return true
}
