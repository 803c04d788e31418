package clip

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValue(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"short", "abc", "abc"},
		{"exactly Max", strings.Repeat("a", Max), strings.Repeat("a", Max)},
		{"one more", strings.Repeat("a", Max+1), strings.Repeat("a", Max) + "…(1 more bytes)"},
		{"500 KB", strings.Repeat("x", 500<<10), strings.Repeat("x", Max) + "…(511744 more bytes)"},
		// "é" is 2 bytes: byte Max would split the one that starts at Max-1.
		{"no half rune", strings.Repeat("a", Max-1) + strings.Repeat("é", 10), strings.Repeat("a", Max-1) + "…(20 more bytes)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Value(tc.in)
			if got != tc.want {
				t.Errorf("Value(%d bytes) = %q, want %q", len(tc.in), got, tc.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("Value(%d bytes) is not valid UTF-8", len(tc.in))
			}
		})
	}
}
