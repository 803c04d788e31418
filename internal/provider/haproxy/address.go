package haproxy

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"ingress-controller/pkg/lbconfig"
)

// bindAt is where the frontend of one listener binds, and the key that
// names its frontend, maps, crt-list and TLS socket: the port for a load
// balancer on the listen address, as always; "<port>_lb<i>" for the i-th
// load balancer of the config, which binds addresses of its own (each
// (address, port) belongs to one listener, so one load balancer per key).
type bindAt struct {
	key   string
	addrs []netip.Addr // nil: the listen address
	// comment says where, after the listener's comment line.
	comment string
}

func listenerAt(i int, lb lbconfig.LoadBalancer, port int32) bindAt {
	key := strconv.Itoa(int(port))
	if len(lb.Addresses) == 0 {
		return bindAt{key: key}
	}
	texts := make([]string, len(lb.Addresses))
	for k, a := range lb.Addresses {
		texts[k] = a.String()
	}
	return bindAt{
		key:     key + "_lb" + strconv.Itoa(i),
		addrs:   lb.Addresses,
		comment: " on " + strings.Join(texts, ", "),
	}
}

// bindLines are the bind lines of the listener being rendered, on port:
// one per address of its load balancer, else one on the listen address.
// An IPv6 address of a load balancer binds v6only, so that :: is the
// wildcard of IPv6 only, as lbconfig.Overlap has it.
func (r *renderer) bindLines(port int32) []string {
	p := strconv.Itoa(int(port))
	if r.at.addrs == nil {
		return []string{"    bind " + listenBind(r.opts.ListenAddress, p)}
	}
	out := make([]string, 0, len(r.at.addrs))
	for _, a := range r.at.addrs {
		if a.Is6() {
			out = append(out, "    bind ipv6@"+a.String()+":"+p+" v6only")
		} else {
			out = append(out, "    bind ipv4@"+a.String()+":"+p)
		}
	}
	return out
}

func (r *renderer) writeBinds(port int32) {
	for _, b := range r.bindLines(port) {
		r.cfgText.line(b)
	}
}

// listenBind is the address of a bind line on the listen address.
func listenBind(listen, port string) string {
	if listen == "" {
		return ":" + port
	}
	a := netip.MustParseAddr(listen) // checked by RenderConfig
	if a.Is6() {
		return "ipv6@" + a.String() + ":" + port
	}
	return a.String() + ":" + port
}

// checkListenClashes refuses what cfg.Validate cannot see: a load
// balancer's own address on the port of another load balancer bound to
// the listen address ("" binds 0.0.0.0), where they overlap. HAProxy binds
// with SO_REUSEPORT and would let the two share the port.
func checkListenClashes(cfg *lbconfig.Config, listen string) error {
	la := netip.IPv4Unspecified()
	if listen != "" {
		la = netip.MustParseAddr(listen) // checked by RenderConfig
	}
	onListen := map[int32]string{}
	for _, lb := range cfg.LoadBalancers {
		if len(lb.Addresses) == 0 {
			for _, l := range lb.Listeners {
				onListen[l.Port] = lb.Name
			}
		}
	}
	for _, lb := range cfg.LoadBalancers {
		for j, l := range lb.Listeners {
			other, ok := onListen[l.Port]
			if !ok || len(lb.Addresses) == 0 {
				continue
			}
			for _, a := range lb.Addresses {
				if lbconfig.Overlap(a, la) {
					return fmt.Errorf("haproxy: load balancer %q: listener %d (port %d): port %d on %s is already used by load balancer %q on the listen address %s", lb.Name, j, l.Port, l.Port, a, other, la)
				}
			}
		}
	}
	return nil
}

// checkNewPorts binds, for a moment, each listener address and port the
// running config does not have, so that a port taken by another program,
// or an address this host does not have, fails Apply before the reload.
func (p *Provider) checkNewPorts(cfg *lbconfig.Config) error {
	have := map[string]bool{}
	if p.applied != nil {
		for _, lb := range p.applied.LoadBalancers {
			for _, l := range lb.Listeners {
				for _, a := range lb.BindAddresses() {
					network, addr := p.probeAddr(a, l.Port)
					have[network+" "+addr] = true
				}
			}
		}
	}
	for _, lb := range cfg.LoadBalancers {
		for j, l := range lb.Listeners {
			for _, a := range lb.BindAddresses() {
				network, addr := p.probeAddr(a, l.Port)
				if have[network+" "+addr] {
					continue
				}
				ln, err := net.Listen(network, addr)
				if err != nil {
					return fmt.Errorf("haproxy: load balancer %q: listener %d (port %d): %w", lb.Name, j, l.Port, err)
				}
				_ = ln.Close()
			}
		}
	}
	return nil
}

// probeAddr is the network and address checkNewPorts binds for a listener
// on port at a (the invalid Addr: the listen address).
func (p *Provider) probeAddr(a netip.Addr, port int32) (network, addr string) {
	ps := strconv.Itoa(int(port))
	switch {
	case !a.IsValid():
		return "tcp", net.JoinHostPort(p.opts.ListenAddress, ps)
	case a.Is4():
		return "tcp4", net.JoinHostPort(a.String(), ps)
	}
	return "tcp6", net.JoinHostPort(a.String(), ps)
}
