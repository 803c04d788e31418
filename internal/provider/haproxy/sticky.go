package haproxy

import (
	"errors"

	"ingress-controller/pkg/lbconfig"
)

// Sticky backends (lbconfig.Route.StickyBackends) are not served: the
// weighted backends of a route are HAProxy backends of their own, each
// with its own servers, changed through the runtime API, and their
// dynamic cookies are hashes HAProxy makes of each server's address; a
// frontend rule cannot ask whether a cookie names a server of another
// backend. Putting every weighted backend's servers in one HAProxy
// backend would lose each backend's own policy and weights per request.
// The controller serves ingress-nginx's affinity-canary-behavior sticky
// as legacy with haproxy (translate.Options.StickyCanaryIgnored), so no
// such route reaches this provider from it; any other is refused, never
// served as if it were not sticky.

// errStickyBackends is the error of a route with sticky backends.
var errStickyBackends = errors.New("stickyBackends: the haproxy provider cannot let an affinity cookie pick among a route's weighted backends")

// refuseStickyBackends returns errStickyBackends for a route with sticky
// backends.
func refuseStickyBackends(rt lbconfig.Route) error {
	if rt.StickyBackends {
		return errStickyBackends
	}
	return nil
}
