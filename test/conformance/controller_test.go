//go:build conformance

package conformance

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"ingress-controller/internal/kubetest"
	"ingress-controller/internal/nettest"
)

// providersFrom are the providers named in the environment variable env,
// space-separated, else both.
func providersFrom(env string) []string {
	if p := strings.Fields(os.Getenv(env)); len(p) > 0 {
		return p
	}
	return []string{"builtin", "haproxy"}
}

// startCluster starts a conformance cluster and stops it when the test
// ends, after what the test started later (the controller).
func startCluster(t *testing.T, ctx context.Context, opts kubetest.Options) *kubetest.Conformance {
	t.Helper()
	c, err := kubetest.StartConformance(ctx, opts)
	if err != nil {
		t.Fatalf("StartConformance: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stopping the cluster: %v", err)
		}
	})
	return c
}

// startController runs the controller binary with the Kubernetes source
// and provider against the cluster of kubeconfig until the test ends, with
// the flags in extra besides. Its output goes to <run>-<provider>.log in
// the temporary directory.
func startController(t *testing.T, bin, kubeconfig, provider, run string, extra ...string) {
	t.Helper()
	admin := "127.0.0.1:" + strconv.Itoa(int(nettest.FreePort(t)))
	args := []string{
		"--source=kubernetes",
		"--kubeconfig=" + kubeconfig,
		"--provider=" + provider,
		"--metrics-addr=" + admin,
	}
	if provider == "haproxy" {
		args = append(args, "--haproxy-dir="+haproxyDir(t))
	}
	cmd := exec.Command(bin, append(args, extra...)...)
	out := &nettest.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), "POD_NAMESPACE=", "HOST_IP=", "POD_IP=")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logs := filepath.Join(os.TempDir(), run+"-"+provider+".log")
		if err := os.WriteFile(logs, []byte(out.String()), 0o644); err == nil {
			t.Logf("controller log: %s", logs)
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for !ready(admin) {
		select {
		case <-exited:
			t.Fatalf("controller exited: %v\n%s", cmd.ProcessState, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("controller not ready within 60s:\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// haproxyDir is a runtime directory for HAProxy, removed when the test
// ends. Not in t.TempDir, whose name holds the test's: the unix sockets
// in it must fit in 108 bytes.
func haproxyDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "haproxy-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return filepath.Join(dir, "run")
}

func ready(admin string) bool {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get("http://" + admin + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
