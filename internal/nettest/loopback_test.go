package nettest

import "testing"

func TestAlreadyAssigned(t *testing.T) {
	for out, want := range map[string]bool{
		"RTNETLINK answers: File exists\n":             true,
		"Error: ipv4: Address already assigned.\n":     true,
		"RTNETLINK answers: Operation not permitted\n": false,
		"": false,
	} {
		if got := alreadyAssigned([]byte(out)); got != want {
			t.Errorf("alreadyAssigned(%q) = %v, want %v", out, got, want)
		}
	}
}
