package haproxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// ticketLab is a provider serving a.example.com over HTTPS on port.
type ticketLab struct {
	p    *Provider
	port int32
	cfg  *lbconfig.Config
}

func startTicketLab(t *testing.T, rotation time.Duration) ticketLab {
	t.Helper()
	p := newProvider(t, runtimeDir(t), func(o *Options) { o.TicketKeyRotation = rotation })
	port := nettest.FreePort(t)
	a := nettest.EchoEndpoint(t, "a")
	cfg := &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{{
			Port: port, Protocol: lbconfig.ProtocolHTTPS,
			VirtualHosts: []lbconfig.VirtualHost{{Hostname: "a.example.com", TLS: &lbconfig.CertificateRef{Name: "default/a-tls"},
				Routes: []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/a:80")}}}},
		}}}},
		Backends: []lbconfig.Backend{{Name: "default/a:80", Endpoints: []lbconfig.Endpoint{a}}},
		Certificates: []lbconfig.Certificate{
			{Name: "default/a-tls", ChainPEM: readTestdata(t, "tls-a.crt"), KeyPEM: readTestdata(t, "tls-a.key"), Hosts: []string{"a.example.com"}},
		},
	}
	apply(t, p, cfg)
	return ticketLab{p: p, port: port, cfg: cfg}
}

// resumes makes a TLS connection with cfg, reads a whole response so
// that TLS 1.3 tickets reach cfg's cache, and reports whether the
// handshake resumed a session.
func (l ticketLab) resumes(t *testing.T, cfg *tls.Config) bool {
	t.Helper()
	cfg = cfg.Clone()
	cfg.ServerName, cfg.InsecureSkipVerify, cfg.NextProtos = "a.example.com", true, []string{"http/1.1"}
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: cfg}
	c, err := d.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(l.port))))
	if err != nil {
		t.Fatalf("TLS connection: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	tc := c.(*tls.Conn)
	if _, err := io.WriteString(tc, "GET / HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatalf("request: %v", err)
	}
	resp, err := io.ReadAll(tc)
	if err != nil || !bytes.HasPrefix(resp, []byte("HTTP/1.1 200 ")) {
		t.Fatalf("response %.40q, %v", resp, err)
	}
	return tc.ConnectionState().DidResume
}

// sessions returns a client config per TLS version, each with a session
// made (a full handshake) and kept in its cache.
func (l ticketLab) sessions(t *testing.T) map[string]*tls.Config {
	t.Helper()
	out := map[string]*tls.Config{}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		cfg := &tls.Config{MinVersion: v, MaxVersion: v, ClientSessionCache: tls.NewLRUClientSessionCache(4)}
		if l.resumes(t, cfg) {
			t.Fatalf("%s: the first connection resumed a session", tls.VersionName(v))
		}
		out[tls.VersionName(v)] = cfg
	}
	return out
}

// TestTicketKeysSurviveReload: a session ticket issued before a reload
// resumes after it, over TLS 1.2 and 1.3: the new worker reads the same
// keys. The session cache starts empty in the new worker, so only the
// ticket can resume.
func TestTicketKeysSurviveReload(t *testing.T) {
	l := startTicketLab(t, time.Hour)
	clients := l.sessions(t)
	reloads := l.p.Reloads()
	cfg := *l.cfg
	cfg.LoadBalancers = []lbconfig.LoadBalancer{l.cfg.LoadBalancers[0]}
	lst := cfg.LoadBalancers[0].Listeners[0]
	vh := lst.VirtualHosts[0]
	vh.Routes = append([]lbconfig.Route{{Path: "/other", Match: lbconfig.MatchPrefix, Backend: ref("default/a:80")}}, vh.Routes...)
	lst.VirtualHosts = []lbconfig.VirtualHost{vh}
	cfg.LoadBalancers[0].Listeners = []lbconfig.Listener{lst}
	apply(t, l.p, &cfg)
	if l.p.Reloads() != reloads+1 {
		t.Fatalf("reloads %d -> %d, want one reload", reloads, l.p.Reloads())
	}
	for name, c := range clients {
		if !l.resumes(t, c) {
			t.Errorf("%s: a ticket issued before the reload did not resume after it", name)
		}
	}
}

// TestTicketKeysRotate: a ticket resumes after one rotation (its key
// decrypts for one more period) and not after two (its key is gone), and
// the keys file of the generation in service follows, owner-only.
func TestTicketKeysRotate(t *testing.T) {
	l := startTicketLab(t, time.Hour)
	once, twice := l.sessions(t), l.sessions(t)
	keysFile := filepath.Join(l.p.Dir(), currentLink, ticketKeysFile)
	before, err := os.ReadFile(keysFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := l.p.rotateTicketKeys(ctx); err != nil {
		t.Fatal(err)
	}
	for name, c := range once {
		if !l.resumes(t, c) {
			t.Errorf("%s: a ticket did not resume after one rotation", name)
		}
	}
	if err := l.p.rotateTicketKeys(ctx); err != nil {
		t.Fatal(err)
	}
	for name, c := range twice {
		if l.resumes(t, c) {
			t.Errorf("%s: a ticket resumed after two rotations, past its key's life", name)
		}
	}
	after, err := os.ReadFile(keysFile)
	if err != nil {
		t.Fatal(err)
	}
	b, a := strings.Split(string(before), "\n"), strings.Split(string(after), "\n")
	if len(a) != ticketKeyCount+1 || a[0] != b[2] || a[1] == b[2] {
		t.Errorf("keys file after two rotations does not hold the newest of before first and two new ones")
	}
	if fi, err := os.Stat(keysFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("keys file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	// A reload after the rotations serves the rotated keys.
	twiceAgain := l.sessions(t)
	cfg := *l.cfg
	cfg.Backends = []lbconfig.Backend{l.cfg.Backends[0], {Name: "default/unused:80"}}
	apply(t, l.p, &cfg)
	for name, c := range twiceAgain {
		if !l.resumes(t, c) {
			t.Errorf("%s: a ticket of the rotated keys did not resume after a reload", name)
		}
	}
}

// TestTicketKeysRotateOnSchedule: with a short period the provider
// rotates by itself, without reloads, and HTTPS keeps answering.
func TestTicketKeysRotateOnSchedule(t *testing.T) {
	l := startTicketLab(t, time.Second)
	reloads := l.p.Reloads()
	deadline := time.Now().Add(20 * time.Second)
	for l.p.ticketRotations.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d rotations after 20s with a period of 1s", l.p.ticketRotations.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	l.resumes(t, &tls.Config{})
	if l.p.Reloads() != reloads {
		t.Errorf("rotations reloaded HAProxy (%d -> %d)", reloads, l.p.Reloads())
	}
}

// TestTicketKeysFile: the file HAProxy reads round-trips, and what is not
// three base64 keys of 80 bytes is refused.
func TestTicketKeysFile(t *testing.T) {
	k, err := newTicketKeys(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	back, err := parseTicketKeys(k.file())
	if err != nil || back.keys != k.keys {
		t.Fatalf("round trip: %v", err)
	}
	n, key, err := k.next(time.Now())
	if err != nil || n.keys[0] != k.keys[1] || n.keys[1] != k.keys[2] || !strings.HasPrefix(string(n.file()[len(n.file())-len(key)-1:]), key) {
		t.Fatalf("next: %v", err)
	}
	line := strings.Split(string(k.file()), "\n")[0]
	for _, bad := range []string{
		"", line + "\n", line + "\n" + line + "\n",
		line + "\n" + line + "\n" + line[:len(line)-4] + "\n",
		line + "\n" + line + "\n" + line + "\n" + line + "\n",
		line + "\n" + line + "\n" + strings.Repeat("!", len(line)) + "\n",
		line + "\n" + line + "\n" + line + "\r\n" + fmt.Sprint(strings.Repeat("A", 1<<16)) + "\n",
	} {
		if _, err := parseTicketKeys([]byte(bad)); err == nil {
			t.Errorf("parseTicketKeys(%.30q...) = nil error", bad)
		}
	}
}
