package providertest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// helloDeadline bounds each hostile exchange: longer than both
// providers' wait for a ClientHello (10s), so that a connection held
// past it fails the case.
const helloDeadline = 20 * time.Second

// testHostileClientHellos: a TLS passthrough listener picks the backend
// by the server name of the ClientHello, which it reads before any
// backend is chosen. Hellos without a server name, too large, with a
// first byte that is not TLS, or sent byte by byte must never reach a
// backend they do not name nor hold the listener up, and clients that
// follow are still served.
func (s *Suite) testHostileClientHellos(t *testing.T) {
	needs(t, s.Capabilities.TCP, "TCP")
	l := s.start(t)
	inner := nettest.NewCert(t, "backend", "pass.example", "*.wild.example")
	pass := l.startTLSBackend("pass", inner)
	port := l.freePort()
	l.apply(config([]lbconfig.LoadBalancer{loadBalancer("default",
		lbconfig.Listener{Port: port, Protocol: lbconfig.ProtocolTLSPassthrough, VirtualHosts: []lbconfig.VirtualHost{
			{Hostname: "pass.example", Passthrough: pass.defaultTo()},
			{Hostname: "*.wild.example", Passthrough: pass.defaultTo()},
		}})}, pass.pool()))
	reaches := func(sni string) (bool, string) {
		served, r := l.tlsGet(port, sni, sni, "/")
		return r.err == nil && r.server == "pass" && served.Equal(inner.Leaf), r.String()
	}
	l.eventually("TLS passed through by SNI", func() (bool, string) { return reaches("pass.example") })
	addr := net.JoinHostPort(l.addr, strconv.Itoa(int(port)))

	t.Run("NoServerName", func(t *testing.T) {
		if cert, err := helloThrough(addr, "", false, nil); err == nil {
			t.Errorf("a ClientHello without a server name was answered with certificate %q; want the connection closed", cert.Subject.CommonName)
		}
	})
	t.Run("UnknownServerName", func(t *testing.T) {
		if cert, err := helloThrough(addr, "other.example", false, nil); err == nil {
			t.Errorf("a ClientHello for other.example was answered with certificate %q; want the connection closed", cert.Subject.CommonName)
		}
	})
	t.Run("NotTLS", func(t *testing.T) {
		for _, first := range []string{
			"GET / HTTP/1.1\r\nHost: pass.example\r\n\r\n",
			"\x00\x00\x00\x00\x00\x00\x00\x00",
			"\x80\x2e\x01\x03\x01\x00\x15\x00\x00\x00\x10", // an SSLv2 hello
			"\x15\x03\x01\x00\x02\x02\x28",                 // an alert, not a hello
		} {
			if got, err := closedAfter(addr, first); err != nil {
				t.Errorf("first bytes %q: %v", first, err)
			} else if len(got) > 0 {
				t.Errorf("first bytes %q: got %q; want the connection closed without an answer", first, got)
			}
		}
	})
	t.Run("HugeClientHello", func(t *testing.T) {
		// About 48 KiB of ALPN names: a hello over three TLS records.
		var protos []string
		for i := range 190 {
			protos = append(protos, fmt.Sprintf("%03d%s", i, strings.Repeat("x", 250)))
		}
		start := time.Now()
		cert, err := helloThrough(addr, "pass.example", false, protos)
		switch {
		case time.Since(start) > helloDeadline:
			t.Errorf("a huge ClientHello held the connection %v", time.Since(start))
		case err == nil && !cert.Equal(inner.Leaf):
			t.Errorf("a huge ClientHello for pass.example got certificate %q; want the backend's, or the connection closed", cert.Subject.CommonName)
		case err != nil:
			t.Logf("a huge ClientHello for pass.example: %v (closed)", err)
		default:
			t.Logf("a huge ClientHello for pass.example reached the backend")
		}
	})
	t.Run("ByteByByte", func(t *testing.T) {
		cert, err := helloThrough(addr, "a.wild.example", true, nil)
		if err != nil || !cert.Equal(inner.Leaf) {
			t.Errorf("a ClientHello for a.wild.example sent byte by byte: %v; want the backend's certificate", err)
		}
	})
	t.Run("StillServes", func(t *testing.T) {
		if ok, saw := reaches("b.wild.example"); !ok {
			t.Errorf("after the hostile hellos, b.wild.example: %s", saw)
		}
	})
}

// helloThrough makes a TLS handshake with addr with server name sni
// (none when ""), the ALPN names protos, and, if slow, its ClientHello
// written a byte at a time; it returns the certificate served.
func helloThrough(addr, sni string, slow bool, protos []string) (*x509.Certificate, error) {
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(helloDeadline))
	var c net.Conn = raw
	if slow {
		c = &byteWriter{Conn: raw}
	}
	tc := tls.Client(c, &tls.Config{ServerName: sni, InsecureSkipVerify: true, NextProtos: protos}) //nolint:gosec // the test reads the certificate served
	if err := tc.Handshake(); err != nil {
		return nil, err
	}
	return tc.ConnectionState().PeerCertificates[0], nil
}

// byteWriter writes what it is given a byte at a time, a millisecond
// apart.
type byteWriter struct{ net.Conn }

func (w *byteWriter) Write(p []byte) (int, error) {
	for i := range p {
		if _, err := w.Conn.Write(p[i : i+1]); err != nil {
			return i, err
		}
		time.Sleep(time.Millisecond)
	}
	return len(p), nil
}

// closedAfter sends first to addr and returns what comes back until the
// connection is closed; an error if it is still open at the deadline.
func closedAfter(addr, first string) ([]byte, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(helloDeadline))
	if _, err := io.WriteString(c, first); err != nil {
		return nil, nil // closed before all was written
	}
	var got bytes.Buffer
	_, err = io.Copy(&got, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return got.Bytes(), fmt.Errorf("the connection is still open after %v", helloDeadline)
	}
	return got.Bytes(), nil
}
