package route53

import (
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"ingress-controller/internal/dnssync"
)

// maxTXTString is the longest character-string a TXT record can hold
// (RFC 1035 §3.3).
const maxTXTString = 255

// unescapeName returns a name as Route 53 returns it with its escapes
// decoded: Route 53 writes every byte but a-z, 0-9, "-", "_" and the dots
// between labels as a backslash and three octal digits ("\052" for "*").
// An escaped "." or "\" stays escaped, as they would be in a zone file:
// decoded, they would change where the labels end.
func unescapeName(name string) string {
	if !strings.Contains(name, `\`) {
		return name
	}
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c, n, ok := octalEscape(name[i:])
		if ok && c != '.' && c != '\\' {
			b.WriteByte(c)
			i += n - 1
			continue
		}
		b.WriteByte(name[i])
	}
	return b.String()
}

// octalEscape decodes a leading \DDD of s: the byte, and the 4 bytes read.
func octalEscape(s string) (byte, int, bool) {
	if len(s) < 4 || s[0] != '\\' {
		return 0, 0, false
	}
	v := 0
	for _, d := range []byte(s[1:4]) {
		if d < '0' || d > '7' {
			return 0, 0, false
		}
		v = v*8 + int(d-'0')
	}
	if v > 0xff {
		return 0, 0, false
	}
	return byte(v), 4, true
}

// parseTXT returns the character-strings of the value of one TXT record as
// Route 53 writes it: each string in double quotes, separated by spaces,
// with \" and \\ for a quote and a backslash and, unlike a zone file
// (RFC 1035 §5.1, decimal), three octal digits for any byte: Route 53
// documents "exa\344mple.com" for "exämple.com" in Latin-1. A string
// without quotes ends at the first space.
func parseTXT(value string) ([]string, error) {
	var out []string
	s := value
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			break
		}
		quoted := s[0] == '"'
		if quoted {
			s = s[1:]
		}
		var b strings.Builder
		closed := false
	scan:
		for len(s) > 0 {
			c := s[0]
			switch {
			case c == '\\':
				if c, n, ok := octalEscape(s); ok {
					b.WriteByte(c)
					s = s[n:]
					continue
				}
				if len(s) < 2 {
					return nil, errors.New("ends in a backslash")
				}
				b.WriteByte(s[1])
				s = s[2:]
			case quoted && c == '"':
				s = s[1:]
				closed = true
				break scan
			case !quoted && (c == ' ' || c == '\t'):
				break scan
			case !quoted && c == '"':
				return nil, errors.New("a quote inside an unquoted string")
			default:
				b.WriteByte(c)
				s = s[1:]
			}
		}
		if quoted && !closed {
			return nil, errors.New("a quote is not closed")
		}
		if b.Len() > maxTXTString {
			return nil, errors.New("a string is longer than 255 bytes")
		}
		out = append(out, b.String())
	}
	if len(out) == 0 {
		return nil, errors.New("no string")
	}
	return out, nil
}

// quoteTXT returns text as the value of one TXT record, in strings of at
// most 255 bytes, each quoted, with \" and \\ and every byte that is not
// printable ASCII as three octal digits.
func quoteTXT(text string) string {
	var b strings.Builder
	for first := true; first || text != ""; first = false {
		chunk := text[:min(len(text), maxTXTString)]
		text = text[len(chunk):]
		if !first {
			b.WriteByte(' ')
		}
		b.WriteByte('"')
		for _, c := range []byte(chunk) {
			switch {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c < 0x20 || c > 0x7e:
				b.WriteByte('\\')
				b.WriteByte('0' + c>>6)
				b.WriteByte('0' + c>>3&7)
				b.WriteByte('0' + c&7)
			default:
				b.WriteByte(c)
			}
		}
		b.WriteByte('"')
	}
	return b.String()
}

// rrTypes maps Route 53's record types to their numbers.
var rrTypes = map[types.RRType]dnssync.Type{
	types.RRTypeA:     dnssync.TypeA,
	types.RRTypeNs:    2,
	types.RRTypeCname: dnssync.TypeCNAME,
	types.RRTypeSoa:   6,
	types.RRTypePtr:   12,
	types.RRTypeMx:    15,
	types.RRTypeTxt:   dnssync.TypeTXT,
	types.RRTypeAaaa:  dnssync.TypeAAAA,
	types.RRTypeSrv:   33,
	types.RRTypeNaptr: 35,
	types.RRTypeDs:    43,
	types.RRTypeSshfp: 44,
	types.RRTypeTlsa:  52,
	types.RRTypeSvcb:  64,
	types.RRTypeHttps: 65,
	types.RRTypeSpf:   99,
	types.RRTypeCaa:   257,
}

// rrType is the Route 53 type of a type the planner writes.
func rrType(t dnssync.Type) types.RRType {
	switch t {
	case dnssync.TypeA:
		return types.RRTypeA
	case dnssync.TypeAAAA:
		return types.RRTypeAaaa
	case dnssync.TypeCNAME:
		return types.RRTypeCname
	case dnssync.TypeTXT:
		return types.RRTypeTxt
	}
	return types.RRType(t.String())
}
