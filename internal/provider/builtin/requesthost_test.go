package builtin

import (
	"net/http"
	"strconv"
	"testing"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

func TestRedirectToRequestHost(t *testing.T) {
	http80 := lbconfig.Listener{Port: 80, Protocol: lbconfig.ProtocolHTTP}
	https8443 := lbconfig.Listener{Port: 8443, Protocol: lbconfig.ProtocolHTTPS}
	for _, tc := range []struct {
		rd    lbconfig.Redirect
		vhost string
		l     lbconfig.Listener
		host  string
		want  string // "" for refused
	}{
		{lbconfig.Redirect{RequestHost: true}, "", http80, "a.example", "http://a.example/p?q"},
		{lbconfig.Redirect{RequestHost: true}, "", https8443, "a.example:8443", "https://a.example:8443/p?q"},
		{lbconfig.Redirect{RequestHost: true, Scheme: "https"}, "*.example", http80, "X.A.Example.:80", "https://x.a.example/p?q"},
		{lbconfig.Redirect{RequestHost: true, Port: 8083}, "", http80, "[::1]:80", "http://[::1]:8083/p?q"},
		{lbconfig.Redirect{RequestHost: true, Scheme: "http"}, "", https8443, "127.0.0.1", "http://127.0.0.1/p?q"},
		// An exact virtual host is its own name.
		{lbconfig.Redirect{RequestHost: true, Scheme: "https"}, "h.example", http80, "other.example", "https://h.example/p?q"},
		{lbconfig.Redirect{RequestHost: true}, "", http80, "", ""},
		{lbconfig.Redirect{RequestHost: true}, "", http80, "a@b.example", ""},
		{lbconfig.Redirect{RequestHost: true}, "", http80, "a.example/evil", ""},
		{lbconfig.Redirect{RequestHost: true}, "", http80, "a_b.example", ""},
		{lbconfig.Redirect{RequestHost: true}, "", http80, "a.example:x", ""},
	} {
		rd := compileRedirectTo(&tc.rd, tc.vhost, "", tc.l)
		got, ok := rd.location("/p", "/p?q", tc.host)
		if ok != (tc.want != "") || got != tc.want {
			t.Errorf("%+v on %q, Host %q: location = %q, %v, want %q", tc.rd, tc.vhost, tc.host, got, ok, tc.want)
		}
	}
}

// TestFastPathRequestHostAllocatesNothing: a redirect that reflects the
// request's host, with a port, is answered on the fast path without a
// heap allocation (routing lower-cases a host in upper case, which
// allocates); a Host it cannot reflect gets 400.
func TestFastPathRequestHostAllocatesNothing(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	route := prefix("/", "b")
	route.Redirect = &lbconfig.Redirect{RequestHost: true, Port: 8083, StatusCode: 302}
	wild := vh("*.example.com", route)
	wild.MultiLabel = true
	mustApply(t, p, oneListener(port, []lbconfig.Backend{{Name: "b"}}, nil, wild))
	addr := "127.0.0.1:" + strconv.Itoa(int(port))

	allocs, buf := keepAliveAllocs(t, addr, []byte("GET /a?b HTTP/1.1\r\nHost: x.y.example.com:80\r\n\r\n"), nil)
	want := "HTTP/1.1 302 Found\r\nLocation: http://x.y.example.com:8083/a?b\r\nContent-Length: 0\r\n\r\n"
	if got := string(buf[:len(want)]); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if allocs != 0 {
		t.Errorf("%v allocations per redirect, want 0", allocs)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/a", nil)
	req.Host = "a_b.example.com"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Errorf("Host a_b.example.com: %d, Location %q, want 400 without Location", resp.StatusCode, resp.Header.Get("Location"))
	}
}
