package kubernetes_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"ingress-controller/internal/dnssync/bindtest"
	"ingress-controller/internal/engine"
	"ingress-controller/internal/kubetest"
	"ingress-controller/internal/nettest"
	"ingress-controller/internal/provider/builtin"
	"ingress-controller/internal/provider/haproxy"
	kubesource "ingress-controller/internal/source/kubernetes"
	"ingress-controller/internal/testbin"
	"ingress-controller/internal/translate"
	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
)

var cluster *kubetest.Cluster

func TestMain(m *testing.M) {
	code := kubetest.Main(m, &cluster)
	testbin.Remove()
	os.Exit(code)
}

// Timeouts of the polling helpers. Generous: the machines are shared and
// tests may run with -race.
const (
	converge    = 10 * time.Second
	pollEvery   = 20 * time.Millisecond
	testTimeout = 2 * time.Minute
)

// eventually polls f until it returns nil or the deadline passes, and
// returns how long it took.
func eventually(t testing.TB, timeout time.Duration, what string, f func() error) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		err := f()
		if err == nil {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(pollEvery)
	}
}

// --- backends ---

// nextBackendAddress hands out the 198.18.4.0/24 addresses of this
// package, one per backend, never twice.
var nextBackendAddress atomic.Int32

// startBackends starts one echo backend per name, each on its own new
// loopback address and all on the same port, as the backends of one
// EndpointSlice port. It returns their addresses and the port.
func startBackends(t *testing.T, names ...string) (map[string]string, int32) {
	t.Helper()
	addrs := map[string]string{}
	for _, name := range names {
		n := nextBackendAddress.Add(1)
		if n > 240 {
			t.Fatal("out of backend addresses")
		}
		addrs[name] = nettest.LoopbackAddress(t, fmt.Sprintf("198.18.4.%d", n)).String()
	}
	for attempt := 0; ; attempt++ {
		port, started, err := tryStartBackends(names, addrs)
		if err == nil {
			t.Cleanup(func() {
				for _, s := range started {
					_ = s.Close()
				}
			})
			return addrs, port
		}
		if attempt == 5 {
			t.Fatalf("starting backends: %v", err)
		}
	}
}

func tryStartBackends(names []string, addrs map[string]string) (int32, []*nettest.EchoServer, error) {
	var started []*nettest.EchoServer
	port := "0"
	for _, name := range names {
		s, err := nettest.StartEcho(name, net.JoinHostPort(addrs[name], port))
		if err != nil {
			for _, s := range started {
				_ = s.Close()
			}
			return 0, nil, err
		}
		started = append(started, s)
		_, port, _ = net.SplitHostPort(s.Addr)
	}
	p, _ := strconv.Atoi(port)
	return int32(p), started, nil
}

// startBackendOn starts one echo backend on addr:port.
func startBackendOn(t *testing.T, name, addr string, port int32) {
	t.Helper()
	s, err := nettest.StartEcho(name, net.JoinHostPort(addr, strconv.Itoa(int(port))))
	if err != nil {
		t.Fatalf("backend %s: %v", name, err)
	}
	t.Cleanup(func() { _ = s.Close() })
}

// --- objects ---

// fixture creates objects in one test namespace with the admin client.
type fixture struct {
	t      *testing.T
	ctx    context.Context
	client kubernetes.Interface
	ns     string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	ns, err := cluster.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "kube-source-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	// Namespaces are not deleted: without a controller manager they would
	// stay Terminating. The cluster goes away after the package's tests.
	return &fixture{t: t, ctx: ctx, client: cluster.Client, ns: ns.Name}
}

// service creates a ClusterIP Service with one TCP port named portName
// ("" for none) that targets targetPort.
func (f *fixture) service(name, portName string, port, targetPort int32) *corev1.Service {
	f.t.Helper()
	svc, err := f.client.CoreV1().Services(f.ns).Create(f.ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{
			Name: portName, Protocol: corev1.ProtocolTCP, Port: port, TargetPort: intstr.FromInt32(targetPort),
		}}},
	}, metav1.CreateOptions{})
	if err != nil {
		f.t.Fatalf("create service %s: %v", name, err)
	}
	return svc
}

// slice creates an EndpointSlice of service whose port portName is port,
// with one ready endpoint per address.
func (f *fixture) slice(name, service, portName string, port int32, addrs ...string) *discoveryv1.EndpointSlice {
	f.t.Helper()
	es, err := f.client.DiscoveryV1().EndpointSlices(f.ns).Create(f.ctx, newSlice(name, service, portName, port, addrs...), metav1.CreateOptions{})
	if err != nil {
		f.t.Fatalf("create endpointslice %s: %v", name, err)
	}
	return es
}

func newSlice(name, service, portName string, port int32, addrs ...string) *discoveryv1.EndpointSlice {
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: service}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To(portName), Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(port)}},
	}
	setSliceAddresses(es, addrs...)
	return es
}

func setSliceAddresses(es *discoveryv1.EndpointSlice, addrs ...string) {
	es.Endpoints = nil
	for _, a := range addrs {
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{a},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
		})
	}
}

// updateSlice re-reads the slice, applies change and updates it.
func (f *fixture) updateSlice(name string, change func(*discoveryv1.EndpointSlice)) {
	f.t.Helper()
	c := f.client.DiscoveryV1().EndpointSlices(f.ns)
	es, err := c.Get(f.ctx, name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatalf("get endpointslice %s: %v", name, err)
	}
	change(es)
	if _, err := c.Update(f.ctx, es, metav1.UpdateOptions{}); err != nil {
		f.t.Fatalf("update endpointslice %s: %v", name, err)
	}
}

func (f *fixture) updateService(name string, change func(*corev1.Service)) {
	f.t.Helper()
	c := f.client.CoreV1().Services(f.ns)
	svc, err := c.Get(f.ctx, name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatalf("get service %s: %v", name, err)
	}
	change(svc)
	if _, err := c.Update(f.ctx, svc, metav1.UpdateOptions{}); err != nil {
		f.t.Fatalf("update service %s: %v", name, err)
	}
}

func (f *fixture) updateIngress(name string, change func(*networkingv1.Ingress)) {
	f.t.Helper()
	c := f.client.NetworkingV1().Ingresses(f.ns)
	// A running controller's status writer may update the Ingress between
	// the Get and the Update.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ing, err := c.Get(f.ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		change(ing)
		_, err = c.Update(f.ctx, ing, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		f.t.Fatalf("update ingress %s: %v", name, err)
	}
}

func (f *fixture) getIngress(name string) *networkingv1.Ingress {
	f.t.Helper()
	ing, err := f.client.NetworkingV1().Ingresses(f.ns).Get(f.ctx, name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatalf("get ingress %s: %v", name, err)
	}
	return ing
}

func (f *fixture) createIngress(ing *networkingv1.Ingress) {
	f.t.Helper()
	if _, err := f.client.NetworkingV1().Ingresses(f.ns).Create(f.ctx, ing, metav1.CreateOptions{}); err != nil {
		f.t.Fatalf("create ingress %s: %v", ing.Name, err)
	}
}

func (f *fixture) deleteIngress(name string) {
	f.t.Helper()
	if err := f.client.NetworkingV1().Ingresses(f.ns).Delete(f.ctx, name, metav1.DeleteOptions{}); err != nil {
		f.t.Fatalf("delete ingress %s: %v", name, err)
	}
}

// ingress builds an Ingress of class (nil: none) with one rule per route.
func ingress(name string, class *string, routes ...route) *networkingv1.Ingress {
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       networkingv1.IngressSpec{IngressClassName: class},
	}
	for _, r := range routes {
		ing.Spec.Rules = append(ing.Spec.Rules, r.rule())
	}
	return ing
}

// route is one host, path and backend of an Ingress.
type route struct {
	host, path string
	exact      bool
	service    string
	port       string // a port name, or a number
}

func (r route) rule() networkingv1.IngressRule {
	pt := networkingv1.PathTypePrefix
	if r.exact {
		pt = networkingv1.PathTypeExact
	}
	return networkingv1.IngressRule{
		Host: r.host,
		IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
			Paths: []networkingv1.HTTPIngressPath{{Path: r.path, PathType: &pt, Backend: serviceBackend(r.service, r.port)}},
		}},
	}
}

func serviceBackend(service, port string) networkingv1.IngressBackend {
	sp := networkingv1.ServiceBackendPort{Name: port}
	if n, err := strconv.Atoi(port); err == nil {
		sp = networkingv1.ServiceBackendPort{Number: int32(n)}
	}
	return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: service, Port: sp}}
}

// --- the controller, in process ---

// controller is the engine, the kubernetes source and the builtin proxy
// wired as cmd/ingress-controller wires them.
type controller struct {
	src    *kubesource.Source
	eng    *engine.Engine
	events *kubesource.Events
	status *kubesource.StatusWriter
	// gatewayStatus is set with controllerOptions.gatewayAPI.
	gatewayStatus *kubesource.GatewayStatusWriter
	// prov is the builtin proxy, or HAProxy with controllerOptions.haproxy.
	prov provider.Provider
	// metrics holds the status writer's.
	metrics *prometheus.Registry
	// port and tlsPort are the proxy's HTTP and HTTPS ports on 127.0.0.1.
	port, tlsPort int
	logs          *nettest.Buffer

	halt     func() error
	stopOnce sync.Once
}

// stop stops the controller as SIGTERM stops the binary, and waits.
func (c *controller) stop(t *testing.T) {
	t.Helper()
	c.stopOnce.Do(func() {
		if err := c.halt(); err != nil {
			t.Error(err)
		}
	})
}

type controllerOptions struct {
	// class is the --ingress-class.
	class string
	// namespaces to watch; none means all.
	namespaces       []string
	publishAddresses []string
	publishService   string
	clearOnShutdown  bool
	// config reaches the API server; default cluster.Config.
	config *rest.Config
	// electionNamespace holds the Lease, named after the class.
	electionNamespace string
	// conflictBackoff and conflictBackoffMax shorten the status writer's
	// backoff from another writer; zero keeps the defaults.
	conflictBackoff, conflictBackoffMax time.Duration
	// dns, when set, publishes the load balancers in its zone as
	// --dns-provider=rfc2136 does.
	dns *dnsOptions
	// assign, when set, is the engine's Assign: it may change the
	// translated config in place, as a source the translator does not
	// have yet would make it.
	assign func(*lbconfig.Config) *lbconfig.Config
	// gatewayAPI turns the Gateway API source on, as --gateway-api does,
	// with addressPool as --gateway-address-pool.
	gatewayAPI  bool
	addressPool netip.Prefix
	// gatewayServices keeps a Service per Gateway, as --gateway-services
	// does.
	gatewayServices bool
	// haproxy runs the haproxy provider instead of the builtin proxy.
	haproxy bool
	// nginxClass, when set, serves that class as --nginx-compat and
	// --nginx-ingress-class do, with allowedResponseHeaders as
	// --nginx-allowed-response-headers.
	nginxClass             string
	allowedResponseHeaders []string
}

// dnsOptions are the DNS flags of a controller under test.
type dnsOptions struct {
	server *bindtest.Server
	// keyFile is the TSIG key's file; owner the --dns-owner-id.
	keyFile, owner  string
	publishHosts    bool
	publishHostname bool
}

// electionID is the Lease of the controllers of class.
func electionID(class string) string { return "leader-" + class }

func startController(t *testing.T, opts controllerOptions) *controller {
	t.Helper()
	cfg := opts.config
	if cfg == nil {
		cfg = cluster.Config
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &controller{port: int(nettest.FreePort(t)), tlsPort: int(nettest.FreePort(t)), logs: &nettest.Buffer{}, metrics: prometheus.NewRegistry()}
	log := slog.New(slog.NewTextHandler(c.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("controller log:\n%s", c.logs.String())
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	// Events outlive the rest, so that the Lease's last events are sent.
	kick, gatewayKick := kubesource.NewStatusKick(), kubesource.NewStatusKick()
	var gateway gatewayclient.Interface
	if opts.gatewayAPI {
		if gateway, err = gatewayclient.NewForConfig(cfg); err != nil {
			t.Fatal(err)
		}
	}
	c.src, err = kubesource.New(kubesource.Options{Client: client, StatusKick: kick, Namespaces: opts.namespaces, PublishService: opts.publishService,
		Gateway: gateway, GatewayKick: gatewayKick, GatewayServices: opts.gatewayServices, Logger: log, AllowedResponseHeaders: opts.allowedResponseHeaders})
	if err != nil {
		t.Fatal(err)
	}
	electionNamespace := opts.electionNamespace
	if electionNamespace == "" {
		electionNamespace = "default"
	}
	c.prov = builtin.New(provider.Options{ListenAddress: "127.0.0.1"}, log.With("provider", "builtin"))
	if opts.haproxy {
		c.prov = startHAProxy(t, log)
	}
	replicas := kubesource.NewReplicaWatch(client, electionNamespace, electionID(opts.class), log)
	c.events = kubesource.NewEvents(kubesource.EventsOptions{Client: client, Provider: c.prov.Name(), Logger: log})
	var dns *kubesource.DNSWriter
	if opts.dns != nil {
		dns = startDNS(t, opts.dns, c.src, c.events, c.metrics, log)
	}
	c.status, err = kubesource.NewStatusWriter(kubesource.StatusOptions{
		Client: client, Source: c.src, Kick: kick, PublishAddresses: opts.publishAddresses, ClearOnShutdown: opts.clearOnShutdown,
		Replicas: replicas, Metrics: c.metrics, Logger: log,
		Recorder: c.events.Recorder(), ConflictBackoff: opts.conflictBackoff, ConflictBackoffMax: opts.conflictBackoffMax,
		DNS: dns, PublishHostname: opts.dns != nil && opts.dns.publishHostname,
	})
	if err != nil {
		t.Fatal(err)
	}
	var leader kubesource.Leader = c.status
	if dns != nil {
		leader = kubesource.Leaders{c.status, dns}
	}
	topts := translate.Options{IngressClass: opts.class, HTTPPort: int32(c.port), HTTPSPort: int32(c.tlsPort), GatewayAddressPool: opts.addressPool, GatewayServices: opts.gatewayServices,
		NginxCompat: opts.nginxClass != "", NginxIngressClass: opts.nginxClass, NginxAllowedResponseHeaders: opts.allowedResponseHeaders}
	if opts.haproxy {
		topts.StickyCanaryIgnored = "--provider=haproxy cannot" // as the binary's
	}
	if opts.gatewayAPI {
		gopts := kubesource.GatewayStatusOptions{
			Client: gateway, Source: c.src, Translate: topts, Core: client, Kick: gatewayKick, Recorder: c.events.Recorder(), Logger: log,
		}
		c.gatewayStatus, err = kubesource.NewGatewayStatusWriter(gopts)
		if err != nil {
			t.Fatal(err)
		}
		leader = kubesource.Leaders{leader, c.gatewayStatus}
	}
	c.eng = engine.New(engine.Options{
		Source:     c.src,
		Provider:   c.prov,
		Translate:  topts,
		Logger:     log.With("component", "engine"),
		OnProblems: c.events.Problems,
		OnApplied: func(snap *translate.Snapshot, cfg *lbconfig.Config, res provider.Result) {
			c.events.Applied(snap, cfg, res)
			c.status.Applied(res)
			if c.gatewayStatus != nil {
				c.gatewayStatus.Applied(cfg, res)
			}
		},
		OnTranslated: c.status.Translated,
		Assign:       opts.assign,
	})
	election := &kubesource.Election{
		Client: client, Namespace: electionNamespace, Name: electionID(opts.class), Identity: kubesource.NewIdentity(),
		LeaseDuration: 4 * time.Second, RenewDeadline: 3 * time.Second, RetryPeriod: 500 * time.Millisecond,
		Recorder: c.events.Recorder(), Logger: log,
	}
	updates := make(chan provider.Result, 1)
	var wg sync.WaitGroup
	for _, run := range []func(context.Context) error{
		func(ctx context.Context) error { return c.src.Run(ctx, c.eng.Trigger) },
		func(ctx context.Context) error {
			if c.src.WaitForSync(ctx) != nil {
				return nil
			}
			return c.eng.Run(ctx)
		},
		func(ctx context.Context) error { return c.prov.Run(ctx, updates) },
		func(ctx context.Context) error { return c.status.WatchProvider(ctx, updates) },
		func(ctx context.Context) error { return election.Run(ctx, leader) },
		replicas.Run,
	} {
		wg.Go(func() {
			if err := run(ctx); err != nil {
				t.Errorf("controller: %v", err)
			}
		})
	}
	c.halt = func() error {
		cancel()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c.events.Stop(sctx)
			return nil
		case <-time.After(30 * time.Second):
			return errors.New("controller did not stop within 30s")
		}
	}
	t.Cleanup(func() { c.stop(t) })
	eventually(t, converge, "controller ready", func() error {
		if err := c.src.Ready(ctx); err != nil {
			return err
		}
		if c.eng.Status().Applied == 0 {
			return errors.New("no config applied yet")
		}
		return nil
	})
	return c
}

// startHAProxy returns the haproxy provider on a runtime directory of its
// own; HAProxy stops when the controller does, and is killed at cleanup
// if it is still there.
func startHAProxy(t *testing.T, log *slog.Logger) *haproxy.Provider {
	t.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Fatalf("haproxy provider: %v", err)
	}
	dir, err := os.MkdirTemp("", "hx")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	p, err := haproxy.New(haproxy.Options{Options: provider.Options{ListenAddress: "127.0.0.1"}, Binary: bin, Dir: dir, Threads: 1, Logger: log.With("provider", "haproxy")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if pid := p.PID(); pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return p
}

// --- HTTP through the proxy ---

var proxyClient = &http.Client{
	Timeout: 5 * time.Second,
	Transport: &http.Transport{
		Proxy:               nil,
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     30 * time.Second,
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// response is what a request through the proxy got: the status code and
// the name of the echo backend that answered ("" if none did).
type response struct {
	code    int
	backend string
}

func (r response) String() string { return fmt.Sprintf("%d from %q", r.code, r.backend) }

// get sends GET http://host/path to the proxy on port.
func get(port int, host, path string) (response, error) {
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s", port, path), nil)
	if err != nil {
		return response{}, err
	}
	req.Host = host
	resp, err := proxyClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return response{}, err
	}
	return response{code: resp.StatusCode, backend: resp.Header.Get("X-Echo-Server")}, nil
}

// expect polls until host/path answers want through the proxy. With no
// Ingress of ours at all the proxy has no listener, which counts as
// notFound.
func expect(t *testing.T, port int, host, path string, want response) time.Duration {
	t.Helper()
	return eventually(t, converge, fmt.Sprintf("GET %s%s = %v", host, path, want), func() error {
		got, err := get(port, host, path)
		if want == notFound && errors.Is(err, syscall.ECONNREFUSED) {
			return nil
		}
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("got %v", got)
		}
		return nil
	})
}

func ok(backend string) response { return response{code: http.StatusOK, backend: backend} }

var (
	notFound    = response{code: http.StatusNotFound}
	unavailable = response{code: http.StatusServiceUnavailable}
)
