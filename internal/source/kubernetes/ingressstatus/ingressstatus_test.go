package ingressstatus

import (
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/types"

	"ingress-controller/pkg/lbconfig"
)

func lb(name string, ports ...int32) lbconfig.LoadBalancer {
	l := lbconfig.LoadBalancer{Name: name}
	for i, p := range ports {
		proto := lbconfig.ProtocolHTTP
		if i == 1 {
			proto = lbconfig.ProtocolHTTPS
		}
		l.Listeners = append(l.Listeners, lbconfig.Listener{Port: p, Protocol: proto})
	}
	return l
}

func TestLoadBalancer(t *testing.T) {
	withTCP := lb("tcp", 80, 443)
	withTCP.Listeners = append(withTCP.Listeners, lbconfig.Listener{Port: 5432, Protocol: lbconfig.ProtocolTCP})
	own, ownWildcard := lb("gw", 80), lb("gw", 80)
	own.Addresses = []netip.Addr{netip.MustParseAddr("198.18.0.7"), netip.MustParseAddr("2001:db8::7")}
	ownWildcard.Addresses = []netip.Addr{netip.IPv4Unspecified()}
	svc := &corev1.Service{
		Spec: corev1.ServiceSpec{ExternalIPs: []string{"198.51.100.9"}},
		Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{
			{Hostname: "lb.example.com"}, {IP: "203.0.113.7"},
		}}},
	}
	for _, tc := range []struct {
		name  string
		lb    lbconfig.LoadBalancer
		addrs []lbconfig.Address
		pub   Publish
		want  string // Key of the result
	}{
		{"provider addresses, well-known ports", lb("a", 80, 443),
			[]lbconfig.Address{{IP: "198.18.0.2"}, {IP: "198.18.0.1"}}, Publish{}, "198.18.0.1,198.18.0.2"},
		{"other ports are listed", lb("a", 8080, 8443),
			[]lbconfig.Address{{IP: "198.18.0.1"}}, Publish{}, "198.18.0.1:8080+8443"},
		{"IPv6 in canonical form", lb("a", 80),
			[]lbconfig.Address{{IP: "2001:DB8::1"}}, Publish{}, "2001:db8::1"},
		{"an address only for a TCP listener is left out", withTCP,
			[]lbconfig.Address{{IP: "198.18.0.1", Ports: []int32{5432}}, {IP: "198.18.0.2", Ports: []int32{80, 5432}}}, Publish{}, "198.18.0.2"},
		{"publish addresses win, a hostname stays a hostname", lb("a", 80),
			[]lbconfig.Address{{IP: "198.18.0.1"}}, Publish{Addresses: []string{"LB.Example.com", "203.0.113.1"}, UseService: true, Service: svc}, "203.0.113.1,lb.example.com"},
		{"the publish Service", lb("a", 8080),
			[]lbconfig.Address{{IP: "198.18.0.1"}}, Publish{UseService: true, Service: svc}, "198.51.100.9,203.0.113.7,lb.example.com"},
		{"a missing publish Service publishes nothing", lb("a", 80),
			[]lbconfig.Address{{IP: "198.18.0.1"}}, Publish{UseService: true}, ""},
		{"duplicates dropped", lb("a", 80),
			[]lbconfig.Address{{IP: "198.18.0.1"}, {IP: "198.18.0.1"}}, Publish{}, "198.18.0.1"},
		{"replicas instead of the provider, with the listener ports", lb("a", 8080),
			[]lbconfig.Address{{IP: "127.0.0.1", Ports: []int32{8080}}}, Publish{UseReplicas: true, Replicas: []string{"198.18.0.10", "198.18.0.2"}}, "198.18.0.2:8080,198.18.0.10:8080"},
		{"no replica serves: nothing", lb("a", 80),
			[]lbconfig.Address{{IP: "198.18.0.1"}}, Publish{UseReplicas: true}, ""},
		{"the publish Service wins over replicas", lb("a", 80),
			[]lbconfig.Address{{IP: "198.18.0.1"}}, Publish{UseService: true, Service: svc, UseReplicas: true, Replicas: []string{"198.18.0.2"}}, "198.51.100.9,203.0.113.7,lb.example.com"},
		{"publish addresses win over replicas", lb("a", 80),
			nil, Publish{Addresses: []string{"203.0.113.1"}, UseReplicas: true, Replicas: []string{"198.18.0.2"}}, "203.0.113.1"},
		{"own addresses win over publish addresses", own,
			[]lbconfig.Address{{IP: "198.18.0.7", Ports: []int32{80}}}, Publish{Addresses: []string{"203.0.113.1"}}, "198.18.0.7"},
		{"own addresses win over the publish Service and replicas", own,
			[]lbconfig.Address{{IP: "198.18.0.7", Ports: []int32{80}}, {IP: "2001:db8::7", Ports: []int32{80}}}, Publish{UseService: true, Service: svc, UseReplicas: true, Replicas: []string{"198.18.0.2"}}, "198.18.0.7,2001:db8::7"},
		{"own wildcard address, nothing reported: the publish addresses", ownWildcard,
			nil, Publish{Addresses: []string{"203.0.113.1"}}, "203.0.113.1"},
	} {
		if got := Key(LoadBalancer(tc.lb, tc.addrs, tc.pub)); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestDesired(t *testing.T) {
	ing := func(name string) lbconfig.ObjectRef {
		return lbconfig.ObjectRef{Kind: "Ingress", Namespace: "ns", Name: name}
	}
	a, b := lb("a", 80), lb("b", 8080)
	a.Sources = []lbconfig.ObjectRef{ing("one"), ing("both"), {Kind: "Service", Namespace: "ns", Name: "tcp"}}
	b.Sources = []lbconfig.ObjectRef{ing("both")}
	cfg := &lbconfig.Config{LoadBalancers: []lbconfig.LoadBalancer{a, b}}
	addrs := map[string][]lbconfig.Address{"a": {{IP: "198.18.0.1"}}, "b": {{IP: "198.18.0.2"}}}
	want, keys := Desired(cfg, func(l lbconfig.LoadBalancer) []networkingv1.IngressLoadBalancerIngress {
		return LoadBalancer(l, addrs[l.Name], Publish{})
	})
	got := map[string]string{}
	for k, st := range want {
		got[k.String()] = Key(st)
	}
	if len(got) != 2 || got["ns/one"] != "198.18.0.1" || got["ns/both"] != "198.18.0.1,198.18.0.2:8080" {
		t.Errorf("desired: %v", got)
	}
	if _, ok := want[types.NamespacedName{Namespace: "ns", Name: "tcp"}]; ok {
		t.Error("a Service source got an Ingress status")
	}
	wantKeys := []string{"198.18.0.1", "198.18.0.1,198.18.0.2:8080", "198.18.0.2:8080"}
	if len(keys) != len(wantKeys) {
		t.Fatalf("keys %q, want %q", keys, wantKeys)
	}
	for i := range keys {
		if keys[i] != wantKeys[i] {
			t.Errorf("keys %q, want %q", keys, wantKeys)
		}
	}
}

func TestNormalizeAndEqual(t *testing.T) {
	in := []networkingv1.IngressLoadBalancerIngress{{Hostname: "b.example"}, {IP: "2001:db8::1"}, {IP: "198.18.0.10"}, {IP: "198.18.0.2"}, {IP: "198.18.0.1"}, {IP: "198.18.0.2"}}
	out := Normalize(in)
	if got := Key(out); got != "198.18.0.1,198.18.0.2,198.18.0.10,2001:db8::1,b.example" {
		t.Errorf("normalized %q", got)
	}
	if Equal(in, out) || !Equal(out, Normalize(out)) {
		t.Error("Equal compares in order, and Normalize is idempotent")
	}
	if Normalize(nil) != nil {
		t.Error("an empty status normalizes to nil")
	}
}

func TestRecentIsBounded(t *testing.T) {
	r := NewRecent(10)
	r.Add("current")
	for i := range 100 {
		r.Add(string(rune('a'+i%26)) + string(rune('0'+i/26)))
		r.Add("current") // computed again at every sync: never forgotten
		if r.Len() > 10 {
			t.Fatalf("%d strings held, bound 10", r.Len())
		}
	}
	if !r.Has("current") {
		t.Error("a string added again and again was forgotten")
	}
	if r.Has("a0") {
		t.Error("the oldest string is still held")
	}
}
