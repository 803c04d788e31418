package e2e

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"os/exec"

	"ingress-controller/internal/nettest"
	"ingress-controller/internal/testbin"
)

// nginxManifests are Ingresses written for ingress-nginx: two served with
// an honoured annotation (a 1k body limit; a source range the test client
// is outside of), and two the controller must refuse: client certificate
// authentication on a path of the same host, and a configuration snippet.
const nginxManifests = `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: nginx}
spec: {controller: k8s.io/ingress-nginx}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app
  namespace: demo
  annotations:
    nginx.ingress.kubernetes.io/proxy-body-size: 1k
spec:
  ingressClassName: nginx
  rules:
  - host: app.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: admin
  namespace: demo
  annotations:
    nginx.ingress.kubernetes.io/auth-tls-secret: demo/client-ca
spec:
  ingressClassName: nginx
  rules:
  - host: app.test
    http:
      paths:
      - {path: /admin, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: internal
  namespace: demo
  annotations:
    nginx.ingress.kubernetes.io/whitelist-source-range: 10.0.0.0/8
spec:
  ingressClassName: nginx
  rules:
  - host: internal.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: snippet
  namespace: demo
  annotations:
    nginx.ingress.kubernetes.io/configuration-snippet: |
      if ($remote_addr !~ "^10\.") { return 403; }
spec:
  ingressClassName: nginx
  rules:
  - host: snippet.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
`

// TestNginxCompat runs the binary with --nginx-compat on both providers:
// an Ingress written for ingress-nginx is served with its annotations,
// and one whose protection cannot be honoured is not reachable at all,
// not even through another Ingress of the same host: its paths answer
// 503. Without the flag none of them is ours, and nothing listens.
func TestNginxCompat(t *testing.T) {
	bin := testbin.Controller(t)
	echo := nettest.EchoFor(t, "web")
	manifests := t.TempDir()
	writeAtomic(t, filepath.Join(manifests, "nginx.yaml"), []byte(nginxManifests+webBackend(echo)))

	for _, tc := range []struct {
		provider string
		compat   bool
	}{{"builtin", true}, {"haproxy", true}, {"builtin", false}} {
		t.Run(fmt.Sprintf("%s/compat=%v", tc.provider, tc.compat), func(t *testing.T) {
			port, out := startNginxCompat(t, bin, manifests, tc.provider, fmt.Sprintf("--nginx-compat=%v", tc.compat))
			type want struct {
				status int
				server string // the backend that answered, "" for none
			}
			// Without --nginx-compat no Ingress is ours: nothing listens.
			served := func(w want) want {
				if !tc.compat {
					return want{}
				}
				return w
			}
			for _, c := range []struct {
				host, path, body string
				want             want
			}{
				{"app.test", "/", "", served(want{200, "web"})},
				{"app.test", "/upload", strings.Repeat("x", 512), served(want{200, "web"})},
				// proxy-body-size: 1k, honoured.
				{"app.test", "/upload", strings.Repeat("x", 2048), served(want{http.StatusRequestEntityTooLarge, ""})},
				// The refused auth Ingress's path does not fall through
				// to app's "/": it answers 503, as ingress-nginx answers
				// a location it denies.
				{"app.test", "/admin", "", served(want{http.StatusServiceUnavailable, ""})},
				{"app.test", "/admin/users", "", served(want{http.StatusServiceUnavailable, ""})},
				// whitelist-source-range: 10.0.0.0/8, honoured: the
				// client, 127.0.0.1, is refused by the load balancer.
				{"internal.test", "/", "", served(want{http.StatusForbidden, ""})},
				// A refused Ingress's own host answers 503 too: its
				// paths are held closed, not left to a catch-all.
				{"snippet.test", "/", "", served(want{http.StatusServiceUnavailable, ""})},
			} {
				method := http.MethodGet
				var body io.Reader
				if c.body != "" {
					method, body = http.MethodPost, strings.NewReader(c.body)
				}
				req, _ := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d%s", port, c.path), body)
				req.Host = c.host
				resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
				if err != nil {
					if c.want != (want{}) {
						t.Errorf("%s %s%s: %v", method, c.host, c.path, err)
					}
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if got := (want{resp.StatusCode, resp.Header.Get("X-Echo-Server")}); got != c.want {
					t.Errorf("%s %s%s: %d from %q, want %d from %q", method, c.host, c.path, got.status, got.server, c.want.status, c.want.server)
				}
			}
			if tc.compat {
				for _, a := range []string{"auth-tls-secret", "configuration-snippet"} {
					if !strings.Contains(out.String(), "nginx.ingress.kubernetes.io/"+a) {
						t.Errorf("the log does not name the refused annotation %s", a)
					}
				}
			}
		})
	}
}

// startNginxCompat runs the binary on the manifests with provider and
// args, on a free HTTP port of 127.0.0.1, until it is ready; it returns
// the port and the controller's output, logged if the test fails.
func startNginxCompat(t *testing.T, bin, manifests, provider string, args ...string) (int, *nettest.Buffer) {
	t.Helper()
	port := int(nettest.FreePort(t))
	admin := fmt.Sprintf("127.0.0.1:%d", int(nettest.FreePort(t)))
	args = append([]string{"--source=file", "--manifests=" + manifests, "--provider=" + provider, "--listen-address=127.0.0.1",
		fmt.Sprintf("--http-port=%d", port), fmt.Sprintf("--https-port=%d", int(nettest.FreePort(t))),
		"--metrics-addr=" + admin}, args...)
	if provider == "haproxy" {
		args = append(args, "--haproxy-dir="+filepath.Join(t.TempDir(), "haproxy"))
	}
	cmd := exec.Command(bin, args...)
	out := &nettest.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("controller output:\n%s", out.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for statusOf("http://"+admin+"/readyz") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("not ready within 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return port, out
}
