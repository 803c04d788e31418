package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	clientset "k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/tools/cache"

	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"ingress-controller/internal/engine"
	"ingress-controller/internal/translate"
)

var _ engine.Source = (*Source)(nil)

// lastAppliedAnnotation holds a full copy of objects created with kubectl
// apply (for a Secret, its key material); nothing here reads it.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// syncLogInterval is how often Run says which caches it still waits for.
const syncLogInterval = 10 * time.Second

// Options configure a Source.
type Options struct {
	// Client talks to the API server.
	Client clientset.Interface
	// StatusKick, if set, is fired when an Ingress (its status included)
	// or the publish Service changes: give the same to the StatusWriter.
	StatusKick StatusKick
	// Namespaces are the namespaces whose Ingresses, Services,
	// EndpointSlices and Secrets are watched; none (or "") means all.
	Namespaces []string
	// PublishService, "namespace/name", is a Service whose load-balancer
	// addresses the StatusWriter publishes. The source watches it, in its
	// namespace whether or not that is watched.
	PublishService string
	// Gateway, when set, turns the Gateway API source on (gatewayapi.go):
	// the Gateway API objects go into every snapshot.
	Gateway gatewayclient.Interface
	// GatewayKick, if set, is fired when a Gateway API object or a
	// Namespace changes: give the same to the GatewayStatusWriter.
	GatewayKick StatusKick
	// GatewayServices says the Gateway API status writer keeps the
	// Gateways' Services (gatewayservice.go): Service and EndpointSlice
	// changes wake it too.
	GatewayServices bool
	// AllowedResponseHeaders, when set, turns the ConfigMap informers on
	// (configmaps.go): the header names ingress-nginx's custom-headers may
	// set, as the translator's Options.NginxAllowedResponseHeaders.
	AllowedResponseHeaders []string
	Logger                 *slog.Logger
}

// Source watches a cluster through shared informers and serves snapshots of
// it to the engine. Create it with New, then call Run.
type Source struct {
	log       *slog.Logger
	factories []informerFactory
	caches    []namedCache
	scopes    []namespaceListers
	classes   networkinglisters.IngressClassLister

	publishNamespace, publishName string
	publishLister                 corelisters.ServiceLister // nil without a publish Service

	synced    chan struct{} // closed once every cache has synced
	stopped   chan struct{} // closed when Run returns
	isSynced  atomic.Bool
	changed   atomic.Pointer[func()]
	startOnce sync.Once

	// statusKick is fired when an Ingress (including its status) or the
	// publish Service changes.
	statusKick StatusKick
	// gateway reads the Gateway API objects; nil when that source is off.
	gateway     *gatewayListers
	gatewayKick StatusKick
}

// informerFactory is a shared informer factory of any clientset.
type informerFactory interface {
	Start(stopCh <-chan struct{})
	Shutdown()
}

// namespaceListers reads the objects of one watched namespace ("" for all).
type namespaceListers struct {
	ingresses networkinglisters.IngressLister
	services  corelisters.ServiceLister
	slices    discoverylisters.EndpointSliceLister
	secrets   corelisters.SecretLister
	// auth are the Opaque Secrets, trimmed to what basic authentication
	// reads (authsecrets.go).
	auth corelisters.SecretLister
	// configMaps, trimmed (configmaps.go), are nil without allowed
	// response headers.
	configMaps corelisters.ConfigMapLister
}

type namedCache struct {
	name   string
	synced cache.InformerSynced
}

// New sets up the informers; nothing talks to the API server before Run.
func New(opts Options) (*Source, error) {
	if opts.Client == nil {
		return nil, errors.New("kubernetes source: no client")
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Source{
		log:         log.With("source", "kubernetes"),
		synced:      make(chan struct{}),
		stopped:     make(chan struct{}),
		statusKick:  opts.StatusKick,
		gatewayKick: opts.GatewayKick,
	}
	namespaces := normalizeNamespaces(opts.Namespaces)
	for _, ns := range namespaces {
		if err := s.watchNamespace(opts.Client, ns, opts.AllowedResponseHeaders, opts.Gateway != nil, opts.Gateway != nil && opts.GatewayServices); err != nil {
			return nil, err
		}
	}
	// IngressClasses are cluster-scoped: one factory whatever the namespaces.
	cf := informers.NewSharedInformerFactoryWithOptions(opts.Client, 0, informers.WithTransform(stripUnused))
	ci := cf.Networking().V1().IngressClasses()
	if err := s.addCache("ingressclasses", ci.Informer(), s.onChange(nil)); err != nil {
		return nil, err
	}
	s.classes = ci.Lister()
	s.factories = append(s.factories, cf)

	if opts.Gateway != nil {
		if err := s.watchGatewayAPI(opts.Client, opts.Gateway, namespaces); err != nil {
			return nil, err
		}
	}
	if opts.PublishService != "" {
		ns, name, ok := strings.Cut(opts.PublishService, "/")
		if !ok || ns == "" || name == "" {
			return nil, fmt.Errorf("publish service %q: want namespace/name", opts.PublishService)
		}
		s.publishNamespace, s.publishName = ns, name
		pf := informers.NewSharedInformerFactoryWithOptions(opts.Client, 0,
			informers.WithNamespace(ns),
			informers.WithTransform(stripUnused),
			informers.WithTweakListOptions(func(o *metav1.ListOptions) {
				o.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
			}))
		pi := pf.Core().V1().Services()
		if err := s.addCache("publish service "+opts.PublishService, pi.Informer(), s.onStatusInput()); err != nil {
			return nil, err
		}
		s.publishLister = pi.Lister()
		s.factories = append(s.factories, pf)
	}
	return s, nil
}

// normalizeNamespaces returns the namespaces sorted and unique, or [""]
// (all namespaces) when none is given or one is "".
func normalizeNamespaces(in []string) []string {
	var out []string
	for _, ns := range in {
		ns = strings.TrimSpace(ns)
		if ns == "" {
			return []string{metav1.NamespaceAll}
		}
		out = append(out, ns)
	}
	if len(out) == 0 {
		return []string{metav1.NamespaceAll}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// watchNamespace sets up the informers of namespace ns; with gateway,
// the Gateway API source is on and the ConfigMaps' CA bundles are read
// (configmaps.go); with gatewayServices, Services and EndpointSlices wake
// the Gateway API status writer.
func (s *Source) watchNamespace(client clientset.Interface, ns string, allowedHeaders []string, gateway, gatewayServices bool) error {
	where := "in namespace " + ns
	if ns == metav1.NamespaceAll {
		where = "in all namespaces"
	}
	f := informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithNamespace(ns), informers.WithTransform(stripUnused))
	// Only TLS Secrets here: the others can be many and large, and hold
	// credentials the controller has no business caching (Opaque ones
	// are watched trimmed, for basic authentication: authsecrets.go).
	sf := informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithNamespace(ns), informers.WithTransform(stripUnused),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("type", string(corev1.SecretTypeTLS)).String()
		}))
	// The translator reads only slices that name their Service.
	ef := informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithNamespace(ns), informers.WithTransform(stripUnused),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.LabelSelector = discoveryv1.LabelServiceName
		}))

	ing := f.Networking().V1().Ingresses()
	svc := f.Core().V1().Services()
	eps := ef.Discovery().V1().EndpointSlices()
	sec := sf.Core().V1().Secrets()
	af := authSecretsFactory(client, ns)
	auth := af.Core().V1().Secrets()
	for _, c := range []struct {
		name     string
		informer cache.SharedIndexInformer
		handler  cache.ResourceEventHandler
	}{
		{"ingresses", ing.Informer(), s.onChange(isIngressStatusOnly)},
		{"services", svc.Informer(), s.onChange(nil)},
		{"endpointslices", eps.Informer(), s.onChange(nil)},
		{"tls secrets", sec.Informer(), s.onChange(nil)},
		{"opaque secrets", auth.Informer(), s.onChange(nil)},
	} {
		if err := s.addCache(c.name+" "+where, c.informer, c.handler); err != nil {
			return err
		}
	}
	// Ingress status changes matter only to the status writer.
	if _, err := ing.Informer().AddEventHandler(s.onStatusInput()); err != nil {
		return err
	}
	if gatewayServices {
		// The Gateways' Services (gatewayservice.go).
		for _, inf := range []cache.SharedIndexInformer{svc.Informer(), eps.Informer()} {
			if _, err := inf.AddEventHandler(s.onGatewayObjectInput()); err != nil {
				return err
			}
		}
	}
	scope := namespaceListers{
		ingresses: ing.Lister(),
		services:  svc.Lister(),
		slices:    eps.Lister(),
		secrets:   sec.Lister(),
		auth:      auth.Lister(),
	}
	s.factories = append(s.factories, f, sf, ef, af)
	if len(allowedHeaders) > 0 || gateway {
		cf := configMapsFactory(client, ns, allowedHeaders, gateway)
		cms := cf.Core().V1().ConfigMaps()
		handler := s.onChange(nil)
		if gateway {
			handler = s.onGatewayChange(nil) // BackendTLSPolicies' status
		}
		if err := s.addCache("configmaps "+where, cms.Informer(), handler); err != nil {
			return err
		}
		scope.configMaps = cms.Lister()
		s.factories = append(s.factories, cf)
	}
	s.scopes = append(s.scopes, scope)
	return nil
}

func (s *Source) addCache(name string, inf cache.SharedIndexInformer, h cache.ResourceEventHandler) error {
	if _, err := inf.AddEventHandler(h); err != nil {
		return fmt.Errorf("kubernetes source: %s: %w", name, err)
	}
	s.caches = append(s.caches, namedCache{name: name, synced: inf.HasSynced})
	return nil
}

// stripUnused drops what is large and never read from an object before it
// is cached. The informer hands it a freshly decoded object, so changing it
// in place is safe.
func stripUnused(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
		if a := m.GetAnnotations(); a[lastAppliedAnnotation] != "" {
			a = maps.Clone(a)
			delete(a, lastAppliedAnnotation)
			m.SetAnnotations(a)
		}
	}
	return obj, nil
}

// onChange triggers the engine on every add, update and delete, except
// updates that did not change the resourceVersion and updates that ignore
// says do not matter.
func (s *Source) onChange(ignore func(old, cur any) bool) cache.ResourceEventHandler {
	return notifyOnChange(s.trigger, ignore)
}

// onStatusInput wakes the Ingress status writer on every change.
func (s *Source) onStatusInput() cache.ResourceEventHandler {
	return notifyOnChange(s.statusKick.Fire, nil)
}

// notifyOnChange calls notify on every add, update and delete, except
// updates that did not change the resourceVersion and updates that ignore
// (if set) says do not matter.
func notifyOnChange(notify func(), ignore func(old, cur any) bool) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { notify() },
		UpdateFunc: func(old, cur any) {
			if sameVersion(old, cur) || (ignore != nil && ignore(old, cur)) {
				return
			}
			notify()
		},
		DeleteFunc: func(any) { notify() },
	}
}

// trigger calls the engine once the caches have synced; Run triggers once
// at that point for everything that came before.
func (s *Source) trigger() {
	if !s.isSynced.Load() {
		return
	}
	if f := s.changed.Load(); f != nil {
		(*f)()
	}
}

func sameVersion(old, cur any) bool {
	o, err1 := meta.Accessor(old)
	c, err2 := meta.Accessor(cur)
	return err1 == nil && err2 == nil && o.GetResourceVersion() == c.GetResourceVersion()
}

// isIngressStatusOnly reports an Ingress update that the translator cannot
// see: the generation (bumped on spec changes), labels and annotations are
// unchanged. The status writer's own writes are such updates.
func isIngressStatusOnly(old, cur any) bool {
	o, ok1 := old.(*networkingv1.Ingress)
	c, ok2 := cur.(*networkingv1.Ingress)
	return ok1 && ok2 && o.Generation == c.Generation && o.UID == c.UID &&
		maps.Equal(o.Annotations, c.Annotations) && maps.Equal(o.Labels, c.Labels)
}

// Run starts the informers, waits until every cache has synced, then calls
// changed once and after every change, until ctx ends. Call it once.
func (s *Source) Run(ctx context.Context, changed func()) error {
	ran := false
	s.startOnce.Do(func() { ran = true })
	if !ran {
		return errors.New("kubernetes source: Run called twice")
	}
	defer close(s.stopped)
	s.changed.Store(&changed)
	for _, f := range s.factories {
		f.Start(ctx.Done())
	}
	defer func() {
		// Shutdown waits for the informers, which stop with ctx.
		for _, f := range s.factories {
			f.Shutdown()
		}
	}()
	start := time.Now()
	if !s.waitForCaches(ctx) {
		return nil
	}
	s.isSynced.Store(true)
	close(s.synced)
	s.log.Info("caches synced", "caches", len(s.caches), "duration", time.Since(start).Round(time.Millisecond))
	changed()
	<-ctx.Done()
	return nil
}

// waitForCaches returns true once every cache has synced, false if ctx
// ended first. It says which caches it waits for, since a cache that never
// syncs usually means missing RBAC permissions.
func (s *Source) waitForCaches(ctx context.Context) bool {
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	nextLog := time.Now().Add(syncLogInterval)
	for {
		pending := s.pendingCaches()
		if len(pending) == 0 {
			return true
		}
		if time.Now().After(nextLog) {
			s.log.Warn("still waiting for caches to sync; check the API server and the controller's RBAC permissions", "pending", strings.Join(pending, ", "))
			nextLog = time.Now().Add(syncLogInterval)
		}
		select {
		case <-ctx.Done():
			return false
		case <-poll.C:
		}
	}
}

func (s *Source) pendingCaches() []string {
	var pending []string
	for _, c := range s.caches {
		if !c.synced() {
			pending = append(pending, c.name)
		}
	}
	return pending
}

// WaitForSync blocks until every cache has synced, or returns ctx's error.
// Start the engine only after it: its first reconcile must see the whole
// cluster.
func (s *Source) WaitForSync(ctx context.Context) error {
	select {
	case <-s.synced:
		return nil
	case <-s.stopped:
		return errors.New("kubernetes source stopped before its caches synced")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Ready is an admin.Check: nil once every cache has synced.
func (s *Source) Ready(context.Context) error {
	if s.isSynced.Load() {
		return nil
	}
	return fmt.Errorf("kubernetes caches not synced yet: %s", strings.Join(s.pendingCaches(), ", "))
}

// Snapshot implements engine.Source. It blocks until the caches have synced
// so that no config is built from a partial view; if Run stops first it
// returns an empty snapshot.
func (s *Source) Snapshot() *translate.Snapshot {
	select {
	case <-s.synced:
	case <-s.stopped:
		select {
		case <-s.synced:
		default:
			return &translate.Snapshot{}
		}
	}
	snap := &translate.Snapshot{}
	for _, l := range s.scopes {
		snap.Ingresses = appendListed(snap.Ingresses, l.ingresses.List)
		snap.Services = appendListed(snap.Services, l.services.List)
		snap.EndpointSlices = appendListed(snap.EndpointSlices, l.slices.List)
		snap.Secrets = appendListed(snap.Secrets, l.secrets.List)
		snap.Secrets = appendListed(snap.Secrets, l.auth.List)
		if l.configMaps != nil {
			snap.ConfigMaps = appendListed(snap.ConfigMaps, l.configMaps.List)
		}
	}
	snap.IngressClasses = appendListed(snap.IngressClasses, s.classes.List)
	s.gateway.addTo(snap)
	return snap
}

func appendListed[T any](dst []*T, list func(labels.Selector) ([]*T, error)) []*T {
	// Listing a cache with a selector that matches everything cannot fail.
	items, _ := list(labels.Everything())
	return append(dst, items...)
}

// ingresses lists every cached Ingress, for the status writer.
func (s *Source) ingresses() []*networkingv1.Ingress {
	var out []*networkingv1.Ingress
	for _, l := range s.scopes {
		out = appendListed(out, l.ingresses.List)
	}
	return out
}

// publishService returns the cached publish Service; ok is false when none
// is configured, svc is nil when it does not exist.
func (s *Source) publishService() (svc *corev1.Service, ok bool) {
	if s.publishLister == nil {
		return nil, false
	}
	svc, err := s.publishLister.Services(s.publishNamespace).Get(s.publishName)
	if err != nil {
		return nil, true
	}
	return svc, true
}
