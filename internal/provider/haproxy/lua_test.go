package haproxy

import (
	"regexp"
	"testing"
)

func TestLuaString(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                `"plain"`,
		`a"b\c`:                `"a\034b\092c"`,
		"line\nbreak\r\x00":    `"line\010break\013\000"`,
		"é":                    `"\195\169"`,
		"]] end os.exit()":     `"]] end os.exit()"`,
		"]]--[[ \x7f\xff é":    `"]]--[[ \127\255 \195\169"`,
		`"); os.exit(1) --`:    `"\034); os.exit(1) --"`,
		"%[src]\r\nlua-load x": `"%[src]\013\010lua-load x"`,
	} {
		if got := luaString(in); got != want {
			t.Errorf("luaString(%q) = %s, want %s", in, got, want)
		}
	}
	// Whatever goes in, only printable ASCII comes out.
	safe := regexp.MustCompile(`^"(?:[ !#-\[\]-~]|\\\d\d\d)*"$`)
	for c := 0; c < 256; c++ {
		if !safe.MatchString(luaString(string(rune(c)) + string([]byte{byte(c)}))) {
			t.Errorf("luaString of byte %d is not quoted safely", c)
		}
	}
}
