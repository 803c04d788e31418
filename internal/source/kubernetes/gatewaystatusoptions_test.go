package kubernetes

import (
	"testing"

	clientset "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"ingress-controller/internal/translate"
)

// TestGatewayStatusCore: Translate.GatewayServices alone says whether the
// writer keeps the Gateways' Services, and then it needs Core to.
func TestGatewayStatusCore(t *testing.T) {
	// Clients of an address nothing listens on: never called here.
	cfg := &rest.Config{Host: "http://127.0.0.1:1"}
	gw, err := gatewayclient.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	core, err := clientset.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		services bool
		core     clientset.Interface
		ok       bool
	}{
		{false, nil, true},
		{false, core, true},
		{true, core, true},
		{true, nil, false},
	} {
		_, err := NewGatewayStatusWriter(GatewayStatusOptions{Client: gw, Source: &Source{},
			Translate: translate.Options{GatewayServices: c.services}, Core: c.core})
		if (err == nil) != c.ok {
			t.Errorf("GatewayServices %v, Core %v: error %v, want ok %v", c.services, c.core != nil, err, c.ok)
		}
	}
}
