package kubetest

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	controllerManagerBinary = "kube-controller-manager"
	echoBasicBinary         = "echo-basic"
	// gatewayCRDsDir is where the build script copies Gateway API's
	// standard-channel CRDs, in the binaries' directory.
	gatewayCRDsDir = "gateway-api-crds"
	// gatewayConformanceDir holds the conformance suite's base manifests.
	gatewayConformanceDir  = "gateway-api-conformance"
	controllerManagerGrace = 10 * time.Second
)

// conformanceControllers are the kube-controller-manager controllers the
// Gateway API conformance suite relies on, by their names in the pinned
// release: Deployments make ReplicaSets make Pods, Services get
// EndpointSlices, namespaces get their default ServiceAccount and root CA
// ConfigMap (which the ServiceAccount admission plugin's token volume
// needs), owned objects are collected and deleted namespaces finalized.
// No node lifecycle, scheduler or volume controllers: the Node is the test
// stand-in.
var conformanceControllers = []string{
	"deployment-controller",
	"replicaset-controller",
	"endpointslice-controller",
	"serviceaccount-controller",
	"serviceaccount-token-controller",
	"root-ca-certificate-publisher-controller",
	"garbage-collector-controller",
	"namespace-controller",
}

// Conformance is a Cluster with what the Gateway API conformance suite
// needs besides: the real kube-controller-manager, the Gateway API
// standard-channel CRDs and a Node that runs Pods (see Node).
type Conformance struct {
	*Cluster
	// Node runs every Pod.
	Node *Node

	controllerManager *process
	network           *podNetwork
}

// StartConformance starts a Cluster whose apiserver reaches the Node's
// kubelet port, then kube-controller-manager, installs the Gateway API
// CRDs (and waits until they are established) and starts the Node. It needs
// root (network namespaces). ctx bounds the start; Stop ends it all.
func StartConformance(ctx context.Context, opts Options) (_ *Conformance, err error) {
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	began := time.Now()
	network, err := newPodNetwork()
	if err != nil {
		return nil, err
	}
	c := &Conformance{network: network}
	defer func() {
		if err != nil {
			if stopErr := c.Stop(); stopErr != nil {
				logf("cleaning up after a failed start: %v", stopErr)
			}
		}
	}()
	opts.apiserverArgs = kubeletClientArgs
	if c.Cluster, err = Start(ctx, opts); err != nil {
		return nil, err
	}
	if err := c.checkConformanceBinaries(); err != nil {
		return nil, err
	}
	if err := c.startControllerManager(ctx); err != nil {
		return nil, err
	}
	if err := c.InstallGatewayCRDs(ctx); err != nil {
		return nil, err
	}
	serving, err := c.ca.issueNodeServing(network.gateway().AsSlice())
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(serving.certPEM, serving.keyPEM)
	if err != nil {
		return nil, err
	}
	c.Node, err = startNode(ctx, nodeConfig{
		client:   c.Client,
		spawner:  c.spawner,
		echoBin:  filepath.Join(c.binDir, echoBasicBinary),
		dir:      filepath.Join(c.Dir, "node"),
		logf:     logf,
		network:  network,
		serving:  cert,
		clientCA: c.ca,
	})
	if err != nil {
		return nil, err
	}
	logf("conformance cluster ready in %s: kube-controller-manager (pid %d), node %s at %s (kubelet port %s), pods in %s",
		time.Since(began).Round(time.Millisecond), c.controllerManager.pid(), c.Node.Name, c.Node.Addr, c.Node.kubeletAddr(), c.Node.Prefix)
	return c, nil
}

// ConformanceMain is Main for a package whose tests share one conformance
// cluster:
//
//	func TestMain(m *testing.M) { os.Exit(kubetest.ConformanceMain(m, &cluster)) }
//
// As Main, it fails the package when the cluster cannot start and skips it
// under -short.
func ConformanceMain(m *testing.M, c **Conformance) int {
	if !flag.Parsed() {
		flag.Parse()
	}
	if testing.Short() {
		fmt.Fprintln(os.Stderr, "kubetest: -short: skipping the package's tests: they need the conformance cluster and root (run under make test)")
		return 0
	}
	logf := func(format string, args ...any) {
		if testing.Verbose() {
			fmt.Fprintf(os.Stderr, "kubetest: "+format+"\n", args...)
		}
	}
	// Generous: a cold cache builds kube-apiserver and
	// kube-controller-manager first.
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	cluster, err := StartConformance(ctx, Options{Logf: logf})
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubetest: FAIL: cannot start the conformance cluster for the tests: %v\n", err)
		return 1
	}
	*c = cluster
	code := m.Run()
	if err := cluster.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "kubetest: FAIL: stopping the conformance cluster: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// kubeletClientArgs writes the apiserver's kubelet client certificate and
// returns the flags that make the apiserver use it, verify the kubelet
// port by the cluster CA and reach it at the Node's InternalIP.
func kubeletClientArgs(c *Cluster) ([]string, error) {
	kp, err := c.ca.issueClient(kubeletClientUser, nil)
	if err != nil {
		return nil, err
	}
	crt, key := filepath.Join(c.Dir, "kubelet-client.crt"), filepath.Join(c.Dir, "kubelet-client.key")
	if err := os.WriteFile(crt, kp.certPEM, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(key, kp.keyPEM, 0o600); err != nil {
		return nil, err
	}
	return []string{
		"--kubelet-client-certificate=" + crt,
		"--kubelet-client-key=" + key,
		"--kubelet-certificate-authority=" + filepath.Join(c.Dir, "ca.crt"),
		"--kubelet-preferred-address-types=InternalIP",
	}, nil
}

func (c *Conformance) checkConformanceBinaries() error {
	var errs []error
	for _, name := range []string{controllerManagerBinary, echoBasicBinary} {
		info, err := os.Stat(filepath.Join(c.binDir, name))
		if err == nil && (!info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0) {
			err = fmt.Errorf("%s is not an executable file", name)
		}
		errs = append(errs, err)
	}
	for _, dir := range []string{gatewayCRDsDir, gatewayConformanceDir} {
		if _, err := os.Stat(filepath.Join(c.binDir, dir)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s lacks what %s builds for the conformance cluster (an older cache? unset KUBETOOLS_DIR_BIN or run the script): %w", c.binDir, buildScript, err)
	}
	return nil
}

// startControllerManager runs kube-controller-manager with the admin
// kubeconfig, the conformance controllers, no leader election and its
// secure port on 127.0.0.1, and waits until /healthz is ok.
func (c *Conformance) startControllerManager(ctx context.Context) error {
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(1)
		if err != nil {
			return err
		}
		args := []string{
			"--kubeconfig=" + c.Kubeconfig,
			"--authentication-kubeconfig=" + c.Kubeconfig,
			"--authorization-kubeconfig=" + c.Kubeconfig,
			"--bind-address=127.0.0.1",
			"--secure-port=" + strconv.Itoa(ports[0]),
			"--cert-dir=" + filepath.Join(c.Dir, "controller-manager-certs"),
			"--controllers=" + strings.Join(conformanceControllers, ","),
			"--leader-elect=false",
			"--use-service-account-credentials=false",
			"--service-account-private-key-file=" + filepath.Join(c.Dir, "sa.key"),
			"--root-ca-file=" + filepath.Join(c.Dir, "ca.crt"),
			"--service-cluster-ip-range=" + ServiceClusterIPRange,
			// Deleted Pods and namespaces go quickly; the defaults pace a
			// big cluster's API load.
			"--concurrent-namespace-syncs=4",
		}
		bin := filepath.Join(c.binDir, controllerManagerBinary)
		p, err := c.spawner.start(controllerManagerBinary, bin, args, c.Dir, filepath.Join(c.Dir, "kube-controller-manager.log"))
		if err != nil {
			return err
		}
		url := "https://127.0.0.1:" + strconv.Itoa(ports[0]) + "/healthz"
		sctx, cancel := context.WithTimeout(ctx, startTimeout)
		err = waitUntil(sctx, p, "/healthz", func(ctx context.Context) error { return c.controllerManagerHealthy(ctx, url) })
		cancel()
		if err == nil {
			c.controllerManager = p
			return nil
		}
		retry := p.exited() && p.portInUse() && attempt < portAttempts
		_ = p.stop(controllerManagerGrace, c.logf)
		if !retry {
			return fmt.Errorf("starting kube-controller-manager: %w", err)
		}
	}
}

// controllerManagerHealthy checks /healthz over TLS. The serving
// certificate is self-signed (in --cert-dir): what matters here is that
// the port answers ok, so it is not verified.
func (c *Conformance) controllerManagerHealthy(ctx context.Context, url string) error {
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // see above
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}

// Stop stops the Node (its Pods' processes and namespaces), then
// kube-controller-manager, deletes the pod network and stops the Cluster.
// Calling it again does nothing.
func (c *Conformance) Stop() error {
	var errs []error
	if c.Node != nil {
		errs = append(errs, c.Node.Stop())
		c.Node = nil
	}
	if c.controllerManager != nil {
		if err := c.controllerManager.stop(controllerManagerGrace, c.logf); err != nil {
			errs = append(errs, fmt.Errorf("stopping kube-controller-manager: %w", err))
		}
		c.controllerManager = nil
	}
	if c.network != nil {
		errs = append(errs, c.network.close())
		c.network = nil
	}
	if c.Cluster != nil {
		errs = append(errs, c.Cluster.Stop())
	}
	return errors.Join(errs...)
}
