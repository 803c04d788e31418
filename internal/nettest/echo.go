// Package nettest holds real network fixtures for tests, benchmarks and the
// quick start: echo backends that say who answered, loopback addresses, test
// hosts in network namespaces joined by a bridge (Network), and the small
// fixtures every test package would otherwise write again (free ports, a log
// sink safe to read while written, a logger into the test log, self-signed
// certificates).
package nettest

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Echo is an HTTP handler that identifies itself and the request it got.
// Every response carries the headers X-Echo-Server (its Name), X-Echo-Host,
// X-Echo-Path, X-Echo-Request-Uri (the request target as it came, still
// encoded: what a proxy forwarded), X-Echo-Forwarded-For when the request
// had an X-Forwarded-For, and the body "<name> <host><uri>\n". A request
// with the header "X-Echo-Headers: 1" also gets every request header in the
// body, one "Name: value" line each, sorted.
type Echo struct {
	Name string
}

func (e Echo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Echo-Server", e.Name)
	h.Set("X-Echo-Host", r.Host)
	h.Set("X-Echo-Path", r.URL.Path)
	h.Set("X-Echo-Request-Uri", r.RequestURI)
	if xff := r.Header["X-Forwarded-For"]; len(xff) > 0 {
		h["X-Echo-Forwarded-For"] = xff
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	var b strings.Builder
	b.WriteString(e.Name)
	b.WriteByte(' ')
	b.WriteString(r.Host)
	b.WriteString(r.URL.RequestURI())
	b.WriteByte('\n')
	if r.Header.Get("X-Echo-Headers") == "1" {
		var lines []string
		for k, vs := range r.Header {
			for _, v := range vs {
				lines = append(lines, k+": "+v)
			}
		}
		sort.Strings(lines)
		b.WriteString(strings.Join(lines, "\n"))
		b.WriteByte('\n')
	}
	_, _ = w.Write([]byte(b.String()))
}

// EchoServer is a running Echo backend.
type EchoServer struct {
	// Addr is the address it listens on, "ip:port".
	Addr string
	srv  *http.Server
	done chan struct{}
}

// StartEcho serves Echo{Name: name} on addr ("127.0.0.1:0" picks a free
// port) until Close.
func StartEcho(name, addr string) (*EchoServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return serveEcho(name, ln), nil
}

// StartTLSEcho serves Echo{Name: name} over TLS with cert on addr: a
// backend that does TLS itself, as TLS passthrough must reach it.
func StartTLSEcho(name, addr string, cert tls.Certificate) (*EchoServer, error) {
	ln, err := tls.Listen("tcp", addr, &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		return nil, err
	}
	return serveEcho(name, ln), nil
}

func serveEcho(name string, ln net.Listener) *EchoServer {
	s := &EchoServer{
		Addr: ln.Addr().String(),
		srv:  &http.Server{Handler: Echo{Name: name}, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic("echo server " + name + ": " + err.Error())
		}
	}()
	return s
}

// Close stops the server and waits for it to end.
func (s *EchoServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	<-s.done
	return err
}
