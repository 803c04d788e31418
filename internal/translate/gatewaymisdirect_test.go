package translate

import (
	"strings"
	"testing"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/pkg/lbconfig"
)

// TestConnectionGroups: each usable HTTPS listener that shares its port
// with another gets a group, its name when that is a valid, unique
// group, else one made of its index that no name spells.
func TestConnectionGroups(t *testing.T) {
	listener := func(name string, port gatewayv1.PortNumber, proto gatewayv1.ProtocolType) *listenerState {
		return &listenerState{l: gatewayv1.Listener{Name: gatewayv1.SectionName(name), Protocol: proto, Port: port}, accepted: true, kinds: []gatewayv1.RouteGroupKind{{Kind: "HTTPRoute"}}}
	}
	https, http := gatewayv1.HTTPSProtocolType, gatewayv1.HTTPProtocolType
	unusable := listener("unusable", 443, https)
	unusable.badCert = true
	st := &gatewayState{listeners: []*listenerState{
		listener("a", 443, https),
		listener("b", 443, https),
		listener("dup", 443, https),
		listener("dup", 443, https),
		listener("has space", 443, https),
		listener("listeners/0", 443, https),
		listener(strings.Repeat("x", lbconfig.MaxConnectionGroupLength+1), 443, https),
		unusable,
		listener("alone", 8443, https),
		listener("plain", 80, http),
		listener("plain2", 80, http),
	}}
	got := connectionGroups(st)
	want := map[int]string{0: "a", 1: "b", 2: "listeners/2", 3: "listeners/3", 4: "listeners/4", 5: "listeners/5", 6: "listeners/6"}
	if len(got) != len(want) {
		t.Errorf("%d groups, want %d: %v", len(got), len(want), got)
	}
	for i, ls := range st.listeners {
		if g, ok := got[ls]; ok != (want[i] != "") || g != want[i] {
			t.Errorf("listener %d (%.20q): group %q, want %q", i, ls.l.Name, g, want[i])
		}
		if g := got[ls]; g != "" && lbconfig.CheckConnectionGroup(g) != nil {
			t.Errorf("listener %d: group %q is not valid", i, g)
		}
	}
}
