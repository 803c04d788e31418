package kubetest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listerscorev1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
)

const (
	// kubeletClientUser is the apiserver's identity towards the kubelet
	// port: the Node serves pods/log to it alone.
	kubeletClientUser = "kube-apiserver-kubelet-client"
	// NodeName is the name of the conformance cluster's one Node.
	NodeName = "kubetest-node"
	// heartbeat is how often the Node's Lease and Ready condition are
	// renewed; the Lease lasts four of them, as the kubelet's does.
	heartbeat     = 10 * time.Second
	leaseDuration = 40
	nodeWorkers   = 4
)

// Node is the conformance cluster's stand-in for a kubelet (and for the
// scheduler, which the cluster does not run): it binds every unscheduled
// Pod to itself and runs each Pod's containers as echo-basic processes in
// a network namespace of the Pod's own. See the package doc.
type Node struct {
	// Name is the Node's name, NodeName.
	Name string
	// Addr is the Node's InternalIP and every Pod's hostIP: its address on
	// the pod bridge in the root namespace, where the kubelet port listens.
	Addr netip.Addr
	// Prefix is the pod network, a /24 of 198.18.0.0/15; Pods get its
	// addresses from .2 on.
	Prefix netip.Prefix

	client  kubernetes.Interface
	spawner *spawner
	echoBin string
	dir     string
	logf    func(string, ...any)
	network *podNetwork
	server  *http.Server
	port    int
	lister  listerscorev1.PodLister
	queue   workqueue.TypedRateLimitingInterface[string]

	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu   sync.Mutex
	pods map[types.UID]*nodePod
}

// nodeConfig is what startNode needs from the cluster.
type nodeConfig struct {
	client   kubernetes.Interface
	spawner  *spawner
	echoBin  string
	dir      string
	logf     func(string, ...any)
	network  *podNetwork
	serving  tls.Certificate
	clientCA *authority
}

// startNode registers the Node, starts the kubelet port and begins to bind
// and run Pods. It returns once the Node is Ready and its Pod informer has
// synced. Stop ends it.
func startNode(ctx context.Context, cfg nodeConfig) (_ *Node, err error) {
	n := &Node{
		Name:    NodeName,
		Addr:    cfg.network.gateway(),
		Prefix:  cfg.network.prefix(),
		client:  cfg.client,
		spawner: cfg.spawner,
		echoBin: cfg.echoBin,
		dir:     cfg.dir,
		logf:    cfg.logf,
		network: cfg.network,
		pods:    make(map[types.UID]*nodePod),
		queue:   workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
	}
	if err := os.MkdirAll(n.dir, 0o700); err != nil {
		return nil, err
	}
	if err := n.serve(cfg.serving, cfg.clientCA); err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	defer func() {
		if err != nil {
			n.Stop()
		}
	}()
	if err := n.register(ctx); err != nil {
		return nil, err
	}
	n.wg.Go(func() { n.heartbeat(runCtx) })

	factory := informers.NewSharedInformerFactory(n.client, 0)
	informer := factory.Core().V1().Pods()
	n.lister = informer.Lister()
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			n.queue.Add(key)
		}
	}
	if _, err := informer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
		DeleteFunc: enqueue,
	}); err != nil {
		return nil, err
	}
	factory.Start(runCtx.Done())
	n.wg.Go(func() { factory.Shutdown() })
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return nil, fmt.Errorf("node %s: informer for %v did not sync", n.Name, typ)
		}
	}
	for range nodeWorkers {
		n.wg.Go(func() { n.work(runCtx) })
	}
	return n, nil
}

// serve listens on the kubelet port of Addr with TLS, for the apiserver's
// pods/log: client certificates from the cluster CA only.
func (n *Node) serve(cert tls.Certificate, ca *authority) error {
	ln, err := net.Listen("tcp", netip.AddrPortFrom(n.Addr, 0).String())
	if err != nil {
		return fmt.Errorf("node %s: kubelet port: %w", n.Name, err)
	}
	n.port = ln.Addr().(*net.TCPAddr).Port
	n.server = &http.Server{
		Handler:           n.kubeletHandler(),
		ReadHeaderTimeout: 10 * time.Second,
		// Handshakes refused for want of a client certificate are the
		// kubelet port working; they go to the test's log, not stderr.
		ErrorLog: log.New(logfWriter(n.logf), "node "+n.Name+": kubelet port: ", 0),
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			ClientAuth:   tls.RequireAndVerifyClientCert,
			ClientCAs:    ca.pool(),
			MinVersion:   tls.VersionTLS12,
		},
	}
	go func() {
		if err := n.server.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.logf("node %s: kubelet port: %v", n.Name, err)
		}
	}()
	return nil
}

// register creates the Node, Ready, with its address and kubelet port.
func (n *Node) register(ctx context.Context) error {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: n.Name,
			Labels: map[string]string{
				corev1.LabelHostname:   n.Name,
				corev1.LabelOSStable:   "linux",
				corev1.LabelArchStable: "amd64",
			},
		},
	}
	created, err := n.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("node %s: register: %w", n.Name, err)
	}
	created.Status = n.status(metav1.Now())
	if _, err := n.client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("node %s: status: %w", n.Name, err)
	}
	return n.renewLease(ctx)
}

func (n *Node) status(now metav1.Time) corev1.NodeStatus {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("2"),
		corev1.ResourceMemory: resource.MustParse("8Gi"),
		corev1.ResourcePods:   resource.MustParse("250"),
	}
	condition := func(typ corev1.NodeConditionType, status corev1.ConditionStatus, reason string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: typ, Status: status, Reason: reason, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	return corev1.NodeStatus{
		Capacity:    capacity,
		Allocatable: capacity,
		Phase:       corev1.NodeRunning,
		Conditions: []corev1.NodeCondition{
			condition(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady"),
			condition(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory"),
			condition(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure"),
			condition(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID"),
		},
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: n.Addr.String()},
			{Type: corev1.NodeHostName, Address: n.Name},
		},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(n.port)}},
		NodeInfo: corev1.NodeSystemInfo{
			OperatingSystem:         "linux",
			Architecture:            "amd64",
			KubeletVersion:          "kubetest-node",
			ContainerRuntimeVersion: "kubetest://echo-basic",
		},
	}
}

// heartbeat renews the Lease and the Ready condition until ctx ends, so
// that a node lifecycle controller would find the Node alive.
func (n *Node) heartbeat(ctx context.Context) {
	t := time.NewTicker(heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := n.renewLease(ctx); err != nil && ctx.Err() == nil {
			n.logf("node %s: lease: %v", n.Name, err)
		}
		if err := n.renewStatus(ctx); err != nil && ctx.Err() == nil {
			n.logf("node %s: status: %v", n.Name, err)
		}
	}
}

func (n *Node) renewLease(ctx context.Context) error {
	leases := n.client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NowMicro()
	lease, err := leases.Get(ctx, n.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: n.Name},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       ptr.To(n.Name),
				LeaseDurationSeconds: ptr.To[int32](leaseDuration),
				RenewTime:            &now,
			},
		}, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	lease.Spec.RenewTime = &now
	_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
	return err
}

func (n *Node) renewStatus(ctx context.Context) error {
	node, err := n.client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	now := metav1.Now()
	for i := range node.Status.Conditions {
		node.Status.Conditions[i].LastHeartbeatTime = now
	}
	_, err = n.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
	return err
}

func (n *Node) work(ctx context.Context) {
	for {
		key, quit := n.queue.Get()
		if quit {
			return
		}
		if err := n.sync(ctx, key); err != nil && ctx.Err() == nil {
			n.logf("node %s: pod %s: %v", n.Name, key, err)
			n.queue.AddRateLimited(key)
		} else {
			n.queue.Forget(key)
		}
		n.queue.Done(key)
	}
}

// sync binds an unscheduled Pod, starts a Pod bound here that does not run
// yet, and stops one being deleted.
func (n *Node) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return err
	}
	pod, err := n.lister.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		n.forget(ns, name, "")
		return nil
	}
	if err != nil {
		return err
	}
	// An older Pod of the same name, deleted for good meanwhile.
	n.forget(ns, name, pod.UID)
	switch {
	case pod.Spec.NodeName == "" && pod.DeletionTimestamp == nil:
		return n.bind(ctx, pod)
	case pod.Spec.NodeName != n.Name:
		return nil
	case pod.DeletionTimestamp != nil:
		if p := n.pod(pod.UID); p != nil {
			p.delete(podGrace(pod))
			return nil
		}
		// Never ran here (or already stopped): nothing to wait for.
		return n.deletePod(ctx, pod.Namespace, pod.Name, pod.UID)
	case n.pod(pod.UID) == nil && pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed:
		n.startPod(pod)
	}
	return nil
}

// bind does the scheduler's part: every Pod goes to this Node.
func (n *Node) bind(ctx context.Context, pod *corev1.Pod) error {
	err := n.client.CoreV1().Pods(pod.Namespace).Bind(ctx, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: n.Name},
	}, metav1.CreateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return nil // bound already, or gone
	}
	return err
}

func (n *Node) pod(uid types.UID) *nodePod {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.pods[uid]
}

// forget stops the local Pods named ns/name whose UID is not keep: their
// Pod object is gone without a graceful deletion (deleted with grace 0).
func (n *Node) forget(ns, name string, keep types.UID) {
	n.mu.Lock()
	var gone []*nodePod
	for uid, p := range n.pods {
		if p.namespace == ns && p.name == name && uid != keep {
			gone = append(gone, p)
		}
	}
	n.mu.Unlock()
	for _, p := range gone {
		p.abandon()
	}
}

// deletePod deletes the Pod for good, as the kubelet does once its
// containers are gone: grace 0, and only the Pod with that UID.
func (n *Node) deletePod(ctx context.Context, ns, name string, uid types.UID) error {
	err := n.client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0),
		Preconditions:      &metav1.Preconditions{UID: &uid},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// podGrace is how long the Pod's processes get between SIGTERM and SIGKILL.
func podGrace(pod *corev1.Pod) time.Duration {
	if s := pod.DeletionGracePeriodSeconds; s != nil {
		return time.Duration(*s) * time.Second
	}
	if s := pod.Spec.TerminationGracePeriodSeconds; s != nil {
		return time.Duration(*s) * time.Second
	}
	return 30 * time.Second
}

// Pods returns the number of Pods whose processes run on the Node.
func (n *Node) Pods() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.pods)
}

// Stop stops the workers, kills every Pod's processes, deletes the pod
// network and closes the kubelet port. The Pod objects are left as they
// are: the cluster goes away next.
func (n *Node) Stop() error {
	if n.cancel != nil {
		n.cancel()
	}
	n.queue.ShutDown()
	n.wg.Wait()
	n.mu.Lock()
	pods := make([]*nodePod, 0, len(n.pods))
	for _, p := range n.pods {
		pods = append(pods, p)
	}
	n.mu.Unlock()
	for _, p := range pods {
		p.abandon()
	}
	for _, p := range pods {
		<-p.done
	}
	var errs []error
	if n.server != nil {
		errs = append(errs, n.server.Close())
	}
	return errors.Join(errs...)
}

func (n *Node) podDir(uid types.UID) string {
	return filepath.Join(n.dir, "pods", string(uid))
}

// kubeletAddr is where the apiserver reaches the kubelet port.
func (n *Node) kubeletAddr() string {
	return net.JoinHostPort(n.Addr.String(), strconv.Itoa(n.port))
}

// issueNodeServing issues the kubelet port's certificate for the Node's
// address.
func (a *authority) issueNodeServing(ip net.IP) (keyPair, error) {
	return a.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "system:node:" + NodeName, Organization: []string{"system:nodes"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{NodeName},
		IPAddresses: []net.IP{ip},
	})
}

func (a *authority) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(a.cert)
	return p
}

// logfWriter passes each write, a line of a log.Logger, to logf.
type logfWriter func(string, ...any)

func (f logfWriter) Write(p []byte) (int, error) {
	f("%s", bytes.TrimRight(p, "\n"))
	return len(p), nil
}
