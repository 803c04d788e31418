package lbconfig

import (
	"encoding/json"
	"net/netip"
	"slices"
	"testing"
)

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func TestAccessPermits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		access *Access
		client string
		want   bool
	}{
		{"nil", nil, "203.0.113.1", true},
		{"allowed", &Access{Allow: prefixes("127.0.0.0/8")}, "127.0.0.1", true},
		{"not allowed", &Access{Allow: prefixes("10.0.0.0/8")}, "127.0.0.1", false},
		{"second allow", &Access{Allow: prefixes("10.0.0.0/8", "127.0.0.0/8")}, "127.0.0.1", true},
		{"deny only", &Access{Deny: prefixes("192.0.2.0/24")}, "192.0.2.7", false},
		{"deny only other", &Access{Deny: prefixes("192.0.2.0/24")}, "198.51.100.7", true},
		{"deny wins", &Access{Allow: prefixes("127.0.0.0/8"), Deny: prefixes("127.0.0.1/32")}, "127.0.0.1", false},
		{"deny wins not all", &Access{Allow: prefixes("127.0.0.0/8"), Deny: prefixes("127.0.0.1/32")}, "127.0.0.2", true},
		{"mapped v4 allowed", &Access{Allow: prefixes("127.0.0.0/8")}, "::ffff:127.0.0.1", true},
		{"mapped v4 denied", &Access{Deny: prefixes("127.0.0.0/8")}, "::ffff:127.0.0.1", false},
		{"v6 allowed", &Access{Allow: prefixes("2001:db8::/32")}, "2001:db8::1", true},
		{"v6 not allowed", &Access{Allow: prefixes("2001:db8::/32")}, "2001:db9::1", false},
		{"v4 not in v6", &Access{Allow: prefixes("::/0")}, "127.0.0.1", false},
		{"zone ignored", &Access{Allow: prefixes("fe80::/10")}, "fe80::1%eth0", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.access.Permits(netip.MustParseAddr(tc.client)); got != tc.want {
				t.Errorf("Permits(%s) = %v, want %v", tc.client, got, tc.want)
			}
		})
	}
}

func TestValidateAccess(t *testing.T) {
	for name, tc := range map[string]struct {
		access *Access
		field  string // "" means valid
	}{
		"allow":           {&Access{Allow: prefixes("10.0.0.0/8", "2001:db8::/32")}, ""},
		"deny":            {&Access{Deny: prefixes("192.0.2.1/32")}, ""},
		"empty":           {&Access{}, "loadBalancers[0].listeners[0].virtualHosts[0].routes[0].access"},
		"host bits":       {&Access{Allow: prefixes("10.0.0.1/8")}, "loadBalancers[0].listeners[0].virtualHosts[0].routes[0].access.allow[0]"},
		"mapped":          {&Access{Deny: prefixes("::ffff:10.0.0.0/104")}, "loadBalancers[0].listeners[0].virtualHosts[0].routes[0].access.deny[0]"},
		"invalid":         {&Access{Allow: []netip.Prefix{{}}}, "loadBalancers[0].listeners[0].virtualHosts[0].routes[0].access.allow[0]"},
		"unsorted":        {&Access{Allow: prefixes("10.0.0.0/8", "1.0.0.0/8")}, "loadBalancers[0].listeners[0].virtualHosts[0].routes[0].access.allow[1]"},
		"duplicate":       {&Access{Deny: prefixes("10.0.0.0/8", "10.0.0.0/8")}, "loadBalancers[0].listeners[0].virtualHosts[0].routes[0].access.deny[1]"},
		"allow every one": {&Access{Allow: prefixes("0.0.0.0/0")}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			c := validConfig()
			c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].Access = tc.access
			checkField(t, c, tc.field)
		})
	}
}

func TestSortCanonicalizesAccess(t *testing.T) {
	c := validConfig()
	c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].Access = &Access{
		Allow: prefixes("10.0.0.0/8", "2001:db8::/32", "1.0.0.0/8", "10.0.0.0/8"),
	}
	c.Sort()
	var got []netip.Prefix
	for _, vh := range c.LoadBalancers[0].Listeners[0].VirtualHosts {
		if vh.Hostname == "foo.example.com" {
			got = vh.Routes[0].Access.Allow
		}
	}
	if want := prefixes("1.0.0.0/8", "10.0.0.0/8", "2001:db8::/32"); !slices.Equal(got, want) {
		t.Errorf("sorted Allow = %v, want %v", got, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() after Sort = %v", err)
	}
}

func TestAccessJSON(t *testing.T) {
	a := &Access{Allow: prefixes("10.0.0.0/8"), Deny: prefixes("2001:db8::/32")}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"allow":["10.0.0.0/8"],"deny":["2001:db8::/32"]}`; string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
	var back Access
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Allow, a.Allow) || !slices.Equal(back.Deny, a.Deny) {
		t.Errorf("round trip = %+v, want %+v", back, a)
	}
}

func TestDiffAccessIsStructural(t *testing.T) {
	old, new := validConfig(), validConfig()
	new.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].Access = &Access{Deny: prefixes("10.0.0.0/8")}
	if ch := Diff(old, new); !ch.Structure {
		t.Errorf("Diff = %+v, want a structural change", ch)
	}
}
