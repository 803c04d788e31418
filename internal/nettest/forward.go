package nettest

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// forwarder copies each TCP connection it accepts, both ways, to a new
// connection to target.
type forwarder struct {
	ln     net.Listener
	target string
	ctx    context.Context // ends at close, aborting dials to target
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{} // open ones, both sides; nil once closed
}

// forward listens on listen and forwards to target until the test ends,
// when the listener and every connection are closed. It returns the
// listener's address.
func forward(t testing.TB, listen, target string) string {
	t.Helper()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatalf("nettest: forward to %s: %v", target, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &forwarder{ln: ln, target: target, ctx: ctx, cancel: cancel, conns: map[net.Conn]struct{}{}}
	f.wg.Add(1)
	go f.accept()
	t.Cleanup(f.close)
	return ln.Addr().String()
}

func (f *forwarder) accept() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return // closed
		}
		f.wg.Add(1)
		go f.pipe(c)
	}
}

func (f *forwarder) pipe(client net.Conn) {
	defer f.wg.Done()
	if !f.track(client) {
		return
	}
	defer f.untrack(client)
	d := net.Dialer{Timeout: 10 * time.Second}
	upstream, err := d.DialContext(f.ctx, "tcp", f.target)
	if err != nil {
		return // the client sees its connection closed, as from a dead server
	}
	if !f.track(upstream) {
		return
	}
	defer f.untrack(upstream)
	done := make(chan struct{})
	go func() {
		copyHalf(upstream, client)
		close(done)
	}()
	copyHalf(client, upstream)
	<-done
}

// copyHalf copies src to dst until src ends and passes the end on: a clean
// end as a half close, so that the other direction still flows to its own
// end; an error by closing both.
func copyHalf(dst, src net.Conn) {
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		src.Close()
		return
	}
	dst.(*net.TCPConn).CloseWrite()
}

// track records c as open, or closes it and reports false once the
// forwarder is closed.
func (f *forwarder) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conns == nil {
		c.Close()
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

func (f *forwarder) untrack(c net.Conn) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
	c.Close()
}

func (f *forwarder) close() {
	f.cancel()
	f.ln.Close()
	f.mu.Lock()
	for c := range f.conns {
		c.Close()
	}
	f.conns = nil
	f.mu.Unlock()
	f.wg.Wait()
}
