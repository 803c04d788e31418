// Package deploy_test checks the manifests in deploy/ against a real
// kube-apiserver: they must be accepted as written (server-side apply,
// dry run), and the controller's pod must pass the "restricted" Pod
// Security Standard that the namespace enforces. The scaled install in
// deploy/daemonset/ is checked the same way, except that its pod needs the
// host network and so a namespace that allows it (daemonset_test.go).
package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"ingress-controller/internal/kubetest"
)

var cluster *kubetest.Cluster

func TestMain(m *testing.M) {
	os.Exit(kubetest.Main(m, &cluster))
}

// installs are the documented installs: the files kubectl applies, in order
// (docs/kubernetes.md, docs/deploy.md).
var installs = map[string][]string{
	"default":   {"*.yaml"},
	"daemonset": {"namespace.yaml", "rbac.yaml", "ingressclass.yaml", "daemonset/*.yaml"},
}

// readManifests reads the objects of the files that match patterns, in the
// order kubectl applies them: pattern by pattern, files in lexical order.
func readManifests(t *testing.T, patterns ...string) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	for _, pattern := range patterns {
		files, err := filepath.Glob(pattern)
		if err != nil || len(files) == 0 {
			t.Fatalf("no manifests match deploy/%s: %v", pattern, err)
		}
		for _, f := range files {
			objs = append(objs, readFile(t, f)...)
		}
	}
	return objs
}

func readFile(t *testing.T, f string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	var objs []*unstructured.Unstructured
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := utilyaml.Unmarshal(doc, &u.Object); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		objs = append(objs, u)
	}
}

// decode converts the only object of kind in objs into a typed one.
func decode[T any](t *testing.T, objs []*unstructured.Unstructured, kind string) *T {
	t.Helper()
	var found []*unstructured.Unstructured
	for _, u := range objs {
		if u.GetKind() == kind {
			found = append(found, u)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d objects of kind %s, want 1", len(found), kind)
	}
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(found[0].Object, out); err != nil {
		t.Fatalf("%s %s: %v", kind, found[0].GetName(), err)
	}
	return out
}

// applier applies objects as kubectl apply --server-side does.
type applier struct {
	mapper *restmapper.DeferredDiscoveryRESTMapper
	dyn    *dynamic.DynamicClient
}

func newApplier(t *testing.T) *applier {
	t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	return &applier{mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)), dyn: dyn}
}

func (a *applier) apply(ctx context.Context, u *unstructured.Unstructured, dryRun bool) error {
	gvk := u.GroupVersionKind()
	mapping, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return err
	}
	ri := a.dyn.Resource(mapping.Resource)
	var r dynamic.ResourceInterface = ri
	if u.GetNamespace() != "" {
		r = ri.Namespace(u.GetNamespace())
	}
	data, err := u.MarshalJSON()
	if err != nil {
		return err
	}
	opts := metav1.PatchOptions{FieldManager: "deploy-test"}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	_, err = r.Patch(ctx, u.GetName(), types.ApplyPatchType, data, opts)
	return err
}

func TestManifestsAreAccepted(t *testing.T) {
	for name, patterns := range installs {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			a := newApplier(t)
			objs := readManifests(t, patterns...)
			// Namespaced objects can only be dry-run in a namespace that
			// exists, so Namespaces are applied for real first.
			for _, pass := range []bool{true, false} {
				for _, u := range objs {
					if (u.GetKind() == "Namespace") != pass {
						continue
					}
					if err := a.apply(ctx, u, !pass); err != nil {
						t.Errorf("%s %s/%s rejected: %v", u.GetKind(), u.GetNamespace(), u.GetName(), err)
					}
				}
			}
		})
	}
}

// TestPodIsRestricted creates (dry run) a pod from the Deployment's template
// in the namespace, which enforces the "restricted" Pod Security Standard.
func TestPodIsRestricted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	objs := readManifests(t, installs["default"]...)
	dep := decode[appsv1.Deployment](t, objs, "Deployment")
	ns := decode[corev1.Namespace](t, objs, "Namespace")
	if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Fatalf("namespace %s does not enforce the restricted standard", ns.Name)
	}
	createNamespace(ctx, t, ns)
	if err := createPod(ctx, t, dep.Namespace, dep.Spec.Template); err != nil {
		t.Fatalf("the controller pod is refused in a restricted namespace: %v", err)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	if c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
		t.Error("the container's root filesystem is not read-only")
	}
	if c.ReadinessProbe == nil || c.LivenessProbe == nil {
		t.Error("the container has no readiness or liveness probe")
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
		t.Error("the container has no resource requests")
	}
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 2 {
		t.Error("the Deployment does not run 2 replicas")
	}
}

// TestAdminServesNoProfiles: the admin address must be reachable for the
// kubelet's probes and Prometheus, which come from outside the pod (and,
// for the DaemonSet, from outside the node), so it must not serve
// /debug/pprof to them as well.
func TestAdminServesNoProfiles(t *testing.T) {
	templates := map[string]corev1.PodTemplateSpec{
		"Deployment": decode[appsv1.Deployment](t, readManifests(t, installs["default"]...), "Deployment").Spec.Template,
		"DaemonSet":  decode[appsv1.DaemonSet](t, readManifests(t, "daemonset/*.yaml"), "DaemonSet").Spec.Template,
	}
	for kind, tmpl := range templates {
		t.Run(kind, func(t *testing.T) {
			c := tmpl.Spec.Containers[0]
			metricsAddr := ""
			for _, a := range c.Args {
				if a == "--enable-pprof" || (strings.HasPrefix(a, "--enable-pprof=") && a != "--enable-pprof=false") {
					t.Errorf("the controller runs with %s: profiles open to whoever reaches the admin address", a)
				}
				if v, ok := strings.CutPrefix(a, "--metrics-addr="); ok {
					metricsAddr = v
				}
			}
			_, port, err := net.SplitHostPort(metricsAddr)
			if err != nil {
				t.Fatalf("--metrics-addr %q: %v", metricsAddr, err)
			}
			if strconv.Itoa(int(containerPort(c, "metrics"))) != port {
				t.Errorf("containerPort \"metrics\" is %d, but --metrics-addr is %s", containerPort(c, "metrics"), metricsAddr)
			}
			for name, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
				if p == nil || p.HTTPGet == nil || p.HTTPGet.Port.String() != "metrics" {
					t.Errorf("the %s probe does not get the admin port \"metrics\"", name)
				}
			}
		})
	}
}

func containerPort(c corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

// createNamespace creates ns unless it exists.
func createNamespace(ctx context.Context, t *testing.T, ns *corev1.Namespace) {
	t.Helper()
	if _, err := cluster.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !isAlreadyExists(err) {
		t.Fatal(err)
	}
}

// createPod creates (dry run) a pod from tmpl in namespace ns. Its service
// account is created for real first: admission refuses a pod whose service
// account does not exist.
func createPod(ctx context.Context, t *testing.T, ns string, tmpl corev1.PodTemplateSpec) error {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: tmpl.Spec.ServiceAccountName, Namespace: ns}}
	if _, err := cluster.Client.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !isAlreadyExists(err) {
		t.Fatal(err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "controller", Namespace: ns, Labels: tmpl.Labels},
		Spec:       tmpl.Spec,
	}
	_, err := cluster.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	return err
}

func isAlreadyExists(err error) bool {
	var s interface{ Status() metav1.Status }
	return errors.As(err, &s) && s.Status().Reason == metav1.StatusReasonAlreadyExists
}
