package translate

import (
	"strings"
	"testing"
)

func TestServiceOfHost(t *testing.T) {
	for _, tc := range []struct {
		host, domain string
		svc, ns      string // "" when the host names no Service
	}{
		{"oauth2-proxy.auth.svc.cluster.local", "cluster.local", "oauth2-proxy", "auth"},
		{"oauth2-proxy.auth.svc", "cluster.local", "oauth2-proxy", "auth"},
		{"OAuth2-Proxy.AUTH.Svc.Cluster.Local", "cluster.local", "oauth2-proxy", "auth"},
		{"a.b.svc.cluster.local.", "cluster.local", "a", "b"},
		{"a.b.svc.corp.example", "corp.example", "a", "b"},
		{"a.b.svc.cluster.local", "corp.example", "", ""},
		{"a.b", "cluster.local", "", ""},
		{"a.b.c.svc.cluster.local", "cluster.local", "", ""},
		{"a.svc.cluster.local", "cluster.local", "", ""},
		{".b.svc", "cluster.local", "", ""},
		{"a..svc", "cluster.local", "", ""},
		{"-a.b.svc", "cluster.local", "", ""},
		{"a.b-.svc", "cluster.local", "", ""},
		{"a_b.c.svc", "cluster.local", "", ""},
		{"a.b.svcx", "cluster.local", "", ""},
		{"a.b.svc.cluster.localx", "cluster.local", "", ""},
		{"10.0.0.1", "cluster.local", "", ""},
		{"[::1]", "cluster.local", "", ""},
		{"", "cluster.local", "", ""},
		{".svc", "cluster.local", "", ""},
		{"a.b.svc\r\nx: y", "cluster.local", "", ""},
		{"a.b\u00e9.svc", "cluster.local", "", ""},
		{"a.b%2e.svc", "cluster.local", "", ""},
		{strings.Repeat("a", 64) + ".b.svc", "cluster.local", "", ""},
		{strings.Repeat("a", 63) + ".b.svc", "cluster.local", strings.Repeat("a", 63), "b"},
		{strings.Repeat("a.", 1<<20) + "b.svc", "cluster.local", "", ""},
	} {
		svc, ns, ok := serviceOfHost(tc.host, tc.domain)
		if ok != (tc.svc != "") || svc != tc.svc || ns != tc.ns {
			t.Errorf("serviceOfHost(%.40q, %q) = %q, %q, %v; want %q, %q", tc.host, tc.domain, svc, ns, ok, tc.svc, tc.ns)
		}
	}
}

func TestClusterDomainOption(t *testing.T) {
	for in, want := range map[string]string{"": "cluster.local", "Corp.Example.": "corp.example", "k8s": "k8s"} {
		if got := (Options{ClusterDomain: in}).clusterDomain(); got != want {
			t.Errorf("clusterDomain(%q) = %q, want %q", in, got, want)
		}
	}
}
