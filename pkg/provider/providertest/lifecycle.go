package providertest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
)

func (s *Suite) testApplyChanges(t *testing.T) {
	l := s.start(t)
	a, b := l.startBackend("a"), l.startBackend("b")
	port, extra := l.freePort(), l.freePort()

	l.apply(config(oneLB(port, nil, vhost("app.example", prefix("/", a))), a.pool(), b.pool()))
	l.expect(at(port, "app.example", "/", from(a)))

	// Move the route and add a host. The probe client keeps its
	// connections: open connections must follow too.
	l.apply(config(oneLB(port, nil,
		vhost("app.example", prefix("/", b)),
		vhost("new.example", prefix("/", a)),
	), a.pool(), b.pool()))
	l.expect(
		at(port, "app.example", "/", from(b)),
		at(port, "new.example", "/", from(a)),
	)

	// Remove a host, drop a backend from the config, open a second port.
	l.apply(config([]lbconfig.LoadBalancer{loadBalancer("default",
		listener(port, nil, vhost("new.example", prefix("/", a))),
		listener(extra, a.defaultTo()),
	)}, a.pool()))
	l.expect(
		at(port, "app.example", "/", status(http.StatusNotFound)),
		at(port, "new.example", "/", from(a)),
		at(extra, "anything.example", "/", from(a)),
	)

	// Close the first port; the second keeps serving.
	l.apply(config(oneLB(extra, b.defaultTo()), b.pool()))
	l.refused(port)
	l.expect(at(extra, "anything.example", "/", from(b)))

	// And the closed port opens again.
	l.apply(config([]lbconfig.LoadBalancer{loadBalancer("default",
		listener(port, a.defaultTo()),
		listener(extra, b.defaultTo()),
	)}, a.pool(), b.pool()))
	l.expect(
		at(port, "x.example", "/", from(a)),
		at(extra, "x.example", "/", from(b)),
	)
}

func (s *Suite) testResult(t *testing.T) {
	l := s.start(t)
	a, b := l.startBackend("a"), l.startBackend("b")
	p1, p2, p3 := l.freePort(), l.freePort(), l.freePort()
	both := func() *lbconfig.Config {
		return config([]lbconfig.LoadBalancer{
			loadBalancer("default", listener(p1, a.defaultTo())),
			loadBalancer("test/dedicated", listener(p2, b.defaultTo()), listener(p3, b.defaultTo())),
		}, a.pool(), b.pool())
	}
	res := l.apply(both())
	l.checkResult(res, both(), map[string]*backend{"default": a, "test/dedicated": b})

	// A load balancer that leaves the config leaves the result.
	one := config([]lbconfig.LoadBalancer{loadBalancer("default", listener(p1, a.defaultTo()))}, a.pool())
	res = l.apply(one)
	l.checkResult(res, one, map[string]*backend{"default": a})
	l.refused(p2)
	l.refused(p3)

	// Nothing to serve: no load balancers, no listeners.
	res = l.apply(config(nil))
	if len(res.Endpoints) != 0 {
		t.Errorf("empty config: Result.Endpoints = %v, want none", res.Endpoints)
	}
	l.refused(p1)
}

// checkResult checks that res names exactly the load balancers of cfg and
// that every address it reports for one of them, on each of its ports,
// reaches that load balancer's backend.
func (l *lab) checkResult(res provider.Result, cfg *lbconfig.Config, serves map[string]*backend) {
	l.t.Helper()
	var got, want []string
	for name := range res.Endpoints {
		got = append(got, name)
	}
	for _, lb := range cfg.LoadBalancers {
		want = append(want, lb.Name)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		l.t.Errorf("Result.Endpoints names %q, want %q", got, want)
	}
	for _, lb := range cfg.LoadBalancers {
		var ports []int32
		for _, ls := range lb.Listeners {
			ports = append(ports, ls.Port)
		}
		slices.Sort(ports)
		addrs := res.Endpoints[lb.Name]
		if len(addrs) == 0 {
			l.t.Errorf("Result.Endpoints[%q] is empty; the load balancer listens on %s", lb.Name, l.addr)
			continue
		}
		for _, addr := range addrs {
			if addr.IP == "" && addr.Hostname == "" {
				l.t.Errorf("Result.Endpoints[%q]: address %+v has neither IP nor hostname", lb.Name, addr)
				continue
			}
			if len(addr.Ports) > 0 && !slices.Equal(addr.Ports, ports) {
				l.t.Errorf("Result.Endpoints[%q]: address %+v has ports %v, want the listener ports %v", lb.Name, addr, addr.Ports, ports)
			}
			if addr.IP == "" {
				continue // a hostname: nothing to resolve on loopback
			}
			ip, err := netip.ParseAddr(addr.IP)
			if err != nil {
				l.t.Errorf("Result.Endpoints[%q]: IP %q: %v", lb.Name, addr.IP, err)
				continue
			}
			reach := ports
			if len(addr.Ports) > 0 {
				reach = addr.Ports
			}
			for _, port := range reach {
				u := "http://" + net.JoinHostPort(ip.String(), strconv.Itoa(int(port))) + "/"
				w := from(serves[lb.Name])
				l.eventually(fmt.Sprintf("%s to answer for load balancer %q", u, lb.Name), func() (bool, string) {
					r := l.getURL(l.client, u, "")
					return w.matches(r), fmt.Sprintf("got %s, want %s", r, w)
				})
			}
		}
	}
}

func (s *Suite) testIdempotent(t *testing.T) {
	l := s.start(t)
	a, b := l.startBackend("a"), l.startBackend("b")
	port := l.freePort()
	mk := func() *lbconfig.Config {
		return config(oneLB(port, b.defaultTo(), vhost("app.example", prefix("/", a))), a.pool(), b.pool())
	}
	cfg := mk()
	first := l.apply(cfg)
	probes := []probe{at(port, "app.example", "/", from(a)), at(port, "other.example", "/", from(b))}
	l.expect(probes...)

	// An Apply that changes nothing disturbs nothing: requests under load
	// all succeed and a keep-alive connection opened before stays open.
	conn := l.dialHTTP(port)
	conn.roundTrip("app.example", from(a))
	ld := l.startLoad(3, at(port, "app.example", "/x", from(a)))
	ld.waitSent(20)
	for i, c := range []*lbconfig.Config{mk(), cfg, mk()} {
		sent := ld.sent.Load()
		res := l.apply(c)
		if !reflect.DeepEqual(res, first) {
			t.Errorf("Apply %d of the same config: Result %v, want %v as the first time", i+2, res, first)
		}
		ld.waitSent(sent + 10)
		conn.roundTrip("app.example", from(a))
	}
	if n := ld.finish(); n < 50 {
		t.Errorf("only %d requests were sent during the repeated Applies", n)
	}
	l.expectNow(repeats, probes...)
}

// httpConn is one client connection that sends requests one at a time.
type httpConn struct {
	l    *lab
	conn net.Conn
	br   *bufio.Reader
	n    int
}

// dialHTTP opens a connection to port, closed when the case ends.
func (l *lab) dialHTTP(port int32) *httpConn {
	l.t.Helper()
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(l.addr, strconv.Itoa(int(port))), 5*time.Second)
	if err != nil {
		l.t.Fatalf("dialing port %d: %v", port, err)
	}
	l.t.Cleanup(func() { _ = conn.Close() })
	return &httpConn{l: l, conn: conn, br: bufio.NewReader(conn)}
}

// roundTrip sends a GET on the connection and checks the answer.
func (c *httpConn) roundTrip(host string, w want) {
	c.l.t.Helper()
	c.n++
	_ = c.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(c.conn, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", host); err != nil {
		c.l.t.Fatalf("request %d on one keep-alive connection: %v", c.n, err)
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.l.t.Fatalf("request %d on one keep-alive connection: %v", c.n, err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	r := reply{status: resp.StatusCode, server: resp.Header.Get("X-Echo-Server"), header: resp.Header, err: err}
	if !w.matches(r) {
		c.l.t.Errorf("request %d on one keep-alive connection: got %s, want %s", c.n, r, w)
	}
	if resp.Close {
		c.l.t.Fatalf("request %d on one keep-alive connection: the load balancer closes the connection", c.n)
	}
}

const (
	churnApplies  = 40
	churnInterval = 50 * time.Millisecond
	churnMaxTime  = 30 * time.Second
)

func (s *Suite) testEndpointChurn(t *testing.T) {
	l := s.start(t)
	var eps []*backend
	for i := range 4 {
		eps = append(eps, l.startBackend(fmt.Sprintf("ep-%d", i)))
	}
	port := l.freePort()
	const name = "test/churn:80"
	// mk keeps the endpoints of mask ready; it drops each other endpoint
	// from the config or keeps it listed as not ready, alternately.
	mk := func(i, mask int) *lbconfig.Config {
		var endpoints []lbconfig.Endpoint
		for j, b := range eps {
			e := b.endpoint
			switch {
			case mask&(1<<j) != 0:
			case (i+j)%2 == 0:
				continue
			default:
				e.Ready, e.Serving = false, false
			}
			endpoints = append(endpoints, e)
		}
		return config(oneLB(port, nil, vhost("churn.example", route("/", lbconfig.MatchPrefix, name))),
			lbconfig.Backend{Name: name, Endpoints: endpoints})
	}
	l.apply(mk(0, 0b0011))
	l.expect(at(port, "churn.example", "/", from(eps[0], eps[1])))

	ld := l.startLoad(4, at(port, "churn.example", "/", from(eps...)))
	tick := time.NewTicker(churnInterval)
	defer tick.Stop()
	deadline := time.Now().Add(churnMaxTime)
	applied := 1
	for i := 1; i < churnApplies && time.Now().Before(deadline); i++ {
		// Every Apply lands between requests.
		ld.waitSent(ld.sent.Load())
		<-tick.C
		l.apply(mk(i, i%15+1)) // never an empty mask
		applied++
	}
	// Last: only ep-2 and ep-3. ep-0 leaves the config, ep-1 is listed
	// as not ready.
	l.apply(mk(churnApplies, 0b1100))
	applied++
	removed, kept := eps[:2], eps[2:]
	hits := func(bs []*backend) []int64 {
		var n []int64
		for _, b := range bs {
			n = append(n, b.hits.Load())
		}
		return n
	}
	l.eventually("traffic to leave ep-0 and ep-1 and reach ep-2 and ep-3", func() (bool, string) {
		r0, k0 := hits(removed), hits(kept)
		for range 12 {
			l.send(at(port, "churn.example", "/", want{}))
		}
		r1, k1 := hits(removed), hits(kept)
		ok := slices.Equal(r0, r1) && k1[0] > k0[0] && k1[1] > k0[1]
		return ok, fmt.Sprintf("over 12 requests and the load, ep-0/ep-1 got %v more, ep-2/ep-3 got %v more",
			[]int64{r1[0] - r0[0], r1[1] - r0[1]}, []int64{k1[0] - k0[0], k1[1] - k0[1]})
	})
	sent := ld.finish()
	t.Logf("%d requests during %d Applies", sent, applied)
	if sent < int64(applied) {
		t.Errorf("only %d requests were sent during %d Applies", sent, applied)
	}

	// The endpoints that left go away, as their pods would: nothing
	// notices.
	before := hits(removed)
	for _, b := range removed {
		b.close()
	}
	ld = l.startLoad(2, at(port, "churn.example", "/", from(kept...)))
	ld.waitSent(40)
	ld.finish()
	if got := hits(removed); !slices.Equal(got, before) {
		t.Errorf("removed endpoints got requests after convergence: %v, then %v", before, got)
	}
}

func (s *Suite) testRejected(t *testing.T) {
	t.Run("PortHeldByAnotherProcess", func(t *testing.T) {
		l := s.start(t)
		old, next := l.startBackend("old"), l.startBackend("new")
		port := l.freePort()
		held, release := l.holdPort()
		l.apply(config(oneLB(port, nil, vhost("app.example", prefix("/", old))), old.pool(), next.pool()))
		// The rejected config would move the route and add a listener
		// on the held port.
		bad := func() *lbconfig.Config {
			return config([]lbconfig.LoadBalancer{loadBalancer("default",
				listener(port, nil, vhost("app.example", prefix("/", next))),
				listener(held, next.defaultTo()),
			)}, old.pool(), next.pool())
		}
		l.expectRejected(bad(), fmt.Sprintf("a listener on port %d, which another process holds", held),
			at(port, "app.example", "/", from(old)))

		// The holder still has its port.
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(l.addr, strconv.Itoa(int(held))), time.Second)
		if err != nil {
			t.Errorf("the held port %d no longer accepts connections: %v", held, err)
		} else {
			_ = conn.Close()
		}

		// Once the port is free, the same config applies.
		release()
		l.apply(bad())
		l.expect(
			at(port, "app.example", "/", from(next)),
			at(held, "x.example", "/", from(next)),
		)
	})
	t.Run("PortSharedByTwoLoadBalancers", func(t *testing.T) {
		// lbconfig.Validate forbids it (load balancers without addresses
		// of their own bind the one listen address), so no provider is
		// ever handed such a config.
		l := s.start(t)
		next := l.startBackend("new")
		port, other := l.freePort(), l.freePort()
		bad := config([]lbconfig.LoadBalancer{
			loadBalancer("a", listener(port, next.defaultTo())),
			loadBalancer("b", listener(other, next.defaultTo()), listener(port, next.defaultTo())),
		}, next.pool())
		bad.Sort()
		if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), fmt.Sprint(port)) {
			t.Errorf("Validate of load balancers a and b both on port %d: %v, want an error naming the port", port, err)
		}
	})
}

// expectRejected applies bad, which must fail, while a load checks that
// the serving config (which p probes) keeps answering unchanged, before,
// during and after.
func (l *lab) expectRejected(bad *lbconfig.Config, why string, p probe) {
	l.t.Helper()
	l.expect(p)
	ld := l.startLoad(2, p)
	ld.waitSent(10)
	if _, err := l.tryApply(bad); err == nil {
		l.t.Fatalf("%s: Apply accepted a config it cannot serve: %s", l.p.Name(), why)
	} else {
		l.t.Logf("Apply rejected %s: %v", why, err)
	}
	ld.waitSent(ld.sent.Load() + 20)
	ld.finish()
	l.expectNow(10, p)
}

func (s *Suite) testStop(t *testing.T) {
	l := s.start(t)
	a := l.startBackend("a")
	port := l.freePort()
	l.apply(config(oneLB(port, a.defaultTo()), a.pool()))
	l.expect(at(port, "x.example", "/", from(a)))
	l.client.CloseIdleConnections()
	l.stop()
	if t.Failed() {
		return
	}
	l.refused(port)
}
