package haproxy

import (
	"errors"

	"ingress-controller/pkg/lbconfig"
)

// Request mirrors (lbconfig.Route.Mirrors) are not served yet: HAProxy
// 2.6 has no mirroring of its own, a Lua action that sends the copy
// itself (core.httpclient) would hold the request until the copy is
// answered, and the SPOE mirror agent is a process of its own. A Lua
// task started from the action (core.register_task) answers the client
// at once in a quick trial, but sending copies to endpoints that change
// through the runtime API, with bounded copies and bodies, is not built.
// A config with mirrors is refused, so that the engine leaves out just
// the object that asked for them (docs/providers.md).

// errMirrors is the error of a route with mirrors.
var errMirrors = errors.New("mirrors: the haproxy provider does not mirror requests (not built for HAProxy 2.6, which has no mirroring of its own)")

// refuseMirrors returns errMirrors for a route with mirrors.
func refuseMirrors(rt lbconfig.Route) error {
	if len(rt.Mirrors) > 0 {
		return errMirrors
	}
	return nil
}
