package translate

import (
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

func TestParseLimit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int32 // -1: an error
	}{
		{"0", 0}, {"5", 5}, {" 7 ", 7}, {"1000000", 1000000},
		{"1000001", -1}, {"-1", -1}, {"+5", -1}, {"05", -1}, {"5.0", -1}, {"1e3", -1}, {"", -1},
		{"99999999999999999999", -1}, {"5\r\nX-Injected: 1", -1}, {"٥", -1},
	} {
		got, err := parseLimit(tc.in, lbconfig.MaxRateLimit)
		if tc.want < 0 {
			if err == nil {
				t.Errorf("parseLimit(%q) = %d, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseLimit(%q) = %d, %v, want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestReadRateLimitBurst(t *testing.T) {
	for _, tc := range []struct {
		rps, multiplier string
		want            int32
	}{
		{"5", "", 25},  // the default multiplier, ingress-nginx's 5
		{"5", "0", 0},  // no burst: one request at once
		{"5", "3", 15}, // rate times the multiplier
		{"1000000", "5", lbconfig.MaxRateLimit},
		{"1000000", "1000000", lbconfig.MaxRateLimit},
	} {
		ann := map[string]string{AnnotationLimitRPS: tc.rps}
		if tc.multiplier != "" {
			ann[AnnotationLimitBurstMultiplier] = tc.multiplier
		}
		rl := readRateLimit(ann, "ns/x", func(key, format string, args ...any) { t.Errorf("%s: "+format, append([]any{key}, args...)...) })
		if rl == nil || rl.PerSecond == nil || rl.PerSecond.Burst != tc.want {
			t.Errorf("rps %s multiplier %q: %+v, want a burst of %d", tc.rps, tc.multiplier, rl, tc.want)
		}
	}
}

// FuzzReadRateLimit checks that whatever the annotations hold, the rate
// limit read is one that Validate takes, and a problem names the
// annotation that caused it.
func FuzzReadRateLimit(f *testing.F) {
	f.Add("5", "100", "10", "5", "10.0.0.0/8", "429")
	f.Add("-1", "1e3", "", "five", "office", "200")
	f.Add("1000000", "1000000", "1000000", "1000000", "::ffff:1.2.3.4/120, 2001:db8::1", "599")
	f.Add("0", "0", "0", "", "", "")
	f.Fuzz(func(t *testing.T, rps, rpm, conns, multiplier, exempt, status string) {
		ann := map[string]string{}
		for key, v := range map[string]string{
			AnnotationLimitRPS: rps, AnnotationLimitRPM: rpm, AnnotationLimitConnections: conns,
			AnnotationLimitBurstMultiplier: multiplier, AnnotationLimitExemptSourceRange: exempt, AnnotationLimitStatusCode: status,
		} {
			if v != "" {
				ann[key] = v
			}
		}
		rl := readRateLimit(ann, "ns/x", func(key, format string, args ...any) {
			if _, ok := ann[key]; !ok || !strings.HasPrefix(key, AnnotationPrefix+"limit-") {
				t.Errorf("a problem on %q, which is not set", key)
			}
		})
		if rl == nil {
			return
		}
		cfg := &lbconfig.Config{
			LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{{
				Port: 80, Protocol: lbconfig.ProtocolHTTP,
				VirtualHosts: []lbconfig.VirtualHost{{Routes: []lbconfig.Route{{
					Path: "/", Match: lbconfig.MatchPrefix, Backend: lbconfig.BackendRef{Name: "b"}, RateLimit: rl,
				}}}},
			}}}},
			Backends: []lbconfig.Backend{{Name: "b"}},
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("readRateLimit(%v) = %+v, which Validate rejects: %v", ann, rl, err)
		}
	})
}
