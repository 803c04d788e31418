package kubernetes

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	clientset "k8s.io/client-go/kubernetes"

	"ingress-controller/internal/translate"
	"ingress-controller/pkg/lbconfig"
)

// ingress-nginx's custom-headers reads response headers from a ConfigMap
// (internal/translate/customheaders.go), and BackendTLSPolicies CA
// bundles from a ConfigMap's ca.crt (translate/gatewaybackendtls.go),
// both of any name, so every ConfigMap of the watched namespaces is
// watched, but only when some header is allowed
// (Options.AllowedResponseHeaders) or the Gateway API source is on: else
// nothing could be read. ConfigMaps hold all kinds of configuration, so
// their informer keeps only what the translator reads (trimConfigMap):
// the keys, for the problems that name them, the values of the allowed
// ones, cut just past the longest value taken, and with the Gateway API
// the CA bundles, cut just past the largest one taken. A change of such
// a ConfigMap is served as any other change.

//
// Gateway API's frontend client certificate validation reads the CA
// bundle under ca.crt of the ConfigMaps a Gateway names
// (internal/translate/gatewayclientauth.go): with the Gateway API source
// on, that value is kept too, cut one byte past the bundle's bound.

// configMapsFactory watches the ConfigMaps of ns, trimmed to the values of
// the header names allowed, and of ca.crt with keepCA.
func configMapsFactory(client clientset.Interface, ns string, allowed []string, keepCA bool) informers.SharedInformerFactory {
	return informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithNamespace(ns), informers.WithTransform(func(obj any) (any, error) { return trimConfigMap(obj, allowed, keepCA) }))
}

// trimConfigMap is stripUnused, and for a ConfigMap drops its labels,
// annotations and binary data and the values of the keys that allowed
// does not name (case aside), and cuts the others one byte past
// lbconfig.MaxHeaderValueBytes, so that the translator still refuses them;
// with keepCA, ca.crt is kept (client and backend CA bundles), cut one
// byte past lbconfig.MaxBackendCAPEMBytes.
func trimConfigMap(obj any, allowed []string, keepCA bool) (any, error) {
	obj, err := stripUnused(obj)
	cm, ok := obj.(*corev1.ConfigMap)
	if err != nil || !ok {
		return obj, err
	}
	cm.Labels, cm.Annotations, cm.BinaryData = nil, nil, nil
	for k, v := range cm.Data {
		switch {
		case keepCA && k == translate.ConfigMapCAKey:
			if len(v) > lbconfig.MaxBackendCAPEMBytes+1 {
				cm.Data[k] = strings.Clone(v[:lbconfig.MaxBackendCAPEMBytes+1])
			}
		case !slices.ContainsFunc(allowed, func(a string) bool { return strings.EqualFold(a, k) }):
			cm.Data[k] = ""
		case len(v) > lbconfig.MaxHeaderValueBytes+1:
			cm.Data[k] = strings.Clone(v[:lbconfig.MaxHeaderValueBytes+1])
		}
	}
	return cm, nil
}
