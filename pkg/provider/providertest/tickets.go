package providertest

import (
	"crypto/tls"
	"sync"
	"testing"

	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
)

// testTLSResumptionAcrossChange: a session ticket issued before a config
// change (a new route) resumes after it, over TLS 1.2 and 1.3, so a change
// costs no client a full handshake.
func (s *Suite) testTLSResumptionAcrossChange(t *testing.T) {
	needs(t, s.Capabilities.TLS, "TLS")
	needs(t, s.Capabilities.TicketsOutliveChanges, "TicketsOutliveChanges")
	l := s.startTLSLab(t, provider.Options{})
	var clients []*tls.Config
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		cfg := &tls.Config{MinVersion: v, MaxVersion: v, ClientSessionCache: tls.NewLRUClientSessionCache(4)}
		if st, err := l.exchange(cfg); err != nil || st.DidResume {
			t.Fatalf("%s: first connection: resumed %v, %v", tls.VersionName(v), st.DidResume, err)
		}
		clients = append(clients, cfg)
	}
	a := l.startBackend("a2")
	cert := l.cert
	cfg := config([]lbconfig.LoadBalancer{loadBalancer("default",
		lbconfig.Listener{Port: l.port, Protocol: lbconfig.ProtocolHTTPS, VirtualHosts: []lbconfig.VirtualHost{
			{Hostname: "a.example", TLS: cert.Ref(), Routes: []lbconfig.Route{prefix("/changed", a), prefix("/", a)}},
		}},
	)}, a.pool())
	cfg.Certificates = []lbconfig.Certificate{cert.Certificate()}
	l.apply(cfg)
	l.eventually("HTTPS to a.example after the change", func() (bool, string) {
		_, r := l.tlsGet(l.port, "a.example", "a.example", "/changed")
		return r.err == nil && r.server == a.name, r.String()
	})
	for _, c := range clients {
		st, err := l.exchange(c)
		if err != nil || !st.DidResume {
			t.Errorf("%s: a ticket issued before the config change: resumed %v, %v; want resumed", tls.VersionName(c.MinVersion), st.DidResume, err)
		}
	}
}

// onceCache is a client session cache that hands out each ticket once,
// as TLS 1.3 browsers do.
type onceCache struct {
	mu      sync.Mutex
	tickets map[string][]*tls.ClientSessionState
}

func (c *onceCache) Get(key string) (*tls.ClientSessionState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.tickets[key]
	if len(l) == 0 {
		return nil, false
	}
	c.tickets[key] = l[1:]
	return l[0], true
}

func (c *onceCache) Put(key string, cs *tls.ClientSessionState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tickets == nil {
		c.tickets = map[string][]*tls.ClientSessionState{}
	}
	if cs == nil {
		delete(c.tickets, key)
		return
	}
	c.tickets[key] = append(c.tickets[key], cs)
}

// testTLSSingleUseTickets: over TLS 1.3 a resumed handshake brings a new
// ticket, so a client that uses each ticket once (browsers do) resumes
// every connection after its first, not one in two or three.
func (s *Suite) testTLSSingleUseTickets(t *testing.T) {
	needs(t, s.Capabilities.TLS, "TLS")
	l := s.startTLSLab(t, provider.Options{})
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, ClientSessionCache: &onceCache{}}
	if st, err := l.exchange(cfg); err != nil || st.DidResume {
		t.Fatalf("first connection: resumed %v, %v", st.DidResume, err)
	}
	for i := 1; i <= 6; i++ {
		st, err := l.exchange(cfg)
		if err != nil || !st.DidResume {
			t.Fatalf("connection %d: resumed %v, %v; want resumed with a ticket of the connection before", i+1, st.DidResume, err)
		}
	}
}
