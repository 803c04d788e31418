package translate

import (
	"fmt"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Gateway infrastructure: this controller takes no parameters, so a
// Gateway whose spec.infrastructure.parametersRef names any object is not
// accepted (InvalidParameters), as the spec asks of a reference that
// cannot be resolved or is of a kind the implementation does not take; a
// GatewayClass with spec.parametersRef is not accepted either (gateway.go).
// Its labels and annotations go on the Service the leader keeps for every
// accepted Gateway with Options.GatewayServices (the kubernetes source's
// gatewayservice.go), which is what makes our classes declare
// GatewayInfrastructure.

// gatewayInfraFeatures are declared with Options.GatewayServices.
var gatewayInfraFeatures = []gatewayv1.FeatureName{"GatewayInfrastructure"}

// readParametersRef refuses st when it names parameters.
func (g *gatewayAPI) readParametersRef(st *gatewayState) {
	infra := st.gw.Spec.Infrastructure
	if infra == nil || infra.ParametersRef == nil {
		return
	}
	ref := infra.ParametersRef
	st.accepted = false
	st.acceptedReason = gatewayv1.GatewayReasonInvalidParameters
	st.acceptedMessage = fmt.Sprintf("parametersRef %s: this controller takes no parameters",
		parametersName(string(ref.Group), string(ref.Kind), st.gw.Namespace, ref.Name))
	g.t.problems.add(st.ref, "spec.infrastructure.parametersRef", string(st.acceptedReason), "%s; the Gateway is not served", st.acceptedMessage)
}

// parametersName names a parametersRef as kubectl names objects:
// kind.group namespace/name.
func parametersName(group, kind, namespace, name string) string {
	gk := kind
	if group != "" {
		gk += "." + group
	}
	if namespace != "" {
		name = namespace + "/" + name
	}
	return gk + " " + name
}
