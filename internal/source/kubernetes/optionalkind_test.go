package kubernetes_test

import (
	"testing"

	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"ingress-controller/internal/source/kubernetes"
)

// TestServes asks the real API server, with the Gateway API CRDs
// installed, which kinds it serves: an optional kind is read only when
// it does, and a group or resource it does not know is no error.
func TestServes(t *testing.T) {
	if err := gatewayCRDs(); err != nil {
		t.Fatalf("installing the Gateway API CRDs: %v", err)
	}
	gw, err := gatewayclient.NewForConfig(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		groupVersion, resource string
		want                   bool
	}{
		{"gateway.networking.k8s.io/v1", "tcproutes", true},
		{"gateway.networking.k8s.io/v1", "httproutes", true},
		{"gateway.networking.k8s.io/v1", "nosuchroutes", false},
		{"gateway.networking.k8s.io/v9", "tcproutes", false},
		{"example.invalid/v1", "tcproutes", false},
	} {
		got, err := kubernetes.Serves(gw.Discovery(), tc.groupVersion, tc.resource)
		if err != nil || got != tc.want {
			t.Errorf("Serves(%s, %s) = %v, %v; want %v", tc.groupVersion, tc.resource, got, err, tc.want)
		}
	}
}
