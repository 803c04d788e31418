//go:build linux

package builtin

import "syscall"

// alive reports whether an idle connection can still be used: the backend
// has neither closed it nor sent anything unasked. One non-blocking peek.
func (c *backendConn) alive() bool {
	if c.raw == nil {
		return true
	}
	c.peekAlive = false
	if err := c.raw.Read(c.peekFn); err != nil {
		return false
	}
	return c.peekAlive
}

func (c *backendConn) peek(fd uintptr) bool {
	_, _, err := syscall.Recvfrom(int(fd), c.peekBuf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	// Nothing to read is the only good answer: 0 bytes is the backend's
	// close, and bytes are a response to nothing.
	c.peekAlive = err == syscall.EAGAIN || err == syscall.EINTR
	return true
}
