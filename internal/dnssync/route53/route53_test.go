package route53

import (
	"context"
	"errors"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"ingress-controller/internal/dnssync"
)

const (
	testKey    = "AKIDEXAMPLETEST"
	testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	zoneName   = "example.test."
	zoneID     = "Z0EXAMPLETEST"
	me         = "cluster-a"
	them       = "cluster-b"
)

func exampleZone() *fakeZone { return &fakeZone{id: zoneID, name: zoneName} }

// newBackend returns a Backend on f's zone with the test's credentials and
// retries a millisecond apart.
func newBackend(t *testing.T, f *fakeRoute53, opts Options) *Backend {
	t.Helper()
	opts.Endpoint = f.srv.URL
	if opts.Config == nil {
		opts.Config = &aws.Config{Credentials: credentials.NewStaticCredentialsProvider(testKey, testSecret, "")}
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = time.Millisecond
	}
	b, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newSyncer(t *testing.T, b dnssync.Backend, owner string) *dnssync.Syncer {
	t.Helper()
	s, err := dnssync.NewSyncer(b, owner)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

func desired(records ...dnssync.Record) dnssync.Desired {
	return dnssync.Desired{Zone: zoneName, Records: records}
}

func shopAt(addr ...string) dnssync.Desired {
	return desired(dnssync.Record{Name: "shop.example.test", Addresses: addrs(addr...)})
}

// sets renders a zone's record sets but the apex's, one line each:
// "shop.example.test. A 60 192.0.2.1 192.0.2.2".
func sets(f *fakeRoute53) []string {
	var out []string
	for _, s := range f.snapshot(zoneID) {
		if s.name == zoneName {
			continue
		}
		line := escapeName(s.name) + " " + s.typ + " " + strconv.FormatInt(s.ttl, 10)
		vals := slices.Clone(s.values)
		slices.Sort(vals)
		for _, v := range vals {
			line += " " + v
		}
		out = append(out, line)
	}
	return out
}

func mustSync(t *testing.T, s *dnssync.Syncer, d dnssync.Desired) dnssync.Result {
	t.Helper()
	res, err := s.Sync(context.Background(), d)
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	return res
}

func wantSets(t *testing.T, f *fakeRoute53, want ...string) {
	t.Helper()
	if got := sets(f); !reflect.DeepEqual(got, want) {
		t.Errorf("the zone holds\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

const ownerA = `"heritage=ingress-controller,owner=cluster-a"`

func TestSyncCreatesUpdatesDeletes(t *testing.T) {
	f := newFake(t, exampleZone())
	b := newBackend(t, f, Options{HostedZoneID: "/hostedzone/" + zoneID})
	s := newSyncer(t, b, me)

	shop := dnssync.Record{Name: "shop.example.test", Addresses: addrs("192.0.2.1", "2001:db8::1")}
	www := dnssync.Record{Name: "www.example.test", CNAME: "shop.example.test"}
	apps := dnssync.Record{Name: "*.apps.example.test", Addresses: addrs("192.0.2.9")}
	res := mustSync(t, s, desired(shop, www, apps))
	if res.Changes.Summary() != "3 create" || f.count("ChangeResourceRecordSets") != 1 {
		t.Fatalf("first Sync: %s in %d requests, want 3 create in 1", res.Changes.Summary(), f.count("ChangeResourceRecordSets"))
	}
	wantSets(t, f,
		`\052.apps.example.test. A 60 192.0.2.9`,
		`_ic-owner.\052.apps.example.test. TXT 60 `+ownerA,
		`shop.example.test. A 60 192.0.2.1`,
		`shop.example.test. AAAA 60 2001:db8::1`,
		`_ic-owner.shop.example.test. TXT 60 `+ownerA,
		`www.example.test. CNAME 60 shop.example.test.`,
		`_ic-owner.www.example.test. TXT 60 `+ownerA,
	)

	// Read back, wildcard and all, the zone is as desired.
	res = mustSync(t, s, desired(shop, www, apps))
	if len(res.Changes.Names) != 0 || f.count("ChangeResourceRecordSets") != 1 {
		t.Fatalf("second Sync planned %+v; want nothing", res.Changes.Names)
	}

	// The addresses move: the owner record is deleted as held and created
	// again around an UPSERT, in one request.
	shop.Addresses = addrs("192.0.2.1", "192.0.2.2", "2001:db8::1")
	res = mustSync(t, s, desired(shop, www, apps))
	if res.Changes.Summary() != "1 update" || f.count("ChangeResourceRecordSets") != 2 {
		t.Fatalf("third Sync: %s in %d requests in all, want 1 update in 2", res.Changes.Summary(), f.count("ChangeResourceRecordSets"))
	}
	var actions []string
	for _, c := range f.batches[1] {
		actions = append(actions, c.Action+" "+c.Set.Type)
	}
	if want := []string{"DELETE TXT", "UPSERT A", "CREATE TXT"}; !slices.Equal(actions, want) {
		t.Errorf("the update sent %v, want %v", actions, want)
	}

	// shop becomes an alias: its addresses go, in the same request.
	shop = dnssync.Record{Name: "shop.example.test", CNAME: "lb.example.net"}
	mustSync(t, s, desired(shop, www, apps))
	wantSets(t, f,
		`\052.apps.example.test. A 60 192.0.2.9`,
		`_ic-owner.\052.apps.example.test. TXT 60 `+ownerA,
		`shop.example.test. CNAME 60 lb.example.net.`,
		`_ic-owner.shop.example.test. TXT 60 `+ownerA,
		`www.example.test. CNAME 60 shop.example.test.`,
		`_ic-owner.www.example.test. TXT 60 `+ownerA,
	)

	// A new TTL rewrites every set and the owner record.
	d := desired(shop, www, apps)
	d.TTL = 30
	mustSync(t, s, d)
	for _, line := range sets(f) {
		if !strings.Contains(line, " 30 ") {
			t.Errorf("after the TTL change: %s", line)
		}
	}

	// Nothing desired: every name goes with its owner record.
	res = mustSync(t, s, desired())
	if res.Changes.Summary() != "3 delete" {
		t.Errorf("last Sync: %s, want 3 delete", res.Changes.Summary())
	}
	wantSets(t, f)
	if n := f.count("ChangeResourceRecordSets"); n != 5 {
		t.Errorf("%d change requests for 5 Syncs that changed something, want 5", n)
	}
}

func TestSyncLeavesOthersNamesAlone(t *testing.T) {
	f := newFake(t, exampleZone())
	f.put(zoneID, fakeSet{name: "shop.example.test.", typ: "A", ttl: 300, values: []string{"198.51.100.7"}})
	f.put(zoneID, fakeSet{name: "mail.example.test.", typ: "MX", ttl: 300, values: []string{"10 mx.example.net."}})
	b := newBackend(t, f, Options{HostedZoneID: zoneID})
	s := newSyncer(t, b, me)

	res := mustSync(t, s, desired(
		dnssync.Record{Name: "shop.example.test", Addresses: addrs("192.0.2.1")},
		dnssync.Record{Name: "mail.example.test", Addresses: addrs("192.0.2.1")},
	))
	if len(res.Changes.Names) != 0 || len(res.Changes.Conflicts) != 2 {
		t.Errorf("Sync planned %+v with conflicts %v; want two conflicts and nothing else", res.Changes.Names, res.Changes.Conflicts)
	}
	if n := f.count("ChangeResourceRecordSets"); n != 0 {
		t.Errorf("%d change requests, want none", n)
	}
	wantSets(t, f,
		`mail.example.test. MX 300 10 mx.example.net.`,
		`shop.example.test. A 300 198.51.100.7`,
	)
}

func TestSyncTwoOwnersShareAZone(t *testing.T) {
	f := newFake(t, exampleZone())
	a := newSyncer(t, newBackend(t, f, Options{HostedZoneID: zoneID}), me)
	b := newSyncer(t, newBackend(t, f, Options{HostedZoneID: zoneID}), them)
	shop := dnssync.Record{Name: "shop.example.test", Addresses: addrs("192.0.2.1")}
	cart := dnssync.Record{Name: "cart.example.test", Addresses: addrs("192.0.2.2")}

	mustSync(t, a, desired(shop))
	res := mustSync(t, b, desired(dnssync.Record{Name: shop.Name, Addresses: addrs("203.0.113.1")}, cart))
	if len(res.Changes.Conflicts) != 1 || res.Changes.Conflicts[0].Owner != me || res.Changes.Summary() != "1 create" {
		t.Fatalf("%s's Sync: %s, conflicts %v; want cart created and shop held by %s", them, res.Changes.Summary(), res.Changes.Conflicts, me)
	}
	// Each removes what it owns, and only that.
	mustSync(t, b, desired())
	wantSets(t, f,
		`shop.example.test. A 60 192.0.2.1`,
		`_ic-owner.shop.example.test. TXT 60 `+ownerA,
	)
	mustSync(t, a, desired())
	wantSets(t, f)
}

func TestSyncReplansAfterAConcurrentChange(t *testing.T) {
	f := newFake(t, exampleZone())
	b := newBackend(t, f, Options{HostedZoneID: zoneID})
	s := newSyncer(t, b, me)
	shop := dnssync.Record{Name: "shop.example.test", Addresses: addrs("192.0.2.1")}
	mustSync(t, s, desired(shop))

	// Between our read and our apply, another controller takes shop over.
	theirs := `"heritage=ingress-controller,owner=cluster-b"`
	f.beforeChange = func(f *fakeRoute53) {
		f.zone(zoneID).putLocked(fakeSet{name: "_ic-owner.shop.example.test.", typ: "TXT", ttl: 60, values: []string{theirs}})
	}
	shop.Addresses = addrs("192.0.2.2")
	cart := dnssync.Record{Name: "cart.example.test", Addresses: addrs("192.0.2.3")}
	res := mustSync(t, s, desired(shop, cart))
	if res.Attempts != 2 || f.count("ListResourceRecordSets") == 0 || f.count("ChangeResourceRecordSets") != 3 {
		t.Errorf("Sync took %d attempts and %d change requests in all; want 2 attempts, and 3 requests", res.Attempts, f.count("ChangeResourceRecordSets"))
	}
	if len(res.Changes.Conflicts) != 1 || res.Changes.Conflicts[0].Owner != them {
		t.Errorf("after the retry: conflicts %v, want shop held by %s", res.Changes.Conflicts, them)
	}
	// The failed request applied nothing, not even cart: the second did.
	wantSets(t, f,
		`cart.example.test. A 60 192.0.2.3`,
		`_ic-owner.cart.example.test. TXT 60 `+ownerA,
		`shop.example.test. A 60 192.0.2.1`,
		`_ic-owner.shop.example.test. TXT 60 `+theirs,
	)

	// A free name claimed by hand between read and apply: our CREATE fails.
	f.beforeChange = func(f *fakeRoute53) {
		f.zone(zoneID).putLocked(fakeSet{name: "new.example.test.", typ: "A", ttl: 300, values: []string{"198.51.100.1"}})
	}
	res = mustSync(t, s, desired(shop, cart, dnssync.Record{Name: "new.example.test", Addresses: addrs("192.0.2.4")}))
	if res.Attempts != 2 || len(res.Changes.Conflicts) != 2 || len(res.Changes.Names) != 0 {
		t.Errorf("Sync = %+v; want the new name a conflict after 2 attempts", res)
	}
}

func TestApplyWithoutTheReadItsPlanWasMadeFrom(t *testing.T) {
	f := newFake(t, exampleZone())
	s := newSyncer(t, newBackend(t, f, Options{HostedZoneID: zoneID}), me)
	shop := dnssync.Record{Name: "shop.example.test", Addresses: addrs("192.0.2.1")}
	mustSync(t, s, desired(shop))

	// Another Backend, which read nothing, is given an update.
	fresh := newBackend(t, f, Options{HostedZoneID: zoneID})
	err := fresh.Apply(context.Background(), dnssync.Changes{Zone: zoneName, Names: []dnssync.Change{{
		Op: dnssync.Update, Name: "shop.example.test.", Held: dnssync.OwnerText(me), TTL: 60,
		Set: []dnssync.RRset{{Type: dnssync.TypeA, Data: []string{"192.0.2.2"}}},
	}}})
	if !errors.Is(err, dnssync.ErrConflict) || f.count("ChangeResourceRecordSets") != 1 {
		t.Errorf("Apply = %v after %d change requests; want ErrConflict and nothing sent", err, f.count("ChangeResourceRecordSets"))
	}
}

func TestReadPaginates(t *testing.T) {
	f := newFake(t, exampleZone())
	f.pageSize = 1
	for _, name := range []string{"a", "*.b", "c", "*.d"} {
		f.put(zoneID, fakeSet{name: name + ".example.test.", typ: "A", ttl: 60, values: []string{"192.0.2.1"}})
	}
	b := newBackend(t, f, Options{HostedZoneID: zoneID})
	rrs, err := b.Read(context.Background(), zoneName)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, rr := range rrs {
		if rr.Type == dnssync.TypeA {
			names = append(names, rr.Name)
		}
	}
	want := []string{"a.example.test.", "*.b.example.test.", "c.example.test.", "*.d.example.test."}
	if !slices.Equal(names, want) {
		t.Errorf("Read found A records at %v, want %v", names, want)
	}
	// SOA, NS and four A: six sets, one a page, the wildcards among the
	// NextRecordNames.
	if n := f.count("ListResourceRecordSets"); n != 6 {
		t.Errorf("%d ListResourceRecordSets requests, want 6", n)
	}

	// The Syncer over pages of four.
	f.pageSize = 4
	s := newSyncer(t, b, me)
	var many []dnssync.Record
	for i := range 20 {
		many = append(many, dnssync.Record{Name: "host" + strconv.Itoa(i) + ".example.test", Addresses: addrs("192.0.2.1")})
	}
	mustSync(t, s, desired(many...))
	res := mustSync(t, s, desired(many...))
	if len(res.Changes.Names) != 0 {
		t.Errorf("after creating 20 names over pages, Sync planned %d changes again", len(res.Changes.Names))
	}
}

func TestReadAliasAndWeightedSets(t *testing.T) {
	f := newFake(t, exampleZone())
	f.put(zoneID, fakeSet{name: "cdn.example.test.", typ: "A", alias: "d111111abcdef8.cloudfront.net."})
	f.put(zoneID, fakeSet{name: "w.example.test.", typ: "A", ttl: 60, values: []string{"192.0.2.1"}, setID: "blue"})
	f.put(zoneID, fakeSet{name: "w.example.test.", typ: "A", ttl: 60, values: []string{"192.0.2.2"}, setID: "green"})
	s := newSyncer(t, newBackend(t, f, Options{HostedZoneID: zoneID}), me)
	res := mustSync(t, s, desired(
		dnssync.Record{Name: "cdn.example.test", Addresses: addrs("192.0.2.1")},
		dnssync.Record{Name: "w.example.test", Addresses: addrs("192.0.2.1")},
	))
	if len(res.Changes.Conflicts) != 2 || len(res.Changes.Names) != 0 {
		t.Errorf("Sync planned %+v, conflicts %v; want both names in use", res.Changes.Names, res.Changes.Conflicts)
	}
}

func TestApplySplitsAPlanLargerThanARequest(t *testing.T) {
	f := newFake(t, exampleZone())
	b := newBackend(t, f, Options{HostedZoneID: zoneID})
	// A create of one address is 2 records: 3 creates a request.
	b.limits = limits{records: 6, chars: 32000}
	s := newSyncer(t, b, me)
	var many []dnssync.Record
	for i := range 7 {
		many = append(many, dnssync.Record{Name: "host" + strconv.Itoa(i) + ".example.test", Addresses: addrs("192.0.2.1")})
	}
	mustSync(t, s, desired(many...))
	if n := f.count("ChangeResourceRecordSets"); n != 3 {
		t.Errorf("7 creates of 2 records, 6 records a request: %d requests, want 3", n)
	}
	if res := mustSync(t, s, desired(many...)); len(res.Changes.Names) != 0 {
		t.Errorf("Sync planned %d changes again", len(res.Changes.Names))
	}

	// A conflict in one request leaves the others applied. An update of
	// one address is 4 records (the UPSERT counts twice): 3 a request.
	b.limits = limits{records: 12, chars: 32000}
	f.beforeChange = func(f *fakeRoute53) {
		f.zone(zoneID).putLocked(fakeSet{name: "_ic-owner.host0.example.test.", typ: "TXT", ttl: 60, values: []string{`"someone else's"`}})
	}
	for i := range many {
		many[i].Addresses = addrs("192.0.2.2")
	}
	before := f.count("ChangeResourceRecordSets")
	err := b.Apply(context.Background(), dnssync.Plan(mustRead(t, b), desired(many...), me))
	if !errors.Is(err, dnssync.ErrConflict) || !strings.Contains(err.Error(), "request 1 of 3 (host0.example.test.") {
		t.Errorf("Apply = %v, want ErrConflict naming request 1 of 3", err)
	}
	if n := f.count("ChangeResourceRecordSets") - before; n != 3 {
		t.Errorf("%d requests after the conflict in the first, want all 3 sent", n)
	}
	if got := sets(f); !slices.Contains(got, "host6.example.test. A 60 192.0.2.2") || !slices.Contains(got, "host1.example.test. A 60 192.0.2.1") {
		t.Errorf("after a conflict in request 1 of 3 the zone holds %v; want host1 (request 1) unchanged and host6 (request 3) updated", got)
	}

	// One change larger than a request is refused before anything is sent.
	b.limits = limits{records: 3, chars: 32000}
	before = f.count("ChangeResourceRecordSets")
	err = b.Apply(context.Background(), dnssync.Plan(mustRead(t, b), desired(dnssync.Record{Name: "big.example.test", Addresses: addrs("192.0.2.1", "192.0.2.2", "192.0.2.3")}), me))
	if err == nil || !strings.Contains(err.Error(), "big.example.test.: the change has 4 records") || f.count("ChangeResourceRecordSets") != before {
		t.Errorf("Apply of a change of 4 records with 3 a request = %v; want it refused, unsent", err)
	}
}

func mustRead(t *testing.T, b *Backend) []dnssync.RR {
	t.Helper()
	rrs, err := b.Read(context.Background(), zoneName)
	if err != nil {
		t.Fatal(err)
	}
	return rrs
}

func TestHostedZoneByName(t *testing.T) {
	f := newFake(t, &fakeZone{id: "Z0A", name: "a.test."}, exampleZone(), &fakeZone{id: "Z0SUB", name: "sub.example.test."}, &fakeZone{id: "Z0Z", name: "z.test."})
	b := newBackend(t, f, Options{})
	s := newSyncer(t, b, me)
	mustSync(t, s, desired(dnssync.Record{Name: "shop.example.test", Addresses: addrs("192.0.2.1")}))
	mustSync(t, s, desired(dnssync.Record{Name: "shop.example.test", Addresses: addrs("192.0.2.1")}))
	if n := f.count("ListHostedZonesByName"); n != 1 {
		t.Errorf("%d ListHostedZonesByName requests for two Syncs, want 1", n)
	}
	if len(sets(f)) != 2 {
		t.Errorf("example.test. holds %v, want shop and its owner", sets(f))
	}

	if _, err := b.Read(context.Background(), "missing.test"); !errors.Is(err, ErrHostedZone) || !strings.Contains(err.Error(), "none named missing.test.") {
		t.Errorf("Read of a zone with no hosted zone = %v", err)
	}

	// A private zone of the same name.
	f.zones = append(f.zones, &fakeZone{id: "Z1PRIVATE", name: zoneName, private: true})
	b = newBackend(t, f, Options{})
	if _, err := b.Read(context.Background(), zoneName); !errors.Is(err, ErrHostedZone) || !strings.Contains(err.Error(), "set the hosted zone id") {
		t.Errorf("Read with two hosted zones of the name = %v; want one asking for the id", err)
	}

	// An id of another zone.
	b = newBackend(t, f, Options{HostedZoneID: "Z0SUB"})
	if _, err := b.Read(context.Background(), zoneName); !errors.Is(err, ErrHostedZone) || !strings.Contains(err.Error(), "no SOA record at example.test.") {
		t.Errorf("Read of example.test. in sub.example.test.'s hosted zone = %v", err)
	}
}
