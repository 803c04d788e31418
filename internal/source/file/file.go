// Package file is the source that reads Kubernetes manifests from a
// directory, so the controller runs without a cluster.
//
// Theory of operation: every file ending in .yaml, .yml or .json directly in
// the directory is parsed as a stream of YAML documents holding Ingress,
// IngressClass, Service, EndpointSlice, Secret and ConfigMap objects, or
// others a translate.Snapshot holds (other kinds are ignored, so
// application manifests may sit beside them). The
// directory is polled; a file whose size or modification time changed, or
// that changed so recently that its timestamp cannot be trusted, is read and
// parsed again if its content differs. A file that does not parse keeps contributing the objects
// of its last good version, and the error, naming the file, the document and
// the field, is logged once. So a broken edit never changes what is served,
// and fixing the file is picked up on the next poll.
package file

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"ingress-controller/internal/translate"
	"ingress-controller/pkg/lbconfig"
)

// DefaultPollInterval is how often the directory is checked for changes.
const DefaultPollInterval = 200 * time.Millisecond

// racyWindow is how long after its last modification a file's content is
// compared on every scan, because its timestamp may not show a new write.
const racyWindow = 2 * time.Second

// Source serves the objects found in one directory of manifests.
type Source struct {
	dir      string
	interval time.Duration
	log      *slog.Logger

	mu    sync.Mutex
	files map[string]*manifest // by base name
}

// manifest is the state of one file.
type manifest struct {
	stamp   fileStamp
	sum     [sha256.Size]byte // of the content last read
	objects []object          // of the last version that parsed
	err     error             // of the current version, nil if it parsed
}

type fileStamp struct {
	size    int64
	modTime time.Time
}

// object is one decoded document with where it came from.
type object struct {
	ref lbconfig.ObjectRef
	doc int // 1-based document index in the file
	obj translate.Object
}

// New returns a source for dir. interval 0 means DefaultPollInterval.
func New(dir string, interval time.Duration, logger *slog.Logger) *Source {
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Source{dir: dir, interval: interval, log: logger.With("source", "file", "dir", dir), files: map[string]*manifest{}}
}

// Load reads the directory once. It fails only if the directory cannot be
// read; files with errors are logged and skipped.
func (s *Source) Load() error {
	_, err := s.scan()
	return err
}

// Run polls the directory and calls changed after every change that may
// alter the snapshot, until ctx ends.
func (s *Source) Run(ctx context.Context, changed func()) error {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		dirty, err := s.scan()
		if err != nil {
			// A vanished or unreadable directory keeps the last objects.
			s.log.Error("cannot read manifest directory; keeping the last good objects", "error", err)
			continue
		}
		if dirty {
			changed()
		}
	}
}

// scan re-reads changed files and reports whether anything changed.
func (s *Source) scan() (bool, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	dirty := false
	present := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !isManifest(name) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed between ReadDir and Info; the next scan sees it
		}
		present[name] = true
		stamp := fileStamp{size: info.Size(), modTime: info.ModTime()}
		m := s.files[name]
		// File timestamps advance in clock ticks, so a same-size rewrite
		// within one tick keeps its stamp. Files changed that recently are
		// "racily clean" and their content is compared instead.
		racy := time.Since(stamp.modTime) < racyWindow
		if m != nil && m.stamp == stamp && !racy {
			continue
		}
		path := filepath.Join(s.dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			continue // removed or unreadable for a moment; the next scan retries
		}
		sum := sha256.Sum256(data)
		if m != nil && m.sum == sum {
			m.stamp = stamp
			continue
		}
		if m == nil {
			m = &manifest{}
			s.files[name] = m
		}
		m.stamp, m.sum = stamp, sum
		dirty = true
		objs, err := parseManifest(data)
		if err != nil {
			m.err = err
			s.log.Error("manifest rejected; its last good version keeps serving", "file", path, "error", err)
			continue
		}
		if m.err != nil {
			s.log.Info("manifest fixed", "file", path)
		}
		m.err = nil
		m.objects = objs
	}
	for name := range s.files {
		if !present[name] {
			delete(s.files, name)
			dirty = true
		}
	}
	return dirty, nil
}

func isManifest(name string) bool {
	switch filepath.Ext(name) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// Snapshot returns the objects of every file. When two files define the same
// object, the file whose name sorts first wins and the other copy is logged.
func (s *Source) Snapshot() *translate.Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := &translate.Snapshot{}
	seen := map[lbconfig.ObjectRef]string{}
	for _, name := range s.sortedNames() {
		for _, o := range s.files[name].objects {
			if first, dup := seen[o.ref]; dup {
				s.log.Warn("object defined twice; ignoring the later copy", "object", o.ref.String(), "file", name, "document", o.doc, "first_file", first)
				continue
			}
			seen[o.ref] = name
			// parseManifest only keeps the kinds a snapshot holds.
			_ = snap.Add(o.obj)
		}
	}
	return snap
}

// Origin names the file and document an object came from.
func (s *Source) Origin(ref lbconfig.ObjectRef) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range s.sortedNames() {
		for _, o := range s.files[name].objects {
			if o.ref == ref {
				return fmt.Sprintf("%s (document %d)", filepath.Join(s.dir, name), o.doc)
			}
		}
	}
	return ""
}

func (s *Source) sortedNames() []string {
	names := make([]string, 0, len(s.files))
	for n := range s.files {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// ParseManifest parses one file as the source does and returns its
// objects. Any error rejects the whole file.
func ParseManifest(data []byte) (*translate.Snapshot, error) {
	objs, err := parseManifest(data)
	if err != nil {
		return nil, err
	}
	snap := &translate.Snapshot{}
	for _, o := range objs {
		_ = snap.Add(o.obj) // parseManifest only keeps the kinds a snapshot holds
	}
	return snap, nil
}

// parseManifest parses every document of one file. Any error rejects the
// whole file, so a half-edited file never applies half its objects.
func parseManifest(data []byte) ([]object, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []object
	for doc := 1; ; doc++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		if len(bytes.TrimSpace(raw)) == 0 || isOnlyComments(raw) {
			continue
		}
		o, err := decodeObject(raw)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		if o == nil {
			continue // a kind we do not read
		}
		o.doc = doc
		objs = append(objs, *o)
	}
}

func isOnlyComments(raw []byte) bool {
	for line := range bytes.SplitSeq(raw, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) > 0 && line[0] != '#' {
			return false
		}
	}
	return true
}

// decodeObject decodes one document strictly: an unknown or mistyped field
// is an error that names it. It returns nil for kinds the source ignores.
func decodeObject(raw []byte) (*object, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(raw, &tm); err != nil {
		return nil, err
	}
	obj := translate.NewObject(tm.APIVersion, tm.Kind)
	if obj == nil {
		if tm.Kind == "" || tm.APIVersion == "" {
			return nil, errors.New("apiVersion and kind are required")
		}
		return nil, nil
	}
	if err := yaml.UnmarshalStrict(raw, obj); err != nil {
		return nil, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	if obj.GetName() == "" {
		return nil, fmt.Errorf("%s: metadata.name: required", tm.Kind)
	}
	ref := lbconfig.ObjectRef{Kind: tm.Kind, Name: obj.GetName()}
	if tm.Kind != "IngressClass" {
		if obj.GetNamespace() == "" {
			obj.SetNamespace(metav1.NamespaceDefault)
		}
		ref.Namespace = obj.GetNamespace()
	}
	return &object{ref: ref, obj: obj}, nil
}
