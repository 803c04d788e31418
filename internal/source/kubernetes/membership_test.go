package kubernetes_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"ingress-controller/internal/nettest"
	kubesource "ingress-controller/internal/source/kubernetes"
)

func TestReplicaFromLease(t *testing.T) {
	renewed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	lease := func(change func(*coordinationv1.Lease)) *coordinationv1.Lease {
		l := &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "ic-replica-a", Annotations: map[string]string{
				kubesource.AnnotationPublicAddress: "192.0.2.1",
				kubesource.AnnotationLoadBalancers: `{"default":true,"ns/web":false}`,
			}},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       ptr.To("a"),
				LeaseDurationSeconds: ptr.To[int32](15),
				RenewTime:            ptr.To(metav1.NewMicroTime(renewed)),
			},
		}
		if change != nil {
			change(l)
		}
		return l
	}
	full := kubesource.Replica{Name: "a", Address: "192.0.2.1", Serving: map[string]bool{"default": true, "ns/web": false}, Expires: renewed.Add(15 * time.Second)}
	for _, tc := range []struct {
		name    string
		lease   *coordinationv1.Lease
		want    kubesource.Replica
		wantErr string
	}{
		{"full", lease(nil), full, ""},
		{"no address", lease(func(l *coordinationv1.Lease) { delete(l.Annotations, kubesource.AnnotationPublicAddress) }),
			kubesource.Replica{Name: "a", Serving: full.Serving, Expires: full.Expires}, ""},
		{"no load balancers", lease(func(l *coordinationv1.Lease) { delete(l.Annotations, kubesource.AnnotationLoadBalancers) }),
			kubesource.Replica{Name: "a", Address: "192.0.2.1", Serving: map[string]bool{}, Expires: full.Expires}, ""},
		{"IPv6 address", lease(func(l *coordinationv1.Lease) { l.Annotations[kubesource.AnnotationPublicAddress] = "2001:db8::1" }),
			kubesource.Replica{Name: "a", Address: "2001:db8::1", Serving: full.Serving, Expires: full.Expires}, ""},
		{"bad address", lease(func(l *coordinationv1.Lease) { l.Annotations[kubesource.AnnotationPublicAddress] = "lb.example.com" }),
			kubesource.Replica{}, `lease ns/ic-replica-a: annotation ingress-controller.io/public-address: "lb.example.com" is not an IP address`},
		{"load balancers not JSON", lease(func(l *coordinationv1.Lease) { l.Annotations[kubesource.AnnotationLoadBalancers] = "default" }),
			kubesource.Replica{}, "annotation ingress-controller.io/load-balancers"},
		{"load balancers not booleans", lease(func(l *coordinationv1.Lease) { l.Annotations[kubesource.AnnotationLoadBalancers] = `{"default":"yes"}` }),
			kubesource.Replica{}, "annotation ingress-controller.io/load-balancers"},
		{"load balancers null", lease(func(l *coordinationv1.Lease) { l.Annotations[kubesource.AnnotationLoadBalancers] = "null" }),
			kubesource.Replica{}, "annotation ingress-controller.io/load-balancers"},
		{"no holder", lease(func(l *coordinationv1.Lease) { l.Spec.HolderIdentity = nil }),
			kubesource.Replica{}, "spec.holderIdentity is empty"},
		{"empty holder", lease(func(l *coordinationv1.Lease) { l.Spec.HolderIdentity = ptr.To("") }),
			kubesource.Replica{}, "spec.holderIdentity is empty"},
		{"no renew time", lease(func(l *coordinationv1.Lease) { l.Spec.RenewTime = nil }),
			kubesource.Replica{}, "spec.renewTime is missing"},
		{"no duration", lease(func(l *coordinationv1.Lease) { l.Spec.LeaseDurationSeconds = nil }),
			kubesource.Replica{}, "spec.leaseDurationSeconds"},
		{"zero duration", lease(func(l *coordinationv1.Lease) { l.Spec.LeaseDurationSeconds = ptr.To[int32](0) }),
			kubesource.Replica{}, "spec.leaseDurationSeconds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := kubesource.ReplicaFromLease(tc.lease)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != tc.want.Name || got.Address != tc.want.Address || !got.Expires.Equal(tc.want.Expires) || !maps.Equal(got.Serving, tc.want.Serving) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}

	r, err := kubesource.ReplicaFromLease(lease(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at   time.Time
		live bool
	}{
		{renewed, true},
		{renewed.Add(15*time.Second - time.Nanosecond), true},
		{renewed.Add(15 * time.Second), false},
		{renewed.Add(time.Hour), false},
	} {
		if got := r.Live(tc.at); got != tc.live {
			t.Errorf("Live(renewed + %s) = %v, want %v", tc.at.Sub(renewed), got, tc.live)
		}
	}
}

func TestReplicaLeaseName(t *testing.T) {
	if got := kubesource.ReplicaLeaseName("ingress-controller-leader", "ic-7d9f-abcde"); got != "ingress-controller-leader-replica-ic-7d9f-abcde" {
		t.Errorf("ReplicaLeaseName = %q", got)
	}
	long := strings.Repeat("a", 62) + "." + strings.Repeat("b", 62) + "." + strings.Repeat("c", 62)
	names := map[string]bool{}
	for _, tc := range [][2]string{
		{"ingress-controller-leader", long},
		{"ingress-controller-leader", long + ".d"},
		{long, long},
		{long + ".d", "replica-1"},
		{long + ".d", "replica-2"},
		{strings.Repeat("x", 253), strings.Repeat("y", 253)},
		// Cuts that would end in "-" and in ".".
		{long + "." + strings.Repeat("e", 46), strings.Repeat("f", 30)},
		{strings.Repeat("g", 40), strings.Repeat("h", 62) + "." + strings.Repeat("h", 62) + "." + strings.Repeat("h", 60) + "." + strings.Repeat("i", 20)},
	} {
		name := kubesource.ReplicaLeaseName(tc[0], tc[1])
		if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
			t.Errorf("ReplicaLeaseName(%d bytes, %d bytes) = %q: %v", len(tc[0]), len(tc[1]), name, errs)
		}
		if names[name] {
			t.Errorf("ReplicaLeaseName(%d bytes, %d bytes) = %q twice", len(tc[0]), len(tc[1]), name)
		}
		names[name] = true
		value := kubesource.ReplicaOfValue(tc[0])
		if errs := validation.IsValidLabelValue(value); len(errs) > 0 {
			t.Errorf("ReplicaOfValue(%d bytes) = %q: %v", len(tc[0]), value, errs)
		}
	}
	if a, b := kubesource.ReplicaOfValue(long), kubesource.ReplicaOfValue(long+".d"); a == b {
		t.Errorf("two long election IDs share the label value %q", a)
	}
}

// Short membership timings for the tests.
const (
	testReplicaLease = 2 * time.Second
	testReplicaRenew = 500 * time.Millisecond
)

// TestMembership runs two replicas' Memberships against the API server:
// both are listed with their addresses and load balancers, a serving
// change shows, a replica that stops leaves the list at once, and one that
// stopped renewing without leaving drops out after its lease duration.
func TestMembership(t *testing.T) {
	f := newFixture(t)
	electionID := "members-" + f.ns

	type running struct {
		m    *kubesource.Membership
		stop context.CancelFunc
		done chan error
	}
	start := func(name, address string, serving map[string]bool) *running {
		ctx, cancel := context.WithCancel(f.ctx)
		r := &running{m: &kubesource.Membership{
			Client: f.client, Namespace: f.ns, ElectionID: electionID, Name: name, Address: address,
			LeaseDuration: testReplicaLease, RenewInterval: testReplicaRenew,
		}, stop: cancel, done: make(chan error, 1)}
		r.m.SetServing(serving)
		go func() { r.done <- r.m.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			<-r.done
		})
		return r
	}
	list := func() ([]kubesource.Replica, error) {
		return kubesource.ListReplicas(f.ctx, f.client, f.ns, electionID, time.Now())
	}
	expectReplicas := func(what string, want ...kubesource.Replica) {
		t.Helper()
		eventually(t, converge, what, func() error {
			got, err := list()
			if err != nil {
				return err
			}
			if len(got) != len(want) {
				return fmt.Errorf("%d replicas %+v, want %d", len(got), got, len(want))
			}
			for i := range got {
				if got[i].Name != want[i].Name || got[i].Address != want[i].Address || !maps.Equal(got[i].Serving, want[i].Serving) {
					return fmt.Errorf("replica %d is %+v, want %+v", i, got[i], want[i])
				}
			}
			return nil
		})
	}

	// Another controller's replica in the same namespace is not listed.
	other := &kubesource.Membership{Client: f.client, Namespace: f.ns, ElectionID: "other-" + f.ns, Name: "replica-a",
		LeaseDuration: testReplicaLease, RenewInterval: testReplicaRenew}
	octx, ostop := context.WithCancel(f.ctx)
	odone := make(chan error, 1)
	go func() { odone <- other.Run(octx) }()
	t.Cleanup(func() {
		ostop()
		<-odone
	})

	b := start("replica-b", "", map[string]bool{"default": false})
	a := start("replica-a", "192.0.2.10", map[string]bool{"default": true, f.ns + "/web": true})
	expectReplicas("both replicas listed",
		kubesource.Replica{Name: "replica-a", Address: "192.0.2.10", Serving: map[string]bool{"default": true, f.ns + "/web": true}},
		kubesource.Replica{Name: "replica-b", Serving: map[string]bool{"default": false}})

	lease, err := f.client.CoordinationV1().Leases(f.ns).Get(f.ctx, kubesource.ReplicaLeaseName(electionID, "replica-a"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ptr.Deref(lease.Spec.HolderIdentity, ""); got != "replica-a" {
		t.Errorf("holder %q, want replica-a", got)
	}
	if got := ptr.Deref(lease.Spec.LeaseDurationSeconds, 0); got != 2 {
		t.Errorf("leaseDurationSeconds %d, want 2", got)
	}
	if got := lease.Labels[kubesource.LabelReplicaOf]; got != electionID {
		t.Errorf("label %s = %q, want %q", kubesource.LabelReplicaOf, got, electionID)
	}

	b.m.SetServing(map[string]bool{"default": true})
	expectReplicas("b's serving change listed",
		kubesource.Replica{Name: "replica-a", Address: "192.0.2.10", Serving: map[string]bool{"default": true, f.ns + "/web": true}},
		kubesource.Replica{Name: "replica-b", Serving: map[string]bool{"default": true}})

	// A clean stop deletes the Lease before Run returns.
	a.stop()
	select {
	case err := <-a.done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(converge):
		t.Fatal("Run did not return after its context ended")
	}
	a.done <- nil // for the cleanup
	if _, err := f.client.CoordinationV1().Leases(f.ns).Get(f.ctx, kubesource.ReplicaLeaseName(electionID, "replica-a"), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a's Lease after it stopped: %v, want NotFound", err)
	}
	expectReplicas("a gone", kubesource.Replica{Name: "replica-b", Serving: map[string]bool{"default": true}})

	// A replica that died without deleting its Lease: renewed just now,
	// then never again.
	dead, err := f.client.CoordinationV1().Leases(f.ns).Create(f.ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{
			Name:        kubesource.ReplicaLeaseName(electionID, "replica-c"),
			Labels:      map[string]string{kubesource.LabelReplicaOf: kubesource.ReplicaOfValue(electionID)},
			Annotations: map[string]string{kubesource.AnnotationPublicAddress: "192.0.2.12", kubesource.AnnotationLoadBalancers: `{"default":true}`},
		},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       ptr.To("replica-c"),
			LeaseDurationSeconds: ptr.To[int32](2),
			RenewTime:            ptr.To(metav1.NewMicroTime(time.Now())),
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	expires := dead.Spec.RenewTime.Add(2 * time.Second)
	// Listed while its Lease holds. (Not at a moment near its expiry: b,
	// renewed every half second, may have run out by then as seen from
	// now, though it will be renewed.)
	got, err := kubesource.ListReplicas(f.ctx, f.client, f.ns, electionID, time.Now())
	if err != nil || len(got) != 2 || got[1].Name != "replica-c" || got[1].Address != "192.0.2.12" {
		t.Errorf("before c's lease ran out: %+v, %v; want replica-b and replica-c", got, err)
	}
	expectReplicas("c gone after its lease duration", kubesource.Replica{Name: "replica-b", Serving: map[string]bool{"default": true}})
	if time.Now().Before(expires) {
		t.Errorf("c dropped out before its lease ran out at %s", expires)
	}

	// A Lease that is not a replica's is named in the error; the rest are
	// still listed.
	if _, err := f.client.CoordinationV1().Leases(f.ns).Create(f.ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "broken", Labels: map[string]string{kubesource.LabelReplicaOf: kubesource.ReplicaOfValue(electionID)}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err = list()
	if err == nil || !strings.Contains(err.Error(), "lease "+f.ns+"/broken") {
		t.Errorf("ListReplicas with a broken Lease: error %v, want one naming it", err)
	}
	if len(got) != 1 || got[0].Name != "replica-b" {
		t.Errorf("ListReplicas with a broken Lease: %+v, want replica-b", got)
	}
}

// TestMembershipOutage: a replica cut off from the API server keeps
// trying, warns, and is listed again once it reaches the server; cut off
// when it stops, Run still returns promptly.
func TestMembershipOutage(t *testing.T) {
	f := newFixture(t)
	electionID := "members-outage-" + f.ns
	r := startRelay(t, cluster.Config.Host)
	cfg := rest.CopyConfig(cluster.Config)
	cfg.Host = "https://" + r.addr()
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var logs nettest.Buffer
	m := &kubesource.Membership{
		Client: client, Namespace: f.ns, ElectionID: electionID, Name: "replica-a",
		LeaseDuration: testReplicaLease, RenewInterval: testReplicaRenew,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	}
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	listed := func(want bool) func() error {
		return func() error {
			got, err := kubesource.ListReplicas(f.ctx, f.client, f.ns, electionID, time.Now())
			if err != nil {
				return err
			}
			if (len(got) == 1) != want {
				return fmt.Errorf("replicas %+v", got)
			}
			return nil
		}
	}
	eventually(t, converge, "replica listed", listed(true))

	r.cut()
	eventually(t, converge, "replica cut off no longer live", listed(false))
	eventually(t, converge, "warning logged", func() error {
		if !strings.Contains(logs.String(), "level=WARN msg=\"cannot renew replica lease; retrying\"") {
			return fmt.Errorf("logs:\n%s", logs.String())
		}
		return nil
	})
	r.restore()
	eventually(t, converge, "replica listed again", listed(true))

	r.cut()
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		t.Logf("cut off, Run returned %s after its context ended", time.Since(start).Round(time.Millisecond))
	case <-time.After(converge):
		t.Fatal("cut off, Run did not return after its context ended")
	}
}
