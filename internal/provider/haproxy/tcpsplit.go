package haproxy

import (
	"fmt"
	"strconv"

	"ingress-controller/pkg/lbconfig"
)

// Weighted TCP listeners (lbconfig.Listener.TCPBackends): the frontend
// draws rand(total) once per connection, as it is accepted, and sends it
// to the mode tcp backend whose cumulative weight exceeds the draw. A
// backend without servers closes the connections it gets, so that its
// share is refused. The backends stay HAProxy backends of their own,
// whose servers change through the runtime API without a reload.

// tcpSplitLines renders the rules that pick the backend of a TCP
// listener's connection, none when it does not split.
func (r *renderer) tcpSplitLines(l lbconfig.Listener) ([]string, error) {
	if !l.SplitsTCP() {
		return nil, nil
	}
	total := l.TCPWeight()
	if total <= 0 || total > lbconfig.MaxWeight {
		return nil, fmt.Errorf("tcp backends: the weights add up to %d, not within 1 and %d", total, lbconfig.MaxWeight)
	}
	out := []string{"tcp-request content set-var(sess.tcp_w) rand(" + strconv.Itoa(int(total)) + ")"}
	err := cumulative(l.TCPBackends, r.tcpIDs, func(id string, upTo int32) { // split.go
		out = append(out, "use_backend "+id+" if { var(sess.tcp_w) -m int lt "+strconv.Itoa(int(upTo))+" }")
	})
	if err != nil {
		return nil, fmt.Errorf("tcp %w", err)
	}
	return out, nil
}
