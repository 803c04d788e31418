package haproxy

import (
	"fmt"
	"strconv"
	"strings"

	"ingress-controller/pkg/lbconfig"
)

// Request changes of one weighted backend (lbconfig.WeightedBackend.
// RequestHeaders). The rule that takes a backend's share of a split
// route (split.go) first names that backend's changes in txn.bhdr, with
// the same conditions; the changes run in the frontend after the route's
// own (headerRules.ruleLines), each only where txn.bhdr names it. They
// are not written into the HAProxy backend, which other routes share.

// shareHeaders numbers the distinct backend changes of one listener, in
// the order routes first use them.
type shareHeaders struct {
	rules []shareRule
}

type shareRule struct {
	id, key string
	lines   []string
}

// byBackend returns the id of the changes of each of bs that has any,
// by its HAProxy id (in ids); a backend of weight 0, which gets no
// request, has none.
func (s *shareHeaders) byBackend(bs []lbconfig.WeightedBackend, ids map[string]string) (map[string]string, error) {
	var out map[string]string
	for i, b := range bs {
		if b.RequestHeaders == nil || b.Weight == 0 {
			continue
		}
		id, err := s.add(b.RequestHeaders)
		if err != nil {
			return nil, fmt.Errorf("backends[%d].requestHeaders: %w", i, err)
		}
		if out == nil {
			out = map[string]string{}
		}
		out[ids[b.Name]] = id
	}
	return out, nil
}

// add returns the id of m's rule.
func (s *shareHeaders) add(m *lbconfig.HeaderModifier) (string, error) {
	if err := lbconfig.CheckBackendHeaders(m); err != nil {
		return "", err
	}
	const placeholder = "\x00id"
	lines, err := changeLines("http-request", m, " if { var(txn.bhdr) -m str "+placeholder+" }", true) // headers.go
	if err != nil {
		return "", err
	}
	key := strings.Join(lines, "\n")
	for _, r := range s.rules {
		if r.key == key {
			return r.id, nil
		}
	}
	id := "b" + strconv.Itoa(len(s.rules))
	for i := range lines {
		lines[i] = strings.ReplaceAll(lines[i], placeholder, id)
	}
	s.rules = append(s.rules, shareRule{id: id, key: key, lines: lines})
	return id, nil
}

// lines writes every rule's changes.
func (s *shareHeaders) lines(w *lines) {
	for _, r := range s.rules {
		for _, l := range r.lines {
			w.line("    " + l)
		}
	}
}
