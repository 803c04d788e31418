package kubernetes

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
	gatewayinformers "sigs.k8s.io/gateway-api/pkg/client/informers/externalversions"
	gatewaylisters "sigs.k8s.io/gateway-api/pkg/client/listers/apis/v1"
)

// BackendTLSPolicies (gateway.networking.k8s.io/v1, of the standard
// channel since v1.4) are an optional kind (optionalkind.go), as
// TCPRoutes are: a cluster without their CRD keeps its Gateways served.
// The CA bundles they name are read from the ConfigMaps (configmaps.go).

// watchBackendTLSPolicies sets up the BackendTLSPolicy informers of the
// watched namespaces, started once discovery finds the kind, and returns
// the listers in the order of namespaces.
func (s *Source) watchBackendTLSPolicies(gw gatewayclient.Interface, namespaces []string) ([]gatewaylisters.BackendTLSPolicyLister, error) {
	return watchOptionalGateway(s, gw, namespaces, "backendtlspolicies", func(f gatewayinformers.SharedInformerFactory) (cache.SharedIndexInformer, gatewaylisters.BackendTLSPolicyLister) {
		policies := f.Gateway().V1().BackendTLSPolicies()
		return policies.Informer(), policies.Lister()
	})
}

// writeBackendTLSPolicies writes the status.ancestors of the policies
// whose entries of ours differ from want (by "<namespace>/<name>").
func (w *GatewayStatusWriter) writeBackendTLSPolicies(ctx context.Context, policies []*gatewayv1.BackendTLSPolicy,
	want map[string][]gatewayv1.PolicyAncestorStatus, now metav1.Time,
) []error {
	var errs []error
	for _, p := range policies {
		key := p.Namespace + "/" + p.Name
		ancestors := policyAncestors(p.Status.Ancestors, want[key], now)
		if equality.Semantic.DeepEqual(p.Status.Ancestors, ancestors) {
			continue
		}
		p = p.DeepCopy()
		p.Status.Ancestors = ancestors
		errs = append(errs, w.write(ctx, "BackendTLSPolicy", key, func(ctx context.Context) error {
			_, err := w.opts.Client.GatewayV1().BackendTLSPolicies(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
			return err
		}))
	}
	return errs
}

// policyAncestors returns the status.ancestors of a policy: the entries
// of other controllers as they are, then ours as want says.
func policyAncestors(cur, want []gatewayv1.PolicyAncestorStatus, now metav1.Time) []gatewayv1.PolicyAncestorStatus {
	return ownEntries(cur, want, now,
		func(a gatewayv1.PolicyAncestorStatus) gatewayv1.GatewayController { return a.ControllerName },
		func(a, b gatewayv1.PolicyAncestorStatus) bool {
			return equality.Semantic.DeepEqual(a.AncestorRef, b.AncestorRef)
		},
		func(a *gatewayv1.PolicyAncestorStatus) *[]metav1.Condition { return &a.Conditions })
}
