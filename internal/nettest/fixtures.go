package nettest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ingress-controller/internal/selfsigned"
	"ingress-controller/pkg/lbconfig"
)

// FreePort returns a TCP port of 127.0.0.1 that was free a moment ago. It
// is not reserved: whoever binds it next gets it.
func FreePort(t testing.TB) int32 {
	t.Helper()
	port, err := FreePortOn("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// FreePortOn returns a TCP port of host that is free, for callers
// without a testing.TB. The test binaries of several packages run at
// once, so a port that was merely free a moment ago may be bound by
// another's listener before the test binds it. So where the platform
// allows (claimPort), ports come from below the kernel's ephemeral range,
// which nothing binding port 0 or connecting out gets, and each is claimed
// machine-wide for as long as this process lives: no FreePortOn of another
// process hands it out meanwhile. It never returns a port twice in one
// process either.
func FreePortOn(host string) (int32, error) {
	lo, hi, ok := claimRange()
	for range 500 {
		port := int32(0)
		if ok {
			port = lo + rand.Int32N(hi-lo)
			if !handedOut.add(port) || !claimPort(port) {
				continue
			}
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(int(port))))
		if err != nil {
			if ok {
				continue // taken by something that does not claim
			}
			return 0, fmt.Errorf("free port on %s: %w", host, err)
		}
		port = int32(ln.Addr().(*net.TCPAddr).Port)
		_ = ln.Close()
		if ok || handedOut.add(port) {
			return port, nil
		}
	}
	return 0, fmt.Errorf("free port on %s: none that was not handed out already", host)
}

// handedOut are the ports FreePortOn returned. Process-wide on purpose:
// every test of a package shares the machine's ports.
var handedOut = portSet{ports: map[int32]bool{}}

type portSet struct {
	mu    sync.Mutex
	ports map[int32]bool
}

// add records port and reports whether it was new.
func (s *portSet) add(port int32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ports[port] {
		return false
	}
	s.ports[port] = true
	return true
}

// Buffer is a bytes.Buffer safe for one writer and concurrent readers: a
// log or process output sink that a test reads while something writes.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Logger logs every record through t.Log, so a failing test shows what the
// code under test said.
func Logger(t testing.TB) *slog.Logger { return LoggerAt(t, slog.LevelDebug) }

// LoggerAt is Logger for records at level and above.
func LoggerAt(t testing.TB, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Cert is a self-signed certificate made for one test, valid for an hour.
type Cert struct {
	// Name is the certificate's name in an lbconfig.Config, "test/<cn>".
	Name             string
	Hosts            []string
	ChainPEM, KeyPEM []byte
	Leaf             *x509.Certificate
	TLS              tls.Certificate
	// Pool trusts only this certificate.
	Pool *x509.CertPool
}

// NewCert makes a certificate for cn valid for hosts, or fails the test.
func NewCert(t testing.TB, cn string, hosts ...string) Cert {
	t.Helper()
	c, err := selfsigned.New(cn, time.Hour, hosts...)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c.Leaf)
	return Cert{Name: "test/" + cn, Hosts: hosts, ChainPEM: c.ChainPEM, KeyPEM: c.KeyPEM, Leaf: c.Leaf, TLS: c.TLS, Pool: pool}
}

// Certificate is c as a config's certificate.
func (c Cert) Certificate() lbconfig.Certificate {
	return lbconfig.Certificate{Name: c.Name, ChainPEM: c.ChainPEM, KeyPEM: c.KeyPEM, Hosts: c.Hosts}
}

// Ref refers to c from a virtual host or a listener.
func (c Cert) Ref() *lbconfig.CertificateRef { return &lbconfig.CertificateRef{Name: c.Name} }

// EchoFor serves Echo{Name: name} on a free port of 127.0.0.1 for the
// rest of the test.
func EchoFor(t testing.TB, name string) *EchoServer {
	t.Helper()
	s, err := StartEcho(name, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// EchoEndpoint serves Echo{Name: name} on a free port of 127.0.0.1 for
// the rest of the test and returns it as an endpoint.
func EchoEndpoint(t testing.TB, name string) lbconfig.Endpoint {
	t.Helper()
	return Endpoint(t, EchoFor(t, name).Addr)
}

// TLSEchoEndpoint is EchoEndpoint for a backend that does TLS itself with
// cert, as TLS passthrough must reach it.
func TLSEchoEndpoint(t testing.TB, name string, cert Cert) lbconfig.Endpoint {
	t.Helper()
	s, err := StartTLSEcho(name, "127.0.0.1:0", cert.TLS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return Endpoint(t, s.Addr)
}

// Endpoint is addr, "ip:port", as a ready and serving endpoint.
func Endpoint(t testing.TB, addr string) lbconfig.Endpoint {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		t.Fatal(err)
	}
	return lbconfig.Endpoint{Address: host, Port: int32(n), Ready: true, Serving: true}
}
