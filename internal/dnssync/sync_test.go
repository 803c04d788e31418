package dnssync

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// memZone is a Backend that keeps a zone in memory and applies Changes as
// an RFC 2136 server applies one UPDATE: every precondition is checked
// first, and a failed one applies nothing. It tests Sync's loop; the rfc2136
// package tests the real thing against BIND.
type memZone struct {
	rrs            []RR
	reads, applies int
	// beforeApply, if set, runs at the start of every Apply: someone
	// else's change between read and apply.
	beforeApply func(z *memZone)
	applyErr    error
}

func (z *memZone) Read(ctx context.Context, zone string) ([]RR, error) {
	z.reads++
	return slices.Clone(z.rrs), nil
}

func (z *memZone) Apply(ctx context.Context, changes Changes) error {
	z.applies++
	if z.beforeApply != nil {
		z.beforeApply(z)
	}
	if z.applyErr != nil {
		return z.applyErr
	}
	for _, ch := range changes.Names {
		if ch.Op == Create {
			if z.used(ch.Name) || z.used(OwnerName(ch.Name)) {
				return fmt.Errorf("%s: YXDOMAIN: %w", ch.Name, ErrConflict)
			}
			continue
		}
		if texts := z.texts(OwnerName(ch.Name)); !slices.EqualFunc(texts, [][]string{{ch.Held}}, slices.Equal) {
			return fmt.Errorf("%s: NXRRSET: %w", ch.Name, ErrConflict)
		}
	}
	for _, ch := range changes.Names {
		for _, t := range ch.Remove {
			z.remove(ch.Name, t)
		}
		for _, s := range ch.Set {
			z.remove(ch.Name, s.Type)
			for _, d := range s.Data {
				z.rrs = append(z.rrs, RR{Name: ch.Name, Type: s.Type, TTL: ch.TTL, Data: d})
			}
		}
		if ch.Op == Delete {
			z.remove(OwnerName(ch.Name), TypeTXT)
		}
		if ch.Owner != "" {
			z.remove(OwnerName(ch.Name), TypeTXT)
			z.rrs = append(z.rrs, RR{Name: OwnerName(ch.Name), Type: TypeTXT, TTL: ch.TTL, Text: []string{ch.Owner}})
		}
	}
	return nil
}

func (z *memZone) used(name string) bool {
	return slices.ContainsFunc(z.rrs, func(rr RR) bool { return sameName(rr.Name, name) })
}

func (z *memZone) texts(name string) [][]string {
	var out [][]string
	for _, rr := range z.rrs {
		if sameName(rr.Name, name) && rr.Type == TypeTXT {
			out = append(out, rr.Text)
		}
	}
	return out
}

func (z *memZone) remove(name string, t Type) {
	z.rrs = slices.DeleteFunc(z.rrs, func(rr RR) bool { return sameName(rr.Name, name) && rr.Type == t })
}

// sameName compares names as DNS does: case-insensitive, and a name read
// without its last dot is absolute all the same.
func sameName(a, b string) bool { return strings.EqualFold(absolute(a), absolute(b)) }

func shopAt(addr ...string) Desired {
	return Desired{Zone: zone, Records: []Record{{Name: "shop.example.test.", Addresses: addrs(addr...)}}}
}

func TestSyncConverges(t *testing.T) {
	z := &memZone{rrs: apex}
	s, err := NewSyncer(z, me)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Sync(context.Background(), shopAt("192.0.2.1"))
	if err != nil || res.Attempts != 1 || res.Changes.Summary() != "1 create" {
		t.Fatalf("first Sync = %+v, %v; want 1 create in 1 attempt", res, err)
	}
	res, err = s.Sync(context.Background(), shopAt("192.0.2.1"))
	if err != nil || res.Attempts != 1 || len(res.Changes.Names) != 0 || z.applies != 1 {
		t.Fatalf("second Sync = %+v, %v after %d applies; want nothing applied", res, err, z.applies)
	}
	if _, err := s.Sync(context.Background(), Desired{Zone: zone}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(z.rrs, apex) {
		t.Errorf("after removing every name the zone holds %+v, want only %+v", z.rrs, apex)
	}
}

func TestSyncRetriesOnConflict(t *testing.T) {
	z := &memZone{rrs: []RR{rrA("shop.example.test.", "192.0.2.1"), rrOwner("shop.example.test.", me)}}
	s, _ := NewSyncer(z, me)
	// Between the read and the apply, another controller takes the name.
	z.beforeApply = func(z *memZone) {
		z.beforeApply = nil
		z.remove("_ic-owner.shop.example.test.", TypeTXT)
		z.rrs = append(z.rrs, rrOwner("shop.example.test.", them))
	}
	res, err := s.Sync(context.Background(), shopAt("192.0.2.2"))
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if res.Attempts != 2 || z.reads != 2 || z.applies != 1 {
		t.Errorf("Sync took %d attempts, %d reads, %d applies; want 2, 2, 1", res.Attempts, z.reads, z.applies)
	}
	if len(res.Changes.Conflicts) != 1 || res.Changes.Conflicts[0].Owner != them {
		t.Errorf("after the retry Sync reports conflicts %+v, want the name held by %s", res.Changes.Conflicts, them)
	}
	if !slices.ContainsFunc(z.rrs, func(rr RR) bool { return reflect.DeepEqual(rr, rrA("shop.example.test.", "192.0.2.1")) }) {
		t.Errorf("the name someone else took was changed: %+v", z.rrs)
	}
}

func TestSyncGivesUpAfterTwoConflicts(t *testing.T) {
	z := &memZone{}
	// Someone claims every name just before we do.
	z.beforeApply = func(z *memZone) { z.rrs = []RR{rrA("shop.example.test.", "192.0.2.9")} }
	s, _ := NewSyncer(racer{z}, me)
	res, err := s.Sync(context.Background(), shopAt("192.0.2.1"))
	if !errors.Is(err, ErrConflict) || res.Attempts != 2 {
		t.Fatalf("Sync = %+v, %v; want ErrConflict after 2 attempts", res, err)
	}
}

// racer reads a zone that is always empty, so every plan is a Create that
// the changing zone refuses.
type racer struct{ *memZone }

func (r racer) Read(ctx context.Context, zone string) ([]RR, error) {
	r.reads++
	return nil, nil
}

func TestSyncErrors(t *testing.T) {
	boom := errors.New("REFUSED")
	z := &memZone{applyErr: boom}
	s, _ := NewSyncer(z, me)
	res, err := s.Sync(context.Background(), shopAt("192.0.2.1"))
	if !errors.Is(err, boom) || res.Attempts != 1 || z.applies != 1 {
		t.Errorf("Sync = %+v, %v after %d applies; want the apply error at once", res, err, z.applies)
	}
	if want := "zone example.test.: apply 1 create: REFUSED"; err == nil || err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if _, err := s.Sync(context.Background(), Desired{Zone: "a..b"}); err == nil || z.reads != 1 {
		t.Errorf("Sync of an invalid zone = %v after %d reads; want an error before any read", err, z.reads)
	}
	if _, err := NewSyncer(z, "a b"); err == nil {
		t.Error("NewSyncer with owner id \"a b\" succeeded")
	}
}
