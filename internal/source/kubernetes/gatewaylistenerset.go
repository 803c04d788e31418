package kubernetes

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
	gatewayinformers "sigs.k8s.io/gateway-api/pkg/client/informers/externalversions"
	gatewaylisters "sigs.k8s.io/gateway-api/pkg/client/listers/apis/v1"
)

// ListenerSets (gateway.networking.k8s.io/v1 since Gateway API v1.5) are
// an optional kind (optionalkind.go), as TCPRoutes are: a cluster without
// their CRD keeps its Gateways served. The translator adds their listeners
// to the Gateways that allow them (translate/gatewaylistenerset.go).

// watchListenerSets sets up the ListenerSet informers of the watched
// namespaces, started once discovery finds the kind, and returns the
// listers in the order of namespaces.
func (s *Source) watchListenerSets(gw gatewayclient.Interface, namespaces []string) ([]gatewaylisters.ListenerSetLister, error) {
	return watchOptionalGateway(s, gw, namespaces, "listenersets", func(f gatewayinformers.SharedInformerFactory) (cache.SharedIndexInformer, gatewaylisters.ListenerSetLister) {
		sets := f.Gateway().V1().ListenerSets()
		return sets.Informer(), sets.Lister()
	})
}

// mergeListenerSetStatus keeps in want the transition times of cur's
// conditions and its listeners'.
func mergeListenerSetStatus(cur gatewayv1.ListenerSetStatus, want *gatewayv1.ListenerSetStatus, now metav1.Time) {
	want.Conditions = mergeConditions(cur.Conditions, want.Conditions, now)
	mergeListenerConditions(cur.Listeners, want.Listeners, now, listenerSetListener)
}

// listenerSetListener gives mergeListenerConditions a ListenerSet
// listener's name and conditions.
func listenerSetListener(l *gatewayv1.ListenerEntryStatus) (gatewayv1.SectionName, *[]metav1.Condition) {
	return l.Name, &l.Conditions
}
