package providertest

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testHopByHop checks that the fields that describe one connection
// rather than the message (RFC 9110, section 7.6.1) stop at the load
// balancer, both ways: the static ones (Keep-Alive, TE, Proxy-*,
// Upgrade outside an upgrade) and those a Connection field names. The
// load balancer may send Connection fields of its own ("keep-alive",
// "close"), never one that names what a peer listed. A protocol upgrade
// (a websocket) still passes, with its Connection and Upgrade fields.
func (s *Suite) testHopByHop(t *testing.T) {
	l := s.start(t)
	rec := l.startRecorder("rec", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ws" {
			upgradeAndEcho(w, r)
			return
		}
		h := w.Header()
		h.Set("Connection", "X-Resp-Hop")
		h.Set("X-Resp-Hop", "1")
		h.Set("Keep-Alive", "timeout=5")
		h.Set("Proxy-Authenticate", `Basic realm="backend"`)
		h.Set("Proxy-Connection", "keep-alive")
		h.Set("Upgrade", "h2c")
		h.Set("X-End-To-End", "kept")
		_, _ = io.WriteString(w, "ok\n")
	})
	port := l.freePort()
	l.apply(config(oneLB(port, rec.defaultTo()), rec.pool()))
	l.expect(at(port, "app.example", "/", want{status: http.StatusOK, backends: []string{rec.name}}))
	rec.take()

	// Sent raw: clients of net/http would drop some of these themselves.
	req := "GET /hop HTTP/1.1\r\nHost: app.example\r\n" +
		"Connection: X-Hop-A, keep-alive\r\n" +
		"connection: x-hop-b\r\n" +
		"X-Hop-A: 1\r\nX-Hop-B: 1\r\n" +
		"Keep-Alive: 300\r\n" +
		"TE: trailers\r\n" +
		"Proxy-Authorization: Basic dXNlcjpwYXNz\r\n" +
		"Proxy-Connection: keep-alive\r\n" +
		"Upgrade: websocket\r\n" + // not asked for in Connection: no upgrade
		"X-End-To-End: kept\r\n\r\n"
	got, _, err := pipeline(l.addr, port, req)
	if err != nil || len(got) != 1 || got[0].status != http.StatusOK || got[0].server != rec.name {
		_, raw := rec.take()
		t.Fatalf("%s: GET /hop: got %v, %v, want 200 from backend %s; the backend read %q", l.p.Name(), got, err, rec.name, raw)
	}
	reqs, raw := rec.take()
	if len(reqs) != 1 {
		t.Fatalf("%s: the backend got %d requests, want 1: %q", l.p.Name(), len(reqs), raw)
	}
	seen := reqs[0].header
	for _, k := range []string{"X-Hop-A", "X-Hop-B", "Keep-Alive", "Te", "Proxy-Authorization", "Proxy-Connection", "Upgrade"} {
		if v, ok := seen[k]; ok {
			t.Errorf("%s: the backend got the client's hop-by-hop field %s: %q", l.p.Name(), k, v)
		}
	}
	if !connectionOnlyOwn(seen["Connection"]) {
		t.Errorf("%s: the backend got Connection %q, which names the client's fields", l.p.Name(), seen["Connection"])
	}
	if seen.Get("X-End-To-End") != "kept" {
		t.Errorf("%s: the backend did not get X-End-To-End: %q", l.p.Name(), raw)
	}

	back := got[0].header
	for _, k := range []string{"X-Resp-Hop", "Keep-Alive", "Proxy-Authenticate", "Proxy-Connection", "Upgrade"} {
		if v, ok := back[k]; ok {
			t.Errorf("%s: the client got the backend's hop-by-hop field %s: %q", l.p.Name(), k, v)
		}
	}
	if !connectionOnlyOwn(back["Connection"]) {
		t.Errorf("%s: the client got Connection %q, which names the backend's fields", l.p.Name(), back["Connection"])
	}
	if back.Get("X-End-To-End") != "kept" {
		t.Errorf("%s: the client did not get X-End-To-End: %v", l.p.Name(), back)
	}

	// A websocket upgrade keeps its Connection and Upgrade fields.
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(l.addr, strconv.Itoa(int(port))), smuggleWait)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(smuggleWait))
	_, err = io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: app.example\r\nConnection: keep-alive, Upgrade\r\n"+
		"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols || !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		t.Fatalf("%s: websocket upgrade: got %v, %v, want 101 with Upgrade: websocket", l.p.Name(), resp, err)
	}
	if _, err := io.WriteString(conn, "ping\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := br.ReadString('\n'); err != nil || line != "ping\n" {
		t.Errorf("%s: through the websocket tunnel: got %q, %v, want the echo \"ping\\n\"", l.p.Name(), line, err)
	}
	if reqs, raw := rec.take(); len(reqs) != 1 || reqs[0].header.Get("Upgrade") != "websocket" ||
		!strings.Contains(strings.ToLower(strings.Join(reqs[0].header["Connection"], ",")), "upgrade") {
		t.Errorf("%s: the backend did not get the upgrade request with Connection: upgrade: %q", l.p.Name(), raw)
	}
}

// connectionOnlyOwn reports whether Connection field values hold only
// the tokens a load balancer may send of its own.
func connectionOnlyOwn(values []string) bool {
	for _, v := range values {
		for tok := range strings.SplitSeq(v, ",") {
			switch strings.ToLower(strings.TrimSpace(tok)) {
			case "", "keep-alive", "close":
			default:
				return false
			}
		}
	}
	return true
}

// upgradeAndEcho answers a websocket upgrade with 101 (with the accept
// key, which HAProxy checks) and then echoes what comes, line by line,
// until the client closes.
func upgradeAndEcho(w http.ResponseWriter, r *http.Request) {
	sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
		"Sec-WebSocket-Accept: " + base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n")
	_ = brw.Flush()
	_ = conn.SetDeadline(time.Now().Add(smuggleWait))
	for {
		line, err := brw.ReadString('\n')
		if err != nil {
			return
		}
		_, _ = brw.WriteString(line)
		_ = brw.Flush()
	}
}
