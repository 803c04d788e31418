package providertest

import (
	"crypto/tls"
	"testing"

	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
)

// testTLSResumptionAcrossChange: a session ticket issued before a config
// change (a new route: a reload for HAProxy) resumes after it, over TLS
// 1.2 and 1.3, so a change costs no client a full handshake.
func (s *Suite) testTLSResumptionAcrossChange(t *testing.T) {
	needs(t, s.Capabilities.TLS, "TLS")
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
