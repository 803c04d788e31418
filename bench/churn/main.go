// Command churn measures failed requests while the cluster changes under
// load: wrk sends keep-alive requests through the controller for -duration
// while the endpoints of the Service behind the route change every
// -endpoint-every (a rotating subset of the echo backends, never empty) and
// the Ingress changes every -ingress-every (a path added or removed, which
// changes the load balancer's structure). It prints the requests served,
// the failed ones (non-2xx answers and socket errors, as wrk counts them)
// and how many changes were made.
//
// Everything is real (see bench/internal/benchenv); it must run as root and
// needs wrk (Debian package wrk).
//
//	go run ./bench/churn -duration 60s [-provider builtin]
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
	duration := flag.Duration("duration", 60*time.Second, "how long the load and the changes run")
	endpointEvery := flag.Duration("endpoint-every", 100*time.Millisecond, "interval between EndpointSlice changes")
	ingressEvery := flag.Duration("ingress-every", time.Second, "interval between Ingress changes")
	connections := flag.Int("connections", 20, "wrk connections")
	providerName := flag.String("provider", "builtin", "the controller's --provider")
	flag.Parse()
	if err := run(*duration, *endpointEvery, *ingressEvery, *connections, *providerName); err != nil {
		log.Fatal(err)
	}
}

func run(duration, endpointEvery, ingressEvery time.Duration, connections int, providerName string) error {
	if _, err := exec.LookPath("wrk"); err != nil {
		return fmt.Errorf("wrk is needed (apt-get install wrk): %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env, err := benchenv.Start(ctx, benchenv.Options{
		Name:           "churn",
		Backends:       backends,
		BackendNet:     "198.18.10.",
		ControllerArgs: []string{"--provider=" + providerName},
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

	wrk := exec.CommandContext(ctx, "wrk", "-t1", fmt.Sprintf("-c%d", connections),
		fmt.Sprintf("-d%ds", int(duration.Seconds())), "-H", "Host: "+benchenv.Host(app), "http://"+env.Proxy+"/")
	out := make(chan []byte, 1)
	wrkErr := make(chan error, 1)
	go func() {
		b, err := wrk.CombinedOutput()
		out <- b
		wrkErr <- err
	}()

	endpointTick := time.NewTicker(endpointEvery)
	defer endpointTick.Stop()
	ingressTick := time.NewTicker(ingressEvery)
	defer ingressTick.Stop()
	deadline := time.After(duration)
	endpointChanges, ingressChanges := 0, 0
	for running := true; running; {
		select {
		case <-deadline:
			running = false
		case <-endpointTick.C:
			// Three consecutive backends out of six, shifted by one each time.
			i := endpointChanges + 1
			set := []int{i % backends, (i + 1) % backends, (i + 2) % backends}
			if err := env.SetEndpoints(ctx, app, set); err != nil {
				return fmt.Errorf("endpoint change %d: %w", i, err)
			}
			endpointChanges++
		case <-ingressTick.C:
			if err := toggleIngressPath(ctx, env, ingressChanges); err != nil {
				return fmt.Errorf("ingress change %d: %w", ingressChanges+1, err)
			}
			ingressChanges++
		}
	}
	report := <-out
	if err := <-wrkErr; err != nil {
		return fmt.Errorf("wrk: %v\n%s", err, report)
	}
	requests := match(report, `(\d+) requests in`)
	non2xx := match(report, `Non-2xx or 3xx responses: (\d+)`)
	var socketErrors int
	if m := regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`).FindSubmatch(report); m != nil {
		for _, g := range m[1:] {
			n, _ := strconv.Atoi(string(g))
			socketErrors += n
		}
	}
	fmt.Printf("churn: %s, provider %s, %d wrk connections, %s\n", duration, providerName, connections, benchenv.Host(app))
	fmt.Printf("endpoint changes: %d (every %s), ingress changes: %d (every %s)\n", endpointChanges, endpointEvery, ingressChanges, ingressEvery)
	fmt.Printf("requests: %d, failed: %d (non-2xx %d, socket errors %d)\n", requests, non2xx+socketErrors, non2xx, socketErrors)
	return nil
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
