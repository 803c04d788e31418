package kubernetes

import (
	"bytes"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	clientset "k8s.io/client-go/kubernetes"

	"ingress-controller/internal/translate"
	"ingress-controller/pkg/lbconfig"
)

// Basic authentication reads htpasswd files from Opaque Secrets, and
// backend TLS its CA bundle and client certificate. Opaque Secrets hold
// all kinds of credentials, which the controller has no business caching,
// so their informer keeps only what those can read (trimAuthSecret): the
// key "auth" (an htpasswd file), the keys whose value looks like a
// password hash (one user of an auth-map), "ca.crt" (certificates, no
// secret), and "tls.crt" with "tls.key" when the Secret has both (a
// client certificate, kept as the TLS Secrets' are). Any other key is
// never cached.

// authSecretsFactory watches the Opaque Secrets of ns.
func authSecretsFactory(client clientset.Interface, ns string) informers.SharedInformerFactory {
	return informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithNamespace(ns), informers.WithTransform(trimAuthSecret),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("type", string(corev1.SecretTypeOpaque)).String()
		}))
}

// trimAuthSecret is stripUnused, and for a Secret drops every key basic
// authentication and backend TLS cannot read.
func trimAuthSecret(obj any) (any, error) {
	obj, err := stripUnused(obj)
	sec, ok := obj.(*corev1.Secret)
	if err != nil || !ok {
		return obj, err
	}
	kept := map[string][]byte{}
	_, crt := sec.Data[corev1.TLSCertKey]
	_, key := sec.Data[corev1.TLSPrivateKeyKey]
	pair := crt && key
	for k, v := range sec.Data {
		switch {
		case k == translate.AuthSecretKey || k == translate.BackendTLSCAKey || looksLikeHash(v):
		case pair && (k == corev1.TLSCertKey || k == corev1.TLSPrivateKeyKey):
		default:
			continue
		}
		kept[k] = v
	}
	sec.Data, sec.StringData = kept, nil
	return sec, nil
}

// looksLikeHash reports whether v, without surrounding space, could be a
// password hash: short, and in the form of one of the formats (a malformed
// or too costly one is kept, so that the translator says what is wrong).
func looksLikeHash(v []byte) bool {
	v = bytes.TrimSpace(v)
	return len(v) <= lbconfig.MaxHashLength && (bytes.HasPrefix(v, []byte("$")) || bytes.HasPrefix(v, []byte("{SHA}")))
}
