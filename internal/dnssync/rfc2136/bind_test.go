package rfc2136

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
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
