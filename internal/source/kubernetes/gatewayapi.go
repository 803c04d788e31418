package kubernetes

import (
	"maps"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	clientset "k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
	gatewayinformers "sigs.k8s.io/gateway-api/pkg/client/informers/externalversions"
	gatewaylisters "sigs.k8s.io/gateway-api/pkg/client/listers/apis/v1"
	gatewaybetalisters "sigs.k8s.io/gateway-api/pkg/client/listers/apis/v1beta1"

	"ingress-controller/internal/translate"
)

// The Gateway API objects (Options.Gateway): GatewayClasses and
// Namespaces (whose labels allowedRoutes selectors read) cluster-wide,
// Gateways, HTTPRoutes, GRPCRoutes, TLSRoutes (v1, the version the standard
// channel serves), TCPRoutes, BackendTLSPolicies and ListenerSets (if
// served) and
// ReferenceGrants in the watched namespaces.
// Their status-only updates, which the Gateway API status writer makes,
// do not trigger a reconcile; every change wakes that writer.

// gatewayListers read the cached Gateway API objects.
type gatewayListers struct {
	classes    gatewaylisters.GatewayClassLister
	namespaces corelisters.NamespaceLister
	scopes     []gatewayScope
}

// gatewayScope reads the Gateway API objects of one watched namespace.
type gatewayScope struct {
	gateways gatewaylisters.GatewayLister
	routes   gatewaylisters.HTTPRouteLister
	grpc     gatewaylisters.GRPCRouteLister
	tls      gatewaylisters.TLSRouteLister
	grants   gatewaybetalisters.ReferenceGrantLister
	// tcpRoutes list nothing when TCPRoutes are not served (gatewaytcp.go).
	tcpRoutes gatewaylisters.TCPRouteLister
	// tlsPolicies list nothing when BackendTLSPolicies are not served
	// (gatewaybackendtls.go).
	tlsPolicies gatewaylisters.BackendTLSPolicyLister
	// listenerSets list nothing when ListenerSets are not served
	// (gatewaylistenerset.go).
	listenerSets gatewaylisters.ListenerSetLister
}

// watchGatewayAPI sets up the informers of the Gateway API objects.
func (s *Source) watchGatewayAPI(client clientset.Interface, gw gatewayclient.Interface, namespaces []string) error {
	l := &gatewayListers{}
	cf := gatewayinformers.NewSharedInformerFactoryWithOptions(gw, 0, gatewayinformers.WithTransform(stripUnused))
	classes := cf.Gateway().V1().GatewayClasses()
	if err := s.addCache("gatewayclasses", classes.Informer(), s.onGatewayChange(isGatewayClassStatusOnly)); err != nil {
		return err
	}
	l.classes = classes.Lister()
	nf := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(stripUnused))
	ns := nf.Core().V1().Namespaces()
	if err := s.addCache("namespaces", ns.Informer(), s.onGatewayChange(nil)); err != nil {
		return err
	}
	l.namespaces = ns.Lister()
	s.factories = append(s.factories, cf, nf)
	tcpRoutes, err := s.watchTCPRoutes(gw, namespaces)
	if err != nil {
		return err
	}
	tlsPolicies, err := s.watchBackendTLSPolicies(gw, namespaces)
	if err != nil {
		return err
	}
	listenerSets, err := s.watchListenerSets(gw, namespaces)
	if err != nil {
		return err
	}
	for i, n := range namespaces {
		f := gatewayinformers.NewSharedInformerFactoryWithOptions(gw, 0, gatewayinformers.WithNamespace(n), gatewayinformers.WithTransform(stripUnused))
		gws := f.Gateway().V1().Gateways()
		routes := f.Gateway().V1().HTTPRoutes()
		grpc := f.Gateway().V1().GRPCRoutes()
		tlsRoutes := f.Gateway().V1().TLSRoutes()
		grants := f.Gateway().V1beta1().ReferenceGrants()
		where := " in namespace " + n
		if n == "" {
			where = " in all namespaces"
		}
		if err := s.addCache("gateways"+where, gws.Informer(), s.onGatewayChange(isStatusOnly)); err != nil {
			return err
		}
		if err := s.addCache("httproutes"+where, routes.Informer(), s.onGatewayChange(isStatusOnly)); err != nil {
			return err
		}
		if err := s.addCache("grpcroutes"+where, grpc.Informer(), s.onGatewayChange(isStatusOnly)); err != nil {
			return err
		}
		if err := s.addCache("tlsroutes"+where, tlsRoutes.Informer(), s.onGatewayChange(isStatusOnly)); err != nil {
			return err
		}
		if err := s.addCache("referencegrants"+where, grants.Informer(), s.onGatewayChange(nil)); err != nil {
			return err
		}
		l.scopes = append(l.scopes, gatewayScope{gateways: gws.Lister(), routes: routes.Lister(), grpc: grpc.Lister(), tls: tlsRoutes.Lister(), grants: grants.Lister(), tcpRoutes: tcpRoutes[i], tlsPolicies: tlsPolicies[i], listenerSets: listenerSets[i]})
		s.factories = append(s.factories, f)
	}
	s.gateway = l
	return nil
}

// onGatewayChange triggers the engine as onChange does, and wakes the
// Gateway API status writer on every change.
func (s *Source) onGatewayChange(ignore func(old, cur any) bool) cache.ResourceEventHandler {
	reconcile := s.onChange(ignore)
	status := s.onGatewayStatusInput()
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { reconcile.OnAdd(obj, false); status.OnAdd(obj, false) },
		UpdateFunc: func(old, cur any) { reconcile.OnUpdate(old, cur); status.OnUpdate(old, cur) },
		DeleteFunc: func(obj any) { reconcile.OnDelete(obj); status.OnDelete(obj) },
	}
}

// onGatewayStatusInput wakes the Gateway API status writer on every
// change.
func (s *Source) onGatewayStatusInput() cache.ResourceEventHandler {
	return notifyOnChange(s.gatewayKick.Fire, nil)
}

func isGatewayClassStatusOnly(old, cur any) bool {
	o, ok1 := old.(*gatewayv1.GatewayClass)
	c, ok2 := cur.(*gatewayv1.GatewayClass)
	return ok1 && ok2 && o.Generation == c.Generation && o.UID == c.UID && maps.Equal(o.Labels, c.Labels)
}

// isStatusOnly reports an update of a Gateway or route (of any kind)
// that changed neither its spec (generation) nor its identity,
// annotations or labels: a status write, which needs no reconcile. A
// Gateway's status.addresses keeps its pool address across restarts
// (translate/gatewayaddress.go), but within a run the translator already
// holds it.
func isStatusOnly(old, cur any) bool {
	o, ok1 := old.(metav1.Object)
	c, ok2 := cur.(metav1.Object)
	return ok1 && ok2 && o.GetGeneration() == c.GetGeneration() && o.GetUID() == c.GetUID() &&
		maps.Equal(o.GetAnnotations(), c.GetAnnotations()) && maps.Equal(o.GetLabels(), c.GetLabels())
}

// addTo adds the cached Gateway API objects to snap.
func (l *gatewayListers) addTo(snap *translate.Snapshot) {
	if l == nil {
		return
	}
	snap.GatewayClasses = appendListed(snap.GatewayClasses, l.classes.List)
	snap.Namespaces = appendListed(snap.Namespaces, l.namespaces.List)
	for _, sc := range l.scopes {
		snap.Gateways = appendListed(snap.Gateways, sc.gateways.List)
		snap.HTTPRoutes = appendListed(snap.HTTPRoutes, sc.routes.List)
		snap.GRPCRoutes = appendListed(snap.GRPCRoutes, sc.grpc.List)
		snap.TLSRoutes = appendListed(snap.TLSRoutes, sc.tls.List)
		snap.ReferenceGrants = appendListed(snap.ReferenceGrants, sc.grants.List)
		snap.TCPRoutes = appendListed(snap.TCPRoutes, sc.tcpRoutes.List)
		snap.BackendTLSPolicies = appendListed(snap.BackendTLSPolicies, sc.tlsPolicies.List)
		snap.ListenerSets = appendListed(snap.ListenerSets, sc.listenerSets.List)
	}
}
