package scaling_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/utils/ptr"

	"ingress-controller/internal/kubetest"
	"ingress-controller/internal/nettest"
	"ingress-controller/internal/testbin"
)

var cluster *kubetest.Cluster

func TestMain(m *testing.M) {
	code := kubetest.Main(m, &cluster)
	testbin.Remove()
	os.Exit(code)
}

// Replica timing: short, so that failover is seen in seconds. The
// replica Lease has the election's duration and is renewed every third.
const (
	leaseDuration = 3 * time.Second
	shutdownDelay = 3 * time.Second
	// failover bounds how soon status follows a replica's death: the
	// issue's lease duration + 5 s.
	failover = leaseDuration + 5*time.Second
	// converge bounds everything else: start-up, first status, rejoin.
	converge = 30 * time.Second
)

// fleet is a controller's replicas, each on an LB host of its own (a
// network namespace), with a backend host and a client host, all joined
// by a bridge; the API server is reached through the bridge's gateway.
type fleet struct {
	t          testing.TB
	provider   string
	bin        string
	kubeconfig string
	ns         string // Kubernetes namespace of everything, election included
	net        *nettest.Network
	lbs        []*nettest.Host
	backend    *nettest.Host
	client     *nettest.Host

	mu       sync.Mutex
	replicas map[int]*replica
}

// replica is one controller process.
type replica struct {
	cmd  *exec.Cmd
	logs *nettest.Buffer
	done chan struct{}
}

// newFleet makes n LB hosts, a backend host serving an echo backend
// "web" behind Service web in a new namespace, and a client host. No
// replica runs yet.
func newFleet(t testing.TB, provider string, n int) *fleet {
	t.Helper()
	f := &fleet{t: t, provider: provider, bin: testbin.Controller(t), replicas: map[int]*replica{}}
	f.net = nettest.NewNetwork(t)
	var err error
	f.kubeconfig, err = cluster.KubeconfigVia(f.net.Forward(t, strings.TrimPrefix(cluster.Config.Host, "https://")))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		f.lbs = append(f.lbs, f.net.AddHost(t, fmt.Sprintf("lb%d", i)))
	}
	f.backend = f.net.AddHost(t, "backend")
	f.client = f.net.AddHost(t, "client")

	ctx := context.Background()
	ns, err := cluster.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "scaling-" + provider + "-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.ns = ns.Name
	t.Cleanup(func() {
		_ = cluster.Client.CoreV1().Namespaces().Delete(context.Background(), f.ns, metav1.DeleteOptions{})
	})

	ln, err := f.backend.Listen("tcp", netip.AddrPortFrom(f.backend.Addr, 8000).String())
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: nettest.Echo{Name: "web"}, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	_, err = cluster.Client.CoreV1().Services(f.ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cluster.Client.DiscoveryV1().EndpointSlices(f.ns).Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "web-1", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{
			Addresses:  []string{f.backend.Addr.String()},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
		}},
		Ports: []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(int32(8000))}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			f.mu.Lock()
			defer f.mu.Unlock()
			for i, r := range f.replicas {
				t.Logf("replica lb%d log:\n%s", i, r.logs.String())
			}
		}
	})
	t.Cleanup(func() {
		for i := range f.lbs {
			f.kill(i)
		}
	})
	return f
}

// class is the IngressClass of every fleet: the controller's default.
const class = "ingress-controller"

// start runs the replica of LB host i.
func (f *fleet) start(i int) {
	f.t.Helper()
	h := f.lbs[i]
	args := []string{
		"--source=kubernetes", "--provider=" + f.provider, "--kubeconfig=" + f.kubeconfig,
		"--watch-namespace=" + f.ns, "--election-namespace=" + f.ns, "--election-id=scaling",
		"--election-lease-duration=" + leaseDuration.String(), "--election-renew-deadline=2s", "--election-retry-period=500ms",
		"--replica-name=" + h.Name, "--public-address=" + h.Addr.String(), "--listen-address=" + h.Addr.String(),
		"--http-port=80", "--https-port=443", "--metrics-addr=" + netip.AddrPortFrom(h.Addr, 10254).String(),
		"--shutdown-delay=" + shutdownDelay.String(), "--log-level=debug",
	}
	if f.provider == "haproxy" {
		args = append(args, "--haproxy-dir="+filepath.Join(f.t.TempDir(), "haproxy"))
	}
	r := &replica{logs: &nettest.Buffer{}, done: make(chan struct{})}
	r.cmd = h.Command(context.Background(), f.bin, args...)
	r.cmd.Stdout, r.cmd.Stderr = r.logs, r.logs
	if err := r.cmd.Start(); err != nil {
		f.t.Fatalf("start replica %s: %v", h.Name, err)
	}
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	f.mu.Lock()
	f.replicas[i] = r
	f.mu.Unlock()
}

// kill ends LB host i as a lost node would: SIGKILL to every process in
// its namespace (the controller and, with haproxy, HAProxy), all started
// by this test. Its address stays, with nothing listening.
func (f *fleet) kill(i int) {
	h := f.lbs[i]
	out, err := exec.Command("ip", "netns", "pids", h.Namespace).Output()
	if err != nil {
		f.t.Errorf("ip netns pids %s: %v", h.Namespace, err)
	}
	for _, field := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(field); err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	f.mu.Lock()
	r := f.replicas[i]
	f.mu.Unlock()
	if r != nil {
		<-r.done
	}
}

// terminate sends SIGTERM to the controller of LB host i.
func (f *fleet) terminate(i int) {
	f.t.Helper()
	f.mu.Lock()
	r := f.replicas[i]
	f.mu.Unlock()
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		f.t.Fatalf("SIGTERM to replica %s: %v", f.lbs[i].Name, err)
	}
}

// wait waits until the controller of LB host i has exited.
func (f *fleet) wait(i int) {
	f.t.Helper()
	f.mu.Lock()
	r := f.replicas[i]
	f.mu.Unlock()
	select {
	case <-r.done:
	case <-time.After(converge):
		f.t.Fatalf("replica %s did not exit within %s", f.lbs[i].Name, converge)
	}
}

// ingress creates an Ingress for host on load balancer lb ("" for the
// default one) with the given extra annotations.
func (f *fleet) ingress(name, host, lb string, annotations map[string]string) {
	f.t.Helper()
	ann := map[string]string{}
	if lb != "" {
		ann["ingress-controller.io/load-balancer"] = lb
	}
	for k, v := range annotations {
		ann[k] = v
	}
	_, err := cluster.Client.NetworkingV1().Ingresses(f.ns).Create(context.Background(), &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: ann},
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr.To(class),
			Rules: []networkingv1.IngressRule{{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: ptr.To(networkingv1.PathTypePrefix), Backend: networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Name: "http"}},
				}}},
			}}}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
}

// status returns the IPs in the status of Ingress name, sorted as written.
func (f *fleet) status(name string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ing, err := cluster.Client.NetworkingV1().Ingresses(f.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	var ips []string
	for _, e := range ing.Status.LoadBalancer.Ingress {
		ips = append(ips, e.IP)
	}
	return ips, nil
}

// addrs returns the addresses of LB hosts idx, in numeric order.
func (f *fleet) addrs(idx ...int) []string {
	var ips []netip.Addr
	for _, i := range idx {
		ips = append(ips, f.lbs[i].Addr)
	}
	slices.SortFunc(ips, netip.Addr.Compare)
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.String()
	}
	return out
}

// waitStatus waits until Ingress name's status is want, and returns how
// long that took.
func (f *fleet) waitStatus(name string, want []string, within time.Duration) time.Duration {
	f.t.Helper()
	start := time.Now()
	var got []string
	var err error
	for deadline := start.Add(within); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got, err = f.status(name); err == nil && slices.Equal(got, want) {
			return time.Since(start)
		}
	}
	f.t.Fatalf("status of %s: %v (%v) after %s, want %v", name, got, err, within, want)
	return 0
}

// get sends GET / for host to addr:port from the client host, on a
// connection of its own, and returns the backend that answered.
func (f *fleet) get(addr string, port int, host string) (string, error) {
	tr := &http.Transport{DisableKeepAlives: true, DialContext: f.client.DialContext}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 3 * time.Second}
	req, err := http.NewRequest(http.MethodGet, "http://"+net.JoinHostPort(addr, strconv.Itoa(port))+"/", nil)
	if err != nil {
		return "", err
	}
	req.Host = host
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: status %d", addr, resp.StatusCode)
	}
	return resp.Header.Get("X-Echo-Server"), nil
}

// refused reports whether a connection to addr:port from the client host
// is refused.
func (f *fleet) refused(addr string, port int) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := f.client.DialContext(ctx, "tcp", net.JoinHostPort(addr, strconv.Itoa(port)))
	if err == nil {
		c.Close()
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// metric reads a counter or gauge from the replica of LB host i; -1 when
// it cannot.
func (f *fleet) metric(i int, name string) float64 {
	h := f.lbs[i]
	tr := &http.Transport{DisableKeepAlives: true, DialContext: h.DialContext}
	c := &http.Client{Transport: tr, Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + netip.AddrPortFrom(h.Addr, 10254).String() + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(body)) {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			if v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64); err == nil {
				return v
			}
		}
	}
	return -1
}

// statusLog records every status Ingress name is given, as a watch sees
// it, until the test ends.
type statusLog struct {
	mu      sync.Mutex
	changes []string
}

func (f *fleet) watchStatus(name string) *statusLog {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := cluster.Client.NetworkingV1().Ingresses(f.ns).Watch(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String(),
	})
	if err != nil {
		cancel()
		f.t.Fatal(err)
	}
	l := &statusLog{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		last := ""
		for ev := range w.ResultChan() {
			ing, ok := ev.Object.(*networkingv1.Ingress)
			if !ok {
				continue
			}
			var ips []string
			for _, e := range ing.Status.LoadBalancer.Ingress {
				ips = append(ips, e.IP)
			}
			if now := strings.Join(ips, ","); now != last {
				last = now
				l.mu.Lock()
				l.changes = append(l.changes, now)
				l.mu.Unlock()
			}
		}
	}()
	f.t.Cleanup(func() { w.Stop(); cancel(); <-done })
	return l
}

// since returns the statuses recorded after the first n.
func (l *statusLog) since(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.changes[min(n, len(l.changes)):])
}

func (l *statusLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.changes)
}
