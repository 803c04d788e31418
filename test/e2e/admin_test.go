package e2e

import (
	"fmt"
	"net/http"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/internal/testbin"
)

// TestPprofOnlyWithFlag: the built binary serves /debug/pprof on its admin
// address only with --enable-pprof; /healthz and /metrics always.
func TestPprofOnlyWithFlag(t *testing.T) {
	bin := testbin.Controller(t)
	for _, tc := range []struct {
		flags []string
		want  int
	}{
		{nil, http.StatusNotFound},
		{[]string{"--enable-pprof"}, http.StatusOK},
	} {
		admin := fmt.Sprintf("127.0.0.1:%d", int(nettest.FreePort(t)))
		args := append([]string{"--source=file", "--manifests=" + t.TempDir(), "--listen-address=127.0.0.1",
			fmt.Sprintf("--http-port=%d", int(nettest.FreePort(t))), "--metrics-addr=" + admin, "--log-level=warn"}, tc.flags...)
		cmd := exec.Command(bin, args...)
		out := &nettest.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		base := "http://" + admin
		deadline := time.Now().Add(30 * time.Second)
		for statusOf(base+"/healthz") != http.StatusOK {
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("flags %v: /healthz not served within 30s:\n%s", tc.flags, out.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		for _, path := range []string{"/debug/pprof/", "/debug/pprof/cmdline"} {
			if got := statusOf(base + path); got != tc.want {
				t.Errorf("flags %v: %s = %d, want %d", tc.flags, path, got, tc.want)
			}
		}
		if got := statusOf(base + "/metrics"); got != http.StatusOK {
			t.Errorf("flags %v: /metrics = %d, want 200", tc.flags, got)
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}
}
