package lbconfig

import (
	"slices"
	"testing"
)

func TestSelectKeepsWhatTheChosenLoadBalancersUse(t *testing.T) {
	ep := []Endpoint{{Address: "198.18.0.1", Port: 80, Ready: true, Serving: true}}
	cfg := &Config{
		LoadBalancers: []LoadBalancer{
			{Name: "a", Listeners: []Listener{{Port: 80, Protocol: ProtocolHTTP,
				VirtualHosts:   []VirtualHost{{Hostname: "a.example", Routes: []Route{{Path: "/", Match: MatchPrefix, Backend: BackendRef{"ns/shared:80"}}}}},
				DefaultBackend: &BackendRef{"ns/a-default:80"}}}},
			{Name: "b", Listeners: []Listener{
				{Port: 8443, Protocol: ProtocolHTTPS, VirtualHosts: []VirtualHost{
					{Hostname: "b.example", TLS: &CertificateRef{"ns/b"}, Routes: []Route{{Path: "/", Match: MatchPrefix, Backend: BackendRef{"ns/shared:80"}}}},
					{Hostname: "pt.example", Passthrough: &BackendRef{"ns/pt:443"}},
				}},
				{Port: 5432, Protocol: ProtocolTCP, TCP: &BackendRef{"ns/db:5432"}},
			}},
		},
		Backends: []Backend{
			{Name: "ns/a-default:80", Endpoints: ep},
			{Name: "ns/db:5432", Endpoints: ep},
			{Name: "ns/pt:443", Endpoints: ep},
			{Name: "ns/shared:80", Endpoints: ep},
		},
		Certificates: []Certificate{{Name: "ns/b", Hosts: []string{"b.example"}}},
	}
	names := func(c *Config) (lbs, backends, certs []string) {
		for _, lb := range c.LoadBalancers {
			lbs = append(lbs, lb.Name)
		}
		for _, b := range c.Backends {
			backends = append(backends, b.Name)
		}
		for _, cert := range c.Certificates {
			certs = append(certs, cert.Name)
		}
		return lbs, backends, certs
	}
	for _, tc := range []struct {
		keep                 string
		lbs, backends, certs []string
	}{
		{"a", []string{"a"}, []string{"ns/a-default:80", "ns/shared:80"}, nil},
		{"b", []string{"b"}, []string{"ns/db:5432", "ns/pt:443", "ns/shared:80"}, []string{"ns/b"}},
		{"none", nil, nil, nil},
	} {
		got := cfg.Select(func(lb LoadBalancer) bool { return lb.Name == tc.keep })
		lbs, backends, certs := names(got)
		if !slices.Equal(lbs, tc.lbs) || !slices.Equal(backends, tc.backends) || !slices.Equal(certs, tc.certs) {
			t.Errorf("Select(%s) = %v %v %v, want %v %v %v", tc.keep, lbs, backends, certs, tc.lbs, tc.backends, tc.certs)
		}
	}
	all := cfg.Select(func(LoadBalancer) bool { return true })
	if d := Diff(cfg, all); !d.Empty() {
		t.Errorf("Select(all) differs from the config: %+v", d)
	}
}
