package lbconfig

import (
	"fmt"
	"strconv"
)

// Fixed answers: a Backend with a Status is not a pool of endpoints but
// an answer. Every request a route sends to it (as its Backend, or as
// the share of Backends a weighted route picks for it, or as a
// listener's DefaultBackend) gets that status from the proxy itself,
// with the body PlainErrorBody(Status), and reaches no endpoint. The
// connection is kept alive as after any answer of the proxy's own. It
// is what Gateway API asks of the requests of a backendRef that cannot
// be resolved (500) and of those that match no rule (404).
//
// The answer comes after what the route does before it picks a backend
// (Access, rate limits, authentication, CORS preflights) and replaces
// what it would do after: no header changes, rewrites, error pages or
// policy apply to it. A route with ErrorPages or a Fallback, or a mirror,
// TCP listener or passthrough virtual host, never names such a backend:
// those act on responses or bytes of endpoints.

// Bounds of Backend.Status: client and server errors.
const (
	MinStatus = 400
	MaxStatus = 599
)

// Answers reports whether b answers with its Status instead of
// forwarding to endpoints.
func (b *Backend) Answers() bool { return b != nil && b.Status != 0 }

// statusBackend checks the Status of backend b.
func (v *validator) statusBackend(f string, b Backend) {
	if b.Status == 0 {
		return
	}
	if b.Status < MinStatus || b.Status > MaxStatus {
		v.add(f+".status", fmt.Sprintf("%d is not an error status, %d to %d", b.Status, MinStatus, MaxStatus))
	}
	if len(b.Endpoints) > 0 {
		v.add(f+".endpoints", "a backend that answers with a status has no endpoints")
	}
	if b.Protocol != "" {
		v.add(f+".protocol", "a backend that answers with a status has no protocol")
	}
	if b.TLS != nil {
		v.add(f+".tls", "a backend that answers with a status has no TLS")
	}
}

// statusRefs checks that only routes' backends, weighted backends and
// listeners' default backends name a backend that answers with a status.
func (v *validator) statusRefs(c *Config) {
	answers := map[string]bool{}
	for _, b := range c.Backends {
		if b.Status != 0 {
			answers[b.Name] = true
		}
	}
	if len(answers) == 0 {
		return
	}
	check := func(f string, ref *BackendRef) {
		if ref != nil && answers[ref.Name] {
			v.add(f, fmt.Sprintf("backend %q answers with a status; it takes no connections, mirrors or error pages", ref.Name))
		}
	}
	for i, lb := range c.LoadBalancers {
		for j, l := range lb.Listeners {
			lf := "loadBalancers[" + strconv.Itoa(i) + "].listeners[" + strconv.Itoa(j) + "]"
			check(lf+".tcp", l.TCP)
			for k, vh := range l.VirtualHosts {
				vf := lf + ".virtualHosts[" + strconv.Itoa(k) + "]"
				check(vf+".passthrough", vh.Passthrough)
				check(vf+".tcp", vh.TCP)
				for n, r := range vh.Routes {
					v.statusRoute(vf+".routes["+strconv.Itoa(n)+"]", r, answers, check)
				}
			}
		}
	}
}

// statusRoute checks one route for statusRefs.
func (v *validator) statusRoute(f string, r Route, answers map[string]bool, check func(string, *BackendRef)) {
	check(f+".fallback", r.Fallback)
	if r.ErrorPages != nil {
		check(f+".errorPages.backend", &r.ErrorPages.Backend)
	}
	for i, m := range r.Mirrors {
		check(f+".mirrors["+strconv.Itoa(i)+"].name", &BackendRef{Name: m.Name})
	}
	if r.Fallback == nil && r.ErrorPages == nil {
		return
	}
	uses := answers[r.Backend.Name]
	for _, b := range r.Backends {
		uses = uses || answers[b.Name]
	}
	if uses {
		v.add(f+".backend", "a route with error pages or a fallback does not send requests to a backend that answers with a status")
	}
}
