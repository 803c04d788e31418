package translate

import (
	"slices"
	"strings"
	"testing"
)

func TestParseErrorStatuses(t *testing.T) {
	for in, want := range map[string][]int32{
		"503":                                {503},
		" 503 , 404,503,599 ":                {404, 503, 599},
		"400":                                {400},
		"":                                   nil,
		"399":                                nil,
		"600":                                nil,
		"503,":                               nil,
		"+503":                               nil,
		"0503":                               nil,
		"5e2":                                nil,
		"503;404":                            nil,
		"503\n404":                           nil,
		"９９９":                                nil,
		"4294967799":                         nil,
		strings.Repeat("503,", 100000) + "x": nil,
	} {
		got, err := parseErrorStatuses(in)
		if (err != nil) != (want == nil) || !slices.Equal(got, want) {
			t.Errorf("parseErrorStatuses(%.40q) = %v, %v; want %v", in, got, err, want)
		}
		if err != nil && len(err.Error()) > 500 {
			t.Errorf("parseErrorStatuses(%.40q): the error is %d bytes long", in, len(err.Error()))
		}
	}
}

func TestParseServiceRef(t *testing.T) {
	for _, tc := range []struct {
		in, name, portName string
		number             int32
		ok                 bool
	}{
		{"errors", "errors", "", 0, true},
		{" errors ", "errors", "", 0, true},
		{"errors:8080", "errors", "", 8080, true},
		{"errors:http", "errors", "http", 0, true},
		{"errors:0", "", "", 0, false},
		{"errors:65536", "", "", 0, false},
		{"errors:-1", "", "", 0, false},
		{"ns/errors", "", "", 0, false},
		{"Errors", "", "", 0, false},
		{"errors:http:80", "", "", 0, false},
		{"errors:a-very-long-port-name", "", "", 0, false},
		{"errors\r\nX: y", "", "", 0, false},
		{"", "", "", 0, false},
		{":80", "", "", 0, false},
	} {
		name, port, err := parseServiceRef(tc.in)
		if (err == nil) != tc.ok || name != tc.name || port.Name != tc.portName || port.Number != tc.number {
			t.Errorf("parseServiceRef(%q) = %q, %+v, %v; want %q, %q/%d, ok %v", tc.in, name, port, err, tc.name, tc.portName, tc.number, tc.ok)
		}
	}
}
