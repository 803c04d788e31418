package e2e

import (
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
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

// statusOf is the status of a GET of url on a connection of its own, or 0
// when there is no answer within 2s.
func statusOf(url string) int {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
