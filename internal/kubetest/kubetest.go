package kubetest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const (
	// AdminUser is the user name of Cluster.Config, in group system:masters.
	AdminUser = "kubetest-admin"
	// ServiceClusterIPRange is where Services get their cluster IPs.
	ServiceClusterIPRange = "10.96.0.0/16"

	// startTimeout bounds each process start when ctx has no earlier deadline.
	startTimeout = 90 * time.Second
	// Grace periods between SIGTERM and SIGKILL. The apiserver drains its
	// requests on SIGTERM, which takes a moment; etcd stops at once.
	apiserverGrace = 20 * time.Second
	etcdGrace      = 10 * time.Second
	// portAttempts is how often a start is retried with new ports when one
	// was taken between choosing and binding it.
	portAttempts = 3
)

// Options configure Start. The zero value is ready to use.
type Options struct {
	// Logf, if set, receives progress messages: builds, starts, stops.
	Logf func(format string, args ...any)
	// GatewayCRDs, if set, is a directory of Gateway API manifests that
	// InstallGatewayCRDs applies instead of the standard channel's the
	// build script copied (the experimental channel, say).
	GatewayCRDs string

	// apiserverArgs, if set, returns more kube-apiserver flags once the
	// PKI is written (StartConformance: the kubelet client).
	apiserverArgs func(*Cluster) ([]string, error)
}

// Cluster is a running etcd and kube-apiserver. Its methods are safe for
// concurrent use.
type Cluster struct {
	// Config authenticates as AdminUser (group system:masters) with a client
	// certificate. Client-side rate limiting is off. Copy it before changing
	// it (rest.CopyConfig).
	Config *rest.Config
	// Kubeconfig is the path of a kubeconfig file for Config.
	Kubeconfig string
	// Client is a clientset for Config.
	Client kubernetes.Interface
	// Dir is the temp dir with certificates, etcd data and the logs
	// etcd.log and kube-apiserver.log. Stop removes it.
	Dir string

	dirLock       *os.File // see makeDir
	logf          func(string, ...any)
	binDir        string
	gatewayCRDs   string
	ca            *authority
	spawner       *spawner
	apiserverArgs []string

	mu        sync.Mutex
	etcd      *process
	apiserver *process
	stopped   bool
}

// Main starts a Cluster into *c, runs the package's tests, stops the
// cluster and returns the exit code, for TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(kubetest.Main(m, &cluster)) }
//
// If the cluster cannot start, it says why on stderr and returns 1 without
// running the tests, so the package fails rather than skips. Under -short
// (make check) it says so and returns 0 without starting the cluster or
// running the tests: they need kube-apiserver, etcd and, most of them,
// root.
func Main(m *testing.M, c **Cluster) int {
	if !flag.Parsed() {
		flag.Parse()
	}
	if testing.Short() {
		fmt.Fprintln(os.Stderr, "kubetest: -short: skipping the package's tests: they need etcd + kube-apiserver and root (run under make test)")
		return 0
	}
	logf := func(format string, args ...any) {
		if testing.Verbose() {
			fmt.Fprintf(os.Stderr, "kubetest: "+format+"\n", args...)
		}
	}
	// Generous: a cold cache builds kube-apiserver and
	// kube-controller-manager first (about 5 minutes each, more on a busy
	// machine).
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	cluster, err := Start(ctx, Options{Logf: logf})
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubetest: FAIL: cannot start etcd + kube-apiserver for the tests: %v\n", err)
		return 1
	}
	*c = cluster
	code := m.Run()
	if err := cluster.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "kubetest: FAIL: stopping the test cluster: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Start runs etcd and kube-apiserver and returns once the apiserver is ready
// to serve. ctx bounds the start (including a first build of the binaries),
// not the life of the cluster: call Stop.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	began := time.Now()
	binDir, err := findBinaries(ctx, logf)
	if err != nil {
		return nil, fmt.Errorf("finding etcd and kube-apiserver: %w", err)
	}
	removeAbandonedDirs(logf)
	dir, dirLock, err := makeDir()
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, dirLock: dirLock, logf: logf, binDir: binDir, gatewayCRDs: opts.GatewayCRDs, spawner: newSpawner()}
	defer func() {
		if err != nil {
			if stopErr := c.Stop(); stopErr != nil {
				logf("cleaning up after a failed start: %v", stopErr)
			}
		}
	}()

	etcdURL, err := c.startEtcd(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.writePKI(); err != nil {
		return nil, err
	}
	var extra []string
	if opts.apiserverArgs != nil {
		if extra, err = opts.apiserverArgs(c); err != nil {
			return nil, err
		}
	}
	if err := c.startFirstAPIServer(ctx, etcdURL, extra); err != nil {
		return nil, err
	}
	logf("etcd (pid %d) and kube-apiserver (pid %d) ready at %s in %s, dir %s",
		c.etcd.pid(), c.apiserver.pid(), c.Config.Host, time.Since(began).Round(time.Millisecond), dir)
	return c, nil
}

func (c *Cluster) startEtcd(ctx context.Context) (clientURL string, err error) {
	bin := filepath.Join(c.binDir, etcdBinary)
	noFsync := supportsFlag(ctx, bin, "unsafe-no-fsync")
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(2)
		if err != nil {
			return "", err
		}
		clientURL = "http://127.0.0.1:" + strconv.Itoa(ports[0])
		peerURL := "http://127.0.0.1:" + strconv.Itoa(ports[1])
		args := []string{
			"--name=kubetest",
			"--data-dir=" + filepath.Join(c.Dir, "etcd"),
			"--listen-client-urls=" + clientURL,
			"--advertise-client-urls=" + clientURL,
			"--listen-peer-urls=" + peerURL,
			"--initial-advertise-peer-urls=" + peerURL,
			"--initial-cluster=kubetest=" + peerURL,
			"--initial-cluster-state=new",
			"--log-level=warn",
		}
		if noFsync {
			args = append(args, "--unsafe-no-fsync")
		}
		p, err := c.spawner.start("etcd", bin, args, c.Dir, filepath.Join(c.Dir, "etcd.log"))
		if err != nil {
			return "", err
		}
		c.mu.Lock()
		c.etcd = p
		c.mu.Unlock()
		sctx, cancel := context.WithTimeout(ctx, startTimeout)
		err = waitUntil(sctx, p, "/health", func(ctx context.Context) error { return etcdHealthy(ctx, clientURL) })
		cancel()
		if err == nil {
			return clientURL, nil
		}
		retry := p.exited() && p.portInUse() && attempt < portAttempts
		c.mu.Lock()
		c.etcd = nil
		c.mu.Unlock()
		_ = p.stop(etcdGrace, c.logf)
		if !retry {
			return "", fmt.Errorf("starting etcd: %w", err)
		}
		c.logf("etcd: a port was taken, retrying with new ports")
		// A fresh data dir: the failed member may have written one.
		if err := os.RemoveAll(filepath.Join(c.Dir, "etcd")); err != nil {
			return "", err
		}
	}
}

// writePKI generates the certificates and keys into the temp dir and builds
// the admin Config around them (its Host is set once the port is known).
func (c *Cluster) writePKI() error {
	ca, err := newAuthority()
	if err != nil {
		return err
	}
	c.ca = ca
	serving, err := ca.issueServing()
	if err != nil {
		return err
	}
	saKey, saPub, err := newServiceAccountKey()
	if err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
	}{
		{"ca.crt", ca.certPEM},
		{"apiserver.crt", serving.certPEM},
		{"apiserver.key", serving.keyPEM},
		{"sa.key", saKey},
		{"sa.pub", saPub},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(c.Dir, f.name), f.data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cluster) startFirstAPIServer(ctx context.Context, etcdURL string, extra []string) error {
	admin, err := c.ca.issueClient(AdminUser, []string{"system:masters"})
	if err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(1)
		if err != nil {
			return err
		}
		port := strconv.Itoa(ports[0])
		c.apiserverArgs = []string{
			"--etcd-servers=" + etcdURL,
			"--bind-address=127.0.0.1",
			"--advertise-address=127.0.0.1",
			"--secure-port=" + port,
			// Unused with the files below, but keeps it away from
			// /var/run/kubernetes.
			"--cert-dir=" + filepath.Join(c.Dir, "apiserver-certs"),
			"--tls-cert-file=" + filepath.Join(c.Dir, "apiserver.crt"),
			"--tls-private-key-file=" + filepath.Join(c.Dir, "apiserver.key"),
			"--client-ca-file=" + filepath.Join(c.Dir, "ca.crt"),
			"--service-account-key-file=" + filepath.Join(c.Dir, "sa.pub"),
			"--service-account-signing-key-file=" + filepath.Join(c.Dir, "sa.key"),
			"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
			"--authorization-mode=Node,RBAC",
			"--service-cluster-ip-range=" + ServiceClusterIPRange,
			// Required with a loopback advertise address: 1.37 refuses to
			// start ("cannot use public IP 127.0.0.1 with endpoint
			// reconciler") since it would publish it as the endpoint of
			// the kubernetes Service, where loopback is invalid.
			"--endpoint-reconciler-type=none",
		}
		c.apiserverArgs = append(c.apiserverArgs, extra...)
		c.Config = &rest.Config{
			Host: "https://127.0.0.1:" + port,
			TLSClientConfig: rest.TLSClientConfig{
				CAData:   c.ca.certPEM,
				CertData: admin.certPEM,
				KeyData:  admin.keyPEM,
			},
			// Negative: no client-side rate limiting. Tests create objects
			// in bursts and measure the code under test, not the limiter.
			QPS: -1,
		}
		c.Client, err = kubernetes.NewForConfig(c.Config)
		if err != nil {
			return fmt.Errorf("admin client: %w", err)
		}
		err = c.StartAPIServer(ctx)
		if err == nil {
			break
		}
		if !errors.Is(err, errPortInUse) || attempt == portAttempts {
			return err
		}
		c.logf("kube-apiserver: port %s was taken, retrying with a new port", port)
	}
	c.Kubeconfig = filepath.Join(c.Dir, "kubeconfig")
	return c.WriteKubeconfig(c.Kubeconfig, c.Config)
}

var errPortInUse = errors.New("port in use")

// StartAPIServer starts kube-apiserver again after StopAPIServer, on the same
// port with the same flags, certificates and etcd, and waits until it is
// ready. Clients made from Config keep working once it is back.
func (c *Cluster) StartAPIServer(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return errors.New("kube-apiserver: cluster is stopped")
	}
	if c.apiserver != nil {
		return fmt.Errorf("kube-apiserver: already running (pid %d)", c.apiserver.pid())
	}
	bin := filepath.Join(c.binDir, apiserverBinary)
	p, err := c.spawner.start("kube-apiserver", bin, c.apiserverArgs, c.Dir, filepath.Join(c.Dir, "kube-apiserver.log"))
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	if err := waitUntil(sctx, p, "readiness", c.apiserverReady); err != nil {
		inUse := p.exited() && p.portInUse()
		_ = p.stop(apiserverGrace, c.logf)
		if inUse {
			return fmt.Errorf("starting kube-apiserver: %w: %w", errPortInUse, err)
		}
		return fmt.Errorf("starting kube-apiserver: %w", err)
	}
	c.apiserver = p
	return nil
}

// StopAPIServer stops kube-apiserver (SIGTERM, SIGKILL after a grace period)
// and leaves etcd running. Requests fail until StartAPIServer. Stopping a
// stopped apiserver does nothing.
func (c *Cluster) StopAPIServer() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopAPIServerLocked()
}

func (c *Cluster) stopAPIServerLocked() error {
	p := c.apiserver
	if p == nil {
		return nil
	}
	c.apiserver = nil
	if err := p.stop(apiserverGrace, c.logf); err != nil {
		return fmt.Errorf("stopping kube-apiserver: %w", err)
	}
	return nil
}

// Stop stops kube-apiserver, then etcd, and removes Dir. It reports a
// process that had crashed before it was asked to stop. Calling it again
// does nothing.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	c.stopped = true
	errs := []error{c.stopAPIServerLocked()}
	if c.etcd != nil {
		if err := c.etcd.stop(etcdGrace, c.logf); err != nil {
			errs = append(errs, fmt.Errorf("stopping etcd: %w", err))
		}
		c.etcd = nil
	}
	c.spawner.close()
	if err := os.RemoveAll(c.Dir); err != nil {
		errs = append(errs, err)
	}
	c.dirLock.Close()
	return errors.Join(errs...)
}

// ConfigForUser returns a copy of Config that authenticates as user in
// groups (besides system:authenticated, which the apiserver adds) with a
// client certificate from the cluster's CA. With no RBAC bindings the user
// may do almost nothing, which is the point: grant what the code under test
// should need and check that it is enough.
func (c *Cluster) ConfigForUser(user string, groups ...string) (*rest.Config, error) {
	if user == "" {
		return nil, errors.New("ConfigForUser: empty user name")
	}
	kp, err := c.ca.issueClient(user, groups)
	if err != nil {
		return nil, err
	}
	cfg := rest.CopyConfig(c.Config)
	cfg.CertData = kp.certPEM
	cfg.KeyData = kp.keyPEM
	return cfg, nil
}

// WriteKubeconfig writes a kubeconfig file for cfg (a Config or one from
// ConfigForUser) to path, for running binaries against the cluster.
func (c *Cluster) WriteKubeconfig(path string, cfg *rest.Config) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["kubetest"] = &clientcmdapi.Cluster{
		Server:                   cfg.Host,
		TLSServerName:            cfg.ServerName,
		CertificateAuthorityData: cfg.CAData,
	}
	kc.AuthInfos["kubetest"] = &clientcmdapi.AuthInfo{
		ClientCertificateData: cfg.CertData,
		ClientKeyData:         cfg.KeyData,
	}
	kc.Contexts["kubetest"] = &clientcmdapi.Context{Cluster: "kubetest", AuthInfo: "kubetest", Namespace: "default"}
	kc.CurrentContext = "kubetest"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	return nil
}

// KubeconfigVia writes a kubeconfig like Kubeconfig's that reaches the
// apiserver at addr (host:port), a forwarder to it such as
// nettest.Network.Forward, for processes in other network namespaces. The
// apiserver's certificate does not name addr, so the kubeconfig has the
// client verify it by a name it does carry (tls-server-name). It returns
// the file's path, in Dir.
func (c *Cluster) KubeconfigVia(addr string) (string, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return "", fmt.Errorf("kubeconfig via %q: %w", addr, err)
	}
	cfg := rest.CopyConfig(c.Config)
	cfg.Host = "https://" + addr
	cfg.ServerName = serverName
	// One file per address, named after it.
	name := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '.' || r == '-' {
			return r
		}
		return '_'
	}, addr)
	path := filepath.Join(c.Dir, "kubeconfig-via-"+name)
	if err := c.WriteKubeconfig(path, cfg); err != nil {
		return "", err
	}
	return path, nil
}
