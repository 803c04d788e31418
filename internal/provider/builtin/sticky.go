package builtin

import (
	"net/http"
	"time"
)

// Sticky backends (lbconfig.Route.StickyBackends): before the weighted
// choice, a request whose affinity cookie names a ready endpoint of one
// of the route's backends goes to that backend, and choose then picks
// that endpoint by the same cookie. A cookie naming nothing of theirs
// (forged, or of an endpoint gone) is drawn by weight as any other.

// stickyBackend returns the backend of s whose affinity cookie in r names
// one of its endpoints that choose would take, or nil.
func (s *split) stickyBackend(r *http.Request) *backend {
	if !s.sticky || r == nil {
		return nil
	}
	now := time.Time{}
	for _, b := range s.backends {
		pol := b.policy
		if pol.cookie == "" || pol.hash != nil {
			continue
		}
		v := requestCookie(r, pol.cookie)
		if v == "" {
			continue
		}
		if pol.health != nil && now.IsZero() {
			now = time.Now()
		}
		if ep := b.byCookie[v]; ep != nil && !ep.pool.ejected(now) {
			return b
		}
	}
	return nil
}
