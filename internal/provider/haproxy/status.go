package haproxy

import (
	"strconv"
	"strings"

	"ingress-controller/pkg/lbconfig"
)

// Backends that are answers (lbconfig.Backend.Status): the mode http
// backend answers every request it gets with the status, in its first
// rule, before its policy's rules (a body limit, a route timeout) and
// before any server is chosen, so no endpoint is ever asked. A weighted
// route reaches it as any other backend, by the backend id its split
// rules set. Its servers stay free slots, as those of a backend without
// endpoints.

// statusRule is the rule that answers for b, or "" when b has endpoints
// to forward to.
func statusRule(b *lbconfig.Backend) string {
	if !b.Answers() {
		return ""
	}
	body := strings.TrimSuffix(lbconfig.PlainErrorBody(int(b.Status)), "\n")
	return "http-request return status " + strconv.Itoa(int(b.Status)) + ` content-type "text/plain; charset=utf-8" string "` + body + `"`
}
