package kubernetes

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/internal/translate"
)

func TestGatewayServiceName(t *testing.T) {
	long := strings.Repeat("g", 60)
	for _, c := range []struct{ gateway, class, want string }{
		{"web", "ours", "web-ours"},
		{"gateway-with-infrastructure-metadata", "gateway-conformance", "gateway-with-infrastructure-metadata-gateway-conformance"},
		// Not a label as it is: made one, with a hash.
		{"web.example", "ours", ""},
		{"1web", "ours", ""},
		{long, "ours", ""},
		{strings.Repeat("a", 253), strings.Repeat("b.", 126) + "b", ""},
	} {
		got := gatewayServiceName(c.gateway, c.class)
		if errs := validation.IsDNS1035Label(got); len(errs) > 0 {
			t.Errorf("gatewayServiceName(%q, %q) = %q, not a Service name: %v", c.gateway, c.class, got, errs)
		}
		if c.want != "" && got != c.want {
			t.Errorf("gatewayServiceName(%q, %q) = %q, want %q", c.gateway, c.class, got, c.want)
		}
		if c.want == "" && got == c.gateway+"-"+c.class {
			t.Errorf("gatewayServiceName(%q, %q) kept the name", c.gateway, c.class)
		}
	}
	// Names that differ only where they are cut or made a label still
	// differ.
	pairs := [][2][2]string{
		{{long + "1", "ours"}, {long + "2", "ours"}},
		{{"a.b", "c"}, {"a-b", "c"}},
		{{"web", "a.b"}, {"web", "a-b"}},
	}
	for _, p := range pairs {
		a, b := gatewayServiceName(p[0][0], p[0][1]), gatewayServiceName(p[1][0], p[1][1])
		if a == b {
			t.Errorf("%v and %v share the Service name %q", p[0], p[1], a)
		}
	}
}

func TestEndpointAddresses(t *testing.T) {
	ip := func(v string) gatewayv1.GatewayStatusAddress {
		return gatewayv1.GatewayStatusAddress{Type: new(gatewayv1.IPAddressType), Value: v}
	}
	addrs := []gatewayv1.GatewayStatusAddress{
		ip("198.18.94.2"), ip("2001:db8::1"), ip("198.18.94.1"), {Value: "198.18.94.3"}, ip("198.18.94.1"),
		ip("::ffff:198.18.94.4"), ip("127.0.94.1"), ip("::1"), ip("169.254.1.1"), ip("fe80::1"), ip("fe80::1%eth0"),
		ip("224.0.0.5"), ip("ff02::1"), ip("0.0.0.0"), ip("::"), ip("not-an-ip"), ip("1.2.3.4\r\nX: y"),
		{Type: new(gatewayv1.HostnameAddressType), Value: "gw.example.com"},
	}
	families, leftOut := endpointAddresses(addrs)
	var got []string
	for _, f := range families {
		for _, a := range f.addrs {
			got = append(got, string(f.typ)+" "+a.String())
		}
	}
	want := []string{"IPv4 198.18.94.1", "IPv4 198.18.94.2", "IPv4 198.18.94.3", "IPv4 198.18.94.4", "IPv6 2001:db8::1"}
	if !slices.Equal(got, want) {
		t.Errorf("addresses: got %q, want %q", got, want)
	}
	if len(leftOut) != 12 {
		t.Errorf("left out %d: %q; want the 12 an EndpointSlice may not hold", len(leftOut), leftOut)
	}
	for _, why := range leftOut {
		if strings.ContainsAny(why, "\r\n") {
			t.Errorf("left out %q", why)
		}
	}
	if fs, out := endpointAddresses(nil); fs != nil || out != nil {
		t.Errorf("no addresses: got %v, %v", fs, out)
	}
}

// infraSnapshot has Gateway "web" of class "ours" with infrastructure
// labels and annotations (some of our keys among them), HTTP and HTTPS
// listeners, a second HTTP listener on port 80 and one not accepted;
// Gateway "params" names parameters (not accepted); "foreign" is of
// another controller's class.
func infraSnapshot() *translate.Snapshot {
	ts := metav1.Date(2024, 1, 1, 0, 0, 0, 0, metav1.Now().Location())
	web := &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "infra", UID: "uid-web", Generation: 1, CreationTimestamp: ts},
		Spec: gatewayv1.GatewaySpec{
			GatewayClassName: "ours",
			Addresses: []gatewayv1.GatewaySpecAddress{
				{Type: new(gatewayv1.IPAddressType), Value: "198.18.94.1"},
				{Type: new(gatewayv1.IPAddressType), Value: "127.0.94.1"},
				{Type: new(gatewayv1.IPAddressType), Value: "2001:db8::94"},
			},
			Infrastructure: &gatewayv1.GatewayInfrastructure{
				Labels: map[gatewayv1.LabelKey]gatewayv1.LabelValue{
					"team": "edge", labelManagedBy: "someone-else", gatewayv1.GatewayNameLabelKey: "other", discoveryv1.LabelServiceName: "other",
				},
				Annotations: map[gatewayv1.AnnotationKey]gatewayv1.AnnotationValue{
					"example.com/owner": "edge-team", lastAppliedAnnotation: "{}",
				},
			},
			Listeners: []gatewayv1.Listener{
				{Name: "https", Protocol: gatewayv1.HTTPSProtocolType, Port: 443, TLS: &gatewayv1.ListenerTLSConfig{Mode: new(gatewayv1.TLSModePassthrough)}},
				{Name: "http", Protocol: gatewayv1.HTTPProtocolType, Port: 80},
				{Name: "http-too", Protocol: gatewayv1.HTTPProtocolType, Port: 80, Hostname: new(gatewayv1.Hostname("a.example"))},
				{Name: "tcp", Protocol: gatewayv1.TCPProtocolType, Port: 5432},
				{Name: "udp", Protocol: gatewayv1.UDPProtocolType, Port: 53},
			},
		},
	}
	params := &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Name: "params", Namespace: "infra", UID: "uid-params", Generation: 1, CreationTimestamp: ts},
		Spec: gatewayv1.GatewaySpec{
			GatewayClassName: "ours",
			Infrastructure:   &gatewayv1.GatewayInfrastructure{ParametersRef: &gatewayv1.LocalParametersReference{Group: "invalid.io", Kind: "InvalidParameters", Name: "invalid"}},
			Listeners:        []gatewayv1.Listener{{Name: "http", Protocol: gatewayv1.HTTPProtocolType, Port: 8080}},
		},
	}
	foreign := params.DeepCopy()
	foreign.Name, foreign.UID, foreign.Spec.GatewayClassName, foreign.Spec.Infrastructure = "foreign", "uid-foreign", "theirs", nil
	return &translate.Snapshot{
		GatewayClasses: []*gatewayv1.GatewayClass{
			gatewayClass("ours", translate.GatewayControllerName), gatewayClass("theirs", "example.com/other"),
		},
		Gateways: []*gatewayv1.Gateway{web, params, foreign},
	}
}

// gatewayClass returns the GatewayClass name of controller.
func gatewayClass(name string, controller gatewayv1.GatewayController) *gatewayv1.GatewayClass {
	return &gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: gatewayv1.GatewayClassSpec{ControllerName: controller}}
}

func infraStatus(t *testing.T, snap *translate.Snapshot) *translate.GatewayAPIStatus {
	t.Helper()
	opts := translate.Options{HTTPPort: 80, HTTPSPort: 443, GatewayServices: true}
	cfg, _ := translate.Ingresses(snap, opts)
	return translate.GatewayStatus(snap, opts, translate.Applied{Config: cfg})
}

// TestWantGatewayObjects: only the accepted Gateway of our class gets a
// Service, headless and selectorless, named and labelled as GEP-1762
// says, with its infrastructure labels and annotations but not where
// they would take our keys, a port per accepted listener port; and an
// EndpointSlice per address family with the addresses an EndpointSlice
// may hold.
func TestWantGatewayObjects(t *testing.T) {
	snap := infraSnapshot()
	want := wantGatewayObjects(snap, infraStatus(t, snap))
	if len(want) != 1 || want[0].gateway.Name != "web" {
		t.Fatalf("objects for %d Gateways, want those of web only", len(want))
	}
	w := want[0]
	svc := w.service
	if svc.Name != "web-ours" || svc.Namespace != "infra" {
		t.Errorf("Service %s/%s, want infra/web-ours", svc.Namespace, svc.Name)
	}
	wantLabels := map[string]string{
		"team": "edge", labelManagedBy: managedByValue,
		gatewayv1.GatewayNameLabelKey: "web", gatewayv1.GatewayClassNameLabelKey: "ours",
	}
	if !maps.Equal(svc.Labels, wantLabels) {
		t.Errorf("Service labels %v, want %v", svc.Labels, wantLabels)
	}
	if wantAnn := map[string]string{"example.com/owner": "edge-team"}; !maps.Equal(svc.Annotations, wantAnn) {
		t.Errorf("Service annotations %v, want %v", svc.Annotations, wantAnn)
	}
	if svc.Spec.ClusterIP != corev1.ClusterIPNone || len(svc.Spec.Selector) != 0 {
		t.Errorf("Service clusterIP %q selector %v, want headless and selectorless", svc.Spec.ClusterIP, svc.Spec.Selector)
	}
	owner := metav1.GetControllerOf(svc)
	if owner == nil || owner.Kind != "Gateway" || owner.Name != "web" || owner.UID != "uid-web" || owner.APIVersion != "gateway.networking.k8s.io/v1" {
		t.Errorf("Service controller %+v, want Gateway web", owner)
	}
	var ports []string
	for _, p := range svc.Spec.Ports {
		ports = append(ports, p.Name+"/"+string(p.Protocol)+"/"+p.TargetPort.String())
	}
	// The HTTPS listener with Passthrough and the UDP one are not accepted.
	if wantPorts := []string{"http-80/TCP/80", "tcp-5432/TCP/5432"}; !slices.Equal(ports, wantPorts) {
		t.Errorf("Service ports %v, want %v", ports, wantPorts)
	}
	if len(w.slices) != 2 {
		t.Fatalf("%d EndpointSlices, want IPv4 and IPv6", len(w.slices))
	}
	for i, c := range []struct {
		name string
		typ  discoveryv1.AddressType
		addr string
	}{{"web-ours-ipv4", discoveryv1.AddressTypeIPv4, "198.18.94.1"}, {"web-ours-ipv6", discoveryv1.AddressTypeIPv6, "2001:db8::94"}} {
		es := w.slices[i]
		if es.Name != c.name || es.AddressType != c.typ || len(es.Endpoints) != 1 || !slices.Equal(es.Endpoints[0].Addresses, []string{c.addr}) {
			t.Errorf("slice %d: %s %s %v, want %s %s [%s]", i, es.Name, es.AddressType, es.Endpoints, c.name, c.typ, c.addr)
			continue
		}
		if es.Labels[discoveryv1.LabelServiceName] != "web-ours" || es.Labels[discoveryv1.LabelManagedBy] != sliceManagedBy || es.Labels["team"] != "edge" || !isOurSlice(es) {
			t.Errorf("slice %s labels %v", es.Name, es.Labels)
		}
		if cond := es.Endpoints[0].Conditions; cond.Ready == nil || !*cond.Ready {
			t.Errorf("slice %s: endpoint not ready", es.Name)
		}
		if len(es.Ports) != 2 || *es.Ports[0].Name != "http-80" || *es.Ports[0].Port != 80 {
			t.Errorf("slice %s ports %v", es.Name, es.Ports)
		}
	}
	if len(w.leftOut) != 1 || !strings.Contains(w.leftOut[0], "127.0.94.1") {
		t.Errorf("left out %q, want the loopback address", w.leftOut)
	}
}

// TestPlanGatewayObjects: what the leader writes from the cached objects.
func TestPlanGatewayObjects(t *testing.T) {
	snap := infraSnapshot()
	want := wantGatewayObjects(snap, infraStatus(t, snap))
	if len(want) != 1 {
		t.Fatal("want the objects of one Gateway")
	}
	w := want[0]
	plan := func(services []*corev1.Service, slices []*discoveryv1.EndpointSlice) ([]string, []string) {
		t.Helper()
		s := *snap
		s.Services, s.EndpointSlices = services, slices
		changes, clashes := planGatewayObjects(&s, want)
		var ch, cl []string
		for _, c := range changes {
			ch = append(ch, string(c.op)+" "+c.obj.GetName())
		}
		for _, c := range clashes {
			cl = append(cl, c.kind+" "+c.object.GetName()+" of "+c.gateway.Name)
		}
		return ch, cl
	}
	check := func(name string, services []*corev1.Service, es []*discoveryv1.EndpointSlice, wantChanges, wantClashes []string) {
		t.Helper()
		ch, cl := plan(services, es)
		if !slices.Equal(ch, wantChanges) || !slices.Equal(cl, wantClashes) {
			t.Errorf("%s: changes %q clashes %q, want %q and %q", name, ch, cl, wantChanges, wantClashes)
		}
	}
	// As the API server returns them: with a version and defaults.
	stored := func() (*corev1.Service, []*discoveryv1.EndpointSlice) {
		svc := w.service.DeepCopy()
		svc.UID, svc.ResourceVersion = "uid-svc", "1"
		svc.Spec.ClusterIPs, svc.Spec.SessionAffinity = []string{"None"}, corev1.ServiceAffinityNone
		var out []*discoveryv1.EndpointSlice
		for _, es := range w.slices {
			es = es.DeepCopy()
			es.ResourceVersion = "1"
			out = append(out, es)
		}
		return svc, out
	}

	check("nothing yet", nil, nil, []string{"create web-ours", "create web-ours-ipv4", "create web-ours-ipv6"}, nil)
	svc, es := stored()
	check("all there", []*corev1.Service{svc}, es, nil, nil)

	edited, _ := stored()
	edited.Labels = maps.Clone(edited.Labels)
	edited.Labels["team"] = "core"
	edited.Annotations = nil
	check("labels edited", []*corev1.Service{edited}, es, []string{"update web-ours"}, nil)
	ch, _ := planGatewayObjects(&translate.Snapshot{Gateways: snap.Gateways, Services: []*corev1.Service{edited}, EndpointSlices: es}, want)
	if upd := ch[0].obj.(*corev1.Service); upd.ResourceVersion != "1" || upd.Labels["team"] != "edge" || upd.Annotations["example.com/owner"] != "edge-team" || edited.Labels["team"] != "core" {
		t.Errorf("update: %v %v version %q; the cached object must stay as it was (%v)", upd.Labels, upd.Annotations, upd.ResourceVersion, edited.Labels)
	}

	moved := es[0].DeepCopy()
	moved.Endpoints[0].Addresses = []string{"198.18.94.9"}
	check("address moved", []*corev1.Service{svc}, []*discoveryv1.EndpointSlice{moved, es[1]}, []string{"update web-ours-ipv4"}, nil)

	notHeadless, _ := stored()
	notHeadless.Spec.ClusterIP = "10.0.0.9"
	check("not headless", []*corev1.Service{notHeadless}, es, []string{"delete web-ours"}, nil)

	users := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web-ours", Namespace: "infra", UID: "uid-user", Labels: map[string]string{"app": "mine"}}}
	check("a user's Service", []*corev1.Service{users}, nil, nil, []string{"Service web-ours of web"})

	usersSlice := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "web-ours-ipv4", Namespace: "infra",
		Labels: map[string]string{labelManagedBy: managedByValue, discoveryv1.LabelManagedBy: "endpointslice-controller.k8s.io"}}}
	check("a user's EndpointSlice", []*corev1.Service{svc}, []*discoveryv1.EndpointSlice{usersSlice, es[1]}, nil, []string{"EndpointSlice web-ours-ipv4 of web"})

	// Ours for a Gateway no longer ours, or gone: deleted; labelled ours
	// but without a Gateway as controller: left alone.
	stale := svc.DeepCopy()
	stale.Name = "old-ours"
	staleSlice := es[0].DeepCopy()
	staleSlice.Name = "old-ours-ipv4"
	lookalike := svc.DeepCopy()
	lookalike.Name, lookalike.OwnerReferences = "ingress-controller", nil
	check("stale", []*corev1.Service{svc, stale, lookalike}, append(es, staleSlice), []string{"delete old-ours", "delete old-ours-ipv4"}, nil)

	// No Gateway wants anything: ours go, nothing else.
	changes, clashes := planGatewayObjects(&translate.Snapshot{Services: []*corev1.Service{svc, users, lookalike}, EndpointSlices: es}, nil)
	if len(changes) != 3 || len(clashes) != 0 {
		t.Errorf("nothing wanted: %d changes, %d clashes; want the 3 objects of ours deleted", len(changes), len(clashes))
	}
	for _, c := range changes {
		if c.op != opDelete || c.obj.GetUID() == "uid-user" {
			t.Errorf("nothing wanted: %s %s", c.op, c.obj.GetName())
		}
	}
}

// TestLongGatewayName: a Gateway whose name no label value can hold gets
// its Service, without the gateway-name label.
func TestLongGatewayName(t *testing.T) {
	snap := infraSnapshot()
	long := strings.Repeat("long-", 20) + "name"
	snap.Gateways[0].Name = long
	want := wantGatewayObjects(snap, infraStatus(t, snap))
	if len(want) != 1 {
		t.Fatal("want the objects of one Gateway")
	}
	svc := want[0].service
	if len(validation.IsDNS1035Label(svc.Name)) > 0 || !strings.HasPrefix(svc.Name, "long-long-") {
		t.Errorf("Service name %q", svc.Name)
	}
	if _, ok := svc.Labels[gatewayv1.GatewayNameLabelKey]; ok || svc.Labels[labelManagedBy] != managedByValue || !ownedByGateway(svc) {
		t.Errorf("labels %v owner %v", svc.Labels, svc.OwnerReferences)
	}
	for _, es := range want[0].slices {
		if es.Labels[discoveryv1.LabelServiceName] != svc.Name {
			t.Errorf("slice %s names Service %q", es.Name, es.Labels[discoveryv1.LabelServiceName])
		}
	}
}

// FuzzGatewayServiceName: whatever the names (the API server takes DNS
// subdomains, but the function must not trust that), the Service name is
// one the API server takes, the same every time, and GEP-1762's own
// when that is one.
func FuzzGatewayServiceName(f *testing.F) {
	for _, seed := range [][2]string{{"web", "ours"}, {"a.b", "c"}, {"", ""}, {"-", "-"}, {"9", "9"}, {strings.Repeat("x", 300), "é\r\n"}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, gateway, class string) {
		got := gatewayServiceName(gateway, class)
		if errs := validation.IsDNS1035Label(got); len(errs) > 0 {
			t.Fatalf("gatewayServiceName(%q, %q) = %q: %v", gateway, class, got, errs)
		}
		if again := gatewayServiceName(gateway, class); again != got {
			t.Fatalf("not deterministic: %q then %q", got, again)
		}
		if plain := gateway + "-" + class; len(validation.IsDNS1035Label(plain)) == 0 && got != plain {
			t.Fatalf("gatewayServiceName(%q, %q) = %q, want %q", gateway, class, got, plain)
		}
	})
}

// TestSharedServiceName: Gateways "a-b" of class "c" and "a" of class
// "b-c" make the same name: the older keeps the Service, the younger gets
// none (and a Warning), and the two never take it from each other.
func TestSharedServiceName(t *testing.T) {
	ts := metav1.Date(2024, 1, 1, 0, 0, 0, 0, metav1.Now().Location())
	gw := func(name, class string, age int) *gatewayv1.Gateway {
		return &gatewayv1.Gateway{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "infra", UID: types.UID("uid-" + name), CreationTimestamp: metav1.NewTime(ts.Add(time.Duration(age) * time.Second))},
			Spec: gatewayv1.GatewaySpec{GatewayClassName: gatewayv1.ObjectName(class), Addresses: []gatewayv1.GatewaySpecAddress{{Value: fmt.Sprintf("198.18.94.%d", 10+age)}},
				Listeners: []gatewayv1.Listener{{Name: "http", Protocol: gatewayv1.HTTPProtocolType, Port: 80}}},
		}
	}
	snap := &translate.Snapshot{
		GatewayClasses: []*gatewayv1.GatewayClass{gatewayClass("c", translate.GatewayControllerName), gatewayClass("b-c", translate.GatewayControllerName)},
		// The younger first: the order of the snapshot does not matter.
		Gateways: []*gatewayv1.Gateway{gw("a", "b-c", 1), nil, gw("a-b", "c", 0)},
	}
	want := wantGatewayObjects(snap, infraStatus(t, snap))
	if len(want) != 2 || want[0].gateway.Name != "a-b" || want[0].takenBy != nil || want[1].takenBy == nil || want[1].takenBy.Name != "a-b" {
		t.Fatalf("want %+v: a-b keeps the name, a does not", want)
	}
	changes, clashes := planGatewayObjects(snap, want)
	var got []string
	for _, c := range changes {
		got = append(got, string(c.op)+" "+c.obj.GetName()+" for "+c.gateway)
	}
	if wantChanges := []string{"create a-b-c for infra/a-b", "create a-b-c-ipv4 for infra/a-b"}; !slices.Equal(got, wantChanges) || len(clashes) != 0 {
		t.Errorf("changes %q clashes %v, want %q", got, clashes, wantChanges)
	}
}
