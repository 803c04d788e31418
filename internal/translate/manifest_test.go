package translate

import (
	"bytes"
	"fmt"
	"regexp"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"
)

// documentSeparator splits multi-document YAML: a line that is "---",
// optionally followed by spaces or a comment.
var documentSeparator = regexp.MustCompile(`(?m)^---[ \t]*(#.*)?$`)

// parseManifests reads multi-document Kubernetes YAML into a snapshot. It is
// test-only and strict: an unknown kind or field is an error, so a typo in
// test data cannot silently change what a golden test covers.
func parseManifests(data []byte) (*Snapshot, error) {
	snap := &Snapshot{}
	for i, doc := range documentSeparator.Split(string(data), -1) {
		if len(bytes.TrimSpace([]byte(doc))) == 0 {
			continue
		}
		if err := addManifest(snap, []byte(doc)); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
	}
	return snap, nil
}

func addManifest(snap *Snapshot, doc []byte) error {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return err
	}
	switch head.APIVersion + " " + head.Kind {
	case "networking.k8s.io/v1 Ingress":
		return decodeInto(doc, &snap.Ingresses)
	case "networking.k8s.io/v1 IngressClass":
		return decodeInto(doc, &snap.IngressClasses)
	case "v1 Service":
		return decodeInto(doc, &snap.Services)
	case "discovery.k8s.io/v1 EndpointSlice":
		return decodeInto(doc, &snap.EndpointSlices)
	case "v1 Secret":
		return decodeInto(doc, &snap.Secrets)
	}
	return fmt.Errorf("unsupported object %s %s", head.APIVersion, head.Kind)
}

// decodeInto strictly decodes doc into a new *T and appends it to list.
func decodeInto[T corev1.Service | corev1.Secret | networkingv1.Ingress | networkingv1.IngressClass | discoveryv1.EndpointSlice](doc []byte, list *[]*T) error {
	obj := new(T)
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return err
	}
	*list = append(*list, obj)
	return nil
}
