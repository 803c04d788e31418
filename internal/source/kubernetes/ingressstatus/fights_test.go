package ingressstatus

import (
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/types"
)

func ips(a ...string) []networkingv1.IngressLoadBalancerIngress {
	var st []networkingv1.IngressLoadBalancerIngress
	for _, ip := range a {
		st = append(st, networkingv1.IngressLoadBalancerIngress{IP: ip})
	}
	return st
}

func TestFights(t *testing.T) {
	k := types.NamespacedName{Namespace: "ns", Name: "web"}
	ours, theirs, other := ips("192.0.2.1"), ips("203.0.113.9"), ips("203.0.113.10")
	f := &Fights{Base: time.Second, Max: 8 * time.Second}
	t0 := time.Unix(1000, 0)

	// Never written: nothing to compare with, write at once.
	if wait, c := f.Check(k, theirs, ours, t0); wait != 0 || c != nil {
		t.Fatalf("before any write: wait %v, conflict %v", wait, c)
	}
	f.Wrote(k, ours)
	// Our own status, or a change of what we want: no conflict.
	if wait, c := f.Check(k, ours, ips("192.0.2.2"), t0); wait != 0 || c != nil {
		t.Fatalf("our status: wait %v, conflict %v", wait, c)
	}
	// Someone else's, which happens to be what we want: no conflict.
	if wait, c := f.Check(k, theirs, theirs, t0); wait != 0 || c != nil {
		t.Fatalf("wanted status: wait %v, conflict %v", wait, c)
	}

	// A fight: each conflict doubles the wait, up to Max.
	now := t0
	for i, want := range []time.Duration{1, 2, 4, 8, 8, 8} {
		want *= time.Second
		wait, c := f.Check(k, theirs, ours, now)
		if c == nil || wait != want || c.Wait != want {
			t.Fatalf("conflict %d: wait %v, conflict %+v; want wait %v", i, wait, c, want)
		}
		if c.Report != (i == 0) {
			t.Errorf("conflict %d: Report = %v", i, c.Report)
		}
		if !Equal(c.Theirs, theirs) {
			t.Errorf("conflict %d: Theirs = %v", i, c.Theirs)
		}
		// Checked again before our write: the same conflict, not a new one.
		if wait2, c2 := f.Check(k, theirs, ours, now.Add(time.Millisecond)); c2 != nil || wait2 != want-time.Millisecond {
			t.Fatalf("conflict %d rechecked: wait %v, conflict %+v", i, wait2, c2)
		}
		now = now.Add(want)
		if wait, _ := f.Check(k, theirs, ours, now); wait != 0 {
			t.Fatalf("conflict %d: still waiting %v after the wait", i, wait)
		}
		f.Wrote(k, ours)
	}
	// A new foreign status is reported again.
	if _, c := f.Check(k, other, ours, now); c == nil || !c.Report {
		t.Fatalf("new foreign status: conflict %+v, want reported", c)
	}
	now = now.Add(8 * time.Second)
	f.Wrote(k, ours)

	// The status stayed ours for more than four waits: the next conflict
	// starts from Base again.
	now = now.Add(33 * time.Second)
	if wait, c := f.Check(k, other, ours, now); c == nil || wait != time.Second {
		t.Fatalf("after a calm: wait %v, conflict %+v; want a fresh 1s", wait, c)
	}

	f.Keep(func(types.NamespacedName) bool { return false })
	if f.Len() != 0 {
		t.Errorf("Keep kept %d", f.Len())
	}
}
