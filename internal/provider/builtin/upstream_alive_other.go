//go:build !linux

package builtin

import "time"

// alive cannot peek on this platform: a stale connection is found by the
// request that uses it, and retried when that is safe.
func (c *backendConn) alive(time.Time) bool { return true }

func (c *backendConn) peek(fd uintptr) bool { return true }

// canSendWithRead: heads are sent with a plain write here.
const canSendWithRead = false

func (c *backendConn) sendThenRead(fd uintptr) bool { return true }
