package kubernetes_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"ingress-controller/internal/selfsigned"
)

// servedCert returns the certificate the proxy serves on its HTTPS port
// for serverName.
func servedCert(port int, serverName string) (*x509.Certificate, error) {
	d := &net.Dialer{Timeout: 2 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", "127.0.0.1:"+strconv.Itoa(port), &tls.Config{ServerName: serverName, InsecureSkipVerify: true})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0], nil
}

func expectCert(t *testing.T, port int, serverName string, want *x509.Certificate, what string) {
	t.Helper()
	eventually(t, converge, what, func() error {
		got, err := servedCert(port, serverName)
		if err != nil {
			return err
		}
		if want == nil && got.Subject.CommonName != selfsigned.DefaultName {
			return fmt.Errorf("served %q, want the default certificate", got.Subject.CommonName)
		}
		if want != nil && !got.Equal(want) {
			return fmt.Errorf("served %q, want %q", got.Subject.CommonName, want.Subject.CommonName)
		}
		return nil
	})
}

// TestTLSFromSecrets: spec.tls with a kubernetes.io/tls Secret is served
// by SNI, follows the Secret's rotation and deletion, never uses a Secret
// of another namespace, and a broken Secret is a Warning on the Ingress
// while the host is served with the default certificate.
func TestTLSFromSecrets(t *testing.T) {
	f := newFixture(t)
	class := "tls-" + f.ns
	addrs, port := startBackends(t, "a")
	f.service("web", "http", 80, port)
	f.slice("web-1", "web", "http", port, addrs["a"])
	mkSecret := func(ns, name, cn string) *x509.Certificate {
		t.Helper()
		c, err := selfsigned.New(cn, time.Hour, "shop.test")
		if err != nil {
			t.Fatal(err)
		}
		sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{corev1.TLSCertKey: c.ChainPEM, corev1.TLSPrivateKeyKey: c.KeyPEM}}
		secrets := f.client.CoreV1().Secrets(ns)
		if cur, err := secrets.Get(f.ctx, name, metav1.GetOptions{}); err == nil {
			cur.Data = sec.Data
			if _, err := secrets.Update(f.ctx, cur, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		} else if _, err := secrets.Create(f.ctx, sec, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		return c.Leaf
	}
	v1 := mkSecret(f.ns, "shop-tls", "shop v1")
	ing := ingress("shop", &class, route{host: "shop.test", path: "/", service: "web", port: "http"})
	ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{"shop.test"}, SecretName: "shop-tls"}}
	f.createIngress(ing)
	c := startController(t, controllerOptions{class: class, namespaces: []string{f.ns, "default"}})

	expectCert(t, c.tlsPort, "shop.test", v1, "the Secret's certificate for shop.test")
	expectCert(t, c.tlsPort, "other.test", nil, "the default certificate for another name")
	// HTTP for the TLS host redirects.
	eventually(t, converge, "a redirect to HTTPS", func() error {
		got, err := get(c.port, "shop.test", "/x")
		if err != nil || got.code != 308 {
			return fmt.Errorf("%v %v", got, err)
		}
		return nil
	})

	// Rotation: the new certificate for new handshakes.
	v2 := mkSecret(f.ns, "shop-tls", "shop v2")
	expectCert(t, c.tlsPort, "shop.test", v2, "the rotated certificate")

	// A Secret of the same name in another namespace is never used.
	mkSecret("default", "shop-tls", "someone else's")
	if err := f.client.CoreV1().Secrets(f.ns).Delete(f.ctx, "shop-tls", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	expectCert(t, c.tlsPort, "shop.test", nil, "the default certificate once the Secret is gone")
	f.expectEvents("Ingress", "shop", "SecretNotFound", 1)
	t.Cleanup(func() { _ = f.client.CoreV1().Secrets("default").Delete(f.ctx, "shop-tls", metav1.DeleteOptions{}) })

	// Recreated: served again.
	v3 := mkSecret(f.ns, "shop-tls", "shop v3")
	expectCert(t, c.tlsPort, "shop.test", v3, "the recreated Secret's certificate")
}
