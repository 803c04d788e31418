package kubernetes_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	kubesource "ingress-controller/internal/source/kubernetes"
	"ingress-controller/pkg/lbconfig"
)

func TestRendezvous(t *testing.T) {
	replicas := []string{"r-c", "r-a", "r-b"}
	if got := kubesource.Rendezvous("web", 0, replicas); len(got) != 3 || !slices.Equal(slices.Sorted(slices.Values(got)), []string{"r-a", "r-b", "r-c"}) {
		t.Errorf("scale 0: %v, want every replica", got)
	}
	if got := kubesource.Rendezvous("web", 5, replicas); len(got) != 3 {
		t.Errorf("scale above the replicas: %v, want every replica", got)
	}
	// The same answer whatever the order of the replicas or duplicates.
	a := kubesource.Rendezvous("web", 2, replicas)
	b := kubesource.Rendezvous("web", 2, []string{"r-b", "r-c", "r-a", "r-b"})
	if len(a) != 2 || !slices.Equal(a, b) {
		t.Errorf("Rendezvous depends on the order of its input: %v and %v", a, b)
	}
	// The top n are a prefix of the top n+1: scaling up adds a replica
	// and moves nothing.
	for n := 1; n < 3; n++ {
		if got, more := kubesource.Rendezvous("web", n, replicas), kubesource.Rendezvous("web", n+1, replicas); !slices.Equal(got, more[:n]) {
			t.Errorf("scale %d gives %v, scale %d gives %v: not a prefix", n, got, n+1, more)
		}
	}
}

// TestRendezvousMovesLittle: with 200 load balancers of scale 1 over 5
// replicas, the load is spread, a replica that goes away moves only its
// own load balancers, and a replica that comes back takes only load
// balancers that become its own.
func TestRendezvousMovesLittle(t *testing.T) {
	replicas := []string{"r-0", "r-1", "r-2", "r-3", "r-4"}
	owner := func(lb string, replicas []string) string { return kubesource.Rendezvous(lb, 1, replicas)[0] }
	counts := map[string]int{}
	before := map[string]string{}
	for i := range 200 {
		lb := fmt.Sprintf("lb-%d", i)
		before[lb] = owner(lb, replicas)
		counts[before[lb]]++
	}
	for _, r := range replicas {
		// Each should get 40; a hash that ignored a replica would give 0.
		if counts[r] < 20 || counts[r] > 60 {
			t.Errorf("replica %s serves %d of 200 load balancers, want about 40: %v", r, counts[r], counts)
		}
	}
	without := slices.DeleteFunc(slices.Clone(replicas), func(r string) bool { return r == "r-2" })
	for lb, was := range before {
		now := owner(lb, without)
		if was != "r-2" && now != was {
			t.Errorf("%s moved from %s to %s when r-2 left", lb, was, now)
		}
		if was == "r-2" && now == "r-2" {
			t.Errorf("%s still on r-2, which left", lb)
		}
		if back := owner(lb, replicas); back != was {
			t.Errorf("%s on %s after r-2 came back, want %s as before", lb, back, was)
		}
	}
}

// assignee is one replica of TestAssignment: its Lease, its watch of the
// others and its assignment, without an engine or a provider.
type assignee struct {
	name string
	a    *kubesource.Assignment
	m    *kubesource.Membership
	stop context.CancelFunc
	done chan struct{}
}

// startAssignee runs a replica called name of the controller electionID in
// f's namespace, talking to the API server through cfg.
func startAssignee(t *testing.T, f *fixture, cfg *rest.Config, electionID, name string, drain time.Duration) *assignee {
	t.Helper()
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := &kubesource.Membership{Client: client, Namespace: f.ns, ElectionID: electionID, Name: name,
		LeaseDuration: testReplicaLease, RenewInterval: testReplicaRenew}
	w := kubesource.NewReplicaWatch(client, f.ns, electionID, nil)
	r := &assignee{name: name, m: m, done: make(chan struct{})}
	r.a = &kubesource.Assignment{Self: name, Replicas: w, Membership: m, Drain: drain,
		Changed: func() {}, Interval: 100 * time.Millisecond}
	ctx, cancel := context.WithCancel(f.ctx)
	r.stop = cancel
	var wg sync.WaitGroup
	for _, run := range []func(context.Context) error{m.Run, w.Run, r.a.Run} {
		wg.Go(func() {
			if err := run(ctx); err != nil {
				t.Errorf("replica %s: %v", name, err)
			}
		})
	}
	go func() { wg.Wait(); close(r.done) }()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

// serves is what r serves of cfg, and which of that it drains. As the
// controller does after an apply, r's Lease then says it serves the rest.
func (r *assignee) serves(cfg *lbconfig.Config) (served, draining []string) {
	published := map[string]bool{}
	for _, lb := range r.a.Assign(cfg).LoadBalancers {
		served = append(served, lb.Name)
		if r.a.Published(lb.Name) {
			published[lb.Name] = true
		} else {
			draining = append(draining, lb.Name)
		}
	}
	r.m.SetServing(published)
	return served, draining
}

// assigned is what r serves of cfg and does not drain.
func (r *assignee) assigned(cfg *lbconfig.Config) []string {
	served, draining := r.serves(cfg)
	return slices.DeleteFunc(served, func(lb string) bool { return slices.Contains(draining, lb) })
}

// TestAssignment runs replicas against the API server: they agree on who
// serves each load balancer, a replica that leaves hands its load
// balancers over, one that joins takes its share while the one that had
// it serves it until the newcomer does and then drains it, and one cut off
// from the API server keeps what it serves.
func TestAssignment(t *testing.T) {
	f := newFixture(t)
	id := "assign-" + f.ns
	cfg := &lbconfig.Config{LoadBalancers: []lbconfig.LoadBalancer{
		{Name: "all"}, {Name: "one", Scale: 1}, {Name: "two", Scale: 2},
	}}
	// who returns, for each load balancer, the replicas that serve it and
	// do not drain it, as each of them decides.
	who := func(rs ...*assignee) map[string][]string {
		out := map[string][]string{}
		for _, r := range rs {
			for _, lb := range r.assigned(cfg) {
				out[lb] = append(out[lb], r.name)
			}
		}
		return out
	}
	want := func(names ...string) map[string][]string {
		out := map[string][]string{}
		for _, lb := range cfg.LoadBalancers {
			out[lb.Name] = kubesource.Rendezvous(lb.Name, int(lb.Scale), names)
			slices.Sort(out[lb.Name])
		}
		return out
	}
	agree := func(what string, rs []*assignee, names ...string) {
		t.Helper()
		eventually(t, converge, what, func() error {
			got := who(rs...)
			for _, v := range got {
				slices.Sort(v)
			}
			if w := want(names...); !maps.EqualFunc(got, w, slices.Equal) {
				return fmt.Errorf("served by %v, want %v", got, w)
			}
			return nil
		})
	}

	relay := startRelay(t, cluster.Config.Host)
	cutCfg := rest.CopyConfig(cluster.Config)
	cutCfg.Host = "https://" + relay.addr()
	a := startAssignee(t, f, cluster.Config, id, "replica-a", testDrain)
	b := startAssignee(t, f, cluster.Config, id, "replica-b", testDrain)
	c := startAssignee(t, f, cutCfg, id, "replica-c", testDrain)
	agree("three replicas agree", []*assignee{a, b, c}, "replica-a", "replica-b", "replica-c")

	// Cut c off: it keeps serving what it served, though it sees the
	// others' Leases run out, while a and b take over its share.
	before := c.assigned(cfg)
	relay.cut()
	agree("a and b take over from c", []*assignee{a, b}, "replica-a", "replica-b")
	time.Sleep(testReplicaLease) // every Lease c saw has run out by now
	if got := c.assigned(cfg); !slices.Equal(got, before) {
		t.Errorf("replica c, cut off, serves %v, want %v as before", got, before)
	}
	relay.restore()
	agree("c counts again after the cut", []*assignee{a, b, c}, "replica-a", "replica-b", "replica-c")

	// b leaves: its Lease goes at once and the others share its load.
	b.stop()
	<-b.done
	agree("a and c take over from b", []*assignee{a, c}, "replica-a", "replica-c")

	// A replica joins and takes "one" from whichever of a and c had it,
	// which drains it before letting go.
	owner := map[string]*assignee{"replica-a": a, "replica-c": c}[want("replica-a", "replica-c")["one"][0]]
	name := ""
	for i := 0; name == ""; i++ {
		if n := fmt.Sprintf("replica-d%d", i); kubesource.Rendezvous("one", 1, []string{"replica-a", "replica-c", n})[0] == n {
			name = n
		}
	}
	d := startAssignee(t, f, cluster.Config, id, name, testDrain)
	// Until d says it serves one, the owner serves and publishes it.
	eventually(t, converge, "d finds one assigned to it", func() error {
		if got := lbNames(d.a.Assign(cfg)); !slices.Contains(got, "one") {
			return fmt.Errorf("d serves %v", got)
		}
		return nil
	})
	for range 10 {
		if served, draining := owner.serves(cfg); !slices.Contains(served, "one") || len(draining) > 0 {
			t.Fatalf("%s serves %v, drains %v before d serves one; want one served and published", owner.name, served, draining)
		}
		time.Sleep(testReplicaRenew / 5)
	}
	agree("d takes its share", []*assignee{a, c, d}, "replica-a", "replica-c", name)
	if _, draining := owner.serves(cfg); !slices.Equal(draining, []string{"one"}) {
		t.Errorf("%s, which served one before d came, drains %v, want [one]", owner.name, draining)
	}
	eventually(t, converge, owner.name+" lets go of one after the drain", func() error {
		if served, _ := owner.serves(cfg); slices.Contains(served, "one") {
			return fmt.Errorf("%s serves %v", owner.name, served)
		}
		return nil
	})
}

func lbNames(cfg *lbconfig.Config) []string {
	var out []string
	for _, lb := range cfg.LoadBalancers {
		out = append(out, lb.Name)
	}
	return out
}

// testDrain is how long TestAssignment's replicas drain a load balancer
// that moved away.
const testDrain = 1500 * time.Millisecond
