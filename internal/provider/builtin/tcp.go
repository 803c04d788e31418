package builtin

import (
	"context"
	"net"
)

// TCP listeners: each connection goes to an endpoint of the listener's
// backend, chosen by its policy (round robin, least_request, random or
// source-IP affinity), with the policy's retries on connect failure, and is
// spliced to it as a tunnel: it lives on across config changes that keep
// the endpoint and is closed a drain timeout after the endpoint leaves.

// serveTCP forwards one client connection of a TCP listener to b, after
// pending, what was read from it already. The caller has counted it in
// p.tunnels.
func (p *Provider) serveTCP(client net.Conn, pending []byte, b *backend) {
	defer p.tunnels.Done()
	clientIP := remoteIP(client.RemoteAddr().String())
	var tried []*endpoint
	for {
		ep := b.choose(nil, clientIP, false, tried).ep
		if ep == nil {
			if len(tried) == 0 {
				p.log.Warn("tcp: no ready endpoint; connection closed", "backend", b.name, "client", clientIP)
			}
			_ = client.Close()
			return
		}
		bc, err := p.dial(context.Background(), b, ep)
		if err != nil {
			tried = append(tried, ep)
			if len(tried) <= b.policy.retries {
				p.log.Debug("tcp: connect failed; trying another endpoint", "backend", b.name, "endpoint", ep.addr, "error", err)
				continue
			}
			p.log.Warn("tcp: connect failed; connection closed", "backend", b.name, "endpoint", ep.addr, "error", err)
			_ = client.Close()
			return
		}
		t := &tunnel{client: client, backend: bc.conn, idle: p.tunnelIdle(b.policy)}
		release, ok := ep.pool.adopt(t)
		if !ok {
			return // the endpoint left the config meanwhile
		}
		defer release()
		p.splice(t, pending, nil)
		return
	}
}
