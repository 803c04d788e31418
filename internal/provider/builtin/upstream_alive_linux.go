//go:build linux

package builtin

import (
	"syscall"
	"unsafe"
)

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

// peek runs on every reuse of a connection, so it makes the system call
// itself: recv(2) with MSG_DONTWAIT never blocks, which spares it the
// scheduler hand-off of syscall.Recvfrom.
func (c *backendConn) peek(fd uintptr) bool {
	_, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&c.peekBuf[0])), 1,
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	// Nothing to read is the only good answer: 0 bytes is the backend's
	// close, and bytes are a response to nothing.
	c.peekAlive = errno == syscall.EAGAIN || errno == syscall.EINTR
	return true
}
