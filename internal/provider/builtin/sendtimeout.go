package builtin

import (
	"errors"
	"os"
	"time"
)

// The send timeout (lbconfig.Timeouts.Send): each write of a request to
// an HTTP/1.1 backend must finish within it, as nginx's
// proxy_send_timeout bounds the time between two writes. A backend that
// stops reading a body leaves the write blocked on a full socket buffer;
// the write deadline fails it, the exchange answers 504 and the backend
// connection is closed. The deadline moves on before each write and is
// cleared on the first write of an exchange without a send timeout, so a
// pooled connection never carries one into another exchange.

// defaultSendTimeout is the send timeout of a zero Policy: nginx's
// proxy_send_timeout default, and HAProxy's server timeout here.
const defaultSendTimeout = 60 * time.Second

// armWrite sets the write deadline for the next write, unless the one in
// place is already within a tenth of the timeout of it, or clears it.
// An aborted exchange's deadline stays.
func (c *backendConn) armWrite() {
	if c.sendTimeout <= 0 {
		c.writeDeadline = time.Time{}
		_ = c.conn.SetWriteDeadline(time.Time{})
	} else if want, ok := deadlineWithin(c.writeDeadline, time.Now(), c.sendTimeout); ok {
		c.writeDeadline = want
		_ = c.conn.SetWriteDeadline(want)
	}
	if c.aborted.Load() {
		_ = c.conn.SetDeadline(aLongTimeAgo)
	}
}

// sendTimedOut reports whether err is a write to the backend that did not
// finish within the send timeout: the backend takes nothing, so waiting
// for an early answer from it is in vain.
func sendTimedOut(err error) bool {
	se, ok := err.(sendError)
	return ok && errors.Is(se.err, os.ErrDeadlineExceeded)
}
