package migrate

import (
	"strings"
	"testing"
)

// TestRateLimitStatusKeys: the status codes of ingress-nginx's rate
// limits have an equivalent per Ingress now and protect nothing, while
// its global rate limit (memcached) has none and is flagged.
func TestRateLimitStatusKeys(t *testing.T) {
	for _, key := range []string{"limit-req-status-code", "limit-conn-status-code"} {
		ours, protection := equivalent(key, "429")
		if protection || !strings.Contains(ours, "ingress-controller.io/limit-status-code") {
			t.Errorf("equivalent(%q) = %q, %v; want ingress-controller.io/limit-status-code, no protection", key, ours, protection)
		}
	}
	if ours, protection := equivalent("global-rate-limit-memcached-host", "memcached:11211"); !protection || ours != "no equivalent" {
		t.Errorf("equivalent(global-rate-limit-memcached-host) = %q, %v; want no equivalent, a protection", ours, protection)
	}
}
