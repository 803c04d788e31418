package providertest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// testHashing checks lbconfig.Hash and the send timeout.
func (s *Suite) testHashing(t *testing.T) {
	t.Run("Keys", s.testHashKeys)
	t.Run("RemovingOneOfFour", s.testHashRemoval)
	t.Run("SendTimeout", s.testSendTimeout)
}

// hashPool is a backend called name over bs that hashes on parts.
func hashPool(name string, bs []*backend, parts ...lbconfig.HashPart) lbconfig.Backend {
	pool := lbconfig.Backend{Name: "test/" + name + ":80", Policy: lbconfig.Policy{Hash: &lbconfig.Hash{Key: parts}}}
	for _, b := range bs {
		pool.Endpoints = append(pool.Endpoints, b.endpoint)
	}
	return pool
}

// testHashKeys: requests with the same header, cookie, URI or combined
// key reach one backend, over keep-alive and new connections alike;
// different keys spread over the four backends; requests without the key
// share one backend.
func (s *Suite) testHashKeys(t *testing.T) {
	l := s.start(t)
	bs := []*backend{l.startBackend("a"), l.startBackend("b"), l.startBackend("c"), l.startBackend("d")}
	port := l.freePort()
	header := hashPool("header", bs, lbconfig.HashPart{Type: lbconfig.HashHeader, Name: "x-user"})
	cookie := hashPool("cookie", bs, lbconfig.HashPart{Type: lbconfig.HashCookie, Name: "sid"})
	uri := hashPool("uri", bs, lbconfig.HashPart{Type: lbconfig.HashRequestURI})
	combined := hashPool("combined", bs, lbconfig.HashPart{Type: lbconfig.HashHeader, Name: "x-user"},
		lbconfig.HashPart{Type: lbconfig.HashLiteral, Name: "v1"}, lbconfig.HashPart{Type: lbconfig.HashCookie, Name: "sid"})
	l.apply(config(oneLB(port, nil, vhost("hash.example",
		route("/header", lbconfig.MatchPrefix, header.Name), route("/cookie", lbconfig.MatchPrefix, cookie.Name),
		route("/uri", lbconfig.MatchPrefix, uri.Name), route("/combined", lbconfig.MatchPrefix, combined.Name),
	)), header, cookie, uri, combined))
	l.expect(at(port, "hash.example", "/header", from(bs...)))

	fresh := func() *http.Client {
		return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	}
	for _, tc := range []struct {
		name    string
		request func(user int) (path string, hdr []string)
	}{
		{"header", func(u int) (string, []string) { return "/header/x", []string{"X-User", "user-" + strconv.Itoa(u)} }},
		{"cookie", func(u int) (string, []string) {
			return "/cookie", []string{"Cookie", "theme=dark; sid=s" + strconv.Itoa(u) + "; other=1"}
		}},
		{"uri", func(u int) (string, []string) { return "/uri/item?id=" + strconv.Itoa(u), nil }},
		{"combined", func(u int) (string, []string) {
			return "/combined/" + strconv.Itoa(u%3), []string{"X-User", "u" + strconv.Itoa(u/2), "Cookie", "sid=" + strconv.Itoa(u%2)}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const users = 40
			perBackend := map[string]int{}
			for u := range users {
				path, hdr := tc.request(u)
				first := l.get(l.client, port, "hash.example", path, hdr...)
				if first.status != http.StatusOK || first.server == "" {
					t.Fatalf("user %d: %s", u, first)
				}
				for i := range 4 {
					c := l.client
					if i%2 == 1 {
						c = fresh()
					}
					if r := l.get(c, port, "hash.example", path, hdr...); r.server != first.server {
						t.Fatalf("user %d, request %d: %s, the first went to %s", u, i+2, r, first.server)
					}
				}
				perBackend[first.server]++
			}
			// 40 keys evenly are 10 a backend; a provider that ignored
			// the key could not have kept each key on one backend above,
			// and one that hashed everything alike would put 40 on one.
			if len(perBackend) < 3 {
				t.Errorf("40 keys reached %v, want at least 3 of the 4 backends", perBackend)
			}
			for name, n := range perBackend {
				if n > 25 {
					t.Errorf("backend %s got %d of 40 keys: %v", name, n, perBackend)
				}
			}
		})
	}
	// Without the header, every request has the same (empty) key.
	none := l.get(l.client, port, "hash.example", "/header")
	for range 10 {
		if r := l.get(fresh(), port, "hash.example", "/header/other"); r.server != none.server || r.status != http.StatusOK {
			t.Fatalf("without the key: %s, then %s", none, r)
		}
	}
	// Odd bytes in a key are just a key; CR LF never makes a header.
	odd := []string{"X-User", "a\tb c,d;e=f\"g'h(i)j%00k"}
	first := l.get(l.client, port, "hash.example", "/header", odd...)
	if again := l.get(fresh(), port, "hash.example", "/header", odd...); first.status != http.StatusOK || again.server != first.server {
		t.Errorf("an odd key: %s, then %s", first, again)
	}
}

// testHashRemoval: removing one of four endpoints moves the keys it had
// and, consistent hashing's promise, hardly any other (a hash modulo the
// number of endpoints would move three in four).
func (s *Suite) testHashRemoval(t *testing.T) {
	l := s.start(t)
	bs := []*backend{l.startBackend("a"), l.startBackend("b"), l.startBackend("c"), l.startBackend("d")}
	port := l.freePort()
	apply := func(members []*backend) {
		pool := hashPool("hashed", members, lbconfig.HashPart{Type: lbconfig.HashHeader, Name: "x-user"})
		l.apply(config(oneLB(port, &lbconfig.BackendRef{Name: pool.Name}), pool))
	}
	apply(bs)
	l.expect(at(port, "hash.example", "/", from(bs...)))
	const users = 80
	home := make([]string, users)
	for u := range users {
		home[u] = l.get(l.client, port, "hash.example", "/", "X-User", "user-"+strconv.Itoa(u)).server
	}
	gone := bs[3]
	apply(bs[:3])
	l.eventually("the removed endpoint to take no more requests", func() (bool, string) {
		for u := range users {
			if home[u] == gone.name {
				if r := l.get(l.client, port, "hash.example", "/", "X-User", "user-"+strconv.Itoa(u)); r.server == gone.name || r.status != http.StatusOK {
					return false, r.String()
				}
			}
		}
		return true, ""
	})
	stayed, others, moved := 0, 0, 0
	for u := range users {
		r := l.get(l.client, port, "hash.example", "/", "X-User", "user-"+strconv.Itoa(u))
		switch {
		case home[u] == gone.name:
			moved++
		case r.server == home[u]:
			stayed++
			others++
		default:
			others++
		}
	}
	if moved == 0 || moved > users/2 {
		t.Errorf("the removed endpoint had %d of %d keys", moved, users)
	}
	if stayed*100 < others*90 {
		t.Errorf("of %d keys on the endpoints that stayed, only %d stayed with them", others, stayed)
	}
}

// testSendTimeout: a backend that reads a request head and nothing of the
// large body that follows gets the exchange ended after about the send
// timeout (1s), not the 60s of the response timeout: the client's
// connection is closed, after a 504 where the provider can still send one
// (the builtin); HAProxy closes it without an answer. (HAProxy has one
// server timeout for both directions; a send timeout alone sets it.)
func (s *Suite) testSendTimeout(t *testing.T) {
	l := s.start(t)
	stop := make(chan struct{})
	stalled := nettest.ServeRaw(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil || line == "\r\n" {
				break
			}
		}
		<-stop
	})
	t.Cleanup(func() { close(stop) })
	port := l.freePort()
	pool := lbconfig.Backend{Name: "test/stalled:80", Endpoints: []lbconfig.Endpoint{stalled},
		Policy: lbconfig.Policy{Timeouts: lbconfig.Timeouts{Send: lbconfig.Duration(time.Second)}}}
	l.apply(config(oneLB(port, &lbconfig.BackendRef{Name: pool.Name}), pool))
	c, err := net.Dial("tcp", net.JoinHostPort(l.addr, strconv.Itoa(int(port))))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	body := strings.Repeat("b", 64<<20)
	start := time.Now()
	go func() {
		_, _ = fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: up.example\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	}()
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	took := time.Since(start)
	// Bounds generous for a loaded machine, far from the 60s the
	// response timeout would take.
	if took < 800*time.Millisecond || took > 15*time.Second {
		t.Errorf("the exchange ended after %v, want about 1s", took)
	}
	if err != nil {
		// HAProxy closes the connection without an answer once the
		// body is partly sent (termination state sD).
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("the connection stays open without an answer: %v", err)
		}
		return
	}
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("status %d, want 504", resp.StatusCode)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	if n, err := br.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the connection stays open after the 504 (read %d bytes, %v)", n, err)
	}
}
