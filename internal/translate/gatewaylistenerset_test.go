package translate

import (
	"slices"
	"testing"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/pkg/lbconfig"
)

// TestWithoutListenerSet: a ListenerSet is a source of its Gateway's load
// balancer (golden gateway-listenerset), so the engine's isolation can
// leave it out, and only it: not its Gateway, nor a ListenerSet of the
// same name in another namespace.
func TestWithoutListenerSet(t *testing.T) {
	snap := &Snapshot{
		Gateways: []*gatewayv1.Gateway{{ObjectMeta: meta("shop", "extra", nil)}},
		ListenerSets: []*gatewayv1.ListenerSet{
			{ObjectMeta: meta("shop", "extra", nil)}, nil, {ObjectMeta: meta("team", "extra", nil)},
		},
	}
	got := refsOf(Without(snap, []lbconfig.ObjectRef{ref("ListenerSet", "shop", "extra")}))
	want := []string{"Gateway shop/extra", "ListenerSet team/extra"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if len(snap.ListenerSets) != 3 {
		t.Error("the input changed")
	}
}
