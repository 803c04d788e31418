// Command convergence measures how fast the controller follows the cluster:
// the time from creating an Ingress to its first 200 through the proxy, and
// from removing an endpoint from an EndpointSlice to the last request that
// reaches it, with N other Ingresses present (N = 1, 100, 1000 by default),
// and the controller's memory with the largest N.
//
// Everything is real: a kube-apiserver and etcd from internal/kubetest, the
// ingress-controller binary with --source=kubernetes --provider=builtin, and
// echo backends on an address in 198.18.0.0/15 added to the loopback
// interface (the apiserver refuses loopback addresses in EndpointSlices), so
// it must run as root. It prints p50 and p99 over -trials trials per size.
//
//	go run ./bench/convergence -sizes 1,100,1000 -trials 20
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"ingress-controller/internal/kubetest"
	"ingress-controller/internal/nettest"
)

const (
	namespace = "bench"
	// Backends listen on 198.18.9.1, .2, ... at backendPort: one address per
	// endpoint, because all endpoints of an EndpointSlice share its ports.
	backendNet  = "198.18.9."
	backendPort = 18080
)

func backendAddr(i int) string { return fmt.Sprintf("%s%d", backendNet, i+1) }

func main() {
	sizes := flag.String("sizes", "1,100,1000", "numbers of Ingresses present during the trials")
	trials := flag.Int("trials", 20, "trials per size and measurement")
	endpointsPer := flag.Int("endpoints", 3, "endpoints per Service")
	flag.Parse()
	var ns []int
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			log.Fatalf("-sizes: %q is not a positive number", s)
		}
		ns = append(ns, n)
	}
	slices.Sort(ns)
	if err := run(ns, *trials, *endpointsPer); err != nil {
		log.Fatal(err)
	}
}

type bench struct {
	client    kubernetes.Interface
	proxy     string // "127.0.0.1:port"
	http      *http.Client
	endpoints int
}

func run(sizes []int, trials, endpointsPer int) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logf := func(format string, args ...any) { log.Printf(format, args...) }

	b := &bench{http: &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}, endpoints: endpointsPer}
	for i := range endpointsPer {
		remove, err := nettest.AddLoopbackAddress(netip.MustParseAddr(backendAddr(i)))
		if err != nil {
			return err
		}
		defer remove()
		s, err := nettest.StartEcho(fmt.Sprintf("e%d", i), fmt.Sprintf("%s:%d", backendAddr(i), backendPort))
		if err != nil {
			return err
		}
		defer s.Close()
	}

	cluster, err := kubetest.Start(ctx, kubetest.Options{Logf: logf})
	if err != nil {
		return err
	}
	defer cluster.Stop()
	b.client = cluster.Client
	if _, err := b.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
		return err
	}

	work, err := os.MkdirTemp("", "convergence-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "ingress-controller")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/ingress-controller").CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	httpPort, adminPort := freePort(), freePort()
	b.proxy = fmt.Sprintf("127.0.0.1:%d", httpPort)
	ctrl := exec.Command(bin, "--source=kubernetes", "--kubeconfig="+cluster.Kubeconfig, "--provider=builtin",
		fmt.Sprintf("--http-port=%d", httpPort), "--listen-address=127.0.0.1",
		fmt.Sprintf("--metrics-addr=127.0.0.1:%d", adminPort), "--publish-status-address=127.0.0.1",
		"--election-namespace=default", "--log-level=warn")
	ctrlLog, err := os.Create(filepath.Join(work, "controller.log"))
	if err != nil {
		return err
	}
	ctrl.Stdout, ctrl.Stderr = ctrlLog, ctrlLog
	ctrl.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := ctrl.Start(); err != nil {
		return err
	}
	defer func() {
		_ = ctrl.Process.Signal(syscall.SIGTERM)
		_ = ctrl.Wait()
	}()

	fmt.Printf("convergence: kube-apiserver + ingress-controller (builtin), %d endpoints per Service, %d trials\n", endpointsPer, trials)
	fmt.Printf("%-10s %-28s %9s %9s %9s\n", "ingresses", "measurement", "p50", "p99", "max")
	present := 0
	for _, n := range sizes {
		for ; present < n; present++ {
			if err := b.createApp(ctx, fmt.Sprintf("app-%d", present)); err != nil {
				return err
			}
		}
		// The newest background app serving means all of them are applied.
		if _, err := b.waitServed(ctx, fmt.Sprintf("app-%d", n-1), time.Now(), 2*time.Minute); err != nil {
			return fmt.Errorf("%d ingresses never served: %w (log %s)", n, err, ctrlLog.Name())
		}

		var create, remove []time.Duration
		for i := range trials {
			d, err := b.createTrial(ctx, fmt.Sprintf("trial-%d-%d", n, i))
			if err != nil {
				return err
			}
			create = append(create, d)
			d, err = b.removeTrial(ctx, "app-0")
			if err != nil {
				return err
			}
			remove = append(remove, d)
		}
		report(n, "ingress created -> 200", create)
		report(n, "endpoint removed -> unused", remove)
	}
	rss, err := rssOf(ctrl.Process.Pid)
	if err != nil {
		return err
	}
	fmt.Printf("controller RSS with %d ingresses, %d endpoints: %.1f MiB\n", present, present*endpointsPer, float64(rss)/(1<<20))
	return nil
}

func report(n int, what string, ds []time.Duration) {
	slices.Sort(ds)
	pct := func(p float64) time.Duration { return ds[min(len(ds)-1, int(float64(len(ds))*p))] }
	fmt.Printf("%-10d %-28s %9s %9s %9s\n", n, what, pct(0.50).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond))
}

func host(name string) string { return name + ".bench.test" }

// createApp creates a Service, its EndpointSlice and an Ingress for name.
func (b *bench) createApp(ctx context.Context, name string) error {
	if err := b.createBackend(ctx, name); err != nil {
		return err
	}
	return b.createIngress(ctx, name)
}

func (b *bench) createBackend(ctx context.Context, name string) error {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}
	if _, err := b.client.CoreV1().Services(namespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return err
	}
	_, err := b.client.DiscoveryV1().EndpointSlices(namespace).Create(ctx, b.slice(name, b.endpoints), metav1.CreateOptions{})
	return err
}

// slice returns an EndpointSlice with the first n echo backends.
func (b *bench) slice(name string, n int) *discoveryv1.EndpointSlice {
	portName, port, ready := "http", int32(backendPort), true
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &portName, Port: &port}},
	}
	for i := range n {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{backendAddr(i)},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready},
		})
	}
	return s
}

func (b *bench) createIngress(ctx context.Context, name string) error {
	prefix := networkingv1.PathTypePrefix
	class := "ingress-controller"
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: networkingv1.IngressSpec{
			IngressClassName: &class,
			Rules: []networkingv1.IngressRule{{
				Host: host(name),
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{
						Path: "/", PathType: &prefix,
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: name, Port: networkingv1.ServiceBackendPort{Name: "http"},
						}},
					}},
				}},
			}},
		},
	}
	_, err := b.client.NetworkingV1().Ingresses(namespace).Create(ctx, ing, metav1.CreateOptions{})
	return err
}

// get returns the status and the backend that answered, or an error.
func (b *bench) get(ctx context.Context, name string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+b.proxy+"/", nil)
	if err != nil {
		return 0, "", err
	}
	req.Host = host(name)
	resp, err := b.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Echo-Server"), nil
}

func (b *bench) waitServed(ctx context.Context, name string, start time.Time, limit time.Duration) (time.Duration, error) {
	for {
		if status, _, err := b.get(ctx, name); err == nil && status == 200 {
			return time.Since(start), nil
		}
		if time.Since(start) > limit {
			return 0, fmt.Errorf("%s not served after %s", host(name), limit)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// createTrial creates the backend first (not timed), then the Ingress, and
// times until the proxy answers 200 for its host.
func (b *bench) createTrial(ctx context.Context, name string) (time.Duration, error) {
	if err := b.createBackend(ctx, name); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := b.createIngress(ctx, name); err != nil {
		return 0, err
	}
	return b.waitServed(ctx, name, start, 30*time.Second)
}

// removeTrial drops the last endpoint of name's slice and times until 20
// requests in a row avoid it, then puts the endpoint back (not timed).
func (b *bench) removeTrial(ctx context.Context, name string) (time.Duration, error) {
	gone := fmt.Sprintf("e%d", b.endpoints-1)
	slices := b.client.DiscoveryV1().EndpointSlices(namespace)
	apply := func(n int) error {
		cur, err := slices.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		want := b.slice(name, n)
		cur.Endpoints, cur.Ports = want.Endpoints, want.Ports
		_, err = slices.Update(ctx, cur, metav1.UpdateOptions{})
		return err
	}
	start := time.Now()
	if err := apply(b.endpoints - 1); err != nil {
		return 0, err
	}
	var lastSeen time.Time
	clean := 0
	for clean < 20 {
		status, server, err := b.get(ctx, name)
		switch {
		case err != nil || status != 200:
			return 0, fmt.Errorf("%s failed while an endpoint was removed: %d %v", host(name), status, err)
		case server == gone:
			lastSeen, clean = time.Now(), 0
		default:
			clean++
		}
		if time.Since(start) > 30*time.Second {
			return 0, fmt.Errorf("%s still reaches %s after 30s", host(name), gone)
		}
	}
	took := time.Duration(0)
	if !lastSeen.IsZero() {
		took = lastSeen.Sub(start)
	}
	if err := apply(b.endpoints); err != nil {
		return 0, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, server, _ := b.get(ctx, name); server == gone {
			return took, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s never reached %s again", host(name), gone)
		}
	}
}

func rssOf(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
