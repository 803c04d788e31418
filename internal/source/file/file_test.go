package file

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/internal/translate"
	"ingress-controller/pkg/lbconfig"
)

const ingressYAML = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: shop
spec:
  rules:
  - host: HOST
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: web
            port:
              number: 80
`

const serviceYAML = `# a comment-only document is skipped
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
  - port: 80
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ignored
`

func newTestSource(t *testing.T) (*Source, string, *nettest.Buffer) {
	t.Helper()
	dir := t.TempDir()
	logs := &nettest.Buffer{}
	return New(dir, 10*time.Millisecond, slog.New(slog.NewTextHandler(logs, nil))), dir, logs
}

func write(t *testing.T, path, content string) {
	t.Helper()
	// Write then rename, as editors do, so the poller never sees half a file.
	tmp := filepath.Join(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func hosts(snap *translate.Snapshot) []string {
	var hs []string
	for _, ing := range snap.Ingresses {
		for _, r := range ing.Spec.Rules {
			hs = append(hs, r.Host)
		}
	}
	return hs
}

func TestLoadReadsKnownKindsAndDefaultsNamespace(t *testing.T) {
	src, dir, _ := newTestSource(t)
	write(t, filepath.Join(dir, "ingress.yaml"), strings.Replace(ingressYAML, "HOST", "a.example.com", 1))
	write(t, filepath.Join(dir, "service.yml"), serviceYAML)
	write(t, filepath.Join(dir, "notes.txt"), "not a manifest")
	if err := src.Load(); err != nil {
		t.Fatal(err)
	}
	snap := src.Snapshot()
	if len(snap.Ingresses) != 1 || len(snap.Services) != 1 {
		t.Fatalf("got %d ingresses, %d services; want 1 and 1", len(snap.Ingresses), len(snap.Services))
	}
	if ns := snap.Services[0].Namespace; ns != "default" {
		t.Errorf("service namespace = %q, want default", ns)
	}
	if got := src.Origin(refOf(t, snap.Ingresses[0].Namespace, "web")); !strings.HasSuffix(got, "ingress.yaml (document 1)") {
		t.Errorf("origin = %q", got)
	}
}

func TestBrokenFileKeepsLastGoodVersionAndNamesTheField(t *testing.T) {
	src, dir, logs := newTestSource(t)
	path := filepath.Join(dir, "ingress.yaml")
	write(t, path, strings.Replace(ingressYAML, "HOST", "a.example.com", 1))
	if err := src.Load(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changed := make(chan struct{}, 100)
	done := make(chan error)
	go func() { done <- src.Run(ctx, func() { changed <- struct{}{} }) }()
	defer func() { cancel(); <-done }()

	// A typo in a field name rejects the whole file: it keeps its old objects.
	write(t, path, strings.Replace(strings.Replace(ingressYAML, "HOST", "b.example.com", 1), "pathType", "pathTipe", 1))
	waitFor(t, func() bool { return strings.Contains(logs.String(), "manifest rejected") })
	if got := logs.String(); !strings.Contains(got, "ingress.yaml") || !strings.Contains(got, "pathTipe") {
		t.Errorf("log does not name the file and the field:\n%s", got)
	}
	if got := hosts(src.Snapshot()); len(got) != 1 || got[0] != "a.example.com" {
		t.Errorf("hosts after a broken edit = %v, want the last good [a.example.com]", got)
	}

	// A mistyped value is rejected too, naming the field.
	write(t, path, strings.Replace(strings.Replace(ingressYAML, "HOST", "b.example.com", 1), "number: 80", "number: eighty", 1))
	waitFor(t, func() bool { return strings.Contains(logs.String(), "number") })
	if got := hosts(src.Snapshot()); len(got) != 1 || got[0] != "a.example.com" {
		t.Errorf("hosts after a mistyped edit = %v, want [a.example.com]", got)
	}

	// Fixing the file is picked up.
	write(t, path, strings.Replace(ingressYAML, "HOST", "c.example.com", 1))
	waitFor(t, func() bool { h := hosts(src.Snapshot()); return len(h) == 1 && h[0] == "c.example.com" })
	if !strings.Contains(logs.String(), "manifest fixed") {
		t.Errorf("no log line for the fixed manifest:\n%s", logs.String())
	}

	// Removing the file removes its objects.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(src.Snapshot().Ingresses) == 0 })
	if len(changed) == 0 {
		t.Error("Run never reported a change")
	}
}

func TestParseErrors(t *testing.T) {
	for name, tc := range map[string]struct{ doc, want string }{
		"no kind":        {"apiVersion: v1\nmetadata: {name: x}\n", "apiVersion and kind are required"},
		"no name":        {"apiVersion: v1\nkind: Service\nmetadata: {}\n", "metadata.name: required"},
		"unknown field":  {"apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {portz: []}\n", `unknown field "portz"`},
		"bad yaml":       {"apiVersion: v1\nkind: Service\nmetadata: {name: x\n", "document 1"},
		"second doc bad": {"apiVersion: v1\nkind: Service\nmetadata: {name: x}\n---\nkind: Service\n", "document 2"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parseManifest([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestDuplicateObjectFirstFileWins(t *testing.T) {
	src, dir, logs := newTestSource(t)
	write(t, filepath.Join(dir, "a.yaml"), strings.Replace(ingressYAML, "HOST", "a.example.com", 1))
	write(t, filepath.Join(dir, "b.yaml"), strings.Replace(ingressYAML, "HOST", "b.example.com", 1))
	if err := src.Load(); err != nil {
		t.Fatal(err)
	}
	if got := hosts(src.Snapshot()); len(got) != 1 || got[0] != "a.example.com" {
		t.Errorf("hosts = %v, want [a.example.com]", got)
	}
	if !strings.Contains(logs.String(), "object defined twice") || !strings.Contains(logs.String(), "b.yaml") {
		t.Errorf("duplicate not logged with its file:\n%s", logs.String())
	}
}

func TestMissingDirectory(t *testing.T) {
	src := New(filepath.Join(t.TempDir(), "nope"), 0, nil)
	if err := src.Load(); err == nil {
		t.Fatal("Load of a missing directory succeeded")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func refOf(t *testing.T, ns, name string) lbconfig.ObjectRef {
	t.Helper()
	return lbconfig.ObjectRef{Kind: "Ingress", Namespace: ns, Name: name}
}
