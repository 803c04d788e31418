package rfc2136

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ingress-controller/internal/dnssync"
	"ingress-controller/internal/dnssync/bindtest"
)

// These tests run a real BIND 9 (bindtest) and check what it serves with
// plain queries, as a resolver would see it.

const (
	zone  = "example.test."
	owner = "cluster-a"
	other = "cluster-b"
)

// backend returns a Backend for s signed with the key named key, counting
// the UPDATE messages it sends in *sent if sent is not nil.
func backend(t *testing.T, s *bindtest.Server, key string, sent *atomic.Int32) *Backend {
	t.Helper()
	k, err := ReadKeyFile(s.KeyFile(key))
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Options{Server: s.Addr, Key: k, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if sent != nil {
		send := b.exchange
		b.exchange = func(ctx context.Context, m *dns.Msg) (*dns.Msg, error) {
			sent.Add(1)
			return send(ctx, m)
		}
	}
	return b
}

func syncer(t *testing.T, b dnssync.Backend, owner string) *dnssync.Syncer {
	t.Helper()
	s, err := dnssync.NewSyncer(b, owner)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// mustSync syncs and fails the test on an error.
func mustSync(t *testing.T, s *dnssync.Syncer, d dnssync.Desired) dnssync.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := s.Sync(ctx, d)
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	return res
}

func desired(records ...dnssync.Record) dnssync.Desired {
	return dnssync.Desired{Zone: zone, Records: records}
}

func rec(name string, addrs ...string) dnssync.Record {
	r := dnssync.Record{Name: name}
	for _, a := range addrs {
		r.Addresses = append(r.Addresses, netip.MustParseAddr(a))
	}
	return r
}

// wantLookup fails the test unless the server answers name's type t with want.
func wantLookup(t *testing.T, s *bindtest.Server, name string, qtype uint16, want ...string) {
	t.Helper()
	got := s.Lookup(t, name, qtype)
	if !slices.Equal(got, want) {
		t.Errorf("%s %s = %q, want %q", name, dns.TypeToString[qtype], got, want)
	}
}

func ownerTXT(id string) string { return `"` + dnssync.OwnerText(id) + `"` }

// zoneRecords is the zone's records as "name type data" lines, sorted,
// without SOA.
func zoneRecords(t *testing.T, b *Backend) []string {
	t.Helper()
	rrs, err := b.Read(context.Background(), zone)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, rr := range rrs {
		if rr.Type == 6 {
			continue
		}
		data := rr.Data
		if rr.Type == dnssync.TypeTXT {
			data = strings.Join(rr.Text, " ")
		}
		out = append(out, strings.TrimSpace(fmt.Sprintf("%s %d %s %s", rr.Name, rr.TTL, rr.Type, data)))
	}
	slices.Sort(out)
	return out
}

func TestPublishChangeRemove(t *testing.T) {
	s := bindtest.Start(t, bindtest.Options{})
	var sent atomic.Int32
	b := backend(t, s, bindtest.Key, &sent)
	sy := syncer(t, b, owner)
	apex := zoneRecords(t, b)

	res := mustSync(t, sy, desired(rec("shop.example.test", "192.0.2.2", "192.0.2.1", "2001:db8::1")))
	if res.Changes.Summary() != "1 create" || sent.Load() != 1 {
		t.Errorf("first Sync: %s in %d messages, want 1 create in 1", res.Changes.Summary(), sent.Load())
	}
	wantLookup(t, s, "shop.example.test", dns.TypeA, "192.0.2.1", "192.0.2.2")
	wantLookup(t, s, "shop.example.test", dns.TypeAAAA, "2001:db8::1")
	wantLookup(t, s, "_ic-owner.shop.example.test", dns.TypeTXT, ownerTXT(owner))

	// Nothing differs: nothing is sent, the serial stays.
	serial := s.Serial(t)
	res = mustSync(t, sy, desired(rec("shop.example.test", "2001:db8::1", "192.0.2.1", "192.0.2.2")))
	if len(res.Changes.Names) != 0 || sent.Load() != 1 || s.Serial(t) != serial {
		t.Errorf("Sync of the same state planned %s and sent %d messages in all; want nothing", res.Changes.Summary(), sent.Load())
	}

	// The addresses move, and the TTL changes.
	d := desired(rec("shop.example.test", "192.0.2.3"))
	d.TTL = 30
	mustSync(t, sy, d)
	wantLookup(t, s, "shop.example.test", dns.TypeA, "192.0.2.3")
	wantLookup(t, s, "shop.example.test", dns.TypeAAAA)
	if got, want := zoneRecords(t, b), append(slices.Clone(apex),
		"_ic-owner.shop.example.test. 30 TXT "+dnssync.OwnerText(owner),
		"shop.example.test. 30 A 192.0.2.3",
	); !equalSorted(got, want) {
		t.Errorf("zone after the move:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The name is no longer desired: its records and owner record go.
	mustSync(t, sy, desired())
	wantLookup(t, s, "shop.example.test", dns.TypeA)
	wantLookup(t, s, "_ic-owner.shop.example.test", dns.TypeTXT)
	if got := zoneRecords(t, b); !slices.Equal(got, apex) {
		t.Errorf("zone after removing the name:\n%s\nwant only\n%s", strings.Join(got, "\n"), strings.Join(apex, "\n"))
	}
}

func equalSorted(got, want []string) bool {
	want = slices.Clone(want)
	slices.Sort(want)
	return slices.Equal(got, want)
}

func TestWrongKeyChangesNothing(t *testing.T) {
	s := bindtest.Start(t, bindtest.Options{Records: []string{"www 300 IN A 192.0.2.80"}})
	good := backend(t, s, bindtest.Key, nil)
	mustSync(t, syncer(t, good, owner), desired(rec("shop.example.test", "192.0.2.1")))
	serial := s.Serial(t)
	current, err := good.Read(context.Background(), zone)
	if err != nil {
		t.Fatal(err)
	}
	plan := dnssync.Plan(current, desired(rec("shop.example.test", "192.0.2.9"), rec("new.example.test", "192.0.2.9")), owner)

	wrongSecret := backend(t, s, bindtest.Key, nil)
	wrongSecret.key.Secret = s.Secret(bindtest.OtherKey)
	unknown := backend(t, s, bindtest.Key, nil)
	unknown.key.Name = "nobody."
	readOnly := backend(t, s, bindtest.ReadOnlyKey, nil)
	for _, tc := range []struct {
		name       string
		b          *Backend
		readErr    error
		readMsg    string
		applyErr   error
		applyTexts []string
	}{
		{"wrong secret", wrongSecret, ErrKey, "NOTAUTH (TSIG BADSIG)", ErrKey, []string{"NOTAUTH (TSIG BADSIG)", "secret or algorithm of key ic-test. differs"}},
		{"unknown key", unknown, ErrKey, "NOTAUTH (TSIG BADKEY)", ErrKey, []string{"NOTAUTH (TSIG BADKEY)", "does not know key nobody."}},
		{"key without update rights", readOnly, nil, "", ErrRefused, []string{"REFUSED", "does not allow this key to update the zone"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.b.Read(context.Background(), zone)
			if !errors.Is(err, tc.readErr) || (err != nil && !strings.Contains(err.Error(), tc.readMsg)) {
				t.Errorf("Read: %v; want %v with %q", err, tc.readErr, tc.readMsg)
			}
			t.Logf("Read: %v", err)
			err = tc.b.Apply(context.Background(), plan)
			if !errors.Is(err, tc.applyErr) {
				t.Errorf("Apply: %v; want %v", err, tc.applyErr)
			}
			for _, text := range tc.applyTexts {
				if err == nil || !strings.Contains(err.Error(), text) {
					t.Errorf("Apply: %v; want it to say %q", err, text)
				}
			}
			t.Logf("Apply: %v", err)
			if s.Serial(t) != serial {
				t.Errorf("the zone changed")
			}
			wantLookup(t, s, "shop.example.test", dns.TypeA, "192.0.2.1")
		})
	}
}

func newRR(t *testing.T, s string) dns.RR {
	t.Helper()
	rr, err := dns.NewRR(s)
	if err != nil {
		t.Fatal(err)
	}
	return rr
}

func TestNeverTouchesOthersNames(t *testing.T) {
	s := bindtest.Start(t, bindtest.Options{Records: []string{
		"www 300 IN A 192.0.2.80",
		"mail 300 IN MX 10 mx.example.net.",
	}})
	// An admin's nsupdate, with a key of their own.
	s.MustUpdate(t, bindtest.OtherKey, func(m *dns.Msg) {
		m.Insert([]dns.RR{newRR(t, "api.example.test. 60 IN A 192.0.2.81")})
	})
	b := backend(t, s, bindtest.Key, nil)
	sy := syncer(t, b, owner)
	before := zoneRecords(t, b)

	res := mustSync(t, sy, desired(
		rec("www.example.test", "192.0.2.1"),
		rec("api.example.test", "192.0.2.1"),
		rec("mail.example.test", "192.0.2.1"),
		rec("shop.example.test", "192.0.2.1"),
	))
	want := []dnssync.Conflict{
		{Name: "api.example.test.", Reason: "has records not created by ingress-controller (A)"},
		{Name: "mail.example.test.", Reason: "has records not created by ingress-controller (MX)"},
		{Name: "www.example.test.", Reason: "has records not created by ingress-controller (A)"},
	}
	if !slices.Equal(res.Changes.Conflicts, want) {
		t.Errorf("conflicts %+v, want %+v", res.Changes.Conflicts, want)
	}
	if res.Changes.Summary() != "1 create" {
		t.Errorf("Sync did %s, want 1 create (shop)", res.Changes.Summary())
	}
	wantLookup(t, s, "www.example.test", dns.TypeA, "192.0.2.80")
	wantLookup(t, s, "api.example.test", dns.TypeA, "192.0.2.81")
	wantLookup(t, s, "mail.example.test", dns.TypeA)
	wantLookup(t, s, "_ic-owner.www.example.test", dns.TypeTXT)
	wantLookup(t, s, "shop.example.test", dns.TypeA, "192.0.2.1")

	// Nothing desired: our name goes, theirs stay.
	mustSync(t, sy, desired())
	if got := zoneRecords(t, b); !slices.Equal(got, before) {
		t.Errorf("zone after Sync of nothing:\n%s\nwant as before\n%s", strings.Join(got, "\n"), strings.Join(before, "\n"))
	}
}

func TestTwoOwners(t *testing.T) {
	s := bindtest.Start(t, bindtest.Options{})
	b := backend(t, s, bindtest.Key, nil)
	a, c := syncer(t, b, owner), syncer(t, b, other)

	mustSync(t, a, desired(rec("shop.example.test", "192.0.2.1")))
	res := mustSync(t, c, desired(rec("shop.example.test", "192.0.2.2"), rec("cart.example.test", "192.0.2.3")))
	if want := []dnssync.Conflict{{Name: "shop.example.test.", Owner: owner, Reason: "owned by the ingress-controller with owner id " + owner}}; !slices.Equal(res.Changes.Conflicts, want) {
		t.Errorf("%s's conflicts %+v, want %+v", other, res.Changes.Conflicts, want)
	}
	wantLookup(t, s, "shop.example.test", dns.TypeA, "192.0.2.1")
	wantLookup(t, s, "cart.example.test", dns.TypeA, "192.0.2.3")
	wantLookup(t, s, "_ic-owner.cart.example.test", dns.TypeTXT, ownerTXT(other))

	// a lets shop go, and does not touch cart, which it does not desire.
	res = mustSync(t, a, desired())
	if res.Changes.Summary() != "1 delete" || res.Changes.Names[0].Name != "shop.example.test." {
		t.Errorf("%s's Sync of nothing: %+v, want only shop deleted", owner, res.Changes.Names)
	}
	wantLookup(t, s, "shop.example.test", dns.TypeA)
	wantLookup(t, s, "cart.example.test", dns.TypeA, "192.0.2.3")

	// Now shop is free, and the other one claims it.
	res = mustSync(t, c, desired(rec("shop.example.test", "192.0.2.2"), rec("cart.example.test", "192.0.2.3")))
	if res.Changes.Summary() != "1 create" || len(res.Changes.Conflicts) != 0 {
		t.Errorf("%s's Sync after shop was freed: %s, conflicts %+v; want 1 create", other, res.Changes.Summary(), res.Changes.Conflicts)
	}
	wantLookup(t, s, "shop.example.test", dns.TypeA, "192.0.2.2")
	wantLookup(t, s, "_ic-owner.shop.example.test", dns.TypeTXT, ownerTXT(other))
}

// racing is a Backend whose first Apply lets someone else change the zone
// first: a change between Sync's read and its apply.
type racing struct {
	*Backend
	before func()
	once   sync.Once
}

func (r *racing) Apply(ctx context.Context, changes dnssync.Changes) error {
	r.once.Do(r.before)
	return r.Backend.Apply(ctx, changes)
}

func TestConcurrentChangeIsDetected(t *testing.T) {
	const shop = "shop.example.test."
	for _, tc := range []struct {
		name string
		// owned says shop is ours before the race.
		owned bool
		race  func(m *dns.Msg)
		// wantA is shop's address after Sync, which desires 192.0.2.2.
		wantA         string
		wantConflicts int
	}{{
		name:  "another owner takes the name over",
		owned: true,
		race: func(m *dns.Msg) {
			m.RemoveRRset([]dns.RR{&dns.TXT{Hdr: dns.RR_Header{Name: "_ic-owner." + shop, Rrtype: dns.TypeTXT}}, &dns.A{Hdr: dns.RR_Header{Name: shop, Rrtype: dns.TypeA}}})
			m.Insert([]dns.RR{
				&dns.TXT{Hdr: dns.RR_Header{Name: "_ic-owner." + shop, Rrtype: dns.TypeTXT, Ttl: 60}, Txt: []string{dnssync.OwnerText(other)}},
				&dns.A{Hdr: dns.RR_Header{Name: shop, Rrtype: dns.TypeA, Ttl: 60}, A: netip.MustParseAddr("192.0.2.99").AsSlice()},
			})
		},
		wantA:         "192.0.2.99",
		wantConflicts: 1,
	}, {
		name: "someone creates the name we claim",
		race: func(m *dns.Msg) {
			m.Insert([]dns.RR{&dns.A{Hdr: dns.RR_Header{Name: shop, Rrtype: dns.TypeA, Ttl: 60}, A: netip.MustParseAddr("192.0.2.98").AsSlice()}})
		},
		wantA:         "192.0.2.98",
		wantConflicts: 1,
	}, {
		name:  "an older version of us rewrites the owner record: ours, applied on the retry",
		owned: true,
		race: func(m *dns.Msg) {
			m.RemoveRRset([]dns.RR{&dns.TXT{Hdr: dns.RR_Header{Name: "_ic-owner." + shop, Rrtype: dns.TypeTXT}}})
			m.Insert([]dns.RR{&dns.TXT{Hdr: dns.RR_Header{Name: "_ic-owner." + shop, Rrtype: dns.TypeTXT, Ttl: 60}, Txt: []string{dnssync.OwnerText(owner) + ",lb=shop"}}})
		},
		wantA: "192.0.2.2",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			s := bindtest.Start(t, bindtest.Options{})
			var sent atomic.Int32
			b := backend(t, s, bindtest.Key, &sent)
			if tc.owned {
				mustSync(t, syncer(t, b, owner), desired(rec(shop, "192.0.2.1")))
				sent.Store(0)
			}
			r := &racing{Backend: b, before: func() { s.MustUpdate(t, bindtest.OtherKey, tc.race) }}
			res := mustSync(t, syncer(t, r, owner), desired(rec(shop, "192.0.2.2")))
			if res.Attempts != 2 {
				t.Errorf("Sync took %d attempts, want 2: the first apply must fail its prerequisites", res.Attempts)
			}
			if len(res.Changes.Conflicts) != tc.wantConflicts {
				t.Errorf("conflicts %+v, want %d", res.Changes.Conflicts, tc.wantConflicts)
			}
			if want := int32(1 + 1 - tc.wantConflicts); sent.Load() != want {
				t.Errorf("%d UPDATE messages, want %d", sent.Load(), want)
			}
			wantLookup(t, s, shop, dns.TypeA, tc.wantA)
		})
	}
}

// TestStaleUpdateAppliesNothing applies a plan made before someone changed
// an owner record: the whole message is refused, also the change of a name
// nobody touched.
func TestStaleUpdateAppliesNothing(t *testing.T) {
	s := bindtest.Start(t, bindtest.Options{})
	b := backend(t, s, bindtest.Key, nil)
	mustSync(t, syncer(t, b, owner), desired(rec("shop.example.test", "192.0.2.1")))
	current, err := b.Read(context.Background(), zone)
	if err != nil {
		t.Fatal(err)
	}
	plan := dnssync.Plan(current, desired(rec("shop.example.test", "192.0.2.2"), rec("cart.example.test", "192.0.2.3")), owner)
	s.MustUpdate(t, bindtest.OtherKey, func(m *dns.Msg) {
		m.RemoveRRset([]dns.RR{&dns.TXT{Hdr: dns.RR_Header{Name: "_ic-owner.shop.example.test.", Rrtype: dns.TypeTXT}}})
	})
	serial := s.Serial(t)

	err = b.Apply(context.Background(), plan)
	var re *ResponseError
	if !errors.Is(err, dnssync.ErrConflict) || !errors.As(err, &re) || re.Rcode != dns.RcodeNXRrset {
		t.Fatalf("Apply of a stale plan: %v; want NXRRSET, a dnssync.ErrConflict", err)
	}
	t.Logf("Apply: %v", err)
	if s.Serial(t) != serial {
		t.Error("the zone changed")
	}
	wantLookup(t, s, "shop.example.test", dns.TypeA, "192.0.2.1")
	wantLookup(t, s, "cart.example.test", dns.TypeA)
}

func TestServerDown(t *testing.T) {
	s := bindtest.Start(t, bindtest.Options{})
	b := backend(t, s, bindtest.Key, nil)
	s.Stop(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err := syncer(t, b, owner).Sync(ctx, desired(rec("shop.example.test", "192.0.2.1")))
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("Sync with the server down: %v after %s; want an error within the 2 s deadline", err, time.Since(start))
	}
	t.Logf("Sync: %v (after %s)", err, time.Since(start).Round(time.Millisecond))
}

// TestInvalidEntriesAreNeverSent looks at every message sent: only the
// valid entry's names are in it.
func TestInvalidEntriesAreNeverSent(t *testing.T) {
	s := bindtest.Start(t, bindtest.Options{})
	b := backend(t, s, bindtest.Key, nil)
	var names []string
	send := b.exchange
	b.exchange = func(ctx context.Context, m *dns.Msg) (*dns.Msg, error) {
		for _, rr := range slices.Concat(m.Answer, m.Ns) {
			names = append(names, rr.Header().Name)
		}
		return send(ctx, m)
	}
	before := zoneRecords(t, b)
	res := mustSync(t, syncer(t, b, owner), desired(
		rec("shop.example.test", "192.0.2.1"),
		rec("shop.example.org", "192.0.2.1"),
		rec("bad_name.example.test", "192.0.2.1"),
		rec("www.example.test", "192.0.2.1", "0.0.0.0"),
		dnssync.Record{Name: "both.example.test", Addresses: []netip.Addr{netip.MustParseAddr("192.0.2.1")}, CNAME: "shop.example.test"},
	))
	if len(res.Changes.Invalid) != 4 || res.Changes.Summary() != "1 create" {
		t.Errorf("Sync: %s, invalid %+v; want 1 create and 4 invalid", res.Changes.Summary(), res.Changes.Invalid)
	}
	for _, n := range names {
		if n != "shop.example.test." && n != "_ic-owner.shop.example.test." {
			t.Errorf("sent a record at %s", n)
		}
	}
	want := append(slices.Clone(before), "_ic-owner.shop.example.test. 60 TXT "+dnssync.OwnerText(owner), "shop.example.test. 60 A 192.0.2.1")
	if got := zoneRecords(t, b); !equalSorted(got, want) {
		t.Errorf("zone:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// manyNames desires n names with an A and an AAAA record each.
func manyNames(n int, last byte) dnssync.Desired {
	d := desired()
	for i := range n {
		d.Records = append(d.Records, dnssync.Record{Name: fmt.Sprintf("lb-%04d.example.test", i), Addresses: []netip.Addr{
			netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}),
			netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: last}),
		}})
	}
	return d
}

func TestManyNamesInOneUpdate(t *testing.T) {
	s := bindtest.Start(t, bindtest.Options{})
	var sent atomic.Int32
	b := backend(t, s, bindtest.Key, &sent)
	sy := syncer(t, b, owner)
	for i, last := range []byte{1, 2} {
		serial := s.Serial(t)
		sent.Store(0)
		res := mustSync(t, sy, manyNames(200, last))
		if len(res.Changes.Names) != 200 || sent.Load() != 1 || s.Serial(t) != serial+1 {
			t.Errorf("Sync %d of 200 names: %s in %d UPDATE messages, serial %d -> %d; want one message, one serial",
				i+1, res.Changes.Summary(), sent.Load(), serial, s.Serial(t))
		}
		wantLookup(t, s, "lb-0199.example.test", dns.TypeAAAA, fmt.Sprintf("2001:db8::%d", last))
	}
}

// TestPlanLargerThanAMessage syncs so many names that the changes exceed
// a DNS message: they go in a few UPDATE messages, and the zone transfer
// of the result takes several messages, each signed.
var axfrMessages = regexp.MustCompile(`AXFR ended: (\d+) messages`)

func TestPlanLargerThanAMessage(t *testing.T) {
	const n = 1500
	s := bindtest.Start(t, bindtest.Options{})
	var sent atomic.Int32
	b := backend(t, s, bindtest.Key, &sent)
	sy := syncer(t, b, owner)
	before := zoneRecords(t, b)

	res := mustSync(t, sy, manyNames(n, 1))
	msgs, err := updates(zone, res.Changes.Names)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) < 2 || sent.Load() != int32(len(msgs)) {
		t.Errorf("%d names went in %d messages (planned %d), want more than one", n, sent.Load(), len(msgs))
	}
	records := zoneRecords(t, b)
	if len(records) != len(before)+3*n {
		t.Errorf("zone has %d records, want %d", len(records), len(before)+3*n)
	}
	most := 0
	for _, m := range axfrMessages.FindAllStringSubmatch(s.Log(), -1) {
		n, _ := strconv.Atoi(m[1])
		most = max(most, n)
	}
	if most < 2 {
		t.Errorf("the largest zone transfer in named's log took %d messages, want several", most)
	}
	t.Logf("%d names: %d UPDATE messages; the zone transfer took %d messages", n, sent.Load(), most)
	wantLookup(t, s, "lb-1499.example.test", dns.TypeA, "198.51.5.219")

	mustSync(t, sy, desired())
	if got := zoneRecords(t, b); !slices.Equal(got, before) {
		t.Errorf("after removing every name the zone has %d records, want %d", len(got), len(before))
	}
}

func TestWildcardAndCNAME(t *testing.T) {
	s := bindtest.Start(t, bindtest.Options{})
	b := backend(t, s, bindtest.Key, nil)
	sy := syncer(t, b, owner)
	before := zoneRecords(t, b)

	mustSync(t, sy, desired(
		rec("*.apps.example.test", "192.0.2.7"),
		rec("shop.example.test", "192.0.2.1"),
		dnssync.Record{Name: "www.example.test", CNAME: "shop.example.test"},
	))
	wantLookup(t, s, "anything.apps.example.test", dns.TypeA, "192.0.2.7")
	wantLookup(t, s, "_ic-owner.*.apps.example.test", dns.TypeTXT, ownerTXT(owner))
	wantLookup(t, s, "www.example.test", dns.TypeCNAME, "shop.example.test.")
	wantLookup(t, s, "www.example.test", dns.TypeA, "192.0.2.1")

	// Addresses and alias trade places.
	mustSync(t, sy, desired(
		rec("*.apps.example.test", "192.0.2.7"),
		dnssync.Record{Name: "shop.example.test", CNAME: "lb.example.net"},
		rec("www.example.test", "192.0.2.5"),
	))
	wantLookup(t, s, "shop.example.test", dns.TypeCNAME, "lb.example.net.")
	wantLookup(t, s, "www.example.test", dns.TypeCNAME)
	wantLookup(t, s, "www.example.test", dns.TypeA, "192.0.2.5")

	mustSync(t, sy, desired())
	if got := zoneRecords(t, b); !slices.Equal(got, before) {
		t.Errorf("zone after removing every name:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(before, "\n"))
	}
}
