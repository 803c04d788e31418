// Package e2e tests the built binaries from the outside, as a user runs them.
package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
)

// quickstart is the README's quick-start command running in the background.
type quickstart struct {
	port      int
	admin     string // address of /readyz and /metrics
	manifests string
	out       *nettest.Buffer
	client    *http.Client
}

// startQuickstart runs hack/quickstart.sh on a copy of examples/quickstart,
// so the test can edit the manifests, and waits until it says it serves.
func startQuickstart(t *testing.T) *quickstart {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	manifests := t.TempDir()
	files, err := filepath.Glob(filepath.Join(root, "examples/quickstart/*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no quick-start manifests: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(manifests, filepath.Base(f)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	q := &quickstart{port: int(nettest.FreePort(t)), manifests: manifests, out: &nettest.Buffer{}}
	q.client = &http.Client{Timeout: 5 * time.Second}

	cmd := exec.Command("bash", filepath.Join(root, "hack/quickstart.sh"))
	cmd.Dir = root
	q.admin = fmt.Sprintf("127.0.0.1:%d", int(nettest.FreePort(t)))
	cmd.Env = append(os.Environ(), "QUICKSTART_MANIFESTS="+manifests, fmt.Sprintf("QUICKSTART_PORT=%d", q.port), "QUICKSTART_ADMIN="+q.admin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	serving := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			q.out.Write([]byte(line + "\n"))
			if strings.Contains(line, "ingress-controller is serving") {
				once.Do(func() { close(serving) })
			}
		}
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); pw.Close() }()
	t.Cleanup(func() {
		// The script stops its own children on SIGTERM; the group kill is
		// the backstop for a script that hangs.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			t.Logf("quick-start output:\n%s", q.out.String())
		}
	})
	select {
	case <-serving:
	case err := <-exited:
		t.Fatalf("quick start exited early: %v\n%s", err, q.out.String())
	case <-time.After(5 * time.Minute):
		t.Fatalf("quick start did not serve within 5 minutes:\n%s", q.out.String())
	}
	return q
}

// get sends one request and returns the status and the backend that answered.
func (q *quickstart) get(t *testing.T, host, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", q.port, path), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := q.client.Do(req)
	if err != nil {
		t.Fatalf("GET %s%s: %v", host, path, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Echo-Server")
}

func (q *quickstart) edit(t *testing.T, name, old, new string) {
	t.Helper()
	path := filepath.Join(q.manifests, name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(old)) {
		t.Fatalf("%s does not contain %q", name, old)
	}
	writeAtomic(t, path, bytes.Replace(data, []byte(old), []byte(new), 1))
}

func writeAtomic(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), ".edit-"+filepath.Base(path))
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// waitRoute polls until host+path is answered by want and returns how long
// that took.
func (q *quickstart) waitRoute(t *testing.T, host, path string, wantStatus int, wantServer string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		status, server := q.get(t, host, path)
		if status == wantStatus && server == wantServer {
			return time.Since(start)
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("%s%s: got %d from %q, want %d from %q after 10s", host, path, status, server, wantStatus, wantServer)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestQuickstart(t *testing.T) {
	q := startQuickstart(t)

	routes := []struct {
		host, path string
		status     int
		servers    []string
	}{
		{"shop.example.com", "/", 200, []string{"shop-web-1", "shop-web-2"}},
		{"shop.example.com", "/cart", 200, []string{"shop-cart"}},
		{"shop.example.com", "/cart/items", 200, []string{"shop-cart"}},
		{"shop.example.com", "/cartoons", 200, []string{"shop-web-1", "shop-web-2"}},
		{"shop.example.com", "/healthz", 200, []string{"shop-cart"}},
		{"shop.example.com", "/healthz/deep", 200, []string{"shop-web-1", "shop-web-2"}},
		{"SHOP.example.com:8080", "/cart", 200, []string{"shop-cart"}},
		{"blog.example.com", "/feed.xml", 200, []string{"blog-feed"}},
		{"blog.example.com", "/feed.xml/x", 200, []string{"blog"}},
		{"blog.example.com", "/posts/1", 200, []string{"blog"}},
		{"unknown.example.com", "/", 404, []string{""}},
	}
	for _, r := range routes {
		seen := map[string]bool{}
		for range 2 * len(r.servers) {
			status, server := q.get(t, r.host, r.path)
			if status != r.status {
				t.Errorf("%s%s: status %d, want %d", r.host, r.path, status, r.status)
			}
			seen[server] = true
		}
		for _, s := range r.servers {
			if !seen[s] {
				t.Errorf("%s%s: %q never answered (saw %v)", r.host, r.path, s, seen)
			}
		}
		if len(seen) != len(r.servers) {
			t.Errorf("%s%s: answered by %v, want only %v", r.host, r.path, seen, r.servers)
		}
	}

	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := q.client.Get("http://" + q.admin + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s = %d %s", path, resp.StatusCode, body)
		}
		if path == "/metrics" && !strings.Contains(string(body), `ingress_controller_reconciles_total{result="applied"}`) {
			t.Errorf("/metrics lacks the reconcile counter:\n%s", body)
		}
	}

	// Editing a manifest changes routing without a restart.
	q.edit(t, "blog.yaml", "name: feed\n            port:\n              number: 80", "name: blog\n            port:\n              number: 80")
	took := q.waitRoute(t, "blog.example.com", "/feed.xml", 200, "blog")
	t.Logf("manifest edit served after %v", took)

	// A broken manifest is reported with its file and field; routing stays.
	q.edit(t, "shop.yaml", "pathType: Exact", "pathTipe: Exact")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(q.out.String(), "manifest rejected") {
		if time.Now().After(deadline) {
			t.Fatalf("no error for the broken manifest:\n%s", q.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, line := range strings.Split(q.out.String(), "\n") {
		if strings.Contains(line, "manifest rejected") && (!strings.Contains(line, "shop.yaml") || !strings.Contains(line, "pathTipe")) {
			t.Errorf("error does not name the file and the field: %s", line)
		}
	}
	// Another edit that does parse still goes live: only the broken file is held back.
	q.edit(t, "blog.yaml", "path: /feed.xml", "path: /rss.xml")
	q.waitRoute(t, "blog.example.com", "/rss.xml", 200, "blog")
	for range 20 {
		if status, server := q.get(t, "shop.example.com", "/healthz"); status != 200 || server != "shop-cart" {
			t.Fatalf("after a broken manifest, shop /healthz got %d from %q; want the last good route to shop-cart", status, server)
		}
	}

	// An Ingress naming a Service that does not exist: its route answers
	// 503, a warning names the object and field, the rest keeps serving.
	q.edit(t, "blog.yaml", "- path: /rss.xml\n        pathType: Exact\n        backend:\n          service:\n            name: blog", "- path: /rss.xml\n        pathType: Exact\n        backend:\n          service:\n            name: missing")
	q.waitRoute(t, "blog.example.com", "/rss.xml", 503, "")
	if status, server := q.get(t, "blog.example.com", "/posts/2"); status != 200 || server != "blog" {
		t.Errorf("blog /posts/2 got %d from %q while another route is broken", status, server)
	}
	deadline = time.Now().Add(10 * time.Second)
	want := `object="Ingress blog/blog" field=spec.rules[0].http.paths[1].backend.service.name reason=ServiceNotFound`
	for !strings.Contains(q.out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no warning naming the missing service:\n%s", q.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
