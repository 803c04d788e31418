// Command churn measures failed requests while the cluster changes under
// load, in two phases of -duration each, with wrk sending keep-alive
// requests through the controller all along:
//
//   - endpoints: -endpoint-changes changes of the EndpointSlice of the
//     Service behind the route (a rotating subset of the echo backends,
//     never empty), evenly spread;
//   - ingress: -ingress-changes changes of the Ingress (a path added or
//     removed, which changes the load balancer's structure);
//   - mixed (with -mixed): both at once, an EndpointSlice change every
//     100 ms and an Ingress change every second.
//
// For each phase it prints the changes made, the requests served, the
// failed ones (non-2xx answers and socket errors, as wrk counts them) and,
// with -provider haproxy, the HAProxy reloads and runtime API updates the
// controller's /metrics counted during the phase: endpoint changes should
// cause none of the first, Ingress changes some.
//
// Everything is real (see bench/internal/benchenv); it must run as root and
// needs wrk (Debian package wrk).
//
//	go run ./bench/churn -duration 60s [-provider builtin|haproxy]
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os/exec"
	"regexp"
	"strconv"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"ingress-controller/bench/internal/benchenv"
)

const (
	app      = "churn"
	backends = 6
)

func main() {
	duration := flag.Duration("duration", 60*time.Second, "how long each phase's load and changes run")
	endpointChanges := flag.Int("endpoint-changes", 1000, "EndpointSlice changes in the endpoints phase (0: skip it)")
	ingressChanges := flag.Int("ingress-changes", 50, "Ingress changes in the ingress phase (0: skip it)")
	mixed := flag.Bool("mixed", true, "run the mixed phase: endpoints every 100 ms and the Ingress every second")
	connections := flag.Int("connections", 20, "wrk connections")
	providerName := flag.String("provider", "builtin", "the controller's --provider")
	flag.Parse()
	if *duration < 5*time.Second {
		log.Fatal("-duration: at least 5s")
	}
	if err := run(*duration, *endpointChanges, *ingressChanges, *connections, *providerName, *mixed); err != nil {
		log.Fatal(err)
	}
}

// counters are the provider's counters the phases compare.
var counters = []struct{ name, metric string }{
	{"haproxy reloads", "ingress_controller_haproxy_reloads_total"},
	{"haproxy runtime API updates", "ingress_controller_haproxy_runtime_updates_total"},
	{"haproxy restarts", "ingress_controller_haproxy_restarts_total"},
}

func run(duration time.Duration, endpointChanges, ingressChanges, connections int, providerName string, mixed bool) error {
	if _, err := exec.LookPath("wrk"); err != nil {
		return fmt.Errorf("wrk is needed (apt-get install wrk): %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env, err := benchenv.Start(ctx, benchenv.Options{
		Name:       "churn",
		Backends:   backends,
		BackendNet: "198.18.10.",
		Provider:   providerName,
	})
	if err != nil {
		return err
	}
	defer env.Close()
	if err := env.CreateBackend(ctx, app, []int{0, 1, 2}); err != nil {
		return err
	}
	if err := env.CreateIngress(ctx, app); err != nil {
		return err
	}
	if _, err := env.WaitServed(ctx, app, time.Now(), time.Minute); err != nil {
		return err
	}
	fmt.Printf("churn: provider %s, %d wrk connections, %s, %s per phase\n", providerName, connections, benchenv.Host(app), duration)
	epDone, ingDone := 0, 0
	// Three consecutive backends out of six, shifted by one each time.
	rotateEndpoints := func() error {
		epDone++
		return env.SetEndpoints(ctx, app, []int{epDone % backends, (epDone + 1) % backends, (epDone + 2) % backends})
	}
	toggleIngress := func() error {
		err := toggleIngressPath(ctx, env, ingDone)
		ingDone++
		return err
	}
	type churnPhase struct {
		name    string
		changes int
		change  func(i int) error
	}
	phases := []churnPhase{
		{"endpoints", endpointChanges, func(int) error { return rotateEndpoints() }},
		{"ingress", ingressChanges, func(int) error { return toggleIngress() }},
	}
	if mixed {
		// Endpoints every 100 ms, the Ingress every tenth time: every second.
		every := 100 * time.Millisecond
		phases = append(phases, churnPhase{"mixed", int(duration * 9 / 10 / every), func(i int) error {
			if err := rotateEndpoints(); err != nil {
				return err
			}
			if i%10 == 9 {
				return toggleIngress()
			}
			return nil
		}})
	}
	for _, ph := range phases {
		if ph.changes <= 0 {
			continue
		}
		if err := phase(ctx, env, ph.name, ph.changes, ph.change, duration, connections); err != nil {
			return fmt.Errorf("%s phase: %w", ph.name, err)
		}
	}
	return nil
}

// phase runs wrk for duration while making n changes, spread over the
// first nine tenths of it, and reports.
func phase(ctx context.Context, env *benchenv.Env, name string, n int, change func(int) error, duration time.Duration, connections int) error {
	before := readCounters(ctx, env)
	wrk := exec.CommandContext(ctx, "wrk", "-t1", fmt.Sprintf("-c%d", connections),
		fmt.Sprintf("-d%ds", int(duration.Seconds())), "-H", "Host: "+benchenv.Host(app), "http://"+env.Proxy+"/")
	out := make(chan []byte, 1)
	wrkErr := make(chan error, 1)
	go func() {
		b, err := wrk.CombinedOutput()
		out <- b
		wrkErr <- err
	}()
	start := time.Now()
	every := duration * 9 / 10 / time.Duration(n)
	tick := time.NewTicker(every)
	made := 0
	for made < n && time.Since(start) < duration {
		<-tick.C
		if err := change(made); err != nil {
			tick.Stop()
			return fmt.Errorf("change %d: %w", made+1, err)
		}
		made++
	}
	tick.Stop()
	changesTook := time.Since(start)
	report := <-out
	if err := <-wrkErr; err != nil {
		return fmt.Errorf("wrk: %v\n%s", err, report)
	}
	after := readCounters(ctx, env)
	requests := match(report, `(\d+) requests in`)
	non2xx := match(report, `Non-2xx or 3xx responses: (\d+)`)
	var socketErrors int
	if m := regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`).FindSubmatch(report); m != nil {
		for _, g := range m[1:] {
			k, _ := strconv.Atoi(string(g))
			socketErrors += k
		}
	}
	fmt.Printf("phase %s: %d changes in %s (one every %s)\n", name, made, changesTook.Round(time.Millisecond), every)
	fmt.Printf("  requests: %d, failed: %d (non-2xx %d, socket errors %d)\n", requests, non2xx+socketErrors, non2xx, socketErrors)
	for i, c := range counters {
		if before[i] < 0 || after[i] < 0 {
			continue
		}
		fmt.Printf("  %s: %.0f before, %.0f after (+%.0f)\n", c.name, before[i], after[i], after[i]-before[i])
	}
	return nil
}

// readCounters reads the provider's counters; -1 for those it has not.
func readCounters(ctx context.Context, env *benchenv.Env) []float64 {
	vals := make([]float64, len(counters))
	for i, c := range counters {
		v, ok, err := env.Metric(ctx, c.metric)
		if err != nil || !ok {
			v = -1
		}
		vals[i] = v
	}
	return vals
}

// toggleIngressPath adds an Exact path /v<i> to the Ingress, or removes it
// again: a structural change each time.
func toggleIngressPath(ctx context.Context, env *benchenv.Env, i int) error {
	ingresses := env.Client.NetworkingV1().Ingresses(benchenv.Namespace)
	cur, err := ingresses.Get(ctx, app, metav1.GetOptions{})
	if err != nil {
		return err
	}
	paths := benchenv.Ingress(app, app).Spec.Rules[0].HTTP.Paths
	if i%2 == 0 {
		exact := networkingv1.PathTypeExact
		extra := paths[0]
		extra.Path, extra.PathType = fmt.Sprintf("/v%d", i), &exact
		paths = append(paths, extra)
	}
	cur.Spec.Rules[0].HTTP.Paths = paths
	_, err = ingresses.Update(ctx, cur, metav1.UpdateOptions{})
	return err
}

func match(b []byte, re string) int {
	m := regexp.MustCompile(re).FindSubmatch(b)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}
