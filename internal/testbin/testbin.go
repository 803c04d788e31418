// Package testbin builds the controller binary for the tests that run it as
// a user does: once per test binary, into a temporary directory that Main
// removes.
//
//	func TestMain(m *testing.M) { os.Exit(testbin.Main(m)) }
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var (
	once  sync.Once
	dir   string
	path  string
	built error
)

// Controller returns the path of cmd/ingress-controller, built on the first
// call of the test binary; a failed build fails t.
func Controller(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		if dir, built = os.MkdirTemp("", "ingress-controller-bin-"); built != nil {
			return
		}
		path = filepath.Join(dir, "ingress-controller")
		began := time.Now()
		if out, err := exec.Command("go", "build", "-o", path, "ingress-controller/cmd/ingress-controller").CombinedOutput(); err != nil {
			built = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		t.Logf("built the controller in %s", time.Since(began).Round(time.Millisecond))
	})
	if built != nil {
		t.Fatal(built)
	}
	return path
}

// Main runs the tests and then removes the binary, if one was built.
func Main(m *testing.M) int {
	code := m.Run()
	Remove()
	return code
}

// Remove removes the binary, if one was built; for a TestMain that cannot
// use Main.
func Remove() {
	if dir != "" {
		_ = os.RemoveAll(dir)
	}
}
