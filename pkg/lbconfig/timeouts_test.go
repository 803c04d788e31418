package lbconfig

import (
	"errors"
	"testing"
	"time"
)

func TestValidateRouteTimeouts(t *testing.T) {
	const rf = "loadBalancers[0].listeners[0].virtualHosts[0].routes[0].timeouts"
	d := func(s string) Duration {
		v, err := time.ParseDuration(s)
		if err != nil {
			t.Fatal(err)
		}
		return Duration(v)
	}
	for name, tc := range map[string]struct {
		t     RouteTimeouts
		field string
		bound time.Duration
	}{
		"request":             {RouteTimeouts{Request: d("500ms")}, "", 500 * time.Millisecond},
		"backend":             {RouteTimeouts{BackendRequest: d("2s")}, "", 2 * time.Second},
		"both":                {RouteTimeouts{Request: d("10s"), BackendRequest: d("2s")}, "", 2 * time.Second},
		"equal":               {RouteTimeouts{Request: d("2s"), BackendRequest: d("2s")}, "", 2 * time.Second},
		"none":                {RouteTimeouts{}, rf, 0},
		"negative":            {RouteTimeouts{Request: -1}, rf + ".request", 0},
		"sub-millisecond":     {RouteTimeouts{BackendRequest: d("10us")}, rf + ".backendRequest", 0},
		"huge":                {RouteTimeouts{Request: d("25h")}, rf + ".request", 0},
		"backend above req":   {RouteTimeouts{Request: d("1s"), BackendRequest: d("2s")}, rf + ".backendRequest", 0},
		"backend, no request": {RouteTimeouts{BackendRequest: d("24h")}, "", 24 * time.Hour},
	} {
		t.Run(name, func(t *testing.T) {
			c := validConfig()
			to := tc.t
			c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].Timeouts = &to
			err := c.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				if got := to.Bound(); got != tc.bound {
					t.Errorf("Bound() = %v, want %v", got, tc.bound)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Errorf("Validate() = %v, want an error on %q", err, tc.field)
			}
		})
	}
	if (*RouteTimeouts)(nil).Bound() != 0 {
		t.Error("a nil RouteTimeouts has a bound")
	}
}
