package haproxy

import (
	"net/netip"
	"strconv"

	"ingress-controller/pkg/lbconfig"
)

// The runtime-slot model: every backend gets a fixed number of "server"
// lines (slots) so that endpoint changes are runtime API updates of
// addresses and states (runtime.go) rather than reloads; RenderConfig lays
// the slots out, and a reload happens only when a backend outgrows them.

// Layout is the server slot layout of every backend, by lbconfig backend
// name. It is what the runtime API changes between reloads.
type Layout struct {
	Backends map[string]*BackendSlots
}

// BackendSlots are the server slots of one lbconfig backend.
type BackendSlots struct {
	// IDs are the HAProxy backends rendered for it, which share these
	// slots: the mode http one (BackendID) when HTTP routes use it, the
	// mode tcp one (TCPBackendID) when TCP listeners or TLS passthrough
	// do, or both.
	IDs   []string
	Slots []Slot
}

// Slot is one "server" line of a backend. A free slot has no Address.
type Slot struct {
	Address string
	Port    int32
	State   ServerState
}

// ServerState is the administrative state of a server slot.
type ServerState string

// Server states, as the runtime API's "set server ... state" spells them.
const (
	StateReady ServerState = "ready"
	StateDrain ServerState = "drain"
	StateMaint ServerState = "maint"
)

// serverName is the name of slot i (from 0) of a backend.
func serverName(i int) string { return "s" + strconv.Itoa(i+1) }

// endpointState maps an lbconfig endpoint to a server state: only ready
// endpoints take new requests; terminating ones that still serve drain.
func endpointState(e lbconfig.Endpoint) ServerState {
	switch {
	case e.Ready && !e.Terminating:
		return StateReady
	case e.Serving:
		return StateDrain
	}
	return StateMaint
}

// slotCount is how many slots a backend with n endpoints gets: a power of
// two with room for at least one more, never fewer than minSlots.
func slotCount(n int) int {
	size := minSlots
	for size < n+1 {
		size *= 2
	}
	return size
}

// assignSlots places eps into slots. Endpoints already in prev keep their
// slot; new ones take the lowest free slots. With grow set the slot count
// fits eps; without it, it is prev's and ok is false when eps do not fit.
func assignSlots(eps []lbconfig.Endpoint, prev []Slot, grow bool) (slots []Slot, ok bool) {
	size := len(prev)
	if grow || size == 0 {
		size = slotCount(len(eps))
	} else if len(eps) > size {
		return nil, false
	}
	slots = make([]Slot, size)
	placed := make([]bool, len(eps))
	index := make(map[netip.AddrPort]int, len(eps))
	for i, e := range eps {
		if a, err := netip.ParseAddr(e.Address); err == nil {
			index[netip.AddrPortFrom(a, uint16(e.Port))] = i
		}
	}
	for s, ps := range prev {
		if s >= size || ps.Address == "" {
			continue
		}
		a, err := netip.ParseAddr(ps.Address)
		if err != nil {
			continue
		}
		if i, found := index[netip.AddrPortFrom(a, uint16(ps.Port))]; found && !placed[i] {
			slots[s] = Slot{Address: eps[i].Address, Port: eps[i].Port, State: endpointState(eps[i])}
			placed[i] = true
		}
	}
	free := 0
	for i, e := range eps {
		if placed[i] {
			continue
		}
		for free < size && slots[free].Address != "" {
			free++
		}
		if free == size {
			return nil, false
		}
		slots[free] = Slot{Address: e.Address, Port: e.Port, State: endpointState(e)}
	}
	for s := range slots {
		if slots[s].Address == "" {
			slots[s].State = StateMaint
		}
	}
	return slots, true
}
