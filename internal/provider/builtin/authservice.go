package builtin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"ingress-controller/pkg/lbconfig"
)

// An auth server reached through a backend (lbconfig.ExternalAuth's
// Backend): the subrequest goes to the backend's ready endpoints in
// turn, starting at the next of its rotation, each asked with the URL's
// target and Host; when connecting to one fails, the next is tried,
// within the one timeout. No ready endpoint, or none that takes the
// connection: the check fails (500).

// authService is a compiled ExternalAuth.Backend.
type authService struct {
	backend *backend
	// host is the Host of the subrequest, and target its path and query.
	host, target string
}

// compileAuthService returns the backend of a, or nil without one.
func compileAuthService(a *lbconfig.ExternalAuth, lookup func(*lbconfig.BackendRef) (*backend, error)) (*authService, error) {
	if a.Backend == nil {
		return nil, nil
	}
	b, err := lookup(a.Backend)
	if err != nil {
		return nil, err
	}
	https, host, _, _, target, err := lbconfig.AuthURLParts(a.URL)
	switch {
	case err != nil:
		return nil, fmt.Errorf("url: %w", err)
	case https:
		return nil, errors.New("an auth server reached through a backend is spoken to in http")
	}
	return &authService{backend: b, host: host, target: target}, nil
}

// errNoAuthEndpoint fails a check whose backend has no ready endpoint.
var errNoAuthEndpoint = errors.New("the auth service has no ready endpoint")

// askAuthService sends the subrequest to the endpoints of a's backend,
// the next one when connecting fails, until one answers or ctx ends.
func (p *Provider) askAuthService(ctx context.Context, a *extAuth, header http.Header) (*http.Response, error) {
	eps := a.service.backend.endpoints
	if len(eps) == 0 {
		return nil, errNoAuthEndpoint
	}
	start := int(a.service.backend.next.Add(1) % uint64(len(eps)))
	var err error
	for i := range eps {
		ep := eps[(start+i)%len(eps)]
		var res *http.Response
		res, err = p.sendAuth(ctx, "http://"+ep.addr+a.service.target, a.service.host, a.method, header)
		if err == nil || !isDialError(err) || ctx.Err() != nil {
			return res, err
		}
	}
	return nil, fmt.Errorf("no endpoint of the auth service took the connection: %w", err)
}

// isDialError reports whether err is a failure to connect, which leaves
// the request unsent: another endpoint may take it.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
