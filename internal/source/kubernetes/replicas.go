package kubernetes

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	clientset "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// ReplicaWatch follows the replica Leases of one controller (see
// Membership) and tells its subscribers when the live replicas, or what
// they serve, change: when a Lease is written with something new, deleted,
// or runs out. Renewals alone tell nothing.
type ReplicaWatch struct {
	client                clientset.Interface
	namespace, electionID string
	log                   *slog.Logger

	kick   chan struct{}
	synced chan struct{}

	mu    sync.Mutex
	store cache.Store // nil before Run
	live  []Replica   // as last told, sorted by name
	subs  []func()
	bad   map[string]string // lease name to its last error, logged once
}

// NewReplicaWatch returns a watch of the replicas of the controller
// electionID in namespace; call Run to start it.
func NewReplicaWatch(client clientset.Interface, namespace, electionID string, log *slog.Logger) *ReplicaWatch {
	if log == nil {
		log = slog.Default()
	}
	return &ReplicaWatch{
		client: client, namespace: namespace, electionID: electionID,
		log:    log.With("component", "replicas", "namespace", namespace),
		kick:   make(chan struct{}, 1),
		synced: make(chan struct{}),
		bad:    map[string]string{},
	}
}

// Notify makes f be called, from the watch's goroutine, whenever the live
// replicas change. f must not block.
func (w *ReplicaWatch) Notify(f func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.subs = append(w.subs, f)
}

// Live returns the replicas live at now, sorted by name, as the watch
// last saw their Leases. Before the first sync it returns none.
func (w *ReplicaWatch) Live(now time.Time) []Replica {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Replica
	for _, r := range w.live {
		if r.Live(now) {
			out = append(out, r)
		}
	}
	return out
}

// WaitForSync returns nil once the Leases have been listed, or ctx's error.
func (w *ReplicaWatch) WaitForSync(ctx context.Context) error {
	select {
	case <-w.synced:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run watches the Leases until ctx ends.
func (w *ReplicaWatch) Run(ctx context.Context) error {
	if w.client == nil || w.namespace == "" || w.electionID == "" {
		return errors.New("replica watch: client, namespace and election ID are required")
	}
	selector := replicaSelector(w.electionID)
	factory := informers.NewSharedInformerFactoryWithOptions(w.client, 0,
		informers.WithNamespace(w.namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector }))
	informer := factory.Coordination().V1().Leases().Informer()
	fire := func() {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { fire() },
		UpdateFunc: func(any, any) { fire() },
		DeleteFunc: func(any) { fire() },
	}); err != nil {
		return err
	}
	w.mu.Lock()
	w.store = informer.GetStore()
	w.mu.Unlock()
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		return nil
	}
	w.update(time.Now())
	close(w.synced)

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := w.update(time.Now())
		timer.Reset(next)
		select {
		case <-ctx.Done():
			return nil
		case <-w.kick:
		case <-timer.C:
		}
	}
}

// update reads the Leases, tells the subscribers if the live replicas
// changed, and returns how long until the first live one runs out.
func (w *ReplicaWatch) update(now time.Time) time.Duration {
	w.mu.Lock()
	var leases []*coordinationv1.Lease
	for _, obj := range w.store.List() {
		if l, ok := obj.(*coordinationv1.Lease); ok {
			leases = append(leases, l)
		}
	}
	live, bad := liveReplicas(leases, now)
	// Each unreadable Lease is logged once per error; the others are
	// forgotten.
	reported := make(map[string]string, len(bad))
	for name, err := range bad {
		reported[name] = err.Error()
		if w.bad[name] != reported[name] {
			w.log.Warn("replica lease unreadable; its replica is left out", "error", err)
		}
	}
	w.bad = reported
	next := time.Hour
	for _, r := range live {
		next = min(next, r.Expires.Sub(now))
	}
	changed := !slices.EqualFunc(w.live, live, sameReplica)
	w.live = live
	subs := slices.Clone(w.subs)
	w.mu.Unlock()
	if changed {
		for _, f := range subs {
			f()
		}
	}
	// A little after the expiry, so that the replica is no longer live.
	return max(next, 0) + 10*time.Millisecond
}
