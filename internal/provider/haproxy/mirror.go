package haproxy

import (
	"errors"

	"ingress-controller/pkg/lbconfig"
)

// Request mirrors (lbconfig.Route.Mirrors) are not served: HAProxy 2.6
// has no mirroring of its own, and a Lua action that sends a copy with
// core.httpclient would run in the request's stream and hold it until
// the copy is answered, which is what a mirror must never do; the SPOE
// mirror agent is a process of its own. A config with mirrors is
// refused, so that the engine leaves out just the object that asked for
// them (docs/providers.md).

// errMirrors is the error of a route with mirrors.
var errMirrors = errors.New("mirrors: the haproxy provider does not mirror requests (HAProxy 2.6 cannot send a copy without holding the request)")

// refuseMirrors returns errMirrors for a route with mirrors.
func refuseMirrors(rt lbconfig.Route) error {
	if len(rt.Mirrors) > 0 {
		return errMirrors
	}
	return nil
}
