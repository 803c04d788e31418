package haproxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// rawAnswer writes raw on a new connection to port and returns the status
// of the answer (0: none) and how long it took.
func rawAnswer(t *testing.T, port int32, raw string, within time.Duration) (int, time.Duration) {
	t.Helper()
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_ = c.SetDeadline(start.Add(within))
	_, _ = io.WriteString(c, raw)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, time.Since(start)
	}
	resp.Body.Close()
	return resp.StatusCode, time.Since(start)
}

// TestClientLimitAnswers pins what HAProxy 2.6 itself answers where the
// builtin provider's answers differ or are not obvious: 431 from the head
// rule one byte over the limit, 400 from HAProxy's parser for a head that
// does not fit its buffer, and 504 after the server timeout (not 408
// after the client one) for a request body that stops coming.
func TestClientLimitAnswers(t *testing.T) {
	p := newProvider(t, runtimeDir(t), func(o *Options) {
		o.MaxRequestHeaderBytes = 4096
		o.ClientBodyTimeout = time.Second
	})
	port := nettest.FreePort(t)
	cfg := simpleConfig(port, nettest.EchoEndpoint(t, "a"))
	const server = 2 * time.Second
	cfg.Backends[0].Policy.Timeouts.ResponseHeader = lbconfig.Duration(server)
	apply(t, p, cfg)
	head := func(n int) string {
		start := "GET / HTTP/1.1\r\nHost: x.test\r\n"
		return start + "X-Pad: " + strings.Repeat("a", n-len(start)-len("X-Pad: \r\n\r\n")) + "\r\n\r\n"
	}
	for _, tc := range []struct {
		name string
		raw  string
		want int
		// after is how long the answer must take at least
		after time.Duration
	}{
		{"head at the limit", head(4096), http.StatusOK, 0},
		{"head one byte over", head(4097), http.StatusRequestHeaderFieldsTooLarge, 0},
		{"head over the buffer", head(64 << 10), http.StatusBadRequest, 0},
		{"stalled body", "POST / HTTP/1.1\r\nHost: x.test\r\nContent-Length: 100\r\n\r\n" + strings.Repeat("x", 50), http.StatusGatewayTimeout, server},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, took := rawAnswer(t, port, tc.raw, 10*time.Second)
			if status != tc.want || took < tc.after*9/10 {
				t.Errorf("status %d after %s, want %d after at least %s", status, took, tc.want, tc.after)
			}
		})
	}
}
