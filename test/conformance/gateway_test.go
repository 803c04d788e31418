//go:build conformance

// Package conformance runs Gateway API's conformance suite, unmodified,
// against the controller on a conformance cluster (internal/kubetest): a
// real kube-apiserver, etcd and kube-controller-manager and a stand-in
// kubelet that runs the suite's echo-basic pods. The suite is built from
// its own module in conformance/ (hack/build-conformance.sh) and reads the
// features to test from the GatewayClass status the controller writes. Its
// report is written to conformance/reports/<provider>.yaml.
//
// On the same kind of cluster, TestIngressConformance (ingress_test.go)
// is our own test of the Ingress scenarios of
// kubernetes-sigs/ingress-controller-conformance, whose module cannot be
// fetched; see docs/ingress-conformance.md.
//
//	make conformance
//	make conformance-ingress
package conformance

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"ingress-controller/internal/kubetest"
	"ingress-controller/internal/nettest"
	"ingress-controller/internal/testbin"
)

const (
	// gatewayClass is the class the suite's Gateways name.
	gatewayClass = "ingress-controller"
	// controllerName is the GatewayClass spec.controllerName we serve.
	controllerName = "ingress-controller.io/gateway-controller"
	// allProfiles are the conformance profiles the suite runs unless
	// GATEWAY_CONFORMANCE_PROFILES names others.
	allProfiles = "GATEWAY-HTTP,GATEWAY-GRPC,GATEWAY-TLS,GATEWAY-TCP"
)

var gatewayClassResource = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gatewayclasses"}

// addressPools give each provider's run Gateway addresses of its own on
// loopback, which needs no set-up on Linux.
var addressPools = map[string]string{
	"builtin": "127.0.80.0/24",
	"haproxy": "127.0.81.0/24",
}

func TestMain(m *testing.M) { os.Exit(testbin.Main(m)) }

func TestGatewayConformance(t *testing.T) {
	suite := os.Getenv("GATEWAY_CONFORMANCE_BIN")
	if suite == "" {
		t.Fatal("GATEWAY_CONFORMANCE_BIN is not set: run make conformance, which builds the suite with hack/build-conformance.sh")
	}
	bin := testbin.Controller(t)
	for _, provider := range providersFrom("GATEWAY_CONFORMANCE_PROVIDERS") {
		t.Run(provider, func(t *testing.T) { runSuite(t, suite, bin, provider) })
	}
}

// runSuite starts a conformance cluster and the controller with provider,
// and runs the suite against them.
func runSuite(t *testing.T, suite, bin, provider string) {
	pool, ok := addressPools[provider]
	if p := os.Getenv("GATEWAY_CONFORMANCE_POOL"); p != "" {
		pool, ok = p, true
	}
	if !ok {
		t.Fatalf("no address pool for provider %q", provider)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 80*time.Minute)
	defer cancel()
	c := startCluster(t, ctx, kubetest.Options{Logf: t.Logf, GatewayCRDs: gatewayCRDs(suite)})
	cfg, err := c.ConfigForUser("conformance", "system:masters")
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := c.WriteKubeconfig(kubeconfig, cfg); err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	createGatewayClass(t, ctx, dyn)
	startController(t, bin, kubeconfig, provider, "gateway-conformance",
		"--gateway-api",
		"--gateway-address-pool="+pool,
		"--listen-address=127.0.0.1",
		"--http-port="+strconv.Itoa(int(nettest.FreePort(t))),
		"--https-port="+strconv.Itoa(int(nettest.FreePort(t))),
	)
	// The suite reads the features to test from the class's status once,
	// at its start.
	waitAccepted(t, ctx, dyn)

	reports := filepath.Join("..", "..", "conformance", "reports")
	if d := os.Getenv("GATEWAY_CONFORMANCE_REPORT_DIR"); d != "" {
		reports = d
	}
	report, err := filepath.Abs(filepath.Join(reports, provider+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// One test alone, for work on it, leaves the checked-in report as it
	// is.
	single := os.Getenv("GATEWAY_CONFORMANCE_RUN_TEST")
	if single != "" {
		report = filepath.Join(t.TempDir(), provider+".yaml")
	}
	cmd := exec.CommandContext(ctx, suite,
		"-test.v", "-test.timeout=75m", "-test.run=^TestGatewayAPI$",
		"-run-test="+single,
		"-gateway-class="+gatewayClass,
		"-conformance-profiles="+profiles(),
		"-report-output="+report,
		"-organization=ingress-controller",
		"-project=ingress-controller-"+provider,
		"-url=https://ingress-controller.io",
		"-version="+version(t),
		"-contact=the ingress-controller maintainers",
		"-mode=default",
		// GatewayStaticAddresses names one address the controller can
		// use and one it must refuse (gatewaystatic.go in the translator).
		"-usable-address="+usableAddress(t, pool),
		"-unusable-address="+unusableAddress(pool),
	)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	if err := os.MkdirAll(filepath.Dir(report), 0o755); err != nil {
		t.Fatal(err)
	}
	// The suite's own verbose output, with a line per test, in a file
	// beside the test's log: go test does not pass a child's test lines on.
	suiteLog := filepath.Join(os.TempDir(), "gateway-conformance-"+provider+"-suite.log")
	logFile, err := os.Create(suiteLog)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	defer t.Logf("the suite's output: %s", suiteLog)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	t.Logf("running %s", strings.Join(cmd.Args, " "))
	if err := cmd.Run(); err != nil {
		t.Errorf("the Gateway API conformance suite failed with %s (%v); its report: %s", provider, err, report)
	}
}

// usableAddress is the last address of pool but its broadcast one: in the
// pool, and far from the low addresses the controller hands out.
func usableAddress(t *testing.T, pool string) string {
	p, err := netip.ParsePrefix(pool)
	if err != nil {
		t.Fatalf("address pool %q: %v", pool, err)
	}
	p = p.Masked()
	last := p.Addr().AsSlice()
	for i := p.Bits(); i < len(last)*8; i++ {
		last[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(last)
	return a.Prev().String()
}

// unusableAddress is an address of the documentation ranges (RFC 5737,
// RFC 3849) outside pool: neither in the pool nor loopback, so the
// controller leaves a Gateway that names it unprogrammed.
func unusableAddress(pool string) string {
	p, _ := netip.ParsePrefix(pool)
	for _, a := range []string{"198.51.100.1", "203.0.113.1", "2001:db8::1"} {
		if !p.Contains(netip.MustParseAddr(a)) {
			return a
		}
	}
	return "2001:db8::2"
}

// profiles are the conformance profiles to run: GATEWAY_CONFORMANCE_PROFILES
// (comma-separated), else allProfiles.
func profiles() string {
	if p := os.Getenv("GATEWAY_CONFORMANCE_PROFILES"); p != "" {
		return p
	}
	return allProfiles
}

// createGatewayClass creates the GatewayClass the suite uses, of our
// controller.
func createGatewayClass(t *testing.T, ctx context.Context, dyn dynamic.Interface) {
	t.Helper()
	class := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1",
		"kind":       "GatewayClass",
		"metadata":   map[string]any{"name": gatewayClass},
		"spec":       map[string]any{"controllerName": controllerName},
	}}
	if _, err := dyn.Resource(gatewayClassResource).Create(ctx, class, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating GatewayClass %s: %v", gatewayClass, err)
	}
}

// waitAccepted waits until the controller has accepted the GatewayClass
// and listed its supported features.
func waitAccepted(t *testing.T, ctx context.Context, dyn dynamic.Interface) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		class, err := dyn.Resource(gatewayClassResource).Get(ctx, gatewayClass, metav1.GetOptions{})
		if err == nil && accepted(class) {
			features, _, _ := unstructured.NestedSlice(class.Object, "status", "supportedFeatures")
			t.Logf("GatewayClass %s accepted with %d supported features", gatewayClass, len(features))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GatewayClass %s not accepted within 60s (last error: %v)", gatewayClass, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// accepted reports whether class has condition Accepted=True for its
// current generation.
func accepted(class *unstructured.Unstructured) bool {
	conditions, _, _ := unstructured.NestedSlice(class.Object, "status", "conditions")
	for _, c := range conditions {
		m, ok := c.(map[string]any)
		if !ok || m["type"] != "Accepted" || m["status"] != "True" {
			continue
		}
		gen, _, _ := unstructured.NestedInt64(m, "observedGeneration")
		return gen == class.GetGeneration()
	}
	return false
}

// version names the commit under test, for the report.
func version(t *testing.T) string {
	out, err := exec.Command("git", "describe", "--always", "--dirty").Output()
	if err != nil {
		t.Logf("git describe: %v; the report's version is \"unknown\"", err)
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// gatewayCRDs is the directory of the Gateway API CRDs the conformance
// cluster installs: GATEWAY_CONFORMANCE_CRDS, else the experimental
// channel, which hack/build-conformance.sh copies beside the suite. The
// standard channel prunes experimental fields that tests of declared
// features set (HTTPRoute's retry), and the suite refuses CRDs of two
// channels.
func gatewayCRDs(suite string) string {
	if d := os.Getenv("GATEWAY_CONFORMANCE_CRDS"); d != "" {
		return d
	}
	return filepath.Join(filepath.Dir(suite), "gateway-api-crds-experimental")
}
