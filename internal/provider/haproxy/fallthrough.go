package haproxy

import (
	"strconv"

	"ingress-controller/pkg/lbconfig"
)

// fallThroughs holds a listener's lbconfig.VirtualHost.FallThrough links
// as a map from virtual host id to virtual host id. Routing looks a
// request's path up in its virtual host's routes; where none took it
// (txn.backend not found), txn.vhost becomes the virtual host linked to
// and the lookups run again, once per link of the longest chain: the
// hostname ranks before the path, as lbconfig asks. A virtual host
// without a link maps to fallThroughEnd, which no lookup key starts
// with, so the rounds after it cost a failed condition. A listener
// without links renders none of this.
type fallThroughs struct {
	text lines // "<id> <id>" per link
	// rounds is the number of links of the longest chain.
	rounds int
}

// fallThroughEnd is the txn.vhost of a request whose chain ended.
const fallThroughEnd = "end"

// newFallThroughs reads l's links; ids are "v<index>" as httpListener
// names virtual hosts.
func newFallThroughs(l lbconfig.Listener) fallThroughs {
	var f fallThroughs
	ids := make(map[string]int, len(l.VirtualHosts))
	for k, vh := range l.VirtualHosts {
		ids[vh.Hostname] = k
	}
	for k, vh := range l.VirtualHosts {
		if vh.FallThrough == nil {
			continue
		}
		to, ok := ids[*vh.FallThrough]
		if !ok {
			continue // Validate refuses it
		}
		f.text.line("v" + strconv.Itoa(k) + " v" + strconv.Itoa(to))
		f.rounds = max(f.rounds, chainLength(l, k, ids))
	}
	return f
}

// chainLength counts the links from virtual host k, at most one per
// virtual host however the config links them.
func chainLength(l lbconfig.Listener, k int, ids map[string]int) int {
	n := 0
	for n < len(l.VirtualHosts) && l.VirtualHosts[k].FallThrough != nil {
		next, ok := ids[*l.VirtualHosts[k].FallThrough]
		if !ok {
			break
		}
		k = next
		n++
	}
	return n
}

// lines writes, when the listener has links, the map file at path and
// each round: the rule that moves an unrouted request to the linked
// virtual host, then lookup, which writes the routing rules given the
// condition that the request is still unrouted and its chain goes on.
func (f *fallThroughs) lines(w *lines, files map[string][]byte, path string, lookup func(w *lines, exactCond, prefixCond string)) {
	if f.rounds == 0 {
		return
	}
	files[path] = []byte(f.text.String())
	for range f.rounds {
		w.line("    http-request set-var(txn.vhost) var(txn.vhost),map_str(" + path + "," + fallThroughEnd + ") if !{ var(txn.backend) -m found } { var(txn.vhost) -m found }")
		cond := "!{ var(txn.backend) -m found } !{ var(txn.vhost) -m str " + fallThroughEnd + " }"
		lookup(w, cond, cond)
	}
}
