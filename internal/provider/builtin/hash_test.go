package builtin

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/internal/provider/builtin/http1"
	"ingress-controller/pkg/lbconfig"
)

// ringOwners maps n keys to the address of the endpoint a ring over addrs
// gives each.
func ringOwners(addrs []string, n int) []string {
	b := &backend{policy: &policy{}}
	for _, a := range addrs {
		b.endpoints = append(b.endpoints, endpoint{addr: a, pool: &connPool{}})
	}
	b.ring = buildRing(b.endpoints)
	out := make([]string, n)
	for i := range out {
		out[i] = b.chooseByKey(mix(fnvAdd(fnvOffset, fmt.Sprintf("user-%d", i))), nil).ep.addr
	}
	return out
}

// TestRingIsConsistent checks the promise of consistent hashing: keys
// spread over every endpoint, and removing one of four moves only its
// own keys, about a quarter; adding it back moves them back.
func TestRingIsConsistent(t *testing.T) {
	const keys = 20000
	four := []string{"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "[2001:db8::4]:8080"}
	before := ringOwners(four, keys)
	count := map[string]int{}
	for _, a := range before {
		count[a]++
	}
	for _, a := range four {
		// Evenly is 25%; 160 points per endpoint keep it within a few.
		if c := count[a]; c < keys*18/100 || c > keys*32/100 {
			t.Errorf("%s has %d of %d keys, want 18%% to 32%%", a, c, keys)
		}
	}
	after := ringOwners(four[:3], keys)
	moved := 0
	for i := range before {
		switch {
		case before[i] == four[3]:
			moved++
		case after[i] != before[i]:
			t.Fatalf("key %d moved from %s to %s, though its endpoint stayed", i, before[i], after[i])
		}
	}
	if moved < keys*18/100 || moved > keys*32/100 {
		t.Errorf("%d of %d keys moved, want about a quarter", moved, keys)
	}
	// The order of the endpoints does not matter, only their addresses.
	again := ringOwners([]string{four[3], four[1], four[0], four[2]}, keys)
	for i := range before {
		if again[i] != before[i] {
			t.Fatalf("key %d: %s with the endpoints reordered, %s before", i, again[i], before[i])
		}
	}
}

// TestChooseByKeySkips checks that a key whose endpoint was tried goes to
// another one, the same every time, and that nothing is left once all
// were tried.
func TestChooseByKeySkips(t *testing.T) {
	b := &backend{policy: &policy{}}
	for _, a := range []string{"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"} {
		b.endpoints = append(b.endpoints, endpoint{addr: a, pool: &connPool{}})
	}
	b.ring = buildRing(b.endpoints)
	sum := mix(fnvAdd(fnvOffset, "k"))
	first := b.chooseByKey(sum, nil).ep
	second := b.chooseByKey(sum, []*endpoint{first}).ep
	if second == nil || second == first {
		t.Fatalf("after %s: %v", first.addr, second)
	}
	if again := b.chooseByKey(sum, []*endpoint{first}).ep; again != second {
		t.Errorf("second choice %s, then %s", second.addr, again.addr)
	}
	third := b.chooseByKey(sum, []*endpoint{first, second}).ep
	if third == nil || third == first || third == second {
		t.Fatalf("third choice %v", third)
	}
	if c := b.chooseByKey(sum, []*endpoint{first, second, third}); c.ep != nil {
		t.Errorf("with every endpoint tried: %s", c.ep.addr)
	}
	empty := &backend{policy: &policy{}}
	if c := empty.chooseByKey(sum, nil); c.ep != nil {
		t.Errorf("without endpoints: %s", c.ep.addr)
	}
}

// TestHashSumsAgree checks that the fast path and net/http's path hash the
// same request to the same sum, and that each part counts.
func TestHashSumsAgree(t *testing.T) {
	key := compileHash(&lbconfig.Hash{Key: []lbconfig.HashPart{
		{Type: lbconfig.HashClientAddress}, {Type: lbconfig.HashRequestURI}, {Type: lbconfig.HashPath},
		{Type: lbconfig.HashHeader, Name: "x-user"}, {Type: lbconfig.HashHeader, Name: "host"},
		{Type: lbconfig.HashCookie, Name: "sid"}, {Type: lbconfig.HashLiteral, Name: "v1"},
	}})
	heads := []string{
		"GET /a/b?q=1 HTTP/1.1\r\nHost: x.test\r\nX-User: alice\r\nCookie: a=1; sid=42\r\n\r\n",
		"GET /a/b?q=1 HTTP/1.1\r\nHost: x.test\r\nx-user: alice\r\nX-User: bob\r\nCookie: sidx=9;sid=42 \r\n\r\n",
		"GET /a/b?q=2 HTTP/1.1\r\nHost: x.test\r\nX-User: alice\r\nCookie: sid=42\r\n\r\n",
		"GET /a/c?q=1 HTTP/1.1\r\nHost: x.test\r\nX-User: alice\r\nCookie: sid=42\r\n\r\n",
		"GET /a/b?q=1 HTTP/1.1\r\nHost: y.test\r\nX-User: alice\r\nCookie: sid=42\r\n\r\n",
		"GET /a/b?q=1 HTTP/1.1\r\nHost: x.test\r\nX-User: carol\r\nCookie: sid=42\r\n\r\n",
		"GET /a/b?q=1 HTTP/1.1\r\nHost: x.test\r\nX-User: alice\r\nCookie: other=1\r\nCookie: sid=43\r\n\r\n",
		"GET /a/b?q=1 HTTP/1.1\r\nHost: x.test\r\n\r\n",
	}
	sums := map[uint64]int{}
	for i, raw := range heads {
		var head http1.RequestHead
		if _, res := http1.ParseRequestHead([]byte(raw), &head); res != http1.Parsed {
			t.Fatalf("head %d does not parse: %v", i, res)
		}
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			t.Fatal(err)
		}
		fast, slow := key.sumHead(&head, "127.0.0.1"), key.sumRequest(r, "127.0.0.1")
		if fast != slow {
			t.Errorf("head %d: fast path %x, net/http %x", i, fast, slow)
		}
		if other := key.sumHead(&head, "127.0.0.2"); other == fast {
			t.Errorf("head %d: the client address does not count", i)
		}
		sums[fast] = i
	}
	// Heads 0 and 1 have the same key (the first X-User, the first sid);
	// each of the others changes one part.
	if len(sums) != len(heads)-1 {
		t.Errorf("%d different sums for %d heads, two of them alike", len(sums), len(heads))
	}
}

// TestCookieIn tries the cookie reader with names that are prefixes,
// suffixes and values of others, spaces and odd separators.
func TestCookieIn(t *testing.T) {
	for _, tc := range []struct {
		line, name, want string
		ok               bool
	}{
		{"sid=1", "sid", "1", true},
		{"a=1; sid=2; sid=3", "sid", "2", true},
		{"xsid=1; sidx=2; sid=3", "sid", "3", true},
		{"a=sid=1", "sid", "", false},
		{"  sid = 1", "sid", "", false},
		{"sid=", "sid", "", true},
		{"sid=\"q\"", "sid", "\"q\"", true},
		{";;; ;sid=4;", "sid", "4", true},
		{"", "sid", "", false},
		{"sid", "sid", "", false},
		{strings.Repeat("a=1;", 5000) + "sid=x", "sid", "x", true},
	} {
		got, ok := cookieIn(tc.line, tc.name)
		gotB, okB := cookieIn([]byte(tc.line), tc.name)
		if got != tc.want || ok != tc.ok || string(gotB) != got || okB != ok {
			t.Errorf("cookieIn(%.40q, %q) = %q, %v (bytes %q, %v); want %q, %v", tc.line, tc.name, got, ok, gotB, okB, tc.want, tc.ok)
		}
	}
}

// TestHashRouting sends requests keyed by a header through the proxy to
// four backends, on the fast path (GET) and net/http's (a chunked POST):
// every key stays on one backend on both paths, keys spread over the
// backends, a missing header is one key, and a header as long as the head
// limit allows is just a key.
func TestHashRouting(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	var eps []lbconfig.Endpoint
	for i := range 4 {
		eps = append(eps, nettest.EchoEndpoint(t, fmt.Sprintf("e%d", i)))
	}
	b := backendOf("hashed", eps...)
	b.Policy.Hash = &lbconfig.Hash{Key: []lbconfig.HashPart{{Type: lbconfig.HashHeader, Name: "x-user"}}}
	mustApply(t, p, oneListener(port, []lbconfig.Backend{b}, nil, vh("x.test", prefix("/", "hashed"))))
	c := testClient(t)
	servers := map[string]bool{}
	for u := range 24 {
		user := fmt.Sprintf("user-%d", u)
		first := get(t, c, port, "x.test", "/", "X-User", user).server()
		for i := range 3 {
			if got := get(t, c, port, "x.test", fmt.Sprintf("/%d", i), "X-User", user).server(); got != first {
				t.Fatalf("%s: GET went to %s, then %s", user, first, got)
			}
		}
		posted := do(t, c, "POST", port, "x.test", "/", io.MultiReader(strings.NewReader("body")), "X-User", user)
		if posted.server() != first {
			t.Fatalf("%s: GET went to %s, a chunked POST (net/http's path) to %s", user, first, posted.server())
		}
		servers[first] = true
	}
	// 24 keys all on one or two of four backends would mean no hashing.
	if len(servers) < 3 {
		t.Errorf("24 keys went to %d backends, want at least 3", len(servers))
	}
	none := get(t, c, port, "x.test", "/").server()
	for range 5 {
		if got := get(t, c, port, "x.test", "/other").server(); got != none {
			t.Fatalf("without the header: %s, then %s", none, got)
		}
	}
	// A key longer than the fast path's buffer is read by net/http's
	// path, the same each time; one over the head limit is refused.
	long := strings.Repeat("z", 16<<10)
	if a, b := get(t, c, port, "x.test", "/", "X-User", long), get(t, c, port, "x.test", "/b", "X-User", long); a.status != 200 || a.server() != b.server() {
		t.Errorf("a 16 KiB key: %d from %s, then %d from %s", a.status, a.server(), b.status, b.server())
	}
	if a := get(t, c, port, "x.test", "/", "X-User", strings.Repeat("z", 2<<20)); a.status != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a 2 MiB key: %d, want 431", a.status)
	}
}

// TestSendTimeoutClosesStalledUpload sends a large body to a backend that
// reads the head and then nothing: after the send timeout the client
// gets 504 and its connection is closed, on the fast path (a
// Content-Length body) and net/http's (chunked).
func TestSendTimeoutClosesStalledUpload(t *testing.T) {
	stop := make(chan struct{})
	stalled := nettest.ServeRaw(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil || line == "\r\n" {
				break
			}
		}
		<-stop // reads nothing more until the test ends
	})
	t.Cleanup(func() { close(stop) })
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	b := backendOf("stalled", stalled)
	b.Policy.Timeouts.Send = lbconfig.Duration(500 * time.Millisecond)
	mustApply(t, p, oneListener(port, []lbconfig.Backend{b}, nil, vh("x.test", prefix("/", "stalled"))))
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
			rc := dialRaw(t, port)
			_ = rc.c.SetDeadline(time.Now().Add(15 * time.Second))
			body := strings.Repeat("b", 32<<20)
			head := fmt.Sprintf("POST /up HTTP/1.1\r\nHost: x.test\r\nContent-Length: %d\r\n\r\n", len(body))
			if chunked {
				head = "POST /up HTTP/1.1\r\nHost: x.test\r\nTransfer-Encoding: chunked\r\n\r\n" + fmt.Sprintf("%x\r\n", len(body))
			}
			start := time.Now()
			go func() { _, _ = io.WriteString(rc.c, head+body) }()
			resp, err := http.ReadResponse(rc.r, nil)
			if err != nil {
				t.Fatalf("no response: %v", err)
			}
			took := time.Since(start)
			if resp.StatusCode != http.StatusGatewayTimeout {
				t.Fatalf("status %d, want 504", resp.StatusCode)
			}
			// Bounds generous for a loaded machine, far from the 60 s
			// response timeout that would end it without a send timeout.
			if took < 400*time.Millisecond || took > 10*time.Second {
				t.Errorf("answered after %v, want about 500ms", took)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			if n, err := rc.r.Read(make([]byte, 1)); err == nil {
				t.Errorf("the connection stays open (read %d bytes)", n)
			}
		})
	}
}
