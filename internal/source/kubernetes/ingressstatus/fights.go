package ingressstatus

import (
	"slices"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Fights remembers, per Ingress, the status we last wrote, and backs off
// writing to an Ingress whose status someone else keeps replacing: a
// status that differs both from what we last wrote and from what we want
// was written by another writer since our write. Each such conflict
// doubles the wait before our next write, from Base up to Max.
//
// A conflict that comes more than four times the current wait after the
// previous one starts again from Base: the status stayed ours that long,
// so the fight was over. Four, not two, because two writers that both back
// off take turns, and each sees a conflict only every two waits.
//
// A change of what we want does not end a fight: a writer whose addresses
// churn would otherwise fight at full rate. Without conflicts nothing
// waits.
type Fights struct {
	Base, Max time.Duration

	m map[types.NamespacedName]*fight
}

type fight struct {
	wrote    []networkingv1.IngressLoadBalancerIngress
	counted  bool // the conflict after our last write was counted
	wait     time.Duration
	last     time.Time // of the last conflict
	until    time.Time // no write before
	reported string    // foreign status last reported
	reportAt time.Time
}

// Conflict describes another writer's status found on an Ingress.
type Conflict struct {
	// Theirs is the status the other writer left.
	Theirs []networkingv1.IngressLoadBalancerIngress
	// Wait is how long we now wait before writing again.
	Wait time.Duration
	// Report is true for the first conflict of a fight, when the other
	// writer's status changed, and again after 12 Max (an hour with a
	// 5-minute Max, the Events' default lifetime) during a long fight:
	// when to warn, so that a fight does not flood the log and Events.
	Report bool
}

// Wrote records that we wrote st to the Ingress k.
func (f *Fights) Wrote(k types.NamespacedName, st []networkingv1.IngressLoadBalancerIngress) {
	if f.m == nil {
		f.m = map[types.NamespacedName]*fight{}
	}
	e := f.m[k]
	if e == nil {
		e = &fight{}
		f.m[k] = e
	}
	e.wrote, e.counted = slices.Clone(st), false
}

// Check is called before writing want over cur, the Ingress's status now.
// It returns how long to wait before writing (zero: write now) and, when
// cur is another writer's status seen for the first time since our last
// write, the conflict.
func (f *Fights) Check(k types.NamespacedName, cur, want []networkingv1.IngressLoadBalancerIngress, now time.Time) (time.Duration, *Conflict) {
	e := f.m[k]
	if e == nil {
		return 0, nil
	}
	var c *Conflict
	if !e.counted && !Equal(cur, e.wrote) && !Equal(cur, want) {
		e.counted = true
		if e.wait == 0 || now.Sub(e.last) > 4*e.wait {
			e.wait = f.Base
		} else {
			e.wait = min(2*e.wait, f.Max)
		}
		e.last, e.until = now, now.Add(e.wait)
		c = &Conflict{Theirs: slices.Clone(cur), Wait: e.wait}
		if key := Key(cur); key != e.reported || now.Sub(e.reportAt) >= 12*f.Max {
			c.Report, e.reported, e.reportAt = true, key, now
		}
	}
	if wait := e.until.Sub(now); wait > 0 {
		return wait, c
	}
	return 0, c
}

// Keep forgets the Ingresses for which keep is false.
func (f *Fights) Keep(keep func(types.NamespacedName) bool) {
	for k := range f.m {
		if !keep(k) {
			delete(f.m, k)
		}
	}
}

// Len is the number of Ingresses remembered.
func (f *Fights) Len() int { return len(f.m) }
