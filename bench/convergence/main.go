// Command convergence measures how fast the controller follows the cluster:
// the time from creating an Ingress (or, with -kind httproute, an HTTPRoute
// on a Gateway) to its first 200 through the proxy, and from removing an
// endpoint from an EndpointSlice to the last request that reaches it, with
// N others present (N = 1, 100, 1000 by default), and the controller's
// memory with the largest N.
//
// Everything is real (see bench/internal/benchenv): a kube-apiserver and
// etcd, the ingress-controller binary with --source=kubernetes, and echo
// backends on addresses in 198.18.0.0/15 added to the loopback interface, so
// it must run as root. It prints p50 and p99 over -trials trials per size.
//
//	go run ./bench/convergence -sizes 1,100,1000 -trials 20 [-provider builtin] [-kind ingress]
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"slices"
	"strconv"
	"strings"
	"time"

	"ingress-controller/bench/internal/benchenv"
)

func main() {
	sizes := flag.String("sizes", "1,100,1000", "numbers of Ingresses present during the trials")
	trials := flag.Int("trials", 20, "trials per size and measurement")
	endpointsPer := flag.Int("endpoints", 3, "endpoints per Service")
	providerName := flag.String("provider", "builtin", "the controller's --provider")
	kind := flag.String("kind", "ingress", "what routes the requests: ingress, or httproute (Gateway API)")
	flag.Parse()
	if *kind != "ingress" && *kind != "httproute" {
		log.Fatalf("-kind: %q is not ingress or httproute", *kind)
	}
	var ns []int
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			log.Fatalf("-sizes: %q is not a positive number", s)
		}
		ns = append(ns, n)
	}
	slices.Sort(ns)
	if *endpointsPer < 2 {
		log.Fatal("-endpoints: at least 2, so that one can be removed")
	}
	if err := run(ns, *trials, *endpointsPer, *providerName, *kind); err != nil {
		log.Fatal(err)
	}
}

func run(sizes []int, trials, endpointsPer int, providerName, kind string) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env, err := benchenv.Start(ctx, benchenv.Options{
		Name:       "convergence",
		Backends:   endpointsPer,
		BackendNet: "198.18.9.",
		Provider:   providerName,
		GatewayAPI: kind == "httproute",
	})
	if err != nil {
		return err
	}
	defer env.Close()
	all := make([]int, endpointsPer)
	for i := range all {
		all[i] = i
	}

	kinds := map[string]string{"ingress": "ingresses", "httproute": "httproutes"}[kind]
	fmt.Printf("convergence: kube-apiserver + ingress-controller (%s), %s, %d endpoints per Service, %d trials\n", providerName, kinds, endpointsPer, trials)
	fmt.Printf("%-10s %-28s %9s %9s %9s\n", kinds, "measurement", "p50", "p99", "max")
	present := 0
	for _, n := range sizes {
		for ; present < n; present++ {
			name := fmt.Sprintf("app-%d", present)
			if err := env.CreateBackend(ctx, name, all); err != nil {
				return err
			}
			if err := env.CreateRoute(ctx, name); err != nil {
				return err
			}
		}
		// The newest background app serving means all of them are applied.
		if _, err := env.WaitServed(ctx, fmt.Sprintf("app-%d", n-1), time.Now(), 2*time.Minute); err != nil {
			return fmt.Errorf("%d %s never served: %w", n, kinds, err)
		}

		var create, remove []time.Duration
		for i := range trials {
			d, err := createTrial(ctx, env, fmt.Sprintf("trial-%d-%d", n, i), all)
			if err != nil {
				return err
			}
			create = append(create, d)
			d, err = removeTrial(ctx, env, "app-0", all)
			if err != nil {
				return err
			}
			remove = append(remove, d)
		}
		report(n, kind+" created -> 200", create)
		report(n, "endpoint removed -> unused", remove)
	}
	rss, err := env.RSS()
	if err != nil {
		return err
	}
	fmt.Printf("controller RSS with %d %s, %d endpoints: %.1f MiB\n", present, kinds, present*endpointsPer, float64(rss)/(1<<20))
	return nil
}

func report(n int, what string, ds []time.Duration) {
	slices.Sort(ds)
	pct := func(p float64) time.Duration { return ds[min(len(ds)-1, int(float64(len(ds))*p))] }
	fmt.Printf("%-10d %-28s %9s %9s %9s\n", n, what, pct(0.50).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond))
}

// createTrial creates the backend first (not timed), then the Ingress or
// HTTPRoute, and times until the proxy answers 200 for its host.
func createTrial(ctx context.Context, env *benchenv.Env, name string, backends []int) (time.Duration, error) {
	if err := env.CreateBackend(ctx, name, backends); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := env.CreateRoute(ctx, name); err != nil {
		return 0, err
	}
	return env.WaitServed(ctx, name, start, 30*time.Second)
}

// removeTrial drops the last endpoint of name's slice and times until 20
// requests in a row avoid it, then puts the endpoint back (not timed).
func removeTrial(ctx context.Context, env *benchenv.Env, name string, all []int) (time.Duration, error) {
	last := len(all) - 1
	gone := benchenv.BackendName(last)
	start := time.Now()
	if err := env.SetEndpoints(ctx, name, all[:last]); err != nil {
		return 0, err
	}
	var lastSeen time.Time
	for clean := 0; clean < 20; {
		status, server, err := env.Get(ctx, name)
		switch {
		case err != nil || status != 200:
			return 0, fmt.Errorf("%s failed while an endpoint was removed: %d %v", benchenv.Host(name), status, err)
		case server == gone:
			lastSeen, clean = time.Now(), 0
		default:
			clean++
		}
		if time.Since(start) > 30*time.Second {
			return 0, fmt.Errorf("%s still reaches %s after 30s", benchenv.Host(name), gone)
		}
	}
	took := time.Duration(0)
	if !lastSeen.IsZero() {
		took = lastSeen.Sub(start)
	}
	if err := env.SetEndpoints(ctx, name, all); err != nil {
		return 0, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, server, _ := env.Get(ctx, name); server == gone {
			return took, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s never reached %s again", benchenv.Host(name), gone)
		}
	}
}
