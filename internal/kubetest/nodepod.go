package kubetest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

const (
	// probePeriod is how often readiness is checked and exits noticed.
	probePeriod = 500 * time.Millisecond
	// watchEvery is how many probe periods pass between the node's
	// connections to a started container, to report a pod it loses.
	watchEvery = 10
	// retryPeriod paces a Pod that cannot start yet (a missing Secret).
	retryPeriod = time.Second
	maxBackoff  = 10 * time.Second
	// podPath is the PATH of a container's environment, as images set it.
	podPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// nodePod is one Pod running on the Node: its sandbox and containers.
type nodePod struct {
	node      *Node
	uid       types.UID
	namespace string
	name      string

	stopOnce sync.Once
	stopc    chan podStop
	done     chan struct{}

	mu         sync.Mutex
	containers []*podContainer
}

// podStop asks a Pod to stop: its processes get grace between SIGTERM and
// SIGKILL; remove deletes the Pod object afterwards, as the kubelet
// finishes a graceful deletion.
type podStop struct {
	grace  time.Duration
	remove bool
}

func (p *nodePod) delete(grace time.Duration) {
	p.stopOnce.Do(func() { p.stopc <- podStop{grace: grace, remove: true} })
}

// abandon stops the processes at once and leaves the Pod object alone.
func (p *nodePod) abandon() {
	p.stopOnce.Do(func() { p.stopc <- podStop{} })
}

func (p *nodePod) container(name string) *podContainer {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.containers {
		if c.name == name {
			return c
		}
	}
	return nil
}

// startPod runs the Pod from a goroutine of its own until it is stopped.
func (n *Node) startPod(pod *corev1.Pod) {
	p := &nodePod{
		node:      n,
		uid:       pod.UID,
		namespace: pod.Namespace,
		name:      pod.Name,
		stopc:     make(chan podStop, 1),
		done:      make(chan struct{}),
	}
	n.mu.Lock()
	n.pods[pod.UID] = p
	n.mu.Unlock()
	n.logf("node %s: starting pod %s/%s", n.Name, pod.Namespace, pod.Name)
	go p.run(pod.DeepCopy())
}

func (p *nodePod) run(pod *corev1.Pod) {
	defer close(p.done)
	defer func() {
		p.node.mu.Lock()
		delete(p.node.pods, p.uid)
		p.node.mu.Unlock()
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sandbox, err := p.node.network.addPod()
	if err != nil {
		p.node.logf("node %s: pod %s/%s: %v", p.node.Name, p.namespace, p.name, err)
		p.finish(ctx, p.waitStop())
		return
	}
	stop := p.runUntilStopped(ctx, pod, sandbox)
	p.terminate(stop.grace)
	if err := p.node.network.removePod(sandbox); err != nil {
		p.node.logf("node %s: pod %s/%s: sandbox: %v", p.node.Name, p.namespace, p.name, err)
	}
	if err := os.RemoveAll(p.node.podDir(p.uid)); err != nil {
		p.node.logf("node %s: pod %s/%s: %v", p.node.Name, p.namespace, p.name, err)
	}
	p.finish(ctx, stop)
}

// finish deletes the Pod object if the stop asks for it.
func (p *nodePod) finish(ctx context.Context, stop podStop) {
	if !stop.remove {
		return
	}
	if err := p.node.deletePod(ctx, p.namespace, p.name, p.uid); err != nil {
		p.node.logf("node %s: pod %s/%s: delete: %v", p.node.Name, p.namespace, p.name, err)
	}
}

// runUntilStopped sets the Pod's volumes and environment up, starts its
// containers and keeps them running and its status current until it is
// asked to stop.
func (p *nodePod) runUntilStopped(ctx context.Context, pod *corev1.Pod, sandbox *podSandbox) podStop {
	started := metav1.Now()
	env := podEnv{node: p.node, pod: pod, podIP: sandbox.Addr, dir: p.node.podDir(p.uid)}
	var envs [][]string
	for {
		var err error
		envs, err = env.prepare(ctx)
		if err == nil {
			break
		}
		p.writeStatus(ctx, func(s *corev1.PodStatus) { p.pendingStatus(s, sandbox.Addr, started, err) })
		select {
		case stop := <-p.stopc:
			return stop
		case <-time.After(retryPeriod):
		}
	}
	for i, spec := range pod.Spec.Containers {
		c := &podContainer{name: spec.Name, spec: spec, env: envs[i], logs: newLogBuffer()}
		p.mu.Lock()
		p.containers = append(p.containers, c)
		p.mu.Unlock()
		c.start(p.node, sandbox.Namespace, env.dir)
	}
	last := ""
	t := time.NewTicker(probePeriod)
	defer t.Stop()
	for {
		changed := false
		for _, c := range p.snapshot() {
			changed = c.check(ctx, p.node, pod, sandbox) || changed
		}
		if s := p.summary(); changed || s != last {
			last = s
			p.writeStatus(ctx, func(st *corev1.PodStatus) { p.runningStatus(st, pod, sandbox.Addr, started) })
		}
		select {
		case stop := <-p.stopc:
			return stop
		case <-t.C:
		}
	}
}

func (p *nodePod) waitStop() podStop { return <-p.stopc }

func (p *nodePod) snapshot() []*podContainer {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*podContainer(nil), p.containers...)
}

// summary is what the status says, to write it only when it changes.
func (p *nodePod) summary() string {
	s := ""
	for _, c := range p.snapshot() {
		c.mu.Lock()
		s += fmt.Sprintf("%s:%v:%v:%d;", c.name, c.ready, c.running(), c.restarts)
		c.mu.Unlock()
	}
	return s
}

// terminate sends SIGTERM to every container, SIGKILL to those still
// there after grace, and waits for them.
func (p *nodePod) terminate(grace time.Duration) {
	var wg sync.WaitGroup
	for _, c := range p.snapshot() {
		wg.Go(func() { c.stop(grace) })
	}
	wg.Wait()
}

// writeStatus applies edit to the Pod's current status and writes it.
func (p *nodePod) writeStatus(ctx context.Context, edit func(*corev1.PodStatus)) {
	pods := p.node.client.CoreV1().Pods(p.namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		pod, err := pods.Get(ctx, p.name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if pod.UID != p.uid {
			return nil
		}
		edit(&pod.Status)
		_, err = pods.UpdateStatus(ctx, pod, metav1.UpdateOptions{})
		return err
	})
	if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
		p.node.logf("node %s: pod %s/%s: status: %v", p.node.Name, p.namespace, p.name, err)
	}
}

// pendingStatus says the containers are being created and why not yet.
func (p *nodePod) pendingStatus(s *corev1.PodStatus, podIP netip.Addr, started metav1.Time, why error) {
	p.addresses(s, podIP, started)
	s.Phase = corev1.PodPending
	now := metav1.Now()
	setCondition(s, corev1.PodReadyToStartContainers, corev1.ConditionTrue, "", now)
	setCondition(s, corev1.PodInitialized, corev1.ConditionTrue, "", now)
	setCondition(s, corev1.ContainersReady, corev1.ConditionFalse, "ContainersNotReady", now)
	setCondition(s, corev1.PodReady, corev1.ConditionFalse, "ContainersNotReady", now)
	s.Message = why.Error()
}

func (p *nodePod) runningStatus(s *corev1.PodStatus, pod *corev1.Pod, podIP netip.Addr, started metav1.Time) {
	p.addresses(s, podIP, started)
	now := metav1.Now()
	s.Message = ""
	s.ContainerStatuses = nil
	allReady, anyRunning, allSucceeded := true, false, true
	for _, c := range p.snapshot() {
		cs := c.status(pod)
		s.ContainerStatuses = append(s.ContainerStatuses, cs)
		allReady = allReady && cs.Ready
		anyRunning = anyRunning || cs.State.Running != nil || cs.State.Waiting != nil
		allSucceeded = allSucceeded && cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0
	}
	switch {
	case anyRunning:
		s.Phase = corev1.PodRunning
	case allSucceeded:
		s.Phase = corev1.PodSucceeded
	default:
		s.Phase = corev1.PodFailed
	}
	setCondition(s, corev1.PodReadyToStartContainers, corev1.ConditionTrue, "", now)
	setCondition(s, corev1.PodInitialized, corev1.ConditionTrue, "", now)
	ready, reason := corev1.ConditionTrue, ""
	if !allReady {
		ready, reason = corev1.ConditionFalse, "ContainersNotReady"
	}
	setCondition(s, corev1.ContainersReady, ready, reason, now)
	setCondition(s, corev1.PodReady, ready, reason, now)
}

func (p *nodePod) addresses(s *corev1.PodStatus, podIP netip.Addr, started metav1.Time) {
	s.HostIP = p.node.Addr.String()
	s.HostIPs = []corev1.HostIP{{IP: s.HostIP}}
	s.PodIP = podIP.String()
	s.PodIPs = []corev1.PodIP{{IP: s.PodIP}}
	if s.StartTime == nil {
		s.StartTime = &started
	}
}

// setCondition sets a condition, moving its transition time only when its
// status changes.
func setCondition(s *corev1.PodStatus, typ corev1.PodConditionType, status corev1.ConditionStatus, reason string, now metav1.Time) {
	for i := range s.Conditions {
		c := &s.Conditions[i]
		if c.Type != typ {
			continue
		}
		if c.Status != status {
			c.LastTransitionTime = now
		}
		c.Status, c.Reason = status, reason
		return
	}
	s.Conditions = append(s.Conditions, corev1.PodCondition{Type: typ, Status: status, Reason: reason, LastTransitionTime: now})
}

// podContainer is one container: an echo-basic process, restarted when
// it exits, and its log.
type podContainer struct {
	name string
	spec corev1.Container
	env  []string
	logs *logBuffer

	mu        sync.Mutex
	cmd       *exec.Cmd
	exited    chan struct{} // closed when cmd has exited
	exitCode  int
	startedAt metav1.Time
	listening bool // cmd listens on its ports, reached from the node
	reported  bool // cmd's address failed and the node said why
	checks    int
	ready     bool
	restarts  int32
	backoff   time.Duration
	nextStart time.Time
	stopped   bool
}

func (c *podContainer) running() bool {
	if c.cmd == nil {
		return false
	}
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// start runs echo-basic in the sandbox, whatever the image says. Its
// output goes to the container's log.
func (c *podContainer) start(n *Node, netns, dir string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return
	}
	cmd := exec.Command("ip", "netns", "exec", netns, n.echoBin)
	cmd.Env = c.env
	cmd.Dir = dir
	cmd.Stdout = c.logs.writer("stdout")
	cmd.Stderr = c.logs.writer("stderr")
	exited := make(chan struct{})
	c.cmd, c.exited, c.ready = cmd, exited, false
	c.listening, c.reported = false, false
	c.startedAt = metav1.Now()
	if err := n.spawner.run(cmd); err != nil {
		c.logs.add("stderr", "kubetest-node: cannot start echo-basic: "+err.Error())
		c.exitCode = 128
		close(exited)
		return
	}
	go func() {
		err := cmd.Wait()
		code := 0
		if err != nil {
			code = 1
			var exitErr *exec.ExitError
			if errors.As(err, &exitErr) {
				code = exitErr.ExitCode()
				if code < 0 {
					code = 137 // killed by a signal, as a runtime reports it
				}
			}
		}
		c.mu.Lock()
		c.exitCode = code
		c.mu.Unlock()
		close(exited)
	}()
}

// check probes readiness and restarts an exited process when the
// restart policy says so. It reports whether anything changed.
func (c *podContainer) check(ctx context.Context, n *Node, pod *corev1.Pod, sandbox *podSandbox) bool {
	c.mu.Lock()
	running := c.running()
	wasReady := c.ready
	c.mu.Unlock()
	if !running {
		return c.maybeRestart(n, pod, sandbox)
	}
	ready := c.started(ctx, n, pod, sandbox) && c.probe(ctx, sandbox.Addr) == nil
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running() {
		ready = false
	}
	c.ready = ready
	return ready != wasReady
}

func (c *podContainer) maybeRestart(n *Node, pod *corev1.Pod, sandbox *podSandbox) bool {
	c.mu.Lock()
	changed := c.ready
	c.ready = false
	policy := pod.Spec.RestartPolicy
	if c.stopped || policy == corev1.RestartPolicyNever || (policy == corev1.RestartPolicyOnFailure && c.exitCode == 0) {
		c.mu.Unlock()
		return changed
	}
	now := time.Now()
	if c.nextStart.IsZero() {
		c.backoff = min(max(2*c.backoff, time.Second), maxBackoff)
		c.nextStart = now.Add(c.backoff)
		c.mu.Unlock()
		return true
	}
	if now.Before(c.nextStart) {
		c.mu.Unlock()
		return changed
	}
	c.nextStart = time.Time{}
	c.restarts++
	c.mu.Unlock()
	c.start(n, sandbox.Namespace, n.podDir(pod.UID))
	return true
}

// probe is the readiness probe if the container has an HTTP or TCP one,
// else a connection to each TCP port it declares.
func (c *podContainer) probe(ctx context.Context, addr netip.Addr) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if p := c.spec.ReadinessProbe; p != nil {
		switch {
		case p.HTTPGet != nil:
			return c.probeHTTP(ctx, addr, p.HTTPGet)
		case p.TCPSocket != nil:
			return c.dial(ctx, addr, p.TCPSocket.Port)
		}
	}
	for _, port := range c.spec.Ports {
		if port.Protocol != "" && port.Protocol != corev1.ProtocolTCP {
			continue
		}
		if err := c.dial(ctx, addr, intstr.FromInt32(port.ContainerPort)); err != nil {
			return err
		}
	}
	return nil
}

func (c *podContainer) dial(ctx context.Context, addr netip.Addr, port intstr.IntOrString) error {
	p, err := c.port(port)
	if err != nil {
		return err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(addr.String(), strconv.Itoa(p)))
	if err != nil {
		return err
	}
	return conn.Close()
}

func (c *podContainer) probeHTTP(ctx context.Context, addr netip.Addr, get *corev1.HTTPGetAction) error {
	p, err := c.port(get.Port)
	if err != nil {
		return err
	}
	scheme := "http"
	if get.Scheme == corev1.URISchemeHTTPS {
		return c.dial(ctx, addr, get.Port) // no certificate to check it by
	}
	url := scheme + "://" + net.JoinHostPort(addr.String(), strconv.Itoa(p)) + get.Path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	for _, h := range get.HTTPHeaders {
		req.Header.Add(h.Name, h.Value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("readiness probe %s: %s", url, resp.Status)
	}
	return nil
}

// port resolves a probe's port, a number or the name of a container port.
func (c *podContainer) port(port intstr.IntOrString) (int, error) {
	if port.Type == intstr.Int {
		return port.IntValue(), nil
	}
	for _, p := range c.spec.Ports {
		if p.Name == port.StrVal {
			return int(p.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("no container port named %q", port.StrVal)
}

// stop sends SIGTERM, then SIGKILL after grace, and waits for the exit.
func (c *podContainer) stop(grace time.Duration) {
	c.mu.Lock()
	c.stopped = true
	cmd, exited := c.cmd, c.exited
	c.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		return
	case <-time.After(grace):
	}
	_ = cmd.Process.Kill()
	<-exited
}

func (c *podContainer) status(pod *corev1.Pod) corev1.ContainerStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs := corev1.ContainerStatus{
		Name:         c.name,
		Image:        c.spec.Image,
		ImageID:      c.spec.Image,
		ContainerID:  "kubetest://" + string(pod.UID) + "/" + c.name,
		Ready:        c.ready,
		RestartCount: c.restarts,
	}
	switch {
	case c.running():
		cs.Started = ptr.To(c.listening)
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: c.startedAt}
	case c.nextStart.IsZero() && c.cmd != nil:
		cs.Started = ptr.To(false)
		cs.State.Terminated = &corev1.ContainerStateTerminated{ExitCode: int32(c.exitCode), StartedAt: c.startedAt, FinishedAt: metav1.Now()}
	default:
		cs.Started = ptr.To(false)
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}
	}
	return cs
}
