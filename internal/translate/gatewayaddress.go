package translate

import (
	"fmt"
	"net/netip"
	"slices"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/pkg/lbconfig"
)

// Addresses of Gateways, decided in this order, oldest Gateway first:
//
//  1. spec.addresses, each of type IPAddress (or no type): the load
//     balancer binds them all. Any other type, or a value that is not an
//     IP address, leaves the Gateway unaccepted (UnsupportedAddress). An
//     address another Gateway took first is a conflict: the later one is
//     not accepted either. With a pool, an address outside it leaves the
//     Gateway unprogrammed (AddressNotUsable), and an IPAddress without a
//     value asks for a pool address too (gatewaystatic.go).
//  2. With a pool (Options.GatewayAddressPool), a Gateway without
//     spec.addresses keeps the pool address its status.addresses already
//     shows, unless an older claim took it: so an address is stable across
//     restarts and leaders, and does not move when another Gateway goes.
//  3. The others get the lowest free address of the pool (not the
//     network's first address, nor the IPv4 broadcast one); none left
//     leaves the Gateway unprogrammed (AddressNotAssigned).
//  4. Without a pool, the provider's listen address.
//
// An address is released when its Gateway goes: nothing but the
// snapshot remembers it.

// maxPoolScan bounds the addresses of the pool looked at for a free one,
// so that a huge IPv6 pool costs no more than a small one.
const maxPoolScan = 1 << 16

// assignAddresses sets the addresses of every Gateway.
func (g *gatewayAPI) assignAddresses() {
	taken := map[netip.Addr]lbconfig.ObjectRef{}
	var wantPool []*gatewayState
	for _, st := range g.gateways {
		if !st.accepted {
			continue // refused for its parameters: no address taken
		}
		if len(st.gw.Spec.Addresses) == 0 {
			wantPool = append(wantPool, st)
			continue
		}
		if g.specAddresses(st, taken) {
			wantPool = append(wantPool, st)
		}
	}
	pool := g.t.opts.GatewayAddressPool
	if !pool.IsValid() {
		return
	}
	pool = pool.Masked()
	var fresh []*gatewayState
	for _, st := range wantPool {
		if a, ok := keptAddress(st.gw, pool, taken); ok {
			taken[a] = st.ref
			st.addresses = sortAddrs(append(st.addresses, a))
			continue
		}
		fresh = append(fresh, st)
	}
	next := firstPoolAddress(pool)
	for _, st := range fresh {
		a, ok := freeAddress(pool, &next, taken)
		if !ok {
			st.noAddress = fmt.Sprintf("the address pool %s has no free address", pool)
			g.t.problems.add(st.ref, "spec.addresses", string(gatewayv1.GatewayReasonAddressNotAssigned), "%s; the Gateway is not served", st.noAddress)
			continue
		}
		taken[a] = st.ref
		st.addresses = sortAddrs(append(st.addresses, a))
	}
}

// freeAddress returns the first address of pool from *next on that is
// not taken, and moves *next past it.
func freeAddress(pool netip.Prefix, next *netip.Addr, taken map[netip.Addr]lbconfig.ObjectRef) (netip.Addr, bool) {
	for n := 0; n < maxPoolScan && next.IsValid() && pool.Contains(*next) && !isBroadcast(pool, *next); n++ {
		a := *next
		*next = a.Next()
		if _, used := taken[a]; !used {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// specAddresses reads the spec.addresses of st, and reports whether it
// asks for a pool address too.
func (g *gatewayAPI) specAddresses(st *gatewayState, taken map[netip.Addr]lbconfig.ObjectRef) (wantPool bool) {
	var addrs []netip.Addr
	for i, sa := range st.gw.Spec.Addresses {
		f := fmt.Sprintf("spec.addresses[%d]", i)
		if sa.Type != nil && *sa.Type != gatewayv1.IPAddressType {
			g.refuseAddress(st, f+".type", fmt.Sprintf("address type %q is not supported, only IPAddress", *sa.Type))
			return false
		}
		if sa.Value == "" {
			wantPool = true
			continue
		}
		a, err := netip.ParseAddr(sa.Value)
		if err == nil {
			err = lbconfig.CheckAddress(a)
		}
		if err != nil {
			g.refuseAddress(st, f+".value", fmt.Sprintf("%q is not an IP address this controller can bind", sa.Value))
			return false
		}
		if owner, used := taken[a]; used && owner != st.ref {
			g.refuseAddress(st, f+".value", fmt.Sprintf("address %s is already used by %s (older)", a, owner))
			return false
		}
		addrs = append(addrs, a)
	}
	if g.outsidePool(st, addrs) {
		return false
	}
	for _, a := range addrs {
		taken[a] = st.ref
	}
	st.addresses = sortAddrs(addrs)
	return wantPool
}

func (g *gatewayAPI) refuseAddress(st *gatewayState, field, msg string) {
	st.accepted = false
	st.acceptedReason = gatewayv1.GatewayReasonUnsupportedAddress
	st.acceptedMessage = msg
	g.t.problems.add(st.ref, field, string(st.acceptedReason), "%s; the Gateway is not served", msg)
}

// keptAddress returns the first IP address of gw's status.addresses that
// is in pool and free.
func keptAddress(gw *gatewayv1.Gateway, pool netip.Prefix, taken map[netip.Addr]lbconfig.ObjectRef) (netip.Addr, bool) {
	for _, sa := range gw.Status.Addresses {
		if sa.Type != nil && *sa.Type != gatewayv1.IPAddressType {
			continue
		}
		a, err := netip.ParseAddr(sa.Value)
		if err != nil || lbconfig.CheckAddress(a) != nil || !pool.Contains(a) || a == pool.Addr() || isBroadcast(pool, a) {
			continue
		}
		if _, used := taken[a]; !used {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// firstPoolAddress is the first address of pool handed out: the one after
// the network's own address, unless the pool is one or two addresses.
func firstPoolAddress(pool netip.Prefix) netip.Addr {
	if pool.Bits() >= pool.Addr().BitLen()-1 {
		return pool.Addr()
	}
	return pool.Addr().Next()
}

// isBroadcast reports whether a is the last address of an IPv4 pool of
// more than two addresses.
func isBroadcast(pool netip.Prefix, a netip.Addr) bool {
	if !a.Is4() || pool.Bits() >= 31 {
		return false
	}
	n := a.Next()
	return !n.IsValid() || !pool.Contains(n)
}

// sortAddrs sorts as and drops duplicates.
func sortAddrs(as []netip.Addr) []netip.Addr {
	slices.SortFunc(as, netip.Addr.Compare)
	return slices.Compact(as)
}
