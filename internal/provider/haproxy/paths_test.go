package haproxy

import (
	"bufio"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// TestPathRulesAgreeWithNormalizePath sends generated paths through a real
// HAProxy and checks that pathRules do what lbconfig.NormalizePath does,
// which the builtin proxy calls: the same paths refused with 400, the
// same normalized path forwarded, the query as it came.
func TestPathRulesAgreeWithNormalizePath(t *testing.T) {
	p := newProvider(t, runtimeDir(t), nil)
	port := nettest.FreePort(t)
	apply(t, p, simpleConfig(port, nettest.EchoEndpoint(t, "echo")))
	waitFor(t, 10*time.Second, "the listener", func() bool {
		status, _ := rawGet(port, "/")
		return status == http.StatusOK
	})

	tokens := []string{"/", "/", "/", "//", ".", "..", "%2e", "%2E", "a", "%61", "%7e", "%7E", "%c3%a9",
		"%20", "%2f", "%5C", "%00", "%7f", "%zz", "%4", "\\", ";", "~", "-", "%25", "%3f", "%3F", "b"}
	queries := []string{"", "?", "?q=%7e&r=%2f/../", "?%zz=%2E"}
	rng := rand.New(rand.NewPCG(10, 2))
	changed, refused := 0, 0
	for range 1000 {
		var b strings.Builder
		b.WriteByte('/')
		for range 1 + rng.IntN(8) {
			b.WriteString(tokens[rng.IntN(len(tokens))])
		}
		path, query := b.String(), queries[rng.IntN(len(queries))]
		status, seen := rawGet(port, path+query)
		want, err := lbconfig.NormalizePath(path)
		if err != nil {
			refused++
		} else if want != path {
			changed++
		}
		switch {
		case err != nil:
			if status != http.StatusBadRequest || seen != "" {
				t.Errorf("%q: got %d, backend saw %q; NormalizePath refuses it (%v), want 400", path+query, status, seen, err)
			}
		case status != http.StatusOK || seen != want+query:
			t.Errorf("%q: got %d, backend saw %q; want %q", path+query, status, seen, want+query)
		}
	}
	t.Logf("of 1000 paths, NormalizePath changed %d and refused %d", changed, refused)
	if changed < 50 || refused < 50 {
		t.Errorf("the generated paths test too little: %d changed, %d refused", changed, refused)
	}
}

// rawGet sends "GET <target> HTTP/1.1" as it is and returns the status and
// the request target the echo backend saw ("" if none did).
func rawGet(port int32, target string) (int, string) {
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(int(port)), 5*time.Second)
	if err != nil {
		return 0, ""
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "GET "+target+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
		return 0, ""
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, ""
	}
	_ = resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("X-Echo-Request-Uri")
}
