package haproxy

import (
	"strings"
	"testing"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// retryConfig has routes with retries to one backend: two with the same
// retry (one variant), one with other codes and a request timeout (no
// retry on the response timeout), and a route without (the backend's own).
func retryConfig() *lbconfig.Config {
	retried := func(path string, rt lbconfig.Retry, t *lbconfig.RouteTimeouts) lbconfig.Route {
		return lbconfig.Route{Path: path, Match: lbconfig.MatchPrefix, Backend: ref("shop/web:80"), Source: ing("shop"), Retry: &rt, Timeouts: t}
	}
	return &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{
			Name: "default",
			Listeners: []lbconfig.Listener{{
				Port: 80, Protocol: lbconfig.ProtocolHTTP,
				VirtualHosts: []lbconfig.VirtualHost{{Hostname: "shop.example.com", Routes: []lbconfig.Route{
					retried("/a", lbconfig.Retry{Attempts: 3, Codes: []int32{500}}, nil),
					retried("/b", lbconfig.Retry{Attempts: 3, Codes: []int32{500}}, nil),
					retried("/c", lbconfig.Retry{Attempts: 2, Codes: []int32{500, 502, 503, 504}}, &lbconfig.RouteTimeouts{Request: lbconfig.Duration(5 * time.Second)}),
					retried("/failures", lbconfig.Retry{Attempts: 1}, nil),
					{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("shop/web:80"), Source: ing("shop")},
				}}},
			}},
		}},
		Backends: []lbconfig.Backend{{Name: "shop/web:80", Policy: lbconfig.Policy{Retries: 2}, Endpoints: []lbconfig.Endpoint{
			{Address: "10.0.0.1", Port: 8080, Ready: true, Serving: true},
			{Address: "10.0.0.2", Port: 8080, Ready: true, Serving: true},
		}}},
	}
}

// TestRenderRefusesRetries: what HAProxy 2.6 cannot retry on is refused
// by name, not served another way.
func TestRenderRefusesRetries(t *testing.T) {
	for name, tc := range map[string]struct {
		mutate func(*lbconfig.Config, *lbconfig.Route)
		want   string
	}{
		"429":     {func(_ *lbconfig.Config, r *lbconfig.Route) { r.Retry.Codes = []int32{429} }, "retry.codes[0]: HAProxy 2.6 retries only on statuses 401, 403, 404, 408, 425, 500, 501, 502, 503, 504, not 429"},
		"505":     {func(_ *lbconfig.Config, r *lbconfig.Route) { r.Retry.Codes = []int32{500, 505} }, "retry.codes[1]"},
		"backoff": {func(_ *lbconfig.Config, r *lbconfig.Route) { r.Retry.Backoff = lbconfig.Duration(time.Second) }, "retry.backoff: HAProxy 2.6 does not wait between retries"},
		"split": {func(c *lbconfig.Config, r *lbconfig.Route) {
			c.Backends = append(c.Backends, lbconfig.Backend{Name: "shop/web:81"})
			r.Backends = []lbconfig.WeightedBackend{{Name: "shop/web:80", Weight: 1}, {Name: "shop/web:81", Weight: 1}}
		}, "split over several backends"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := retryConfig()
			tc.mutate(cfg, &cfg.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0])
			_, err := RenderConfig(cfg, goldenOptions(t))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("RenderConfig() = %v, want an error with %q", err, tc.want)
			}
		})
	}
}
