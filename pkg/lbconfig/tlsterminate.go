package lbconfig

// terminatedTCP checks a virtual host with a TCP backend (VirtualHost.TCP):
// on a TLS passthrough listener, with a certificate, and nothing else to
// do with its connections.
func (v *validator) terminatedTCP(f string, proto Protocol, vh VirtualHost) {
	switch {
	case proto != ProtocolTLSPassthrough:
		v.add(f+".tcp", "only virtual hosts of TLS passthrough listeners terminate TLS for a TCP backend")
	case vh.TLS == nil:
		v.add(f+".tls", "a virtual host that terminates TLS for a TCP backend needs a certificate")
	case vh.Passthrough != nil:
		v.add(f+".passthrough", "a virtual host with a TCP backend passes nothing through")
	case len(vh.Routes) > 0:
		v.add(f+".routes", "a virtual host with a TCP backend has no routes")
	}
}
