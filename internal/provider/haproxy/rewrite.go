package haproxy

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"ingress-controller/pkg/lbconfig"
)

// pathRouting holds what a listener's Regex routes and rewrites add to
// the map lookups of Exact and Prefix routes.
//
// Regex routes are not in a map: one rule per route, in route order,
// after the map lookups (lbconfig orders Regex after Exact and Prefix),
// sets the route's map-style value where nothing matched yet. HAProxy's
// PCRE2 matches "^" followed by the pattern on the normalized path, as
// the builtin's RE2 does; lbconfig.CheckRegex keeps to the syntax both
// read alike and refuses nested repetition.
//
// A route with a rewrite carries its rewrite's id in the value after
// "|" (after the access rule's "~", which no backend or redirect name
// holds either). The rewrite runs after access and redirects: replace-path
// with the route's pattern for Regex routes (its groups are \1..\9), set-path
// for the others. The rewritten path is then checked and normalized as
// pathRules do for the request's: the same 400, the same normalizers.
type pathRouting struct {
	regex    []string // http-request rules, in route order
	rewrites []string // http-request rules, one per rewrite
}

// add takes route n of virtual host vh (id vid), whose map value is
// value, and returns the value with the rewrite id, and whether the
// route is a Regex route, which needs a rule (regexRule) rather than a
// map entry.
func (pr *pathRouting) add(vid string, rt lbconfig.Route, value string) (string, bool, error) {
	var re *regexp.Regexp
	if rt.Match == lbconfig.MatchRegex {
		var err error
		if re, err = lbconfig.CompileRegex(rt.Path); err != nil {
			return "", false, fmt.Errorf("path: %w", err)
		}
	}
	if rw := rt.Rewrite; rw != nil {
		groups := 0
		if re != nil {
			groups = re.NumSubexp()
		}
		if err := lbconfig.CheckRewrite(rw, groups); err != nil {
			return "", false, fmt.Errorf("rewrite.path: %w", err)
		}
		id := "r" + strconv.Itoa(len(pr.rewrites))
		value += "|" + id
		cond := " if { var(txn.rewrite) -m str " + id + " }"
		switch {
		case rw.ReplacesPrefix():
			lines, err := prefixRewrite(rt, cond) // prefixrewrite.go
			if err != nil {
				return "", false, fmt.Errorf("rewrite: %w", err)
			}
			pr.rewrites = append(pr.rewrites, lines...)
		case re != nil:
			pr.rewrites = append(pr.rewrites, "http-request replace-path "+cfgQuote("^"+rt.Path)+" "+cfgQuote(rewriteFormat(rw.Path))+cond)
		default:
			pr.rewrites = append(pr.rewrites, "http-request set-path "+cfgQuote(rewriteFormat(rw.Path))+cond)
		}
	}
	if re == nil {
		return value, false, nil
	}
	return value, true, nil
}

// regexRule adds the rule of Regex route rt of virtual host vid: where
// nothing matched yet and the path matches, txn.backend becomes value
// (the route's map-style value, or its split group's marker).
func (pr *pathRouting) regexRule(vid string, rt lbconfig.Route, value string) {
	pr.regex = append(pr.regex, "http-request set-var(txn.backend) str("+value+") if !{ var(txn.backend) -m found } { var(txn.vhost) -m str "+vid+" } { path -m reg "+cfgQuote("^"+rt.Path)+" }")
}

// rewriteFormat turns a checked Rewrite.Path into a replace-path or
// set-path format: "$N" becomes the back-reference "\N", and "%", which
// starts a sample in a log-format, is doubled.
func rewriteFormat(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '$':
			b.WriteByte('\\')
		case '%':
			b.WriteString("%%")
			continue
		default:
			b.WriteByte(c)
			continue
		}
	}
	return b.String()
}

// afterRewrite checks and normalizes a rewritten path as pathRules do a
// request's: the rules that read only the path, for the requests that
// were rewritten; the percent normalizers, which HAProxy 2.6 misreads
// with a condition, run on every request again (on an already normal
// path they change nothing), with the query of every request saved and
// put back as it came, rewritten or not.
var afterRewrite = [...]string{
	`http-request deny deny_status 400 if { var(txn.rewrite) -m found } { path -m sub % } { path -m reg -i %(2f|5c|[01][0-9a-f]|7f) } || { var(txn.rewrite) -m found } { path -m sub % } { path -m reg %([^0-9a-fA-F]|.[^0-9a-fA-F]|.?$) }`,
	`http-request set-var(txn.query) query if { query -m found }`,
	`http-request normalize-uri percent-decode-unreserved`,
	`http-request normalize-uri percent-to-uppercase`,
	`http-request normalize-uri path-merge-slashes if { var(txn.rewrite) -m found } { path -m sub // }`,
	`http-request normalize-uri path-strip-dot if { var(txn.rewrite) -m found } { path -m sub /. }`,
	`http-request normalize-uri path-strip-dotdot full if { var(txn.rewrite) -m found } { path -m sub /.. }`,
	`http-request set-query %[var(txn.query)] if { var(txn.query) -m found }`,
}

// regexLines writes the Regex route rules.
func (pr *pathRouting) regexLines(w *lines) {
	for _, l := range pr.regex {
		w.line("    " + l)
	}
}

// splitLines takes the rewrite id out of the value the routing left in
// txn.backend.
func (pr *pathRouting) splitLines(w *lines) {
	if len(pr.rewrites) > 0 {
		w.line("    http-request set-var(txn.rewrite) var(txn.backend),field(2,|) if { var(txn.backend) -m sub | }")
		w.line("    http-request set-var(txn.backend) var(txn.backend),field(1,|) if { var(txn.rewrite) -m found }")
	}
}

// rewriteLines writes the rewrites and the checks after them.
func (pr *pathRouting) rewriteLines(w *lines) {
	if len(pr.rewrites) == 0 {
		return
	}
	for _, l := range pr.rewrites {
		w.line("    " + l)
	}
	for _, l := range afterRewrite {
		w.line("    " + l)
	}
}
