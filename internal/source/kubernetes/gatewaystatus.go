package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientset "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
	gatewayclientv1 "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/typed/apis/v1"

	"ingress-controller/internal/translate"
	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
)

// GatewayStatusOptions configure a GatewayStatusWriter.
type GatewayStatusOptions struct {
	Client gatewayclient.Interface
	// Source supplies the cached objects (Options.Gateway must be set).
	Source *Source
	// Translate are the options the engine translates with. With
	// Translate.GatewayServices (--gateway-services) the writer keeps a
	// Service and EndpointSlices per accepted Gateway (gatewayservice.go),
	// whose changes the Source wakes it for (Options.GatewayServices).
	Translate translate.Options
	// Core is the client of those Services and EndpointSlices, required
	// with Translate.GatewayServices.
	Core clientset.Interface
	// Kick wakes the writer when a Gateway API object changes: the
	// source's Options.GatewayKick.
	Kick StatusKick
	// Recorder records the Warnings about those Services on Gateways.
	Recorder record.EventRecorder
	Logger   *slog.Logger
}

// GatewayStatusWriter writes the status of the Gateway API objects we
// own: what translate.GatewayStatus computes from the cached objects and
// the config the provider applied. It writes only while Lead runs, which
// the Election does on the leader, and only what differs, keeping the
// lastTransitionTime of conditions whose status did not change.
type GatewayStatusWriter struct {
	opts GatewayStatusOptions
	log  *slog.Logger
	kick StatusKick

	mu      sync.Mutex
	applied translate.Applied
	// noted are the warnings and logs of the last syncServices, made
	// once while they last.
	noted map[string]bool
}

// NewGatewayStatusWriter returns a writer; call Lead to make it write.
func NewGatewayStatusWriter(opts GatewayStatusOptions) (*GatewayStatusWriter, error) {
	if opts.Client == nil || opts.Source == nil {
		return nil, errors.New("gateway status writer: Client and Source are required")
	}
	if opts.Translate.GatewayServices && opts.Core == nil {
		return nil, errors.New("gateway status writer: Core is required with Translate.GatewayServices")
	}
	if opts.Kick == nil {
		opts.Kick = NewStatusKick()
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &GatewayStatusWriter{opts: opts, log: log.With("component", "gateway-status"), kick: opts.Kick}, nil
}

// Applied records the config the provider applied and its addresses;
// wire it to engine.Options.OnApplied.
func (w *GatewayStatusWriter) Applied(cfg *lbconfig.Config, res provider.Result) {
	w.mu.Lock()
	w.applied = translate.Applied{Config: cfg, Endpoints: res.Endpoints}
	w.mu.Unlock()
	w.kick.Fire()
}

// Lead writes status until ctx ends: at once, and after every change of
// the objects or the applied config; failed syncs are retried with
// backoff.
func (w *GatewayStatusWriter) Lead(ctx context.Context) {
	w.log.Info("leading: writing Gateway API status")
	retries := newRetries(statusRetryMin, statusRetryMax, w.log, "writing Gateway API status")
	var retry <-chan time.Time
	w.kick.Fire()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.kick:
		case <-retry:
		}
		err := w.sync(ctx)
		if err != nil && ctx.Err() != nil {
			return
		}
		retry = retries.after(err)
	}
}

// Resign leaves the status as it is: the next leader takes it over.
func (w *GatewayStatusWriter) Resign(context.Context) {}

// sync writes every status that differs from what it should be. Before
// the first apply it writes nothing: Programmed would say nothing true.
func (w *GatewayStatusWriter) sync(ctx context.Context) error {
	w.mu.Lock()
	applied := w.applied
	w.mu.Unlock()
	if applied.Config == nil {
		return nil
	}
	snap := w.opts.Source.Snapshot()
	want := translate.GatewayStatus(snap, w.opts.Translate, applied)
	now := metav1.Now()
	gw := w.opts.Client.GatewayV1()
	var errs []error
	errs = append(errs, writeStatuses(ctx, w, "GatewayClass", snap.GatewayClasses, want.Classes, now,
		func(c *gatewayv1.GatewayClass) *gatewayv1.GatewayClassStatus { return &c.Status }, mergeGatewayClassStatus,
		(*gatewayv1.GatewayClass).DeepCopy, func(string) gatewayclientv1.GatewayClassInterface { return gw.GatewayClasses() })...)
	errs = append(errs, writeStatuses(ctx, w, "Gateway", snap.Gateways, want.Gateways, now,
		func(g *gatewayv1.Gateway) *gatewayv1.GatewayStatus { return &g.Status }, mergeGatewayStatus, (*gatewayv1.Gateway).DeepCopy, gw.Gateways)...)
	errs = append(errs, writeRoutes(ctx, w, "HTTPRoute", snap.HTTPRoutes, want.Routes, now,
		func(r *gatewayv1.HTTPRoute) *gatewayv1.RouteStatus { return &r.Status.RouteStatus }, (*gatewayv1.HTTPRoute).DeepCopy, gw.HTTPRoutes)...)
	errs = append(errs, writeRoutes(ctx, w, "GRPCRoute", snap.GRPCRoutes, want.GRPCRoutes, now,
		func(r *gatewayv1.GRPCRoute) *gatewayv1.RouteStatus { return &r.Status.RouteStatus }, (*gatewayv1.GRPCRoute).DeepCopy, gw.GRPCRoutes)...)
	errs = append(errs, writeRoutes(ctx, w, "TLSRoute", snap.TLSRoutes, want.TLSRoutes, now,
		func(r *gatewayv1.TLSRoute) *gatewayv1.RouteStatus { return &r.Status.RouteStatus }, (*gatewayv1.TLSRoute).DeepCopy, gw.TLSRoutes)...)
	errs = append(errs, writeRoutes(ctx, w, "TCPRoute", snap.TCPRoutes, want.TCPRoutes, now,
		func(r *gatewayv1.TCPRoute) *gatewayv1.RouteStatus { return &r.Status.RouteStatus }, (*gatewayv1.TCPRoute).DeepCopy, gw.TCPRoutes)...)
	errs = append(errs, w.writeBackendTLSPolicies(ctx, snap.BackendTLSPolicies, want.BackendTLSPolicies, now)...)
	errs = append(errs, writeStatuses(ctx, w, "ListenerSet", snap.ListenerSets, want.ListenerSets, now,
		func(s *gatewayv1.ListenerSet) *gatewayv1.ListenerSetStatus { return &s.Status }, mergeListenerSetStatus, (*gatewayv1.ListenerSet).DeepCopy, gw.ListenerSets)...) // gatewaylistenerset.go
	if w.opts.Translate.GatewayServices {
		errs = append(errs, w.syncServices(ctx, snap, want)...) // gatewayservicesync.go
	}
	return errors.Join(errs...)
}

// statusClient updates the status of objects of type O.
type statusClient[O any] interface {
	UpdateStatus(ctx context.Context, o O, opts metav1.UpdateOptions) (O, error)
}

// writeStatuses writes the status of the objects of one kind that want
// has one for (by objectKey), merged with theirs by merge, where it
// differs from theirs; status finds an object's status, client its
// namespace's client.
func writeStatuses[O metav1.Object, S any, C statusClient[O]](ctx context.Context, w *GatewayStatusWriter, kind string, objs []O,
	want map[string]S, now metav1.Time,
	status func(O) *S, merge func(cur S, want *S, now metav1.Time), deepCopy func(O) O, client func(namespace string) C,
) []error {
	var errs []error
	for _, o := range objs {
		key := objectKey(o)
		st, ok := want[key]
		if !ok {
			continue
		}
		merge(*status(o), &st, now)
		if equality.Semantic.DeepEqual(*status(o), st) {
			continue
		}
		o = deepCopy(o)
		*status(o) = st
		errs = append(errs, w.write(ctx, kind, key, func(ctx context.Context) error {
			_, err := client(o.GetNamespace()).UpdateStatus(ctx, o, metav1.UpdateOptions{})
			return err
		}))
	}
	return errs
}

// objectKey is "<namespace>/<name>", or the name of an object of no
// namespace.
func objectKey(o metav1.Object) string {
	if o.GetNamespace() == "" {
		return o.GetName()
	}
	return o.GetNamespace() + "/" + o.GetName()
}

// mergeGatewayClassStatus keeps in want the transition times of cur's
// conditions.
func mergeGatewayClassStatus(cur gatewayv1.GatewayClassStatus, want *gatewayv1.GatewayClassStatus, now metav1.Time) {
	want.Conditions = mergeConditions(cur.Conditions, want.Conditions, now)
}

// mergeGatewayStatus keeps in want the transition times of cur's
// conditions and its listeners'.
func mergeGatewayStatus(cur gatewayv1.GatewayStatus, want *gatewayv1.GatewayStatus, now metav1.Time) {
	want.Conditions = mergeConditions(cur.Conditions, want.Conditions, now)
	mergeListenerConditions(cur.Listeners, want.Listeners, now, gatewayListener)
}

// writeRoutes writes the status.parents of routes of one kind whose
// entries of ours differ from want (by "<namespace>/<name>"); status
// finds a route's status, client its namespace's client.
func writeRoutes[R metav1.Object, C statusClient[R]](ctx context.Context, w *GatewayStatusWriter, kind string, routes []R,
	want map[string][]gatewayv1.RouteParentStatus, now metav1.Time,
	status func(R) *gatewayv1.RouteStatus, deepCopy func(R) R, client func(namespace string) C,
) []error {
	var errs []error
	for _, r := range routes {
		key := r.GetNamespace() + "/" + r.GetName()
		parents := routeParents(status(r).Parents, want[key], now)
		if equality.Semantic.DeepEqual(status(r).Parents, parents) {
			continue
		}
		r = deepCopy(r)
		status(r).Parents = parents
		errs = append(errs, w.write(ctx, kind, key, func(ctx context.Context) error {
			_, err := client(r.GetNamespace()).UpdateStatus(ctx, r, metav1.UpdateOptions{})
			return err
		}))
	}
	return errs
}

// write makes one status update. An object gone or changed since the
// cache saw it is no error: its change wakes the writer again.
func (w *GatewayStatusWriter) write(ctx context.Context, kind, name string, update func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, statusRequestTimeout)
	defer cancel()
	err := update(ctx)
	switch {
	case err == nil:
		w.log.Debug("status written", "kind", kind, "object", name)
		return nil
	case apierrors.IsNotFound(err), apierrors.IsConflict(err):
		return nil
	}
	return fmt.Errorf("%s %s: %w", kind, name, err)
}

// mergeConditions returns want with the lastTransitionTime of the
// condition of the same type in old when its status is the same, else
// now.
func mergeConditions(old, want []metav1.Condition, now metav1.Time) []metav1.Condition {
	out := make([]metav1.Condition, 0, len(want))
	for _, c := range want {
		c.LastTransitionTime = now
		if o := meta.FindStatusCondition(old, c.Type); o != nil && o.Status == c.Status {
			c.LastTransitionTime = o.LastTransitionTime
		}
		out = append(out, c)
	}
	return out
}

// mergeListenerConditions merges the conditions of each listener of want
// with those of cur's listener of the same name (mergeConditions), for
// a Gateway's listeners and a ListenerSet's alike: listener gives a
// listener's name and conditions.
func mergeListenerConditions[L any](cur, want []L, now metav1.Time, listener func(*L) (gatewayv1.SectionName, *[]metav1.Condition)) {
	for i := range want {
		name, conditions := listener(&want[i])
		var old []metav1.Condition
		for j := range cur {
			if n, c := listener(&cur[j]); n == name {
				old = *c
				break
			}
		}
		*conditions = mergeConditions(old, *conditions, now)
	}
}

// gatewayListener gives mergeListenerConditions a Gateway listener's
// name and conditions.
func gatewayListener(l *gatewayv1.ListenerStatus) (gatewayv1.SectionName, *[]metav1.Condition) {
	return l.Name, &l.Conditions
}

// routeParents returns the status.parents of a route: the entries of
// other controllers as they are, then ours as want says.
func routeParents(cur, want []gatewayv1.RouteParentStatus, now metav1.Time) []gatewayv1.RouteParentStatus {
	return ownEntries(cur, want, now,
		func(p gatewayv1.RouteParentStatus) gatewayv1.GatewayController { return p.ControllerName },
		func(a, b gatewayv1.RouteParentStatus) bool {
			return equality.Semantic.DeepEqual(a.ParentRef, b.ParentRef)
		},
		func(p *gatewayv1.RouteParentStatus) *[]metav1.Condition { return &p.Conditions })
}

// ownEntries returns a status list of entries by controller (a route's
// parents, a policy's ancestors): those of other controllers as they are
// in cur, then ours as want says, each keeping the transition times of
// the entry of cur for the same object (same).
func ownEntries[T any](cur, want []T, now metav1.Time, controller func(T) gatewayv1.GatewayController, same func(a, b T) bool, conditions func(*T) *[]metav1.Condition) []T {
	out := []T{}
	for _, e := range cur {
		if controller(e) != translate.GatewayControllerName {
			out = append(out, e)
		}
	}
	for _, e := range want {
		var old []metav1.Condition
		if i := slices.IndexFunc(cur, func(c T) bool { return controller(c) == controller(e) && same(c, e) }); i >= 0 {
			old = *conditions(&cur[i])
		}
		c := conditions(&e)
		*c = mergeConditions(old, *c, now)
		out = append(out, e)
	}
	return out
}
