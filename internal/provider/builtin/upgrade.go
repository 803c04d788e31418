package builtin

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"ingress-controller/internal/provider/builtin/http1"
)

// Protocol upgrades (websockets and the like): the request goes to the
// backend on a connection of its own with "Connection: Upgrade". If the
// backend answers 101, the client connection is hijacked and the two are
// spliced byte for byte until either side closes. A tunnel belongs to the
// pool of its endpoint: it outlives every config change that keeps the
// endpoint, and is closed a drain timeout after the endpoint leaves the
// config (or the shutdown grace after the provider stops).

// upgrade forwards a request that asks to switch protocols.
func (p *Provider) upgrade(w http.ResponseWriter, r *http.Request, pr *portRoutes, b *backend, c choice) outcome {
	ep := c.ep
	fail := func(status int) outcome { return outcome{status: status, endpoint: ep.addr} }
	hj, ok := w.(http.Hijacker)
	if !ok || r.ProtoMajor != 1 {
		// HTTP/2 has no Upgrade (RFC 9113, section 8.6).
		http.Error(w, "505 HTTP version not supported: protocol upgrades need HTTP/1.1", http.StatusHTTPVersionNotSupported)
		return fail(http.StatusHTTPVersionNotSupported)
	}
	ctx := r.Context()
	upgrade := textproto.TrimString(r.Header.Get("Upgrade"))
	for _, v := range r.Header["Connection"] {
		http1.DeleteConnectionListed(r.Header, v)
	}
	bc, err := p.dial(ctx, b, ep)
	if err != nil {
		return fail(p.backendFailed(w, r, b, ep, err))
	}
	x := exchange{p: p, r: r, pr: pr, pol: b.policy, host: c.headers.upstreamHost(r), bc: bc, upgrade: upgrade, setCookie: c.setCookie}
	if x.host == "" {
		x.host = ep.addr
	}
	x.stop = context.AfterFunc(ctx, bc.abortFn)
	rh, err := x.roundTrip()
	if err != nil {
		x.stop()
		bc.close()
		return fail(p.backendFailed(w, r, b, ep, err))
	}
	if rh.Status != http.StatusSwitchingProtocols {
		// Refused (say 400 or 403): an ordinary response.
		return p.respond(w, &x, rh, b, ep)
	}
	if !x.stop() {
		bc.close()
		return fail(0) // the client went away meanwhile
	}
	client, cbuf, err := hj.Hijack()
	if err != nil {
		bc.close()
		p.log.Warn("upgrade: taking over the client connection failed", "backend", b.name, "error", err)
		return fail(0)
	}
	t := &tunnel{client: client, backend: bc.conn, idle: p.tunnelIdle(b.policy)}
	release, ok := ep.pool.adopt(t)
	if !ok {
		return fail(0) // the endpoint left the config meanwhile
	}
	if !p.startTunnel() {
		release() // the provider is stopping
		return fail(0)
	}
	defer p.tunnels.Done()
	defer release()
	// Nothing must cut a healthy tunnel: no deadlines from now on.
	_ = client.SetDeadline(time.Time{})
	_ = bc.conn.SetDeadline(time.Time{})
	if err := http1.WriteSwitchHead(cbuf.Writer, &bc.head, upgrade, c.setCookie); err != nil {
		return fail(0)
	}
	p.log.Debug("protocol upgraded", "backend", b.name, "endpoint", ep.addr, "upgrade", upgrade)
	p.splice(t, buffered(cbuf.Reader), buffered(bc.br))
	return fail(http.StatusSwitchingProtocols)
}

// startTunnel counts a tunnel in p.tunnels, unless Run is past waiting
// for them: then it must not start.
func (p *Provider) startTunnel() bool {
	p.tunnelMu.Lock()
	defer p.tunnelMu.Unlock()
	if p.tunnelsClosed {
		return false
	}
	p.tunnels.Add(1)
	return true
}

// buffered returns what br holds that was not read yet.
func buffered(br *bufio.Reader) []byte {
	b, _ := br.Peek(br.Buffered())
	return b
}

// splice copies both ways until both directions ended, starting with what
// was read from each side already (pending). A direction that ends
// cleanly half-closes its destination, so the other can still finish (a
// websocket close handshake); an error on either closes both.
func (p *Provider) splice(t *tunnel, clientPending, backendPending []byte) {
	// Copy from and to the socket itself, so that splice(2) applies;
	// t.close still closes through the listener's slotConn.
	client := rawConn(t.client)
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.pipe(t, t.backend, client, clientPending)
	}()
	p.pipe(t, client, t.backend, backendPending)
	<-done
}

// pipe copies pending, then src, to dst.
func (p *Provider) pipe(t *tunnel, dst, src net.Conn, pending []byte) {
	bufp := p.bufs.Get().(*[]byte)
	defer p.bufs.Put(bufp)
	var err error
	if len(pending) > 0 {
		_, err = dst.Write(pending)
	}
	if err == nil {
		err = t.copyWatched(dst, src, *bufp)
	}
	if err != nil && !errors.Is(err, net.ErrClosed) {
		t.close()
		return
	}
	if cw, ok := dst.(interface{ CloseWrite() error }); ok && err == nil {
		_ = cw.CloseWrite()
		return
	}
	t.close()
}

// copyWatched copies src to dst until src ends, failing with
// os.ErrDeadlineExceeded once neither direction moved for t.idle (up to
// a quarter more). It copies in rounds of a quarter of t.idle with
// io.CopyBuffer, which between TCP sockets is splice(2) and never touches
// buf; a round that moved bytes counts as activity at its end.
func (t *tunnel) copyWatched(dst, src net.Conn, buf []byte) error {
	round := max(t.idle/4, 10*time.Millisecond)
	t.last.Store(time.Now().UnixNano())
	for {
		_ = src.SetReadDeadline(time.Now().Add(round))
		n, err := io.CopyBuffer(dst, src, buf)
		now := time.Now()
		if n > 0 {
			t.last.Store(now.UnixNano())
		}
		switch {
		case err == nil:
			return nil
		case errors.Is(err, os.ErrDeadlineExceeded) && now.Sub(time.Unix(0, t.last.Load())) < t.idle:
			continue // this or the other direction moved
		default:
			return err
		}
	}
}

// tunnel is an upgraded connection: a client and a backend connection
// spliced together.
type tunnel struct {
	client, backend net.Conn
	// idle closes the tunnel after that long without a byte either way;
	// last is the time of the last byte, in unix nanoseconds.
	idle time.Duration
	last atomic.Int64
	once sync.Once
}

func (t *tunnel) close() {
	t.once.Do(func() {
		_ = t.client.Close()
		_ = t.backend.Close()
	})
}

// adopt makes t one of this endpoint's tunnels and connections in
// progress; release undoes that and closes t. Without ok the pool is
// closed (the endpoint left the config): t is closed already and must not
// start.
func (cp *connPool) adopt(t *tunnel) (release func(), ok bool) {
	if !cp.addTunnel(t) {
		t.close()
		return nil, false
	}
	cp.active.Add(1)
	return func() {
		cp.active.Add(-1)
		cp.removeTunnel(t)
		t.close()
	}, true
}

// addTunnel records t as using this pool's endpoint; false means the pool
// is closed and t must not start.
func (cp *connPool) addTunnel(t *tunnel) bool {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if cp.closed {
		return false
	}
	if cp.tunnels == nil {
		cp.tunnels = map[*tunnel]struct{}{}
	}
	cp.tunnels[t] = struct{}{}
	return true
}

func (cp *connPool) removeTunnel(t *tunnel) {
	cp.mu.Lock()
	delete(cp.tunnels, t)
	cp.mu.Unlock()
}

// tunnelCount is for tests.
func (cp *connPool) tunnelCount() int {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return len(cp.tunnels)
}
