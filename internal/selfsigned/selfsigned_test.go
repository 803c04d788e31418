package selfsigned

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"
)

func TestNew(t *testing.T) {
	c, err := New("shop", time.Hour, "shop.example", "*.shop.example")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(c.ChainPEM, c.KeyPEM); err != nil {
		t.Fatalf("PEM pair: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c.Leaf)
	for _, host := range []string{"shop.example", "a.shop.example"} {
		if _, err := c.Leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: pool}); err != nil {
			t.Errorf("verify for %s: %v", host, err)
		}
	}
	if _, err := c.Leaf.Verify(x509.VerifyOptions{DNSName: "a.b.shop.example", Roots: pool}); err == nil {
		t.Error("verified for a name it does not cover")
	}
	if left := time.Until(c.Leaf.NotAfter); left > time.Hour || left < 59*time.Minute {
		t.Errorf("valid for %s more, want an hour", left)
	}
}
