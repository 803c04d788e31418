//go:build linux

package builtin

import (
	"io"
	"syscall"
	"time"
	"unsafe"
)

// canSendWithRead: sendThenRead works here.
const canSendWithRead = true

// alive reports whether an idle connection can still be used at now: the
// backend has neither closed it nor sent anything unasked. One
// non-blocking peek.
func (c *backendConn) alive(now time.Time) bool {
	if c.raw == nil {
		return true
	}
	if !c.readDeadline.IsZero() && now.After(c.readDeadline) {
		// The last exchange's deadline would fail the peek before it
		// looked.
		c.setReadDeadline(time.Time{})
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

// sendThenRead runs in the poller's read loop of sendAndRead: first it
// writes the pending head and asks to wait for readability, then it reads.
func (c *backendConn) sendThenRead(fd uintptr) bool {
	if len(c.pending) > 0 {
		n, err := syscall.Write(int(fd), c.pending)
		if n > 0 {
			c.written += int64(n)
			c.pending = c.pending[n:]
		}
		switch {
		case err == syscall.EINTR:
			return false // and again
		case err == syscall.EAGAIN:
			return true // the rest goes the ordinary way
		case err != nil:
			c.rr.err = err
			return true
		case len(c.pending) > 0:
			return true
		}
		return false // wait for the answer
	}
	n, err := syscall.Read(int(fd), c.rr.p)
	switch {
	case err == syscall.EAGAIN || err == syscall.EINTR:
		return false
	case err != nil:
		c.rr.err = err
	case n == 0:
		c.rr.err = io.EOF
	default:
		c.rr.n = n
	}
	return true
}
