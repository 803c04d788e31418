package translate

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// FuzzGatewayRouteFeatures translates an HTTPRoute whose method, query
// match, prefix rewrite, mirror share and timeouts are fuzzed, beside the
// gateway-http golden case. Translation must never panic, must yield a
// valid sorted config and be deterministic, whatever the values.
func FuzzGatewayRouteFeatures(f *testing.F) {
	f.Add("POST", "version", "v2", false, "/new", int32(25), int32(-1), int32(0), "10s", "1s")
	f.Add("PURGE", "a&b", "b\r\nX-Injected: 1", true, "/$1", int32(101), int32(3), int32(2), "1.5s", "-1s")
	f.Add("get", "", "(a+)+", true, "", int32(-1), int32(1), int32(1<<31-1), "99999h99999h99999h99999h", "100000s")
	f.Add("", "%61", "%zz", false, "/x?y#z", int32(0), int32(0), int32(0), "0s", "1s1s")
	base := fuzzBase(f)
	f.Fuzz(func(t *testing.T, method, queryName, queryValue string, regex bool, prefix string, percent, num, den int32, request, backend string) {
		snap := &Snapshot{}
		for _, o := range base.Objects() {
			_ = snap.Add(o)
		}
		qtype := gatewayv1.QueryParamMatchExact
		if regex {
			qtype = gatewayv1.QueryParamMatchRegularExpression
		}
		mirror := &gatewayv1.HTTPRequestMirrorFilter{BackendRef: gatewayv1.BackendObjectReference{Name: "web-next", Port: ptrTo(gatewayv1.PortNumber(8080))}}
		switch {
		case percent >= 0:
			mirror.Percent = ptrTo(percent)
		case num >= 0:
			mirror.Fraction = &gatewayv1.Fraction{Numerator: num, Denominator: ptrTo(den)}
		}
		r := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: "fuzz", Namespace: "shop"}}
		r.Spec.ParentRefs = []gatewayv1.ParentReference{{Name: "web"}}
		r.Spec.Hostnames = []gatewayv1.Hostname{"fuzz.example.com"}
		r.Spec.Rules = []gatewayv1.HTTPRouteRule{{
			Matches: []gatewayv1.HTTPRouteMatch{
				{Path: &gatewayv1.HTTPPathMatch{Type: ptrTo(gatewayv1.PathMatchPathPrefix), Value: ptrTo("/p")}, Method: ptrTo(gatewayv1.HTTPMethod(method))},
				{Path: &gatewayv1.HTTPPathMatch{Type: ptrTo(gatewayv1.PathMatchPathPrefix), Value: ptrTo("/q")}, QueryParams: []gatewayv1.HTTPQueryParamMatch{{Type: &qtype, Name: gatewayv1.HTTPHeaderName(queryName), Value: queryValue}}},
			},
			Filters: []gatewayv1.HTTPRouteFilter{
				{Type: gatewayv1.HTTPRouteFilterURLRewrite, URLRewrite: &gatewayv1.HTTPURLRewriteFilter{Path: &gatewayv1.HTTPPathModifier{Type: gatewayv1.PrefixMatchHTTPPathModifier, ReplacePrefixMatch: ptrTo(prefix)}}},
				{Type: gatewayv1.HTTPRouteFilterRequestMirror, RequestMirror: mirror},
			},
			BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{Name: "web", Port: ptrTo(gatewayv1.PortNumber(80))}}}},
			Timeouts:    &gatewayv1.HTTPRouteTimeouts{Request: ptrTo(gatewayv1.Duration(request)), BackendRequest: ptrTo(gatewayv1.Duration(backend))},
		}}
		_ = snap.Add(r)
		if st := translateFuzzed(t, snap, "127.0.1.0/30"); len(st.Routes["shop/fuzz"]) == 0 {
			t.Error("no status for the fuzzed HTTPRoute")
		}
	})
}
