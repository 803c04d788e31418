package kubetest

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestExpandVars(t *testing.T) {
	vars := map[string]string{"A": "a", "B": "$(A)", "EMPTY": ""}
	cases := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"$(A)", "a"},
		{"x$(A)y$(A)z", "xayaz"},
		{"$(B)", "$(A)"}, // expanded once, never recursively
		{"$$(A)", "$(A)"},
		{"$$", "$"},
		{"$$$", "$$"},
		{"$(EMPTY)", ""},
		{"$(UNKNOWN)", "$(UNKNOWN)"},
		{"$(A", "$(A"},
		{"$", "$"},
		{"a$", "a$"},
		{"$A", "$A"},
		{"$()", "$()"},
		{"$($(A))", "$($(A))"},
		{"\r\n$(A)\x00", "\r\na\x00"},
	}
	for _, c := range cases {
		if got := expandVars(c.in, vars); got != c.want {
			t.Errorf("expandVars(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// A huge value with many references stays linear and exact.
	in := strings.Repeat("$(A)", 1<<16)
	if got := expandVars(in, vars); got != strings.Repeat("a", 1<<16) {
		t.Errorf("expandVars of %d references: got %d bytes", 1<<16, len(got))
	}
}

func TestMountedPath(t *testing.T) {
	e := &podEnv{dir: "/node/pod"}
	c := corev1.Container{VolumeMounts: []corev1.VolumeMount{
		{Name: "tls", MountPath: "/etc/tls"},
		{Name: "inner", MountPath: "/etc/tls/inner/"},
		{Name: "sub", MountPath: "/data", SubPath: "part"},
		{Name: "root", MountPath: "/"},
	}}
	cases := []struct{ in, want string }{
		{"/etc/tls/tls.crt", "/node/pod/volumes/tls/tls.crt"},
		{"/etc/tls", "/node/pod/volumes/tls"},
		{"/etc/tls/inner/key", "/node/pod/volumes/inner/key"}, // the longest mount wins
		{"/etc/tlsx/a", "/etc/tlsx/a"},                        // not under /etc/tls
		{"/data/x", "/node/pod/volumes/sub/part/x"},
		{"relative/etc/tls/a", "relative/etc/tls/a"},
		{"3000", "3000"},
		{"", ""},
	}
	for _, tc := range cases {
		if got := e.mountedPath(c, tc.in); got != tc.want {
			t.Errorf("mountedPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestKeyFiles(t *testing.T) {
	data := map[string][]byte{"a": []byte("1"), "b": []byte("2")}
	files := map[string][]byte{}
	if err := keyFiles("secret s", data, nil, false, files); err != nil || len(files) != 2 {
		t.Errorf("all keys: %v, %v", files, err)
	}
	files = map[string][]byte{}
	items := []corev1.KeyToPath{{Key: "a", Path: "dir/a.txt"}}
	if err := keyFiles("secret s", data, items, false, files); err != nil || len(files) != 1 || string(files["dir/a.txt"]) != "1" {
		t.Errorf("items: %v, %v", files, err)
	}
	missing := []corev1.KeyToPath{{Key: "nosuch", Path: "x"}}
	if err := keyFiles("secret s", data, missing, false, map[string][]byte{}); err == nil || !strings.Contains(err.Error(), `secret s has no key "nosuch"`) {
		t.Errorf("missing required key: err = %v", err)
	}
	if err := keyFiles("secret s", data, missing, true, map[string][]byte{}); err != nil {
		t.Errorf("missing optional key: err = %v", err)
	}
}

// A volume's file may never be written outside the volume, whatever path
// an item names (the apiserver refuses "..", this does not rely on it).
func TestWriteFilesStaysInside(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "vol")
	for _, name := range []string{"../escape", "a/../../escape", "../vol-sibling/x", ".."} {
		if err := writeFiles(dir, map[string][]byte{name: []byte("x")}); err == nil {
			t.Errorf("writeFiles(%q) succeeded", name)
		}
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "vol" {
			t.Errorf("%s written outside the volume", e.Name())
		}
	}
	files := map[string][]byte{"/abs/path": []byte("1"), "a/b/c": []byte("2"), "x\r\ny": []byte("3")}
	if err := writeFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(got) != string(want) {
			t.Errorf("%s: %q, %v", name, got, err)
		}
	}
}

func TestField(t *testing.T) {
	pod := &corev1.Pod{}
	pod.Name, pod.Namespace, pod.UID = "p", "ns", "uid-1"
	pod.Labels = map[string]string{"app": "echo", "x": "a\"b\nc"}
	pod.Annotations = map[string]string{"k": "v"}
	pod.Spec.ServiceAccountName = "sa"
	e := &podEnv{node: &Node{Name: "n"}, pod: pod}
	e.node.Addr = mustAddr("198.18.128.1")
	e.podIP = mustAddr("198.18.128.7")
	cases := map[string]string{
		"metadata.name":             "p",
		"metadata.namespace":        "ns",
		"metadata.uid":              "uid-1",
		"metadata.labels['app']":    "echo",
		"metadata.labels['nosuch']": "",
		"metadata.annotations['k']": "v",
		"metadata.labels":           "app=\"echo\"\nx=\"a\\\"b\\nc\"\n",
		"spec.nodeName":             "n",
		"spec.serviceAccountName":   "sa",
		"status.hostIP":             "198.18.128.1",
		"status.podIP":              "198.18.128.7",
		"status.podIPs":             "198.18.128.7",
	}
	for path, want := range cases {
		if got, err := e.field(path); err != nil || got != want {
			t.Errorf("field(%q) = %q, %v; want %q", path, got, err, want)
		}
	}
	for _, bad := range []string{"", "metadata", "metadata.labels['app'", "spec.containers[0].image", "status.phase"} {
		if _, err := e.field(bad); err == nil {
			t.Errorf("field(%q): no error", bad)
		}
	}
	ev := corev1.EnvVar{Name: "X", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory"}}}
	if got, err := e.envValue(t.Context(), ev, nil); err != nil || got != "8589934592" {
		t.Errorf("limits.memory = %q, %v", got, err)
	}
	if got, err := e.envValue(t.Context(), corev1.EnvVar{Name: "Y", Value: "$(X)"}, map[string]string{"X": "1"}); err != nil || got != "1" {
		t.Errorf("$(X) = %q, %v", got, err)
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
