package translate

import (
	"cmp"
	"fmt"
	"net/netip"

	discoveryv1 "k8s.io/api/discovery/v1"

	"ingress-controller/pkg/lbconfig"
)

// endpoints collects the endpoints of one service port from every
// EndpointSlice of the service (a Service has several when it is large or
// dual-stack). Endpoints that are not ready are kept: providers drain them.
func (b *builder) endpoints(ns, service, portName string) []lbconfig.Endpoint {
	type key struct {
		addr netip.Addr
		port int32
	}
	unique := map[key]lbconfig.Endpoint{}
	var order []key
	for _, es := range b.index.slices[ns+"/"+service] {
		if es.AddressType == discoveryv1.AddressTypeFQDN {
			continue // we route to IP addresses only
		}
		port, ok := b.slicePort(es, portName)
		if !ok {
			continue
		}
		for i := range es.Endpoints {
			ep := &es.Endpoints[i]
			for j, s := range ep.Addresses {
				addr, ok := b.sliceAddress(es, i, j, s)
				if !ok {
					continue
				}
				e := endpoint(addr, port, ep)
				k := key{addr, port}
				old, dup := unique[k]
				if !dup {
					order = append(order, k)
				}
				// The same address in two slices (during a slice rebalance,
				// say) is one endpoint; pick the best state so that the
				// result does not depend on slice order.
				if !dup || compareEndpoints(e, old) > 0 {
					unique[k] = e
				}
			}
		}
	}
	out := make([]lbconfig.Endpoint, 0, len(order))
	for _, k := range order {
		out = append(out, unique[k])
	}
	return out
}

// slicePort finds the slice port that serves the Service port called name
// ("" for an unnamed port). Its number is the target port, which may differ
// from the Service port.
func (b *builder) slicePort(es *discoveryv1.EndpointSlice, name string) (int32, bool) {
	for k, p := range es.Ports {
		if derefOr(p.Name, "") != name || !isTCP(derefOr(p.Protocol, "")) {
			continue
		}
		if p.Port == nil || *p.Port < 1 || *p.Port > 65535 {
			b.problems.add(sliceRef(es), fmt.Sprintf("ports[%d].port", k), "InvalidPort",
				"port %q needs a number from 1 to 65535; the endpoints of this slice are not used", name)
			return 0, false
		}
		return *p.Port, true
	}
	return 0, false
}

// sliceAddress parses an endpoint address into its canonical form.
func (b *builder) sliceAddress(es *discoveryv1.EndpointSlice, i, j int, s string) (netip.Addr, bool) {
	addr, err := netip.ParseAddr(s)
	if err != nil || addr.Zone() != "" {
		b.problems.add(sliceRef(es), fmt.Sprintf("endpoints[%d].addresses[%d]", i, j), "InvalidAddress",
			"%q is not an IP address; this address is not used", s)
		return netip.Addr{}, false
	}
	return addr, true
}

func sliceRef(es *discoveryv1.EndpointSlice) lbconfig.ObjectRef {
	return lbconfig.ObjectRef{Kind: "EndpointSlice", Namespace: es.Namespace, Name: es.Name}
}

// endpoint maps EndpointSlice conditions to the model: nil ready means ready
// and nil serving means "as ready", as the EndpointSlice API says; a
// terminating endpoint never takes new requests.
func endpoint(addr netip.Addr, port int32, ep *discoveryv1.Endpoint) lbconfig.Endpoint {
	c := ep.Conditions
	ready := derefOr(c.Ready, true)
	e := lbconfig.Endpoint{
		Address:     addr.String(),
		Port:        port,
		Ready:       ready,
		Serving:     derefOr(c.Serving, ready),
		Terminating: derefOr(c.Terminating, false),
		Zone:        derefOr(ep.Zone, ""),
	}
	if e.Terminating {
		e.Ready = false
	}
	return e
}

// compareEndpoints orders two states of one endpoint, better last: ready,
// then serving, then not terminating, then by zone so that the order is
// total.
func compareEndpoints(a, b lbconfig.Endpoint) int {
	return cmp.Or(
		compareBool(a.Ready, b.Ready),
		compareBool(a.Serving, b.Serving),
		compareBool(!a.Terminating, !b.Terminating),
		cmp.Compare(b.Zone, a.Zone),
	)
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

func derefOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
