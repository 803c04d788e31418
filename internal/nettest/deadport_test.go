//go:build unix

package nettest

import (
	"net"
	"strconv"
	"testing"
)

func TestDeadPort(t *testing.T) {
	d := NewDeadPort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(int(d.Port)))
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("a connect to the dead port succeeded")
	}
	if ln, err := net.Listen("tcp", addr); err == nil {
		ln.Close()
		t.Fatal("another listener took the dead port")
	}
	ln, err := d.Listen()
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("after Listen: %v", err)
	}
	c.Close()
}
