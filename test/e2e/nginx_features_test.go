package e2e

import (
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/internal/testbin"
)

// aliceS3cret is alice's line of an htpasswd file: bcrypt (htpasswd -B)
// of "s3cret".
const aliceS3cret = "alice:$2y$05$40FKswUoByTuMd3BQAf5oO1FCWsAxQWUMWg/wGSwFgVamrlMc8/Bm\n"

// nginxFeatureManifests are Ingresses written for ingress-nginx with the
// annotations its users meet most: a rewrite with capture groups, a
// canary by header, CORS, basic authentication from an htpasswd Secret
// and a rate limit, as ingress-nginx's user guide writes them.
var nginxFeatureManifests = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: rewrite
  namespace: demo
  annotations:
    nginx.ingress.kubernetes.io/use-regex: "true"
    nginx.ingress.kubernetes.io/rewrite-target: /$2
spec:
  ingressClassName: nginx
  rules:
  - host: rewrite.test
    http:
      paths:
      - path: /something(/|$)(.*)
        pathType: ImplementationSpecific
        backend: {service: {name: web, port: {number: 80}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: main, namespace: demo}
spec:
  ingressClassName: nginx
  rules:
  - host: canary.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: main-canary
  namespace: demo
  annotations:
    nginx.ingress.kubernetes.io/canary: "true"
    nginx.ingress.kubernetes.io/canary-by-header: X-Canary
spec:
  ingressClassName: nginx
  rules:
  - host: canary.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: canary, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: cors
  namespace: demo
  annotations:
    nginx.ingress.kubernetes.io/enable-cors: "true"
    nginx.ingress.kubernetes.io/cors-allow-origin: https://app.example.com
spec:
  ingressClassName: nginx
  rules:
  - host: cors.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
apiVersion: v1
kind: Secret
metadata: {name: basic-auth, namespace: demo}
type: Opaque
data:
  auth: ` + base64.StdEncoding.EncodeToString([]byte(aliceS3cret)) + `
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: auth
  namespace: demo
  annotations:
    nginx.ingress.kubernetes.io/auth-type: basic
    nginx.ingress.kubernetes.io/auth-secret: basic-auth
    nginx.ingress.kubernetes.io/auth-realm: Authentication Required - alice
spec:
  ingressClassName: nginx
  rules:
  - host: auth.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: limited
  namespace: demo
  annotations:
    nginx.ingress.kubernetes.io/limit-rps: "1"
    nginx.ingress.kubernetes.io/limit-burst-multiplier: "1"
spec:
  ingressClassName: nginx
  rules:
  - host: limited.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
`

// TestNginxCompatFeatures runs the binary with --nginx-compat on both
// providers against the Ingresses of nginxFeatureManifests, through real
// sockets: what each annotation does, as ingress-nginx's user guide says.
func TestNginxCompatFeatures(t *testing.T) {
	bin := testbin.Controller(t)
	web, canary := nettest.EchoFor(t, "web"), nettest.EchoFor(t, "canary")
	authAddr := startSessionAuth(t)
	manifests := t.TempDir()
	writeAtomic(t, filepath.Join(manifests, "nginx.yaml"), []byte(nginxFeatureManifests+extAuthIngress(authAddr)+echoService("web", web)+"---\n"+echoService("canary", canary)))

	for _, provider := range []string{"builtin", "haproxy"} {
		t.Run(provider, func(t *testing.T) {
			port, _ := startNginxCompat(t, bin, manifests, provider, "--nginx-compat")
			client := &http.Client{Timeout: 5 * time.Second}
			do := func(method, host, target string, hdr ...string) *http.Response {
				t.Helper()
				req, _ := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d%s", port, target), nil)
				req.Host = host
				for i := 0; i+1 < len(hdr); i += 2 {
					req.Header.Add(hdr[i], hdr[i+1])
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatalf("%s %s%s: %v", method, host, target, err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp
			}
			check := func(what string, resp *http.Response, status int, server string) {
				t.Helper()
				if resp.StatusCode != status || resp.Header.Get("X-Echo-Server") != server {
					t.Errorf("%s: %d from %q, want %d from %q", what, resp.StatusCode, resp.Header.Get("X-Echo-Server"), status, server)
				}
			}

			// rewrite-target /$2 on /something(/|$)(.*): the whole path
			// replaced, the query kept; the host is in regex mode, so
			// the match ignores case.
			for target, want := range map[string]string{"/something/new?x=1": "/new?x=1", "/something": "/", "/SOMETHING/a/b": "/a/b"} {
				resp := do(http.MethodGet, "rewrite.test", target)
				check("rewrite "+target, resp, http.StatusOK, "web")
				if got := resp.Header.Get("X-Echo-Request-Uri"); got != want {
					t.Errorf("rewrite %s: the backend got %q, want %q", target, got, want)
				}
			}

			// canary-by-header: "always" to the canary, "never" and
			// anything else to the main Ingress's backend.
			check("canary without the header", do(http.MethodGet, "canary.test", "/"), http.StatusOK, "web")
			check("canary: always", do(http.MethodGet, "canary.test", "/x", "X-Canary", "always"), http.StatusOK, "canary")
			check("canary: never", do(http.MethodGet, "canary.test", "/x", "X-Canary", "never"), http.StatusOK, "web")
			check("canary: other", do(http.MethodGet, "canary.test", "/x", "X-Canary", "yes"), http.StatusOK, "web")

			// CORS: a preflight from the allowed origin is answered by the
			// load balancer with the grant; another origin gets none.
			resp := do(http.MethodOptions, "cors.test", "/api", "Origin", "https://app.example.com", "Access-Control-Request-Method", "PUT")
			check("CORS preflight", resp, http.StatusNoContent, "")
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://app.example.com" {
				t.Errorf("CORS preflight: Access-Control-Allow-Origin %q, want https://app.example.com", got)
			}
			resp = do(http.MethodGet, "cors.test", "/api", "Origin", "https://evil.example.com")
			check("CORS from another origin", resp, http.StatusOK, "web")
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
				t.Errorf("CORS from another origin: granted %q", got)
			}

			// Basic authentication from the htpasswd Secret.
			resp = do(http.MethodGet, "auth.test", "/")
			check("auth without credentials", resp, http.StatusUnauthorized, "")
			if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, `Basic realm="Authentication Required - alice"`) {
				t.Errorf("auth: WWW-Authenticate %q", got)
			}
			basic := func(user, password string) string {
				return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
			}
			check("auth with a wrong password", do(http.MethodGet, "auth.test", "/", "Authorization", basic("alice", "wrong")), http.StatusUnauthorized, "")
			check("auth with the password", do(http.MethodGet, "auth.test", "/", "Authorization", basic("alice", "s3cret")), http.StatusOK, "web")

			// limit-rps 1 with a burst multiplier of 1: two requests at
			// once pass, the rest of a quick series get 503.
			var codes []int
			for range 6 {
				codes = append(codes, do(http.MethodGet, "limited.test", "/").StatusCode)
			}
			refused := 0
			for _, c := range codes {
				if c == http.StatusServiceUnavailable {
					refused++
				}
			}
			if codes[0] != http.StatusOK || refused < 3 {
				t.Errorf("limit-rps 1: got %v, want 200 first and at least 3 of 6 refused with 503", codes)
			}

			checkExtAuth(t, port)
		})
	}
}

// extAuthIngress is an Ingress protected by the auth server at addr, as
// oauth2-proxy's guide for ingress-nginx writes it: by the name of its
// Service, auth/oauth2-proxy port 4180, whose endpoint is addr.
func extAuthIngress(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return `apiVersion: v1
kind: Service
metadata: {name: oauth2-proxy, namespace: auth}
spec:
  ports: [{name: http, port: 4180}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: oauth2-proxy-1, namespace: auth, labels: {kubernetes.io/service-name: oauth2-proxy}}
addressType: IPv4
ports: [{name: http, port: ` + port + `}]
endpoints: [{addresses: [127.0.0.1], conditions: {ready: true}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: extauth
  namespace: demo
  annotations:
    nginx.ingress.kubernetes.io/auth-url: http://oauth2-proxy.auth.svc.cluster.local:4180/oauth2/auth
    nginx.ingress.kubernetes.io/auth-signin: https://$host/oauth2/start?rd=$escaped_request_uri
    nginx.ingress.kubernetes.io/auth-response-headers: X-Auth-Request-User
spec:
  ingressClassName: nginx
  rules:
  - host: extauth.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
`
}

// startSessionAuth serves an auth server on loopback for the rest of the
// test: a request with the cookie session=ok is alice, any other 401.
func startSessionAuth(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("session"); err != nil || c.Value != "ok" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("X-Auth-Request-User", "alice")
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// checkExtAuth: auth-url (a Service's name) with auth-signin and
// auth-response-headers. No session: 302 to sign in with the original
// URL in rd; a session: the backend gets the auth server's user, not the
// one the client forged.
func checkExtAuth(t *testing.T, port int) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(hdr ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/app?x=1", port), nil)
		req.Host = "extauth.test"
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Add(hdr[i], hdr[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET extauth.test/app: %v", err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	resp, _ := get("X-Auth-Request-User", "bob")
	want := "https://extauth.test/oauth2/start?rd=" + url.QueryEscape("/app?x=1")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want || resp.Header.Get("X-Echo-Server") != "" {
		t.Errorf("auth-url without a session: %d to %q from %q, want 302 to %q from the load balancer", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("X-Echo-Server"), want)
	}
	resp, body := get("Cookie", "session=ok", "X-Auth-Request-User", "bob", "X-Echo-Headers", "1")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Echo-Server") != "web" {
		t.Fatalf("auth-url with a session: %d from %q, want 200 from web", resp.StatusCode, resp.Header.Get("X-Echo-Server"))
	}
	if !strings.Contains(body, "\nX-Auth-Request-User: alice\n") || strings.Contains(body, "bob") {
		t.Errorf("auth-url with a session: the backend got\n%s\nwant X-Auth-Request-User: alice alone", body)
	}
}
