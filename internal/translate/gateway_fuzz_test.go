package translate

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"ingress-controller/pkg/lbconfig"
)

// FuzzGateways translates snapshots with a fuzzed Gateway and HTTPRoute
// of our class, beside the objects of the gateway golden cases, with
// fuzzed strings put where users write hostnames, paths, header names and
// values and redirect targets. Translation must never panic, must yield a
// valid sorted config, must be deterministic, must leave its input alone,
// and its status must be computable.
func FuzzGateways(f *testing.F) {
	for _, c := range []string{"gateway-http", "gateway-https"} {
		data, err := os.ReadFile(filepath.Join("testdata", c, "input.yaml"))
		if err != nil {
			f.Fatal(err)
		}
		for _, doc := range documentSeparator.Split(string(data), -1) {
			f.Add([]byte(doc), []byte(doc), "shop.example.com", "/a", "X-Canary", "yes", "other.example.com", "*.example.com")
		}
	}
	f.Add([]byte("spec: {listeners: [{name: a, protocol: HTTP, port: 80, hostname: \"A..B\"}]}"),
		[]byte("spec: {rules: [{matches: [{path: {type: RegularExpression, value: \"(a+)+\"}}]}]}"),
		"", "\x00", "bad name", "v\r\nX-Injected: 1", "evil.example.com/x", "*")
	f.Add([]byte("spec: {addresses: [{value: \"::ffff:1.2.3.4\"}], listeners: [{name: a, protocol: HTTPS, port: 0}]}"),
		[]byte("spec: {rules: [{filters: [{type: RequestRedirect, requestRedirect: {port: 99999, statusCode: 200}}]}]}"),
		"*.*", "//x", "Host", "", "", "")
	base := fuzzBase(f)
	f.Fuzz(func(t *testing.T, gatewayYAML, routeYAML []byte, hostname, path, headerName, headerValue, redirectHost, listenerHost string) {
		snap, gw := fuzzedGateway(base, gatewayYAML)
		gw.Spec.Listeners = append(gw.Spec.Listeners,
			gatewayv1.Listener{Name: "fuzz", Protocol: gatewayv1.HTTPProtocolType, Port: 80, Hostname: ptrTo(gatewayv1.Hostname(listenerHost))})
		r := &gatewayv1.HTTPRoute{}
		_ = yaml.Unmarshal(routeYAML, r)
		r.ObjectMeta = metav1.ObjectMeta{Name: "fuzz", Namespace: "shop"}
		r.Spec.ParentRefs = append(r.Spec.ParentRefs, gatewayv1.ParentReference{Name: "fuzz"}, gatewayv1.ParentReference{Name: "web"})
		r.Spec.Hostnames = append(r.Spec.Hostnames, gatewayv1.Hostname(hostname))
		r.Spec.Rules = append(r.Spec.Rules, gatewayv1.HTTPRouteRule{
			Matches: []gatewayv1.HTTPRouteMatch{{
				Path:    &gatewayv1.HTTPPathMatch{Type: ptrTo(gatewayv1.PathMatchPathPrefix), Value: ptrTo(path)},
				Headers: []gatewayv1.HTTPHeaderMatch{{Name: gatewayv1.HTTPHeaderName(headerName), Value: headerValue}},
			}},
			Filters: []gatewayv1.HTTPRouteFilter{
				{Type: gatewayv1.HTTPRouteFilterRequestHeaderModifier, RequestHeaderModifier: &gatewayv1.HTTPHeaderFilter{Set: []gatewayv1.HTTPHeader{{Name: gatewayv1.HTTPHeaderName(headerName), Value: headerValue}}}},
				{Type: gatewayv1.HTTPRouteFilterRequestRedirect, RequestRedirect: &gatewayv1.HTTPRequestRedirectFilter{Hostname: ptrTo(gatewayv1.PreciseHostname(redirectHost))}},
			},
		})
		_ = snap.Add(gw)
		_ = snap.Add(r)
		st := translateFuzzed(t, snap, "127.0.1.0/30")
		if _, ok := st.Gateways["shop/fuzz"]; !ok {
			t.Error("no status for the fuzzed Gateway")
		}
	})
}

// translateTwice translates snap, checks the result, and checks that a
// second translation gives the same.
func translateTwice(t *testing.T, snap *Snapshot, opts Options) *lbconfig.Config {
	t.Helper()
	cfg, problems := Ingresses(snap, opts)
	checkResult(t, cfg, problems)
	first := mustJSON(t, []any{cfg, problems})
	cfg, problems = Ingresses(snap, opts)
	if again := mustJSON(t, []any{cfg, problems}); !bytes.Equal(first, again) {
		t.Fatalf("two translations differ:\n%s\n%s", first, again)
	}
	return cfg
}

// fuzzedGateway is a copy of base and Gateway shop/fuzz of class "ours"
// read from gatewayYAML, not yet added to it.
func fuzzedGateway(base *Snapshot, gatewayYAML []byte) (*Snapshot, *gatewayv1.Gateway) {
	snap := &Snapshot{}
	for _, o := range base.Objects() {
		_ = snap.Add(o)
	}
	gw := &gatewayv1.Gateway{}
	_ = yaml.Unmarshal(gatewayYAML, gw)
	gw.ObjectMeta = metav1.ObjectMeta{Name: "fuzz", Namespace: "shop"}
	gw.Spec.GatewayClassName = "ours"
	return snap, gw
}

// translateFuzzed translates snap with the Gateway address pool pool as
// translateTwice does, checks that the snapshot is left alone, and
// returns the Gateway API status.
func translateFuzzed(t *testing.T, snap *Snapshot, pool string) *GatewayAPIStatus {
	t.Helper()
	before := mustJSON(t, snap)
	opts := goldenOptions
	opts.GatewayAddressPool = netip.MustParsePrefix(pool)
	cfg := translateTwice(t, snap, opts)
	st := GatewayStatus(snap, opts, Applied{Config: cfg})
	if after := mustJSON(t, snap); !bytes.Equal(before, after) {
		t.Fatal("the translation modified its snapshot")
	}
	return st
}

// fuzzBase is the snapshot of the gateway-http golden case.
func fuzzBase(f *testing.F) *Snapshot { return fuzzBaseOf(f, "gateway-http") }

// fuzzBaseOf is the snapshot of golden case name.
func fuzzBaseOf(f *testing.F, name string) *Snapshot {
	data, err := os.ReadFile(filepath.Join("testdata", name, "input.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	snap := &Snapshot{}
	for _, doc := range documentSeparator.Split(string(data), -1) {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil || tm.Kind == "" {
			continue
		}
		obj := NewObject(tm.APIVersion, tm.Kind)
		if obj == nil {
			f.Fatalf("unknown kind %s", tm.Kind)
		}
		if err := yaml.Unmarshal([]byte(doc), obj); err != nil {
			f.Fatal(err)
		}
		if err := snap.Add(obj); err != nil {
			f.Fatal(err)
		}
	}
	return snap
}
