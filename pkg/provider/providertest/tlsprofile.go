package providertest

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
)

// The TLS settings every provider applies to its HTTPS listeners: the
// profile of provider.IntermediateTLS and session resumption
// (provider.Options.NoTLSSessionResumption).

// tlsLab is a lab with one HTTPS listener serving a.example with an
// ECDSA certificate.
type tlsLab struct {
	*lab
	port int32
	cert nettest.Cert
}

func (s *Suite) startTLSLab(t *testing.T, opts provider.Options) tlsLab {
	t.Helper()
	l := s.startWith(t, opts)
	a := l.startBackend("a")
	port := l.freePort()
	cert := nettest.NewCert(t, "a", "a.example")
	cfg := config([]lbconfig.LoadBalancer{loadBalancer("default",
		lbconfig.Listener{Port: port, Protocol: lbconfig.ProtocolHTTPS, VirtualHosts: []lbconfig.VirtualHost{
			{Hostname: "a.example", TLS: cert.Ref(), Routes: []lbconfig.Route{prefix("/", a)}},
		}},
	)}, a.pool())
	cfg.Certificates = []lbconfig.Certificate{cert.Certificate()}
	l.apply(cfg)
	l.eventually("HTTPS to a.example", func() (bool, string) {
		_, r := l.tlsGet(port, "a.example", "a.example", "/")
		return r.err == nil && r.server == a.name, r.String()
	})
	return tlsLab{l, port, cert}
}

// exchange makes a TLS connection with cfg (SNI a.example), sends a
// request over it and reads the whole response, so that tickets sent
// after the handshake (TLS 1.3) reach cfg's session cache. It returns the
// connection's state, or the handshake's error.
func (l tlsLab) exchange(cfg *tls.Config) (tls.ConnectionState, error) {
	cfg = cfg.Clone()
	cfg.ServerName, cfg.InsecureSkipVerify, cfg.NextProtos = "a.example", true, []string{"http/1.1"}
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: cfg}
	c, err := d.Dial("tcp", net.JoinHostPort(l.addr, strconv.Itoa(int(l.port))))
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	tc := c.(*tls.Conn)
	if _, err := io.WriteString(tc, "GET / HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n"); err != nil {
		return tc.ConnectionState(), err
	}
	resp, err := io.ReadAll(tc)
	if err == nil && !strings.HasPrefix(string(resp), "HTTP/1.1 200 ") {
		err = fmt.Errorf("response %.40q", resp)
	}
	return tc.ConnectionState(), err
}

// testTLSProfile: TLS 1.2 clients get a suite of the profile or nothing;
// TLS 1.1 and curves outside the profile are refused. Each refusal must
// be the server's (an alert), not the client's.
func (s *Suite) testTLSProfile(t *testing.T) {
	needs(t, s.Capabilities.TLS, "TLS")
	l := s.startTLSLab(t, provider.Options{})
	profile := provider.IntermediateTLS()
	for _, c := range profile.CipherSuites {
		if !strings.Contains(c.OpenSSL, "ECDSA") {
			continue // the certificate is ECDSA
		}
		st, err := l.exchange(&tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{c.ID}})
		switch {
		case err != nil:
			t.Errorf("TLS 1.2 offering only %s (in the profile): %v", c.OpenSSL, err)
		case st.Version != tls.VersionTLS12 || st.CipherSuite != c.ID:
			t.Errorf("TLS 1.2 offering only %s: got version %x, suite %s", c.OpenSSL, st.Version, tls.CipherSuiteName(st.CipherSuite))
		}
	}
	for _, id := range []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256} {
		_, err := l.exchange(&tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{id}})
		if err == nil || !strings.Contains(err.Error(), "handshake failure") {
			t.Errorf("TLS 1.2 offering only %s (not in the profile): %v, want the server's handshake failure alert", tls.CipherSuiteName(id), err)
		}
	}
	_, err := l.exchange(&tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
	if err == nil || !strings.Contains(err.Error(), "protocol version") {
		t.Errorf("TLS 1.1: %v, want the server's protocol version alert", err)
	}
	_, err = l.exchange(&tls.Config{MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.CurveP521}})
	if err == nil || !strings.Contains(err.Error(), "handshake failure") {
		t.Errorf("TLS 1.3 offering only the curve P-521 (not in the profile): %v, want the server's handshake failure alert", err)
	}
	st, err := l.exchange(&tls.Config{})
	if err != nil || st.Version != tls.VersionTLS13 {
		t.Errorf("a default client: version %x, %v; want TLS 1.3", st.Version, err)
	}
}

// testTLSResumption: a client that kept its session resumes it on its
// next connection, over TLS 1.2 and 1.3, unless resumption is off.
func (s *Suite) testTLSResumption(t *testing.T) {
	needs(t, s.Capabilities.TLS, "TLS")
	for _, off := range []bool{false, true} {
		t.Run(map[bool]string{false: "On", true: "Off"}[off], func(t *testing.T) {
			l := s.startTLSLab(t, provider.Options{NoTLSSessionResumption: off})
			for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
				cfg := &tls.Config{MinVersion: v, MaxVersion: v, ClientSessionCache: tls.NewLRUClientSessionCache(4)}
				for i := range 3 {
					st, err := l.exchange(cfg)
					if err != nil {
						t.Fatalf("%s connection %d: %v", tls.VersionName(v), i+1, err)
					}
					if want := !off && i > 0; st.DidResume != want {
						t.Errorf("%s connection %d (resumption off: %v): resumed %v, want %v", tls.VersionName(v), i+1, off, st.DidResume, want)
					}
				}
			}
		})
	}
}
