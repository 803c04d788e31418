package builtin

import "bufio"

// badHostBody answers a redirect that reflects the request's host when
// the Host header is not one a Location may carry
// (lbconfig.LocationHost), as HAProxy's rules do.
const badHostBody = "400 bad request: the Host header cannot be reflected in a redirect"

// writeLower writes s with ASCII letters in lower case, without
// allocating.
func writeLower(bw *bufio.Writer, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		bw.WriteByte(c)
	}
}
