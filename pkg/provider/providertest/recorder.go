package providertest

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// recorder is a backend that keeps every request it gets, as net/http
// parsed it, and every byte it read from its connections, so that a case
// can say what a load balancer actually sent on, not only what came back.
type recorder struct {
	name string
	ref  string
	ep   lbconfig.Endpoint
	srv  *http.Server
	done chan struct{}

	mu   sync.Mutex
	reqs []recorded
	raw  strings.Builder
}

// recorded is one request a recorder got.
type recorded struct {
	method, host, path string
	header             http.Header
	body               string
	bodyErr            error
}

// startRecorder serves a recorder called name on a free 127.0.0.1 port
// until the case ends. Each request is read to its end and answered by
// answer, or with 200 "ok" when answer is nil; every answer carries
// X-Echo-Server, as the echo backends' do.
func (l *lab) startRecorder(name string, answer http.HandlerFunc) *recorder {
	l.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		l.t.Fatalf("providertest: backend %s: %v", name, err)
	}
	rec := &recorder{
		name: name,
		ref:  "test/" + name + ":80",
		ep: lbconfig.Endpoint{
			Address: "127.0.0.1",
			Port:    int32(ln.Addr().(*net.TCPAddr).Port),
			Ready:   true,
			Serving: true,
		},
		done: make(chan struct{}),
	}
	rec.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(r.Body)
			rec.mu.Lock()
			rec.reqs = append(rec.reqs, recorded{method: r.Method, host: r.Host, path: r.URL.Path, header: r.Header.Clone(), body: string(body), bodyErr: err})
			rec.mu.Unlock()
			w.Header().Set("X-Echo-Server", name)
			if answer != nil {
				answer(w, r)
				return
			}
			_, _ = io.WriteString(w, "ok\n")
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() {
		defer close(rec.done)
		_ = rec.srv.Serve(recordingListener{ln, rec})
	}()
	l.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if rec.srv.Shutdown(ctx) != nil {
			_ = rec.srv.Close()
		}
		<-rec.done
	})
	return rec
}

// pool is the lbconfig backend with just this endpoint.
func (rec *recorder) pool() lbconfig.Backend {
	return lbconfig.Backend{Name: rec.ref, Endpoints: []lbconfig.Endpoint{rec.ep}}
}

// defaultTo is a listener's default backend reference to rec.
func (rec *recorder) defaultTo() *lbconfig.BackendRef { return &lbconfig.BackendRef{Name: rec.ref} }

// take returns and forgets what rec got so far: the requests and the raw
// bytes read from all its connections.
func (rec *recorder) take() ([]recorded, string) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	reqs, raw := rec.reqs, rec.raw.String()
	rec.reqs = nil
	rec.raw.Reset()
	return reqs, raw
}

// recordingListener hands out connections whose reads rec keeps.
type recordingListener struct {
	net.Listener
	rec *recorder
}

func (ln recordingListener) Accept() (net.Conn, error) {
	c, err := ln.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return recordingConn{c, ln.rec}, nil
}

type recordingConn struct {
	net.Conn
	rec *recorder
}

func (c recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.rec.mu.Lock()
	c.rec.raw.Write(p[:n])
	c.rec.mu.Unlock()
	return n, err
}
