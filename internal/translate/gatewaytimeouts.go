package translate

import (
	"fmt"
	"time"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/internal/clip"
	"ingress-controller/pkg/lbconfig"
)

// maxGatewayDurationParts and maxGatewayDurationDigits are GEP-2257's
// limits: one to four parts, each one to five digits and a unit.
const (
	maxGatewayDurationParts  = 4
	maxGatewayDurationDigits = 5
)

// parseGatewayDuration reads a GEP-2257 duration: the strings
// ^([0-9]{1,5}(h|m|s|ms)){1,4}$ matches, read as time.ParseDuration
// reads them (parts add up, a unit may repeat).
func parseGatewayDuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("%q is not a Gateway API duration (one to four parts of up to five digits and h, m, s or ms, as 1h30m or 500ms)", clip.Value(s))
	var total time.Duration
	parts := 0
	for rest := s; rest != "" || parts == 0; parts++ {
		if parts == maxGatewayDurationParts {
			return 0, bad
		}
		digits := 0
		for digits < len(rest) && rest[digits] >= '0' && rest[digits] <= '9' {
			digits++
		}
		if digits == 0 || digits > maxGatewayDurationDigits {
			return 0, bad
		}
		var n time.Duration
		for _, c := range rest[:digits] {
			n = n*10 + time.Duration(c-'0')
		}
		rest = rest[digits:]
		unit, size := time.Duration(0), 0
		switch {
		case len(rest) >= 2 && rest[:2] == "ms":
			unit, size = time.Millisecond, 2
		case len(rest) >= 1 && rest[0] == 'h':
			unit, size = time.Hour, 1
		case len(rest) >= 1 && rest[0] == 'm':
			unit, size = time.Minute, 1
		case len(rest) >= 1 && rest[0] == 's':
			unit, size = time.Second, 1
		default:
			return 0, bad
		}
		total += n * unit
		rest = rest[size:]
		if rest == "" {
			return total, nil
		}
	}
	return 0, bad
}

// readTimeouts sets route's Timeouts from a rule's; false leaves the
// rule out, as a request could then wait longer than asked. A duration
// beyond lbconfig.MaxRouteTimeout is served as that with a problem, as
// the spec has a timeout that cannot be disabled take its longest value.
func (g *gatewayAPI) readTimeouts(r *routeState, f string, t *gatewayv1.HTTPRouteTimeouts, route *lbconfig.Route) bool {
	if t == nil {
		return true
	}
	var rt lbconfig.RouteTimeouts
	read := func(name string, d *gatewayv1.Duration, out *lbconfig.Duration) bool {
		if d == nil {
			return true
		}
		v, err := parseGatewayDuration(string(*d))
		if err != nil {
			g.leaveOut(r, f+"."+name, string(gatewayv1.RouteReasonUnsupportedValue), err.Error()+"; the rule is not served")
			return false
		}
		if v > lbconfig.MaxRouteTimeout {
			g.t.problems.add(r.ref, f+"."+name, string(gatewayv1.RouteReasonUnsupportedValue), "%s is longer than the longest route timeout; the rule is served with %s", v, lbconfig.MaxRouteTimeout)
			v = lbconfig.MaxRouteTimeout
		}
		*out = lbconfig.Duration(v)
		return true
	}
	if !read("request", t.Request, &rt.Request) || !read("backendRequest", t.BackendRequest, &rt.BackendRequest) {
		return false
	}
	if rt.Request > 0 && rt.BackendRequest > rt.Request {
		g.leaveOut(r, f+".backendRequest", string(gatewayv1.RouteReasonUnsupportedValue), fmt.Sprintf("backendRequest timeout %s is longer than the request timeout %s, which includes it; the rule is not served", rt.BackendRequest.Std(), rt.Request.Std()))
		return false
	}
	if rt.Request != 0 || rt.BackendRequest != 0 {
		route.Timeouts = &rt
	}
	return true
}
