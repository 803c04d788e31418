package kubernetes_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	kubesource "ingress-controller/internal/source/kubernetes"
)

// TestStatusConflictBacksOff runs the leader against a hostile writer that
// replaces our status with its own whenever it sees ours, as a second
// controller of the class on another Lease would. The leader must back
// off instead of fighting, warn with an Event naming the other writer's
// address, and restore its status once the other writer stops.
func TestStatusConflictBacksOff(t *testing.T) {
	f := newFixture(t)
	class := "status-conflict-" + f.ns
	addrs, port := startBackends(t, "a")
	f.service("web", "http", 80, port)
	f.slice("web-1", "web", "http", port, addrs["a"])
	f.createIngress(ingress("web", &class, route{host: "web.test", path: "/", service: "web", port: "http"}))
	const backoffMax = 2 * time.Second
	c := startController(t, controllerOptions{class: class, namespaces: []string{f.ns},
		publishAddresses: []string{"198.18.4.250"}, conflictBackoff: 250 * time.Millisecond, conflictBackoffMax: backoffMax})
	ours := []networkingv1.IngressLoadBalancerIngress{{IP: "198.18.4.250", Ports: []networkingv1.IngressPortStatus{{Port: int32(c.port), Protocol: corev1.ProtocolTCP}}}}
	theirs := []networkingv1.IngressLoadBalancerIngress{{IP: "203.0.113.9"}}
	f.expectStatus("web", ours, converge)

	// The hostile writer, bounded in time and in writes.
	const fightFor, maxHostile = 6 * time.Second, 200
	before := statusWrites(t, c)
	ctx, cancel := context.WithTimeout(f.ctx, fightFor)
	defer cancel()
	var hostile atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		ings := f.client.NetworkingV1().Ingresses(f.ns)
		for ctx.Err() == nil && hostile.Load() < maxHostile {
			w, err := ings.Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", "web").String()})
			if err != nil {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			for ev := range w.ResultChan() {
				ing, ok := ev.Object.(*networkingv1.Ingress)
				if !ok || equalStatus(ing.Status.LoadBalancer.Ingress, theirs) {
					continue
				}
				if hostile.Load() >= maxHostile {
					break
				}
				ing.Status.LoadBalancer.Ingress = theirs
				if _, err := ings.UpdateStatus(ctx, ing, metav1.UpdateOptions{}); err == nil {
					hostile.Add(1)
				}
			}
			w.Stop()
		}
	}()
	<-done
	ourWrites := statusWrites(t, c) - before
	t.Logf("over %s: %v writes of ours, %d of the hostile writer", fightFor, ourWrites, hostile.Load())
	if hostile.Load() == 0 {
		t.Fatal("the hostile writer never wrote")
	}
	if ourWrites > 10 {
		t.Errorf("%v status writes of ours in %s of fighting, want at most 10", ourWrites, fightFor)
	}
	if n := metricValue(t, c, "ingress_controller_status_conflicts_total"); n < 2 {
		t.Errorf("%v conflicts counted, want at least 2", n)
	}

	// The fight was reported once, naming the other writer's address.
	var evs []corev1.Event
	eventually(t, converge, "a StatusConflict Event naming 203.0.113.9", func() error {
		var err error
		evs, _, err = f.events("Ingress", "web", kubesource.ReasonStatusConflict)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if e.Type == corev1.EventTypeWarning && strings.Contains(e.Message, "203.0.113.9") {
				return nil
			}
		}
		return fmt.Errorf("got %v", messages(evs))
	})
	t.Logf("event: %v", messages(evs))
	if _, n, _ := f.events("Ingress", "web", kubesource.ReasonStatusConflict); n > 2 {
		t.Errorf("%d StatusConflict Events, want the fight reported once", n)
	}

	// The other writer stopped: ours is back within the backoff cap.
	took := f.expectStatus("web", ours, backoffMax+3*time.Second)
	t.Logf("status restored %s after the other writer stopped", took.Round(time.Millisecond))
}

// metricValue reads one of the controller's counters.
func metricValue(t *testing.T, c *controller, name string) float64 {
	t.Helper()
	families, err := c.metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no %s metric", name)
	return 0
}
