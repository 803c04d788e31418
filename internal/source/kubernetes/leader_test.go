package kubernetes_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Short leader-election timings for the test; the defaults are 15s, 10s
// and 2s.
const (
	testLeaseDuration = 3 * time.Second
	testRenewDeadline = 2 * time.Second
	testRetryPeriod   = 500 * time.Millisecond
)

// TestLeaderElection runs two controller processes against one cluster:
// both serve, only the Lease holder writes status; killed with SIGKILL,
// the other takes over status writing within the lease duration (+5 s)
// while serving on; on SIGTERM the last one clears its status
// (--update-status-on-shutdown) and releases the Lease.
func TestLeaderElection(t *testing.T) {
	cfg := applyDeploy(t)
	f := newFixture(t)
	class := "leader-" + f.ns
	lease := "leader-" + f.ns
	addrs, port := startBackends(t, "a")
	f.service("web", "http", 80, port)
	f.slice("web-1", "web", "http", port, addrs["a"])
	f.createIngress(ingress("one", &class, route{host: "web.test", path: "/", service: "web", port: "http"}))

	args := []string{
		"--ingress-class=" + class,
		"--watch-namespace=" + f.ns,
		"--election-namespace=" + deployNamespace,
		"--election-id=" + lease,
		"--election-lease-duration=" + testLeaseDuration.String(),
		"--election-renew-deadline=" + testRenewDeadline.String(),
		"--election-retry-period=" + testRetryPeriod.String(),
		"--update-status-on-shutdown",
	}
	procs := []*process{startBinary(t, "controller-1", cfg, args...), startBinary(t, "controller-2", cfg, args...)}
	for _, p := range procs {
		expect(t, p.port, "web.test", "/", ok("a"))
	}

	holder := func() (string, error) {
		l, err := f.client.CoordinationV1().Leases(deployNamespace).Get(f.ctx, lease, metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		return ptr.Deref(l.Spec.HolderIdentity, ""), nil
	}
	var leader, follower *process
	eventually(t, converge, "a leader", func() error {
		h, err := holder()
		if err != nil {
			return err
		}
		for i, p := range procs {
			if p.identity == h {
				leader, follower = p, procs[1-i]
				return nil
			}
		}
		return fmt.Errorf("holder %q is neither process", h)
	})
	statusOf := func(p *process) []networkingv1.IngressLoadBalancerIngress {
		return []networkingv1.IngressLoadBalancerIngress{{IP: "127.0.0.1", Ports: []networkingv1.IngressPortStatus{{Port: int32(p.port), Protocol: corev1.ProtocolTCP}}}}
	}
	f.expectStatus("one", statusOf(leader), statusDeadline)
	f.createIngress(ingress("two", &class, route{host: "two.test", path: "/", service: "web", port: "http"}))
	for _, p := range procs {
		expect(t, p.port, "two.test", "/", ok("a"))
	}
	f.expectStatus("two", statusOf(leader), statusDeadline)
	if strings.Contains(follower.out.String(), "ingress status updated") {
		t.Errorf("the follower wrote status:\n%s", follower.out.String())
	}

	// The leader dies without releasing the Lease; the follower serves on
	// and takes over within the lease duration.
	l := startLoad(t, follower.port, "web.test", 2)
	killed := time.Now()
	leader.kill()
	f.createIngress(ingress("three", &class, route{host: "three.test", path: "/", service: "web", port: "http"}))
	took := eventually(t, testLeaseDuration+5*time.Second, "the follower takes over", func() error {
		if h, err := holder(); err != nil || h != follower.identity {
			return fmt.Errorf("holder %q (%v)", h, err)
		}
		for _, name := range []string{"one", "two", "three"} {
			if got, want := f.getIngress(name).Status.LoadBalancer.Ingress, statusOf(follower); !equalStatus(got, want) {
				return fmt.Errorf("status of %s: %v", name, got)
			}
		}
		return nil
	})
	t.Logf("the follower took over the Lease and rewrote the status %s after the leader was killed", took.Round(time.Millisecond))
	expect(t, follower.port, "three.test", "/", ok("a"))
	if total, failed := l.stop(); len(failed) > 0 {
		t.Errorf("%d of %d requests to the follower failed while the leader died; first: %s", len(failed), total, failed[0])
	}

	// SIGTERM: the status goes, the Lease is released at once.
	follower.terminate(t)
	if h, err := holder(); err != nil || h != "" {
		t.Errorf("after SIGTERM the Lease holder is %q (%v), want it released", h, err)
	}
	for _, name := range []string{"one", "two", "three"} {
		if got := f.getIngress(name).Status.LoadBalancer.Ingress; len(got) != 0 {
			t.Errorf("status of %s after SIGTERM with --update-status-on-shutdown: %v, want none", name, got)
		}
	}
	if !strings.Contains(follower.out.String(), "released leadership") {
		t.Errorf("the follower did not log releasing leadership:\n%s", follower.out.String())
	}
	// A clean shutdown logs no error: the broadcaster outlives the election,
	// so the release's Event is written, not refused.
	if out := follower.out.String(); strings.Contains(out, "level=ERROR") {
		t.Errorf("the follower logged an error on SIGTERM:\n%s", out)
	}
	evs, err := f.client.CoreV1().Events(deployNamespace).List(f.ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	for _, ev := range evs.Items {
		if ev.InvolvedObject.Kind == "Lease" && ev.InvolvedObject.Name == lease && ev.Message == follower.identity+" stopped leading" {
			stopped = true
		}
	}
	if !stopped {
		t.Errorf("no %q Event on Lease %s/%s after SIGTERM", follower.identity+" stopped leading", deployNamespace, lease)
	}
	_ = killed
}
