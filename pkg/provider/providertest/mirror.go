package providertest

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// hangingBackend accepts connections and never reads from them or
// answers, until the case ends; it counts the connections.
type hangingBackend struct {
	ref      string
	ep       lbconfig.Endpoint
	accepted atomic.Int64
}

func (l *lab) startHanging(name string) *hangingBackend {
	l.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		l.t.Fatal(err)
	}
	h := &hangingBackend{ref: "test/" + name + ":80", ep: lbconfig.Endpoint{Address: "127.0.0.1", Port: int32(ln.Addr().(*net.TCPAddr).Port), Ready: true, Serving: true}}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.accepted.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	l.t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return h
}

func (h *hangingBackend) pool() lbconfig.Backend {
	return lbconfig.Backend{Name: h.ref, Endpoints: []lbconfig.Endpoint{h.ep}}
}

// testMirrors checks lbconfig.Route.Mirrors as Gateway API's
// HTTPRouteRequestMirror, HTTPRouteRequestMultipleMirrors and
// HTTPRouteRequestPercentageMirror conformance tests do, and against
// hostile mirrors: the client's answer comes from the route's backend
// alone; every mirror of a route gets a copy with the method, the
// rewritten path, the query, the changed header fields and the body; a
// mirror of half the requests gets about half; a body over the bound
// (1 MiB) or streamed reaches the backend whole and no mirror; copies follow a
// mirror's endpoints when they move; a mirror that never
// reads or answers, and one that refuses connections, delay no client,
// under a load of many requests at once, and the silent one holds a
// bounded number of connections. A provider without mirrors must
// refuse them and keep its config serving.
func (s *Suite) testMirrors(t *testing.T) {
	l := s.start(t)
	main, m1, m2, half := l.startRecorder("main", nil), l.startRecorder("m1", nil), l.startRecorder("m2", nil), l.startRecorder("half", nil)
	hang := l.startHanging("hang")
	port := l.freePort()
	plain := config(oneLB(port, nil, vhost("mirror.example.com", route("/", lbconfig.MatchPrefix, main.ref))), main.pool())
	l.apply(plain)
	l.expect(at(port, "mirror.example.com", "/", want{status: http.StatusOK, backends: []string{"main"}}))

	mirrored := route("/mirror", lbconfig.MatchPrefix, main.ref)
	mirrored.Rewrite = &lbconfig.Rewrite{Type: lbconfig.ReplacePrefixMatch, Path: "/backend"}
	mirrored.RequestHeaders = &lbconfig.HeaderModifier{Set: []lbconfig.Header{{Name: "X-Route", Value: "mirror"}}}
	mirrored.Mirrors = []lbconfig.Mirror{{Name: m1.ref}, {Name: m2.ref}}
	halved := route("/half", lbconfig.MatchPrefix, main.ref)
	halved.Mirrors = []lbconfig.Mirror{{Name: half.ref, Numerator: 50, Denominator: 100}}
	hanging := route("/hang", lbconfig.MatchPrefix, main.ref)
	hanging.Mirrors = []lbconfig.Mirror{{Name: hang.ref}}
	// Nothing listens on a free port of the listen address.
	refused := lbconfig.Backend{Name: "test/refused:80", Endpoints: []lbconfig.Endpoint{{Address: l.addr, Port: l.freePort(), Ready: true, Serving: true}}}
	refusing := route("/refused", lbconfig.MatchPrefix, main.ref)
	refusing.Mirrors = []lbconfig.Mirror{{Name: refused.Name}}
	cfg := config(oneLB(port, nil, vhost("mirror.example.com", route("/", lbconfig.MatchPrefix, main.ref), mirrored, halved, hanging, refusing)),
		main.pool(), m1.pool(), m2.pool(), half.pool(), hang.pool(), refused)
	if !s.Capabilities.Mirrors {
		cfg.Sort()
		ctx, cancel := context.WithTimeout(context.Background(), applyTimeout)
		defer cancel()
		if _, err := l.p.Apply(ctx, cfg); err == nil {
			t.Fatalf("%s: Apply accepted mirrors, which the provider does not declare", l.p.Name())
		}
		l.expectNow(10, at(port, "mirror.example.com", "/mirror", want{status: http.StatusOK, backends: []string{"main"}}))
		return
	}
	l.apply(cfg)
	l.expect(at(port, "mirror.example.com", "/mirror", want{status: http.StatusOK, backends: []string{"main"}}))
	// The copies of the requests above go out after their answers:
	// wait until they stop arriving before counting.
	quiet(main, m1, m2)

	r := l.request(l.client, "POST", port, "mirror.example.com", "/mirror/a?q=%2f", "the body")
	if r.status != http.StatusOK || r.server != "main" {
		t.Fatalf("POST /mirror/a: got %s, want 200 from main", r)
	}
	for _, rec := range []*recorder{main, m1, m2} {
		var got []recorded
		l.eventually(rec.name+" to get the request", func() (bool, string) {
			reqs, _ := rec.take()
			got = append(got, reqs...)
			return len(got) > 0, "nothing"
		})
		g := got[0]
		if len(got) != 1 || g.method != "POST" || g.path != "/backend/a" || g.body != "the body" || g.header.Get("X-Route") != "mirror" || g.host != "mirror.example.com" {
			t.Errorf("%s got %d requests, the first %s %s (host %q, X-Route %q) with body %q; want one POST /backend/a (host mirror.example.com, X-Route mirror) with body %q",
				rec.name, len(got), g.method, g.path, g.host, g.header.Get("X-Route"), g.body, "the body")
		}
	}
	// A body over the bound goes whole to the backend, to no mirror.
	big := strings.Repeat("b", 1<<20)
	if r := l.request(l.client, "POST", port, "mirror.example.com", "/mirror/big", big); r.status != http.StatusOK || r.server != "main" {
		t.Errorf("POST /mirror/big: got %s, want 200 from main", r)
	}
	if reqs, _ := main.take(); len(reqs) != 1 || len(reqs[0].body) != len(big) {
		t.Errorf("main got %d requests for the big body, want one with all %d bytes", len(reqs), len(big))
	}
	// So does a streamed (chunked) body, of unknown length.
	req, err := http.NewRequest("POST", "http://"+net.JoinHostPort(l.addr, strconv.Itoa(int(port)))+"/mirror/chunked", io.MultiReader(strings.NewReader("streamed")))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "mirror.example.com"
	resp, err := l.client.Do(req)
	if err != nil {
		t.Fatalf("POST /mirror/chunked: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if reqs, _ := main.take(); resp.StatusCode != http.StatusOK || len(reqs) != 1 || reqs[0].body != "streamed" {
		t.Errorf("POST /mirror/chunked: got %d, main %d requests, want 200 and one with the body", resp.StatusCode, len(reqs))
	}
	time.Sleep(200 * time.Millisecond) // a copy would have come by now; none must
	if reqs, _ := m1.take(); len(reqs) != 0 {
		t.Errorf("m1 got %d copies of a body over the bound or streamed, want none", len(reqs))
	}

	// Half the requests, within a bound 0% or 100% cannot meet.
	const n = 200
	for range n {
		if r := l.get(l.client, port, "mirror.example.com", "/half"); r.status != http.StatusOK || r.server != "main" {
			t.Fatalf("GET /half: got %s, want 200 from main", r)
		}
	}
	var copies int
	l.eventually("the half mirror's copies to settle", func() (bool, string) {
		reqs, _ := half.take()
		copies += len(reqs)
		return copies >= n*30/100, "too few copies"
	})
	time.Sleep(200 * time.Millisecond)
	reqs, _ := half.take()
	if copies += len(reqs); copies < n*30/100 || copies > n*70/100 {
		t.Errorf("the half mirror got %d of %d requests, want about half", copies, n)
	}

	// A mirror's endpoints move as any backend's, and its copies follow.
	moved := l.startRecorder("moved", nil)
	m1moved := lbconfig.Backend{Name: m1.ref, Endpoints: []lbconfig.Endpoint{moved.ep}}
	l.apply(config(oneLB(port, nil, vhost("mirror.example.com", route("/", lbconfig.MatchPrefix, main.ref), mirrored, halved, hanging, refusing)),
		main.pool(), m1moved, m2.pool(), half.pool(), hang.pool(), refused))
	l.eventually("m1's copies to reach its new endpoint", func() (bool, string) {
		if r := l.get(l.client, port, "mirror.example.com", "/mirror/moved"); r.status != http.StatusOK || r.server != "main" {
			return false, "GET /mirror/moved: " + r.String()
		}
		time.Sleep(50 * time.Millisecond)
		reqs, _ := moved.take()
		return len(reqs) > 0, "no copy at the new endpoint"
	})

	// A mirror that refuses connections: clients are served at once.
	for i := range 50 {
		start := time.Now()
		if r := l.request(l.client, "POST", port, "mirror.example.com", "/refused", "payload"); r.status != http.StatusOK || r.server != "main" || time.Since(start) > time.Second {
			t.Fatalf("POST /refused #%d with a refusing mirror: got %s after %v, want 200 from main within a second", i, r, time.Since(start))
		}
	}

	// A mirror that never reads nor answers: clients are served at once,
	// 8 at a time, 400 requests, and the mirror holds a bounded number
	// of connections.
	var wg sync.WaitGroup
	var slow, failed atomic.Int64
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				start := time.Now()
				body := ""
				if (w+i)%2 == 0 {
					body = "payload"
				}
				r := l.request(l.client, "POST", port, "mirror.example.com", "/hang", body)
				if r.status != http.StatusOK || r.server != "main" {
					failed.Add(1)
				}
				if time.Since(start) > time.Second {
					slow.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() != 0 || slow.Load() != 0 {
		t.Errorf("with a hanging mirror, %d of 400 requests failed and %d took over a second", failed.Load(), slow.Load())
	}
	if a := hang.accepted.Load(); a == 0 || a > 100 {
		t.Errorf("the hanging mirror accepted %d connections, want some and at most 100 (copies in flight are bounded)", a)
	}
}

// quiet takes what recs have got until none gets anything for 300ms,
// for at most 10s.
func quiet(recs ...*recorder) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		time.Sleep(300 * time.Millisecond)
		got := 0
		for _, rec := range recs {
			reqs, _ := rec.take()
			got += len(reqs)
		}
		if got == 0 {
			return
		}
	}
}
