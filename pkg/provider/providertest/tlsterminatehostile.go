package providertest

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// testTLSTerminatedForTCPHostile: where TLS is terminated for a TCP
// backend, plaintext first bytes and unknown server names are closed
// without reaching the backend, a ClientHello sent byte by byte is
// served, a handshake the client never finishes is closed within the
// providers' wait for it (10s) without a byte reaching the backend, and
// a backend that never answers holds only its own connections.
func (s *Suite) testTLSTerminatedForTCPHostile(t *testing.T) {
	needs(t, s.Capabilities.TLSTerminateTCP, "TLSTerminateTCP")
	l := s.start(t)
	plain := l.startBackend("plain")
	mute := startMuteBackend(t)
	own := nettest.NewCert(t, "proxy", "term.example", "mute.example")
	port := l.freePort()
	c := config([]lbconfig.LoadBalancer{loadBalancer("default",
		lbconfig.Listener{Port: port, Protocol: lbconfig.ProtocolTLSPassthrough, VirtualHosts: []lbconfig.VirtualHost{
			{Hostname: "term.example", TLS: own.Ref(), TCP: plain.defaultTo()},
			{Hostname: "mute.example", TLS: own.Ref(), TCP: &lbconfig.BackendRef{Name: mute.Name}},
		}})}, plain.pool(), mute.Backend)
	c.Certificates = []lbconfig.Certificate{own.Certificate()}
	l.apply(c)
	reaches := func() (bool, string) {
		served, r := l.tlsGet(port, "term.example", "term.example", "/")
		return r.err == nil && r.server == "plain" && served.Equal(own.Leaf), r.String()
	}
	l.eventually("TLS terminated for a TCP backend", reaches)
	addr := net.JoinHostPort(l.addr, strconv.Itoa(int(port)))

	t.Run("PlaintextFirst", func(t *testing.T) {
		before := plain.bytesIn.Load()
		for _, first := range []string{
			"GET / HTTP/1.1\r\nHost: term.example\r\n\r\n",
			"\x16\x03\x01\x00\x05hello", // a handshake record that is no hello
		} {
			if got, err := closedAfter(addr, first); err != nil {
				t.Errorf("first bytes %q: %v", first, err)
			} else if len(got) > 0 {
				t.Errorf("first bytes %q: got %q; want the connection closed without an answer", first, got)
			}
		}
		if n := plain.bytesIn.Load() - before; n != 0 {
			t.Errorf("the backend read %d bytes of plaintext clients", n)
		}
	})
	t.Run("UnknownServerName", func(t *testing.T) {
		for _, sni := range []string{"other.example", "", "term.example.other"} {
			if cert, err := helloThrough(addr, sni, false, nil); err == nil {
				t.Errorf("SNI %q: answered with certificate %q; want the connection closed", sni, cert.Subject.CommonName)
			}
		}
	})
	t.Run("ByteByByte", func(t *testing.T) {
		if cert, err := helloThrough(addr, "term.example", true, nil); err != nil || !cert.Equal(own.Leaf) {
			t.Errorf("a ClientHello sent byte by byte: %v; want the virtual host's certificate", err)
		}
	})
	t.Run("UnfinishedHandshake", func(t *testing.T) {
		before := plain.bytesIn.Load()
		start := time.Now()
		if err := unfinishedHandshake(addr, "term.example"); err != nil {
			t.Error(err)
		} else if d := time.Since(start); d < 5*time.Second {
			t.Errorf("closed after %v, before the client could have been slow", d)
		}
		if n := plain.bytesIn.Load() - before; n != 0 {
			t.Errorf("the backend read %d bytes of a connection whose handshake never ended", n)
		}
	})
	t.Run("MuteBackend", func(t *testing.T) {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				_ = c.Close()
			}
		}()
		for range 8 {
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{ServerName: "mute.example", RootCAs: own.Pool})
			if err != nil {
				t.Fatalf("mute.example: %v", err)
			}
			held = append(held, c)
			if _, err := io.WriteString(c, "ping\n"); err != nil {
				t.Fatalf("mute.example: %v", err)
			}
		}
		for i := range held {
			select {
			case <-mute.accepted:
			case <-time.After(10 * time.Second):
				t.Fatalf("the mute backend got %d of the %d connections", i, len(held))
			}
		}
		if ok, saw := reaches(); !ok {
			t.Errorf("term.example beside 8 connections to a mute backend: %s", saw)
		}
		_ = held[0].SetReadDeadline(time.Now().Add(time.Second))
		if n, err := held[0].Read(make([]byte, 1)); n > 0 || !isTimeout(err) {
			t.Errorf("a connection to the mute backend read %d bytes, %v; want nothing yet", n, err)
		}
	})
}

// unfinishedHandshake sends a ClientHello for sni to addr and no
// handshake message after it, and waits for the connection to be closed;
// an error if it is still open at helloDeadline or answers with data.
func unfinishedHandshake(addr, sni string) error {
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(helloDeadline))
	tc := tls.Client(&helloOnly{Conn: raw}, &tls.Config{ServerName: sni, InsecureSkipVerify: true}) //nolint:gosec // the server is not checked here
	// The client believes the handshake done; the server never gets its
	// Finished message.
	if err := tc.Handshake(); err != nil {
		return nil // closed during the handshake
	}
	_, err = tc.Read(make([]byte, 1))
	switch {
	case isTimeout(err):
		return errors.New("a handshake the client never finished held the connection past " + helloDeadline.String())
	case err == nil:
		return errors.New("a handshake the client never finished was answered with data")
	}
	return nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// helloOnly writes the first message it is given and drops the others.
type helloOnly struct {
	net.Conn
	written bool
}

func (h *helloOnly) Write(p []byte) (int, error) {
	if h.written {
		return len(p), nil
	}
	h.written = true
	return h.Conn.Write(p)
}
