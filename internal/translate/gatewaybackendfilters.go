package translate

import (
	"fmt"
	"reflect"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/internal/clip"
	"ingress-controller/pkg/lbconfig"
)

// Filters on a backendRef apply only to the requests sent to it. A
// RequestHeaderModifier becomes the request changes of that weighted
// backend (lbconfig.WeightedBackend.RequestHeaders), made after the
// rule's own. Other filter types are not served there: the spec says a
// filter must not be skipped, so the backendRef's share of the requests
// is answered with the route's 500 and the route is PartiallyInvalid.
// Two backendRefs to one backend with different changes cannot be told
// apart once picked: that rule is left out.

// backendShares collects the shares of a rule's backendRefs: the weight
// of each backend and its request changes.
type backendShares struct {
	weights map[string]int64
	changes map[string]*lbconfig.HeaderModifier
	// plain holds the backends some backendRef sends to without changes.
	plain map[string]bool
}

func newBackendShares() *backendShares {
	return &backendShares{weights: map[string]int64{}, changes: map[string]*lbconfig.HeaderModifier{}, plain: map[string]bool{}}
}

// readBackendFilters returns the request changes of a backendRef's
// filters at field bf, nil for none; false when a filter is not served,
// which it records on r.
func (g *gatewayAPI) readBackendFilters(r *routeState, bf string, filters []gatewayv1.HTTPRouteFilter) (*lbconfig.HeaderModifier, bool) {
	var m *lbconfig.HeaderModifier
	for i, flt := range filters {
		ff := fmt.Sprintf("%s.filters[%d]", bf, i)
		if flt.Type != gatewayv1.HTTPRouteFilterRequestHeaderModifier {
			g.leaveOut(r, ff, string(gatewayv1.RouteReasonUnsupportedValue),
				fmt.Sprintf("filter type %q is not supported on a backendRef; its share of the requests is answered with an error", clip.Value(string(flt.Type))))
			return nil, false
		}
		err := mergeHeaderFilter(&m, flt.RequestHeaderModifier, true)
		if err == nil {
			err = lbconfig.CheckBackendHeaders(m)
		}
		if err != nil {
			g.leaveOut(r, ff, string(gatewayv1.RouteReasonUnsupportedValue), err.Error()+"; the backendRef's share of the requests is answered with an error")
			return nil, false
		}
	}
	return m, true
}

// addChanges records that the backendRef to backend name changes
// requests with m (nil: none); false when another backendRef to that
// backend changes them otherwise.
func (s *backendShares) addChanges(name string, m *lbconfig.HeaderModifier) bool {
	if m == nil {
		s.plain[name] = true
		return s.changes[name] == nil
	}
	if old := s.changes[name]; old != nil || s.plain[name] {
		return old != nil && reflect.DeepEqual(old, m)
	}
	s.changes[name] = m
	return true
}

// withChanges puts the request changes of s on the weighted backends of
// route, making a single backend a weighted one of its own when it has
// changes.
func (s *backendShares) withChanges(route *lbconfig.Route) {
	if len(s.changes) == 0 {
		return
	}
	if len(route.Backends) == 0 {
		if s.changes[route.Backend.Name] == nil {
			return
		}
		route.Backends = []lbconfig.WeightedBackend{{Name: route.Backend.Name, Weight: 1}}
	}
	for i := range route.Backends {
		route.Backends[i].RequestHeaders = s.changes[route.Backends[i].Name]
	}
}
