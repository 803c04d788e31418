package kubernetes

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"ingress-controller/pkg/lbconfig"
)

// Assignment: which replicas serve a load balancer.
//
// A load balancer without a scale (lbconfig.LoadBalancer.Scale 0) is
// served by every replica. One with scale N is served by the N live
// replicas with the highest rendezvous weight for its name (Rendezvous),
// or by all of them when fewer are live. Every replica computes this from
// the replica Leases it watches, so all reach the same answer without
// talking to each other, and a replica that comes or goes moves only the
// load balancers it gains or held.
//
// The replicas counted are the live ones and this one. A replica that
// cannot renew its own Lease (cut off from the API server) stops counting:
// it keeps the replicas it last counted, so it goes on serving what it
// served, and does not take over the load balancers of replicas whose
// Leases it merely cannot see renewed. It counts again once its Lease is
// renewed and the watch has seen the renewal.
//
// A load balancer that moves away from this replica is handed over: it is
// still served and published until every replica it moved to says in its
// Lease that it serves it, so that it always has a published replica. Then
// it drains: served for Drain more but no longer published, so that the
// status stops listing this replica before its listeners close.

// DefaultAssignmentInterval is how often an Assignment checks its inputs
// besides when the replicas change: its own Lease's health and drains.
const DefaultAssignmentInterval = time.Second

// Rendezvous returns the n of replicas (names) that serve the load
// balancer lb: those with the highest weight for lb, in that order; every
// replica, so ordered, when n is 0 or at least their number.
func Rendezvous(lb string, n int, replicas []string) []string {
	type scored struct {
		name   string
		weight uint64
	}
	all := make([]scored, 0, len(replicas))
	for _, r := range slices.Compact(slices.Sorted(slices.Values(replicas))) {
		all = append(all, scored{r, rendezvousWeight(lb, r)})
	}
	slices.SortFunc(all, func(a, b scored) int {
		return cmp.Or(cmp.Compare(b.weight, a.weight), cmp.Compare(a.name, b.name))
	})
	if n > 0 && n < len(all) {
		all = all[:n]
	}
	out := make([]string, len(all))
	for i, s := range all {
		out[i] = s.name
	}
	return out
}

// rendezvousWeight is the weight of replica for lb: the first 8 bytes of
// SHA-256 over both, so that it is the same in every process and release.
func rendezvousWeight(lb, replica string) uint64 {
	h := sha256.New()
	h.Write([]byte(lb))
	h.Write([]byte{0})
	h.Write([]byte(replica))
	return binary.BigEndian.Uint64(h.Sum(nil))
}

// Assignment decides which load balancers this replica serves; see the
// comment above. Wire Assign to engine.Options.Assign and run Run.
type Assignment struct {
	// Self is this replica's name.
	Self string
	// Replicas are the replicas of this controller.
	Replicas *ReplicaWatch
	// Membership keeps this replica's Lease; its health decides whether
	// the replicas are counted anew.
	Membership *Membership
	// Drain is how long a load balancer that moved away is still served,
	// unpublished.
	Drain time.Duration
	// Changed is called when the assignment may have changed: wire it to
	// the engine's Trigger. It must not block.
	Changed func()
	// Interval defaults to DefaultAssignmentInterval.
	Interval time.Duration
	Logger   *slog.Logger

	mu       sync.Mutex
	counted  []string        // the replicas counted, sorted; nil before the first count
	served   map[string]bool // load balancers the last Assign kept
	assigned map[string]bool // load balancers the last Assign found assigned here
	// moving holds the load balancers that moved away and are still
	// served: zero while handed over (published until their new owners
	// serve them), else until when they drain (served, unpublished).
	moving  map[string]time.Time
	metrics *assignmentMetrics
}

type assignmentMetrics struct {
	alive    prometheus.Gauge
	assigned prometheus.Gauge
	changes  prometheus.Counter
}

// register registers every collector with reg, a nil reg none.
func register(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	if reg == nil {
		return nil
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// RegisterMetrics registers the assignment's gauges of live replicas and
// assigned load balancers, and its counter of assignment changes.
func (a *Assignment) RegisterMetrics(reg prometheus.Registerer) error {
	m := &assignmentMetrics{
		alive: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ingress_controller_replicas_alive",
			Help: "Replicas of this controller that this replica counts as live (itself included).",
		}),
		assigned: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ingress_controller_load_balancers_assigned",
			Help: "Load balancers assigned to this replica, not counting those it drains.",
		}),
		changes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ingress_controller_assignment_changes_total",
			Help: "Times the set of load balancers assigned to this replica changed.",
		}),
	}
	if err := register(reg, m.alive, m.assigned, m.changes); err != nil {
		return err
	}
	a.mu.Lock()
	a.metrics = m
	a.mu.Unlock()
	return nil
}

// Run counts the replicas whenever they change and every Interval, and
// calls Changed when the replicas counted change or a drain ends, until
// ctx ends.
func (a *Assignment) Run(ctx context.Context) error {
	wake := make(chan struct{}, 1)
	a.Replicas.Notify(func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	if err := a.Replicas.WaitForSync(ctx); err != nil {
		return nil
	}
	log := a.log()
	ticker := time.NewTicker(cmp.Or(a.Interval, DefaultAssignmentInterval))
	defer ticker.Stop()
	frozen, woken := false, false
	for {
		now := time.Now()
		healthy := a.healthy(now)
		switch {
		case !healthy && !frozen:
			log.Warn("own replica lease not renewed: keeping the load balancers this replica serves until it is")
		case healthy && frozen:
			log.Info("own replica lease renewed: counting the replicas again")
		}
		frozen = !healthy
		if a.count(now, healthy, log) || a.drainEnded(now) || woken {
			// Also when the replicas only changed what they serve: a
			// load balancer handed over may now drain.
			a.Changed()
		}
		woken = false
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
			woken = true
		case <-ticker.C:
		}
	}
}

// healthy reports whether this replica's Lease is renewed and the watch
// has seen that: only then do the live replicas it shows mean anything.
func (a *Assignment) healthy(now time.Time) bool {
	renewed, ok := a.Membership.Renewed(now)
	if !ok {
		return false
	}
	for _, r := range a.Replicas.Live(now) {
		if r.Name == a.Self {
			return !r.Expires.Before(renewed.Expires.Add(-renewed.Interval))
		}
	}
	return false
}

func (a *Assignment) log() *slog.Logger {
	return cmp.Or(a.Logger, slog.Default()).With("component", "assignment", "replica", a.Self)
}

// count sets the replicas counted, at first and then only when healthy,
// and reports whether they changed.
func (a *Assignment) count(now time.Time, healthy bool, log *slog.Logger) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !healthy && a.counted != nil {
		return false
	}
	return a.countLocked(now, log)
}

// countLocked counts this replica and the live ones, and reports whether
// that changed what was counted.
func (a *Assignment) countLocked(now time.Time, log *slog.Logger) bool {
	names := []string{a.Self}
	for _, r := range a.Replicas.Live(now) {
		names = append(names, r.Name)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if slices.Equal(names, a.counted) {
		return false
	}
	log.Info("replicas counted", "replicas", len(names), "names", names)
	a.counted = names
	if a.metrics != nil {
		a.metrics.alive.Set(float64(len(names)))
	}
	return true
}

// drainEnded reports whether a drain ended that Assign has not seen end.
func (a *Assignment) drainEnded(now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, until := range a.moving {
		if !until.IsZero() && !now.Before(until) {
			return true
		}
	}
	return false
}

// Assign returns the part of cfg this replica serves: the load balancers
// assigned to it, and those it hands over or drains. Call it once per
// reconcile.
func (a *Assignment) Assign(cfg *lbconfig.Config) *lbconfig.Config {
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.counted == nil {
		// Before Run's first count: the engine waits for the watch, so the
		// Leases are known.
		a.countLocked(now, a.log())
	}
	if a.moving == nil {
		a.moving = map[string]time.Time{}
	}
	live := map[string]Replica{}
	for _, r := range a.Replicas.Live(now) {
		live[r.Name] = r
	}
	keep := map[string]bool{}
	assigned := map[string]bool{}
	for _, lb := range cfg.LoadBalancers {
		owners := Rendezvous(lb.Name, int(lb.Scale), a.counted)
		if slices.Contains(owners, a.Self) {
			assigned[lb.Name], keep[lb.Name] = true, true
			delete(a.moving, lb.Name)
			continue
		}
		until, moving := a.moving[lb.Name]
		if !moving && !a.served[lb.Name] {
			continue // not ours, and never was
		}
		if until.IsZero() && handedOver(lb.Name, owners, live) {
			// The new owners serve it: stop publishing, drain, let go.
			until = now.Add(a.Drain)
		}
		if until.IsZero() || now.Before(until) {
			a.moving[lb.Name] = until
			keep[lb.Name] = true
		}
	}
	// Moves end when the load balancer leaves the config or is let go.
	maps.DeleteFunc(a.moving, func(name string, _ time.Time) bool { return !keep[name] || assigned[name] })
	if a.metrics != nil {
		if !maps.Equal(a.assigned, assigned) {
			a.metrics.changes.Inc()
		}
		a.metrics.assigned.Set(float64(len(assigned)))
	}
	a.served, a.assigned = keep, assigned
	return cfg.Select(func(lb lbconfig.LoadBalancer) bool { return keep[lb.Name] })
}

// handedOver reports whether every owner of lb, other replicas all, is
// live and says in its Lease that it serves lb.
func handedOver(lb string, owners []string, live map[string]Replica) bool {
	for _, o := range owners {
		if !live[o].Serving[lb] {
			return false
		}
	}
	return true
}

// Published reports whether this replica's Lease may say it serves the
// load balancer name: the last Assign kept it, and it does not drain it.
func (a *Assignment) Published(name string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.served[name] && a.moving[name].IsZero()
}

// WaitCounted returns once this replica's own Lease is renewed and seen
// by the watch, so that the first count includes every replica that
// started before it; or after wait (the replicas are then counted as the
// watch has them), or when ctx ends.
func (a *Assignment) WaitCounted(ctx context.Context, wait time.Duration) {
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for a.Replicas.WaitForSync(wctx) != nil || !a.healthy(time.Now()) {
		select {
		case <-wctx.Done():
			if ctx.Err() == nil {
				a.log().Warn("own replica lease not seen in time; counting the replicas as they are known", "waited", wait)
			}
			return
		case <-tick.C:
		}
	}
}
