package builtin

import (
	"fmt"

	"ingress-controller/pkg/lbconfig"
)

// Weighted TCP listeners (lbconfig.Listener.TCPBackends): each
// connection draws its backend by weight once, when it is accepted, and
// keeps it for its whole life. A backend without a ready endpoint closes
// the connections it draws, so that its share is refused, as Gateway
// API's TCPRoute asks of backends that cannot be resolved.

// compileTCPSplit sets the weighted backends of pr, a TCP listener's
// routes.
func compileTCPSplit(pr *portRoutes, l lbconfig.Listener, lookup func(*lbconfig.BackendRef) (*backend, error)) error {
	if !l.SplitsTCP() {
		return nil
	}
	if total := l.TCPWeight(); total <= 0 || total > lbconfig.MaxWeight {
		return fmt.Errorf("tcp backends: the weights add up to %d", total)
	}
	w, err := compileWeighted(l.TCPBackends, lookup)
	if err != nil {
		return fmt.Errorf("tcp %w", err)
	}
	pr.tcpSplit = w
	return nil
}

// tcpBackend returns the backend of one new connection to a TCP
// listener.
func (pr *portRoutes) tcpBackend() *backend { return pr.tcpSplit.pick(pr.tcp) }
