package e2e

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// buildController builds the controller binary into the test's temporary
// directory and returns its path.
func buildController(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ingress-controller")
	if out, err := exec.Command("go", "build", "-o", bin, "ingress-controller/cmd/ingress-controller").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
