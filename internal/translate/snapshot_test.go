package translate

import (
	"reflect"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"ingress-controller/pkg/lbconfig"
)

func meta(ns, name string, annotations map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: annotations}
}

func ref(kind, ns, name string) lbconfig.ObjectRef {
	return lbconfig.ObjectRef{Kind: kind, Namespace: ns, Name: name}
}

// withoutSnapshot has one object of every kind and a TCP listener Service.
func withoutSnapshot() *Snapshot {
	tcp := map[string]string{AnnotationTCPListenPort: "5432", "other": "kept"}
	return &Snapshot{
		Ingresses:      []*networkingv1.Ingress{{ObjectMeta: meta("shop", "web", nil)}, nil, {ObjectMeta: meta("shop", "api", nil)}},
		IngressClasses: []*networkingv1.IngressClass{{ObjectMeta: meta("", "ours", nil)}},
		Services:       []*corev1.Service{{ObjectMeta: meta("shop", "db", tcp)}, nil, {ObjectMeta: meta("shop", "web", nil)}},
		EndpointSlices: []*discoveryv1.EndpointSlice{{ObjectMeta: meta("shop", "web-1", nil)}},
		Secrets:        []*corev1.Secret{{ObjectMeta: meta("shop", "cert", nil)}},
	}
}

// refsOf lists the references of snap's objects, with "+tcp" after a
// Service that has the TCP listener annotation.
func refsOf(snap *Snapshot) []string {
	var out []string
	for r, o := range snap.Objects() {
		s := r.String()
		if _, ok := o.GetAnnotations()[AnnotationTCPListenPort]; ok {
			s += "+tcp"
		}
		out = append(out, s)
	}
	return out
}

func TestWithout(t *testing.T) {
	all := refsOf(withoutSnapshot())
	tests := []struct {
		name string
		refs []lbconfig.ObjectRef
		want []string // refsOf the result; nil means all
	}{
		{name: "nothing"},
		{name: "unknown object", refs: []lbconfig.ObjectRef{ref("Ingress", "shop", "gone"), ref("Ingress", "other", "web")}},
		{name: "kinds that are never sources", refs: []lbconfig.ObjectRef{
			ref("IngressClass", "", "ours"), ref("EndpointSlice", "shop", "web-1"), ref("Secret", "shop", "cert"), ref("Gateway", "shop", "web"),
		}},
		{name: "an Ingress", refs: []lbconfig.ObjectRef{ref("Ingress", "shop", "web")}, want: []string{
			"Ingress shop/api", "IngressClass ours", "Service shop/db+tcp", "Service shop/web", "EndpointSlice shop/web-1", "Secret shop/cert",
		}},
		{name: "a Service keeps serving as a backend", refs: []lbconfig.ObjectRef{ref("Service", "shop", "db")}, want: []string{
			"Ingress shop/web", "Ingress shop/api", "IngressClass ours", "Service shop/db", "Service shop/web", "EndpointSlice shop/web-1", "Secret shop/cert",
		}},
		{name: "a Service without the annotation", refs: []lbconfig.ObjectRef{ref("Service", "shop", "web")}},
		{name: "the kind tells objects of one name apart", refs: []lbconfig.ObjectRef{ref("Service", "shop", "web"), ref("Ingress", "shop", "api")}, want: []string{
			"Ingress shop/web", "IngressClass ours", "Service shop/db+tcp", "Service shop/web", "EndpointSlice shop/web-1", "Secret shop/cert",
		}},
		{name: "all sources", refs: []lbconfig.ObjectRef{ref("Ingress", "shop", "web"), ref("Ingress", "shop", "api"), ref("Service", "shop", "db")}, want: []string{
			"IngressClass ours", "Service shop/db", "Service shop/web", "EndpointSlice shop/web-1", "Secret shop/cert",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			snap := withoutSnapshot()
			got := Without(snap, tc.refs)
			want := tc.want
			if want == nil {
				want = all
			}
			if g := refsOf(got); !slices.Equal(g, want) {
				t.Errorf("got %q\nwant %q", g, want)
			}
			// The input, shared with a source, is left alone.
			if g := refsOf(snap); !slices.Equal(g, all) {
				t.Errorf("input changed: %q", g)
			}
			if snap.Services[0].Annotations["other"] != "kept" {
				t.Error("input Service's annotations changed")
			}
			if !slices.Contains(got.Ingresses, nil) {
				t.Error("nil Ingress dropped")
			}
		})
	}
	if got := Without(nil, []lbconfig.ObjectRef{ref("Ingress", "shop", "web")}); got == nil || len(refsOf(got)) != 0 {
		t.Errorf("Without(nil) = %v, want an empty snapshot", got)
	}
}

func TestWithoutKeepsOtherAnnotations(t *testing.T) {
	got := Without(withoutSnapshot(), []lbconfig.ObjectRef{ref("Service", "shop", "db")})
	if a := got.Services[0].Annotations; a["other"] != "kept" || len(a) != 1 {
		t.Errorf("annotations %v, want only other=kept", a)
	}
}

func TestSnapshotAddAndObjects(t *testing.T) {
	src := withoutSnapshot()
	got := &Snapshot{}
	for _, o := range src.Objects() {
		if err := got.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	if g, w := refsOf(got), refsOf(src); !slices.Equal(g, w) {
		t.Errorf("Add of Objects: got %q, want %q", g, w)
	}
	for _, o := range []runtime.Object{nil, (*corev1.Service)(nil), &corev1.Pod{}, &networkingv1.IngressClassList{}} {
		if err := got.Add(o); err == nil {
			t.Errorf("Add(%#v) succeeded", o)
		}
	}
	var nilSnap *Snapshot
	for range nilSnap.Objects() {
		t.Error("a nil snapshot yields objects")
	}
	// Stopping early stops.
	n := 0
	for range src.Objects() {
		n++
		break
	}
	if n != 1 {
		t.Errorf("break after %d objects", n)
	}
}

func TestKinds(t *testing.T) {
	tests := []struct {
		apiVersion, kind string
		want             runtime.Object
	}{
		{"networking.k8s.io/v1", "Ingress", &networkingv1.Ingress{}},
		{"networking.k8s.io/v1", "IngressClass", &networkingv1.IngressClass{}},
		{"v1", "Service", &corev1.Service{}},
		{"discovery.k8s.io/v1", "EndpointSlice", &discoveryv1.EndpointSlice{}},
		{"v1", "Secret", &corev1.Secret{}},
		{"v1", "ConfigMap", &corev1.ConfigMap{}},
		{"v1", "Pod", nil},
		{"networking.k8s.io/v1beta1", "Ingress", nil},
		{"", "", nil},
	}
	for _, tc := range tests {
		obj := NewObject(tc.apiVersion, tc.kind)
		if tc.want == nil {
			if obj != nil {
				t.Errorf("NewObject(%q, %q) = %T, want nil", tc.apiVersion, tc.kind, obj)
			}
			continue
		}
		if obj == nil || reflect.TypeOf(obj) != reflect.TypeOf(tc.want) {
			t.Errorf("NewObject(%q, %q) = %T, want %T", tc.apiVersion, tc.kind, obj, tc.want)
			continue
		}
		obj.SetNamespace("ns")
		obj.SetName("n")
		if r, ok := RefOf(obj); !ok || r != ref(tc.kind, "ns", "n") {
			t.Errorf("RefOf(%T) = %v, %v", obj, r, ok)
		}
		if got := APIVersion(tc.kind); got != tc.apiVersion {
			t.Errorf("APIVersion(%q) = %q, want %q", tc.kind, got, tc.apiVersion)
		}
	}
	if r, ok := RefOf(&corev1.Pod{}); ok {
		t.Errorf("RefOf(Pod) = %v, true", r)
	}
	if r, ok := RefOf((*corev1.Secret)(nil)); ok {
		t.Errorf("RefOf(nil Secret) = %v, true", r)
	}
}
