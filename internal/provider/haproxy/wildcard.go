package haproxy

import (
	"cmp"
	"slices"
	"strings"

	"ingress-controller/pkg/lbconfig"
)

// multiLabels are the multi-label wildcard virtual hosts of a listener
// (lbconfig.VirtualHost.MultiLabel). They are looked up with map_end on
// the whole host, after the exact and one-label maps: map_end tries its
// keys in the order of the file, so the file lists the longest suffix
// first and the first match is the most specific, as lbconfig's.
type multiLabels struct {
	entries [][2]string // suffix (".example.com") and map value
}

// add takes vh if it is a multi-label wildcard, and reports whether it
// did.
func (m *multiLabels) add(vh lbconfig.VirtualHost, value string) bool {
	if !vh.MultiLabel || !strings.HasPrefix(vh.Hostname, "*.") {
		return false
	}
	m.entries = append(m.entries, [2]string{vh.Hostname[1:], value})
	return true
}

// write puts the map file at path in files and returns the rule that
// sets variable (txn.vhost, txn.pass) from the one named by host when
// nothing set it yet, with the rule's action (http-request, tcp-request
// content); "" when there is no multi-label wildcard.
func (m *multiLabels) write(files map[string][]byte, path, action, host, variable string) string {
	if len(m.entries) == 0 {
		return ""
	}
	slices.SortFunc(m.entries, func(a, b [2]string) int {
		return cmp.Or(cmp.Compare(len(b[0]), len(a[0])), cmp.Compare(a[0], b[0]))
	})
	var text lines
	for _, e := range m.entries {
		text.line(e[0] + " " + e[1])
	}
	files[path] = []byte(text.String())
	return "    " + action + " set-var(" + variable + ") var(" + host + "),map_end(" + path + ") if !{ var(" + variable + ") -m found } { var(" + host + ") -m found }"
}
