package kubetest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// started reports whether the container's echo-basic listens on all its
// ports in the pod's namespace and the node reaches the first TCP one at
// the pod's address. A kubelet calls a container started once its
// process runs, which makes a Pod without probes Ready at once; here it
// means serving, so that a Ready Pod's address never refuses or drops a
// connection. Once started, the node connects again every watchEvery
// checks and reports a pod it can no longer reach.
func (c *podContainer) started(ctx context.Context, n *Node, pod *corev1.Pod, sandbox *podSandbox) bool {
	c.mu.Lock()
	cmd, listening := c.cmd, c.listening
	c.checks++
	watch := listening && c.checks%watchEvery == 0
	c.mu.Unlock()
	if listening && !watch {
		return true
	}
	ports, err := echoPorts(c.env)
	if err != nil {
		return false // echo-basic exits on it
	}
	if !listening && !c.listensIn(cmd, sandbox, ports) {
		return false
	}
	if err := reach(ctx, sandbox.Addr, ports); err != nil {
		c.report(n, pod, sandbox, err)
		return listening
	}
	c.mu.Lock()
	if c.cmd == cmd {
		c.listening = true
	}
	c.mu.Unlock()
	return true
}

// listensIn reports whether cmd runs in the pod's namespace (not still in
// the node's, where ip netns exec starts) and has every port bound there.
func (c *podContainer) listensIn(cmd *exec.Cmd, sandbox *podSandbox, ports []echoPort) bool {
	pid := cmd.Process.Pid
	if !inNamespace(pid, sandbox) {
		return false
	}
	ok, err := listens(pid, ports)
	return err == nil && ok
}

// inNamespace reports whether process pid runs in the pod's namespace.
func inNamespace(pid int, sandbox *podSandbox) bool {
	own, err := os.Stat(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		return false
	}
	pods, err := os.Stat(netnsDir + "/" + sandbox.Namespace)
	return err == nil && os.SameFile(own, pods)
}

// reach connects from the node to the first TCP port at addr.
func reach(ctx context.Context, addr netip.Addr, ports []echoPort) error {
	for _, p := range ports {
		if p.network != "tcp" {
			continue
		}
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(addr.String(), strconv.Itoa(p.port)))
		if err != nil {
			return err
		}
		return conn.Close()
	}
	return nil
}

// report logs, once per start of the container, why the node could not
// reach a container that listens: the state of the pod network.
func (c *podContainer) report(n *Node, pod *corev1.Pod, sandbox *podSandbox, err error) {
	c.mu.Lock()
	reported := c.reported
	c.reported = true
	c.mu.Unlock()
	if reported || errors.Is(err, context.Canceled) {
		return
	}
	n.logf("node %s: pod %s/%s: container %s listens in %s, but the node cannot connect to it: %v\n%s",
		n.Name, pod.Namespace, pod.Name, c.name, sandbox.Namespace, err, n.network.describe(sandbox))
}
