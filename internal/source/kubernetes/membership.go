package kubernetes

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	clientset "k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// The label and annotations of a replica's Lease.
const (
	// LabelReplicaOf marks a replica Lease with the election ID of the
	// controller it belongs to (see ReplicaOfValue), so that the replicas
	// of one controller are listed by selector.
	LabelReplicaOf = "ingress-controller.io/replica-of"
	// AnnotationPublicAddress is the replica's public IP address, absent
	// when it has none.
	AnnotationPublicAddress = "ingress-controller.io/public-address"
	// AnnotationLoadBalancers is a JSON object from the name of every load
	// balancer the replica has applied to whether it serves:
	// {"default":true}.
	AnnotationLoadBalancers = "ingress-controller.io/load-balancers"
)

// Membership timing defaults: a replica's Lease is valid as long as a
// leader's, and is renewed three times in that time.
const (
	DefaultReplicaLeaseDuration = DefaultLeaseDuration
	// minChangeInterval spaces writes made for SetServing changes, so a
	// flapping provider cannot make a replica write its Lease in a loop.
	minChangeInterval = time.Second
	// leaveTimeout bounds the delete of the Lease on shutdown.
	leaveTimeout = 3 * time.Second
)

// Membership keeps this replica's Lease: it says the replica is alive, its
// public address and the load balancers it serves. Every replica runs one,
// leader or not.
type Membership struct {
	Client clientset.Interface
	// Namespace of the Lease: the election namespace.
	Namespace string
	// ElectionID names the controller the replica belongs to; the Lease is
	// named by ReplicaLeaseName.
	ElectionID string
	// Name is the replica's name (the pod name): a DNS-1123 subdomain.
	Name string
	// Address is the replica's public IP address, or "".
	Address string
	// LeaseDuration defaults to DefaultReplicaLeaseDuration, RenewInterval
	// to a third of it.
	LeaseDuration, RenewInterval time.Duration
	Logger                       *slog.Logger

	mu      sync.Mutex
	serving map[string]bool
	changed chan struct{} // a pending SetServing change for Run
	leaving chan struct{} // closed by Leave
	renewal Renewal       // of the last successful write
	wrote   time.Time     // when that write succeeded
}

// Renewal is what a replica last wrote into its Lease.
type Renewal struct {
	// Expires is when the Lease runs out, as ReplicaFromLease computes it.
	Expires time.Time
	// Interval is the time between renewals.
	Interval time.Duration
}

// Renewed returns the last renewal of the Lease, and whether it is
// current: it succeeded less than one and a half renewal intervals before
// now, so the Lease is being renewed.
func (m *Membership) Renewed(now time.Time) (Renewal, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.renewal
	return r, !m.wrote.IsZero() && now.Sub(m.wrote) < r.Interval*3/2
}

// Leave deletes the Lease now and stops renewing it, while the replica
// goes on serving: on a shutdown with a delay, the status and the other
// replicas stop counting on it before its listeners close. It returns at
// once; Run does the delete.
func (m *Membership) Leave() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.leaving == nil {
		m.leaving = make(chan struct{})
	}
	select {
	case <-m.leaving:
	default:
		close(m.leaving)
	}
}

// SetServing records the load balancers this replica has applied and
// whether each serves. Run writes them promptly, but not more often than
// once a second.
func (m *Membership) SetServing(serving map[string]bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.serving != nil && maps.Equal(m.serving, serving) {
		return
	}
	m.serving = maps.Clone(serving)
	if m.serving == nil {
		m.serving = map[string]bool{}
	}
	select {
	case m.changedLocked() <- struct{}{}:
	default:
	}
}

func (m *Membership) changedLocked() chan struct{} {
	if m.changed == nil {
		m.changed = make(chan struct{}, 1)
	}
	return m.changed
}

// Run creates the replica's Lease and renews it until ctx ends, then
// deletes it, so that a replica that stops cleanly leaves the list at once.
// It never gives up: while the API server cannot be reached it logs and
// tries again on the next renewal.
func (m *Membership) Run(ctx context.Context) error {
	if m.Client == nil || m.Namespace == "" || m.ElectionID == "" || m.Name == "" {
		return errors.New("membership: Client, Namespace, ElectionID and Name are required")
	}
	duration := cmpOr(m.LeaseDuration, DefaultReplicaLeaseDuration)
	interval := cmpOr(m.RenewInterval, duration/3)
	name := ReplicaLeaseName(m.ElectionID, m.Name)
	log := m.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "membership", "lease", m.Namespace+"/"+name, "replica", m.Name)
	m.mu.Lock()
	changed := m.changedLocked()
	if m.leaving == nil {
		m.leaving = make(chan struct{})
	}
	leaving := m.leaving
	m.mu.Unlock()

	var (
		cur     *coordinationv1.Lease // as last read or written
		uid     types.UID             // of the Lease this replica wrote
		written time.Time             // when the last write was tried
		due     = time.Now()          // when the next write is
		failing bool
	)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			if uid != "" {
				m.leave(ctx, name, uid, log)
			}
			return nil
		case <-leaving:
			if uid != "" {
				m.leave(ctx, name, uid, log)
			}
			m.mu.Lock()
			m.wrote = time.Time{}
			m.mu.Unlock()
			<-ctx.Done()
			return nil
		case <-changed:
			// Write now, or as soon as minChangeInterval has passed,
			// unless the renewal comes first.
			if soon := written.Add(minChangeInterval); soon.Before(due) {
				due = soon
			}
			if wait := time.Until(due); wait > 0 {
				timer.Reset(wait)
				continue
			}
		case <-timer.C:
		}
		wctx, cancel := context.WithTimeout(ctx, interval)
		next, err := m.renew(wctx, cur, name, duration)
		cancel()
		cur, written = next, time.Now()
		due = written.Add(interval)
		if cur != nil {
			uid = cur.UID
		}
		if err == nil {
			m.renewed(cur, written, interval)
		}
		switch {
		case err != nil && ctx.Err() == nil:
			failing = true
			log.Warn("cannot renew replica lease; retrying", "error", err)
		case err == nil && failing:
			failing = false
			log.Info("replica lease renewed again")
		}
		timer.Reset(interval)
	}
}

// renewed records l, just written at now.
func (m *Membership) renewed(l *coordinationv1.Lease, now time.Time, interval time.Duration) {
	r, err := ReplicaFromLease(l)
	if err != nil {
		return // cannot be: Membership wrote it
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.renewal, m.wrote = Renewal{Expires: r.Expires, Interval: interval}, now
}

// renew writes the Lease from cur, the Lease as last seen (nil: read it
// first, or create it), and returns the Lease as written, or nil when it
// is not known.
func (m *Membership) renew(ctx context.Context, cur *coordinationv1.Lease, name string, duration time.Duration) (*coordinationv1.Lease, error) {
	leases := m.Client.CoordinationV1().Leases(m.Namespace)
	if cur == nil {
		got, err := leases.Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			created, err := leases.Create(ctx, m.lease(&coordinationv1.Lease{}, name, duration), metav1.CreateOptions{})
			if err != nil {
				return nil, err
			}
			return created, nil
		case err != nil:
			return nil, err
		}
		cur = got
	}
	updated, err := leases.Update(ctx, m.lease(cur.DeepCopy(), name, duration), metav1.UpdateOptions{})
	if err != nil {
		return nil, err // a conflict or a deleted Lease: read it again next time
	}
	return updated, nil
}

// lease fills l, a copy of the Lease as last seen, with this replica's
// state, keeping labels and annotations that others set.
func (m *Membership) lease(l *coordinationv1.Lease, name string, duration time.Duration) *coordinationv1.Lease {
	m.mu.Lock()
	serving, _ := json.Marshal(m.serving) // map keys come out sorted
	if m.serving == nil {
		serving = []byte("{}")
	}
	m.mu.Unlock()
	l.Name, l.Namespace = name, m.Namespace
	if l.Labels == nil {
		l.Labels = map[string]string{}
	}
	l.Labels[LabelReplicaOf] = ReplicaOfValue(m.ElectionID)
	if l.Annotations == nil {
		l.Annotations = map[string]string{}
	}
	l.Annotations[AnnotationLoadBalancers] = string(serving)
	if m.Address != "" {
		l.Annotations[AnnotationPublicAddress] = m.Address
	} else {
		delete(l.Annotations, AnnotationPublicAddress)
	}
	now := metav1.NewMicroTime(time.Now())
	seconds := int32((duration + time.Second - 1) / time.Second)
	l.Spec.HolderIdentity = ptr.To(m.Name)
	l.Spec.LeaseDurationSeconds = &seconds
	l.Spec.RenewTime = &now
	if l.Spec.AcquireTime == nil {
		l.Spec.AcquireTime = &now
	}
	return l
}

// leave deletes the Lease, only if it is still the one this replica wrote
// (a replica of the same name started since keeps its own).
func (m *Membership) leave(ctx context.Context, name string, uid types.UID, log *slog.Logger) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaveTimeout)
	defer cancel()
	err := m.Client.CoordinationV1().Leases(m.Namespace).Delete(dctx, name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &uid},
	})
	switch {
	case err == nil || apierrors.IsNotFound(err) || apierrors.IsConflict(err):
		log.Info("left: replica lease deleted")
	default:
		log.Warn("cannot delete replica lease; it expires on its own", "error", err)
	}
}

// maxNameLength is the longest Lease name: a DNS-1123 subdomain.
const maxNameLength = validation.DNS1123SubdomainMaxLength

// ReplicaLeaseName is the name of a replica's Lease:
// "<electionID>-replica-<replica>". A name longer than a Lease name may be
// is cut and ends in a hash of the whole name, so it stays unique.
func ReplicaLeaseName(electionID, replica string) string {
	return shorten(electionID+"-replica-"+replica, maxNameLength)
}

// ReplicaOfValue is the value of the LabelReplicaOf label for the replicas
// of electionID: the ID itself, or, when it is longer than a label value
// may be, a prefix of it and a hash.
func ReplicaOfValue(electionID string) string {
	return shorten(electionID, validation.LabelValueMaxLength)
}

// shorten returns s if it has at most max bytes, else a prefix of s, "-"
// and 16 hex digits of its SHA-256. s is a DNS-1123 subdomain, so the
// result is one too (and a valid label value, when max allows it).
func shorten(s string, max int) string {
	if len(s) <= max {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	hash := hex.EncodeToString(sum[:8])
	prefix := strings.TrimRight(s[:max-len(hash)-1], ".-")
	return prefix + "-" + hash
}

// Replica is one live replica of a controller, as its Lease tells.
type Replica struct {
	// Name is the replica's name (its pod's).
	Name string
	// Address is its public IP address, or "".
	Address string
	// Serving maps the name of every load balancer the replica has applied
	// to whether it serves.
	Serving map[string]bool
	// Expires is when the Lease runs out unless renewed.
	Expires time.Time
}

// Live reports whether the replica's Lease is still valid at now.
func (r Replica) Live(now time.Time) bool { return now.Before(r.Expires) }

// ReplicaFromLease reads a replica Lease. It fails when the Lease lacks
// what Membership writes or holds annotations Membership could not have
// written.
func ReplicaFromLease(l *coordinationv1.Lease) (Replica, error) {
	fail := func(format string, args ...any) (Replica, error) {
		return Replica{}, fmt.Errorf("lease %s/%s: %s", l.Namespace, l.Name, fmt.Sprintf(format, args...))
	}
	r := Replica{}
	if r.Name = ptr.Deref(l.Spec.HolderIdentity, ""); r.Name == "" {
		return fail("spec.holderIdentity is empty")
	}
	switch {
	case l.Spec.RenewTime == nil:
		return fail("spec.renewTime is missing")
	case l.Spec.LeaseDurationSeconds == nil || *l.Spec.LeaseDurationSeconds <= 0:
		return fail("spec.leaseDurationSeconds is missing or not positive")
	}
	r.Expires = l.Spec.RenewTime.Add(time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second)
	if a, ok := l.Annotations[AnnotationPublicAddress]; ok {
		ip, err := netip.ParseAddr(a)
		if err != nil {
			return fail("annotation %s: %q is not an IP address", AnnotationPublicAddress, a)
		}
		r.Address = ip.String()
	}
	r.Serving = map[string]bool{}
	if s, ok := l.Annotations[AnnotationLoadBalancers]; ok {
		if err := json.Unmarshal([]byte(s), &r.Serving); err != nil || r.Serving == nil {
			return fail("annotation %s: %q is not a JSON object of load balancer names to booleans", AnnotationLoadBalancers, s)
		}
	}
	return r, nil
}

// ListReplicas returns the live replicas of the controller electionID in
// namespace at now, sorted by name. A Lease it cannot read is left out and
// named in the error, which comes with the replicas it could read.
func ListReplicas(ctx context.Context, client clientset.Interface, namespace, electionID string, now time.Time) ([]Replica, error) {
	list, err := client.CoordinationV1().Leases(namespace).List(ctx, metav1.ListOptions{LabelSelector: replicaSelector(electionID)})
	if err != nil {
		return nil, fmt.Errorf("list replica leases in %s: %w", namespace, err)
	}
	leases := make([]*coordinationv1.Lease, len(list.Items))
	for i := range list.Items {
		leases[i] = &list.Items[i]
	}
	replicas, bad := liveReplicas(leases, now)
	var errs []error
	for _, l := range leases {
		if err := bad[l.Name]; err != nil {
			errs = append(errs, err)
		}
	}
	return replicas, errors.Join(errs...)
}

// replicaSelector selects the replica Leases of the controller electionID.
func replicaSelector(electionID string) string {
	return labels.SelectorFromSet(labels.Set{LabelReplicaOf: ReplicaOfValue(electionID)}).String()
}

// liveReplicas reads leases and returns the replicas live at now, sorted
// by name, and the error of each Lease it cannot read, by Lease name.
func liveReplicas(leases []*coordinationv1.Lease, now time.Time) (live []Replica, bad map[string]error) {
	bad = map[string]error{}
	for _, l := range leases {
		r, err := ReplicaFromLease(l)
		switch {
		case err != nil:
			bad[l.Name] = err
		case r.Live(now):
			live = append(live, r)
		}
	}
	slices.SortFunc(live, func(a, b Replica) int { return strings.Compare(a.Name, b.Name) })
	return live, bad
}
