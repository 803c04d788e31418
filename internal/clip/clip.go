// Package clip bounds the values that users and clients control (annotation
// values, hosts, paths) before they go into a log line, an error or a
// Kubernetes Event, so that a 500 KB annotation or a 1 MB request path does
// not become a 500 KB log line, repeated on every reconcile.
package clip

import (
	"strconv"
	"unicode/utf8"
)

// Max is how many bytes of a value Value keeps.
const Max = 256

// Value returns s if it is at most Max bytes long, else its first Max bytes
// (never half a UTF-8 sequence) followed by "…(N more bytes)".
func Value(s string) string {
	if len(s) <= Max {
		return s
	}
	cut := Max
	for cut > Max-utf8.UTFMax && cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…(" + strconv.Itoa(len(s)-cut) + " more bytes)"
}
