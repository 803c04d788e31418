package nettest

import (
	"testing"
)

func TestFreePortNeverRepeats(t *testing.T) {
	seen := map[int32]bool{}
	for range 200 {
		p := FreePort(t)
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
}
