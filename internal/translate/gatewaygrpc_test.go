package translate

import (
	"regexp"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/pkg/lbconfig"
)

// TestMethodPath: the path match of each form of method match, what
// they match, and the values refused (huge, CRLF, non-ASCII, slashes,
// patterns that do not parse or that would escape their group).
func TestMethodPath(t *testing.T) {
	exact, regex := gatewayv1.GRPCMethodMatchExact, gatewayv1.GRPCMethodMatchRegularExpression
	for _, tc := range []struct {
		name            string
		typ             *gatewayv1.GRPCMethodMatchType
		service, method string
		wantType        gatewayv1.PathMatchType
		wantValue       string
		matches, misses []string // for regular expressions
		wantErr         string
	}{
		{name: "service and method", service: "echo.v1.Echo", method: "Say", wantType: gatewayv1.PathMatchExact, wantValue: "/echo.v1.Echo/Say"},
		{name: "explicit Exact", typ: &exact, service: "_a.B_2", method: "m", wantType: gatewayv1.PathMatchExact, wantValue: "/_a.B_2/m"},
		{name: "service alone", service: "echo.v1.Echo", wantType: gatewayv1.PathMatchPathPrefix, wantValue: "/echo.v1.Echo"},
		{name: "method alone", method: "Say", wantType: gatewayv1.PathMatchRegularExpression, wantValue: "/[^/]+/Say$",
			matches: []string{"/a.B/Say"}, misses: []string{"/a/SayMore", "/a/b/Say", "//Say"}},
		{name: "regular expressions", typ: &regex, service: `echo\.v[0-9]+\.Echo`, method: "Say|Tell",
			wantType: gatewayv1.PathMatchRegularExpression, wantValue: `/(?:echo\.v[0-9]+\.Echo)/(?:Say|Tell)$`,
			matches: []string{"/echo.v1.Echo/Say", "/echo.v22.Echo/Tell"}, misses: []string{"/echo.v1.Echo/Sayx", "/echo.vx.Echo/Say", "/echo.v1.Echo/Tell/x"}},
		{name: "regular expression of the method alone", typ: &regex, method: "S.*", wantType: gatewayv1.PathMatchRegularExpression, wantValue: "/(?:[^/]+)/(?:S.*)$",
			matches: []string{"/x/Say"}, misses: []string{"/x/Tell"}},
		{name: "neither", wantErr: "needs a service or a method"},
		{name: "unknown type", typ: ptrTo(gatewayv1.GRPCMethodMatchType("Prefix")), service: "a", wantErr: "not supported"},
		{name: "slash in service", service: "a/b", method: "m", wantErr: "not a gRPC service name"},
		{name: "CRLF in method", service: "a", method: "m\r\nX-Injected: 1", wantErr: "not a gRPC method name"},
		{name: "non-ASCII service", service: "ѕervice", wantErr: "not a gRPC service name"},
		{name: "dot in method", service: "a", method: "m.n", wantErr: "not a gRPC method name"},
		{name: "longest service", service: strings.Repeat("a", 1024), wantType: gatewayv1.PathMatchPathPrefix, wantValue: "/" + strings.Repeat("a", 1024)},
		{name: "huge service", service: strings.Repeat("a", 1<<20), wantErr: "longer than 1024"},
		{name: "pattern escaping its group", typ: &regex, service: "a)|(.*", wantErr: "unexpected )"},
		{name: "pattern that does not parse", typ: &regex, method: "(", wantErr: "missing closing )"},
		{name: "pattern with a space", typ: &regex, method: "a b", wantErr: "space"},
		{name: "huge pattern", typ: &regex, method: strings.Repeat("a", 1<<20), wantErr: "longer than 1024"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &gatewayv1.GRPCMethodMatch{Type: tc.typ}
			if tc.service != "" {
				m.Service = &tc.service
			}
			if tc.method != "" {
				m.Method = &tc.method
			}
			p, err := methodPath(m)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, %v; want an error with %q", p, err, tc.wantErr)
				}
				if len(err.Error()) > 1000 {
					t.Errorf("an error of %d bytes", len(err.Error()))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantValue != "" && (*p.Type != tc.wantType || *p.Value != tc.wantValue) {
				t.Fatalf("got %s %q, want %s %q", *p.Type, *p.Value, tc.wantType, tc.wantValue)
			}
			if *p.Type == gatewayv1.PathMatchRegularExpression {
				re, err := lbconfig.CompileRegex(*p.Value)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range tc.matches {
					if !re.MatchString(s) {
						t.Errorf("%q does not match %s", s, re)
					}
				}
				for _, s := range tc.misses {
					if re.MatchString(s) {
						t.Errorf("%q matches %s", s, re)
					}
				}
			} else if err := lbconfig.CheckPath(*p.Value); err != nil {
				t.Errorf("path %q: %v", *p.Value, err)
			}
		})
	}
	p, err := methodPath(nil)
	if err != nil || *p.Type != gatewayv1.PathMatchRegularExpression || !regexp.MustCompile(*p.Value).MatchString("/any/Thing") {
		t.Errorf("no method match: %v, %v; want the pattern %q", p, err, "/")
	}
}

// FuzzGRPCRoute translates a GRPCRoute whose method match, header match
// and filter type are fuzzed, beside the gateway-http golden case.
// Translation must never panic, must yield a valid sorted config, be
// deterministic and give the route a status, whatever the values.
func FuzzGRPCRoute(f *testing.F) {
	f.Add(false, "echo.v1.Echo", "Say", "x-version", "two", "RequestHeaderModifier")
	f.Add(true, `a)|(.*`, "(a+)+", "bad name", "v\r\nX-Injected: 1", "RequestRedirect")
	f.Add(false, "", "", "", "", "")
	f.Add(true, "", "[^/]*", ":path", "\x00", "ExtensionRef")
	base := fuzzBase(f)
	f.Fuzz(func(t *testing.T, regex bool, service, method, header, value, filter string) {
		snap := &Snapshot{}
		for _, o := range base.Objects() {
			_ = snap.Add(o)
		}
		typ := gatewayv1.GRPCMethodMatchExact
		if regex {
			typ = gatewayv1.GRPCMethodMatchRegularExpression
		}
		r := &gatewayv1.GRPCRoute{ObjectMeta: metav1.ObjectMeta{Name: "fuzz", Namespace: "shop"}}
		r.Spec.ParentRefs = []gatewayv1.ParentReference{{Name: "web"}}
		r.Spec.Hostnames = []gatewayv1.Hostname{"grpc.example.com"}
		r.Spec.Rules = []gatewayv1.GRPCRouteRule{{
			Matches: []gatewayv1.GRPCRouteMatch{{
				Method:  &gatewayv1.GRPCMethodMatch{Type: &typ, Service: &service, Method: &method},
				Headers: []gatewayv1.GRPCHeaderMatch{{Name: gatewayv1.GRPCHeaderName(header), Value: value}},
			}},
			Filters: []gatewayv1.GRPCRouteFilter{{
				Type:                  gatewayv1.GRPCRouteFilterType(filter),
				RequestHeaderModifier: &gatewayv1.HTTPHeaderFilter{Set: []gatewayv1.HTTPHeader{{Name: gatewayv1.HTTPHeaderName(header), Value: value}}},
			}},
			BackendRefs: []gatewayv1.GRPCBackendRef{{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{Name: "web", Port: ptrTo(gatewayv1.PortNumber(80))}}}},
		}}
		_ = snap.Add(r)
		if st := translateFuzzed(t, snap, "127.0.1.0/30"); len(st.GRPCRoutes["shop/fuzz"]) == 0 {
			t.Error("no status for the fuzzed GRPCRoute")
		}
	})
}
