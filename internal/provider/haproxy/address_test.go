package haproxy

import (
	"net/netip"
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

func netAddrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

// addressesConfig is the golden case of load balancers with addresses of
// their own: one on IPv4 and IPv6 with HTTPS behind SNI routing, TCP and
// TLS passthrough; another on the port the listen address serves.
func addressesConfig(t testing.TB) *lbconfig.Config {
	pass := &lbconfig.BackendRef{Name: "gw/vault:8200"}
	eps := []lbconfig.Endpoint{{Address: "10.0.8.1", Port: 8080, Ready: true, Serving: true}}
	return &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{
			{Name: "default", Listeners: []lbconfig.Listener{{Port: 8080, Protocol: lbconfig.ProtocolHTTP, DefaultBackend: &lbconfig.BackendRef{Name: "gw/app:80"}}}},
			{Name: "gw/a", Addresses: netAddrs("127.0.0.2", "::1"), Listeners: []lbconfig.Listener{
				{Port: 443, Protocol: lbconfig.ProtocolHTTPS, VirtualHosts: []lbconfig.VirtualHost{
					{Hostname: "a.example.com", TLS: &lbconfig.CertificateRef{Name: "gw/a-tls"}, Routes: []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("gw/app:80")}}},
					{Hostname: "vault.example.com", Passthrough: pass},
				}},
				{Port: 5432, Protocol: lbconfig.ProtocolTCP, TCP: &lbconfig.BackendRef{Name: "gw/app:80"}},
				{Port: 8443, Protocol: lbconfig.ProtocolTLSPassthrough, VirtualHosts: []lbconfig.VirtualHost{{Hostname: "", Passthrough: pass}}},
			}},
			{Name: "gw/b", Addresses: netAddrs("127.0.0.3"), Listeners: []lbconfig.Listener{
				{Port: 443, Protocol: lbconfig.ProtocolHTTPS, VirtualHosts: []lbconfig.VirtualHost{
					{Hostname: "b.example.com", Routes: []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("gw/app:80")}}},
				}},
				{Port: 8080, Protocol: lbconfig.ProtocolHTTP, DefaultBackend: &lbconfig.BackendRef{Name: "gw/app:80"}},
			}},
		},
		Backends: []lbconfig.Backend{{Name: "gw/app:80", Endpoints: eps}, {Name: "gw/vault:8200", Endpoints: eps}},
		Certificates: []lbconfig.Certificate{
			{Name: "gw/a-tls", ChainPEM: readTestdata(t, "tls-a.crt"), KeyPEM: readTestdata(t, "tls-a.key"), Hosts: []string{"a.example.com"}},
		},
	}
}

// TestRenderAddressesBinds: each load balancer's frontends bind its own
// addresses, IPv6 as v6only, on frontends of their own.
func TestRenderAddressesBinds(t *testing.T) {
	cfg := addressesConfig(t)
	cfg.Sort()
	r, err := RenderConfig(cfg, goldenOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	text := string(r.Files[configFile])
	for _, want := range []string{
		"frontend fe_8080\n    bind 127.0.0.1:8080\n",
		"frontend fe_8080_lb2\n    bind ipv4@127.0.0.3:8080\n",
		"frontend fe_443_lb1\n    mode tcp\n    bind ipv4@127.0.0.2:443\n    bind ipv6@::1:443 v6only\n",
		"frontend fe_5432_lb1\n    mode tcp\n    bind ipv4@127.0.0.2:5432\n    bind ipv6@::1:5432 v6only\n",
		"frontend fe_8443_lb1\n    mode tcp\n    bind ipv4@127.0.0.2:8443\n    bind ipv6@::1:8443 v6only\n",
		"frontend fe_443_lb2\n    bind ipv4@127.0.0.3:443 ssl crt ",
		"frontend fe_443_lb1_tls\n    bind unix@" + testRuntimeDir + "/tls-443_lb1.sock mode 600 accept-proxy ssl crt ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("haproxy.cfg lacks %q", want)
		}
	}
	res := endpoints(cfg, "127.0.0.1")
	for name, want := range map[string]string{"default": "[{127.0.0.1  [8080]}]", "gw/a": "[{127.0.0.2  [443 5432 8443]} {::1  [443 5432 8443]}]", "gw/b": "[{127.0.0.3  [443 8080]}]"} {
		if got := fmtAddrs(res.Endpoints[name]); got != want {
			t.Errorf("endpoints[%q] = %s, want %s", name, got, want)
		}
	}
}

func fmtAddrs(as []lbconfig.Address) string {
	var b strings.Builder
	b.WriteString("[")
	for i, a := range as {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString("{" + a.IP + " " + a.Hostname + " [")
		for k, p := range a.Ports {
			if k > 0 {
				b.WriteString(" ")
			}
			b.WriteString(netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(p)).String()[len("0.0.0.0:"):])
		}
		b.WriteString("]}")
	}
	b.WriteString("]")
	return b.String()
}

// TestRenderAddressesClashWithListenAddress: what lbconfig cannot see, a
// load balancer's own address overlapping the listen address that another
// load balancer binds on the same port, is refused; HAProxy would share
// the port (SO_REUSEPORT).
func TestRenderAddressesClashWithListenAddress(t *testing.T) {
	for _, tc := range []struct {
		listen, own string
		clash       bool
	}{
		{"127.0.0.1", "127.0.0.2", false},
		{"127.0.0.1", "127.0.0.1", true},
		{"127.0.0.1", "0.0.0.0", true},
		{"", "127.0.0.2", true}, // the listen address "" binds 0.0.0.0
		{"", "::1", false},
		{"::1", "::", true},
		{"::1", "0.0.0.0", false},
		{"0.0.0.0", "127.0.0.5", true},
	} {
		cfg := &lbconfig.Config{
			LoadBalancers: []lbconfig.LoadBalancer{
				{Name: "default", Listeners: []lbconfig.Listener{{Port: 80, Protocol: lbconfig.ProtocolHTTP}}},
				{Name: "gw", Addresses: netAddrs(tc.own), Listeners: []lbconfig.Listener{{Port: 80, Protocol: lbconfig.ProtocolHTTP}}},
			},
		}
		cfg.Sort()
		opts := goldenOptions(t)
		opts.ListenAddress = tc.listen
		_, err := RenderConfig(cfg, opts)
		if tc.clash != (err != nil) {
			t.Errorf("listen %q, own %s: RenderConfig error %v, want a clash %v", tc.listen, tc.own, err, tc.clash)
		}
		if err != nil && !strings.Contains(err.Error(), `load balancer "gw": listener 0 (port 80)`) {
			t.Errorf("listen %q, own %s: error %q does not name the listener", tc.listen, tc.own, err)
		}
	}
}
