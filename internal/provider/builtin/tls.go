package builtin

import (
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"ingress-controller/internal/selfsigned"
	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
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

// tlsConfig is the TLS configuration of an HTTPS listener at a socket: the
// provider's profile (provider.IntermediateTLS; Go's TLS 1.3 suites are
// the profile's and not configurable). With session resumption on, the
// config's session ticket keys are made and rotated by crypto/tls (a new
// key every day, each accepted for a week); they live in this process
// only, so a restart makes every earlier ticket a full handshake.
func (p *Provider) tlsConfig(at socket) *tls.Config {
	profile := provider.IntermediateTLS()
	c := &tls.Config{
		MinVersion:             profile.MinVersion,
		CipherSuites:           profile.CipherSuiteIDs(),
		CurvePreferences:       profile.CurveIDs(),
		SessionTicketsDisabled: p.opts.NoTLSSessionResumption,
		NextProtos:             []string{"h2", "http/1.1"},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			return p.certificate(at, hello.ServerName)
		},
	}
	c.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		if t := p.table.Load(); t != nil {
			if pr := t.routesAt(&at); pr != nil {
				if a := pr.clientAuthFor(hello.ServerName); a != nil {
					return a.clientConfig(c), nil // clientauth.go
				}
			}
		}
		return nil, nil
	}
	return c
}

// certificate returns the certificate for a handshake at a socket: the one of
// the virtual host the server name picks, else the listener's default,
// else the provider's self-signed one.
func (p *Provider) certificate(at socket, serverName string) (*tls.Certificate, error) {
	if t := p.table.Load(); t != nil {
		if pr := t.routesAt(&at); pr != nil {
			if c := pr.certificate(serverName); c != nil {
				return c, nil
			}
		}
	}
	return p.selfSigned()
}

// switchListener sorts the connections of one port by what the table in
// service says the port is when each arrives: HTTP ones go to the
// http.Server as they are, HTTPS ones wrapped in TLS, TCP ones to their
// backend. Where a virtual host passes TLS through, a connection's
// ClientHello is read first (in a goroutine of its own, so a slow client
// holds up no other), and it goes to that backend or is terminated. Its
// accept loop runs in a goroutine, so that connections sorted later can
// still be handed to the http.Server.
type switchListener struct {
	net.Listener
	p      *Provider
	at     socket
	config *tls.Config

	// slots holds a value per open connection, up to
	// Options.MaxConnections (slotConn).
	slots  chan struct{}
	start  sync.Once
	conns  chan net.Conn
	done   chan struct{} // closed by Close or a failed accept
	closed sync.Once
	err    error // why accepting ended; set before done is closed
	// fast are the connections served on the fast path (fastpath.go).
	fast fastConns
}

func newSwitchListener(ln net.Listener, p *Provider, at socket) *switchListener {
	return &switchListener{Listener: ln, p: p, at: at, config: p.tlsConfig(at),
		slots: make(chan struct{}, p.opts.MaxConnections),
		conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *switchListener) Accept() (net.Conn, error) {
	l.start.Do(func() { go l.acceptLoop() })
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, l.err
	}
}

func (l *switchListener) Close() error {
	l.stop(net.ErrClosed)
	return l.Listener.Close()
}

func (l *switchListener) stop(err error) {
	l.closed.Do(func() {
		l.err = err
		close(l.done)
	})
}

func (l *switchListener) acceptLoop() {
	for {
		// At the cap, accept nothing: new connections wait in the
		// kernel's backlog, as with HAProxy's maxconn.
		select {
		case l.slots <- struct{}{}:
		case <-l.done:
			return
		}
		c, err := l.Listener.Accept()
		if err != nil {
			<-l.slots
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				// Out of descriptors: wait for some to be freed.
				l.p.log.Warn("accept failed; retrying", "port", l.at.port, "address", l.at.host, "error", err)
				select {
				case <-time.After(100 * time.Millisecond):
					continue
				case <-l.done:
					return
				}
			}
			l.stop(err)
			return
		}
		l.dispatch(&slotConn{Conn: c, slots: l.slots})
	}
}

// dispatch sends c where the port's current role says.
func (l *switchListener) dispatch(c *slotConn) {
	var pr *portRoutes
	if t := l.p.table.Load(); t != nil {
		pr = t.routesAt(&l.at)
	}
	switch {
	case pr == nil:
		l.deliver(c) // the port is closing: the handler says so
	case pr.protoValue[0] == "tcp":
		l.tunnel(c, nil, pr.tcpBackend())
	case pr.sni || pr.protoValue[0] == "tls":
		go l.sortBySNI(c, pr)
	case pr.secure():
		l.deliver(tls.Server(c, l.config))
	default:
		go l.serveFast(c)
	}
}

// deliver hands c to the http.Server, or closes it if the listener closed.
func (l *switchListener) deliver(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		_ = c.Close()
	}
}

// tunnel forwards c, whose first bytes (read already) are pending, to b.
func (l *switchListener) tunnel(c net.Conn, pending []byte, b *backend) {
	if b == nil || !l.p.startTunnel() {
		_ = c.Close()
		return
	}
	go l.p.serveTCP(c, pending, b)
}

// helloTimeout bounds the wait for a ClientHello on a port that sorts
// connections by SNI.
const helloTimeout = 10 * time.Second

// sortBySNI reads c's ClientHello and passes the connection through, or
// terminates its TLS.
func (l *switchListener) sortBySNI(c *slotConn, pr *portRoutes) {
	_ = c.SetReadDeadline(time.Now().Add(helloTimeout))
	name, read, err := peekServerName(c)
	_ = c.SetReadDeadline(time.Time{})
	if err != nil && pr.protoValue[0] == "tls" {
		_ = c.Close() // not TLS: nothing to pass it to
		return
	}
	if err == nil {
		if v := pr.terminatorFor(name); v != nil {
			l.terminate(c, read, v) // tlsterminate.go
			return
		}
		if b := pr.passthroughFor(name); b != nil {
			l.tunnel(c, read, b)
			return
		}
		if pr.protoValue[0] == "tls" {
			_ = c.Close()
			return
		}
	}
	// Terminated here; the handshake (or its failure) starts over from
	// the bytes already read.
	c.pending = read
	l.deliver(tls.Server(c, l.config))
}

// errPeeked stops a handshake once the ClientHello was read.
var errPeeked = errors.New("client hello read")

// peekServerName reads a TLS ClientHello from c with crypto/tls itself,
// and returns its server name and every byte it read. Nothing is written
// to c.
func peekServerName(c net.Conn) (string, []byte, error) {
	rec := &recordingConn{Conn: c}
	var name string
	var got bool
	err := tls.Server(rec, &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		name, got = h.ServerName, true
		return nil, errPeeked
	}}).Handshake()
	if !got {
		return "", rec.read, err
	}
	return name, rec.read, nil
}

// recordingConn keeps what is read from it and discards what is written,
// so that a handshake can look at a ClientHello without answering it.
type recordingConn struct {
	net.Conn
	read []byte
}

func (r *recordingConn) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.read = append(r.read, p[:n]...)
	return n, err
}

func (r *recordingConn) Write(p []byte) (int, error) { return len(p), nil }

// newSelfSigned makes the default certificate served when no other one
// applies.
func newSelfSigned() (*tls.Certificate, error) {
	c, err := selfsigned.New(selfsigned.DefaultName, 10*365*24*time.Hour)
	if err != nil {
		return nil, err
	}
	return &c.TLS, nil
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
