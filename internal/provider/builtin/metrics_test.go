package builtin

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
)

func TestBackendMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	p := New(provider.Options{ListenAddress: "127.0.0.1", Metrics: reg}, nettest.Logger(t))
	runProvider(t, p)
	port := nettest.FreePort(t)
	cfg := func(backends ...lbconfig.Backend) *lbconfig.Config {
		return oneListener(port, backends, &lbconfig.BackendRef{Name: "echo"},
			vh("empty.test", prefix("/", "empty")), vh("echo.test", prefix("/", "echo")))
	}
	mustApply(t, p, cfg(backendOf("echo", nettest.EchoEndpoint(t, "e")), backendOf("empty")))
	c := testClient(t)
	for range 3 {
		get(t, c, port, "echo.test", "/")
	}
	get(t, c, port, "empty.test", "/")
	get(t, c, port, "echo.test", "/", "X-Unused", "1")

	requests := func(backend, code string) float64 {
		return testutil.ToFloat64(p.metrics.requests.WithLabelValues(backend, code))
	}
	if got := requests("echo", "2xx"); got != 4 {
		t.Errorf(`requests{backend="echo",code="2xx"} = %v, want 4`, got)
	}
	if got := requests("empty", "5xx"); got != 1 {
		t.Errorf(`requests{backend="empty",code="5xx"} = %v, want 1`, got)
	}
	if n := testutil.CollectAndCount(reg, "ingress_controller_backend_request_duration_seconds"); n != 2 {
		t.Errorf("%d duration series, want one per backend (2)", n)
	}

	// A backend that leaves the config takes its series with it.
	mustApply(t, p, cfg(backendOf("echo", nettest.EchoEndpoint(t, "e2")), backendOf("empty", nettest.EchoEndpoint(t, "x"))))
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("echo", nettest.EchoEndpoint(t, "e3"))}, &lbconfig.BackendRef{Name: "echo"}))
	out, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range out {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "backend" && l.GetValue() == "empty" {
					t.Errorf("%s still has a series for the removed backend", mf.GetName())
				}
			}
		}
	}
	if got := requests("echo", "2xx"); got != 4 {
		t.Errorf("a backend that stays keeps its counts: %v, want 4", got)
	}
}

func TestAccessLog(t *testing.T) {
	var buf nettest.Buffer
	p := New(provider.Options{ListenAddress: "127.0.0.1", AccessLog: slog.New(slog.NewJSONHandler(&buf, nil))}, nettest.Logger(t))
	runProvider(t, p)
	port := nettest.FreePort(t)
	ep := nettest.EchoEndpoint(t, "e")
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("echo", ep)}, nil, vh("echo.test", prefix("/", "echo"))))
	c := testClient(t)
	get(t, c, port, "echo.test", "/path?token=secret", "User-Agent", "access-test")
	get(t, c, port, "nowhere.test", "/")
	// Values the client controls are clipped (the head stays under the
	// 32 KiB limit, past which the request never reaches the proxy).
	get(t, c, port, strings.Repeat("h", 6<<10)+".test", "/"+strings.Repeat("p", 12<<10), "User-Agent", strings.Repeat("u", 6<<10))

	var lines []map[string]any
	deadline := time.Now().Add(5 * time.Second)
	for len(lines) < 3 && time.Now().Before(deadline) {
		lines = nil
		for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil {
				lines = append(lines, m)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(lines) != 3 {
		t.Fatalf("access log:\n%.2000s\nwant 3 lines", buf.String())
	}
	for _, k := range []string{"host", "path", "user_agent"} {
		if v, _ := lines[2][k].(string); len(v) > 300 || !strings.Contains(v, "more bytes)") {
			t.Errorf("access log %s of %d bytes, want it clipped to about 256: %.100s", k, len(v), v)
		}
	}
	first, second := lines[0], lines[1]
	for k, want := range map[string]any{"msg": "request", "method": "GET", "host": "echo.test", "path": "/path",
		"status": 200.0, "backend": "echo", "client": "127.0.0.1", "user_agent": "access-test"} {
		if first[k] != want {
			t.Errorf("access log %s = %v, want %v", k, first[k], want)
		}
	}
	if first["endpoint"] == "" || first["bytes"].(float64) <= 0 {
		t.Errorf("access log endpoint %v, bytes %v: want both", first["endpoint"], first["bytes"])
	}
	if strings.Contains(buf.String(), "secret") {
		t.Errorf("the access log has the query string: %s", buf.String())
	}
	if second["status"] != 404.0 || second["backend"] != "" {
		t.Errorf("unrouted request logged as %v", second)
	}
}
