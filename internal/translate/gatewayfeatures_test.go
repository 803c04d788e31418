package translate

import (
	"strings"
	"testing"
	"time"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/pkg/lbconfig"
)

func TestParseGatewayDuration(t *testing.T) {
	for s, want := range map[string]time.Duration{
		"0s":                       0,
		"0ms":                      0,
		"00000h":                   0,
		"500ms":                    500 * time.Millisecond,
		"1h30m30s500ms":            time.Hour + 30*time.Minute + 30*time.Second + 500*time.Millisecond,
		"1s1s":                     2 * time.Second, // parts add up, as time.ParseDuration reads them
		"500ms1h":                  time.Hour + 500*time.Millisecond,
		"01h":                      time.Hour, // decimal, never octal
		"00060m":                   time.Hour,
		"99999h99999h99999h99999h": 4 * 99999 * time.Hour,
	} {
		got, err := parseGatewayDuration(s)
		if err != nil || got != want {
			t.Errorf("%q: got %v, %v; want %v", s, got, err, want)
		}
		if std, err := time.ParseDuration(s); err != nil || std != got {
			t.Errorf("%q: time.ParseDuration reads %v, %v", s, std, err)
		}
	}
	for _, s := range []string{
		"", "s", "1", "-1s", "+1s", "1.5s", ".5s", "1e3s", "100000s", "1h1m1s1ms1ms",
		"1us", "1µs", "1ns", "1d", "1H", "1S", "1 s", " 1s", "1s ", "1s\n", "1s\x00", "１s",
		"1m\r\nX-Injected: 1", "1hh", "ms", "1mss", "1sm", strings.Repeat("1s", 1<<20), strings.Repeat("9", 1<<20) + "s",
	} {
		if got, err := parseGatewayDuration(s); err == nil {
			t.Errorf("%.40q: got %v, want an error", s, got)
		} else if len(err.Error()) > 400 {
			t.Errorf("%.40q: the error is %d bytes long", s, len(err.Error()))
		}
	}
}

func TestMirrorShare(t *testing.T) {
	i32 := func(v int32) *int32 { return &v }
	for name, c := range map[string]struct {
		m    gatewayv1.HTTPRequestMirrorFilter
		want lbconfig.Mirror
		ok   bool
	}{
		"neither is every request":     {gatewayv1.HTTPRequestMirrorFilter{}, lbconfig.Mirror{}, true},
		"percent":                      {gatewayv1.HTTPRequestMirrorFilter{Percent: i32(25)}, lbconfig.Mirror{Numerator: 25, Denominator: 100}, true},
		"percent 0 copies none":        {gatewayv1.HTTPRequestMirrorFilter{Percent: i32(0)}, lbconfig.Mirror{Numerator: 0, Denominator: 100}, true},
		"percent 100 is every request": {gatewayv1.HTTPRequestMirrorFilter{Percent: i32(100)}, lbconfig.Mirror{}, true},
		"fraction's denominator 100":   {gatewayv1.HTTPRequestMirrorFilter{Fraction: &gatewayv1.Fraction{Numerator: 3}}, lbconfig.Mirror{Numerator: 3, Denominator: 100}, true},
		"fraction":                     {gatewayv1.HTTPRequestMirrorFilter{Fraction: &gatewayv1.Fraction{Numerator: 1, Denominator: i32(3)}}, lbconfig.Mirror{Numerator: 1, Denominator: 3}, true},
		"whole fraction":               {gatewayv1.HTTPRequestMirrorFilter{Fraction: &gatewayv1.Fraction{Numerator: 7, Denominator: i32(7)}}, lbconfig.Mirror{}, true},
		"huge fraction reducible":      {gatewayv1.HTTPRequestMirrorFilter{Fraction: &gatewayv1.Fraction{Numerator: 1000, Denominator: i32(1_000_000_000)}}, lbconfig.Mirror{Numerator: 1, Denominator: 1_000_000}, true},
		"huge fraction irreducible":    {gatewayv1.HTTPRequestMirrorFilter{Fraction: &gatewayv1.Fraction{Numerator: 1, Denominator: i32(1<<31 - 1)}}, lbconfig.Mirror{}, false},
		"both":                         {gatewayv1.HTTPRequestMirrorFilter{Percent: i32(1), Fraction: &gatewayv1.Fraction{Numerator: 1}}, lbconfig.Mirror{}, false},
		"percent over 100":             {gatewayv1.HTTPRequestMirrorFilter{Percent: i32(101)}, lbconfig.Mirror{}, false},
		"negative percent":             {gatewayv1.HTTPRequestMirrorFilter{Percent: i32(-1)}, lbconfig.Mirror{}, false},
		"fraction over 1":              {gatewayv1.HTTPRequestMirrorFilter{Fraction: &gatewayv1.Fraction{Numerator: 3, Denominator: i32(2)}}, lbconfig.Mirror{}, false},
		"negative numerator":           {gatewayv1.HTTPRequestMirrorFilter{Fraction: &gatewayv1.Fraction{Numerator: -1, Denominator: i32(2)}}, lbconfig.Mirror{}, false},
		"zero denominator":             {gatewayv1.HTTPRequestMirrorFilter{Fraction: &gatewayv1.Fraction{Numerator: 0, Denominator: i32(0)}}, lbconfig.Mirror{}, false},
		"negative denominator":         {gatewayv1.HTTPRequestMirrorFilter{Fraction: &gatewayv1.Fraction{Numerator: -2, Denominator: i32(-1)}}, lbconfig.Mirror{}, false},
	} {
		got, err := mirrorShare(&c.m)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("%s: got %+v, %v; want %+v (ok %v)", name, got, err, c.want, c.ok)
		}
	}
}
