package haproxy

import (
	"fmt"
	"strconv"
	"strings"

	"ingress-controller/pkg/lbconfig"
)

// Header changes and CORS (lbconfig.Route.RequestHeaders,
// ResponseHeaders and CORS) ride in the route's map value after "^", as
// the id of a rule of the listener (before any access rule's "~"). The
// rule's request lines run after routing, the access check, the
// X-Forwarded-* fields and the HTTPS redirects, so that a route cannot
// take over what the proxy sets; its response lines run on the backend's
// response only (not on the proxy's own answers, which "http-request
// return" sends past the http-response rules).

// headerRules numbers the distinct header rules of one listener, in the
// order routes first use them.
type headerRules struct {
	rules []headerRule
}

// headerRule is one route's header changes and CORS, as rendered lines:
// cors finds the origin to grant and answers preflights, before basic
// authentication (a browser's preflight carries no credentials); request
// changes the request, after it, so that no change can stand in for the
// client's credentials.
type headerRule struct {
	id, key                 string
	cors, request, response []string
}

// add returns the id of rt's header rule, or "" when it has none.
func (hs *headerRules) add(rt lbconfig.Route) (string, error) {
	if rt.RequestHeaders == nil && rt.ResponseHeaders == nil && rt.CORS == nil {
		return "", nil
	}
	// Rendered with a placeholder for the id, so that equal rules
	// compare equal.
	const placeholder = "\x00id"
	cond := " if { var(txn.hdr) -m str " + placeholder + " }"
	var h headerRule
	if c := rt.CORS; c != nil {
		req, res, err := corsLines(c, cond)
		if err != nil {
			return "", fmt.Errorf("cors: %w", err)
		}
		h.cors, h.response = req, res
	}
	if m := rt.RequestHeaders; m != nil {
		lines, err := changeLines("http-request", m, cond, true)
		if err != nil {
			return "", fmt.Errorf("requestHeaders: %w", err)
		}
		h.request = append(h.request, lines...)
	}
	if m := rt.ResponseHeaders; m != nil {
		lines, err := changeLines("http-response", m, cond, false)
		if err != nil {
			return "", fmt.Errorf("responseHeaders: %w", err)
		}
		// Before CORS's, which the response changes cannot override.
		h.response = append(lines, h.response...)
	}
	key := strings.Join(h.cors, "\n") + "\n\n" + strings.Join(h.request, "\n") + "\n\n" + strings.Join(h.response, "\n")
	for _, r := range hs.rules {
		if r.key == key {
			return r.id, nil
		}
	}
	id := "h" + strconv.Itoa(len(hs.rules))
	h.id, h.key = id, key
	for i := range h.cors {
		h.cors[i] = strings.ReplaceAll(h.cors[i], placeholder, id)
	}
	for i := range h.request {
		h.request[i] = strings.ReplaceAll(h.request[i], placeholder, id)
	}
	for i := range h.response {
		h.response[i] = strings.ReplaceAll(h.response[i], placeholder, id)
	}
	hs.rules = append(hs.rules, h)
	return id, nil
}

// changeLines renders m: remove, set, then add, every name and value
// checked again, since HAProxy reads them as they are written.
func changeLines(verb string, m *lbconfig.HeaderModifier, cond string, request bool) ([]string, error) {
	var out []string
	for i, n := range m.Remove {
		if err := lbconfig.CheckHeaderName(n); err != nil {
			return nil, fmt.Errorf("remove[%d]: %w", i, err)
		}
		out = append(out, verb+" del-header "+cfgQuote(n)+cond)
	}
	for _, op := range []struct {
		name, action string
		list         []lbconfig.Header
	}{{"set", "set-header", m.Set}, {"add", "add-header", m.Add}} {
		for i, h := range op.list {
			if err := lbconfig.CheckHeaderName(h.Name); err != nil {
				return nil, fmt.Errorf("%s[%d]: %w", op.name, i, err)
			}
			check := lbconfig.CheckHeaderValue
			if strings.EqualFold(h.Name, "host") {
				if !request || op.name != "set" {
					return nil, fmt.Errorf("%s[%d]: Host can only be set on a request", op.name, i)
				}
				check = lbconfig.CheckUpstreamHost
			}
			if err := check(h.Value); err != nil {
				return nil, fmt.Errorf("%s[%d]: %w", op.name, i, err)
			}
			out = append(out, verb+" "+op.action+" "+cfgQuote(h.Name)+" "+logFormat(h.Value)+cond)
		}
	}
	return out, nil
}

// corsLines renders c: the request lines find the Origin to grant, in
// txn.cors_origin ("*", or the request's only Origin field when it is
// allowed) and answer preflights; the response lines grant it, or take
// back the backend's grant.
func corsLines(c *lbconfig.CORS, cond string) (request, response []string, err error) {
	if len(c.AllowOrigins) == 0 {
		return nil, nil, fmt.Errorf("no allowed origin")
	}
	for i, o := range c.AllowOrigins {
		if err := lbconfig.CheckOrigin(o); err != nil {
			return nil, nil, fmt.Errorf("allowOrigins[%d]: %w", i, err)
		}
	}
	for _, l := range []struct {
		name string
		list []string
	}{{"allowMethods", c.AllowMethods}, {"allowHeaders", c.AllowHeaders}, {"exposeHeaders", c.ExposeHeaders}} {
		for i, n := range l.list {
			if n != "*" {
				if err := lbconfig.CheckHeaderName(n); err != nil {
					return nil, nil, fmt.Errorf("%s[%d]: %w", l.name, i, err)
				}
			}
		}
	}
	any := c.AnyOrigin()
	if any {
		request = append(request, "http-request set-var(txn.cors_origin) str(*)"+cond)
	} else {
		one := cond + " { req.fhdr_cnt(origin) eq 1 }"
		for _, o := range c.AllowOrigins {
			match := "-i -m str " + cfgQuote(o)
			if before, after, wild := strings.Cut(o, "*"); wild {
				// One DNS label for the "*".
				match = "-i -m reg " + cfgQuote("^"+regexpLiteral(before)+"[a-z0-9-]{1,63}"+regexpLiteral(after)+"$")
			}
			request = append(request, "http-request set-var(txn.cors_origin) req.fhdr(origin)"+one+" { req.fhdr(origin) "+match+" }")
		}
	}
	isPreflight := cond + " { method OPTIONS } { req.fhdr_cnt(origin) gt 0 } { req.hdr_cnt(access-control-request-method) gt 0 }"
	vary := " hdr vary Origin"
	if any {
		vary = ""
	}
	grant := "http-request return status 204" + vary + " hdr access-control-allow-origin %[var(txn.cors_origin)]"
	if c.AllowCredentials {
		grant += " hdr access-control-allow-credentials true"
	}
	for _, h := range []struct {
		name  string
		value []string
	}{{"access-control-allow-methods", c.AllowMethods}, {"access-control-allow-headers", c.AllowHeaders}} {
		if len(h.value) > 0 {
			grant += " hdr " + h.name + " " + logFormat(strings.Join(h.value, ", "))
		}
	}
	if c.MaxAge > 0 {
		grant += " hdr access-control-max-age " + strconv.Itoa(int(c.MaxAge))
	}
	request = append(request, grant+isPreflight+" { var(txn.cors_origin) -m found }")
	if !any {
		request = append(request, "http-request return status 204"+vary+isPreflight+" !{ var(txn.cors_origin) -m found }")
		response = append(response, "http-response add-header vary Origin"+cond)
	}
	granted, refused := cond+" { var(txn.cors_origin) -m found }", cond+" !{ var(txn.cors_origin) -m found }"
	response = append(response,
		"http-response set-header access-control-allow-origin %[var(txn.cors_origin)]"+granted,
		"http-response del-header access-control-allow-origin"+refused)
	if c.AllowCredentials {
		response = append(response,
			"http-response set-header access-control-allow-credentials true"+granted,
			"http-response del-header access-control-allow-credentials"+refused)
	} else {
		response = append(response, "http-response del-header access-control-allow-credentials"+cond)
	}
	if len(c.ExposeHeaders) > 0 {
		response = append(response,
			"http-response set-header access-control-expose-headers "+logFormat(strings.Join(c.ExposeHeaders, ", "))+granted,
			"http-response del-header access-control-expose-headers"+refused)
	} else {
		response = append(response, "http-response del-header access-control-expose-headers"+cond)
	}
	return request, response, nil
}

// logFormat renders v as a log-format argument that HAProxy sends as it
// is: "%" doubled, then quoted (cfgQuote).
func logFormat(v string) string {
	return cfgQuote(strings.ReplaceAll(v, "%", "%%"))
}

// splitLines take the header rule id out of txn.backend, after the
// access rule's.
func (hs *headerRules) splitLines(w *lines) {
	if len(hs.rules) == 0 {
		return
	}
	w.line("    http-request set-var(txn.hdr) var(txn.backend),field(2,^) if { var(txn.backend) -m sub ^ }")
	w.line("    http-request set-var(txn.backend) var(txn.backend),field(1,^) if { var(txn.hdr) -m found }")
}

// preflightLines writes every rule's CORS request lines: the origin to grant
// and the preflight answers.
func (hs *headerRules) preflightLines(w *lines) {
	for _, h := range hs.rules {
		for _, l := range h.cors {
			w.line("    " + l)
		}
	}
}

// ruleLines writes every rule's request changes and response lines.
func (hs *headerRules) ruleLines(w *lines) {
	for _, h := range hs.rules {
		for _, l := range h.request {
			w.line("    " + l)
		}
		for _, l := range h.response {
			w.line("    " + l)
		}
	}
}
