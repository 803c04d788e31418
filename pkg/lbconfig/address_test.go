package lbconfig

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func TestOverlap(t *testing.T) {
	none := netip.Addr{}
	for _, tc := range []struct {
		a, b netip.Addr
		want bool
	}{
		{none, none, true},
		{none, netip.MustParseAddr("127.0.0.2"), false},
		{none, netip.MustParseAddr("0.0.0.0"), false},
		{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.2"), true},
		{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3"), false},
		{netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("127.0.0.3"), true},
		{netip.MustParseAddr("127.0.0.3"), netip.MustParseAddr("0.0.0.0"), true},
		{netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("::1"), false},
		{netip.MustParseAddr("::"), netip.MustParseAddr("::1"), true},
		{netip.MustParseAddr("::"), netip.MustParseAddr("127.0.0.1"), false},
		{netip.MustParseAddr("::"), netip.MustParseAddr("0.0.0.0"), false},
		{netip.MustParseAddr("::"), netip.MustParseAddr("::"), true},
		{netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2"), false},
	} {
		if got := Overlap(tc.a, tc.b); got != tc.want {
			t.Errorf("Overlap(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// twoOnPort80 is two load balancers with a listener on port 80 each, at
// a and b (nil: the provider's listen address).
func twoOnPort80(a, b []netip.Addr) *Config {
	c := validConfig()
	c.LoadBalancers[0].Addresses = a
	c.LoadBalancers = append(c.LoadBalancers, LoadBalancer{
		Name:      "gw",
		Addresses: b,
		Listeners: []Listener{{Port: 80, Protocol: ProtocolHTTP, DefaultBackend: &BackendRef{Name: "ns/web:80"}}},
	})
	return c
}

func TestValidateAddressClashes(t *testing.T) {
	const field = "loadBalancers[1].listeners[0].port"
	for name, tc := range map[string]struct {
		a, b []netip.Addr
		want string // "" means valid
	}{
		"both default":              {nil, nil, `port 80 is already used by load balancer "default"`},
		"default and own":           {nil, addrs("127.0.0.2"), ""},
		"own and default":           {addrs("127.0.0.2"), nil, ""},
		"different addresses":       {addrs("127.0.0.2"), addrs("127.0.0.3"), ""},
		"same address":              {addrs("127.0.0.2"), addrs("127.0.0.2"), `port 80 on 127.0.0.2 is already used by load balancer "default" on 127.0.0.2`},
		"one of several":            {addrs("127.0.0.2", "127.0.0.4"), addrs("127.0.0.3", "127.0.0.4"), `port 80 on 127.0.0.4 is already used by load balancer "default" on 127.0.0.4`},
		"wildcard v4 then specific": {addrs("0.0.0.0"), addrs("127.0.0.3"), `port 80 on 127.0.0.3 is already used by load balancer "default" on 0.0.0.0`},
		"specific then wildcard v4": {addrs("127.0.0.3"), addrs("0.0.0.0"), `port 80 on 0.0.0.0 is already used by load balancer "default" on 127.0.0.3`},
		"wildcard v4 and v6":        {addrs("0.0.0.0"), addrs("::1"), ""},
		"wildcard v6 and v4":        {addrs("::"), addrs("127.0.0.2"), ""},
		"wildcard v6 and v6":        {addrs("::"), addrs("2001:db8::1"), `port 80 on 2001:db8::1 is already used by load balancer "default" on ::`},
		"both wildcards v4 and v6":  {addrs("0.0.0.0"), addrs("::"), ""},
		"same v6":                   {addrs("::1"), addrs("::1"), `port 80 on ::1 is already used by load balancer "default" on ::1`},
	} {
		t.Run(name, func(t *testing.T) {
			c := twoOnPort80(tc.a, tc.b)
			c.Sort()
			got := fieldErrors(c.Validate())
			want := []string{}
			if tc.want != "" {
				want = append(want, field+": "+tc.want)
			}
			if !slices.Equal(got, want) {
				t.Errorf("Validate() = %q, want %q", got, want)
			}
		})
	}
}

// TestValidateAddressesSamePortsElsewhere: one load balancer on several
// addresses and ports, another on other ports of the same address.
func TestValidateAddressesSamePortsElsewhere(t *testing.T) {
	c := twoOnPort80(addrs("127.0.0.2", "::1"), addrs("127.0.0.2"))
	c.LoadBalancers[1].Listeners[0].Port = 8080
	c.LoadBalancers[0].Listeners = append(c.LoadBalancers[0].Listeners, Listener{Port: 443, Protocol: ProtocolTCP, TCP: &BackendRef{Name: "ns/web:80"}})
	c.Sort()
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
	c.LoadBalancers[1].Listeners[0].Port = 443
	if got := fieldErrors(c.Validate()); len(got) != 1 || !strings.Contains(got[0], `port 443 on 127.0.0.2 is already used by load balancer "default"`) {
		t.Errorf("Validate() = %q, want the clash on port 443", got)
	}
}

func TestValidateAddresses(t *testing.T) {
	const f = "loadBalancers[0].addresses"
	for name, tc := range map[string]struct {
		addrs []netip.Addr
		field string // "" means valid
	}{
		"v4 and v6":  {addrs("127.0.0.2", "::1"), ""},
		"wildcards":  {addrs("0.0.0.0", "::"), ""},
		"invalid":    {[]netip.Addr{{}}, f + "[0]"},
		"zone":       {addrs("fe80::1%eth0"), f + "[0]"},
		"mapped":     {addrs("::ffff:127.0.0.2"), f + "[0]"},
		"multicast":  {addrs("224.0.0.1"), f + "[0]"},
		"unsorted":   {addrs("127.0.0.3", "127.0.0.2"), f + "[1]"},
		"duplicated": {addrs("127.0.0.2", "127.0.0.2"), f + "[1]"},
	} {
		t.Run(name, func(t *testing.T) {
			c := validConfig()
			c.LoadBalancers[0].Addresses = tc.addrs
			got := fieldErrors(c.Validate())
			switch {
			case tc.field == "" && len(got) > 0:
				t.Errorf("Validate() = %q, want valid", got)
			case tc.field != "" && (len(got) != 1 || !strings.HasPrefix(got[0], tc.field+": ")):
				t.Errorf("Validate() = %q, want one error on %s", got, tc.field)
			}
		})
	}
}

func TestSortAddresses(t *testing.T) {
	c := validConfig()
	c.LoadBalancers[0].Addresses = addrs("::1", "127.0.0.3", "127.0.0.2", "127.0.0.3")
	c.Sort()
	if got, want := c.LoadBalancers[0].Addresses, addrs("127.0.0.2", "127.0.0.3", "::1"); !slices.Equal(got, want) {
		t.Errorf("Sort: addresses = %v, want %v", got, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() after Sort = %v", err)
	}
}

func TestAddressesJSON(t *testing.T) {
	lb := LoadBalancer{Name: "gw", Addresses: addrs("127.0.0.2", "2001:db8::1")}
	b, err := json.Marshal(lb)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"name":"gw","addresses":["127.0.0.2","2001:db8::1"]}`; string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
	var back LoadBalancer
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Addresses, lb.Addresses) {
		t.Errorf("round trip = %v, want %v", back.Addresses, lb.Addresses)
	}
	if err := json.Unmarshal([]byte(`{"name":"gw","addresses":["127.0.0.2\r\nbind"]}`), &back); err == nil {
		t.Errorf("an address with CRLF decoded: %v", back.Addresses)
	}
}

func TestPublicAddresses(t *testing.T) {
	lb := LoadBalancer{Name: "gw", Listeners: []Listener{{Port: 80}, {Port: 443}}}
	if got := lb.PublicAddresses(""); len(got) != 0 {
		t.Errorf("default on all addresses = %v, want none", got)
	}
	if got := lb.PublicAddresses("127.0.0.1"); len(got) != 1 || got[0].IP != "127.0.0.1" || !slices.Equal(got[0].Ports, []int32{80, 443}) {
		t.Errorf("default on 127.0.0.1 = %v", got)
	}
	lb.Addresses = addrs("0.0.0.0", "127.0.0.2", "::1")
	got := lb.PublicAddresses("127.0.0.1")
	if len(got) != 2 || got[0].IP != "127.0.0.2" || got[1].IP != "::1" || !slices.Equal(got[1].Ports, []int32{80, 443}) {
		t.Errorf("own addresses = %v, want 127.0.0.2 and ::1 with ports 80 and 443 (not the wildcard, not the listen address)", got)
	}
}

func TestDiffAddressIsStructural(t *testing.T) {
	old, new := validConfig(), validConfig()
	old.LoadBalancers[0].Addresses = addrs("127.0.0.2")
	new.LoadBalancers[0].Addresses = addrs("127.0.0.3")
	if ch := Diff(old, new); !ch.Structure {
		t.Errorf("Diff = %+v, want a structural change", ch)
	}
	if ch := Diff(old, old); !ch.Empty() {
		t.Errorf("Diff of the same = %+v, want empty", ch)
	}
}

func fieldErrors(err error) []string {
	got := []string{}
	for _, e := range flattenErrors(err) {
		got = append(got, e.Error())
	}
	return got
}
