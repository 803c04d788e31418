package file

import (
	"path/filepath"
	"strings"
	"testing"

	"ingress-controller/internal/translate"
)

// An htpasswd Secret in a manifest protects an Ingress of the file source
// as one in a cluster does, in both its forms (data and stringData).
func TestBasicAuthSecretInManifests(t *testing.T) {
	src, dir, _ := newTestSource(t)
	ing := strings.Replace(ingressYAML, "HOST", "a.example.com", 1)
	ing = strings.Replace(ing, "  namespace: shop\n", "  namespace: shop\n  annotations:\n    ingress-controller.io/auth-type: basic\n    ingress-controller.io/auth-secret: users\n", 1)
	ing = strings.Replace(ing, "spec:\n", "spec:\n  ingressClassName: ingress-controller\n", 1)
	write(t, filepath.Join(dir, "ingress.yaml"), ing)
	write(t, filepath.Join(dir, "users.yaml"), `apiVersion: v1
kind: Secret
metadata:
  name: users
  namespace: shop
type: Opaque
stringData:
  auth: |
    alice:$apr1$CT7MCO5G$TG8lUK7RX2o7F4TqVz0Fw.
`)
	if err := src.Load(); err != nil {
		t.Fatal(err)
	}
	cfg, problems := translate.Ingresses(src.Snapshot(), translate.Options{})
	if n := authProblems(problems); n != 0 {
		t.Fatalf("problems: %v", problems)
	}
	if len(cfg.Credentials) != 1 || cfg.Credentials[0].Name != "shop/users" || len(cfg.Credentials[0].Users) != 1 {
		t.Fatalf("credentials = %+v, want shop/users with alice", cfg.Credentials)
	}
	rt := cfg.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0]
	if rt.BasicAuth == nil || rt.BasicAuth.Credentials != "shop/users" {
		t.Errorf("route %+v: want basic auth with shop/users", rt)
	}

	// The same Secret in base64 data, and then without it: refused.
	write(t, filepath.Join(dir, "users.yaml"), `apiVersion: v1
kind: Secret
metadata: {name: users, namespace: shop}
type: Opaque
data:
  auth: YWxpY2U6JGFwcjEkQ1Q3TUNPNUckVEc4bFVLN1JYMm83RjRUcVZ6MEZ3Lgo=
`)
	if err := src.Load(); err != nil {
		t.Fatal(err)
	}
	if cfg, problems := translate.Ingresses(src.Snapshot(), translate.Options{}); authProblems(problems) != 0 || len(cfg.Credentials) != 1 {
		t.Fatalf("data form: credentials %+v, problems %v", cfg.Credentials, problems)
	}
	write(t, filepath.Join(dir, "users.yaml"), "# gone\n")
	if err := src.Load(); err != nil {
		t.Fatal(err)
	}
	cfg, problems = translate.Ingresses(src.Snapshot(), translate.Options{})
	if authProblems(problems) != 1 {
		t.Errorf("without the Secret: problems %v, want one InvalidBasicAuth", problems)
	}
	for _, lb := range cfg.LoadBalancers {
		for _, l := range lb.Listeners {
			for _, vh := range l.VirtualHosts {
				for _, r := range vh.Routes {
					if !strings.HasSuffix(r.Backend.Name, "!refused") {
						t.Errorf("without the Secret, route %s goes to %s, want the refused backend", r.Path, r.Backend.Name)
					}
				}
			}
		}
	}
}

// authProblems counts the InvalidBasicAuth problems (the Service of the
// Ingress is missing here, which is another).
func authProblems(ps []translate.Problem) int {
	n := 0
	for _, p := range ps {
		if p.Reason == "InvalidBasicAuth" {
			n++
		}
	}
	return n
}
