package translate

import (
	"slices"
	"testing"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func TestIsolatedListeners(t *testing.T) {
	listener := func(host string, port gatewayv1.PortNumber, proto gatewayv1.ProtocolType) *listenerState {
		l := &listenerState{l: gatewayv1.Listener{Protocol: proto, Port: port}, accepted: true, kinds: []gatewayv1.RouteGroupKind{{Kind: "HTTPRoute"}}}
		if host != "" {
			h := gatewayv1.Hostname(host)
			l.l.Hostname = &h
		}
		return l
	}
	http := gatewayv1.HTTPProtocolType
	st := &gatewayState{listeners: []*listenerState{
		listener("", 80, http),
		listener("*.example.com", 80, http),
		listener("*.foo.example.com", 80, http),
		listener("abc.foo.example.com", 80, http),
		listener("alone.example.org", 80, http),                   // nothing less specific covers it
		listener("*.example.com", 8080, http),                     // alone on its port
		listener("a.example.com", 443, gatewayv1.TLSProtocolType), // not HTTP
	}}
	var got []string
	for _, ls := range isolatedListeners(st) {
		got = append(got, ls.hostname())
	}
	if want := []string{"*.example.com", "*.foo.example.com", "abc.foo.example.com", "alone.example.org"}; !slices.Equal(got, want) {
		t.Errorf("isolatedListeners = %q, want %q", got, want)
	}
}
