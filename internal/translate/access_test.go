package translate

import (
	"net/netip"
	"slices"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

func TestParseSourceRanges(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string // nil: an error
	}{
		{"10.0.0.0/8", []string{"10.0.0.0/8"}},
		{" 10.0.0.0/8 ,192.168.0.0/16", []string{"10.0.0.0/8", "192.168.0.0/16"}},
		{"192.168.0.0/16,10.0.0.0/8,10.0.0.0/8", []string{"10.0.0.0/8", "192.168.0.0/16"}},
		{"10.1.2.3/8", []string{"10.0.0.0/8"}},
		{"198.51.100.7", []string{"198.51.100.7/32"}},
		{"2001:db8::1", []string{"2001:db8::1/128"}},
		{"::ffff:10.0.0.0/104", []string{"10.0.0.0/8"}},
		{"::ffff:10.1.2.3", []string{"10.1.2.3/32"}},
		{"", nil},
		{"10.0.0.0/8,", nil},
		{"10.0.0.0/33", nil},
		{"office", nil},
		{"fe80::1%eth0", nil},
		{"10.0.0.0/8 192.168.0.0/16", nil},
	} {
		got, err := parseSourceRanges(tc.in)
		if tc.want == nil {
			if err == nil {
				t.Errorf("parseSourceRanges(%q) = %v, want an error", tc.in, got)
			}
			continue
		}
		var want []netip.Prefix
		for _, s := range tc.want {
			want = append(want, netip.MustParsePrefix(s))
		}
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("parseSourceRanges(%q) = %v, %v, want %v", tc.in, got, err, want)
		}
	}
}

// FuzzParseSourceRanges checks that what parses is what lbconfig.Access
// takes: valid, canonical prefixes, sorted, without duplicates.
func FuzzParseSourceRanges(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", " 1.2.3.4 , ::ffff:1.2.3.4/120", "2001:db8::/32,2001:db8::1", "0.0.0.0/0,::/0", "fe80::1%x", "::ffff:0:0/95"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		ranges, err := parseSourceRanges(v)
		if err != nil {
			return
		}
		if len(ranges) == 0 {
			t.Fatalf("parseSourceRanges(%q) = no ranges, nil", v)
		}
		cfg := &lbconfig.Config{
			LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{{
				Port: 80, Protocol: lbconfig.ProtocolHTTP,
				VirtualHosts: []lbconfig.VirtualHost{{Routes: []lbconfig.Route{{
					Path: "/", Match: lbconfig.MatchPrefix, Backend: lbconfig.BackendRef{Name: "b"},
					Access: &lbconfig.Access{Allow: ranges, Deny: ranges},
				}}}},
			}}}},
			Backends: []lbconfig.Backend{{Name: "b"}},
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("parseSourceRanges(%q) = %v, which Validate rejects: %v", v, ranges, err)
		}
	})
}
