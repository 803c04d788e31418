package scaling_test

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"text/tabwriter"
	"time"
)

// failoverTrials is how many times BenchmarkFailover kills and restarts a
// replica per provider.
const failoverTrials = 10

// BenchmarkFailover measures, on three LB hosts with a lease duration of
// 3 s, the time from a replica's SIGKILL to an Ingress status without
// its address, and from its restart to a status with it again, over
// failoverTrials trials per provider, and prints p50 and p99 (with ten
// trials, p99 is the slowest). Run it with make bench-failover.
func BenchmarkFailover(b *testing.B) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "provider\tlease\ttrials\tdeath→out p50\tp99\tstart→in p50\tp99\t\n")
	for _, provider := range []string{"builtin", "haproxy"} {
		var out, in []time.Duration
		b.Run(provider, func(b *testing.B) {
			f := newFleet(b, provider, 3)
			all := []int{0, 1, 2}
			for i := range all {
				f.start(i)
			}
			f.ingress("www", "www.test", "", nil)
			f.waitStatus("www", f.addrs(all...), converge)
			for trial := range failoverTrials {
				victim := trial % len(all)
				survivors := slices.DeleteFunc(slices.Clone(all), func(i int) bool { return i == victim })
				killed := time.Now()
				f.kill(victim)
				f.waitStatus("www", f.addrs(survivors...), converge)
				out = append(out, time.Since(killed))
				started := time.Now()
				f.start(victim)
				f.waitStatus("www", f.addrs(all...), converge)
				in = append(in, time.Since(started))
			}
			b.ReportMetric(float64(percentile(out, 50).Milliseconds()), "death-p50-ms")
			b.ReportMetric(float64(percentile(in, 50).Milliseconds()), "start-p50-ms")
		})
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t\n", provider, leaseDuration, len(out),
			ms(percentile(out, 50)), ms(percentile(out, 99)), ms(percentile(in, 50)), ms(percentile(in, 99)))
	}
	tw.Flush()
}

// percentile is the nearest-rank percentile p of ds.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	rank := (p*len(s) + 99) / 100
	return s[max(rank, 1)-1]
}

func ms(d time.Duration) string { return d.Round(time.Millisecond).String() }
