package kubernetes_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"ingress-controller/internal/nettest"
	"ingress-controller/internal/testbin"
)

// The identity of deploy/rbac.yaml's ServiceAccount. There is no token
// controller, but a client certificate with the ServiceAccount's user name
// and groups is bound by the same RBAC subjects as its token would be.
const (
	deployNamespace = "ingress-controller"
	serviceAccount  = "system:serviceaccount:" + deployNamespace + ":ingress-controller"
)

var (
	deployOnce sync.Once
	deployErr  error
)

// applyDeploy creates deploy/namespace.yaml and deploy/rbac.yaml, once,
// and returns a client config for the ServiceAccount they grant.
func applyDeploy(t *testing.T) *rest.Config {
	t.Helper()
	deployOnce.Do(func() {
		for _, name := range []string{"namespace.yaml", "rbac.yaml"} {
			if deployErr = applyManifest(filepath.Join("..", "..", "..", "deploy", name)); deployErr != nil {
				return
			}
		}
	})
	if deployErr != nil {
		t.Fatal(deployErr)
	}
	cfg, err := cluster.ConfigForUser(serviceAccount, "system:serviceaccounts", "system:serviceaccounts:"+deployNamespace)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// applyManifest creates every object of a YAML file with the admin client.
func applyManifest(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(doc, nil, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
}

func create(ctx context.Context, obj runtime.Object) error {
	c := cluster.Client
	opts := metav1.CreateOptions{}
	var err error
	switch o := obj.(type) {
	case *corev1.Namespace:
		_, err = c.CoreV1().Namespaces().Create(ctx, o, opts)
	case *corev1.ServiceAccount:
		_, err = c.CoreV1().ServiceAccounts(o.Namespace).Create(ctx, o, opts)
	case *rbacv1.ClusterRole:
		_, err = c.RbacV1().ClusterRoles().Create(ctx, o, opts)
	case *rbacv1.ClusterRoleBinding:
		_, err = c.RbacV1().ClusterRoleBindings().Create(ctx, o, opts)
	case *rbacv1.Role:
		_, err = c.RbacV1().Roles(o.Namespace).Create(ctx, o, opts)
	case *rbacv1.RoleBinding:
		_, err = c.RbacV1().RoleBindings(o.Namespace).Create(ctx, o, opts)
	default:
		return fmt.Errorf("unexpected %T in deploy manifests", obj)
	}
	return err
}

// process is the controller binary running against the test cluster.
type process struct {
	cmd      *exec.Cmd
	out      *nettest.Buffer
	port     int    // HTTP listener on 127.0.0.1
	admin    string // address of /readyz
	exited   chan struct{}
	identity string
}

// startBinary runs the controller with --source=kubernetes against the
// test cluster as the identity of cfg, with args added.
func startBinary(t *testing.T, name string, cfg *rest.Config, args ...string) *process {
	t.Helper()
	bin := testbin.Controller(t)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := cluster.WriteKubeconfig(kubeconfig, cfg); err != nil {
		t.Fatal(err)
	}
	p := &process{out: &nettest.Buffer{}, port: int(nettest.FreePort(t)), admin: "127.0.0.1:" + strconv.Itoa(int(nettest.FreePort(t))), exited: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{
		"--source=kubernetes",
		"--provider=builtin",
		"--kubeconfig=" + kubeconfig,
		"--listen-address=127.0.0.1",
		"--http-port=" + strconv.Itoa(p.port),
		"--metrics-addr=" + p.admin,
		// One host, so one hostname: each process a replica of its own.
		"--replica-name=" + name,
	}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	// No public address: status shows the provider's, whatever the host
	// running the tests sets.
	p.cmd.Env = append(os.Environ(), "POD_NAMESPACE=", "HOST_IP=", "POD_IP=")
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.terminate(t)
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.out.String())
		}
	})
	eventually(t, converge, name+" ready", func() error {
		select {
		case <-p.exited:
			t.Fatalf("%s exited: %v\n%s", name, p.cmd.ProcessState, p.out.String())
		default:
		}
		resp, err := http.Get("http://" + p.admin + "/readyz")
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%d %s", resp.StatusCode, bytes.TrimSpace(body))
		}
		return nil
	})
	m := regexp.MustCompile(`identity=(\S+)`).FindStringSubmatch(p.out.String())
	if m == nil {
		t.Fatalf("%s logged no identity:\n%s", name, p.out.String())
	}
	p.identity = m[1]
	return p
}

// terminate sends SIGTERM and waits for the process to exit, killing it
// after a grace period.
func (p *process) terminate(t *testing.T) {
	t.Helper()
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		t.Errorf("controller (pid %d) still running 20s after SIGTERM; killing it", p.cmd.Process.Pid)
		p.kill()
	}
}

// kill sends SIGKILL and waits for the process to exit.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}
