package kubernetes

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/internal/translate"
)

// A Service per Gateway (translate.Options.GatewayServices, --gateway-services):
// one controller process serves every Gateway on its own address, so
// nothing is deployed per Gateway; what the leader keeps instead, for
// every accepted Gateway of our classes, is a headless, selectorless
// Service in the Gateway's namespace named <gateway>-<class> (GEP-1762),
// with one port per distinct port of its accepted listeners, and an
// EndpointSlice per address family holding the Gateway's status
// addresses. So in-cluster DNS answers <gateway>-<class>.<ns>.svc with the
// Gateway's addresses, and the Service carries the labels and annotations
// of spec.infrastructure, which is what GatewayInfrastructure asks.
//
// What the objects should be is computed here as data from the snapshot
// and the translator's status (wantGatewayObjects), and so are the
// writes that get there from the cached objects (planGatewayObjects);
// GatewayStatusWriter makes them. An object of that name without our
// managed-by label is a user's: it is never written, and the Gateway gets
// a Warning instead.

// Labels of the objects we keep.
const (
	// labelManagedBy marks a Service or EndpointSlice as ours with
	// managedByValue.
	labelManagedBy = "app.kubernetes.io/managed-by"
	managedByValue = "ingress-controller"
	// sliceManagedBy is our endpointslice.kubernetes.io/managed-by, which
	// keeps Kubernetes' own EndpointSlice controllers off our slices: in
	// the style of theirs (endpointslice-controller.k8s.io), as a label
	// value cannot hold the '/' of our controller name.
	sliceManagedBy = "gateway-controller.ingress-controller.io"
)

// reservedKeys are the labels we set, never taken from
// spec.infrastructure, and the annotation the cache drops (stripUnused),
// which would look changed forever.
var reservedKeys = []string{
	lastAppliedAnnotation,
	labelManagedBy,
	gatewayv1.GatewayNameLabelKey,
	gatewayv1.GatewayClassNameLabelKey,
	discoveryv1.LabelServiceName,
	discoveryv1.LabelManagedBy,
}

// gatewayObjects are the Service and EndpointSlices one Gateway should
// have.
type gatewayObjects struct {
	gateway *gatewayv1.Gateway
	service *corev1.Service
	// slices hold the addresses of one family each, IPv4 first; a family
	// without addresses has none.
	slices []*discoveryv1.EndpointSlice
	// leftOut are the status addresses no EndpointSlice may hold, each
	// with why.
	leftOut []string
	// takenBy is the older Gateway whose Service has the same name (the
	// names <gateway>-<class> of both are the same): this one gets none.
	takenBy *gatewayv1.Gateway
}

// wantGatewayObjects returns the objects of every Gateway of snap that
// status says is ours and accepted, oldest first.
func wantGatewayObjects(snap *translate.Snapshot, status *translate.GatewayAPIStatus) []gatewayObjects {
	gateways := slices.DeleteFunc(slices.Clone(snap.Gateways), func(gw *gatewayv1.Gateway) bool { return gw == nil })
	slices.SortStableFunc(gateways, func(a, b *gatewayv1.Gateway) int {
		return cmp.Or(a.CreationTimestamp.Compare(b.CreationTimestamp.Time), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	var out []gatewayObjects
	seen := map[string]bool{}
	names := map[string]*gatewayv1.Gateway{}
	for _, gw := range gateways {
		key := gw.Namespace + "/" + gw.Name
		st, ok := status.Gateways[key]
		if !ok || seen[key] || !meta.IsStatusConditionTrue(st.Conditions, string(gatewayv1.GatewayConditionAccepted)) {
			continue
		}
		seen[key] = true
		o := gatewayObjectsOf(gw, st)
		svcKey := o.service.Namespace + "/" + o.service.Name
		if first := names[svcKey]; first != nil {
			o.takenBy = first
		} else {
			names[svcKey] = gw
		}
		out = append(out, o)
	}
	return out
}

func gatewayObjectsOf(gw *gatewayv1.Gateway, st gatewayv1.GatewayStatus) gatewayObjects {
	class := string(gw.Spec.GatewayClassName)
	name := gatewayServiceName(gw.Name, class)
	labels, annotations := infrastructureMetadata(gw)
	for k, v := range map[string]string{
		labelManagedBy:                     managedByValue,
		gatewayv1.GatewayNameLabelKey:      gw.Name,
		gatewayv1.GatewayClassNameLabelKey: class,
	} {
		// A name longer than a label value may be goes without its label.
		if len(validation.IsValidLabelValue(v)) == 0 {
			labels[k] = v
		}
	}
	owner := metav1.OwnerReference{
		APIVersion: gatewayv1.GroupVersion.String(), Kind: "Gateway", Name: gw.Name, UID: gw.UID, Controller: new(true),
	}
	ports := servicePorts(gw, st)
	out := gatewayObjects{gateway: gw}
	out.service = &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: gw.Namespace, Labels: labels, Annotations: annotations,
			OwnerReferences: []metav1.OwnerReference{owner},
		},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: corev1.ClusterIPNone, Ports: ports},
	}
	families, leftOut := endpointAddresses(st.Addresses)
	out.leftOut = leftOut
	for _, fam := range families {
		sliceLabels := maps.Clone(labels)
		sliceLabels[discoveryv1.LabelServiceName] = name
		sliceLabels[discoveryv1.LabelManagedBy] = sliceManagedBy
		es := &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{
				Name: name + "-" + strings.ToLower(string(fam.typ)), Namespace: gw.Namespace,
				Labels: sliceLabels, Annotations: maps.Clone(annotations),
				OwnerReferences: []metav1.OwnerReference{owner},
			},
			AddressType: fam.typ,
			Ports:       slicePorts(ports),
		}
		for _, a := range fam.addrs {
			es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{
				Addresses:  []string{a.String()},
				Conditions: discoveryv1.EndpointConditions{Ready: new(true), Serving: new(true), Terminating: new(false)},
			})
		}
		out.slices = append(out.slices, es)
	}
	return out
}

// infrastructureMetadata are the labels and annotations of gw's
// spec.infrastructure, without our own keys; never nil.
func infrastructureMetadata(gw *gatewayv1.Gateway) (labels, annotations map[string]string) {
	labels, annotations = map[string]string{}, map[string]string{}
	infra := gw.Spec.Infrastructure
	if infra == nil {
		return labels, annotations
	}
	for k, v := range infra.Labels {
		if !slices.Contains(reservedKeys, string(k)) {
			labels[string(k)] = string(v)
		}
	}
	for k, v := range infra.Annotations {
		if !slices.Contains(reservedKeys, string(k)) {
			annotations[string(k)] = string(v)
		}
	}
	return labels, annotations
}

// gatewayServiceName is GEP-1762's <gateway>-<class> when that is a
// Service name (a DNS-1035 label: at most 63 characters, lower case
// letters, digits and '-', starting with a letter). Otherwise it is the
// name made one, cut short, and ended by a hash of the whole, so that
// different Gateways never share a name: a Gateway or class name with
// dots, one starting with a digit, or a long one.
func gatewayServiceName(gateway, class string) string {
	name := gateway + "-" + class
	if len(validation.IsDNS1035Label(name)) == 0 {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	suffix := hex.EncodeToString(sum[:4])
	label := []byte(strings.ToLower(name))
	for i, c := range label {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			label[i] = '-'
		}
	}
	prefix := string(label)
	if prefix == "" || prefix[0] < 'a' || prefix[0] > 'z' {
		prefix = "gw-" + prefix
	}
	prefix = strings.TrimRight(prefix[:min(len(prefix), validation.DNS1035LabelMaxLength-len(suffix)-1)], "-")
	return prefix + "-" + suffix
}

// servicePorts is one TCP port per distinct port of gw's accepted
// listeners (as status says), in port order, named after the protocol of
// the first listener on it.
func servicePorts(gw *gatewayv1.Gateway, st gatewayv1.GatewayStatus) []corev1.ServicePort {
	var out []corev1.ServicePort
	for _, l := range gw.Spec.Listeners {
		i := slices.IndexFunc(st.Listeners, func(ls gatewayv1.ListenerStatus) bool { return ls.Name == l.Name })
		if i < 0 || !meta.IsStatusConditionTrue(st.Listeners[i].Conditions, string(gatewayv1.ListenerConditionAccepted)) {
			continue
		}
		if l.Port < 1 || l.Port > 65535 || slices.ContainsFunc(out, func(p corev1.ServicePort) bool { return p.Port == l.Port }) {
			continue
		}
		out = append(out, corev1.ServicePort{
			Name: portName(l.Protocol, l.Port), Protocol: corev1.ProtocolTCP, Port: l.Port, TargetPort: intstr.FromInt32(l.Port),
		})
	}
	slices.SortFunc(out, func(a, b corev1.ServicePort) int { return int(a.Port - b.Port) })
	return out
}

// portName is "<protocol>-<port>" for the protocols a listener may have
// (a DNS label), else "port-<port>".
func portName(p gatewayv1.ProtocolType, port int32) string {
	name := "port"
	switch p {
	case gatewayv1.HTTPProtocolType, gatewayv1.HTTPSProtocolType, gatewayv1.TLSProtocolType, gatewayv1.TCPProtocolType:
		name = strings.ToLower(string(p))
	}
	return name + "-" + strconv.Itoa(int(port))
}

func slicePorts(ports []corev1.ServicePort) []discoveryv1.EndpointPort {
	out := []discoveryv1.EndpointPort{}
	for _, p := range ports {
		out = append(out, discoveryv1.EndpointPort{Name: new(p.Name), Protocol: new(p.Protocol), Port: new(p.Port)})
	}
	return out
}

// addressFamily is the addresses of one EndpointSlice.
type addressFamily struct {
	typ   discoveryv1.AddressType
	addrs []netip.Addr
}

// endpointAddresses splits status addresses into the families of
// EndpointSlices, IPv4 first, leaving out (with why) what is not an IP
// address and what kube-apiserver refuses in an EndpointSlice: the
// unspecified address, loopback, link-local unicast and link-local
// multicast (ValidateEndpointIP).
func endpointAddresses(addrs []gatewayv1.GatewayStatusAddress) (families []addressFamily, leftOut []string) {
	v4 := addressFamily{typ: discoveryv1.AddressTypeIPv4}
	v6 := addressFamily{typ: discoveryv1.AddressTypeIPv6}
	for _, sa := range addrs {
		a, err := netip.ParseAddr(sa.Value)
		if (sa.Type != nil && *sa.Type != gatewayv1.IPAddressType) || err != nil || a.Zone() != "" {
			leftOut = append(leftOut, fmt.Sprintf("%q: not an IP address", sa.Value))
			continue
		}
		a = a.Unmap()
		if why := refusedEndpoint(a); why != "" {
			leftOut = append(leftOut, fmt.Sprintf("%s: %s, which an EndpointSlice may not hold", a, why))
			continue
		}
		fam := &v6
		if a.Is4() {
			fam = &v4
		}
		if !slices.Contains(fam.addrs, a) {
			fam.addrs = append(fam.addrs, a)
		}
	}
	for _, f := range []addressFamily{v4, v6} {
		if len(f.addrs) > 0 {
			slices.SortFunc(f.addrs, netip.Addr.Compare)
			families = append(families, f)
		}
	}
	return families, leftOut
}

// refusedEndpoint says why kube-apiserver refuses a as an endpoint
// address, or "".
func refusedEndpoint(a netip.Addr) string {
	switch {
	case a.IsUnspecified():
		return "unspecified"
	case a.IsLoopback():
		return "loopback"
	case a.IsLinkLocalUnicast():
		return "link-local"
	case a.IsLinkLocalMulticast():
		return "link-local multicast"
	}
	return ""
}

// changeOp is what a gatewayChange does.
type changeOp string

const (
	opCreate changeOp = "create"
	opUpdate changeOp = "update"
	opDelete changeOp = "delete"
)

// gatewayChange is one write: obj is a *corev1.Service or an
// *discoveryv1.EndpointSlice, as it should be after an update (the cached
// object with our fields, so that its resourceVersion guards the write).
type gatewayChange struct {
	op  changeOp
	obj metav1.Object
	// gateway is "<namespace>/<name>" of the Gateway it is for; "" for a
	// deletion.
	gateway string
}

// gatewayClash is an object of a user in the way of one of ours.
type gatewayClash struct {
	gateway *gatewayv1.Gateway
	kind    string
	object  metav1.Object
}

// planGatewayObjects returns the writes that make the Services and
// EndpointSlices of snap what want says, and the objects of users in the
// way: a Gateway whose Service name a user's Service has gets nothing
// written, a user's EndpointSlice keeps its name. Our objects that no
// Gateway wants are deleted.
func planGatewayObjects(snap *translate.Snapshot, want []gatewayObjects) (changes []gatewayChange, clashes []gatewayClash) {
	services := indexObjects(snap.Services)
	slicesByName := indexObjects(snap.EndpointSlices)
	wanted := map[string]bool{}
	for _, w := range want {
		if w.takenBy != nil {
			continue
		}
		key := w.gateway.Namespace + "/" + w.gateway.Name
		svcKey := w.service.Namespace + "/" + w.service.Name
		wanted[svcKey] = true
		cur := services[svcKey]
		switch {
		case cur == nil:
			changes = append(changes, gatewayChange{op: opCreate, obj: w.service, gateway: key})
		case !isOurs(cur):
			clashes = append(clashes, gatewayClash{gateway: w.gateway, kind: "Service", object: cur})
			continue
		case cur.Spec.ClusterIP != corev1.ClusterIPNone:
			// Not headless, which cannot be changed: created anew after.
			changes = append(changes, gatewayChange{op: opDelete, obj: cur})
		default:
			if upd, ok := updatedService(cur, w.service); ok {
				changes = append(changes, gatewayChange{op: opUpdate, obj: upd, gateway: key})
			}
		}
		for _, es := range w.slices {
			esKey := es.Namespace + "/" + es.Name
			wanted["slice:"+esKey] = true
			cur := slicesByName[esKey]
			switch {
			case cur == nil:
				changes = append(changes, gatewayChange{op: opCreate, obj: es, gateway: key})
			case !isOurSlice(cur):
				clashes = append(clashes, gatewayClash{gateway: w.gateway, kind: "EndpointSlice", object: cur})
			case cur.AddressType != es.AddressType:
				changes = append(changes, gatewayChange{op: opDelete, obj: cur})
			default:
				if upd, ok := updatedSlice(cur, es); ok {
					changes = append(changes, gatewayChange{op: opUpdate, obj: upd, gateway: key})
				}
			}
		}
	}
	for _, svc := range snap.Services {
		if svc != nil && isOurs(svc) && ownedByGateway(svc) && !wanted[svc.Namespace+"/"+svc.Name] {
			changes = append(changes, gatewayChange{op: opDelete, obj: svc})
		}
	}
	for _, es := range snap.EndpointSlices {
		if es != nil && isOurSlice(es) && ownedByGateway(es) && !wanted["slice:"+es.Namespace+"/"+es.Name] {
			changes = append(changes, gatewayChange{op: opDelete, obj: es})
		}
	}
	return changes, clashes
}

// indexObjects finds objs by "<namespace>/<name>"; nil ones are left out.
func indexObjects[T interface {
	*E
	metav1.Object
}, E any](objs []T) map[string]T {
	out := make(map[string]T, len(objs))
	for _, o := range objs {
		if o != nil {
			out[o.GetNamespace()+"/"+o.GetName()] = o
		}
	}
	return out
}

// isOurs reports whether obj has our managed-by label.
func isOurs(obj metav1.Object) bool {
	return obj.GetLabels()[labelManagedBy] == managedByValue
}

// isOurSlice reports whether es is ours: the EndpointSlice managed-by
// label too, which no EndpointSlice controller of Kubernetes' takes.
func isOurSlice(es *discoveryv1.EndpointSlice) bool {
	return isOurs(es) && es.Labels[discoveryv1.LabelManagedBy] == sliceManagedBy
}

// ownedByGateway reports whether a Gateway is obj's controller, so that
// deleting it takes nothing someone else made with our label.
func ownedByGateway(obj metav1.Object) bool {
	ref := metav1.GetControllerOf(obj)
	return ref != nil && ref.Kind == "Gateway" && strings.HasPrefix(ref.APIVersion, gatewayv1.GroupName+"/")
}

// updatedService returns cur with the metadata and ports of want, and
// whether that changes it.
func updatedService(cur, want *corev1.Service) (*corev1.Service, bool) {
	if sameMetadata(cur, want) && samePorts(cur.Spec.Ports, want.Spec.Ports) && len(cur.Spec.Selector) == 0 {
		return nil, false
	}
	out := cur.DeepCopy()
	setMetadata(out, want)
	out.Spec.Ports = want.Spec.Ports
	out.Spec.Selector = nil
	return out, true
}

// samePorts compares what servicePorts sets.
func samePorts(cur, want []corev1.ServicePort) bool {
	return slices.EqualFunc(cur, want, func(a, b corev1.ServicePort) bool {
		return a.Name == b.Name && a.Protocol == b.Protocol && a.Port == b.Port && a.TargetPort == b.TargetPort
	})
}

// updatedSlice returns cur with the metadata, ports and endpoints of
// want, and whether that changes it.
func updatedSlice(cur, want *discoveryv1.EndpointSlice) (*discoveryv1.EndpointSlice, bool) {
	if sameMetadata(cur, want) && equality.Semantic.DeepEqual(cur.Ports, want.Ports) && equality.Semantic.DeepEqual(cur.Endpoints, want.Endpoints) {
		return nil, false
	}
	out := cur.DeepCopy()
	setMetadata(out, want)
	out.Ports = want.Ports
	out.Endpoints = want.Endpoints
	return out, true
}

func sameMetadata(cur, want metav1.Object) bool {
	return maps.Equal(cur.GetLabels(), want.GetLabels()) && maps.Equal(cur.GetAnnotations(), want.GetAnnotations()) &&
		equality.Semantic.DeepEqual(cur.GetOwnerReferences(), want.GetOwnerReferences())
}

// setMetadata makes obj's labels, annotations and owners want's: the
// objects are generated, and an edit of them is undone.
func setMetadata(obj, want metav1.Object) {
	obj.SetLabels(want.GetLabels())
	obj.SetAnnotations(want.GetAnnotations())
	obj.SetOwnerReferences(want.GetOwnerReferences())
}
