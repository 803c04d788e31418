package kubetest_test

import (
	"context"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"ingress-controller/internal/kubetest"
	"ingress-controller/internal/nettest"
)

var cluster *kubetest.Cluster

func TestMain(m *testing.M) {
	os.Exit(kubetest.Main(m, &cluster))
}

// newNamespace creates a namespace for one test. Nothing deletes it: without
// a controller manager a deleted namespace would stay Terminating anyway,
// and the whole cluster goes away after the package's tests.
func newNamespace(t *testing.T, ctx context.Context) string {
	t.Helper()
	ns, err := cluster.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "kubetest-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	return ns.Name
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestServiceEndpointSliceIngress(t *testing.T) {
	ctx := testContext(t)
	client := cluster.Client
	ns := newNamespace(t, ctx)

	_, err := client.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{
				Name:       "http",
				Protocol:   corev1.ProtocolTCP,
				Port:       80,
				TargetPort: intstr.FromInt32(8080),
			}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create service: %v", err)
	}
	_, err = client.DiscoveryV1().EndpointSlices(ns).Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Name:   "web-1",
			Labels: map[string]string{discoveryv1.LabelServiceName: "web"},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{
			Addresses:  []string{"198.18.0.10"},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
		}},
		Ports: []discoveryv1.EndpointPort{{
			Name:     ptr.To("http"),
			Protocol: ptr.To(corev1.ProtocolTCP),
			Port:     ptr.To[int32](8080),
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create endpointslice: %v", err)
	}
	pathType := networkingv1.PathTypePrefix
	_, err = client.NetworkingV1().Ingresses(ns).Create(ctx, &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr.To("ingress-controller"),
			Rules: []networkingv1.IngressRule{{
				Host: "web.example.test",
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{
						Path:     "/",
						PathType: &pathType,
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: "web",
							Port: networkingv1.ServiceBackendPort{Name: "http"},
						}},
					}},
				}},
			}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create ingress: %v", err)
	}

	svc, err := client.CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get service: %v", err)
	}
	if got := svc.Spec.Ports; len(got) != 1 || got[0].Name != "http" || got[0].Port != 80 || got[0].TargetPort != intstr.FromInt32(8080) {
		t.Errorf("service ports = %+v, want http 80 -> 8080", got)
	}
	ip, err := netip.ParseAddr(svc.Spec.ClusterIP)
	if err != nil || !netip.MustParsePrefix(kubetest.ServiceClusterIPRange).Contains(ip) {
		t.Errorf("service clusterIP = %q, want an address in %s", svc.Spec.ClusterIP, kubetest.ServiceClusterIPRange)
	}

	esList, err := client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=web",
	})
	if err != nil {
		t.Fatalf("list endpointslices: %v", err)
	}
	if len(esList.Items) != 1 {
		t.Fatalf("got %d endpointslices for service web, want 1", len(esList.Items))
	}
	es := esList.Items[0]
	if es.AddressType != discoveryv1.AddressTypeIPv4 ||
		len(es.Endpoints) != 1 || len(es.Endpoints[0].Addresses) != 1 || es.Endpoints[0].Addresses[0] != "198.18.0.10" ||
		!ptr.Deref(es.Endpoints[0].Conditions.Ready, false) {
		t.Errorf("endpointslice = %+v, want one ready IPv4 endpoint 198.18.0.10", es)
	}
	if len(es.Ports) != 1 || ptr.Deref(es.Ports[0].Name, "") != "http" || ptr.Deref(es.Ports[0].Port, 0) != 8080 {
		t.Errorf("endpointslice ports = %+v, want http 8080", es.Ports)
	}

	ing, err := client.NetworkingV1().Ingresses(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get ingress: %v", err)
	}
	if ptr.Deref(ing.Spec.IngressClassName, "") != "ingress-controller" || len(ing.Spec.Rules) != 1 {
		t.Fatalf("ingress spec = %+v", ing.Spec)
	}
	rule := ing.Spec.Rules[0]
	if rule.Host != "web.example.test" || rule.HTTP == nil || len(rule.HTTP.Paths) != 1 {
		t.Fatalf("ingress rule = %+v", rule)
	}
	p := rule.HTTP.Paths[0]
	if p.Path != "/" || ptr.Deref(p.PathType, "") != networkingv1.PathTypePrefix ||
		p.Backend.Service == nil || p.Backend.Service.Name != "web" || p.Backend.Service.Port.Name != "http" {
		t.Errorf("ingress path = %+v, want / Prefix -> web:http", p)
	}
}

// The apiserver refuses loopback endpoint addresses; tests put backends in
// 198.18.0.0/15 instead. If this starts passing, DESIGN.md can be simpler.
func TestEndpointSliceRejectsLoopback(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t, ctx)
	_, err := cluster.Client.DiscoveryV1().EndpointSlices(ns).Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "loopback", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"127.0.0.1"}}},
	}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("create endpointslice with 127.0.0.1: err = %v, want Invalid", err)
	}
}

func TestConfigForUser(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t, ctx)
	user := "kubetest-restricted-" + ns
	cfg, err := cluster.ConfigForUser(user, "kubetest-testers")
	if err != nil {
		t.Fatal(err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if gotUser, gotGroups := whoAmI(t, ctx, cfg); gotUser != user || !slices.Contains(gotGroups, "kubetest-testers") {
		t.Errorf("authenticated as %s %v, want %s in kubetest-testers", gotUser, gotGroups, user)
	}

	_, err = client.NetworkingV1().Ingresses("").List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("list ingresses as %s without bindings: err = %v, want Forbidden", user, err)
	}
	if !strings.Contains(err.Error(), `"`+user+`"`) {
		t.Errorf("forbidden error %q does not name user %q: is the certificate's CN used?", err, user)
	}

	name := "kubetest-list-ingresses-" + ns
	_, err = cluster.Client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"networking.k8s.io"},
			Resources: []string{"ingresses"},
			Verbs:     []string{"list"},
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create clusterrole: %v", err)
	}
	_, err = cluster.Client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create clusterrolebinding: %v", err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_ = cluster.Client.RbacV1().ClusterRoleBindings().Delete(ctx, name, metav1.DeleteOptions{})
		_ = cluster.Client.RbacV1().ClusterRoles().Delete(ctx, name, metav1.DeleteOptions{})
	})

	// The authorizer reads roles from an informer cache: poll until the
	// binding reaches it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err = client.NetworkingV1().Ingresses("").List(ctx, metav1.ListOptions{})
		if err == nil {
			break
		}
		if !apierrors.IsForbidden(err) || time.Now().After(deadline) {
			t.Fatalf("list ingresses as %s after binding: %v", user, err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Only what was granted: the group in the certificate carries nothing.
	if _, err := client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("list secrets as %s: err = %v, want Forbidden", user, err)
	}
	if _, err := client.NetworkingV1().Ingresses(ns).Get(ctx, "any", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("get ingress as %s (only list granted): err = %v, want Forbidden", user, err)
	}
}

func TestKubeconfig(t *testing.T) {
	ctx := testContext(t)
	cfg, err := clientcmd.BuildConfigFromFlags("", cluster.Kubeconfig)
	if err != nil {
		t.Fatalf("load %s: %v", cluster.Kubeconfig, err)
	}
	user, groups := whoAmI(t, ctx, cfg)
	if user != kubetest.AdminUser || !slices.Contains(groups, "system:masters") {
		t.Errorf("kubeconfig authenticates as %s %v, want %s in system:masters", user, groups, kubetest.AdminUser)
	}
}

// TestKubeconfigVia runs a client as a controller replica on an LB host
// would: in a network namespace of its own, reaching the apiserver, which
// listens on 127.0.0.1 of the root namespace only, through a forwarder on
// the network's gateway, and verifying its certificate by name.
func TestKubeconfigVia(t *testing.T) {
	ctx := testContext(t)
	network := nettest.NewNetwork(t)
	host := network.AddHost(t, "replica")
	via := network.Forward(t, strings.TrimPrefix(cluster.Config.Host, "https://"))
	path, err := cluster.KubeconfigVia(via)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	if cfg.Host != "https://"+via {
		t.Errorf("kubeconfig server %s, want https://%s", cfg.Host, via)
	}
	cfg.Dial = host.DialContext
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	list, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list namespaces from host %s via %s: %v", host.Name, via, err)
	}
	if !slices.ContainsFunc(list.Items, func(ns corev1.Namespace) bool { return ns.Name == "default" }) {
		t.Errorf("namespaces listed via %s lack default: %d items", via, len(list.Items))
	}
}

func whoAmI(t *testing.T, ctx context.Context, cfg *rest.Config) (user string, groups []string) {
	t.Helper()
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	review, err := client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("SelfSubjectReview: %v", err)
	}
	return review.Status.UserInfo.Username, review.Status.UserInfo.Groups
}

func TestStopStartAPIServer(t *testing.T) {
	ctx := testContext(t)
	client := cluster.Client
	ns := newNamespace(t, ctx)
	_, err := client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "survivor"},
		Data:       map[string]string{"k": "v"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create configmap: %v", err)
	}

	if err := cluster.StartAPIServer(ctx); err == nil {
		t.Error("StartAPIServer while running succeeded, want an error")
	}

	began := time.Now()
	if err := cluster.StopAPIServer(); err != nil {
		t.Fatalf("StopAPIServer: %v", err)
	}
	t.Logf("kube-apiserver stopped in %s", time.Since(began).Round(time.Millisecond))
	if err := cluster.StopAPIServer(); err != nil {
		t.Errorf("second StopAPIServer: %v, want nil", err)
	}

	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	_, err = client.CoreV1().ConfigMaps(ns).Get(rctx, "survivor", metav1.GetOptions{})
	cancel()
	if err == nil {
		t.Fatal("get configmap with the apiserver stopped succeeded")
	}
	t.Logf("with the apiserver stopped: %v", err)

	began = time.Now()
	if err := cluster.StartAPIServer(ctx); err != nil {
		t.Fatalf("StartAPIServer: %v", err)
	}
	t.Logf("kube-apiserver back in %s", time.Since(began).Round(time.Millisecond))

	cm, err := client.CoreV1().ConfigMaps(ns).Get(ctx, "survivor", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get configmap after restart: %v", err)
	}
	if cm.Data["k"] != "v" {
		t.Errorf("configmap data after restart = %v, want k=v", cm.Data)
	}
}

// A missing binary must fail Start with a message that says where it looked;
// tests never skip for it.
func TestStartWithoutBinaries(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("KUBETOOLS_DIR_BIN", dir)
	c, err := kubetest.Start(testContext(t), kubetest.Options{})
	if err == nil {
		c.Stop()
		t.Fatal("Start with an empty KUBETOOLS_DIR_BIN succeeded")
	}
	if !strings.Contains(err.Error(), "KUBETOOLS_DIR_BIN="+dir) {
		t.Errorf("error %q does not name KUBETOOLS_DIR_BIN", err)
	}
}
