// Package conformance runs Gateway API's conformance suite, unmodified, from
// a Go module of its own, so that the suite's Kubernetes client versions do
// not meet the controller's. The test here is the suite's own entry point
// and reads the suite's own flags (-gateway-class, -conformance-profiles,
// -report-output, ...); test/conformance starts a cluster and the
// controller, builds this test and runs it against them (make conformance).
// Run alone, it needs a cluster in $KUBECONFIG whose GatewayClass is served.
package conformance

import (
	"testing"

	"sigs.k8s.io/gateway-api/conformance"
)

func TestGatewayAPI(t *testing.T) {
	conformance.RunConformance(t)
}
