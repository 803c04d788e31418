package kubetest

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// podEnv prepares what a Pod's processes see: its volumes as files under
// dir/volumes and each container's environment.
type podEnv struct {
	node  *Node
	pod   *corev1.Pod
	podIP netip.Addr
	dir   string
}

// prepare writes the volumes and returns each container's environment,
// or an error naming what is missing (a Secret not there yet), to retry.
func (e *podEnv) prepare(ctx context.Context) ([][]string, error) {
	for _, v := range e.pod.Spec.Volumes {
		if err := e.volume(ctx, v); err != nil {
			return nil, fmt.Errorf("volume %s: %w", v.Name, err)
		}
	}
	envs := make([][]string, 0, len(e.pod.Spec.Containers))
	for _, c := range e.pod.Spec.Containers {
		env, err := e.container(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("container %s: %w", c.Name, err)
		}
		envs = append(envs, env)
	}
	return envs, nil
}

func (e *podEnv) volumeDir(name string) string {
	return filepath.Join(e.dir, "volumes", name)
}

// volume writes one volume's files. Secret, ConfigMap, downward API and
// projected volumes (service-account tokens included) get their files;
// others (emptyDir and anything a test node cannot provide) an empty dir.
func (e *podEnv) volume(ctx context.Context, v corev1.Volume) error {
	files := map[string][]byte{}
	var err error
	switch {
	case v.Secret != nil:
		err = e.secretFiles(ctx, v.Secret.SecretName, v.Secret.Items, ptr.Deref(v.Secret.Optional, false), files)
	case v.ConfigMap != nil:
		err = e.configMapFiles(ctx, v.ConfigMap.Name, v.ConfigMap.Items, ptr.Deref(v.ConfigMap.Optional, false), files)
	case v.DownwardAPI != nil:
		err = e.downwardFiles(v.DownwardAPI.Items, files)
	case v.Projected != nil:
		err = e.projectedFiles(ctx, v.Projected.Sources, files)
	}
	if err != nil {
		return err
	}
	return writeFiles(e.volumeDir(v.Name), files)
}

// writeFiles writes files (relative path to content) under dir, refusing
// a path that would leave it.
func writeFiles(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		path := filepath.Join(dir, name)
		if !strings.HasPrefix(path, dir+string(filepath.Separator)) {
			return fmt.Errorf("file %q leaves the volume", name)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}

func (e *podEnv) secretFiles(ctx context.Context, name string, items []corev1.KeyToPath, optional bool, files map[string][]byte) error {
	secret, err := e.node.client.CoreV1().Secrets(e.pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && optional {
		return nil
	}
	if err != nil {
		return fmt.Errorf("secret %s: %w", name, err)
	}
	return keyFiles("secret "+name, secret.Data, items, optional, files)
}

func (e *podEnv) configMapFiles(ctx context.Context, name string, items []corev1.KeyToPath, optional bool, files map[string][]byte) error {
	cm, err := e.node.client.CoreV1().ConfigMaps(e.pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && optional {
		return nil
	}
	if err != nil {
		return fmt.Errorf("configmap %s: %w", name, err)
	}
	data := make(map[string][]byte, len(cm.Data)+len(cm.BinaryData))
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	maps.Copy(data, cm.BinaryData)
	return keyFiles("configmap "+name, data, items, optional, files)
}

// keyFiles maps keys to files: every key under its own name, or the
// items' keys to their paths.
func keyFiles(what string, data map[string][]byte, items []corev1.KeyToPath, optional bool, files map[string][]byte) error {
	if len(items) == 0 {
		maps.Copy(files, data)
		return nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if optional {
				continue
			}
			return fmt.Errorf("%s has no key %q", what, it.Key)
		}
		files[it.Path] = v
	}
	return nil
}

func (e *podEnv) downwardFiles(items []corev1.DownwardAPIVolumeFile, files map[string][]byte) error {
	for _, it := range items {
		if it.FieldRef == nil {
			files[it.Path] = []byte(e.resourceValue(it.ResourceFieldRef))
			continue
		}
		v, err := e.field(it.FieldRef.FieldPath)
		if err != nil {
			return err
		}
		files[it.Path] = []byte(v)
	}
	return nil
}

func (e *podEnv) projectedFiles(ctx context.Context, sources []corev1.VolumeProjection, files map[string][]byte) error {
	for _, src := range sources {
		var err error
		switch {
		case src.Secret != nil:
			err = e.secretFiles(ctx, src.Secret.Name, src.Secret.Items, ptr.Deref(src.Secret.Optional, false), files)
		case src.ConfigMap != nil:
			err = e.configMapFiles(ctx, src.ConfigMap.Name, src.ConfigMap.Items, ptr.Deref(src.ConfigMap.Optional, false), files)
		case src.DownwardAPI != nil:
			err = e.downwardFiles(src.DownwardAPI.Items, files)
		case src.ServiceAccountToken != nil:
			err = e.tokenFile(ctx, src.ServiceAccountToken, files)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// tokenFile asks the apiserver for a token bound to the Pod, as the
// kubelet does for a projected service-account token.
func (e *podEnv) tokenFile(ctx context.Context, src *corev1.ServiceAccountTokenProjection, files map[string][]byte) error {
	var audiences []string
	if src.Audience != "" {
		audiences = []string{src.Audience}
	}
	sa := e.pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	tr, err := e.node.client.CoreV1().ServiceAccounts(e.pod.Namespace).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{
			Audiences:         audiences,
			ExpirationSeconds: src.ExpirationSeconds,
			BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: e.pod.Name, UID: e.pod.UID},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("token for service account %s: %w", sa, err)
	}
	files[src.Path] = []byte(tr.Status.Token)
	return nil
}

// field is the downward API's value of a field path.
func (e *podEnv) field(path string) (string, error) {
	pod := e.pod
	if key, ok := subscript(path, "metadata.labels"); ok {
		return pod.Labels[key], nil
	}
	if key, ok := subscript(path, "metadata.annotations"); ok {
		return pod.Annotations[key], nil
	}
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	case "spec.nodeName":
		return e.node.Name, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.hostIPs":
		return e.node.Addr.String(), nil
	case "status.podIP", "status.podIPs":
		return e.podIP.String(), nil
	}
	return "", fmt.Errorf("field path %q is not supported", path)
}

// subscript parses prefix['key'].
func subscript(path, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(path, prefix+"['")
	if !ok {
		return "", false
	}
	return strings.CutSuffix(rest, "']")
}

// formatMap writes a map as the downward API does: key="value" lines,
// sorted.
func formatMap(m map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, "%s=%q\n", k, m[k])
	}
	return b.String()
}

// resourceValue is the node's capacity: containers here have no limits.
func (e *podEnv) resourceValue(ref *corev1.ResourceFieldSelector) string {
	if ref != nil && strings.HasSuffix(ref.Resource, "memory") {
		return "8589934592"
	}
	return "2"
}

// container returns the container's environment: what an image sets
// (PATH, HOSTNAME), then envFrom, then env in order with $(VAR) expanded.
// A value naming a file under one of its volume mounts names the file in
// the volume's directory instead: the process sees the node's file system.
func (e *podEnv) container(ctx context.Context, c corev1.Container) ([]string, error) {
	vars := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vars[k]; !ok {
			order = append(order, k)
		}
		vars[k] = v
	}
	set("PATH", podPath)
	set("HOSTNAME", e.pod.Name)
	for _, from := range c.EnvFrom {
		data, err := e.envFrom(ctx, from)
		if err != nil {
			return nil, err
		}
		for _, k := range slices.Sorted(maps.Keys(data)) {
			set(from.Prefix+k, data[k])
		}
	}
	for _, ev := range c.Env {
		v, err := e.envValue(ctx, ev, vars)
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", ev.Name, err)
		}
		set(ev.Name, e.mountedPath(c, v))
	}
	env := make([]string, 0, len(order))
	for _, k := range order {
		env = append(env, k+"="+vars[k])
	}
	return env, nil
}

func (e *podEnv) envFrom(ctx context.Context, from corev1.EnvFromSource) (map[string]string, error) {
	client := e.node.client.CoreV1()
	switch {
	case from.ConfigMapRef != nil:
		cm, err := client.ConfigMaps(e.pod.Namespace).Get(ctx, from.ConfigMapRef.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) && ptr.Deref(from.ConfigMapRef.Optional, false) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("envFrom configmap %s: %w", from.ConfigMapRef.Name, err)
		}
		return cm.Data, nil
	case from.SecretRef != nil:
		secret, err := client.Secrets(e.pod.Namespace).Get(ctx, from.SecretRef.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) && ptr.Deref(from.SecretRef.Optional, false) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("envFrom secret %s: %w", from.SecretRef.Name, err)
		}
		data := make(map[string]string, len(secret.Data))
		for k, v := range secret.Data {
			data[k] = string(v)
		}
		return data, nil
	}
	return nil, nil
}

func (e *podEnv) envValue(ctx context.Context, ev corev1.EnvVar, vars map[string]string) (string, error) {
	from := ev.ValueFrom
	if from == nil {
		return expandVars(ev.Value, vars), nil
	}
	switch {
	case from.FieldRef != nil:
		return e.field(from.FieldRef.FieldPath)
	case from.ResourceFieldRef != nil:
		return e.resourceValue(from.ResourceFieldRef), nil
	case from.SecretKeyRef != nil:
		ref := from.SecretKeyRef
		secret, err := e.node.client.CoreV1().Secrets(e.pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err == nil {
			if v, ok := secret.Data[ref.Key]; ok {
				return string(v), nil
			}
			err = fmt.Errorf("secret %s has no key %q", ref.Name, ref.Key)
		}
		if ptr.Deref(ref.Optional, false) {
			return "", nil
		}
		return "", err
	case from.ConfigMapKeyRef != nil:
		ref := from.ConfigMapKeyRef
		cm, err := e.node.client.CoreV1().ConfigMaps(e.pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err == nil {
			if v, ok := cm.Data[ref.Key]; ok {
				return v, nil
			}
			err = fmt.Errorf("configmap %s has no key %q", ref.Name, ref.Key)
		}
		if ptr.Deref(ref.Optional, false) {
			return "", nil
		}
		return "", err
	}
	return "", fmt.Errorf("valueFrom is not supported by the test node")
}

// expandVars replaces $(NAME) with a variable defined before, leaves
// unknown references as they are and turns $$ into $, as the kubelet does.
func expandVars(s string, vars map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
			continue
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				break
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mountedPath maps a path under one of the container's volume mounts
// (the longest that matches) to the volume's directory on the node.
func (e *podEnv) mountedPath(c corev1.Container, v string) string {
	best := -1
	for i, m := range c.VolumeMounts {
		mp := strings.TrimSuffix(m.MountPath, "/")
		if mp == "" || (v != mp && !strings.HasPrefix(v, mp+"/")) {
			continue
		}
		if best < 0 || len(mp) > len(strings.TrimSuffix(c.VolumeMounts[best].MountPath, "/")) {
			best = i
		}
	}
	if best < 0 {
		return v
	}
	m := c.VolumeMounts[best]
	rest := strings.TrimPrefix(v, strings.TrimSuffix(m.MountPath, "/"))
	return filepath.Join(e.volumeDir(m.Name), m.SubPath) + rest
}
