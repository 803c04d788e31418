package lbconfig

import (
	"cmp"
	"slices"
)

// A TCP listener may spread its connections over several backends by
// weight (Listener.TCPBackends), one choice per connection, as Gateway
// API's TCPRoute asks. A backend without endpoints takes its share and
// closes those connections.

// SplitsTCP reports whether the listener spreads its connections over
// TCPBackends.
func (l *Listener) SplitsTCP() bool { return len(l.TCPBackends) > 0 }

// TCPWeight is the sum of the weights of l's TCPBackends.
func (l *Listener) TCPWeight() int32 { return totalWeight(l.TCPBackends) }

// PickTCPBackend returns the backend of a connection given n, a number
// drawn uniformly from [0, TCPWeight()): the first backend whose
// cumulative weight exceeds n. A listener that does not split returns
// TCP's name.
func (l *Listener) PickTCPBackend(n int32) string {
	primary := ""
	if l.TCP != nil {
		primary = l.TCP.Name
	}
	return pickWeighted(l.TCPBackends, n, primary)
}

// sortTCPBackends orders l's weighted backends by name.
func (l *Listener) sortTCPBackends() {
	slices.SortFunc(l.TCPBackends, func(x, y WeightedBackend) int { return cmp.Compare(x.Name, y.Name) })
}

// tcpSplit checks the weighted backends of listener l at field f.
func (v *validator) tcpSplit(f string, l Listener, ref func(string, *BackendRef)) {
	if !l.SplitsTCP() {
		return
	}
	if l.Protocol != ProtocolTCP || l.TCP == nil {
		v.add(f+".tcpBackends", "only TCP listeners with a TCP backend spread connections")
		return
	}
	v.weighted(f+".tcpBackends", f+".tcp", l.TCP.Name, l.TCPBackends, ref)
	v.noBackendHeaders(f+".tcpBackends", l.TCPBackends)
}
