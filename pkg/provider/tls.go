package provider

import "crypto/tls"

// TLSProfile is what HTTPS listeners accept from clients: Mozilla's
// "intermediate" configuration (version 5.7), the same for every provider.
// Each provider renders it from this one table, so they cannot drift.
type TLSProfile struct {
	// MinVersion is the oldest protocol version accepted.
	MinVersion uint16
	// CipherSuites are the TLS 1.2 cipher suites, in the profile's order.
	// The profile's DHE suites are left out: Go implements none.
	CipherSuites []TLSCipherSuite
	// TLS13CipherSuites are the TLS 1.3 suites by their IANA (and
	// OpenSSL) names. Go's TLS 1.3 suites are not configurable; they are
	// exactly these three.
	TLS13CipherSuites []string
	// Curves are the key exchange groups, in order of preference.
	Curves []TLSCurve
}

// TLSCipherSuite is a TLS 1.2 cipher suite by its Go ID and OpenSSL name.
type TLSCipherSuite struct {
	ID      uint16
	OpenSSL string
}

// TLSCurve is a key exchange group by its Go ID and OpenSSL name.
type TLSCurve struct {
	ID      tls.CurveID
	OpenSSL string
}

// IntermediateTLS returns the TLS profile of HTTPS listeners (a new copy
// each time: callers may keep or change it).
func IntermediateTLS() TLSProfile {
	return TLSProfile{
		MinVersion: tls.VersionTLS12,
		CipherSuites: []TLSCipherSuite{
			{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ECDHE-ECDSA-AES128-GCM-SHA256"},
			{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE-RSA-AES128-GCM-SHA256"},
			{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ECDHE-ECDSA-AES256-GCM-SHA384"},
			{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "ECDHE-RSA-AES256-GCM-SHA384"},
			{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-ECDSA-CHACHA20-POLY1305"},
			{tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-RSA-CHACHA20-POLY1305"},
		},
		TLS13CipherSuites: []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"},
		Curves: []TLSCurve{
			{tls.X25519, "X25519"},
			{tls.CurveP256, "P-256"},
			{tls.CurveP384, "P-384"},
		},
	}
}

// CipherSuiteIDs returns the Go IDs of p's TLS 1.2 cipher suites.
func (p TLSProfile) CipherSuiteIDs() []uint16 {
	ids := make([]uint16, len(p.CipherSuites))
	for i, c := range p.CipherSuites {
		ids[i] = c.ID
	}
	return ids
}

// CurveIDs returns the Go IDs of p's curves.
func (p TLSProfile) CurveIDs() []tls.CurveID {
	ids := make([]tls.CurveID, len(p.Curves))
	for i, c := range p.Curves {
		ids[i] = c.ID
	}
	return ids
}
