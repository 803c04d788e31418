package kubernetes

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"ingress-controller/internal/translate"
	"ingress-controller/pkg/lbconfig"
)

// TestTrimConfigMapKeepsCA: with the Gateway API on, ca.crt is kept (cut
// one byte past the bundle's bound, so the translator still refuses it)
// and other values are dropped; without it, ca.crt is dropped too.
func TestTrimConfigMapKeepsCA(t *testing.T) {
	huge := strings.Repeat("x", lbconfig.MaxBackendCAPEMBytes+10)
	for _, c := range []struct {
		keepCA bool
		ca     string
		want   string
	}{
		{true, "-----BEGIN CERTIFICATE-----", "-----BEGIN CERTIFICATE-----"},
		{true, huge, huge[:lbconfig.MaxBackendCAPEMBytes+1]},
		{false, "-----BEGIN CERTIFICATE-----", ""},
	} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "ca", Labels: map[string]string{"a": "b"}},
			Data: map[string]string{translate.ConfigMapCAKey: c.ca, "other": "secret"}}
		out, err := trimConfigMap(cm, nil, c.keepCA)
		if err != nil {
			t.Fatal(err)
		}
		got := out.(*corev1.ConfigMap)
		if got.Data[translate.ConfigMapCAKey] != c.want || got.Data["other"] != "" || got.Labels != nil {
			t.Errorf("keepCA %v: ca.crt of %d bytes, other %q, labels %v", c.keepCA, len(got.Data[translate.ConfigMapCAKey]), got.Data["other"], got.Labels)
		}
		if _, kept := got.Data["other"]; !kept {
			t.Error("the key's name is dropped")
		}
	}
}
