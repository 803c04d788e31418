package nettest

import (
	"net"
	"sync"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// ServeRaw accepts TCP connections on a free 127.0.0.1 port until the test
// ends and hands each to serve in a goroutine of its own, closing it when
// serve returns: a backend that speaks by hand (faulty HTTP, plain TCP).
// At the end of the test the listener and every open connection are
// closed, and ServeRaw waits for the serve calls to return. It returns the
// endpoint of the port.
func ServeRaw(t testing.TB, serve func(c net.Conn)) lbconfig.Endpoint {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("nettest: raw backend: %v", err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for c := range open {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open[c] = true
			mu.Unlock()
			wg.Go(func() {
				defer func() {
					_ = c.Close()
					mu.Lock()
					delete(open, c)
					mu.Unlock()
				}()
				serve(c)
			})
		}
	})
	return Endpoint(t, ln.Addr().String())
}
