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
	if err := c.Check(); err != nil {
		return nil, nil, err
	}
	any := c.AnyOrigin()
	request = originLines(c, cond)
	isPreflight := cond + " { method OPTIONS } { req.fhdr_cnt(origin) gt 0 } { req.hdr_cnt(access-control-request-method) gt 0 }"
	vary := " hdr vary Origin"
	if any && !c.EchoWildcards {
		vary = ""
	}
	grant := "http-request return status 204" + vary + " hdr access-control-allow-origin %[var(txn.cors_origin)]"
	if c.AllowCredentials {
		grant += " hdr access-control-allow-credentials true"
	}
	for _, h := range []struct {
		name, field, v, re string
		value              []string
	}{
		{"access-control-allow-methods", "access-control-request-method", "txn.cors_methods", methodRegexp, c.AllowMethods},
		{"access-control-allow-headers", "access-control-request-headers", "txn.cors_headers", headersRegexp, c.AllowHeaders},
	} {
		switch {
		case c.EchoWildcards && len(h.value) == 1 && h.value[0] == "*":
			request = append(request, echoLine(h.v, h.field, h.re, cond))
			grant += " hdr " + h.name + " %[var(" + h.v + ")]"
		case len(h.value) > 0:
			grant += " hdr " + h.name + " " + logFormat(strings.Join(h.value, ", "))
		}
	}
	if c.PreflightExposes && len(c.ExposeHeaders) > 0 {
		grant += " hdr access-control-expose-headers " + logFormat(strings.Join(c.ExposeHeaders, ", "))
	}
	if c.MaxAge > 0 {
		grant += " hdr access-control-max-age " + strconv.Itoa(int(c.MaxAge))
	}
	request = append(request, grant+isPreflight+" { var(txn.cors_origin) -m found }")
	if vary != "" {
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

// Regular expressions of what lbconfig's CORS matches, for -i: the "*"
// of a multi-label origin, an origin that EchoWildcards sends back
// (lbconfig.IsOrigin) and a preflight's fields that it sends back
// (lbconfig.IsEchoable).
const (
	labelsRegexp  = `[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})*`
	originRegexp  = `^https?://([a-z0-9.-]+|\[[0-9a-f:.]+\])(:[0-9]{1,5})?$`
	methodRegexp  = `^[a-z0-9_.-]+$`
	headersRegexp = `^[ \t]*[a-z0-9_.-]+([ \t]*,[ \t]*[a-z0-9_.-]+)*[ \t]*$`
)

// originLines set txn.cors_origin to the Origin to grant, if any.
func originLines(c *lbconfig.CORS, cond string) []string {
	one := cond + " { req.fhdr_cnt(origin) eq 1 }"
	if c.MultiLabel || c.EchoWildcards {
		// Regular expressions would take longer fields.
		one += " { req.fhdr(origin),length le " + strconv.Itoa(lbconfig.MaxOriginBytes) + " }"
	}
	if c.AnyOrigin() {
		if c.EchoWildcards {
			return []string{"http-request set-var(txn.cors_origin) req.fhdr(origin)" + one + " { req.fhdr(origin) -i -m reg " + cfgQuote(originRegexp) + " }"}
		}
		return []string{"http-request set-var(txn.cors_origin) str(*)" + cond}
	}
	var out []string
	for _, o := range c.AllowOrigins {
		match := "-i -m str " + cfgQuote(o)
		if before, after, wild := strings.Cut(o, "*"); wild {
			label := "[a-z0-9-]{1,63}" // one DNS label
			if c.MultiLabel {
				label = labelsRegexp
			}
			match = "-i -m reg " + cfgQuote("^"+regexpLiteral(before)+label+regexpLiteral(after)+"$")
		}
		out = append(out, "http-request set-var(txn.cors_origin) req.fhdr(origin)"+one+" { req.fhdr(origin) "+match+" }")
	}
	return out
}

// echoLine sets the variable v to a preflight's only field, when it
// matches re (lbconfig.IsEchoable); an unset variable sends no field.
func echoLine(v, field, re, cond string) string {
	return "http-request set-var(" + v + ") req.fhdr(" + field + ")" + cond +
		" { req.fhdr_cnt(" + field + ") eq 1 } { req.fhdr(" + field + "),length le " + strconv.Itoa(lbconfig.MaxEchoBytes) +
		" } { req.fhdr(" + field + ") -i -m reg " + cfgQuote(re) + " }"
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
