package lbconfig

// Select returns the part of c that has only the load balancers keep
// accepts, with the backends, certificates and credentials they refer to, in c's order.
// The result shares its load balancers, backends and certificates with c;
// neither may be changed afterwards.
func (c *Config) Select(keep func(LoadBalancer) bool) *Config {
	out := &Config{}
	backends := map[string]bool{}
	certs := map[string]bool{}
	creds := map[string]bool{}
	useBackend := func(ref *BackendRef) {
		if ref != nil {
			backends[ref.Name] = true
		}
	}
	for _, lb := range c.LoadBalancers {
		if !keep(lb) {
			continue
		}
		out.LoadBalancers = append(out.LoadBalancers, lb)
		for _, l := range lb.Listeners {
			useBackend(l.DefaultBackend)
			useBackend(l.TCP)
			for _, b := range l.TCPBackends {
				useBackend(&BackendRef{Name: b.Name})
			}
			for _, vh := range l.VirtualHosts {
				if vh.TLS != nil {
					certs[vh.TLS.Name] = true
				}
				useBackend(vh.Passthrough)
				useBackend(vh.TCP)
				for i := range vh.Routes {
					useBackend(&vh.Routes[i].Backend)
					if ba := vh.Routes[i].BasicAuth; ba != nil {
						creds[ba.Credentials] = true
					}
					for _, b := range vh.Routes[i].Backends {
						useBackend(&BackendRef{Name: b.Name})
					}
					for _, m := range vh.Routes[i].Mirrors {
						useBackend(&BackendRef{Name: m.Name})
					}
				}
			}
		}
	}
	for _, b := range c.Backends {
		if backends[b.Name] {
			out.Backends = append(out.Backends, b)
		}
	}
	for _, cert := range c.Certificates {
		if certs[cert.Name] {
			out.Certificates = append(out.Certificates, cert)
		}
	}
	for _, cr := range c.Credentials {
		if creds[cr.Name] {
			out.Credentials = append(out.Credentials, cr)
		}
	}
	return out
}
