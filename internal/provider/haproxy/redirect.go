package haproxy

import (
	"fmt"
	"strconv"
	"strings"

	"ingress-controller/pkg/lbconfig"
)

// idMark stands for a redirect's id in its rules until the id is known:
// a NUL, which no checked value holds.
const idMark = "\x00"

// redirectRules are the lbconfig.Redirects of one listener, each an id
// that routes name in the maps (in place of a backend) and the
// "http-request redirect" rules that answer it.
type redirectRules struct {
	ids   map[string]string // by rules text
	rules []string
	// readsHost: a rule reflects the request's host (txn.host).
	readsHost bool
}

// add returns the id of the redirect of route rt of virtual host vhost
// on listener l, checking what goes into the config: HAProxy reads it as
// it is written.
func (rs *redirectRules) add(rt lbconfig.Route, vhost string, l lbconfig.Listener) (string, error) {
	rd := rt.Redirect
	switch rd.StatusCode {
	case 301, 302, 303, 307, 308:
	default:
		return "", fmt.Errorf("statusCode: %d is not 301, 302, 303, 307 or 308", rd.StatusCode)
	}
	if rd.URL != "" {
		if err := lbconfig.CheckRedirectURL(rd.URL); err != nil {
			return "", fmt.Errorf("url: %w", err)
		}
		rule := "    http-request redirect location '" + locationText(rd.URL) + "' code " + strconv.Itoa(int(rd.StatusCode)) + " if { var(txn.backend) -m str " + idMark + " }\n"
		return rs.idFor(rule), nil
	}
	if rd.Hostname != "" {
		if err := lbconfig.CheckHostname(rd.Hostname); err != nil || strings.HasPrefix(rd.Hostname, "*.") {
			return "", fmt.Errorf("hostname: %q is not an exact hostname", rd.Hostname)
		}
	}
	switch rd.Scheme {
	case "", "http", "https":
	default:
		return "", fmt.Errorf("scheme: %q is not http or https", rd.Scheme)
	}
	base := locationText(lbconfig.RedirectBase(rd, vhost, l.Protocol, l.Port))
	guard := ""
	if rd.ReflectsHost(vhost) { // requesthost.go
		base, guard = requestHostBase(rd, l)
		rs.readsHost = true
	}
	text, err := redirectText(rt, base)
	if err != nil {
		return "", err
	}
	return rs.idFor(guard + text), nil
}

// redirectText returns the rules of the redirect of rt (no URL) whose
// Location starts with base.
func redirectText(rt lbconfig.Route, base string) (string, error) {
	rd := rt.Redirect
	p := rd.Path
	if p == nil {
		return queryRules(rd.StatusCode, base+"%[path]", ""), nil
	}
	if err := lbconfig.CheckRedirectPath(p.Value); err != nil {
		return "", fmt.Errorf("path.value: %w", err)
	}
	switch p.Type {
	case lbconfig.ReplaceFullPath:
		return queryRules(rd.StatusCode, base+locationText(p.Value), ""), nil
	case lbconfig.ReplacePrefixMatch:
		if rt.Match != lbconfig.MatchPrefix {
			return "", fmt.Errorf("path.type: only Prefix routes replace a prefix")
		}
		// The path the route matched, as lbconfig.ReplacePrefix takes it.
		prefix := strings.TrimRight(rt.MatchPath(), "/")
		// The route matched, so the path starts with the prefix: one of
		// the prefix's length (the root prefix's: 1, "/") is the prefix
		// whole and becomes the value; a longer one keeps what follows
		// the prefix (bytes from its length). No path text goes into the
		// config.
		exact := "{ path,length eq " + strconv.Itoa(max(len(prefix), 1)) + " }"
		rest := base + locationText(strings.TrimSuffix(p.Value, "/")) + "%[path,bytes(" + strconv.Itoa(len(prefix)) + ")]"
		return queryRules(rd.StatusCode, base+locationText(p.Value), exact) + queryRules(rd.StatusCode, rest, "!"+exact), nil
	}
	return "", fmt.Errorf("path.type: %q is not ReplaceFullPath or ReplacePrefixMatch", p.Type)
}

// queryRules are the rules of a redirect to location plus the request's
// query, if any, under the extra condition cond, with idMark where the
// redirect's id goes.
func queryRules(code int32, location, cond string) string {
	c := strconv.Itoa(int(code))
	return "    http-request redirect location '" + location + "?%[query]' code " + c + " if { var(txn.backend) -m str " + idMark + " } { query -m found } " + cond + "\n" +
		"    http-request redirect location '" + location + "' code " + c + " if { var(txn.backend) -m str " + idMark + " } !{ query -m found } " + cond + "\n"
}

// idFor returns the id of the redirect whose rules are text (with idMark
// for the id), the same for the same text.
func (rs *redirectRules) idFor(text string) string {
	if rs.ids == nil {
		rs.ids = map[string]string{}
	}
	if id, ok := rs.ids[text]; ok {
		return id
	}
	id := "to" + strconv.Itoa(len(rs.rules))
	rs.ids[text] = id
	rs.rules = append(rs.rules, strings.ReplaceAll(text, idMark, id))
	return id
}

// write writes the rules, in the order their redirects came.
func (rs *redirectRules) write(w *lines) {
	for _, text := range rs.rules {
		for line := range strings.SplitSeq(strings.TrimSuffix(text, "\n"), "\n") {
			w.line(strings.TrimRight(line, " "))
		}
	}
}

// locationText is s, which Validate kept to the characters a Location may
// carry (no quote or space), as literal text of a log-format string in
// single quotes.
func locationText(s string) string { return strings.ReplaceAll(s, "%", "%%") }
