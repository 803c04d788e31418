package builtin

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"strings"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// TLS termination. Every listener port accepts through a switchListener
// that looks at the table in service when a connection arrives: on an
// HTTPS port it wraps the connection in TLS, and http.Server does the
// handshake and, when ALPN picks "h2", serves HTTP/2. So a port can change
// protocol from one Apply to the next without being bound again.
//
// The certificate is chosen at each handshake, by SNI, from the table
// loaded at that moment (GetCertificate): an Apply with a new certificate
// applies to the next handshake, and connections already open are left
// alone.

// tlsConfig is the TLS configuration of an HTTPS listener on port.
func (p *Provider) tlsConfig(port int32) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			return p.certificate(port, hello.ServerName)
		},
	}
}

// certificate returns the certificate for a handshake on port: the one of
// the virtual host the server name picks, else the listener's default,
// else the provider's self-signed one.
func (p *Provider) certificate(port int32, serverName string) (*tls.Certificate, error) {
	if t := p.table.Load(); t != nil {
		if pr := t.ports[port]; pr != nil {
			if c := pr.certificate(serverName); c != nil {
				return c, nil
			}
		}
	}
	return p.selfSigned()
}

// switchListener wraps the connections of HTTPS ports in TLS.
type switchListener struct {
	net.Listener
	p      *Provider
	port   int32
	config *tls.Config
}

func (l *switchListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if t := l.p.table.Load(); t != nil {
			if pr := t.ports[l.port]; pr != nil && pr.tcp != nil {
				// A TCP port: forwarded here, never served as HTTP.
				if l.p.startTunnel() {
					go l.p.serveTCP(c, pr.tcp)
				} else {
					_ = c.Close()
				}
				continue
			}
			if pr := t.ports[l.port]; pr != nil && pr.secure() {
				return tls.Server(c, l.config), nil
			}
		}
		return c, nil
	}
}

// newSelfSigned makes the default certificate served when no other one
// applies: ECDSA P-256, self-signed, for no host, so that clients see at
// once that it is not the site's.
func newSelfSigned() (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "ingress-controller default"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// serveRedirect answers a route that redirects to HTTPS: the same host
// (without its port), path and query, on the HTTPS port.
func serveRedirect(w http.ResponseWriter, r *http.Request, rd *redirect) {
	host := lbconfig.NormalizeHost(r.Host)
	if host == "" {
		http.Error(w, "400 bad request: no Host to redirect to", http.StatusBadRequest)
		return
	}
	if strings.IndexByte(host, ':') >= 0 {
		host = "[" + host + "]"
	}
	uri := r.RequestURI
	if !strings.HasPrefix(uri, "/") || strings.HasPrefix(uri, "//") {
		uri = r.URL.RequestURI() // absolute form or "*"
	}
	http.Redirect(w, r, "https://"+host+rd.portSuffix+uri, rd.status)
}
