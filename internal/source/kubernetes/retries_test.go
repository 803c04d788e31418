package kubernetes

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestRetries: the wait doubles with each failure in a row up to the
// limit, is logged, and starts again from the first after a success,
// which waits for nothing.
func TestRetries(t *testing.T) {
	var logs bytes.Buffer
	r := newRetries(time.Millisecond, 5*time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil)), "writing things")
	fail := errors.New("refused")
	for i, want := range []time.Duration{2, 4, 5, 5} {
		if r.after(fail) == nil {
			t.Fatalf("failure %d: no retry", i+1)
		}
		if r.next != want*time.Millisecond {
			t.Errorf("after failure %d: next wait %v, want %v", i+1, r.next, want*time.Millisecond)
		}
	}
	if got := strings.Count(logs.String(), `msg="writing things failed; retrying" error=refused retry_in=`); got != 4 {
		t.Errorf("%d retries logged, want 4:\n%s", got, logs.String())
	}
	if r.after(nil) != nil {
		t.Error("a retry after a success")
	}
	if r.next != time.Millisecond {
		t.Errorf("after a success: next wait %v, want the first", r.next)
	}
	start := time.Now()
	<-r.after(fail)
	if waited := time.Since(start); waited < time.Millisecond {
		t.Errorf("retried after %v, want at least 1ms", waited)
	}
}
