package haproxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
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

// TestTicketKeysRotate: a rotation reloads HAProxy, whose new worker
// makes new keys, so tickets issued before it no longer resume (over TLS
// 1.2 and 1.3) and new ones do; a worker younger than the period is not
// reloaded; a config reload makes new keys too and counts as a rotation.
func TestTicketKeysRotate(t *testing.T) {
	l := startTicketLab(t, time.Hour)
	ctx := context.Background()
	reloads := l.p.Reloads()
	if err := l.p.rotateTicketKeys(ctx); err != nil {
		t.Fatal(err)
	}
	if l.p.Reloads() != reloads || l.p.ticketRotations.Load() != 0 {
		t.Fatalf("a worker younger than the period was reloaded (%d -> %d reloads)", reloads, l.p.Reloads())
	}
	before := l.sessions(t)
	l.p.mu.Lock()
	l.p.keysMade = l.p.keysMade.Add(-2 * time.Hour)
	l.p.mu.Unlock()
	if err := l.p.rotateTicketKeys(ctx); err != nil {
		t.Fatal(err)
	}
	if l.p.Reloads() != reloads+1 || l.p.ticketRotations.Load() != 1 {
		t.Fatalf("rotation: reloads %d -> %d, rotations %d; want one of each", reloads, l.p.Reloads(), l.p.ticketRotations.Load())
	}
	for name, c := range before {
		if l.resumes(t, c) {
			t.Errorf("%s: a ticket of the worker before the rotation resumed after it", name)
		}
	}
	after := l.sessions(t)
	for name, c := range after {
		if !l.resumes(t, c) {
			t.Errorf("%s: a ticket issued after the rotation did not resume", name)
		}
	}
	// A config change reloads: new keys, and the period starts again.
	cfg := *l.cfg
	cfg.Backends = []lbconfig.Backend{l.cfg.Backends[0], {Name: "default/unused:80"}}
	apply(t, l.p, &cfg)
	for name, c := range after {
		if l.resumes(t, c) {
			t.Errorf("%s: a ticket of the worker before a config reload resumed after it", name)
		}
	}
	if next := l.p.nextTicketRotation(); next < 59*time.Minute {
		t.Errorf("next rotation in %s after a config reload, want a whole period", next)
	}
}

// TestTicketKeysRotateOnSchedule: with a short period the provider
// rotates by itself, by reloading, and HTTPS keeps answering.
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
	if got := l.p.Reloads() - reloads; got < 2 {
		t.Errorf("%d reloads for %d rotations", got, l.p.ticketRotations.Load())
	}
}

// TestTicketLifetime: tune.ssl.lifetime is the rotation period, and there
// is none without resumption.
func TestTicketLifetime(t *testing.T) {
	for _, c := range []struct {
		opts RenderOptions
		want string
	}{
		{RenderOptions{TicketLifetime: time.Hour}, "    tune.ssl.lifetime 3600s\n"},
		{RenderOptions{TicketLifetime: time.Millisecond}, "    tune.ssl.lifetime 1s\n"},
		{RenderOptions{}, ""},
		{RenderOptions{TicketLifetime: time.Hour, Limits: provider.Options{NoTLSSessionResumption: true}}, ""},
	} {
		var w lines
		ticketLifetime(&w, c.opts)
		if w.String() != c.want {
			t.Errorf("%+v: %q, want %q", c.opts.TicketLifetime, w.String(), c.want)
		}
	}
}
