package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/internal/testbin"
)

// TestShutdownDelay: on SIGTERM with --shutdown-delay the controller says
// it is not ready but serves on for the delay, then stops accepting and
// exits cleanly.
func TestShutdownDelay(t *testing.T) {
	bin := testbin.Controller(t)
	echo := nettest.EchoFor(t, "web")
	manifests := t.TempDir()
	writeAtomic(t, filepath.Join(manifests, "web.yaml"), []byte(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: demo}
spec:
  ingressClassName: ingress-controller
  defaultBackend: {service: {name: web, port: {number: 80}}}
---
`+webBackend(echo)))

	port, admin := int(nettest.FreePort(t)), fmt.Sprintf("127.0.0.1:%d", int(nettest.FreePort(t)))
	const delay = 1500 * time.Millisecond
	cmd := exec.Command(bin, "--source=file", "--manifests="+manifests, "--listen-address=127.0.0.1",
		fmt.Sprintf("--http-port=%d", port), "--metrics-addr="+admin, "--shutdown-delay="+delay.String(), "--log-level=warn")
	out := &nettest.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("controller output:\n%s", out.String())
		}
	})
	proxy, readyz := fmt.Sprintf("http://127.0.0.1:%d/", port), "http://"+admin+"/readyz"
	deadline := time.Now().Add(30 * time.Second)
	for statusOf(readyz) != http.StatusOK || statusOf(proxy) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("not ready and serving within 30s:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	signalled := time.Now()
	for time.Since(signalled) < delay/2 {
		if got := statusOf(proxy); got != http.StatusOK {
			t.Fatalf("%s after SIGTERM, within the %s delay: the proxy answered %d, want 200", time.Since(signalled), delay, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := statusOf(readyz); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz during the shutdown delay: %d, want 503", got)
	}
	select {
	case err := <-exited:
		if took := time.Since(signalled); took < delay {
			t.Errorf("exited %s after SIGTERM, before the %s delay", took, delay)
		}
		if err != nil {
			t.Errorf("exit: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("did not exit within 30s of SIGTERM")
	}
	if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
		c.Close()
		t.Error("the port still accepts after exit")
	}
	_ = os.Remove(bin)
}
