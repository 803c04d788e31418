package provider

import (
	"crypto/tls"
	"slices"
	"testing"
)

// TestIntermediateTLS: the Go IDs and the OpenSSL names of the profile
// name the same suites, and Go implements them all.
func TestIntermediateTLS(t *testing.T) {
	p := IntermediateTLS()
	// OpenSSL name -> IANA name (what Go's CipherSuiteName says).
	iana := map[string]string{
		"ECDHE-ECDSA-AES128-GCM-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
		"ECDHE-RSA-AES128-GCM-SHA256":   "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
		"ECDHE-ECDSA-AES256-GCM-SHA384": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
		"ECDHE-RSA-AES256-GCM-SHA384":   "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
		"ECDHE-ECDSA-CHACHA20-POLY1305": "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
		"ECDHE-RSA-CHACHA20-POLY1305":   "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
	}
	if len(p.CipherSuites) != len(iana) {
		t.Errorf("%d TLS 1.2 suites, want %d", len(p.CipherSuites), len(iana))
	}
	var secure []uint16
	for _, c := range tls.CipherSuites() {
		secure = append(secure, c.ID)
	}
	for _, c := range p.CipherSuites {
		if got, want := tls.CipherSuiteName(c.ID), iana[c.OpenSSL]; got != want {
			t.Errorf("suite %s: Go ID names %s, want %s", c.OpenSSL, got, want)
		}
		if !slices.Contains(secure, c.ID) {
			t.Errorf("suite %s is not among Go's secure suites", c.OpenSSL)
		}
	}
	// Go's TLS 1.3 suites, not configurable, are the profile's.
	var go13 []string
	for _, c := range tls.CipherSuites() {
		if slices.Contains(c.SupportedVersions, tls.VersionTLS13) {
			go13 = append(go13, c.Name)
		}
	}
	if !slices.Equal(go13, p.TLS13CipherSuites) {
		t.Errorf("Go's TLS 1.3 suites %v, profile %v", go13, p.TLS13CipherSuites)
	}
	if want := []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384}; !slices.Equal(p.CurveIDs(), want) {
		t.Errorf("curves %v, want %v", p.CurveIDs(), want)
	}
	if p.MinVersion != tls.VersionTLS12 {
		t.Errorf("minimum version %x, want TLS 1.2", p.MinVersion)
	}
	// A copy each time.
	p.CipherSuites[0].OpenSSL = "changed"
	if IntermediateTLS().CipherSuites[0].OpenSSL == "changed" {
		t.Error("IntermediateTLS shares its slices between calls")
	}
}
