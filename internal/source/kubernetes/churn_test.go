package kubernetes_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
)

// TestEndpointChurnWithoutFailedRequests adds and removes endpoints of an
// EndpointSlice while requests run, and checks that traffic follows with
// no failed request. It logs how long each change took to reach traffic;
// the convergence benchmark, not this test, holds the timing goal.
func TestEndpointChurnWithoutFailedRequests(t *testing.T) {
	f := newFixture(t)
	class := "churn-" + f.ns
	addrs, port := startBackends(t, "a", "b", "c")
	f.service("web", "http", 80, port)
	f.slice("web-1", "web", "http", port, addrs["a"], addrs["b"])
	f.createIngress(ingress("web", &class, route{host: "web.test", path: "/", service: "web", port: "http"}))
	c := startController(t, controllerOptions{class: class, namespaces: []string{f.ns}})
	expectBackends(t, c.port, "web.test", "a", "b")

	l := startLoad(t, c.port, "web.test", 4)

	added := time.Now()
	f.updateSlice("web-1", func(es *discoveryv1.EndpointSlice) { setSliceAddresses(es, addrs["a"], addrs["b"], addrs["c"]) })
	eventually(t, converge, "traffic reaches the added endpoint", func() error {
		if _, ok := l.firstStartAfter("c", added); !ok {
			return fmt.Errorf("no request reached c yet")
		}
		return nil
	})
	first, _ := l.firstStartAfter("c", added)
	t.Logf("endpoint added: first request to it started %s after the EndpointSlice update", first.Sub(added).Round(time.Millisecond))

	removed := time.Now()
	f.updateSlice("web-1", func(es *discoveryv1.EndpointSlice) { setSliceAddresses(es, addrs["b"], addrs["c"]) })
	// Converged once requests have run for a while and none that started
	// in that while went to a.
	const quiet = 300 * time.Millisecond
	eventually(t, converge, "traffic leaves the removed endpoint", func() error {
		last := l.lastStart("a")
		if since := time.Since(last); since < quiet || l.countSince(last) < 20 {
			return fmt.Errorf("a answered a request started %s ago", since.Round(time.Millisecond))
		}
		return nil
	})
	last := max(l.lastStart("a").Sub(removed), 0)
	t.Logf("endpoint removed: last request to it started %s after the EndpointSlice update", last.Round(time.Millisecond))

	total, failed := l.stop()
	t.Logf("%d requests during the churn", total)
	if len(failed) > 0 {
		t.Errorf("%d of %d requests failed during endpoint churn; first: %s", len(failed), total, strings.Join(failed[:min(5, len(failed))], "; "))
	}
	if total < 50 {
		t.Errorf("only %d requests ran: the load did not load", total)
	}
}

// load sends requests through the proxy from a few goroutines, each at
// most one every loadInterval (bounded: the machines are shared), and
// records who answered, when, and what failed.
type load struct {
	done chan struct{}
	wg   sync.WaitGroup

	mu       sync.Mutex
	starts   map[string][]time.Time // request start times by backend that answered
	total    int
	failures []string
	stopped  bool
}

const loadInterval = 2 * time.Millisecond

func startLoad(t *testing.T, port int, host string, workers int) *load {
	l := &load{done: make(chan struct{}), starts: map[string][]time.Time{}}
	for range workers {
		l.wg.Go(func() {
			tick := time.NewTicker(loadInterval)
			defer tick.Stop()
			for {
				select {
				case <-l.done:
					return
				case <-tick.C:
				}
				start := time.Now()
				r, err := get(port, host, "/")
				l.mu.Lock()
				l.total++
				switch {
				case err != nil:
					l.failures = append(l.failures, fmt.Sprintf("%s: %v", start.Format("15:04:05.000"), err))
				case r.code != 200:
					l.failures = append(l.failures, fmt.Sprintf("%s: %v", start.Format("15:04:05.000"), r))
				default:
					l.starts[r.backend] = append(l.starts[r.backend], start)
				}
				l.mu.Unlock()
			}
		})
	}
	t.Cleanup(func() { l.stop() })
	return l
}

// stop ends the load and returns how many requests ran and which failed.
func (l *load) stop() (int, []string) {
	l.mu.Lock()
	if !l.stopped {
		l.stopped = true
		close(l.done)
	}
	l.mu.Unlock()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total, l.failures
}

func (l *load) failed() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.failures...)
}

func (l *load) requests() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// firstStartAfter is the start of the first request after t that backend
// answered.
func (l *load) firstStartAfter(backend string, t time.Time) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.starts[backend] {
		if s.After(t) {
			return s, true
		}
	}
	return time.Time{}, false
}

// lastStart is the start of the last request backend answered.
func (l *load) lastStart(backend string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	var last time.Time
	for _, s := range l.starts[backend] {
		if s.After(last) {
			last = s
		}
	}
	return last
}

// countSince counts the answered requests that started after t.
func (l *load) countSince(t time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, starts := range l.starts {
		for _, s := range starts {
			if s.After(t) {
				n++
			}
		}
	}
	return n
}
