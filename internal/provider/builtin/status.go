package builtin

import (
	"net/http"
	"strings"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// Backends that are answers (lbconfig.Backend.Status): the proxy answers
// a request sent to one with its status and a short plain-text body of
// its own, on the fast path (serveRequest) and on net/http's, and no
// endpoint is ever asked. A weighted route is served on net/http's path,
// which draws the backend first and answers when it drew such a one.

// compileStatus sets the answer of nb from b's Status.
func compileStatus(nb *backend, b *lbconfig.Backend) {
	if !b.Answers() {
		return
	}
	nb.status = int(b.Status)
	// WriteError and http.Error end the body with the newline.
	nb.statusBody = strings.TrimSuffix(lbconfig.PlainErrorBody(nb.status), "\n")
}

// serveStatus answers r for b, a backend that is an answer.
func (p *Provider) serveStatus(w http.ResponseWriter, r *http.Request, b *backend, start time.Time) {
	http.Error(w, b.statusBody, b.status)
	b.metrics.observe(b.status, time.Since(start))
	p.logAccess(r, b, outcome{status: b.status}, start)
}
