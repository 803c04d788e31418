package kubernetes

import (
	"k8s.io/client-go/tools/cache"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
	gatewayinformers "sigs.k8s.io/gateway-api/pkg/client/informers/externalversions"
	gatewaylisters "sigs.k8s.io/gateway-api/pkg/client/listers/apis/v1"
)

// TCPRoutes (gateway.networking.k8s.io/v1) are an optional kind
// (optionalkind.go): a cluster whose Gateway API CRDs predate them, or
// that left them out, keeps its Gateways and HTTPRoutes served.

// watchTCPRoutes sets up the TCPRoute informers of the watched
// namespaces, started once discovery finds the kind, and returns the
// listers in the order of namespaces.
func (s *Source) watchTCPRoutes(gw gatewayclient.Interface, namespaces []string) ([]gatewaylisters.TCPRouteLister, error) {
	return watchOptionalGateway(s, gw, namespaces, "tcproutes", func(f gatewayinformers.SharedInformerFactory) (cache.SharedIndexInformer, gatewaylisters.TCPRouteLister) {
		routes := f.Gateway().V1().TCPRoutes()
		return routes.Informer(), routes.Lister()
	})
}

// watchOptionalGateway sets up the informers of resource, an optional
// Gateway API kind, in the watched namespaces, with kind picking its
// informer and lister from a namespace's factory, and returns the
// listers in the order of namespaces.
func watchOptionalGateway[L any](s *Source, gw gatewayclient.Interface, namespaces []string, resource string, kind func(gatewayinformers.SharedInformerFactory) (cache.SharedIndexInformer, L)) ([]L, error) {
	o := &optionalKind{groupVersion: gatewayv1.GroupVersion.String(), resource: resource, disc: gw.Discovery(), log: s.log}
	var listers []L
	for _, n := range namespaces {
		f := gatewayinformers.NewSharedInformerFactoryWithOptions(gw, 0, gatewayinformers.WithNamespace(n), gatewayinformers.WithTransform(stripUnused))
		inf, lister := kind(f)
		if _, err := inf.AddEventHandler(s.onGatewayChange(isStatusOnly)); err != nil {
			return nil, err
		}
		o.factories = append(o.factories, f)
		o.informers = append(o.informers, inf)
		listers = append(listers, lister)
	}
	s.factories = append(s.factories, o)
	s.caches = append(s.caches, namedCache{name: resource + " (if served)", synced: o.hasSynced})
	return listers, nil
}
