package haproxy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRuntimeDirOwnership: New creates a missing runtime directory 0700 and
// refuses one that group or others may write, or that another user owns,
// with an error that names the directory and what is wrong.
func TestRuntimeDirOwnership(t *testing.T) {
	bin := haproxyBinary(t)
	base := runtimeDir(t)

	missing := filepath.Join(base, "new", "haproxy")
	if _, err := New(Options{Binary: bin, Dir: missing}); err != nil {
		t.Fatalf("New on a missing directory: %v", err)
	}
	if fi, err := os.Stat(missing); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("created %s with %v, %v; want mode 0700", missing, fi.Mode(), err)
	}

	for _, tc := range []struct {
		name  string
		setup func(dir string) error
		want  string
	}{
		{"world-writable", func(dir string) error { return os.Chmod(dir, 0o777) }, "mode 0777"},
		{"group-writable", func(dir string) error { return os.Chmod(dir, 0o770) }, "mode 0770"},
		{"another user's", func(dir string) error {
			if os.Geteuid() != 0 {
				t.Skip("giving a directory to another user needs root")
			}
			return os.Chown(dir, 65534, 65534)
		}, "owned by uid 65534"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(base, strings.ReplaceAll(tc.name, " ", "-"))
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := tc.setup(dir); err != nil {
				t.Fatal(err)
			}
			_, err := New(Options{Binary: bin, Dir: dir})
			if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New on a %s directory: %v; want an error naming %s and %q", tc.name, err, dir, tc.want)
			}
		})
	}
}
