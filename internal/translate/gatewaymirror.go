package translate

import (
	"fmt"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/pkg/lbconfig"
)

// Request mirrors: a RequestMirror filter becomes an lbconfig.Mirror of
// its Service. A backendRef that cannot be resolved is dropped, as the
// spec says, with ResolvedRefs False: the rule is served without that
// copy, as a mirror never changes what the client gets. A provider that
// does not mirror (Options.MirrorsUnserved) gets no mirror: the
// GatewayClass does not declare the mirror features, and a RequestMirror
// filter is dropped with UnsupportedValue (PartiallyInvalid on the route,
// a Warning event), the spec's answer to an extended filter not served,
// its rule served without the copies (docs/gateway-api.md).

// gatewayPercent is the denominator of a mirror's percent.
const gatewayPercent = 100

// gatewayMirrorFeatures are the features of request mirrors.
var gatewayMirrorFeatures = []gatewayv1.FeatureName{
	"HTTPRouteRequestMirror",
	"HTTPRouteRequestMultipleMirrors",
	"HTTPRouteRequestPercentageMirror",
}

// mirrorUnserved reports whether the provider does not mirror, and then
// records that filter f of r is dropped.
func (g *gatewayAPI) mirrorUnserved(r *routeState, f string) bool {
	why := g.t.opts.MirrorsUnserved
	if why == "" {
		return false
	}
	g.leaveOut(r, f, string(gatewayv1.RouteReasonUnsupportedValue), "request mirrors are not served ("+why+"); the rule is served without this filter")
	return true
}

// readMirror adds the mirror of filter m to route; an error leaves the
// rule out.
func (g *gatewayAPI) readMirror(r *routeState, f string, m *gatewayv1.HTTPRequestMirrorFilter, route *lbconfig.Route) error {
	if m == nil {
		return fmt.Errorf("the filter has no settings")
	}
	mirror, err := mirrorShare(m)
	if err != nil {
		return err
	}
	if len(route.Mirrors) == lbconfig.MaxMirrors {
		return fmt.Errorf("more than %d mirrors", lbconfig.MaxMirrors)
	}
	name, reason, msg := g.resolveRef(&r.routeCommon, m.BackendRef)
	if reason != "" {
		g.unresolvedRef(&r.routeCommon, f+".backendRef", reason, msg, "the mirror is dropped")
		return nil
	}
	if strings.HasSuffix(name, InvalidBackendSuffix) {
		// An answer takes no copies: the Service's BackendTLSPolicy is
		// not valid (gatewaybackendtls.go), and says why.
		g.t.problems.add(r.ref, f+".backendRef", "InvalidBackendTLSPolicy", "the BackendTLSPolicy of the Service is not valid; the mirror is dropped")
		return nil
	}
	mirror.Name = name
	route.Mirrors = append(route.Mirrors, mirror)
	return nil
}

// mirrorShare is the share of the requests m copies: percent out of 100,
// or the fraction, or every request (Denominator 0) when neither is set
// or the share is whole.
func mirrorShare(m *gatewayv1.HTTPRequestMirrorFilter) (lbconfig.Mirror, error) {
	num, den := int64(1), int64(1)
	switch {
	case m.Percent != nil && m.Fraction != nil:
		return lbconfig.Mirror{}, fmt.Errorf("only one of percent or fraction may be set")
	case m.Percent != nil:
		num, den = int64(*m.Percent), gatewayPercent
	case m.Fraction != nil:
		num, den = int64(m.Fraction.Numerator), gatewayPercent
		if m.Fraction.Denominator != nil {
			den = int64(*m.Fraction.Denominator)
		}
	}
	switch {
	case den < 1:
		return lbconfig.Mirror{}, fmt.Errorf("denominator %d is less than 1", den)
	case num < 0 || num > den:
		return lbconfig.Mirror{}, fmt.Errorf("%d out of %d is not a share of the requests", num, den)
	case num == den:
		return lbconfig.Mirror{}, nil
	}
	if d := gcd(num, den); den > lbconfig.MaxWeight && d > 1 {
		num, den = num/d, den/d
	}
	if den > lbconfig.MaxWeight {
		return lbconfig.Mirror{}, fmt.Errorf("denominator %d is more than %d", den, lbconfig.MaxWeight)
	}
	return lbconfig.Mirror{Numerator: int32(num), Denominator: int32(den)}, nil
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// dropMirrorsOfRedirect drops the mirrors of a rule that redirects, which
// sends no request to copy.
func (g *gatewayAPI) dropMirrorsOfRedirect(r *routeState, f string, route *lbconfig.Route) {
	if len(route.Mirrors) == 0 || route.Redirect == nil {
		return
	}
	g.t.problems.add(r.ref, f+".filters", string(gatewayv1.RouteReasonIncompatibleFilters), "a rule that redirects sends no request to mirror; its mirrors are dropped")
	route.Mirrors = nil
}
