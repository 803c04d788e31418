package builtin

import (
	"fmt"
	"net/http"

	"ingress-controller/pkg/lbconfig"
)

// Request changes of one weighted backend (lbconfig.WeightedBackend.
// RequestHeaders) belong to a route that splits, which net/http's path
// serves (split.go): they are made once the backend is picked, after the
// route's own changes and the mirrors' copies, so only the requests that
// backend gets carry them.

// compileBackendHeaders returns the changes of bs by index, or nil when
// none of them has any. They are checked again, as Validate does: a
// field that could end the head must never reach the wire.
func compileBackendHeaders(bs []lbconfig.WeightedBackend) ([]*headerChanges, error) {
	var out []*headerChanges
	for i, b := range bs {
		if b.RequestHeaders == nil {
			continue
		}
		if err := lbconfig.CheckBackendHeaders(b.RequestHeaders); err != nil {
			return nil, fmt.Errorf("backends[%d].requestHeaders: %w", i, err)
		}
		if out == nil {
			out = make([]*headerChanges, len(bs))
		}
		hc := compileChanges(b.RequestHeaders)
		out[i] = &hc
	}
	return out, nil
}

// changeForBackend makes the changes of b, the backend picked for the
// request whose fields are h, when r's split gives b any.
func (r *route) changeForBackend(b *backend, h http.Header) {
	s := r.split
	if s == nil || s.changes == nil {
		return
	}
	for i, sb := range s.backends {
		if sb == b {
			if hc := s.changes[i]; hc != nil {
				hc.apply(h)
			}
			return
		}
	}
}
