package nettest

import (
	"fmt"
	"strings"
)

// HeadOfSize is a GET request head for host of exactly n bytes, counted as
// the providers' header limit counts them (the request line, "Name: value"
// CRLF per field, the blank line), padded out with fields fields of equal
// size. It fails when n is too small to hold them.
func HeadOfSize(host string, n, fields int) (string, error) {
	start := "GET / HTTP/1.1\r\nHost: " + host + "\r\n"
	pad := n - len(start) - len("\r\n")
	per := pad / fields
	if fields < 1 || per < len("X-Pad-00: \r\n")+1 {
		return "", fmt.Errorf("a head of %d bytes cannot hold %d fields", n, fields)
	}
	var b strings.Builder
	b.WriteString(start)
	for i := range fields {
		size := per
		if i == fields-1 {
			size = pad - per*(fields-1)
		}
		name := fmt.Sprintf("X-Pad-%02d", i)
		b.WriteString(name + ": " + strings.Repeat("a", size-len(name)-4) + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String(), nil
}
