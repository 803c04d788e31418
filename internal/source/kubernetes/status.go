package kubernetes

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clientset "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/retry"

	"ingress-controller/internal/source/kubernetes/ingressstatus"
	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
)

// Status write timing.
const (
	statusRetryMin = 500 * time.Millisecond
	statusRetryMax = 30 * time.Second
	// statusRequestTimeout bounds one API request of the status writer.
	statusRequestTimeout = 10 * time.Second
	// Defaults of StatusOptions.ConflictBackoff and ConflictBackoffMax.
	conflictBackoff    = time.Second
	conflictBackoffMax = 5 * time.Minute
)

// Reasons of the Events the status writer records on an Ingress.
const (
	// ReasonStatusConflict is a Warning: another writer keeps replacing
	// the status.
	ReasonStatusConflict = "StatusConflict"
	// ReasonAddressesChanged is Normal: the writer wrote new addresses.
	ReasonAddressesChanged = "AddressesChanged"
)

// StatusOptions configure a StatusWriter.
type StatusOptions struct {
	Client clientset.Interface
	// Source supplies the cached Ingresses and the publish Service (see
	// Options.PublishService).
	Source *Source
	// PublishAddresses, IP addresses or hostnames, are published instead of
	// anything else when set.
	PublishAddresses []string
	// ClearOnShutdown makes Resign clear the status of our Ingresses.
	ClearOnShutdown bool
	// Kick wakes the writer when its inputs change: the source's
	// Options.StatusKick. Without it the writer makes its own, and
	// notices Ingress changes only when a config is applied.
	Kick StatusKick
	// Replicas, when set, are the replicas whose public addresses are
	// published (see ReplicaAddresses); the writer syncs whenever they
	// change.
	Replicas *ReplicaWatch
	// Recorder, when set, records a Normal Event (ReasonAddressesChanged)
	// on an Ingress whose status the writer changes, and a Warning
	// (ReasonStatusConflict) on one whose status another writer keeps
	// replacing.
	Recorder record.EventRecorder
	// ConflictBackoff and ConflictBackoffMax bound the wait before writing
	// again over another writer's status: it starts at ConflictBackoff
	// (default 1s) and doubles with every conflict up to ConflictBackoffMax
	// (default 5m). See ingressstatus.Fights.
	ConflictBackoff, ConflictBackoffMax time.Duration
	// DNS, when set, is handed what is published for every load balancer
	// on every sync, and publishes it in DNS while the process leads.
	DNS *DNSWriter
	// PublishHostname publishes a load balancer's DNS name (DNS.Name) as
	// its status, in place of its addresses, once the name is published.
	PublishHostname bool
	// Metrics, when set, registers the writer's counters of status writes
	// and conflicts.
	Metrics prometheus.Registerer
	Logger  *slog.Logger
}

// StatusKick wakes a StatusWriter: the Source fires it when an Ingress or
// the publish Service changes. Make it with NewStatusKick and give it to
// both.
type StatusKick chan struct{}

// NewStatusKick returns a kick that holds one pending wake-up.
func NewStatusKick() StatusKick { return make(StatusKick, 1) }

// Fire wakes the writer, or does nothing if a wake-up is pending already.
// A nil kick does nothing.
func (k StatusKick) Fire() {
	select {
	case k <- struct{}{}:
	default:
	}
}

// StatusWriter writes status.loadBalancer.ingress of the Ingresses in the
// translated config. Feed it with Translated, Applied and WatchProvider; it writes only
// while Lead runs, which the Election does on the leader.
//
// What it publishes for a load balancer, in priority order: the
// PublishAddresses; else the publish Service's status.loadBalancer.ingress
// and spec.externalIPs, copied as they are; else, when some live replica
// has a public address, the addresses of the replicas that serve it (see
// ReplicaAddresses); else the addresses the provider reports. Ports are
// listed for the first, third and last only, and only when a port is not
// 80 or 443: the listener ports, or the ports the provider reports with an
// address.
type StatusWriter struct {
	opts StatusOptions
	log  *slog.Logger
	kick StatusKick

	mu        sync.Mutex
	cfg       *lbconfig.Config
	endpoints map[string][]lbconfig.Address

	writes, conflicts prometheus.Counter

	// Used only by the goroutine running Lead or Resign, one at a time.
	//
	// published holds the statuses this process computed to publish
	// lately, so that it can recognize its own status on an Ingress it no
	// longer serves, and clear only that.
	published *ingressstatus.Recent
	// writtenOver is the resourceVersion of the cached object each of our
	// writes replaced. While the cache still shows that version it has not
	// seen our write yet, and writing again would only conflict.
	writtenOver map[types.NamespacedName]string
	// fights detects another writer replacing our status and backs off.
	fights     *ingressstatus.Fights
	missingPub bool // the publish Service was missing at the last sync
}

// NewStatusWriter returns a writer; call Lead to make it write. Give it
// the Source's StatusKick, so that Ingress changes wake it.
func NewStatusWriter(opts StatusOptions) (*StatusWriter, error) {
	if opts.Client == nil || opts.Source == nil {
		return nil, errors.New("status writer: Client and Source are required")
	}
	for _, a := range opts.PublishAddresses {
		if err := CheckPublishAddress(a); err != nil {
			return nil, err
		}
	}
	if opts.Kick == nil {
		opts.Kick = NewStatusKick()
	}
	if opts.ConflictBackoff <= 0 {
		opts.ConflictBackoff = conflictBackoff
	}
	if opts.ConflictBackoffMax <= 0 {
		opts.ConflictBackoffMax = conflictBackoffMax
	}
	opts.ConflictBackoffMax = max(opts.ConflictBackoffMax, opts.ConflictBackoff)
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	w := &StatusWriter{
		opts:        opts,
		log:         log.With("component", "status"),
		kick:        opts.Kick,
		published:   ingressstatus.NewRecent(maxPublished),
		writtenOver: map[types.NamespacedName]string{},
		fights:      &ingressstatus.Fights{Base: opts.ConflictBackoff, Max: opts.ConflictBackoffMax},
		writes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ingress_controller_status_writes_total",
			Help: "Ingress status updates the leader wrote to the API server.",
		}),
		conflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ingress_controller_status_conflicts_total",
			Help: "Times the leader found an Ingress status written by someone else since its own write, and backed off.",
		}),
	}
	if opts.Replicas != nil {
		opts.Replicas.Notify(w.trigger)
	}
	if opts.DNS != nil {
		opts.DNS.Notify(w.trigger)
	}
	if err := register(opts.Metrics, w.writes, w.conflicts); err != nil {
		return nil, fmt.Errorf("status writer: %w", err)
	}
	return w, nil
}

// CheckPublishAddress accepts an IP address or a DNS hostname.
func CheckPublishAddress(a string) error {
	if _, err := netip.ParseAddr(a); err == nil {
		return nil
	}
	if err := lbconfig.CheckHostname(a); err != nil || strings.HasPrefix(a, "*") {
		return fmt.Errorf("publish address %q is neither an IP address nor a hostname", a)
	}
	return nil
}

func (w *StatusWriter) trigger() { w.kick.Fire() }

// Translated records the whole translated config: the load balancers,
// whether this replica serves them or not, and their Ingresses. Wire it
// to engine.Options.OnTranslated.
func (w *StatusWriter) Translated(cfg *lbconfig.Config) {
	w.mu.Lock()
	w.cfg = cfg
	w.mu.Unlock()
	w.trigger()
}

// Applied records the addresses the provider reports after an apply; wire
// it to engine.Options.OnApplied.
func (w *StatusWriter) Applied(res provider.Result) {
	w.mu.Lock()
	w.endpoints = maps.Clone(res.Endpoints)
	w.mu.Unlock()
	w.trigger()
}

// WatchProvider takes the address changes a provider sends from its Run
// until ctx ends. An update replaces the addresses of the load balancers it
// names.
func (w *StatusWriter) WatchProvider(ctx context.Context, updates <-chan provider.Result) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case res := <-updates:
			w.mu.Lock()
			if w.endpoints == nil {
				w.endpoints = map[string][]lbconfig.Address{}
			}
			maps.Copy(w.endpoints, res.Endpoints)
			w.mu.Unlock()
			w.trigger()
		}
	}
}

// Lead writes status until ctx ends: a full sync at once, then one after
// every change of the config, the provider's addresses, an Ingress, the
// publish Service or the live replicas, and when a backoff from another
// writer's status ends. Failed syncs are retried with backoff.
func (w *StatusWriter) Lead(ctx context.Context) {
	w.log.Info("leading: writing Ingress status")
	// What another leader wrote while we did not lead is no fight.
	w.fights = &ingressstatus.Fights{Base: w.opts.ConflictBackoff, Max: w.opts.ConflictBackoffMax}
	if w.opts.Replicas != nil && w.opts.Replicas.WaitForSync(ctx) != nil {
		return // before the first sync, so that it publishes the replicas
	}
	retries := newRetries(statusRetryMin, statusRetryMax, w.log, "writing Ingress status")
	var retry, fight <-chan time.Time
	w.trigger()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.kick:
		case <-retry:
		case <-fight:
		}
		fight = nil
		wait, err := w.sync(ctx)
		if wait > 0 {
			fight = time.After(wait)
		}
		if err != nil && ctx.Err() != nil {
			return
		}
		retry = retries.after(err)
	}
}

// sameReplica reports whether a and b publish the same: renewals alone do
// not wake the writer.
func sameReplica(a, b Replica) bool {
	return a.Name == b.Name && a.Address == b.Address && maps.Equal(a.Serving, b.Serving)
}

// ReplicaAddresses is what the replicas publish for the load balancer lb:
// the public addresses of those live at now whose Lease says they serve
// lb, in numeric order, without duplicates. use is false when no live
// replica has an address at all: then the replicas publish nothing and the
// provider's own addresses are published, as with a single replica.
func ReplicaAddresses(replicas []Replica, lb string, now time.Time) (addrs []string, use bool) {
	var ips []netip.Addr
	for _, r := range replicas {
		if !r.Live(now) || r.Address == "" {
			continue
		}
		use = true
		ip, err := netip.ParseAddr(r.Address)
		if err != nil || !r.Serving[lb] {
			continue
		}
		ips = append(ips, ip.Unmap())
	}
	slices.SortFunc(ips, netip.Addr.Compare)
	for _, ip := range slices.Compact(ips) {
		addrs = append(addrs, ip.String())
	}
	return addrs, use
}

// Resign runs on the leader when the process stops, before the lease is
// released: with ClearOnShutdown it clears the status it published on our
// Ingresses, so that they do not point at a load balancer that is going
// away.
func (w *StatusWriter) Resign(ctx context.Context) {
	if !w.opts.ClearOnShutdown {
		return
	}
	want := w.desired()
	if want == nil {
		return
	}
	cleared := 0
	var errs []error
	for _, cached := range w.opts.Source.ingresses() {
		k := types.NamespacedName{Namespace: cached.Namespace, Name: cached.Name}
		if _, ours := want[k]; !ours {
			continue
		}
		// The cache may not have seen our last write yet: read the
		// Ingress itself.
		rctx, cancel := context.WithTimeout(ctx, statusRequestTimeout)
		ing, err := w.opts.Client.NetworkingV1().Ingresses(k.Namespace).Get(rctx, k.Name, metav1.GetOptions{})
		cancel()
		if err != nil {
			if !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("ingress %s: %w", k, err))
			}
			continue
		}
		if !w.published.Has(ingressstatus.Key(ing.Status.LoadBalancer.Ingress)) {
			continue
		}
		done, err := w.write(ctx, ing, nil, true)
		if err != nil {
			errs = append(errs, err)
		} else if done {
			cleared++
		}
	}
	if err := errors.Join(errs...); err != nil {
		w.log.Warn("clearing Ingress status on shutdown failed", "error", err)
	}
	w.log.Info("cleared Ingress status on shutdown", "ingresses", cleared)
}

// desired computes the status of every Ingress in the applied config, or
// returns nil before the first apply. It remembers every status it
// computes as published.
func (w *StatusWriter) desired() map[types.NamespacedName][]networkingv1.IngressLoadBalancerIngress {
	w.mu.Lock()
	cfg, endpoints := w.cfg, w.endpoints
	w.mu.Unlock()
	if cfg == nil {
		return nil
	}
	now := time.Now()
	var replicas []Replica
	if w.opts.Replicas != nil {
		replicas = w.opts.Replicas.Live(now)
	}
	statuses := map[string][]networkingv1.IngressLoadBalancerIngress{}
	for _, lb := range cfg.LoadBalancers {
		statuses[lb.Name] = w.loadBalancerStatus(lb, endpoints[lb.Name], replicas, now)
	}
	if w.opts.DNS != nil {
		w.opts.DNS.Want(cfg.LoadBalancers, statuses)
	}
	want, keys := ingressstatus.Desired(cfg, func(lb lbconfig.LoadBalancer) []networkingv1.IngressLoadBalancerIngress {
		st := statuses[lb.Name]
		if w.opts.PublishHostname && w.opts.DNS != nil && len(st) > 0 {
			if name := w.opts.DNS.Name(lb.Name); name != "" {
				st = []networkingv1.IngressLoadBalancerIngress{{Hostname: name, Ports: st[0].Ports}}
			}
		}
		return st
	})
	for _, k := range keys {
		w.published.Add(k)
	}
	return want
}

// sync makes the status of every cached Ingress what it should be, but
// for those it backs off from because another writer replaced our status:
// it returns when the first of these may be written again (zero: none).
func (w *StatusWriter) sync(ctx context.Context) (time.Duration, error) {
	want := w.desired()
	if want == nil {
		return 0, nil // nothing applied yet: we know nothing to publish
	}
	var next time.Duration
	now := time.Now()
	var errs []error
	cachedRV := map[types.NamespacedName]string{}
	for _, ing := range w.opts.Source.ingresses() {
		k := types.NamespacedName{Namespace: ing.Namespace, Name: ing.Name}
		cachedRV[k] = ing.ResourceVersion
		cur := ing.Status.LoadBalancer.Ingress
		st, ours := want[k]
		if !ours {
			// Not served by us: clear only a status we published.
			if len(cur) == 0 || !w.published.Has(ingressstatus.Key(cur)) {
				continue
			}
			st = nil
		}
		if ingressstatus.Equal(cur, st) || w.writtenOver[k] == ing.ResourceVersion {
			continue
		}
		if ours {
			wait, c := w.fights.Check(k, cur, st, now)
			if c != nil {
				w.conflict(ing, c, st)
			}
			if wait > 0 {
				if next == 0 || wait < next {
					next = wait
				}
				continue
			}
		}
		if _, err := w.write(ctx, ing, st, !ours); err != nil {
			errs = append(errs, err)
		}
	}
	// Forget writes the cache has caught up with, or whose Ingress is gone.
	for k, rv := range w.writtenOver {
		if cachedRV[k] != rv {
			delete(w.writtenOver, k)
		}
	}
	w.fights.Keep(func(k types.NamespacedName) bool { _, ok := cachedRV[k]; return ok })
	return next, errors.Join(errs...)
}

// conflict counts another writer's status found on ing, where we wanted
// ours, and warns in the log and with an Event when c says to report it.
func (w *StatusWriter) conflict(ing *networkingv1.Ingress, c *ingressstatus.Conflict, ours []networkingv1.IngressLoadBalancerIngress) {
	w.conflicts.Inc()
	theirs := ingressstatus.Key(c.Theirs)
	if theirs == "" {
		theirs = "an empty status"
	}
	if !c.Report {
		w.log.Debug("ingress status replaced by another writer again; backing off",
			"ingress", ing.Name, "namespace", ing.Namespace, "theirs", theirs, "retry_in", c.Wait)
		return
	}
	w.log.Warn("ingress status replaced by another writer; backing off (is another controller of this class running under another election ID?)",
		"ingress", ing.Name, "namespace", ing.Namespace, "theirs", theirs, "ours", ingressstatus.Key(ours), "retry_in", c.Wait)
	if w.opts.Recorder != nil {
		w.opts.Recorder.Eventf(ing, corev1.EventTypeWarning, ReasonStatusConflict,
			"%s", truncate(fmt.Sprintf("status.loadBalancer.ingress: another writer keeps replacing our status with %s (ours: %s); backing off, next write in %s. Is another controller of this class running under another election ID?",
				theirs, ingressstatus.Key(ours), c.Wait), maxEventMessage))
	}
}

// write sets the status of ing (a cached object) to st, re-reading it from
// the API after a conflict. With clearing, it only replaces a status we
// published. It reports whether it wrote.
func (w *StatusWriter) write(ctx context.Context, ing *networkingv1.Ingress, st []networkingv1.IngressLoadBalancerIngress, clearing bool) (bool, error) {
	client := w.opts.Client.NetworkingV1().Ingresses(ing.Namespace)
	cur, wrote := ing, false
	var before []networkingv1.IngressLoadBalancerIngress // the status replaced
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if cur == nil {
			rctx, cancel := context.WithTimeout(ctx, statusRequestTimeout)
			defer cancel()
			got, err := client.Get(rctx, ing.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			cur = got
		}
		old := cur.Status.LoadBalancer.Ingress
		if ingressstatus.Equal(old, st) || (clearing && !w.published.Has(ingressstatus.Key(old))) {
			return nil
		}
		before = old
		upd := cur.DeepCopy()
		upd.Status.LoadBalancer.Ingress = st
		cur = nil // after a conflict, start from the API's copy
		rctx, cancel := context.WithTimeout(ctx, statusRequestTimeout)
		defer cancel()
		if _, err := client.UpdateStatus(rctx, upd, metav1.UpdateOptions{}); err != nil {
			return err
		}
		wrote = true
		return nil
	})
	if apierrors.IsNotFound(err) {
		return false, nil // deleted meanwhile
	}
	if err != nil {
		return false, fmt.Errorf("ingress %s/%s: status: %w", ing.Namespace, ing.Name, err)
	}
	if wrote {
		w.writes.Inc()
		w.fights.Wrote(types.NamespacedName{Namespace: ing.Namespace, Name: ing.Name}, st)
		w.writtenOver[types.NamespacedName{Namespace: ing.Namespace, Name: ing.Name}] = ing.ResourceVersion
		now, was := cmp.Or(ingressstatus.Key(st), "none"), cmp.Or(ingressstatus.Key(before), "none")
		if len(st) == 0 {
			w.log.Info("ingress status cleared", "ingress", ing.Name, "namespace", ing.Namespace)
		} else {
			w.log.Info("ingress status updated", "ingress", ing.Name, "namespace", ing.Namespace, "addresses", now)
		}
		if w.opts.Recorder != nil {
			w.opts.Recorder.Eventf(ing, corev1.EventTypeNormal, ReasonAddressesChanged,
				"%s", truncate(fmt.Sprintf("status.loadBalancer.ingress: addresses %s (were %s)", now, was), maxEventMessage))
		}
	}
	return wrote, nil
}

// loadBalancerStatus is what to publish for lb, whose provider reported
// addrs, with the live replicas. It warns once when the publish
// Service is missing.
func (w *StatusWriter) loadBalancerStatus(lb lbconfig.LoadBalancer, addrs []lbconfig.Address, replicas []Replica, now time.Time) []networkingv1.IngressLoadBalancerIngress {
	pub := ingressstatus.Publish{Addresses: w.opts.PublishAddresses}
	pub.Replicas, pub.UseReplicas = ReplicaAddresses(replicas, lb.Name, now)
	if svc, ok := w.opts.Source.publishService(); ok {
		pub.UseService, pub.Service = true, svc
		if svc == nil && !w.missingPub {
			w.log.Warn("publish Service not found; publishing no address",
				"service", w.opts.Source.publishNamespace+"/"+w.opts.Source.publishName)
		}
		w.missingPub = svc == nil
	}
	return ingressstatus.LoadBalancer(lb, addrs, pub)
}

// maxPublished bounds the statuses a writer remembers as its own: enough
// for every load balancer and Ingress of a large config across many
// changes, without growing for ever as addresses come and go.
const maxPublished = 4096
