package kubernetes_test

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"ingress-controller/internal/translate"
)

// Hashes made by htpasswd: "s3cret" ($apr1$) and "n3w-pass" (bcrypt).
const (
	s3cretAPR1    = "$apr1$CT7MCO5G$TG8lUK7RX2o7F4TqVz0Fw."
	newPassBcrypt = "$2y$04$TucRBCpOdo/Lvl3rYCWdyu556Re2faTeDRo486SELV5e/GIK.unIy"
)

// getAuth sends GET http://host/path to the proxy on port with the basic
// credentials user:password.
func getAuth(port int, host, path, user, password string) (response, error) {
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s", port, path), nil)
	if err != nil {
		return response{}, err
	}
	req.Host = host
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+password)))
	resp, err := proxyClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return response{code: resp.StatusCode, backend: resp.Header.Get("X-Echo-Server")}, nil
}

func expectAuth(t *testing.T, port int, user, password string, want response) {
	t.Helper()
	eventually(t, converge, fmt.Sprintf("GET as %s:%s = %v", user, password, want), func() error {
		got, err := getAuth(port, "shop.test", "/", user, password)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("got %v", got)
		}
		return nil
	})
}

// TestBasicAuthFromSecrets: an Ingress with basic authentication reads
// the htpasswd file of an Opaque Secret through the source; a change of
// the Secret changes who is served, its deletion holds the paths at 503
// with a Warning (never open), its return serves again. Keys of Opaque
// Secrets that basic authentication cannot read are never cached.
func TestBasicAuthFromSecrets(t *testing.T) {
	f := newFixture(t)
	class := "auth-" + f.ns
	addrs, port := startBackends(t, "a")
	f.service("web", "http", 80, port)
	f.slice("web-1", "web", "http", port, addrs["a"])
	secrets := f.client.CoreV1().Secrets(f.ns)
	put := func(auth string) {
		t.Helper()
		sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "users"}, Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{translate.AuthSecretKey: []byte(auth), "db-password": []byte("hunter2")}}
		if cur, err := secrets.Get(f.ctx, "users", metav1.GetOptions{}); err == nil {
			cur.Data = sec.Data
			if _, err := secrets.Update(f.ctx, cur, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		} else if _, err := secrets.Create(f.ctx, sec, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	put("alice:" + s3cretAPR1 + "\n")
	ing := ingress("shop", &class, route{host: "shop.test", path: "/", service: "web", port: "http"})
	ing.Annotations = map[string]string{
		translate.AnnotationAuthType:   "basic",
		translate.AnnotationAuthSecret: "users",
		translate.AnnotationAuthRealm:  "Shop",
	}
	f.createIngress(ing)
	// Another Ingress on the host keeps the load balancer when "shop" is
	// refused; then its path answers 503, not public's "/public".
	f.createIngress(ingress("public", &class, route{host: "shop.test", path: "/public", service: "web", port: "http"}))
	c := startController(t, controllerOptions{class: class, namespaces: []string{f.ns}})

	unauthorized := response{code: http.StatusUnauthorized}
	expect(t, c.port, "shop.test", "/", unauthorized)
	expectAuth(t, c.port, "alice", "s3cret", ok("a"))
	expectAuth(t, c.port, "alice", "wrong", unauthorized)

	for _, sec := range c.src.Snapshot().Secrets {
		if sec.Name == "users" {
			if _, cached := sec.Data["db-password"]; cached {
				t.Errorf("the source cached key db-password of an Opaque Secret")
			}
			if _, cached := sec.Data[translate.AuthSecretKey]; !cached {
				t.Errorf("the source did not cache the htpasswd file")
			}
		}
	}

	// A changed password: the old one is refused, the new one served.
	put("alice:" + newPassBcrypt + "\n")
	expectAuth(t, c.port, "alice", "n3w-pass", ok("a"))
	expectAuth(t, c.port, "alice", "s3cret", unauthorized)

	// Deleted: 503 for everyone, never open, and a Warning on the Ingress.
	if err := secrets.Delete(f.ctx, "users", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	expect(t, c.port, "shop.test", "/", unavailable)
	expect(t, c.port, "shop.test", "/x", unavailable)
	expect(t, c.port, "shop.test", "/public", ok("a"))
	expectAuth(t, c.port, "alice", "n3w-pass", unavailable)
	f.expectEvents("Ingress", "shop", "InvalidBasicAuth", 1)

	// Back: served again.
	put("alice:" + s3cretAPR1 + "\n")
	expectAuth(t, c.port, "alice", "s3cret", ok("a"))
	expect(t, c.port, "shop.test", "/", unauthorized)
}
