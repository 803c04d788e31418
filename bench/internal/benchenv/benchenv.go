// Package benchenv is the real environment the cluster benchmarks run in: a
// kube-apiserver and etcd from internal/kubetest, echo backends on
// addresses in 198.18.0.0/15 added to the loopback interface (the apiserver
// refuses loopback addresses in EndpointSlices, so it needs root), and the
// ingress-controller binary built from this tree and run with
// --source=kubernetes. Helpers create the Services, EndpointSlices and
// Ingresses the benchmarks change.
package benchenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"ingress-controller/internal/kubetest"
	"ingress-controller/internal/nettest"
	"ingress-controller/internal/translate"
)

// Namespace holds every object the benchmarks create.
const Namespace = "bench"

// BackendPort is the port every echo backend listens on: one address per
// endpoint, because all endpoints of an EndpointSlice share its ports.
const BackendPort = 18080

// Options say what to start.
type Options struct {
	// Name prefixes the work directory.
	Name string
	// Backends is how many echo backends to start, named e0, e1, ...
	Backends int
	// BackendNet is the first three octets of the backends' addresses,
	// e.g. "198.18.9.": backend i listens on BackendNet + (i+1).
	BackendNet string
	// Provider is the controller's --provider; empty means builtin. The
	// haproxy provider gets a runtime directory of its own in the work
	// directory.
	Provider string
	// ControllerArgs are added to the controller's command line.
	ControllerArgs []string
	// GatewayAPI installs the Gateway API CRDs, runs the controller with
	// --gateway-api, and makes a GatewayClass of ours and the Gateway
	// GatewayName with one HTTP listener, which Proxy then is.
	GatewayAPI bool
}

// GatewayName is the Gateway of an environment with Options.GatewayAPI.
const GatewayName = "bench"

// Env is a running environment. Close stops everything it started.
type Env struct {
	Client kubernetes.Interface
	// Gateway is a Gateway API clientset, with Options.GatewayAPI.
	Gateway gatewayclient.Interface
	// Proxy is the controller's HTTP listener, "127.0.0.1:port": the
	// Gateway's listener with Options.GatewayAPI.
	Proxy string
	// Controller is the controller process.
	Controller *exec.Cmd
	// ControllerLog is the path of the controller's log.
	ControllerLog string
	// Metrics is the controller's /metrics URL.
	Metrics string

	opts    Options
	http    *http.Client
	closers []func()
}

// Start builds and starts everything; on error it stops what it started.
func Start(ctx context.Context, opts Options) (_ *Env, err error) {
	e := &Env{opts: opts, http: &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	for i := range opts.Backends {
		remove, err := nettest.AddLoopbackAddress(netip.MustParseAddr(e.BackendAddr(i)))
		if err != nil {
			return nil, err
		}
		e.closers = append(e.closers, func() { _ = remove() })
		s, err := nettest.StartEcho(BackendName(i), fmt.Sprintf("%s:%d", e.BackendAddr(i), BackendPort))
		if err != nil {
			return nil, err
		}
		e.closers = append(e.closers, func() { _ = s.Close() })
	}

	cluster, err := kubetest.Start(ctx, kubetest.Options{Logf: log.Printf})
	if err != nil {
		return nil, err
	}
	e.closers = append(e.closers, func() { _ = cluster.Stop() })
	e.Client = cluster.Client
	if _, err := e.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace}}, metav1.CreateOptions{}); err != nil {
		return nil, err
	}

	if opts.GatewayAPI {
		if err := cluster.InstallGatewayCRDs(ctx); err != nil {
			return nil, err
		}
		if e.Gateway, err = gatewayclient.NewForConfig(cluster.Config); err != nil {
			return nil, err
		}
	}

	work, err := os.MkdirTemp("", opts.Name+"-")
	if err != nil {
		return nil, err
	}
	e.closers = append(e.closers, func() { _ = os.RemoveAll(work) })
	bin := filepath.Join(work, "ingress-controller")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/ingress-controller").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build: %v\n%s", err, out)
	}
	httpPort, adminPort := freePort(), freePort()
	e.Proxy = fmt.Sprintf("127.0.0.1:%d", httpPort)
	e.Metrics = fmt.Sprintf("http://127.0.0.1:%d/metrics", adminPort)
	args := []string{"--source=kubernetes", "--kubeconfig=" + cluster.Kubeconfig,
		fmt.Sprintf("--http-port=%d", httpPort), fmt.Sprintf("--https-port=%d", freePort()), "--listen-address=127.0.0.1",
		fmt.Sprintf("--metrics-addr=127.0.0.1:%d", adminPort), "--publish-status-address=127.0.0.1",
		"--election-namespace=default", "--log-level=warn"}
	hxDir := filepath.Join(work, "hx")
	switch opts.Provider {
	case "", "builtin":
	case "haproxy":
		args = append(args, "--provider=haproxy", "--haproxy-dir="+hxDir)
	default:
		args = append(args, "--provider="+opts.Provider)
	}
	if opts.GatewayAPI {
		args = append(args, "--gateway-api")
	}
	args = append(args, opts.ControllerArgs...)
	ctrl := exec.Command(bin, args...)
	// Keep the log after the work directory goes, for a failed run.
	logFile, err := os.CreateTemp("", opts.Name+"-controller-*.log")
	if err != nil {
		return nil, err
	}
	e.ControllerLog = logFile.Name()
	ctrl.Stdout, ctrl.Stderr = logFile, logFile
	ctrl.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := ctrl.Start(); err != nil {
		return nil, err
	}
	e.Controller = ctrl
	e.closers = append(e.closers, func() {
		_ = ctrl.Process.Signal(syscall.SIGTERM)
		_ = ctrl.Wait()
		_ = logFile.Close()
		stopLeftHAProxy(hxDir)
	})
	if opts.GatewayAPI {
		port := freePort()
		if err := e.createGateway(ctx, port); err != nil {
			return nil, err
		}
		e.Proxy = fmt.Sprintf("127.0.0.1:%d", port)
	}
	return e, nil
}

// createGateway makes a GatewayClass of ours and the Gateway GatewayName
// with one HTTP listener on port that takes routes of Namespace.
func (e *Env) createGateway(ctx context.Context, port int) error {
	class := &gatewayv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: GatewayName},
		Spec:       gatewayv1.GatewayClassSpec{ControllerName: translate.GatewayControllerName},
	}
	if _, err := e.Gateway.GatewayV1().GatewayClasses().Create(ctx, class, metav1.CreateOptions{}); err != nil {
		return err
	}
	gw := &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Name: GatewayName, Namespace: Namespace},
		Spec: gatewayv1.GatewaySpec{
			GatewayClassName: GatewayName,
			Listeners:        []gatewayv1.Listener{{Name: "http", Protocol: gatewayv1.HTTPProtocolType, Port: gatewayv1.PortNumber(port)}},
		},
	}
	_, err := e.Gateway.GatewayV1().Gateways(Namespace).Create(ctx, gw, metav1.CreateOptions{})
	return err
}

// stopLeftHAProxy kills the HAProxy master the controller started in dir,
// should it still run after the controller exited (it stops it itself on
// SIGTERM): by the pid in its pid file, once its command line shows that
// it is ours.
func stopLeftHAProxy(dir string) {
	b, err := os.ReadFile(filepath.Join(dir, "haproxy.pid"))
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), dir) {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// Metric returns the value of the metric called name (without labels) on
// the controller's /metrics, and false when it has none.
func (e *Env) Metric(ctx context.Context, name string) (float64, bool, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", e.Metrics, nil)
	if err != nil {
		return 0, false, err
	}
	resp, err := e.http.Do(req)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, false, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil, err
		}
	}
	return 0, false, nil
}

// Close stops everything Start started, in reverse order.
func (e *Env) Close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
	e.closers = nil
}

// BackendName is the name echo backend i answers with (X-Echo-Server).
func BackendName(i int) string { return fmt.Sprintf("e%d", i) }

// BackendAddr is the address of echo backend i.
func (e *Env) BackendAddr(i int) string { return fmt.Sprintf("%s%d", e.opts.BackendNet, i+1) }

// Host is the host name the Ingress called name routes.
func Host(name string) string { return name + ".bench.test" }

// CreateBackend creates the Service name and its EndpointSlice with the
// given echo backends as ready endpoints.
func (e *Env) CreateBackend(ctx context.Context, name string, backends []int) error {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}
	if _, err := e.Client.CoreV1().Services(Namespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return err
	}
	_, err := e.Client.DiscoveryV1().EndpointSlices(Namespace).Create(ctx, e.Slice(name, backends), metav1.CreateOptions{})
	return err
}

// Slice returns the EndpointSlice of Service name with the given echo
// backends as ready endpoints.
func (e *Env) Slice(name string, backends []int) *discoveryv1.EndpointSlice {
	portName, port, ready := "http", int32(BackendPort), true
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name, Namespace: Namespace, Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &portName, Port: &port}},
	}
	for _, i := range backends {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{e.BackendAddr(i)},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready},
		})
	}
	return s
}

// SetEndpoints replaces the endpoints of Service name's EndpointSlice.
func (e *Env) SetEndpoints(ctx context.Context, name string, backends []int) error {
	slices := e.Client.DiscoveryV1().EndpointSlices(Namespace)
	cur, err := slices.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	want := e.Slice(name, backends)
	cur.Endpoints, cur.Ports = want.Endpoints, want.Ports
	_, err = slices.Update(ctx, cur, metav1.UpdateOptions{})
	return err
}

// Ingress returns an Ingress called name that routes Host(name) "/" to the
// Service service.
func Ingress(name, service string) *networkingv1.Ingress {
	prefix := networkingv1.PathTypePrefix
	class := "ingress-controller"
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace},
		Spec: networkingv1.IngressSpec{
			IngressClassName: &class,
			Rules: []networkingv1.IngressRule{{
				Host: Host(name),
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{
						Path: "/", PathType: &prefix,
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: service, Port: networkingv1.ServiceBackendPort{Name: "http"},
						}},
					}},
				}},
			}},
		},
	}
}

// CreateIngress creates Ingress(name, name).
func (e *Env) CreateIngress(ctx context.Context, name string) error {
	_, err := e.Client.NetworkingV1().Ingresses(Namespace).Create(ctx, Ingress(name, name), metav1.CreateOptions{})
	return err
}

// HTTPRoute returns an HTTPRoute called name, attached to the Gateway
// GatewayName, that routes Host(name) to port 80 of the Service service.
func HTTPRoute(name, service string) *gatewayv1.HTTPRoute {
	return &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: GatewayName}}},
			Hostnames:       []gatewayv1.Hostname{gatewayv1.Hostname(Host(name))},
			Rules: []gatewayv1.HTTPRouteRule{{BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
				BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(service), Port: ptr(gatewayv1.PortNumber(80))},
			}}}}},
		},
	}
}

func ptr[T any](v T) *T { return &v }

// CreateRoute creates what routes Host(name) to the Service name: an
// HTTPRoute with Options.GatewayAPI, else an Ingress.
func (e *Env) CreateRoute(ctx context.Context, name string) error {
	if e.opts.GatewayAPI {
		_, err := e.Gateway.GatewayV1().HTTPRoutes(Namespace).Create(ctx, HTTPRoute(name, name), metav1.CreateOptions{})
		return err
	}
	return e.CreateIngress(ctx, name)
}

// Get sends GET / with Host(name) through the proxy and returns the status
// and the echo backend that answered.
func (e *Env) Get(ctx context.Context, name string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+e.Proxy+"/", nil)
	if err != nil {
		return 0, "", err
	}
	req.Host = Host(name)
	resp, err := e.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Echo-Server"), nil
}

// WaitServed polls until Host(name) answers 200, or limit passes, and
// returns the time since start.
func (e *Env) WaitServed(ctx context.Context, name string, start time.Time, limit time.Duration) (time.Duration, error) {
	for {
		if status, _, err := e.Get(ctx, name); err == nil && status == 200 {
			return time.Since(start), nil
		}
		if time.Since(start) > limit {
			return 0, fmt.Errorf("%s not served after %s (controller log %s)", Host(name), limit, e.ControllerLog)
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// RSS is the controller's resident memory in bytes.
func (e *Env) RSS() (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", e.Controller.Process.Pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmRSS in /proc/PID/status")
}

func freePort() int {
	port, err := nettest.FreePortOn("127.0.0.1")
	if err != nil {
		log.Fatal(err)
	}
	return int(port)
}
