package lbconfig

import (
	"fmt"
	"net/netip"
	"slices"
)

// Overlap reports whether listeners on the same port at a and b would
// take each other's connections: the same address, or one of them the
// wildcard (0.0.0.0 or ::) of the other's family. The invalid Addr stands
// for the provider's listen address and overlaps only itself here, as
// Config cannot know that address; providers check it against the rest.
func Overlap(a, b netip.Addr) bool {
	switch {
	case !a.IsValid() || !b.IsValid():
		return a == b
	case a == b:
		return true
	}
	return a.Is4() == b.Is4() && (a.IsUnspecified() || b.IsUnspecified())
}

// CheckAddress returns an error unless a is an IP address in the one
// form Addresses takes: no zone, and IPv4 written as IPv4, not mapped.
func CheckAddress(a netip.Addr) error {
	switch {
	case !a.IsValid():
		return fmt.Errorf("%q is not an IP address", a.String())
	case a.Zone() != "":
		return fmt.Errorf("%s must not have a zone", a)
	case a.Is4In6():
		return fmt.Errorf("%s is an IPv4-mapped IPv6 address; write it as IPv4", a)
	case a.IsMulticast():
		return fmt.Errorf("%s is a multicast address", a)
	}
	return nil
}

// BindAddresses returns where lb's listeners bind: its Addresses, or the
// invalid Addr, which stands for the provider's listen address.
func (lb *LoadBalancer) BindAddresses() []netip.Addr {
	if len(lb.Addresses) == 0 {
		return []netip.Addr{{}}
	}
	return lb.Addresses
}

// PublicAddresses are lb's endpoints for a provider Result when the
// provider's listen address is listen (an IP, or "" for all): each
// address lb binds with its listener ports. Addresses that stand for
// every address of the host (listen "", 0.0.0.0, ::) are left out, so
// that the status comes from --publish-service or
// --publish-status-address.
func (lb *LoadBalancer) PublicAddresses(listen string) []Address {
	ports := make([]int32, 0, len(lb.Listeners))
	for _, l := range lb.Listeners {
		ports = append(ports, l.Port)
	}
	out := []Address{}
	if len(lb.Addresses) == 0 {
		if listen != "" {
			out = append(out, Address{IP: listen, Ports: ports})
		}
		return out
	}
	for _, a := range lb.Addresses {
		if !a.IsUnspecified() {
			out = append(out, Address{IP: a.String(), Ports: slices.Clone(ports)})
		}
	}
	return out
}

// bindOwners finds the listeners of different load balancers that would
// bind overlapping addresses on the same port.
type bindOwners map[int32][]bindOwner

type bindOwner struct {
	addr netip.Addr
	lb   string
}

// claim records lb's listener on port at each of its addresses and
// returns what clashes with a listener of another load balancer, or "".
func (o bindOwners) claim(lb LoadBalancer, port int32) string {
	msg := ""
	for _, a := range lb.BindAddresses() {
		for _, b := range o[port] {
			if b.lb != lb.Name && Overlap(a, b.addr) && msg == "" {
				msg = fmt.Sprintf("port %d is already used by load balancer %q", port, b.lb)
				if a.IsValid() {
					msg = fmt.Sprintf("port %d on %s is already used by load balancer %q on %s", port, a, b.lb, b.addr)
				}
			}
		}
		o[port] = append(o[port], bindOwner{addr: a, lb: lb.Name})
	}
	return msg
}

func (v *validator) addresses(f string, as []netip.Addr) {
	for i, a := range as {
		af := fmt.Sprintf("%s[%d]", f, i)
		if err := CheckAddress(a); err != nil {
			v.add(af, err.Error())
		} else if i > 0 && as[i-1].Compare(a) >= 0 {
			v.add(af, fmt.Sprintf("%s must come after %s, once (sorted without duplicates)", a, as[i-1]))
		}
	}
}

// sortAddrs sorts as and drops duplicates, in place.
func sortAddrs(as []netip.Addr) []netip.Addr {
	slices.SortFunc(as, netip.Addr.Compare)
	return slices.Compact(as)
}
