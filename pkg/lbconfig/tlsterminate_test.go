package lbconfig

import "testing"

func TestValidateTerminatedTCP(t *testing.T) {
	with := func(proto Protocol, vh VirtualHost) *Config {
		c := validConfig()
		c.Certificates = append(c.Certificates, Certificate{Name: "ns/tls", ChainPEM: []byte("x"), KeyPEM: []byte("y")})
		c.LoadBalancers[0].Listeners = append(c.LoadBalancers[0].Listeners, Listener{Port: 8443, Protocol: proto, VirtualHosts: []VirtualHost{vh}})
		return c
	}
	ref, cert := &BackendRef{Name: "ns/web:80"}, &CertificateRef{Name: "ns/tls"}
	const vf = "loadBalancers[0].listeners[1].virtualHosts[0]"
	for name, tc := range map[string]struct {
		cfg   *Config
		field string
	}{
		"ok":               {with(ProtocolTLSPassthrough, VirtualHost{Hostname: "tls.example.com", TLS: cert, TCP: ref}), ""},
		"catch-all":        {with(ProtocolTLSPassthrough, VirtualHost{TLS: cert, TCP: ref}), ""},
		"no certificate":   {with(ProtocolTLSPassthrough, VirtualHost{Hostname: "tls.example.com", TCP: ref}), vf + ".tls"},
		"no such backend":  {with(ProtocolTLSPassthrough, VirtualHost{Hostname: "tls.example.com", TLS: cert, TCP: &BackendRef{Name: "nope"}}), vf + ".tcp"},
		"no such cert":     {with(ProtocolTLSPassthrough, VirtualHost{Hostname: "tls.example.com", TLS: &CertificateRef{Name: "nope"}, TCP: ref}), vf + ".tls"},
		"and passthrough":  {with(ProtocolTLSPassthrough, VirtualHost{Hostname: "tls.example.com", TLS: cert, TCP: ref, Passthrough: ref}), vf + ".passthrough"},
		"and routes":       {with(ProtocolTLSPassthrough, VirtualHost{Hostname: "tls.example.com", TLS: cert, TCP: ref, Routes: []Route{{Path: "/", Match: MatchPrefix, Backend: *ref}}}), vf + ".routes"},
		"on https":         {with(ProtocolHTTPS, VirtualHost{Hostname: "tls.example.com", TLS: cert, TCP: ref}), vf + ".tcp"},
		"cert without tcp": {with(ProtocolTLSPassthrough, VirtualHost{Hostname: "tls.example.com", TLS: cert, Passthrough: ref}), vf + ".tls"},
	} {
		t.Run(name, func(t *testing.T) { checkField(t, tc.cfg, tc.field) })
	}
}
