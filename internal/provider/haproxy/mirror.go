package haproxy

import (
	_ "embed"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"ingress-controller/pkg/lbconfig"
)

// Request mirrors (lbconfig.Route.Mirrors). HAProxy 2.6 has no mirroring
// of its own: a Lua action, mirror.lua, run once the request is routed,
// checked and changed (after the header changes and the rewrite, before
// use_backend), builds the copy and leaves it to a Lua task, so the
// client's request goes on at once whatever the mirror does. The task
// sends the copy on a socket to a server in service of the mirror's
// backend, rendered as any other and moved by the runtime API
// (backend-servers.lua, which external authentication shares), and
// gives up 10s after it began, connect to the answer's first byte. At
// most 64 copies are on their way, the others dropped and counted; each
// mirror draws its share with HAProxy's rand. A route's map value carries its mirror rule's id
// after "&", last, so it is taken off first. A body is copied when its
// length is announced, up to 64 KiB, and all of it fits HAProxy's buffer
// (the config waits for it, at most mirrorBodyWait); a longer, chunked
// or incomplete body goes to the backend only, with no copy.
//
// Lua sockets speak HTTP/1.1 in the clear and verify no certificate: a
// mirror backend of another protocol (HTTPS, h2c, gRPC) is refused, and
// the engine leaves out just the object that asked for it.

// mirrorMarker separates a route's mirror rule id in its map value.
const mirrorMarker = "&"

// mirrorLua is the file of the action and its rules; backendServersLua
// the servers of backends, which it and ext-auth.lua use.
const (
	mirrorLua         = "mirror.lua"
	backendServersLua = "backend-servers.lua"
)

// maxMirrorBody is mirror.lua's max_body, the builtin's bound.
const maxMirrorBody = 64 << 10

// mirrorBodyWait bounds the wait for a body to copy.
const mirrorBodyWait = "10s"

//go:embed mirror.lua
var mirrorSource string

//go:embed backendservers.lua
var backendServersSource []byte

// mirrorRules numbers the distinct mirror sets of the config, in the
// order routes first use them.
type mirrorRules struct {
	rules []mirrorRule
}

type mirrorRule struct {
	id      string
	mirrors []lbconfig.Mirror
}

// add returns value with the id of rt's mirrors, or value as it is for
// a route without; the backends of the mirrors must speak HTTP/1.1.
func (mr *mirrorRules) add(r *renderer, rt lbconfig.Route, value string) (string, error) {
	if len(rt.Mirrors) == 0 {
		return value, nil
	}
	for i, m := range rt.Mirrors {
		b := r.backendNamed(m.Name)
		switch {
		case b == nil:
			return "", fmt.Errorf("mirrors[%d]: backend %q does not exist", i, m.Name)
		case b.Protocol != "" && b.Protocol != lbconfig.BackendHTTP:
			return "", fmt.Errorf("mirrors[%d]: the haproxy provider mirrors to HTTP/1.1 backends in the clear, not %s (Lua sockets)", i, b.Protocol)
		case m.Denominator < 0 || m.Numerator < 0:
			return "", fmt.Errorf("mirrors[%d]: a negative share", i)
		}
	}
	for _, x := range mr.rules {
		if reflect.DeepEqual(x.mirrors, rt.Mirrors) {
			return value + mirrorMarker + x.id, nil
		}
	}
	id := "m" + strconv.Itoa(len(mr.rules))
	mr.rules = append(mr.rules, mirrorRule{id: id, mirrors: rt.Mirrors})
	return value + mirrorMarker + id, nil
}

// backendNamed returns the backend of the config named name, or nil.
func (r *renderer) backendNamed(name string) *lbconfig.Backend {
	for i := range r.cfg.Backends {
		if r.cfg.Backends[i].Name == name {
			return &r.cfg.Backends[i]
		}
	}
	return nil
}

// hasMirrors reports whether a route of cfg has mirrors, which need the
// Lua files loaded.
func hasMirrors(cfg *lbconfig.Config) bool {
	for _, lb := range cfg.LoadBalancers {
		for _, l := range lb.Listeners {
			for _, vh := range l.VirtualHosts {
				for _, rt := range vh.Routes {
					if len(rt.Mirrors) > 0 {
						return true
					}
				}
			}
		}
	}
	return false
}

// splitLines take the rule id off the value the routing left in
// txn.backend into txn.mirror, first, as it rides last.
func (mr *mirrorRules) splitLines(w *lines, used bool) {
	if !used {
		return
	}
	w.line("    http-request set-var(txn.mirror) var(txn.backend),field(2," + mirrorMarker + ") if { var(txn.backend) -m sub " + mirrorMarker + " }")
	w.line("    http-request set-var(txn.backend) var(txn.backend),field(1," + mirrorMarker + ") if { var(txn.mirror) -m found }")
}

// actionLines wait for a body the copies may carry, then run the
// action.
func (mr *mirrorRules) actionLines(w *lines, used bool) {
	if !used {
		return
	}
	w.line("    http-request wait-for-body time " + mirrorBodyWait + " if { var(txn.mirror) -m found } { req.hdr_cnt(content-length) eq 1 } { req.hdr_val(content-length) gt 0 } { req.hdr_val(content-length) le " + strconv.Itoa(maxMirrorBody) + " }")
	w.line("    http-request lua.mirror if { var(txn.mirror) -m found }")
}

// lua is the Lua file: the rules as a table, then the action.
func (mr *mirrorRules) lua() []byte {
	var b strings.Builder
	b.WriteString("-- Generated by ingress-controller; do not edit.\n")
	b.WriteString("mirror_rules = {\n")
	for _, x := range mr.rules {
		b.WriteString("    [" + luaString(x.id) + "] = {\n")
		for _, m := range x.mirrors {
			b.WriteString("        { backend = " + luaString(BackendID(m.Name)) + ", num = " + strconv.Itoa(int(m.Numerator)) + ", den = " + strconv.Itoa(int(m.Denominator)) + " },\n")
		}
		b.WriteString("    },\n")
	}
	b.WriteString("}\n\n")
	b.WriteString(mirrorSource)
	return []byte(b.String())
}
