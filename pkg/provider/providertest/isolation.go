package providertest

import (
	"net/http"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// testEmptyVirtualHosts checks virtual hosts without routes, as Gateway
// API's listener isolation gives a listener without routes: a request
// its hostname takes gets 404, not a less specific virtual host's route
// nor the catch-all's, while the hosts beside it are served as before.
func (s *Suite) testEmptyVirtualHosts(t *testing.T) {
	l := s.start(t)
	wide, all := l.startBackend("wide"), l.startBackend("all")
	port := l.freePort()
	multi := func(vh lbconfig.VirtualHost) lbconfig.VirtualHost {
		vh.MultiLabel = true
		return vh
	}
	l.apply(config(oneLB(port, nil,
		vhost("", prefix("/", all)),
		multi(vhost("*.example.com", prefix("/", wide))),
		multi(vhost("*.bar.example.com")),
		vhost("abc.example.com"),
	), wide.pool(), all.pool()))
	l.expect(
		at(port, "x.example.com", "/x", from(wide)),
		at(port, "bar.example.com", "/", from(wide)),
		at(port, "x.bar.example.com", "/", status(http.StatusNotFound)),
		at(port, "x.y.bar.example.com", "/x", status(http.StatusNotFound)),
		at(port, "abc.example.com", "/", status(http.StatusNotFound)),
		at(port, "x.abc.example.com", "/", from(wide)),
		at(port, "other.org", "/", from(all)),
	)
}
