package admin

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestEndpoints(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "test_things_total", Help: "things"})
	reg.MustRegister(c)
	c.Add(3)
	var ready atomic.Bool
	s := New("127.0.0.1:0", reg, slog.New(slog.NewTextHandler(io.Discard, nil)), func(context.Context) error {
		if !ready.Load() {
			return errors.New("no config applied yet")
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	addr, err := s.Addr(ctx)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr

	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
	if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, "no config applied yet") {
		t.Errorf("/readyz before ready = %d %q, want 503 with the reason", code, body)
	}
	ready.Store(true)
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Errorf("/readyz when ready = %d", code)
	}
	if code, body := get(t, base+"/metrics"); code != 200 || !strings.Contains(body, "test_things_total 3") {
		t.Errorf("/metrics = %d, missing the counter:\n%s", code, body)
	}
}

// TestPprofOnlyWhenAsked: profiles are served only after ServePprof.
func TestPprofOnlyWhenAsked(t *testing.T) {
	for _, enable := range []bool{false, true} {
		s := New("127.0.0.1:0", prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
		if enable {
			s.ServePprof()
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- s.Run(ctx) }()
		addr, err := s.Addr(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := http.StatusNotFound
		if enable {
			want = http.StatusOK
		}
		for _, path := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/heap"} {
			if code, _ := get(t, "http://"+addr+path); code != want {
				t.Errorf("pprof enabled %v: %s = %d, want %d", enable, path, code, want)
			}
		}
		if code, _ := get(t, "http://"+addr+"/metrics"); code != http.StatusOK {
			t.Errorf("pprof enabled %v: /metrics = %d, want 200", enable, code)
		}
		cancel()
		<-done
	}
}
