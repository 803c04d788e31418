package haproxy

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"ingress-controller/pkg/lbconfig"
)

// Admin state bits of "show servers state" (srv_admin_state).
const (
	admForcedMaint = 0x01 // set server ... state maint, or "disabled"
	admForcedDrain = 0x08 // set server ... state drain
)

// serverLine is one server of "show servers state".
type serverLine struct {
	backend, server string
	addr            string
	port            int32
	admin           int
	raw             string
}

// parseServersState reads the output of "show servers state" (format 1).
func parseServersState(out string) []serverLine {
	var lines []serverLine
	for l := range strings.SplitSeq(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 19 || strings.HasPrefix(l, "#") {
			continue
		}
		admin, err1 := strconv.Atoi(f[6])
		port, err2 := strconv.Atoi(f[18])
		if err1 != nil || err2 != nil {
			continue
		}
		lines = append(lines, serverLine{backend: f[1], server: f[3], addr: f[4], port: int32(port), admin: admin, raw: l})
	}
	return lines
}

// matches reports whether the runtime state of a server is what slot says.
func (s Slot) matches(l serverLine) bool {
	if s.Address == "" {
		// A free slot keeps whatever address it had: only its state counts.
		return l.admin&admForcedMaint != 0
	}
	addr, port := s.Address, s.Port
	a, err1 := netip.ParseAddr(addr)
	b, err2 := netip.ParseAddr(l.addr)
	if err1 != nil || err2 != nil || a.Unmap() != b.Unmap() || port != l.port {
		return false
	}
	switch s.State {
	case StateReady:
		return l.admin&(admForcedMaint|admForcedDrain) == 0
	case StateDrain:
		return l.admin&admForcedMaint == 0 && l.admin&admForcedDrain != 0
	default:
		return l.admin&admForcedMaint != 0
	}
}

// slotCommands returns the runtime commands that take server id/name from
// slot old to slot new.
func slotCommands(id, name string, old, new Slot) []string {
	target := id + "/" + name
	if new.Address == "" {
		if old.Address == "" && old.State == StateMaint {
			return nil
		}
		return []string{"set server " + target + " state maint"}
	}
	var cmds []string
	moved := old.Address != new.Address || old.Port != new.Port
	if moved {
		a := netip.MustParseAddr(new.Address).Unmap() // validated before
		cmds = append(cmds, "set server "+target+" addr "+a.String()+" port "+strconv.Itoa(int(new.Port)))
	}
	if moved || old.State != new.State {
		cmds = append(cmds, "set server "+target+" state "+string(new.State))
	}
	return cmds
}

// planEndpoints computes the new slots of the backends whose endpoints
// changed, without touching HAProxy. ok is false when a backend has
// outgrown its slots and a reload is needed.
func planEndpoints(layout *Layout, cfg *lbconfig.Config, changed []string) (next map[string][]Slot, ok bool) {
	next = map[string][]Slot{}
	for _, name := range changed {
		bs := layout.Backends[name]
		b := cfg.Backend(name)
		if bs == nil || b == nil {
			return nil, false
		}
		for _, e := range b.Endpoints {
			if a, err := netip.ParseAddr(e.Address); err != nil || a.Zone() != "" || e.Port < 1 || e.Port > 65535 {
				return nil, false // let RenderConfig say what is wrong
			}
		}
		slots, fits := assignSlots(b.Endpoints, bs.Slots, false)
		if !fits {
			return nil, false
		}
		next[name] = slots
	}
	return next, true
}

// applySlots moves the backend's servers to slots through the runtime API
// and checks the result with "show servers state". On success the layout
// records the new slots.
func (p *Provider) applySlots(ctx context.Context, name string, slots []Slot) error {
	bs := p.layout.Backends[name]
	// Servers that become ready go first, so that a backend never has no
	// ready server in between when its endpoints are replaced.
	var cmds []string
	for _, id := range bs.IDs {
		for _, up := range []bool{true, false} {
			for i := range slots {
				if (slots[i].State == StateReady) == up {
					cmds = append(cmds, slotCommands(id, serverName(i), bs.Slots[i], slots[i])...)
				}
			}
		}
	}
	if len(cmds) == 0 {
		return nil
	}
	changes := len(cmds)
	for _, id := range bs.IDs {
		cmds = append(cmds, "show servers state "+id)
	}
	out, err := p.workerCommands(ctx, p.worker, cmds)
	if err != nil {
		return fmt.Errorf("backend %q: runtime API: %w", name, err)
	}
	got := map[string]serverLine{}
	for _, l := range parseServersState(out) {
		got[l.backend+"/"+l.server] = l
	}
	for _, id := range bs.IDs {
		for i, s := range slots {
			l, found := got[id+"/"+serverName(i)]
			if !found || !s.matches(l) {
				return fmt.Errorf("backend %q: server %s/%s: runtime API did not apply %+v (HAProxy said %q)", name, id, serverName(i), s, strings.TrimSpace(out))
			}
		}
	}
	bs.Slots = slots
	p.runtimeUpdates.Add(int64(changes))
	return nil
}

// filterServerState keeps the lines of a "show servers state" dump whose
// server the new layout leaves as it is, so that loading the file after a
// reload restores runtime state without undoing what the new config says.
func filterServerState(dump string, layout *Layout) string {
	slots := map[string]Slot{}
	for _, bs := range layout.Backends {
		for _, id := range bs.IDs {
			for i, s := range bs.Slots {
				slots[id+"/"+serverName(i)] = s
			}
		}
	}
	var b strings.Builder
	for l := range strings.SplitSeq(dump, "\n") {
		f := strings.Fields(l)
		if len(f) == 1 || strings.HasPrefix(l, "#") { // version and header
			b.WriteString(l + "\n")
		}
	}
	for _, l := range parseServersState(dump) {
		if s, ok := slots[l.backend+"/"+l.server]; ok && s.matches(l) {
			b.WriteString(l.raw + "\n")
		}
	}
	return b.String()
}
