package deploy_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The scaled model's install, deploy/daemonset/: a DaemonSet on the host
// network of the load-balancer nodes, in a namespace of its own.

func readDaemonSet(t *testing.T) (*appsv1.DaemonSet, *corev1.Namespace) {
	t.Helper()
	objs := readManifests(t, "daemonset/*.yaml")
	return decode[appsv1.DaemonSet](t, objs, "DaemonSet"), decode[corev1.Namespace](t, objs, "Namespace")
}

// TestDaemonSetNamespaceComesFirst: kubectl applies a directory's objects
// in order, so the namespace must come before what goes in it.
func TestDaemonSetNamespaceComesFirst(t *testing.T) {
	objs := readManifests(t, "daemonset/*.yaml")
	if objs[0].GetKind() != "Namespace" {
		t.Fatalf("the first object in deploy/daemonset/ is %s %s, not its Namespace", objs[0].GetKind(), objs[0].GetName())
	}
	for _, u := range objs[1:] {
		if ns := u.GetNamespace(); ns != "" && ns != objs[0].GetName() {
			t.Errorf("%s %s is in namespace %s, not %s", u.GetKind(), u.GetName(), ns, objs[0].GetName())
		}
	}
}

// TestDaemonSetPodSecurity: the pod needs the host network, which only the
// "privileged" standard allows; everything else must meet "restricted".
func TestDaemonSetPodSecurity(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ds, ns := readDaemonSet(t)
	for mode, want := range map[string]string{"enforce": "privileged", "warn": "restricted", "audit": "restricted"} {
		if got := ns.Labels["pod-security.kubernetes.io/"+mode]; got != want {
			t.Errorf("namespace %s: pod-security %s is %q, want %q", ns.Name, mode, got, want)
		}
	}
	createNamespace(ctx, t, ns)
	if err := createPod(ctx, t, ns.Name, ds.Spec.Template); err != nil {
		t.Fatalf("the DaemonSet's pod is refused in namespace %s: %v", ns.Name, err)
	}

	restricted := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   "daemonset-restricted",
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"},
	}}
	createNamespace(ctx, t, restricted)
	// The pod as it is must be refused, for its host network: the check
	// below would prove nothing in a namespace that refuses nothing.
	err := createPod(ctx, t, restricted.Name, ds.Spec.Template)
	if err == nil || !strings.Contains(err.Error(), "hostNetwork") {
		t.Fatalf("the DaemonSet's pod in a restricted namespace: got %v, want a refusal for hostNetwork", err)
	}
	tmpl := *ds.Spec.Template.DeepCopy()
	tmpl.Spec.HostNetwork = false
	for i := range tmpl.Spec.Containers {
		for j := range tmpl.Spec.Containers[i].Ports {
			tmpl.Spec.Containers[i].Ports[j].HostPort = 0
		}
	}
	if err := createPod(ctx, t, restricted.Name, tmpl); err != nil {
		t.Errorf("without hostNetwork, the DaemonSet's pod is refused in a restricted namespace: %v", err)
	}

	c := ds.Spec.Template.Spec.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Add, []corev1.Capability{"NET_BIND_SERVICE"}) {
		t.Error("the container does not add exactly the capability NET_BIND_SERVICE")
	}
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("the container's root filesystem is not read-only")
	}
}

// TestDaemonSetSpec checks what the scaled model relies on.
func TestDaemonSetSpec(t *testing.T) {
	ds, ns := readDaemonSet(t)
	spec := ds.Spec.Template.Spec
	if ds.Namespace != ns.Name {
		t.Errorf("the DaemonSet is in namespace %s, not %s", ds.Namespace, ns.Name)
	}
	if !spec.HostNetwork || spec.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
		t.Errorf("hostNetwork %v, dnsPolicy %q: want true, %s", spec.HostNetwork, spec.DNSPolicy, corev1.DNSClusterFirstWithHostNet)
	}
	if spec.NodeSelector["ingress-controller.io/lb-node"] != "true" {
		t.Errorf("nodeSelector %v does not pick ingress-controller.io/lb-node=true", spec.NodeSelector)
	}
	u := ds.Spec.UpdateStrategy
	if u.Type != appsv1.RollingUpdateDaemonSetStrategyType || u.RollingUpdate == nil ||
		u.RollingUpdate.MaxUnavailable == nil || u.RollingUpdate.MaxUnavailable.String() != "1" {
		t.Errorf("updateStrategy %+v: want RollingUpdate with maxUnavailable 1", u)
	}

	c := spec.Containers[0]
	args := map[string]string{}
	for _, a := range c.Args {
		name, value, _ := strings.Cut(a, "=")
		args[name] = value
	}
	for _, name := range []string{"--publish-service", "--publish-status-address"} {
		if v, ok := args[name]; ok {
			t.Errorf("the controller runs with %s=%s: status would not list the replicas' own addresses", name, v)
		}
	}
	if args["--election-namespace"] != "$(POD_NAMESPACE)" {
		t.Errorf("--election-namespace is %q, want $(POD_NAMESPACE), where the Role grants Leases", args["--election-namespace"])
	}
	if args["--replica-name"] != "$(NODE_NAME)" {
		t.Errorf("--replica-name is %q, want $(NODE_NAME): a replacement pod must keep its node's load balancers", args["--replica-name"])
	}
	for flag, port := range map[string]string{"--http-port": "http", "--https-port": "https"} {
		if want := containerPort(c, port); args[flag] != strconv.Itoa(int(want)) {
			t.Errorf("%s is %q, but containerPort %q is %d", flag, args[flag], port, want)
		}
	}
	delay, err := time.ParseDuration(args["--shutdown-delay"])
	if err != nil || delay <= 0 {
		t.Errorf("--shutdown-delay %q: want a positive duration (%v)", args["--shutdown-delay"], err)
	}
	grace := 10 * time.Second // the flag's default
	if v, ok := args["--shutdown-grace"]; ok {
		if grace, err = time.ParseDuration(v); err != nil {
			t.Errorf("--shutdown-grace %q: %v", v, err)
		}
	}
	tgps := 30 * time.Second // the API's default
	if spec.TerminationGracePeriodSeconds != nil {
		tgps = time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second
	}
	if tgps <= delay+grace {
		t.Errorf("terminationGracePeriodSeconds (%s) is not more than --shutdown-delay %s plus --shutdown-grace %s", tgps, delay, grace)
	}

	fields := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			fields[e.Name] = e.ValueFrom.FieldRef.FieldPath
		}
	}
	for name, path := range map[string]string{
		"NODE_NAME":     "spec.nodeName",
		"POD_NAMESPACE": "metadata.namespace",
		"HOST_IP":       "status.hostIP",
		"POD_IP":        "status.podIP",
	} {
		if fields[name] != path {
			t.Errorf("env %s is from %q, want %s", name, fields[name], path)
		}
	}
}

// TestDaemonSetRBAC asks the API server what the DaemonSet's service
// account may do once the documented install is applied: what the
// controller needs, and no Leases beyond its namespace.
func TestDaemonSetRBAC(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	objs := readManifests(t, installs["daemonset"]...)
	a := newApplier(t)
	for _, u := range objs {
		switch u.GetKind() {
		case "Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
			if err := a.apply(ctx, u, false); err != nil {
				t.Fatalf("%s %s/%s: %v", u.GetKind(), u.GetNamespace(), u.GetName(), err)
			}
		}
	}
	ds, _ := readDaemonSet(t)
	// The ClusterRole is the default install's, not a copy.
	crb := decode[rbacv1.ClusterRoleBinding](t, readManifests(t, "daemonset/*.yaml"), "ClusterRoleBinding")
	cr := decode[rbacv1.ClusterRole](t, readManifests(t, "rbac.yaml"), "ClusterRole")
	if crb.RoleRef.Kind != "ClusterRole" || crb.RoleRef.Name != cr.Name {
		t.Errorf("ClusterRoleBinding %s binds %s %s, not the ClusterRole %s of deploy/rbac.yaml", crb.Name, crb.RoleRef.Kind, crb.RoleRef.Name, cr.Name)
	}

	ns, sa := ds.Namespace, ds.Spec.Template.Spec.ServiceAccountName
	type access struct {
		verb, group, resource, subresource, namespace string
		want                                          bool
	}
	checks := []access{
		{"list", "networking.k8s.io", "ingresses", "", "", true},
		{"watch", "networking.k8s.io", "ingressclasses", "", "", true},
		{"update", "networking.k8s.io", "ingresses", "status", "shop", true},
		{"watch", "", "services", "", "", true},
		{"watch", "", "secrets", "", "", true},
		{"watch", "discovery.k8s.io", "endpointslices", "", "", true},
		{"create", "", "events", "", "shop", true},
		{"create", "coordination.k8s.io", "leases", "", "ingress-controller", false},
		{"update", "networking.k8s.io", "ingresses", "", "shop", false},
	}
	for _, verb := range []string{"get", "list", "watch", "create", "update", "delete"} {
		checks = append(checks, access{verb, "coordination.k8s.io", "leases", "", ns, true})
	}
	for _, c := range checks {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:   "system:serviceaccount:" + ns + ":" + sa,
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Verb: c.verb, Group: c.group, Resource: c.resource, Subresource: c.subresource, Namespace: c.namespace,
			},
		}}
		got, err := cluster.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.Allowed != c.want {
			resource := strings.TrimSuffix(c.resource+"/"+c.subresource, "/")
			t.Errorf("%s %s in namespace %q: allowed %v, want %v", c.verb, resource, c.namespace, got.Status.Allowed, c.want)
		}
	}
}
