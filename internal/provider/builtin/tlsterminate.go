package builtin

import (
	"crypto/tls"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// TLS terminated for a TCP backend (lbconfig.VirtualHost.TCP): on a TLS
// passthrough port, a connection whose server name picks such a virtual
// host makes its handshake here, with that host's certificate and the
// provider's TLS profile, no ALPN protocol offered, within helloTimeout;
// then its decrypted bytes are tunnelled to the backend as a TCP
// listener's are.

// terminatorFor returns the virtual host that terminates the TLS of
// connections for serverName, or nil.
func (pr *portRoutes) terminatorFor(serverName string) *vhost {
	if v := pr.vhostFor(lbconfig.NormalizeHost(serverName)); v != nil && v.tcp != nil && v.cert != nil {
		return v
	}
	return nil
}

// terminate makes the TLS handshake of c, whose ClientHello read was
// already read, with v's certificate, and tunnels what it carries to v's
// backend.
func (l *switchListener) terminate(c *slotConn, read []byte, v *vhost) {
	c.pending = read
	cfg := l.config.Clone()
	cfg.NextProtos = nil
	cert := v.cert
	cfg.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return cert, nil }
	tc := tls.Server(c, cfg)
	_ = tc.SetDeadline(time.Now().Add(helloTimeout))
	if err := tc.Handshake(); err != nil {
		_ = tc.Close()
		return
	}
	_ = tc.SetDeadline(time.Time{})
	l.tunnel(tc, nil, v.tcp)
}
