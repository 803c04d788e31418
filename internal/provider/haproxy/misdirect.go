package haproxy

import (
	"fmt"
	"strconv"

	"ingress-controller/pkg/lbconfig"
)

// Misdirected requests (lbconfig.VirtualHost.ConnectionGroup) on an HTTPS
// listener: a map gives each virtual host with a group the group's
// number; the group of the Host's virtual host (txn.vhost) and that of
// the server name's (txn.sniv, picked through the same maps: sniHosts)
// must be the same where both have one, else 421. The config never holds
// a group's name, only its number.

// hostGroups are the connection groups of one listener's virtual hosts:
// group[k] numbers virtual host k's, or is -1.
type hostGroups struct {
	group []int
}

// connectionGroups numbers the connection groups of l's virtual hosts;
// nil when none has one.
func connectionGroups(l lbconfig.Listener) (*hostGroups, error) {
	ids := map[string]int{}
	g := &hostGroups{group: make([]int, len(l.VirtualHosts))}
	for k, vh := range l.VirtualHosts {
		g.group[k] = -1
		if vh.ConnectionGroup == "" {
			continue
		}
		if l.Protocol != lbconfig.ProtocolHTTPS || vh.Passthrough != nil {
			return nil, fmt.Errorf("virtual host %d (%q): connectionGroup: only virtual hosts that terminate TLS on HTTPS listeners have one", k, vh.Hostname)
		}
		id, ok := ids[vh.ConnectionGroup]
		if !ok {
			id = len(ids)
			ids[vh.ConnectionGroup] = id
		}
		g.group[k] = id
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return g, nil
}

// lines writes the map of groups and the rule that answers 421, after
// sniHosts' rules.
func (g *hostGroups) lines(w *lines, files map[string][]byte, prefix string) {
	if g == nil {
		return
	}
	var m lines
	for k, id := range g.group {
		if id >= 0 {
			m.line("v" + strconv.Itoa(k) + " g" + strconv.Itoa(id))
		}
	}
	gm := prefix + "groups.map"
	files[gm] = []byte(m.String())
	w.line("    http-request set-var(txn.hgroup) var(txn.vhost),map_str(" + gm + ") if { var(txn.vhost) -m found }")
	w.line("    http-request set-var(txn.sgroup) var(txn.sniv),map_str(" + gm + ") if { var(txn.sniv) -m found }")
	w.line(`    http-request return status 421 content-type "text/plain; charset=utf-8" string "` + misdirectedBody + `" if { var(txn.hgroup) -m found } { var(txn.sgroup) -m found } !{ var(txn.hgroup),strcmp(txn.sgroup) eq 0 }`)
}
