package nettest

import "testing"

// TestFreePortClaimed checks that ports come from below the ephemeral
// range and are claimed: a second claim, as another process would try,
// fails while this one lives.
func TestFreePortClaimed(t *testing.T) {
	lo, hi, ok := claimRange()
	if !ok {
		t.Fatal("no port range below the ephemeral one")
	}
	p := FreePort(t)
	if p < lo || p >= hi {
		t.Errorf("port %d outside [%d, %d)", p, lo, hi)
	}
	if claimPort(p) {
		t.Errorf("port %d claimed twice", p)
	}
}
