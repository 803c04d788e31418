package haproxy

import (
	"fmt"
	"strings"
)

// luaString quotes s for the Lua sources the provider writes (the error
// pages' and external authentication's rule tables): printable ASCII as it
// is but for the quote and the backslash, every other byte as a decimal
// escape, so that no value can end the string or the line.
func luaString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= ' ' && c <= '~' && c != '"' && c != '\\' {
			b.WriteByte(c)
			continue
		}
		b.WriteString(fmt.Sprintf("\\%03d", c))
	}
	b.WriteByte('"')
	return b.String()
}
