package migrate

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientset "k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"ingress-controller/internal/source/file"
	"ingress-controller/internal/translate"
)

// Input is what a report is built from.
type Input struct {
	Snapshot *translate.Snapshot
	// ConfigMap is "namespace/name" of the ingress-nginx ConfigMap found,
	// or "" when none was; Settings its data.
	ConfigMap string
	Settings  map[string]string
}

// ReadDir reads the manifests (*.yaml, *.yml, *.json) of dir and its
// subdirectories: the objects the translator reads, from single
// documents and from Lists as `kubectl get -o yaml` writes them, and the
// ConfigMap configMap ("namespace/name") if one of them is it. A file
// that does not parse is an error that names it.
func ReadDir(dir, configMap string) (Input, error) {
	in := Input{Snapshot: &translate.Snapshot{}}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".yaml", ".yml", ".json":
		default:
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := in.readManifest(data, configMap); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	})
	return in, err
}

// readManifest adds the objects of one file.
func (in *Input) readManifest(data []byte, configMap string) error {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for doc := 1; ; doc++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("document %d: %w", doc, err)
		}
		if err := in.readObject(raw, configMap); err != nil {
			return fmt.Errorf("document %d: %w", doc, err)
		}
	}
}

// readObject adds one document: an object, or a List of them.
func (in *Input) readObject(raw []byte, configMap string) error {
	var head struct {
		metav1.TypeMeta `json:",inline"`
		Items           []json.RawMessage `json:"items"`
	}
	if err := yaml.Unmarshal(raw, &head); err != nil {
		return err
	}
	switch {
	case head.Kind == "" && head.APIVersion == "":
		return nil // blank or comments
	case head.Kind == "List" || strings.HasSuffix(head.Kind, "List"):
		for i, item := range head.Items {
			if err := in.readObject(item, configMap); err != nil {
				return fmt.Errorf("item %d: %w", i, err)
			}
		}
		return nil
	case head.Kind == "ConfigMap":
		var cm corev1.ConfigMap
		if err := yaml.Unmarshal(raw, &cm); err != nil {
			return err
		}
		if cm.Namespace+"/"+cm.Name == configMap {
			in.ConfigMap, in.Settings = configMap, cm.Data
		}
		// Any ConfigMap may be one that custom-headers names.
		if cm.Namespace == "" {
			cm.Namespace = metav1.NamespaceDefault
		}
		return in.Snapshot.Add(&cm)
	}
	snap, err := file.ParseManifest(raw)
	if err != nil {
		return err
	}
	for _, obj := range snap.Objects() {
		if err := in.Snapshot.Add(obj); err != nil {
			return err
		}
	}
	return nil
}

// ReadCluster lists, in every namespace, what the translator reads (TLS
// and Opaque Secrets among it), and
// gets the ConfigMap configMap ("namespace/name"; absent is no error).
func ReadCluster(ctx context.Context, client clientset.Interface, configMap string) (Input, error) {
	in := Input{Snapshot: &translate.Snapshot{}}
	all := metav1.ListOptions{}
	ings, err := client.NetworkingV1().Ingresses("").List(ctx, all)
	if err != nil {
		return in, fmt.Errorf("list Ingresses: %w", err)
	}
	classes, err := client.NetworkingV1().IngressClasses().List(ctx, all)
	if err != nil {
		return in, fmt.Errorf("list IngressClasses: %w", err)
	}
	svcs, err := client.CoreV1().Services("").List(ctx, all)
	if err != nil {
		return in, fmt.Errorf("list Services: %w", err)
	}
	eps, err := client.DiscoveryV1().EndpointSlices("").List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName})
	if err != nil {
		return in, fmt.Errorf("list EndpointSlices: %w", err)
	}
	secrets, err := client.CoreV1().Secrets("").List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("type", string(corev1.SecretTypeTLS)).String(),
	})
	if err != nil {
		return in, fmt.Errorf("list TLS Secrets: %w", err)
	}
	// Basic authentication reads Opaque Secrets (htpasswd files).
	opaque, err := client.CoreV1().Secrets("").List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("type", string(corev1.SecretTypeOpaque)).String(),
	})
	if err != nil {
		return in, fmt.Errorf("list Opaque Secrets: %w", err)
	}
	secrets.Items = append(secrets.Items, opaque.Items...)
	s := in.Snapshot
	for i := range ings.Items {
		s.Ingresses = append(s.Ingresses, &ings.Items[i])
	}
	for i := range classes.Items {
		s.IngressClasses = append(s.IngressClasses, &classes.Items[i])
	}
	for i := range svcs.Items {
		s.Services = append(s.Services, &svcs.Items[i])
	}
	for i := range eps.Items {
		s.EndpointSlices = append(s.EndpointSlices, &eps.Items[i])
	}
	for i := range secrets.Items {
		s.Secrets = append(s.Secrets, &secrets.Items[i])
	}
	if err := in.readHeaderConfigMaps(ctx, client); err != nil {
		return in, err
	}
	if ns, name, ok := strings.Cut(configMap, "/"); ok {
		cm, err := client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		switch {
		case err == nil:
			in.ConfigMap, in.Settings = configMap, cm.Data
		case !apierrors.IsNotFound(err):
			return in, fmt.Errorf("get ConfigMap %s: %w", configMap, err)
		}
	}
	return in, nil
}

// readHeaderConfigMaps gets the ConfigMaps that custom-headers names, in
// the Ingress's own namespace, the only one read; a missing one is no
// error: the report says so.
func (in *Input) readHeaderConfigMaps(ctx context.Context, client clientset.Interface) error {
	seen := map[string]bool{}
	for _, ing := range in.Snapshot.Ingresses {
		v := strings.TrimSpace(ing.Annotations[translate.NginxAnnotationPrefix+"custom-headers"])
		ns, name, qualified := strings.Cut(v, "/")
		if !qualified {
			ns, name = ing.Namespace, v
		}
		if name == "" || ns != ing.Namespace || seen[ns+"/"+name] {
			continue
		}
		seen[ns+"/"+name] = true
		cm, err := client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		switch {
		case err == nil:
			in.Snapshot.ConfigMaps = append(in.Snapshot.ConfigMaps, cm)
		case !apierrors.IsNotFound(err):
			return fmt.Errorf("get ConfigMap %s/%s: %w", ns, name, err)
		}
	}
	return nil
}
