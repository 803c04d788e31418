package haproxy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"ingress-controller/pkg/lbconfig"
)

// Method and query parameter matches (lbconfig.Route.Method and
// QueryParams) are conditions of a route's rule in its group (split.go):
// "method -m str", case-sensitive, and a variable set from
// "urlp(<name>)", which reads the first parameter of that name, "&" or
// ";" separated, undecoded, as lbconfig.QueryValue does.
//
// A group without a route free of conditions lets a request none of its
// routes match fall through to the next route whose path matches
// (lbconfig's split.go). The maps find one path per request, so the
// fall-through is worked out here: a request that picked an Exact path E
// goes on to the first Prefix path after it that matches E, and one that
// picked a Prefix path P to the first shorter Prefix path that P itself
// matches; the group's last rule sets that entry's map value (another
// group's marker, whose rules come later) or, with none, clears the
// backend for the default backend or 404. Regex routes are matched by
// rules before the groups' and cannot be fallen through to, so a
// virtual host that has both is refused.

// mapEntry is one path of a virtual host's maps or regex rules.
type mapEntry struct {
	match lbconfig.MatchType
	// path is the route's path as it matches, a Prefix path without
	// its trailing "/".
	path  string
	value string
}

// entry records the map entry of route rt, whose map value is value.
func (s *splitRules) entry(rt lbconfig.Route, value string, regex bool) {
	p := rt.MatchPath()
	if rt.Match == lbconfig.MatchPrefix {
		p = strings.TrimRight(p, "/")
	}
	m := rt.Match
	if regex {
		m = lbconfig.MatchRegex
	}
	s.entries = append(s.entries, mapEntry{match: m, path: p, value: value})
}

// fallThrough ends every group of the virtual host just rendered that
// has no route without conditions with the rule that sends its
// unmatched requests on, and forgets the virtual host's entries.
func (s *splitRules) fallThrough() error {
	entries := s.entries
	s.entries = nil
	hasRegex := false
	for _, e := range entries {
		hasRegex = hasRegex || e.match == lbconfig.MatchRegex
	}
	for i, e := range entries {
		g := s.openGroup(e.value)
		if g == nil {
			continue
		}
		if hasRegex {
			return fmt.Errorf("the routes of path %q (%s) all have conditions, and a request none of them matches would have to fall through to the virtual host's Regex routes, which the haproxy provider does not do: add a route without conditions for the path", e.path, e.match)
		}
		rule := "http-request unset-var(txn.backend) if { var(txn.backend) -m str " + g.marker + " }"
		if next := nextMatching(entries[i+1:], e); next != nil {
			rule = "http-request set-var(txn.backend) str(" + next.value + ") if { var(txn.backend) -m str " + g.marker + " }"
		}
		g.lines = append(g.lines, rule)
		g.closed = true
	}
	return nil
}

// openGroup returns the group whose marker is value and that has no
// route without conditions, else nil.
func (s *splitRules) openGroup(value string) *splitGroup {
	for i := range s.groups {
		if g := &s.groups[i]; g.marker == value && !g.closed {
			return g
		}
	}
	return nil
}

// nextMatching returns the first of later that every request matching
// e's path also matches, or nil.
func nextMatching(later []mapEntry, e mapEntry) *mapEntry {
	for i := range later {
		n := &later[i]
		if n.match == lbconfig.MatchPrefix && (e.match == lbconfig.MatchExact || e.match == lbconfig.MatchPrefix) && lbconfig.PrefixMatches(n.path, e.path+"/") {
			return n
		}
	}
	return nil
}

// requestMatchConds renders rt's method and query matches as
// conditions, separated by spaces.
func (s *splitRules) requestMatchConds(rt lbconfig.Route) (string, error) {
	var conds []string
	if rt.Method != "" {
		if err := lbconfig.CheckMethod(rt.Method); err != nil {
			return "", fmt.Errorf("method: %w", err)
		}
		conds = append(conds, "{ method -m str "+rt.Method+" }")
	}
	for i, m := range rt.QueryParams {
		if err := checkQueryName(m.Name); err != nil {
			return "", fmt.Errorf("queryParams[%d]: %w", i, err)
		}
		var err error
		switch m.Type {
		case lbconfig.HeaderExact:
			err = lbconfig.CheckQueryValue(m.Value)
			conds = append(conds, "{ var("+s.queryVar(m.Name)+") -m str "+cfgQuote(m.Value)+" }")
		case lbconfig.HeaderRegularExpression:
			err = lbconfig.CheckHeaderRegexp(m.Value)
			conds = append(conds, "{ var("+s.queryVar(m.Name)+") -m reg "+cfgQuote(m.Value)+" }")
		default:
			err = fmt.Errorf("unknown query parameter match type %q", m.Type)
		}
		if err != nil {
			return "", fmt.Errorf("queryParams[%d]: %w", i, err)
		}
	}
	return strings.Join(conds, " "), nil
}

// queryVar returns the variable that holds the first parameter called
// name. As an ACL, urlp would try every parameter of the name; set-var
// keeps the first, as lbconfig.QueryValue does.
func (s *splitRules) queryVar(name string) string {
	if v, ok := s.queryVars[name]; ok {
		return v
	}
	if s.queryVars == nil {
		s.queryVars = map[string]string{}
	}
	v := "txn.q" + strconv.Itoa(len(s.queryNames))
	s.queryVars[name] = v
	s.queryNames = append(s.queryNames, name)
	return v
}

// queryLines reads the query parameters matched on, only for requests
// whose path picked a group.
func (s *splitRules) queryLines(w *lines) {
	for _, name := range s.queryNames {
		w.line("    http-request set-var(" + s.queryVars[name] + ") urlp(" + name + ") if { var(txn.backend) -m beg split_ }")
	}
}

// checkQueryName refuses the names lbconfig accepts that HAProxy would
// read as more than a name in urlp's argument (",", ")", quotes,
// backslashes and the like): letters, digits, ".", "_", "~" and "-" go.
func checkQueryName(name string) error {
	if err := lbconfig.CheckQueryName(name); err != nil {
		return err
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z') && !('A' <= c && c <= 'Z') && !('0' <= c && c <= '9') && strings.IndexByte("._~-", c) < 0 {
			return errors.New("the haproxy provider matches query parameter names of letters, digits, \".\", \"_\", \"~\" and \"-\" only, not " + fmt.Sprintf("%q", name))
		}
	}
	return nil
}
