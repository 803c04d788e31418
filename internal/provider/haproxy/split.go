package haproxy

import (
	"fmt"
	"strconv"
	"strings"

	"ingress-controller/pkg/lbconfig"
)

// Request matches and weighted backends (lbconfig.Route.Headers, Cookies
// and Backends). The path maps hold one value per path, so a group of
// routes with the same path and match (see lbconfig's split.go) gets a
// marker, "split_<n>", as its map value; right after the map lookups, one
// rule per route of the group, in the group's order, replaces the marker
// with that route's map value when its conditions hold and the marker is
// still there, so the first route that matches wins. A route that splits
// draws rand(total) once and takes the backend whose cumulative weight
// exceeds it. The backends stay HAProxy backends of their own, so their
// servers are still changed through the runtime API without a reload.

// splitRules collects the path groups of one listener.
type splitRules struct {
	groups []splitGroup
	// byKey is the index of a key's group, or -1 for a key whose first
	// route has no conditions and no weights.
	byKey map[string]int
	// entries are the map entries of the virtual host being rendered,
	// in route order, for fallThrough; queryVars names the variable that
	// holds the first parameter of each query name matched on, in the
	// order of queryNames (requestmatch.go).
	entries    []mapEntry
	queryVars  map[string]string
	queryNames []string
	// shares are the request changes of weighted backends
	// (backendheaders.go).
	shares shareHeaders
}

// splitGroup is one path group: its marker and the rule lines of its
// routes; closed once a route without conditions ends it.
type splitGroup struct {
	marker string
	lines  []string
	closed bool
}

// add records route rt of path key, whose map value would be value (a
// backend id or redirect name followed by suffix, its header and access
// rule ids). It returns the marker to put in the map for the key's first
// route of a group, else "".
func (s *splitRules) add(key string, rt lbconfig.Route, value, suffix string, ids map[string]string) (string, error) {
	if s.byKey == nil {
		s.byKey = map[string]int{}
	}
	g, seen := s.byKey[key]
	if !seen {
		if !rt.HasConditions() && !rt.Split() {
			s.byKey[key] = -1
			return "", nil
		}
		g = len(s.groups)
		s.byKey[key] = g
		s.groups = append(s.groups, splitGroup{marker: "split_" + strconv.Itoa(g)})
	}
	if g < 0 || s.groups[g].closed {
		return "", nil
	}
	grp := &s.groups[g]
	more, err := s.requestMatchConds(rt) // requestmatch.go
	if err != nil {
		return "", err
	}
	lines, err := routeLines(strings.TrimSpace(grp.marker+" "+more), rt, value, suffix, ids, &s.shares)
	if err != nil {
		return "", err
	}
	grp.lines = append(grp.lines, lines...)
	grp.closed = !rt.HasConditions()
	if seen {
		return "", nil
	}
	return grp.marker, nil
}

// routeLines renders the rules that pick rt within its group; marker
// may be followed by a space and further conditions. A backend's share
// that changes requests names its changes in shares first.
func routeLines(marker string, rt lbconfig.Route, value, suffix string, ids map[string]string, shares *shareHeaders) ([]string, error) {
	marker, more, _ := strings.Cut(marker, " ")
	cond := "{ var(txn.backend) -m str " + marker + " }"
	if more != "" {
		cond += " " + more
	}
	for i, m := range rt.Headers {
		if err := lbconfig.CheckMatchHeaderName(m.Name); err != nil {
			return nil, fmt.Errorf("headers[%d]: %w", i, err)
		}
		var err error
		switch m.Type {
		case lbconfig.HeaderExact:
			err = lbconfig.CheckMatchValue(m.Value, false)
			cond += " { req.fhdr(" + m.Name + ",1) -m str " + cfgQuote(m.Value) + " }"
		case lbconfig.HeaderRegularExpression:
			err = lbconfig.CheckHeaderRegexp(m.Value)
			cond += " { req.fhdr(" + m.Name + ",1) -m reg " + cfgQuote(m.Value) + " }"
		default:
			err = fmt.Errorf("unknown header match type %q", m.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("headers[%d]: %w", i, err)
		}
	}
	for i, c := range rt.Cookies {
		if err := lbconfig.CheckMatchCookieName(c.Name); err != nil {
			return nil, fmt.Errorf("cookies[%d]: %w", i, err)
		}
		if err := lbconfig.CheckMatchValue(c.Value, true); err != nil {
			return nil, fmt.Errorf("cookies[%d]: %w", i, err)
		}
		cond += " { req.cook(" + c.Name + ") -m str " + cfgQuote(c.Value) + " }"
	}
	if !rt.Split() {
		return []string{"http-request set-var(txn.backend) str(" + value + ") if " + cond}, nil
	}
	total := rt.TotalWeight()
	if total <= 0 || total > lbconfig.MaxWeight {
		return nil, fmt.Errorf("backends: the weights add up to %d, not within 1 and %d", total, lbconfig.MaxWeight)
	}
	changes, err := shares.byBackend(rt.Backends, ids)
	if err != nil {
		return nil, err
	}
	out := []string{"http-request set-var(txn.split_w) rand(" + strconv.Itoa(int(total)) + ") if " + cond}
	err = cumulative(rt.Backends, ids, func(id string, upTo int32) {
		share := cond + " { var(txn.split_w) -m int lt " + strconv.Itoa(int(upTo)) + " }"
		if h := changes[id]; h != "" {
			out = append(out, "http-request set-var(txn.bhdr) str("+h+") if "+share)
		}
		out = append(out, "http-request set-var(txn.backend) str("+id+suffix+") if "+share)
	})
	return out, err
}

// cumulative calls yield with the HAProxy id (in ids) and cumulative
// weight of each of bs whose weight is not 0, in order.
func cumulative(bs []lbconfig.WeightedBackend, ids map[string]string, yield func(id string, upTo int32)) error {
	var upTo int32
	for i, b := range bs {
		id := ids[b.Name]
		switch {
		case id == "":
			return fmt.Errorf("backends[%d]: backend %q does not exist", i, b.Name)
		case b.Weight < 0:
			return fmt.Errorf("backends[%d]: negative weight", i)
		case b.Weight == 0:
			continue
		}
		upTo += b.Weight
		yield(id, upTo)
	}
	return nil
}

// lines writes the rules of every group.
func (s *splitRules) lines(w *lines) {
	s.queryLines(w)
	for _, g := range s.groups {
		for _, l := range g.lines {
			w.line("    " + l)
		}
	}
}

// suffixOf returns the part of a map value after its backend id or
// redirect name: the header, access, authentication, rewrite, timeout
// and mirror ids.
func suffixOf(value string) string {
	if i := strings.IndexAny(value, "^~!@|*=&"); i >= 0 {
		return value[i:]
	}
	return ""
}
