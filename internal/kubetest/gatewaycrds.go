package kubetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
)

// crdResource is where CustomResourceDefinitions live.
var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// GatewayCRDFiles returns the paths of the Gateway API standard-channel
// manifests (CRDs and the admission policy released beside them) that the
// build script copied from the pinned module, sorted; or those of
// Options.GatewayCRDs, when set.
func (c *Cluster) GatewayCRDFiles() ([]string, error) {
	dir := filepath.Join(c.binDir, gatewayCRDsDir)
	if c.gatewayCRDs != "" {
		dir = c.gatewayCRDs
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no Gateway API manifests in %s", dir)
	}
	slices.Sort(files)
	return files, nil
}

// GatewayConformanceBaseManifests returns the path of the conformance
// suite's base manifests (conformance/base/manifests.yaml of the pinned
// release, as released: its Gateways name the class "{GATEWAY_CLASS_NAME}"),
// which the build script copied.
func (c *Cluster) GatewayConformanceBaseManifests() string {
	return filepath.Join(c.binDir, gatewayConformanceDir, "manifests.yaml")
}

// InstallGatewayCRDs applies the Gateway API standard-channel manifests
// (server-side apply, as kubectl apply --server-side would) and waits
// until every CRD among them is established.
func (c *Cluster) InstallGatewayCRDs(ctx context.Context) error {
	files, err := c.GatewayCRDFiles()
	if err != nil {
		return err
	}
	var objs []*unstructured.Unstructured
	for _, f := range files {
		docs, err := ReadManifests(f)
		if err != nil {
			return err
		}
		objs = append(objs, docs...)
	}
	return c.Apply(ctx, objs)
}

// Apply applies objs in order with server-side apply as kubetest, forcing
// conflicts, as kubectl apply --server-side --force-conflicts would, and
// waits until the CRDs among them are established.
func (c *Cluster) Apply(ctx context.Context, objs []*unstructured.Unstructured) error {
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		return err
	}
	groups, err := restmapper.GetAPIGroupResources(c.Client.Discovery())
	if err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	mapper := restmapper.NewDiscoveryRESTMapper(groups)
	var crds []string
	for _, obj := range objs {
		gvk := obj.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return fmt.Errorf("%s %s: %w", gvk.Kind, obj.GetName(), err)
		}
		var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			ns := obj.GetNamespace()
			if ns == "" {
				ns = metav1.NamespaceDefault
			}
			ri = dyn.Resource(m.Resource).Namespace(ns)
		}
		if _, err := ri.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: "kubetest", Force: true}); err != nil {
			return fmt.Errorf("apply %s %s/%s: %w", gvk.Kind, obj.GetNamespace(), obj.GetName(), err)
		}
		if m.Resource == crdResource {
			crds = append(crds, obj.GetName())
		}
	}
	for _, name := range crds {
		if err := waitEstablished(ctx, dyn, name); err != nil {
			return err
		}
	}
	return nil
}

// ReadManifests decodes every object of a multi-document YAML file.
func ReadManifests(path string) ([]*unstructured.Unstructured, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 64<<10)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
}

func waitEstablished(ctx context.Context, dyn dynamic.Interface, name string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		crd, err := dyn.Resource(crdResource).Get(ctx, name, metav1.GetOptions{})
		if err == nil && established(crd) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("CRD %s not established: %w (last error: %v)", name, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func established(crd *unstructured.Unstructured) bool {
	conditions, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conditions {
		m, ok := c.(map[string]any)
		if ok && m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}
