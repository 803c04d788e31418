package dnssync

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

const (
	zone = "example.test."
	me   = "cluster-a"
	them = "cluster-b"
)

func rrA(name, addr string) RR    { return RR{Name: name, Type: TypeA, TTL: 60, Data: addr} }
func rrAAAA(name, addr string) RR { return RR{Name: name, Type: TypeAAAA, TTL: 60, Data: addr} }
func rrCNAME(name, target string) RR {
	return RR{Name: name, Type: TypeCNAME, TTL: 60, Data: target}
}
func rrTXT(name string, text ...string) RR { return RR{Name: name, Type: TypeTXT, TTL: 60, Text: text} }
func rrOwner(name, owner string) RR        { return rrTXT(OwnerName(name), OwnerText(owner)) }
func rrOther(name string, t Type) RR       { return RR{Name: name, Type: t, TTL: 300} }
func withTTL(rr RR, ttl uint32) RR         { rr.TTL = ttl; return rr }

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

// apex is what every zone holds.
var apex = []RR{rrOther(zone, 6), rrOther(zone, 2)}

func TestPlan(t *testing.T) {
	const shop = "shop.example.test."
	for _, tc := range []struct {
		name    string
		current []RR
		desired Desired
		want    Changes
	}{{
		name:    "claims a free name",
		current: apex,
		desired: Desired{Zone: "example.test", Records: []Record{{Name: "Shop.Example.Test", Addresses: addrs("192.0.2.10", "2001:db8::1", "192.0.2.9")}}},
		want: Changes{Zone: zone, Names: []Change{{Op: Create, Name: shop, Owner: OwnerText(me), TTL: 60, Set: []RRset{
			{Type: TypeA, Data: []string{"192.0.2.9", "192.0.2.10"}},
			{Type: TypeAAAA, Data: []string{"2001:db8::1"}},
		}}}},
	}, {
		name:    "owned and equal: nothing",
		current: append([]RR{rrA(shop, "192.0.2.1"), rrAAAA("SHOP.example.test", "2001:DB8:0::1"), rrOwner(shop, me)}, apex...),
		desired: Desired{Zone: zone, Records: []Record{{Name: shop, Addresses: addrs("2001:db8::1", "192.0.2.1", "192.0.2.1")}}},
		want:    Changes{Zone: zone},
	}, {
		name:    "owned, addresses moved: only A",
		current: []RR{rrA(shop, "192.0.2.1"), rrA(shop, "192.0.2.2"), rrAAAA(shop, "2001:db8::1"), rrOwner(shop, me)},
		desired: Desired{Zone: zone, Records: []Record{{Name: shop, Addresses: addrs("192.0.2.2", "192.0.2.3", "2001:db8::1")}}},
		want: Changes{Zone: zone, Names: []Change{{Op: Update, Name: shop, Held: OwnerText(me), TTL: 60, Set: []RRset{
			{Type: TypeA, Data: []string{"192.0.2.2", "192.0.2.3"}},
		}}}},
	}, {
		name:    "owned, addresses gone: records go, the name stays claimed",
		current: []RR{rrA(shop, "192.0.2.1"), rrAAAA(shop, "2001:db8::1"), rrOwner(shop, me)},
		desired: Desired{Zone: zone, Records: []Record{{Name: shop}}},
		want:    Changes{Zone: zone, Names: []Change{{Op: Update, Name: shop, Held: OwnerText(me), TTL: 60, Remove: []Type{TypeA, TypeAAAA}}}},
	}, {
		name:    "TTL changed: every set and the owner record are rewritten",
		current: []RR{rrA(shop, "192.0.2.1"), rrAAAA(shop, "2001:db8::1"), rrOwner(shop, me)},
		desired: Desired{Zone: zone, TTL: 30, Records: []Record{{Name: shop, Addresses: addrs("192.0.2.1", "2001:db8::1")}}},
		want: Changes{Zone: zone, Names: []Change{{Op: Update, Name: shop, Held: OwnerText(me), Owner: OwnerText(me), TTL: 30, Set: []RRset{
			{Type: TypeA, Data: []string{"192.0.2.1"}},
			{Type: TypeAAAA, Data: []string{"2001:db8::1"}},
		}}}},
	}, {
		name:    "mixed TTLs are repaired",
		current: []RR{rrA(shop, "192.0.2.1"), withTTL(rrA(shop, "192.0.2.2"), 61), rrOwner(shop, me)},
		desired: Desired{Zone: zone, Records: []Record{{Name: shop, Addresses: addrs("192.0.2.1", "192.0.2.2")}}},
		want: Changes{Zone: zone, Names: []Change{{Op: Update, Name: shop, Held: OwnerText(me), TTL: 60, Set: []RRset{
			{Type: TypeA, Data: []string{"192.0.2.1", "192.0.2.2"}},
		}}}},
	}, {
		name:    "an owner record of an older version is ours and rewritten",
		current: []RR{rrA(shop, "192.0.2.1"), rrTXT(OwnerName(shop), "heritage=ingress-controller,owner=cluster-a,lb=shop")},
		desired: Desired{Zone: zone, Records: []Record{{Name: shop, Addresses: addrs("192.0.2.1")}}},
		want:    Changes{Zone: zone, Names: []Change{{Op: Update, Name: shop, Held: "heritage=ingress-controller,owner=cluster-a,lb=shop", Owner: OwnerText(me), TTL: 60}}},
	}, {
		name:    "owned and no longer desired: records and owner record go, other types stay",
		current: append([]RR{rrA(shop, "192.0.2.1"), rrOther(shop, 15), rrOwner(shop, me)}, apex...),
		desired: Desired{Zone: zone},
		want:    Changes{Zone: zone, Names: []Change{{Op: Delete, Name: shop, Held: OwnerText(me), Remove: []Type{TypeA}}}},
	}, {
		name:    "an owner record without records is deleted too",
		current: []RR{rrOwner(shop, me)},
		desired: Desired{Zone: zone},
		want:    Changes{Zone: zone, Names: []Change{{Op: Delete, Name: shop, Held: OwnerText(me)}}},
	}, {
		name:    "another owner's name: conflict, and never deleted",
		current: []RR{rrA(shop, "192.0.2.1"), rrOwner(shop, them), rrA("cart.example.test.", "192.0.2.5"), rrOwner("cart.example.test.", them)},
		desired: Desired{Zone: zone, Records: []Record{{Name: shop, Addresses: addrs("192.0.2.9")}}},
		want:    Changes{Zone: zone, Conflicts: []Conflict{{Name: shop, Owner: them, Reason: "owned by the ingress-controller with owner id cluster-b"}}},
	}, {
		name:    "a name someone created: conflict",
		current: []RR{rrA(shop, "192.0.2.1"), rrOther(shop, 15)},
		desired: Desired{Zone: zone, Records: []Record{{Name: shop, Addresses: addrs("192.0.2.9")}}},
		want:    Changes{Zone: zone, Conflicts: []Conflict{{Name: shop, Reason: "has records not created by ingress-controller (A, MX)"}}},
	}, {
		name:    "a TXT someone put at the owner name: conflict",
		current: []RR{rrTXT(OwnerName(shop), "hello")},
		desired: Desired{Zone: zone, Records: []Record{{Name: shop, Addresses: addrs("192.0.2.9")}}},
		want:    Changes{Zone: zone, Conflicts: []Conflict{{Name: shop, Reason: "_ic-owner.shop.example.test. has records that are not an ingress-controller owner record"}}},
	}, {
		name:    "two owner records: neither owns it, nothing is deleted",
		current: []RR{rrA(shop, "192.0.2.1"), rrOwner(shop, me), rrOwner(shop, them)},
		desired: Desired{Zone: zone},
		want:    Changes{Zone: zone},
	}, {
		name:    "an owner record split in two strings is not ours",
		current: []RR{rrA(shop, "192.0.2.1"), rrTXT(OwnerName(shop), "heritage=ingress-controller,", "owner=cluster-a")},
		desired: Desired{Zone: zone},
		want:    Changes{Zone: zone},
	}, {
		name:    "another zone's records are ignored",
		current: []RR{rrOwner("shop.other.test.", me), rrA("shop.other.test.", "192.0.2.1")},
		desired: Desired{Zone: zone},
		want:    Changes{Zone: zone},
	}, {
		name:    "the apex can be owned beside SOA and NS",
		current: append([]RR{rrOwner(zone, me)}, apex...),
		desired: Desired{Zone: zone, Records: []Record{{Name: zone, Addresses: addrs("192.0.2.1")}}},
		want: Changes{Zone: zone, Names: []Change{{Op: Update, Name: zone, Held: OwnerText(me), TTL: 60, Set: []RRset{
			{Type: TypeA, Data: []string{"192.0.2.1"}},
		}}}},
	}, {
		name:    "a free apex cannot be claimed",
		current: apex,
		desired: Desired{Zone: zone, Records: []Record{{Name: zone, Addresses: addrs("192.0.2.1")}}},
		want:    Changes{Zone: zone, Conflicts: []Conflict{{Name: zone, Reason: "has records not created by ingress-controller (NS, SOA)"}}},
	}, {
		name:    "claims a CNAME and a wildcard",
		desired: Desired{Zone: zone, Records: []Record{{Name: "www.example.test", CNAME: "Shop.Example.Test"}, {Name: "*.app.example.test.", Addresses: addrs("192.0.2.1")}}},
		want: Changes{Zone: zone, Names: []Change{
			{Op: Create, Name: "*.app.example.test.", Owner: OwnerText(me), TTL: 60, Set: []RRset{{Type: TypeA, Data: []string{"192.0.2.1"}}}},
			{Op: Create, Name: "www.example.test.", Owner: OwnerText(me), TTL: 60, Set: []RRset{{Type: TypeCNAME, Data: []string{shop}}}},
		}},
	}, {
		name:    "addresses to a CNAME: the addresses go first",
		current: []RR{rrA(shop, "192.0.2.1"), rrAAAA(shop, "2001:db8::1"), rrOwner(shop, me)},
		desired: Desired{Zone: zone, Records: []Record{{Name: shop, CNAME: "lb.example.net."}}},
		want: Changes{Zone: zone, Names: []Change{{Op: Update, Name: shop, Held: OwnerText(me), TTL: 60,
			Remove: []Type{TypeA, TypeAAAA}, Set: []RRset{{Type: TypeCNAME, Data: []string{"lb.example.net."}}}}}},
	}, {
		name:    "a CNAME to addresses",
		current: []RR{rrCNAME(shop, "LB.example.net"), rrOwner(shop, me)},
		desired: Desired{Zone: zone, Records: []Record{{Name: shop, Addresses: addrs("192.0.2.1")}}},
		want: Changes{Zone: zone, Names: []Change{{Op: Update, Name: shop, Held: OwnerText(me), TTL: 60,
			Remove: []Type{TypeCNAME}, Set: []RRset{{Type: TypeA, Data: []string{"192.0.2.1"}}}}}},
	}, {
		name:    "an equal CNAME, in other case: nothing",
		current: []RR{rrCNAME(shop, "LB.example.net"), rrOwner(shop, me)},
		desired: Desired{Zone: zone, Records: []Record{{Name: shop, CNAME: "lb.example.net"}}},
		want:    Changes{Zone: zone},
	}, {
		name:    "a CNAME where someone put an MX: conflict",
		current: []RR{rrA(shop, "192.0.2.1"), rrOther(shop, 15), rrOwner(shop, me)},
		desired: Desired{Zone: zone, Records: []Record{{Name: shop, CNAME: "lb.example.net."}}},
		want:    Changes{Zone: zone, Conflicts: []Conflict{{Name: shop, Reason: "a CNAME cannot share its name with the MX records there"}}},
	}, {
		name:    "invalid entries are skipped and their owned names kept",
		current: []RR{rrA(shop, "192.0.2.1"), rrOwner(shop, me), rrA("cart.example.test.", "192.0.2.2"), rrOwner("cart.example.test.", me)},
		desired: Desired{Zone: zone, Records: []Record{
			{Name: shop, Addresses: []netip.Addr{netip.MustParseAddr("192.0.2.1"), {}, netip.MustParseAddr("224.0.0.1")}},
			{Name: "cart.example.test", Addresses: addrs("192.0.2.3")},
			{Name: "cart.example.test.", Addresses: addrs("192.0.2.4")},
			{Name: "shop.example.org.", Addresses: addrs("192.0.2.5")},
			{Name: "bad_name.example.test.", Addresses: addrs("192.0.2.6")},
			{Name: "both.example.test.", Addresses: addrs("192.0.2.7"), CNAME: "x.example.test."},
			{Name: "zero.example.test.", Addresses: addrs("0.0.0.0", "fe80::1%eth0")},
		}},
		want: Changes{Zone: zone, Invalid: []Invalid{
			{Name: "bad_name.example.test.", Reason: `name: label "bad_name": only letters, digits and hyphens are allowed`},
			{Name: "both.example.test.", Reason: "has both addresses and a CNAME target"},
			{Name: "cart.example.test.", Reason: "listed more than once"},
			{Name: "shop.example.org.", Reason: "name is not in zone example.test."},
			{Name: shop, Reason: "an address is empty; address 224.0.0.1 is not a host's"},
			{Name: "zero.example.test.", Reason: "address 0.0.0.0 is not a host's; address fe80::1%eth0 has a zone"},
		}},
	}, {
		name:    "an invalid zone plans nothing",
		current: []RR{rrOwner(shop, me)},
		desired: Desired{Zone: "example..test"},
		want:    Changes{Zone: "example..test", Invalid: []Invalid{{Reason: `zone "example..test": empty label`}}},
	}, {
		name:    "a TTL over 2^31-1 plans nothing",
		current: []RR{rrOwner(shop, me)},
		desired: Desired{Zone: zone, TTL: 1 << 31},
		want:    Changes{Zone: zone, Invalid: []Invalid{{Reason: "TTL 2147483648 is more than 2147483647"}}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := Plan(tc.current, tc.desired, me)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Plan:\n got %s\nwant %s", dump(got), dump(tc.want))
			}
			checkOwnedOnly(t, tc.current, got)
		})
	}
}

func TestPlanBadOwner(t *testing.T) {
	got := Plan([]RR{rrOwner("shop.example.test.", "a,b")}, Desired{Zone: zone}, "a,b")
	want := Changes{Zone: zone, Invalid: []Invalid{{Reason: `owner id "a,b": only letters, digits and - . _ : / are allowed`}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Plan:\n got %s\nwant %s", dump(got), dump(want))
	}
}

// checkOwnedOnly fails t if changes touch a name that owner me does not
// own in current, or claim one that is in use.
func checkOwnedOnly(t *testing.T, current []RR, changes Changes) {
	t.Helper()
	z := indexZone(current, zone)
	for _, ch := range changes.Names {
		h := z.holder(ch.Name, me)
		switch ch.Op {
		case Create:
			if h.kind != free || z[ch.Name] != nil {
				t.Errorf("creates %s, which is in use", ch.Name)
			}
		default:
			if h.kind != ours {
				t.Errorf("%s %s, which %s does not own", ch.Op, ch.Name, me)
			}
		}
	}
}

func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func TestCanonicalName(t *testing.T) {
	long63 := strings.Repeat("a", 63)
	// 4 labels of 63 and one of 1: 4*64 + 1 = 257 bytes; 3*64 + 61 = 253.
	name253 := strings.Repeat(long63+".", 3) + strings.Repeat("b", 61)
	for _, tc := range []struct {
		in, want, err string
		wildcard      bool
	}{
		{in: "Shop.Example.TEST", want: "shop.example.test."},
		{in: "shop.example.test.", want: "shop.example.test."},
		{in: "xn--bcher-kva.example", want: "xn--bcher-kva.example."},
		{in: "a-b.c", want: "a-b.c."},
		{in: long63 + ".test", want: long63 + ".test."},
		{in: name253, want: name253 + "."},
		{in: name253 + "b", err: "254 bytes long, more than 253"},
		{in: long63 + "a.test", err: "more than 63"},
		{in: "", err: "empty name"},
		{in: ".", err: "empty name"},
		{in: "a..b", err: "empty label"},
		{in: "-a.test", err: "starts or ends with a hyphen"},
		{in: "a-.test", err: "starts or ends with a hyphen"},
		{in: "a_b.test", err: "only letters, digits and hyphens"},
		{in: "bücher.test", err: "only letters, digits and hyphens"},
		{in: "a b.test", err: "only letters, digits and hyphens"},
		{in: `a\.b.test`, err: "only letters, digits and hyphens"},
		{in: "*.test", err: "only letters"},
		{in: "*.test", wildcard: true, want: "*.test."},
		{in: "a.*.test", wildcard: true, err: "only letters"},
	} {
		got, err := canonicalName(tc.in, tc.wildcard)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("canonicalName(%q) = %q, %v; want an error with %q", tc.in, got, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("canonicalName(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestOwnerNameTooLong(t *testing.T) {
	// 253 bytes are a valid name, but its owner record's name is not.
	name := strings.Repeat(strings.Repeat("a", 63)+".", 3) + strings.Repeat("b", 48) + ".example.test."
	got := Plan(nil, Desired{Zone: zone, Records: []Record{{Name: name, Addresses: addrs("192.0.2.1")}}}, me)
	if len(got.Names) != 0 || len(got.Invalid) != 1 || !strings.Contains(got.Invalid[0].Reason, "too long for its owner record") {
		t.Errorf("Plan of a %d-byte name: %s", len(name)-1, dump(got))
	}
}

func TestOwnerID(t *testing.T) {
	for _, id := range []string{"a", "cluster-a", "prod/eu-west-1:ic_2.x", strings.Repeat("x", maxOwnerID)} {
		if err := CheckOwnerID(id); err != nil {
			t.Errorf("CheckOwnerID(%q) = %v", id, err)
		}
		if got, ok := parseOwner(OwnerText(id)); !ok || got != id {
			t.Errorf("parseOwner(OwnerText(%q)) = %q, %v", id, got, ok)
		}
	}
	for _, id := range []string{"", "a,b", "a=b", "a b", `a"b`, "é", strings.Repeat("x", maxOwnerID+1)} {
		if err := CheckOwnerID(id); err == nil {
			t.Errorf("CheckOwnerID(%q) = nil, want an error", id)
		}
	}
	for _, text := range []string{
		"", "owner=a", "heritage=external-dns,owner=a", "heritage=ingress-controller", "heritage=ingress-controller,owner=",
		"heritage=ingress-controller,owner=a,junk", "heritage=ingress-controller,owner=a b",
	} {
		if id, ok := parseOwner(text); ok {
			t.Errorf("parseOwner(%q) = %q, want not an owner record", text, id)
		}
	}
}

func FuzzCanonicalName(f *testing.F) {
	for _, s := range []string{"shop.example.test.", "*.a.b", "a..b", "-a", "A_B", strings.Repeat("a.", 130)} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, in string, wildcard bool) {
		got, err := canonicalName(in, wildcard)
		if err != nil {
			return
		}
		if len(got) > 254 || !strings.HasSuffix(got, ".") || got != strings.ToLower(got) {
			t.Fatalf("canonicalName(%q) = %q", in, got)
		}
		for i, label := range strings.Split(strings.TrimSuffix(got, "."), ".") {
			if len(label) == 0 || len(label) > 63 || (label == "*" && i > 0) {
				t.Fatalf("canonicalName(%q) = %q: label %q", in, got, label)
			}
		}
		if again, err := canonicalName(got, wildcard); err != nil || again != got {
			t.Fatalf("canonicalName(%q) = %q, but again %q, %v", in, got, again, err)
		}
	})
}
