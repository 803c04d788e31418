// Package admin serves the controller's own HTTP endpoints, apart from the
// traffic it proxies: /healthz (the process is alive), /readyz (it serves a
// config), /metrics (Prometheus) and /debug/pprof (profiles). Bind it to
// localhost, or protect it, because profiles and metrics describe the
// cluster's routing.
package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check is one readiness condition; it returns nil when ready.
type Check func(ctx context.Context) error

// Server is the admin HTTP server.
type Server struct {
	addr   string
	log    *slog.Logger
	mux    *http.ServeMux
	checks []Check
	// Addr is the address actually bound, set once Run listens.
	bound chan string
}

// New returns a server for addr ("127.0.0.1:10254") that reports metrics
// from gatherer and is ready when every check passes.
func New(addr string, gatherer prometheus.Gatherer, log *slog.Logger, checks ...Check) *Server {
	s := &Server{addr: addr, log: log, mux: http.NewServeMux(), checks: checks, bound: make(chan string, 1)}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	return s
}

// ServePprof adds /debug/pprof. Call it before Run, and only for a server
// whose address only trusted clients reach.
func (s *Server) ServePprof() {
	s.mux.HandleFunc("/debug/pprof/", pprof.Index)
	s.mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	s.mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	s.mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	s.mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var errs []error
	for _, check := range s.checks {
		if err := check(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// Addr waits until Run has bound its listener and returns the address.
func (s *Server) Addr(ctx context.Context) (string, error) {
	select {
	case a := <-s.bound:
		s.bound <- a
		return a, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Run serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("--metrics-addr: %w", err)
	}
	s.bound <- ln.Addr().String()
	srv := &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("admin endpoints listening", "address", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	return nil
}
