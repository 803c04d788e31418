package scaling_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	kubesource "ingress-controller/internal/source/kubernetes"
)

// The acceptance scenarios of horizontal scaling, on three LB hosts, for
// each provider: every replica serves and is published; a load balancer
// with scale 2 is served and published by exactly the two replicas
// rendezvous hashing picks, and refused by the third; a replica killed
// under load drops out of status within the lease duration + 5 s and its
// load balancer moves, with no failed request to a live address; it comes
// back with few status writes; a replica cut off from the API server
// serves on, drops out of status, and returns when the cut heals.
func TestScaling(t *testing.T) {
	for _, provider := range []string{"builtin", "haproxy"} {
		t.Run(provider, func(t *testing.T) { testScaling(t, provider) })
	}
}

const (
	wwwPort  = 80
	shopPort = 8080
)

func testScaling(t *testing.T, provider string) {
	f := newFleet(t, provider, 3)
	names := []string{}
	for i := range f.lbs {
		f.start(i)
		names = append(names, f.lbs[i].Name)
	}
	f.ingress("www", "www.test", "", nil)
	f.ingress("shop", "shop.test", "shop", map[string]string{
		"ingress-controller.io/listen-ports": fmt.Sprintf(`[{"HTTP":%d}]`, shopPort),
		"ingress-controller.io/scale":        "2",
	})
	all := []int{0, 1, 2}
	shopOwners := indexes(f, kubesource.Rendezvous("shop", 2, names))
	third := slices.DeleteFunc(slices.Clone(all), func(i int) bool { return slices.Contains(shopOwners, i) })[0]

	took := f.waitStatus("www", f.addrs(all...), converge)
	t.Logf("www: status lists the 3 replicas %s after start", took.Round(time.Millisecond))
	f.waitStatus("shop", f.addrs(shopOwners...), converge)
	for _, i := range all {
		if got, err := f.get(f.lbs[i].Addr.String(), wwwPort, "www.test"); err != nil || got != "web" {
			t.Errorf("www on %s: %q, %v; want web", f.lbs[i].Name, got, err)
		}
	}
	for _, i := range shopOwners {
		if got, err := f.get(f.lbs[i].Addr.String(), shopPort, "shop.test"); err != nil || got != "web" {
			t.Errorf("shop on %s: %q, %v; want web", f.lbs[i].Name, got, err)
		}
	}
	// Replicas that start together may each take shop before they see
	// the others; the one that must not have it lets go.
	f.expectRefused(third, shopPort)
	f.expectMetric(third, "ingress_controller_replicas_alive", 3)
	f.expectMetric(third, "ingress_controller_load_balancers_assigned", 1)
	f.expectMetric(shopOwners[0], "ingress_controller_load_balancers_assigned", 2)
	if t.Failed() {
		return
	}

	load := f.startLoad()
	defer load.stop(t)

	// Kill a replica that serves shop: it drops out of both statuses and
	// the third replica takes shop over.
	victim := shopOwners[0]
	survivors := slices.DeleteFunc(slices.Clone(all), func(i int) bool { return i == victim })
	load.dead(f.lbs[victim].Addr.String(), true)
	killed := time.Now()
	f.kill(victim)
	f.waitStatus("www", f.addrs(survivors...), failover)
	f.waitStatus("shop", f.addrs(survivors...), time.Until(killed.Add(failover)))
	t.Logf("SIGKILL of %s: status without it (and shop on %s) %s after the kill (bound %s)",
		f.lbs[victim].Name, f.lbs[third].Name, time.Since(killed).Round(time.Millisecond), failover)
	if got, err := f.get(f.lbs[third].Addr.String(), shopPort, "shop.test"); err != nil || got != "web" {
		t.Errorf("shop on %s after the takeover: %q, %v", f.lbs[third].Name, got, err)
	}

	// It comes back: the statuses converge with few writes, and stay.
	wwwLog, shopLog := f.watchStatus("www"), f.watchStatus("shop")
	time.Sleep(500 * time.Millisecond) // the watches' first event: the current status
	wwwSeen, shopSeen := wwwLog.len(), shopLog.len()
	f.start(victim)
	load.dead(f.lbs[victim].Addr.String(), false)
	took = f.waitStatus("www", f.addrs(all...), converge)
	f.waitStatus("shop", f.addrs(shopOwners...), converge)
	t.Logf("%s restarted: in status again %s after start", f.lbs[victim].Name, took.Round(time.Millisecond))
	time.Sleep(3 * time.Second)
	if got := wwwLog.since(wwwSeen); len(got) > 1 {
		t.Errorf("www status changed %d times on the rejoin, want once: %q", len(got), got)
	}
	// shop: the rejoined replica is added, then the replica it took over
	// from drops out once it has handed over.
	if got := shopLog.since(shopSeen); len(got) > 2 {
		t.Errorf("shop status changed %d times on the rejoin, want at most twice: %q", len(got), got)
	}
	f.expectRefused(third, shopPort) // after the drain

	// Cut a replica that serves shop off the API server: it serves on,
	// drops out of status, and shop is served by the third meanwhile.
	cut := shopOwners[1]
	others := slices.DeleteFunc(slices.Clone(all), func(i int) bool { return i == cut })
	heal := f.lbs[cut].Partition(t, f.net.Gateway())
	partitioned := time.Now()
	f.waitStatus("www", f.addrs(others...), failover)
	f.waitStatus("shop", f.addrs(others...), time.Until(partitioned.Add(failover)))
	t.Logf("%s cut off: out of status %s after the cut", f.lbs[cut].Name, time.Since(partitioned).Round(time.Millisecond))
	for _, tc := range []struct {
		port int
		host string
	}{{wwwPort, "www.test"}, {shopPort, "shop.test"}} {
		if got, err := f.get(f.lbs[cut].Addr.String(), tc.port, tc.host); err != nil || got != "web" {
			t.Errorf("%s on %s while cut off: %q, %v; want its last config serving", tc.host, f.lbs[cut].Name, got, err)
		}
	}
	heal()
	healed := time.Now()
	f.waitStatus("www", f.addrs(all...), converge)
	f.waitStatus("shop", f.addrs(shopOwners...), converge)
	t.Logf("%s back: in status %s after the cut healed", f.lbs[cut].Name, time.Since(healed).Round(time.Millisecond))

	// SIGTERM with --shutdown-delay: the replica leaves status, and shop
	// moves to the third, before its listeners close.
	leaving := shopOwners[0]
	stayers := slices.DeleteFunc(slices.Clone(all), func(i int) bool { return i == leaving })
	termed := time.Now()
	f.terminate(leaving)
	f.waitStatus("www", f.addrs(stayers...), shutdownDelay)
	f.waitStatus("shop", f.addrs(stayers...), time.Until(termed.Add(shutdownDelay)))
	t.Logf("SIGTERM to %s: out of status, shop on %s, %s later, before its listeners close after %s",
		f.lbs[leaving].Name, f.lbs[third].Name, time.Since(termed).Round(time.Millisecond), shutdownDelay)
	f.wait(leaving)
	load.dead(f.lbs[leaving].Addr.String(), true)

	ok, failed := load.stop(t)
	t.Logf("load: %d requests to live addresses answered, %d failed", ok, len(failed))
}

// indexes returns the indexes of the LB hosts named names, sorted.
func indexes(f *fleet, names []string) []int {
	var out []int
	for i, h := range f.lbs {
		if slices.Contains(names, h.Name) {
			out = append(out, i)
		}
	}
	return out
}

// expectRefused waits until LB host i refuses connections on port.
func (f *fleet) expectRefused(i, port int) {
	f.t.Helper()
	for deadline := time.Now().Add(converge); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if f.refused(f.lbs[i].Addr.String(), port) {
			return
		}
	}
	f.t.Errorf("%s still accepts connections on %d after %s; want them refused", f.lbs[i].Name, port, converge)
}

// expectMetric waits until the replica of LB host i reports want.
func (f *fleet) expectMetric(i int, name string, want float64) {
	f.t.Helper()
	var got float64
	for deadline := time.Now().Add(converge); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got = f.metric(i, name); got == want {
			return
		}
	}
	f.t.Errorf("%s on %s: %v, want %v", name, f.lbs[i].Name, got, want)
}

// load sends requests from the client host, one connection each, to
// every address in the status of www (port 80) and shop (8080) in turn,
// as a client following the status would. Addresses marked dead are left
// out; a request that fails to an address that was not dead when it ended
// is a failure.
type load struct {
	f    *fleet
	quit chan struct{}
	wg   sync.WaitGroup

	mu      sync.Mutex
	targets map[string][]string // Ingress to status addresses
	isDead  map[string]bool
	ok      int
	failed  []string
}

// loadLimit bounds a load in time; loadRequests in requests.
const (
	loadLimit    = 5 * time.Minute
	loadRequests = 200_000
)

func (f *fleet) startLoad() *load {
	l := &load{f: f, quit: make(chan struct{}), targets: map[string][]string{}, isDead: map[string]bool{}}
	l.refresh()
	l.wg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-l.quit:
				return
			case <-tick.C:
				l.refresh()
			}
		}
	})
	deadline := time.Now().Add(loadLimit)
	for w := range 2 {
		l.wg.Go(func() {
			for n := w; time.Now().Before(deadline); n++ {
				select {
				case <-l.quit:
					return
				default:
				}
				if !l.one(n) {
					return
				}
			}
		})
	}
	return l
}

// refresh reads the statuses.
func (l *load) refresh() {
	for _, name := range []string{"www", "shop"} {
		if ips, err := l.f.status(name); err == nil {
			l.mu.Lock()
			l.targets[name] = ips
			l.mu.Unlock()
		}
	}
}

// one sends the n-th request and reports whether to go on.
func (l *load) one(n int) bool {
	name, port, host := "www", wwwPort, "www.test"
	if n%2 == 1 {
		name, port, host = "shop", shopPort, "shop.test"
	}
	l.mu.Lock()
	if l.ok+len(l.failed) >= loadRequests {
		l.mu.Unlock()
		return false
	}
	live := slices.DeleteFunc(slices.Clone(l.targets[name]), func(a string) bool { return l.isDead[a] })
	l.mu.Unlock()
	if len(live) == 0 {
		time.Sleep(10 * time.Millisecond)
		return true
	}
	addr := live[(n/2)%len(live)]
	got, err := l.f.get(addr, port, host)
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.isDead[addr]:
	case err != nil || got != "web":
		l.failed = append(l.failed, fmt.Sprintf("%s %s:%d: %q, %v", time.Now().Format("15:04:05.000"), addr, port, got, err))
	default:
		l.ok++
	}
	return true
}

// dead marks addr dead (or alive again).
func (l *load) dead(addr string, dead bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.isDead[addr] = dead
}

// stop ends the load, fails t if a request to a live address failed or
// too few were answered, and returns the counts.
func (l *load) stop(t *testing.T) (ok int, failed []string) {
	t.Helper()
	select {
	case <-l.quit:
	default:
		close(l.quit)
	}
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.failed) > 0 {
		t.Errorf("%d requests to live addresses failed:\n%s", len(l.failed), strings.Join(l.failed[:min(len(l.failed), 20)], "\n"))
		l.failed = l.failed[:0:0]
	}
	if l.ok < 100 {
		t.Errorf("only %d requests answered: the load did not run", l.ok)
	}
	return l.ok, l.failed
}
