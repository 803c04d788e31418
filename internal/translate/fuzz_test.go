package translate

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"ingress-controller/pkg/lbconfig"
)

// documentSeparator splits multi-document YAML: a line that is "---",
// optionally followed by spaces or a comment.
var documentSeparator = regexp.MustCompile(`(?m)^---[ \t]*(#.*)?$`)

// FuzzIngresses translates snapshots built from fuzzed YAML and strings and
// checks that translation never panics, always yields a valid sorted config
// (ports unique across load balancers included), is deterministic and
// leaves its input alone. lbName and listenPorts are the grouping
// annotations of the built Ingresses; perIngress sets Options.LBPerIngress.
// Each snapshot is translated twice more with Options.NginxCompat, where
// the built Ingresses are of the nginx class and the strings are also
// values of their nginx annotations, and the Ingresses refused must not be
// served.
func FuzzIngresses(f *testing.F) {
	addFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, ingressYAML, serviceYAML, sliceYAML, secretYAML []byte, host, path, pathType, port, lbName, listenPorts string, perIngress bool) {
		snap := fuzzSnapshot(ingressYAML, serviceYAML, sliceYAML, secretYAML, host, path, pathType, port, lbName, listenPorts)
		opts := goldenOptions
		opts.LBPerIngress = perIngress
		nginx := opts
		nginx.NginxCompat, nginx.NginxIngressClass = true, DefaultIngressClass
		checkTranslations(t, snap, opts, nginx)
	})
}

// checkTranslations translates snap twice with each of opts and checks
// that the result is valid (checkResult), serves no Ingress refused
// (checkRefusedNotServed) and is the same both times, and that snap is
// left as it was.
func checkTranslations(t *testing.T, snap *Snapshot, opts ...Options) {
	t.Helper()
	before := mustJSON(t, snap)
	for _, o := range opts {
		cfg, problems := Ingresses(snap, o)
		checkResult(t, cfg, problems)
		checkRefusedNotServed(t, cfg, problems)
		first := mustJSON(t, []any{cfg, problems})
		cfg, problems = Ingresses(snap, o)
		if again := mustJSON(t, []any{cfg, problems}); !bytes.Equal(first, again) {
			t.Fatalf("two translations differ:\n%s\n%s", first, again)
		}
	}
	if after := mustJSON(t, snap); !bytes.Equal(before, after) {
		t.Fatal("Ingresses modified its snapshot")
	}
}

// checkRefusedNotServed fails t if an Ingress with a RefusedAnnotation
// problem is a source of a load balancer.
func checkRefusedNotServed(t *testing.T, cfg *lbconfig.Config, problems []Problem) {
	t.Helper()
	for _, p := range problems {
		if p.Reason != "RefusedAnnotation" {
			continue
		}
		for _, lb := range cfg.LoadBalancers {
			if slices.Contains(lb.Sources, p.Object) {
				t.Errorf("%s is refused (%s) but served by load balancer %q", p.Object, p.Message, lb.Name)
			}
		}
	}
}

// fuzzSnapshot decodes what it can (a partial object is fine) and adds an
// Ingress built from the strings, so that the fuzzer reaches host, path and
// port handling without having to produce valid YAML first. Nil objects are
// mixed in as an informer-backed source will never produce, but a file
// source might. The built Ingress carries lbName and listenPorts as its
// grouping annotations (none when empty); a second one, older, on the same
// load balancer and rule but with its own ports, makes them share, clash
// or disagree.
func fuzzSnapshot(ingressYAML, serviceYAML, sliceYAML, secretYAML []byte, host, path, pathType, port, lbName, listenPorts string) *Snapshot {
	ing := &networkingv1.Ingress{}
	_ = yaml.Unmarshal(ingressYAML, ing)
	sec := &corev1.Secret{}
	_ = yaml.Unmarshal(secretYAML, sec)
	svc := &corev1.Service{}
	_ = yaml.Unmarshal(serviceYAML, svc)
	slice := &discoveryv1.EndpointSlice{}
	_ = yaml.Unmarshal(sliceYAML, slice)

	var pt *networkingv1.PathType
	if pathType != "" {
		pt = (*networkingv1.PathType)(&pathType)
	}
	backendPort := networkingv1.ServiceBackendPort{Name: port}
	if n, err := strconv.ParseInt(port, 10, 32); err == nil {
		backendPort = networkingv1.ServiceBackendPort{Number: int32(n)}
	}
	backend := networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: svc.Name, Port: backendPort}}
	className := DefaultIngressClass
	built := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: svc.Namespace, Name: "built"},
		Spec: networkingv1.IngressSpec{
			IngressClassName: &className,
			DefaultBackend:   &backend,
			TLS:              []networkingv1.IngressTLS{{Hosts: []string{host}, SecretName: sec.Name}, {SecretName: sec.Name}},
			Rules: []networkingv1.IngressRule{{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{
				HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{
					{Path: path, PathType: pt, Backend: backend},
				}},
			}}},
		},
	}
	defaultClass := &networkingv1.IngressClass{
		ObjectMeta: metav1.ObjectMeta{Name: "fuzz", Annotations: map[string]string{networkingv1.AnnotationIsDefaultIngressClass: "true"}},
		Spec:       networkingv1.IngressClassSpec{Controller: DefaultControllerName},
	}
	annotations := map[string]string{}
	if lbName != "" {
		annotations[AnnotationLoadBalancer] = lbName
	}
	if listenPorts != "" {
		annotations[AnnotationListenPorts] = listenPorts
	}
	// Read only with Options.NginxCompat.
	for name, v := range map[string]string{
		"proxy-body-size": port, "proxy-read-timeout": port, "session-cookie-name": lbName, "session-cookie-path": path,
		"affinity": "cookie", "load-balance": pathType, "upstream-hash-by": host, "backend-protocol": listenPorts,
		"whitelist-source-range": host, "force-ssl-redirect": pathType, "use-regex": lbName, "rewrite-target": listenPorts,
	} {
		if v != "" {
			annotations[NginxAnnotationPrefix+name] = v
		}
	}
	if len(annotations) > 0 {
		built.Annotations = annotations
	}
	sibling := built.DeepCopy()
	sibling.Name = "sibling"
	sibling.CreationTimestamp = metav1.Unix(1, 0)
	sibling.Annotations = map[string]string{AnnotationListenPorts: `[{"HTTP":8080},{"HTTPS":8443}]`}
	if lbName != "" {
		sibling.Annotations[AnnotationLoadBalancer] = lbName
	}
	return &Snapshot{
		Ingresses:      []*networkingv1.Ingress{nil, ing, built, sibling},
		IngressClasses: []*networkingv1.IngressClass{defaultClass, nil},
		Services:       []*corev1.Service{svc, nil},
		EndpointSlices: []*discoveryv1.EndpointSlice{nil, slice},
		Secrets:        []*corev1.Secret{sec, nil},
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// addFuzzSeeds seeds the corpus with a hand-written snapshot full of nil
// pointers and with the first Ingress, Service and EndpointSlice of every
// golden case.
func addFuzzSeeds(f *testing.F) {
	f.Add([]byte("metadata: {name: x, namespace: shop}\nspec:\n  rules: [{}, {http: {}}, {http: {paths: [{}, {backend: {}}, {pathType: Prefix, backend: {service: {}}}]}}]\n  defaultBackend: {}\n"),
		[]byte("metadata: {name: web, namespace: shop}\nspec: {ports: [{}, {name: http, port: 80}]}\n"),
		[]byte("metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}\nports: [{}, {name: http}]\nendpoints: [{}, {addresses: ['']}, {addresses: [198.18.0.1], conditions: {}}]\n"),
		[]byte("metadata: {name: tls, namespace: shop}\ntype: kubernetes.io/tls\ndata: {tls.crt: '', tls.key: ''}\n"),
		"", "", "", "", "", "", false)
	f.Add([]byte{}, []byte{}, []byte{}, []byte{}, "*.Foo.com", "/foo/", "ImplementationSpecific", "http", "team", `[{"HTTPS":8443}]`, false)
	f.Add([]byte{}, []byte("metadata: {name: web, namespace: shop}\nspec: {type: ExternalName}\n"), []byte{}, []byte{}, "shop.example.com", "", "Exact", "0", "default", `[{"HTTP":80}]`, true)
	f.Add([]byte{}, []byte("metadata: {name: db, namespace: shop, annotations: {ingress-controller.io/tcp-listen-port: '8080'}}\nspec: {ports: [{port: 5432}]}\n"), []byte{}, []byte{}, "shop.example.com", "/", "Prefix", "5432", "", `[{"HTTP":8443}]`, true)
	// Regex mode: with NginxCompat, use-regex is lbName and rewrite-target
	// listenPorts.
	f.Add([]byte{}, []byte{}, []byte{}, []byte{}, "shop.example.com", "/api/(v[0-9]+)/(.*)", "ImplementationSpecific", "80", "true", "/$2", false)
	f.Add([]byte{}, []byte{}, []byte{}, []byte{}, "shop.example.com", "/(a+)+$", "Prefix", "80", "true", "/$1", false)

	inputs, err := filepath.Glob("testdata/*/input.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, input := range inputs {
		data, err := os.ReadFile(input)
		if err != nil {
			f.Fatal(err)
		}
		var ing, svc, slice, secret []byte
		for _, doc := range documentSeparator.Split(string(data), -1) {
			var head struct{ Kind string }
			if yaml.Unmarshal([]byte(doc), &head) != nil {
				continue
			}
			switch {
			case head.Kind == "Ingress" && ing == nil:
				ing = []byte(doc)
			case head.Kind == "Service" && svc == nil:
				svc = []byte(doc)
			case head.Kind == "EndpointSlice" && slice == nil:
				slice = []byte(doc)
			case head.Kind == "Secret" && secret == nil:
				secret = []byte(doc)
			}
		}
		f.Add(ing, svc, slice, secret, "shop.example.com", "/", "Prefix", "80", "", "", false)
	}
}
