package builtin

import (
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// TestRouteTimeoutEndsTrickle: the builtin bounds the whole exchange, so
// a body that keeps coming, a byte every 100ms, is cut at the request
// timeout (HAProxy, with inactivity timeouts only, lets it finish; see
// docs/providers.md); a route without timeouts lets it finish.
func TestRouteTimeoutEndsTrickle(t *testing.T) {
	trickle := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Echo-Server", "trickle")
		w.WriteHeader(http.StatusOK)
		for i := range 15 {
			if _, err := io.WriteString(w, strconv.Itoa(i%10)); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-time.After(100 * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		}
	})
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	timed := prefix("/timed", "trickle")
	timed.Timeouts = &lbconfig.RouteTimeouts{Request: lbconfig.Duration(700 * time.Millisecond)}
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("trickle", startBackend(t, trickle))}, nil,
		vh("", timed, prefix("/plain", "trickle"))))
	c := testClient(t)
	for _, tc := range []struct {
		path string
		cut  bool
	}{{"/timed", true}, {"/plain", false}} {
		start := time.Now()
		resp, err := c.Get("http://127.0.0.1:" + strconv.Itoa(int(port)) + tc.path)
		if err != nil {
			t.Fatalf("GET %s: %v", tc.path, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		switch {
		case tc.cut && (err == nil || took > 1200*time.Millisecond):
			t.Errorf("GET %s: %d bytes, %v, in %v; want the body cut at about 700ms", tc.path, len(body), err, took)
		case !tc.cut && (err != nil || len(body) != 15):
			t.Errorf("GET %s: %d bytes, %v; want all 15", tc.path, len(body), err)
		}
	}
}
