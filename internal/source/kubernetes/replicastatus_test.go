package kubernetes_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	kubesource "ingress-controller/internal/source/kubernetes"
)

func TestReplicaAddresses(t *testing.T) {
	now := time.Now()
	live, dead := now.Add(time.Second), now.Add(-time.Second)
	replica := func(addr string, expires time.Time, serving map[string]bool) kubesource.Replica {
		return kubesource.Replica{Name: "r-" + addr, Address: addr, Serving: serving, Expires: expires}
	}
	ready := map[string]bool{"default": true}
	for _, tc := range []struct {
		name     string
		replicas []kubesource.Replica
		want     []string
		use      bool
	}{
		{"no replicas", nil, nil, false},
		{"no replica has an address", []kubesource.Replica{replica("", live, ready)}, nil, false},
		{"only an expired replica has an address",
			[]kubesource.Replica{replica("", live, ready), replica("198.18.0.1", dead, ready)}, nil, false},
		{"sorted by number, not text",
			[]kubesource.Replica{replica("198.18.0.10", live, ready), replica("198.18.0.2", live, ready), replica("198.18.0.1", live, ready)},
			[]string{"198.18.0.1", "198.18.0.2", "198.18.0.10"}, true},
		{"duplicates dropped",
			[]kubesource.Replica{replica("198.18.0.1", live, ready), {Name: "other", Address: "198.18.0.1", Serving: ready, Expires: live}},
			[]string{"198.18.0.1"}, true},
		{"not ready, other load balancer, expired, no address: left out",
			[]kubesource.Replica{
				replica("198.18.0.1", live, map[string]bool{"default": false}),
				replica("198.18.0.2", live, map[string]bool{"other": true}),
				replica("198.18.0.3", dead, ready),
				replica("", live, ready),
				replica("198.18.0.4", live, ready),
			},
			[]string{"198.18.0.4"}, true},
		{"none serves: nothing, but replicas decide",
			[]kubesource.Replica{replica("198.18.0.1", live, map[string]bool{"default": false})}, nil, true},
		{"IPv4 before IPv6, IPv6 sorted",
			[]kubesource.Replica{replica("2001:db8::10", live, ready), replica("2001:db8::2", live, ready), replica("198.18.0.1", live, ready)},
			[]string{"198.18.0.1", "2001:db8::2", "2001:db8::10"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, use := kubesource.ReplicaAddresses(tc.replicas, "default", now)
			if !slices.Equal(got, tc.want) || use != tc.use {
				t.Errorf("ReplicaAddresses = %q, %v; want %q, %v", got, use, tc.want, tc.use)
			}
		})
	}
}

// replicaStatusDeadline is how soon a change of the replicas shows in
// status: the Lease write (at most a second after the change), the
// writer's watch of the Leases and the status write.
const replicaStatusDeadline = 6 * time.Second

// startReplica runs a Membership of the controllers of class in f's
// namespace; stop cancels it, which deletes its Lease.
func startReplica(t *testing.T, f *fixture, class, name, address string, serving map[string]bool) (m *kubesource.Membership, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(f.ctx)
	m = &kubesource.Membership{
		Client: f.client, Namespace: f.ns, ElectionID: electionID(class), Name: name, Address: address,
		LeaseDuration: testReplicaLease, RenewInterval: testReplicaRenew,
	}
	m.SetServing(serving)
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("replica %s: %v", name, err)
		}
	}
	t.Cleanup(func() {
		if ctx.Err() == nil {
			stop()
		}
	})
	return m, stop
}

// TestStatusFromReplicas publishes the addresses of the replicas that
// serve, sorted; a replica that is not ready, stops, or stops renewing
// drops out; without any replica address the provider's addresses are
// published as before.
func TestStatusFromReplicas(t *testing.T) {
	f := newFixture(t)
	class := "status-replicas-" + f.ns
	addrs, port := startBackends(t, "a")
	f.service("web", "http", 80, port)
	f.slice("web-1", "web", "http", port, addrs["a"])
	c := startController(t, controllerOptions{class: class, namespaces: []string{f.ns}, electionNamespace: f.ns})
	f.createIngress(ingress("web", &class, route{host: "web.test", path: "/", service: "web", port: "http"}))
	expect(t, c.port, "web.test", "/", ok("a"))
	ports := []networkingv1.IngressPortStatus{{Port: int32(c.port), Protocol: corev1.ProtocolTCP}}
	status := func(ips ...string) []networkingv1.IngressLoadBalancerIngress {
		var out []networkingv1.IngressLoadBalancerIngress
		for _, ip := range ips {
			out = append(out, networkingv1.IngressLoadBalancerIngress{IP: ip, Ports: ports})
		}
		return out
	}
	provider := status("127.0.0.1")
	f.expectStatus("web", provider, statusDeadline)

	ready := map[string]bool{"default": true}
	a, stopA := startReplica(t, f, class, "replica-a", "198.18.0.2", ready)
	_, stopB := startReplica(t, f, class, "replica-b", "198.18.0.1", ready)
	f.expectStatus("web", status("198.18.0.1", "198.18.0.2"), replicaStatusDeadline)
	// Each change of addresses is a Normal Event on the Ingress.
	eventually(t, converge, "AddressesChanged Events from the provider's address to the replicas'", func() error {
		evs, _, err := f.events("Ingress", "web", kubesource.ReasonAddressesChanged)
		if err != nil {
			return err
		}
		from, to := false, false
		for _, e := range evs {
			from = from || e.Type == corev1.EventTypeNormal && strings.Contains(e.Message, "(were 127.0.0.1:")
			to = to || e.Type == corev1.EventTypeNormal && strings.Contains(e.Message, fmt.Sprintf("addresses 198.18.0.1:%d,198.18.0.2:%d (were ", c.port, c.port))
		}
		if !from || !to {
			return fmt.Errorf("got %v", messages(evs))
		}
		return nil
	})

	// Nothing changes: the writer writes nothing, however often the
	// replicas renew.
	writes, rv := statusWrites(t, c), f.getIngress("web").ResourceVersion
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if got := statusWrites(t, c); got != writes {
			t.Fatalf("status writes %v -> %v with no change", writes, got)
		}
		if got := f.getIngress("web").ResourceVersion; got != rv {
			t.Fatalf("Ingress resourceVersion %s -> %s with no change", rv, got)
		}
	}

	// Not ready: its address goes; none ready: nothing is published.
	a.SetServing(map[string]bool{"default": false})
	f.expectStatus("web", status("198.18.0.1"), replicaStatusDeadline)
	a.SetServing(ready)
	f.expectStatus("web", status("198.18.0.1", "198.18.0.2"), replicaStatusDeadline)

	// A replica that stops deletes its Lease: it drops out at once.
	stopB()
	f.expectStatus("web", status("198.18.0.2"), replicaStatusDeadline)

	// A Lease nobody renews drops out when it expires, with no Lease
	// event to tell. Its duration leaves the writer time to see it live.
	const abandonedLease = 4 * time.Second
	created := time.Now()
	abandoned(t, f, class, "replica-c", "198.18.0.3", abandonedLease)
	f.expectStatus("web", status("198.18.0.2", "198.18.0.3"), abandonedLease)
	f.expectStatus("web", status("198.18.0.2"), time.Until(created.Add(abandonedLease+3*time.Second)))
	t.Logf("abandoned replica dropped %s after its Lease was written (duration %s)", time.Since(created).Round(time.Millisecond), abandonedLease)

	a.SetServing(map[string]bool{"default": false})
	f.expectStatus("web", nil, replicaStatusDeadline)

	// No replica has an address: the provider's addresses, as with one
	// replica.
	stopA()
	_, _ = startReplica(t, f, class, "replica-d", "", ready)
	f.expectStatus("web", provider, replicaStatusDeadline)
}

// TestStatusPublishAddressOverReplicas: --publish-status-address wins over
// the replicas' addresses.
func TestStatusPublishAddressOverReplicas(t *testing.T) {
	f := newFixture(t)
	class := "status-replicas-pub-" + f.ns
	addrs, port := startBackends(t, "a")
	f.service("web", "http", 80, port)
	f.slice("web-1", "web", "http", port, addrs["a"])
	startReplica(t, f, class, "replica-a", "198.18.0.1", map[string]bool{"default": true})
	c := startController(t, controllerOptions{class: class, namespaces: []string{f.ns}, electionNamespace: f.ns,
		publishAddresses: []string{"198.18.4.250"}})
	f.createIngress(ingress("web", &class, route{host: "web.test", path: "/", service: "web", port: "http"}))
	expect(t, c.port, "web.test", "/", ok("a"))
	want := []networkingv1.IngressLoadBalancerIngress{{IP: "198.18.4.250", Ports: []networkingv1.IngressPortStatus{{Port: int32(c.port), Protocol: corev1.ProtocolTCP}}}}
	f.expectStatus("web", want, statusDeadline)
	// And stays so once the writer has polled the replicas.
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if got := f.getIngress("web").Status.LoadBalancer.Ingress; !equalStatus(got, want) {
			t.Fatalf("status = %v, want %v", got, want)
		}
	}
}

// abandoned writes a replica Lease as Membership would, once, and never
// renews it.
func abandoned(t *testing.T, f *fixture, class, name, address string, duration time.Duration) {
	t.Helper()
	now := metav1.NewMicroTime(time.Now())
	_, err := f.client.CoordinationV1().Leases(f.ns).Create(f.ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{
			Name:   kubesource.ReplicaLeaseName(electionID(class), name),
			Labels: map[string]string{kubesource.LabelReplicaOf: kubesource.ReplicaOfValue(electionID(class))},
			Annotations: map[string]string{
				kubesource.AnnotationPublicAddress: address,
				kubesource.AnnotationLoadBalancers: `{"default":true}`,
			},
		},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       ptr.To(name),
			LeaseDurationSeconds: ptr.To(int32(duration / time.Second)),
			RenewTime:            &now,
			AcquireTime:          &now,
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create lease of replica %s: %v", name, err)
	}
}

// statusWrites reads the status writer's counter of writes.
func statusWrites(t *testing.T, c *controller) float64 {
	t.Helper()
	families, err := c.metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() == "ingress_controller_status_writes_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("no ingress_controller_status_writes_total metric")
	return 0
}
