package lbconfig

import (
	"slices"
	"testing"
	"time"
)

func TestValidateRetry(t *testing.T) {
	const rf = "loadBalancers[0].listeners[0].virtualHosts[0].routes[0]"
	many := make([]int32, 0, MaxRetryCodes+1)
	for c := range int32(MaxRetryCodes + 1) {
		many = append(many, 400+c%200)
	}
	for name, tc := range map[string]struct {
		retry Retry
		field string
	}{
		"codes":             {Retry{Attempts: 3, Codes: []int32{500, 502, 503, 504}, Backoff: Duration(100 * time.Millisecond)}, ""},
		"failures only":     {Retry{Attempts: 1}, ""},
		"4xx":               {Retry{Attempts: 2, Codes: []int32{400, 429}}, ""},
		"most attempts":     {Retry{Attempts: MaxRetryAttempts}, ""},
		"longest backoff":   {Retry{Attempts: 1, Backoff: Duration(MaxRetryBackoff)}, ""},
		"no attempts":       {Retry{}, rf + ".retry.attempts"},
		"negative attempts": {Retry{Attempts: -1}, rf + ".retry.attempts"},
		"too many attempts": {Retry{Attempts: MaxRetryAttempts + 1}, rf + ".retry.attempts"},
		"2xx":               {Retry{Attempts: 1, Codes: []int32{200}}, rf + ".retry.codes[0]"},
		"600":               {Retry{Attempts: 1, Codes: []int32{500, 600}}, rf + ".retry.codes[1]"},
		"negative code":     {Retry{Attempts: 1, Codes: []int32{-500}}, rf + ".retry.codes[0]"},
		"unsorted":          {Retry{Attempts: 1, Codes: []int32{503, 500}}, rf + ".retry.codes[1]"},
		"duplicate":         {Retry{Attempts: 1, Codes: []int32{500, 500}}, rf + ".retry.codes[1]"},
		"too many codes":    {Retry{Attempts: 1, Codes: many}, rf + ".retry.codes"},
		"negative backoff":  {Retry{Attempts: 1, Backoff: -1}, rf + ".retry.backoff"},
		"huge backoff":      {Retry{Attempts: 1, Backoff: Duration(MaxRetryBackoff + 1)}, rf + ".retry.backoff"},
	} {
		t.Run(name, func(t *testing.T) {
			c := validConfig()
			c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].Retry = &tc.retry
			checkField(t, c, tc.field)
		})
	}
}

func TestSortRetryCodes(t *testing.T) {
	c := validConfig()
	rt := &c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0]
	rt.Retry = &Retry{Attempts: 2, Codes: []int32{504, 500, 504, 502}}
	c.Sort()
	if want := []int32{500, 502, 504}; !slices.Equal(rt.Retry.Codes, want) {
		t.Errorf("sorted codes %v, want %v", rt.Retry.Codes, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() after Sort = %v", err)
	}
	if !rt.Retry.Retries(502) || rt.Retry.Retries(503) || rt.Retry.Retries(200) {
		t.Error("Retries does not answer by Codes")
	}
}
