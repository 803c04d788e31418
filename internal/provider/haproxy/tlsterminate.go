package haproxy

import (
	"fmt"
	"strconv"

	"ingress-controller/pkg/lbconfig"
)

// TLS terminated for a TCP backend (lbconfig.VirtualHost.TCP): the SNI
// frontend of a TLS passthrough port sends the connections whose server
// name picks such a virtual host, ClientHello unread, to a frontend of
// that virtual host alone on a unix socket (the client's address in a
// PROXY header), which makes the handshake with the host's certificate
// whatever the name, the provider's TLS profile and session tickets, no ALPN
// protocol offered, within helloTimeout, and proxies the decrypted bytes
// to the host's mode tcp backend, as the builtin provider does. One
// frontend per virtual host, so that the SNI frontend's choice (exact
// name, one-label or longer wildcard, catch-all) is the one served and
// no certificate is picked by HAProxy's own rules.

// maxTerminators bounds the virtual hosts of a config that terminate
// TLS for a TCP backend, so that their socket paths are shorter than the
// longest tlsSocket, which haproxy.go checks.
const maxTerminators = 1000000

// terminatorKey names the frontend and bridge backend of virtual host k
// of the listener of key.
func terminatorKey(key string, k int) string { return key + "_t" + strconv.Itoa(k) }

// terminatorSocket is the unix socket of the n-th terminating frontend of
// a config: numbered across the config, not named after the listener,
// to keep the path short.
func terminatorSocket(runtimeDir string, n int) string {
	return runtimeDir + "/t" + strconv.Itoa(n) + ".sock"
}

// terminatorTarget checks virtual host k, which terminates TLS for a TCP
// backend, and returns the bridge backend the SNI frontend sends its
// connections to.
func (r *renderer) terminatorTarget(k int, vh lbconfig.VirtualHost) (string, error) {
	switch {
	case vh.TLS == nil:
		return "", fmt.Errorf("virtual host %d (%q): tls: a virtual host that terminates TLS needs a certificate", k, vh.Hostname)
	case r.tcpIDs[vh.TCP.Name] == "":
		return "", fmt.Errorf("virtual host %d (%q): tcp: backend %q does not exist", k, vh.Hostname, vh.TCP.Name)
	}
	if _, err := r.certificateFile(k, vh); err != nil {
		return "", err
	}
	return bridgeID(terminatorKey(r.at.key, k)), nil
}

// terminators renders, for each virtual host of l that terminates TLS
// for a TCP backend, the bridge from the SNI frontend and the frontend
// that terminates.
func (r *renderer) terminators(l lbconfig.Listener) error {
	for k, vh := range l.VirtualHosts {
		if vh.TCP == nil {
			continue
		}
		cert, err := r.certificateFile(k, vh)
		if err != nil {
			return err
		}
		if r.terminated == maxTerminators {
			return fmt.Errorf("virtual host %d (%q): tcp: more than %d virtual hosts terminate TLS for TCP backends", k, vh.Hostname, maxTerminators)
		}
		key := terminatorKey(r.at.key, k)
		socket := terminatorSocket(r.opts.RuntimeDir, r.terminated)
		r.terminated++
		w := &r.cfgText
		w.line("")
		w.line("# virtual host " + quote(vh.Hostname) + " of port " + strconv.Itoa(int(l.Port)) + r.at.comment + ": TLS terminated for a TCP backend")
		w.line("backend " + bridgeID(key))
		w.line("    mode tcp")
		// The terminating frontend's tunnel timeout closes idle
		// connections; this one must outlast it.
		w.line("    timeout tunnel " + duration(r.longestTunnelIdle()))
		w.line("    server tls unix@" + socket + " send-proxy-v2")
		w.line("")
		w.line("frontend " + frontendID(key))
		w.line("    mode tcp")
		w.line("    bind unix@" + socket + " mode 600 accept-proxy ssl crt " + cert)
		w.line("    maxconn " + strconv.Itoa(r.opts.Limits.MaxConnections))
		// Until the handshake ends; the tunnel timeout then takes over.
		w.line("    timeout client " + helloTimeout)
		w.line("    default_backend " + r.tcpIDs[vh.TCP.Name])
	}
	return nil
}
