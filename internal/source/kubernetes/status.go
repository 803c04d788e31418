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
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clientset "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
)

// Status write timing.
const (
	statusRetryMin = 500 * time.Millisecond
	statusRetryMax = 30 * time.Second
	// statusRequestTimeout bounds one API request of the status writer.
	statusRequestTimeout = 10 * time.Second
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
	Logger          *slog.Logger
}

// StatusWriter writes status.loadBalancer.ingress of the Ingresses in the
// applied config. Feed it with Applied and WatchProvider; it writes only
// while Lead runs, which the Election does on the leader.
//
// What it publishes for a load balancer, in priority order: the
// PublishAddresses; else the publish Service's status.loadBalancer.ingress
// and spec.externalIPs, copied as they are; else the addresses the provider
// reports. Ports are listed for the first and last only, and only when a
// port is not 80 or 443: the listener ports, or the ports the provider
// reports with an address.
type StatusWriter struct {
	opts StatusOptions
	log  *slog.Logger
	kick chan struct{}

	mu        sync.Mutex
	cfg       *lbconfig.Config
	endpoints map[string][]lbconfig.Address

	// Used only by the goroutine running Lead or Resign, one at a time.
	//
	// published holds every status this process computed to publish, so
	// that it can recognize its own status on an Ingress it no longer
	// serves, and clear only that.
	published map[string]bool
	// writtenOver is the resourceVersion of the cached object each of our
	// writes replaced. While the cache still shows that version it has not
	// seen our write yet, and writing again would only conflict.
	writtenOver map[types.NamespacedName]string
	missingPub  bool // the publish Service was missing at the last sync
}

// NewStatusWriter returns a writer; call Lead to make it write. It must be
// created before the Source runs.
func NewStatusWriter(opts StatusOptions) (*StatusWriter, error) {
	if opts.Client == nil || opts.Source == nil {
		return nil, errors.New("status writer: Client and Source are required")
	}
	for _, a := range opts.PublishAddresses {
		if err := CheckPublishAddress(a); err != nil {
			return nil, err
		}
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	w := &StatusWriter{
		opts:        opts,
		log:         log.With("component", "status"),
		kick:        make(chan struct{}, 1),
		published:   map[string]bool{},
		writtenOver: map[types.NamespacedName]string{},
	}
	opts.Source.statusInputs = append(opts.Source.statusInputs, w.trigger)
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

func (w *StatusWriter) trigger() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Applied records the config the provider serves and its addresses; wire it
// to engine.Options.OnApplied.
func (w *StatusWriter) Applied(cfg *lbconfig.Config, res provider.Result) {
	w.mu.Lock()
	w.cfg = cfg
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
// every change of the config, the provider's addresses, an Ingress or the
// publish Service. Failed syncs are retried with backoff.
func (w *StatusWriter) Lead(ctx context.Context) {
	w.log.Info("leading: writing Ingress status")
	backoff := statusRetryMin
	var retry <-chan time.Time
	w.trigger()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.kick:
		case <-retry:
		}
		retry = nil
		if err := w.sync(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			w.log.Warn("writing Ingress status failed; retrying", "error", err, "retry_in", backoff)
			retry = time.After(backoff)
			backoff = min(backoff*2, statusRetryMax)
			continue
		}
		backoff = statusRetryMin
	}
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
		if !w.published[statusKey(ing.Status.LoadBalancer.Ingress)] {
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
	want := map[types.NamespacedName][]networkingv1.IngressLoadBalancerIngress{}
	for _, lb := range cfg.LoadBalancers {
		st := w.loadBalancerStatus(lb, endpoints[lb.Name])
		w.published[statusKey(st)] = true
		for _, ref := range lb.Sources {
			if ref.Kind != "Ingress" {
				continue
			}
			k := types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}
			// An Ingress on two load balancers gets both their addresses.
			want[k] = normalizeStatus(append(slices.Clone(want[k]), st...))
		}
	}
	for _, st := range want {
		w.published[statusKey(st)] = true
	}
	return want
}

// sync makes the status of every cached Ingress what it should be.
func (w *StatusWriter) sync(ctx context.Context) error {
	want := w.desired()
	if want == nil {
		return nil // nothing applied yet: we know nothing to publish
	}
	var errs []error
	cachedRV := map[types.NamespacedName]string{}
	for _, ing := range w.opts.Source.ingresses() {
		k := types.NamespacedName{Namespace: ing.Namespace, Name: ing.Name}
		cachedRV[k] = ing.ResourceVersion
		cur := ing.Status.LoadBalancer.Ingress
		st, ours := want[k]
		if !ours {
			// Not served by us: clear only a status we published.
			if len(cur) == 0 || !w.published[statusKey(cur)] {
				continue
			}
			st = nil
		}
		if statusEqual(cur, st) || w.writtenOver[k] == ing.ResourceVersion {
			continue
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
	return errors.Join(errs...)
}

// write sets the status of ing (a cached object) to st, re-reading it from
// the API after a conflict. With clearing, it only replaces a status we
// published. It reports whether it wrote.
func (w *StatusWriter) write(ctx context.Context, ing *networkingv1.Ingress, st []networkingv1.IngressLoadBalancerIngress, clearing bool) (bool, error) {
	client := w.opts.Client.NetworkingV1().Ingresses(ing.Namespace)
	cur, wrote := ing, false
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
		if statusEqual(old, st) || (clearing && !w.published[statusKey(old)]) {
			return nil
		}
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
		w.writtenOver[types.NamespacedName{Namespace: ing.Namespace, Name: ing.Name}] = ing.ResourceVersion
		if len(st) == 0 {
			w.log.Info("ingress status cleared", "ingress", ing.Name, "namespace", ing.Namespace)
		} else {
			w.log.Info("ingress status updated", "ingress", ing.Name, "namespace", ing.Namespace, "addresses", statusKey(st))
		}
	}
	return wrote, nil
}

// loadBalancerStatus is what to publish for lb, whose provider reported
// addrs.
func (w *StatusWriter) loadBalancerStatus(lb lbconfig.LoadBalancer, addrs []lbconfig.Address) []networkingv1.IngressLoadBalancerIngress {
	// Only the ports an Ingress is served on: TCP listeners of the same
	// load balancer are no concern of its clients.
	listenerPorts := make([]int32, 0, len(lb.Listeners))
	for _, l := range lb.Listeners {
		if l.Protocol == lbconfig.ProtocolHTTP || l.Protocol == lbconfig.ProtocolHTTPS {
			listenerPorts = append(listenerPorts, l.Port)
		}
	}
	var out []networkingv1.IngressLoadBalancerIngress
	if len(w.opts.PublishAddresses) > 0 {
		for _, a := range w.opts.PublishAddresses {
			out = append(out, addressStatus(lbconfig.Address{IP: a}, listenerPorts))
		}
		return normalizeStatus(out)
	}
	if svc, ok := w.opts.Source.publishService(); ok {
		if svc == nil {
			if !w.missingPub {
				w.log.Warn("publish Service not found; publishing no address",
					"service", w.opts.Source.publishNamespace+"/"+w.opts.Source.publishName)
			}
			w.missingPub = true
			return nil
		}
		w.missingPub = false
		return serviceStatus(svc)
	}
	for _, a := range addrs {
		if len(a.Ports) > 0 {
			a.Ports = slices.DeleteFunc(slices.Clone(a.Ports), func(p int32) bool { return !slices.Contains(listenerPorts, p) })
			if len(a.Ports) == 0 {
				continue // this address serves only other listeners
			}
		}
		out = append(out, addressStatus(a, listenerPorts))
	}
	return normalizeStatus(out)
}

// addressStatus turns a provider address into a status entry. An IP field
// that holds a hostname (as PublishAddresses may) becomes a hostname.
func addressStatus(a lbconfig.Address, listenerPorts []int32) networkingv1.IngressLoadBalancerIngress {
	e := networkingv1.IngressLoadBalancerIngress{IP: a.IP, Hostname: a.Hostname}
	if a.IP != "" {
		if ip, err := netip.ParseAddr(a.IP); err == nil {
			e.IP = ip.String()
		} else if a.Hostname == "" {
			e.IP, e.Hostname = "", strings.ToLower(a.IP)
		}
	}
	ports := a.Ports
	if len(ports) == 0 {
		ports = listenerPorts
	}
	e.Ports = portStatus(ports)
	return e
}

// portStatus lists ports only when one is not a well-known HTTP(S) port:
// clients assume 80 and 443.
func portStatus(ports []int32) []networkingv1.IngressPortStatus {
	if !slices.ContainsFunc(ports, func(p int32) bool { return p != 80 && p != 443 }) {
		return nil
	}
	sorted := slices.Clone(ports)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	out := make([]networkingv1.IngressPortStatus, 0, len(sorted))
	for _, p := range sorted {
		out = append(out, networkingv1.IngressPortStatus{Port: p, Protocol: corev1.ProtocolTCP})
	}
	return out
}

// serviceStatus copies a Service's load-balancer addresses and external
// IPs.
func serviceStatus(svc *corev1.Service) []networkingv1.IngressLoadBalancerIngress {
	var out []networkingv1.IngressLoadBalancerIngress
	for _, in := range svc.Status.LoadBalancer.Ingress {
		e := networkingv1.IngressLoadBalancerIngress{IP: in.IP, Hostname: in.Hostname}
		for _, p := range in.Ports {
			e.Ports = append(e.Ports, networkingv1.IngressPortStatus{Port: p.Port, Protocol: p.Protocol, Error: p.Error})
		}
		out = append(out, e)
	}
	for _, ip := range svc.Spec.ExternalIPs {
		out = append(out, networkingv1.IngressLoadBalancerIngress{IP: ip})
	}
	return normalizeStatus(out)
}

// normalizeStatus sorts entries, IP addresses first, then hostnames, and
// drops duplicates, so that the same addresses always give the same status.
func normalizeStatus(in []networkingv1.IngressLoadBalancerIngress) []networkingv1.IngressLoadBalancerIngress {
	if len(in) == 0 {
		return nil
	}
	out := slices.Clone(in)
	slices.SortStableFunc(out, func(a, b networkingv1.IngressLoadBalancerIngress) int {
		return cmp.Or(
			cmp.Compare(hostnameOnly(a), hostnameOnly(b)),
			cmp.Compare(a.IP, b.IP),
			cmp.Compare(a.Hostname, b.Hostname),
			cmp.Compare(entryKey(a), entryKey(b)))
	})
	return slices.CompactFunc(out, func(a, b networkingv1.IngressLoadBalancerIngress) bool { return entryKey(a) == entryKey(b) })
}

func hostnameOnly(e networkingv1.IngressLoadBalancerIngress) int {
	if e.IP == "" {
		return 1
	}
	return 0
}

// statusEqual compares entry by entry, in order: a status in another order
// is rewritten once, sorted.
func statusEqual(a, b []networkingv1.IngressLoadBalancerIngress) bool {
	return slices.EqualFunc(a, b, func(x, y networkingv1.IngressLoadBalancerIngress) bool {
		return entryKey(x) == entryKey(y)
	})
}

// statusKey is a canonical text form of a status, for comparison and logs.
func statusKey(st []networkingv1.IngressLoadBalancerIngress) string {
	parts := make([]string, len(st))
	for i, e := range st {
		parts[i] = entryKey(e)
	}
	return strings.Join(parts, ",")
}

func entryKey(e networkingv1.IngressLoadBalancerIngress) string {
	var b strings.Builder
	b.WriteString(e.IP)
	if e.Hostname != "" {
		if e.IP != "" {
			b.WriteByte('/')
		}
		b.WriteString(e.Hostname)
	}
	for i, p := range e.Ports {
		if i == 0 {
			b.WriteByte(':')
		} else {
			b.WriteByte('+')
		}
		b.WriteString(strconv.Itoa(int(p.Port)))
		if p.Protocol != corev1.ProtocolTCP {
			b.WriteString("/" + string(p.Protocol))
		}
		if p.Error != nil {
			b.WriteString("!" + *p.Error)
		}
	}
	return b.String()
}
