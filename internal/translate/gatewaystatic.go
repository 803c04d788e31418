package translate

import (
	"fmt"
	"net/netip"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Static addresses (spec.addresses) with an address pool: the pool holds
// the addresses the controller's load balancers are given, so a Gateway
// may name addresses in it, or loopback ones (which every host can
// bind); any other is not usable (Accepted, but Programmed False with
// AddressNotUsable, and nothing bound) rather than bound wherever a
// Gateway's owner asks. An IPAddress without a value asks for an address
// of the pool (GatewayAddressEmpty). Without a pool every IP address is
// handed to the provider, which refuses what it cannot bind.

// gatewayPoolFeatures are the features declared only with a pool.
var gatewayPoolFeatures = []gatewayv1.FeatureName{"GatewayAddressEmpty", "GatewayStaticAddresses"}

// outsidePool reports whether one of addrs is outside the pool and not a
// loopback address, and then leaves st unprogrammed.
func (g *gatewayAPI) outsidePool(st *gatewayState, addrs []netip.Addr) bool {
	pool := g.t.opts.GatewayAddressPool
	if !pool.IsValid() {
		return false
	}
	pool = pool.Masked()
	for _, a := range addrs {
		if pool.Contains(a) || a.IsLoopback() {
			continue
		}
		st.noAddress = fmt.Sprintf("address %s is neither in the address pool %s nor a loopback address", a, pool)
		st.noAddressReason = gatewayv1.GatewayReasonAddressNotUsable
		g.t.problems.add(st.ref, "spec.addresses", string(st.noAddressReason), "%s; the Gateway is not served", st.noAddress)
		return true
	}
	return false
}
