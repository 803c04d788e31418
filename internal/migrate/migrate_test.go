package migrate

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"ingress-controller/internal/translate"
)

var opts = translate.Options{ControllerName: translate.DefaultControllerName, IngressClass: translate.DefaultIngressClass, HTTPPort: 80, HTTPSPort: 443}

// TestReport reads testdata/cluster.yaml, a List as kubectl writes it and
// the ingress-nginx ConfigMap, and checks each verdict, the summary, the
// settings, and that the JSON form reads back the same.
func TestReport(t *testing.T) {
	in, err := ReadDir("testdata", "ingress-nginx/ingress-nginx-controller")
	if err != nil {
		t.Fatal(err)
	}
	r := Build(in.Snapshot, opts, in.ConfigMap, in.Settings)
	verdicts := map[string]Verdict{}
	for _, ir := range r.Ingresses {
		verdicts[ir.Namespace+"/"+ir.Name] = ir.Verdict
	}
	want := map[string]Verdict{"demo/admin": Refused, "demo/app": Differences, "demo/plain": Unchanged}
	if len(verdicts) != len(want) {
		t.Errorf("verdicts %v, want %v (demo/other is traefik's)", verdicts, want)
	}
	for k, v := range want {
		if verdicts[k] != v {
			t.Errorf("%s: %q, want %q", k, verdicts[k], v)
		}
	}
	if r.Summary != (Summary{Total: 3, Unchanged: 1, Differences: 1, Refused: 1}) {
		t.Errorf("summary %+v", r.Summary)
	}
	global := map[string]bool{}
	for _, k := range r.Settings {
		global[k.Key] = k.Global
	}
	if !global["global-auth-url"] || global["enable-modsecurity"] || global["use-forwarded-headers"] {
		t.Errorf("global protections %v: want only global-auth-url (enable-modsecurity is false)", global)
	}

	var text, js bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"demo/admin", "nginx.ingress.kubernetes.io/auth-type", "3 Ingresses of class \"nginx\": 1 served unchanged, 1 served with differences, 1 refused", "GLOBAL PROTECTION"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("text report lacks %q:\n%s", s, text.String())
		}
	}
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("JSON report does not parse: %v\n%s", err, js.String())
	}
	if back.Summary != r.Summary || len(back.Ingresses) != 3 || back.Ingresses[0].Notes[0].Reason != "RefusedAnnotation" {
		t.Errorf("JSON report reads back as %+v", back)
	}
}

// TestForeignClass: when the nginx IngressClass is another controller's,
// every Ingress of it is reported refused, naming the class.
func TestForeignClass(t *testing.T) {
	dir := t.TempDir()
	manifest := `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: nginx}
spec: {controller: nginx.org/ingress-controller}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: app, namespace: demo}
spec:
  ingressClassName: nginx
  defaultBackend: {service: {name: web, port: {number: 80}}}
`
	if err := os.WriteFile(filepath.Join(dir, "m.yaml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := ReadDir(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	r := Build(in.Snapshot, opts, in.ConfigMap, in.Settings)
	if len(r.Ingresses) != 1 || r.Ingresses[0].Verdict != Refused ||
		!slices.ContainsFunc(r.Ingresses[0].Notes, func(n Note) bool { return n.Reason == "ForeignIngressClass" }) {
		t.Errorf("report %+v: want demo/app refused for ForeignIngressClass", r.Ingresses)
	}
}

// TestReadDirNamesTheBadFile: a manifest that does not parse is an error
// naming the file.
func TestReadDirNamesTheBadFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("apiVersion: networking.k8s.io/v1\nkind: Ingress\nspec: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadDir(dir, ""); err == nil || !strings.Contains(err.Error(), "bad.yaml") {
		t.Errorf("ReadDir: %v, want an error naming bad.yaml", err)
	}
}

// TestCustomHeaders: the report reads custom-headers with the names of
// the ConfigMap's global-allowed-response-headers, and the ConfigMaps
// among the manifests: an allowed key is served unchanged, one not
// allowed is a difference naming it, and the key has its equivalent.
func TestCustomHeaders(t *testing.T) {
	dir := t.TempDir()
	manifest := `apiVersion: v1
kind: ConfigMap
metadata: {name: ingress-nginx-controller, namespace: ingress-nginx}
data: {global-allowed-response-headers: "X-Team, X-Frame-Options"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: allowed, namespace: demo}
data: {X-Team: checkout}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: other, namespace: demo}
data: {X-Team: checkout, Not-Listed: x}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: allowed
  namespace: demo
  annotations: {nginx.ingress.kubernetes.io/custom-headers: demo/allowed}
spec:
  ingressClassName: nginx
  rules: [{host: a.example, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: other
  namespace: demo
  annotations: {nginx.ingress.kubernetes.io/custom-headers: demo/other}
spec:
  ingressClassName: nginx
  rules: [{host: b.example, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]
`
	if err := os.WriteFile(filepath.Join(dir, "m.yaml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := ReadDir(dir, "ingress-nginx/ingress-nginx-controller")
	if err != nil {
		t.Fatal(err)
	}
	r := Build(in.Snapshot, opts, in.ConfigMap, in.Settings)
	got := map[string]IngressReport{}
	for _, ir := range r.Ingresses {
		got[ir.Name] = ir
	}
	if ir := got["allowed"]; ir.Verdict != Unchanged {
		t.Errorf("demo/allowed: %q %+v, want served unchanged", ir.Verdict, ir.Notes)
	}
	if ir := got["other"]; ir.Verdict != Differences || len(ir.Notes) != 1 || !strings.Contains(ir.Notes[0].Message, `key "Not-Listed"`) {
		t.Errorf("demo/other: %q %+v, want served with a difference naming Not-Listed", ir.Verdict, ir.Notes)
	}
	if len(r.Settings) != 1 || !strings.Contains(r.Settings[0].Ours, "--nginx-allowed-response-headers") {
		t.Errorf("settings %+v, want global-allowed-response-headers with its flag", r.Settings)
	}
}
