//go:build !linux

package nettest

// claimPort: no machine-wide claims here; ports are the kernel's free ones.
func claimPort(int32) bool { return true }

func claimRange() (lo, hi int32, ok bool) { return 0, 0, false }
