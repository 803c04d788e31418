// Package deploy_test checks the manifests in deploy/ against a real
// kube-apiserver: they must be accepted as written (server-side apply,
// dry run), and the controller's pod must pass the "restricted" Pod
// Security Standard that the namespace enforces.
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

func readManifests(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in deploy/: %v", err)
	}
	var objs []*unstructured.Unstructured
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for {
			doc, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
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
	return objs
}

func TestManifestsAreAccepted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dc, err := discovery.NewDiscoveryClientForConfig(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	dyn, err := dynamic.NewForConfig(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	objs := readManifests(t)
	// Namespaced objects can only be dry-run in a namespace that exists, so
	// the Namespace is applied for real first.
	for _, pass := range []bool{true, false} {
		for _, u := range objs {
			if (u.GetKind() == "Namespace") != pass {
				continue
			}
			gvk := u.GroupVersionKind()
			mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				t.Fatalf("%s %s: %v", gvk, u.GetName(), err)
			}
			ri := dyn.Resource(mapping.Resource)
			var r dynamic.ResourceInterface = ri
			if u.GetNamespace() != "" {
				r = ri.Namespace(u.GetNamespace())
			}
			data, err := u.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			opts := metav1.PatchOptions{FieldManager: "deploy-test"}
			if !pass {
				opts.DryRun = []string{metav1.DryRunAll}
			}
			if _, err := r.Patch(ctx, u.GetName(), types.ApplyPatchType, data, opts); err != nil {
				t.Errorf("%s %s/%s rejected: %v", u.GetKind(), u.GetNamespace(), u.GetName(), err)
			}
		}
	}
}

// TestPodIsRestricted creates (dry run) a pod from the Deployment's template
// in the namespace, which enforces the "restricted" Pod Security Standard.
func TestPodIsRestricted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var dep appsv1.Deployment
	var ns corev1.Namespace
	for _, u := range readManifests(t) {
		var target any
		switch u.GetKind() {
		case "Deployment":
			target = &dep
		case "Namespace":
			target = &ns
		default:
			continue
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, target); err != nil {
			t.Fatal(err)
		}
	}
	if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Fatalf("namespace %s does not enforce the restricted standard", ns.Name)
	}
	if _, err := cluster.Client.CoreV1().Namespaces().Create(ctx, &ns, metav1.CreateOptions{}); err != nil && !isAlreadyExists(err) {
		t.Fatal(err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "controller", Namespace: dep.Namespace, Labels: dep.Spec.Template.Labels},
		Spec:       dep.Spec.Template.Spec,
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: dep.Spec.Template.Spec.ServiceAccountName, Namespace: dep.Namespace}}
	if _, err := cluster.Client.CoreV1().ServiceAccounts(dep.Namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !isAlreadyExists(err) {
		t.Fatal(err)
	}
	if _, err := cluster.Client.CoreV1().Pods(dep.Namespace).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
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
// kubelet's probes and Prometheus, which come from outside the pod, so it
// must not serve /debug/pprof to every pod as well.
func TestAdminServesNoProfiles(t *testing.T) {
	var dep appsv1.Deployment
	for _, u := range readManifests(t) {
		if u.GetKind() == "Deployment" {
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &dep); err != nil {
				t.Fatal(err)
			}
		}
	}
	c := dep.Spec.Template.Spec.Containers[0]
	metricsAddr := ""
	for _, a := range c.Args {
		if a == "--enable-pprof" || (strings.HasPrefix(a, "--enable-pprof=") && a != "--enable-pprof=false") {
			t.Errorf("the controller runs with %s: profiles open to every pod", a)
		}
		if v, ok := strings.CutPrefix(a, "--metrics-addr="); ok {
			metricsAddr = v
		}
	}
	_, port, err := net.SplitHostPort(metricsAddr)
	if err != nil {
		t.Fatalf("--metrics-addr %q: %v", metricsAddr, err)
	}
	var metricsPort int32
	for _, p := range c.Ports {
		if p.Name == "metrics" {
			metricsPort = p.ContainerPort
		}
	}
	if strconv.Itoa(int(metricsPort)) != port {
		t.Errorf("containerPort \"metrics\" is %d, but --metrics-addr is %s", metricsPort, metricsAddr)
	}
	for name, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Port.String() != "metrics" {
			t.Errorf("the %s probe does not get the admin port \"metrics\"", name)
		}
	}
}

func isAlreadyExists(err error) bool {
	var s interface{ Status() metav1.Status }
	return errors.As(err, &s) && s.Status().Reason == metav1.StatusReasonAlreadyExists
}
