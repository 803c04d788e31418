package lbconfig

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"

	"ingress-controller/internal/clip"
)

// Regular-expression routes and path rewrites.
//
// A MatchRegex route's Path is a pattern that must match at the start of
// the normalized request path: it matches where the regular expression
// "^" followed by Path does, as ingress-nginx's `location ~* "^<path>"`
// does. The pattern is case-sensitive; one that starts with "(?i)"
// ignores case, as the ingress-nginx layer writes it. Only a top-level
// alternation is anchored on its first branch alone ("^/a|/b" matches
// "/b" anywhere), as in nginx.
//
// Providers match with different engines: Go's RE2 (linear in the path)
// and HAProxy's PCRE2 (backtracking). CheckRegex accepts only the syntax
// both read the same way on a request path (printable ASCII), and refuses
// nested repetition such as "(a+)+", which makes PCRE2 backtrack
// exponentially; what backtracking is left is bounded by PCRE2's match
// limit.

// MaxRegexLength bounds a route pattern, in bytes.
const MaxRegexLength = 1024

// MaxRewriteLength bounds Rewrite.Path, in bytes.
const MaxRewriteLength = 1024

// Rewrite replaces the request path before the request goes to the
// backend; the query is kept as it came. Routing has chosen the route on
// the original path by then, and the backend sees only the new one.
//
// Path is the new path: Gateway API's ReplaceFullPath when it holds no
// group reference. On a MatchRegex route "$1" to "$9" in it stand for
// the groups of the route's pattern (an unmatched group is empty), as in
// ingress-nginx's rewrite-target; "$" is followed by one digit, 1 to 9,
// never anything else. Gateway API's ReplacePrefixMatch, which keeps what
// follows the matched prefix, is Type ReplacePrefixMatch.
//
// The result is normalized as requests are (NormalizePath); a result
// that NormalizePath refuses, which only a group that cuts a
// percent-encoding in two can make, is answered with 400 and reaches no
// backend. So the backend never gets a path a request could not have
// carried.
type Rewrite struct {
	// Type is ReplaceFullPath (or "", the same), or ReplacePrefixMatch,
	// which replaces only what a Prefix route matched (prefixrewrite.go).
	Type RedirectPathType `json:"type,omitempty"`
	Path string           `json:"path"`
}

// CheckRegex returns an error unless p is a route pattern every provider
// reads the same way: at most MaxRegexLength bytes of printable ASCII
// without spaces, valid in Go's RE2, without escapes or forms that PCRE2
// reads differently (octal and Unicode escapes, \Q..\E, \C, \v, "{" that
// is no repetition) and without nested repetition.
func CheckRegex(p string) error {
	if len(p) > MaxRegexLength {
		return fmt.Errorf("pattern %q is longer than %d bytes", clip.Value(p), MaxRegexLength)
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("pattern %q holds a space, control or non-ASCII character", clip.Value(p))
		}
	}
	if err := checkEscapes(p); err != nil {
		return fmt.Errorf("pattern %q: %w", clip.Value(p), err)
	}
	re, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return fmt.Errorf("pattern %q: %w", clip.Value(p), err)
	}
	if err := checkNesting(re, false); err != nil {
		return fmt.Errorf("pattern %q: %w", clip.Value(p), err)
	}
	return nil
}

// CompileRegex compiles a route pattern that CheckRegex accepts into the
// regular expression that matches at the start of a path.
func CompileRegex(p string) (*regexp.Regexp, error) {
	if err := CheckRegex(p); err != nil {
		return nil, err
	}
	return regexp.Compile("^" + p)
}

// checkEscapes refuses the escapes and braces of p that RE2 and PCRE2
// read differently, or only one of them reads.
func checkEscapes(p string) error {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			if i+1 >= len(p) {
				return errors.New(`trailing "\"`)
			}
			i++
			c := p[i]
			switch {
			case strings.IndexByte("dDsSwWbBAzftnra", c) >= 0:
			case c == 'x':
				if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) || p[i+1] > '7' {
					return errors.New(`"\x" must be followed by two hex digits of an ASCII character`)
				}
				i += 2
			case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9':
				return fmt.Errorf(`escape "\%c" is not allowed (it differs between RE2 and PCRE2)`, c)
			}
		case '{':
			if !isRepeat(p[i:]) {
				return errors.New(`a "{" that starts no repetition "{n}", "{n,}" or "{n,m}" must be written "\{"`)
			}
		}
	}
	return nil
}

// isRepeat reports whether s starts with "{n}", "{n,}" or "{n,m}".
func isRepeat(s string) bool {
	end := strings.IndexByte(s, '}')
	if end < 0 {
		return false
	}
	lo, hi, comma := strings.Cut(s[1:end], ",")
	digits := func(d string) bool {
		for i := 0; i < len(d); i++ {
			if d[i] < '0' || d[i] > '9' {
				return false
			}
		}
		return true
	}
	return lo != "" && digits(lo) && (!comma || digits(hi))
}

// checkNesting refuses a repetition inside a repetition, or an
// alternation inside one: the forms that make a backtracking engine take
// exponential time ("(a+)+", "(a|aa)*").
func checkNesting(re *syntax.Regexp, repeated bool) error {
	switch re.Op {
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		if repeated {
			return errors.New("nested repetition is not allowed (it can make PCRE2 backtrack exponentially)")
		}
		repeated = re.Op != syntax.OpQuest && !(re.Op == syntax.OpRepeat && re.Max == 1)
	case syntax.OpAlternate:
		if repeated {
			return errors.New("an alternation inside a repetition is not allowed (it can make PCRE2 backtrack exponentially)")
		}
	}
	for _, sub := range re.Sub {
		if err := checkNesting(sub, repeated); err != nil {
			return err
		}
	}
	return nil
}

// CheckRewrite returns an error unless rw can replace the path of a
// route whose pattern has groups capturing groups (0 for routes that are
// not MatchRegex): an absolute path of printable ASCII with valid
// percent-encodings, no "\", and "$" only before a group 1 to groups. A
// prefix rewrite's path may also be empty, and has no groups.
func CheckRewrite(rw *Rewrite, groups int) error {
	p := rw.Path
	if rw.ReplacesPrefix() {
		if err := checkPrefixValue(p); err != nil || p == "" {
			return err
		}
	}
	switch {
	case len(p) > MaxRewriteLength:
		return fmt.Errorf("rewrite %q is longer than %d bytes", clip.Value(p), MaxRewriteLength)
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("rewrite %q must start with '/'", clip.Value(p))
	}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c <= ' ' || c >= 0x7f || c == '\\' || c == '?' || c == '#':
			return fmt.Errorf("rewrite %q holds a space, control, non-ASCII, '\\', '?' or '#' character", clip.Value(p))
		case c == '%':
			if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
				return fmt.Errorf("rewrite %q: invalid percent-encoding at offset %d", clip.Value(p), i)
			}
			v := unhex(p[i+1])<<4 | unhex(p[i+2])
			if v == '/' || v == '\\' || v < ' ' || v == 0x7f {
				return fmt.Errorf("rewrite %q: encoded byte %%%02X is not allowed", clip.Value(p), v)
			}
		case c == '$':
			if i+1 >= len(p) || p[i+1] < '1' || p[i+1] > '9' {
				return fmt.Errorf(`rewrite %q: "$" must be followed by a group number 1 to 9`, clip.Value(p))
			}
			if n := int(p[i+1] - '0'); n > groups {
				return fmt.Errorf("rewrite %q: group $%d does not exist (the pattern has %d)", clip.Value(p), n, groups)
			}
			i++
		}
	}
	return nil
}

// ExpandRewrite appends to dst the path rw makes of the request path p,
// given the submatch indexes m of the route's pattern on p (nil for
// routes that are not MatchRegex), and returns it, not normalized yet.
func ExpandRewrite(dst []byte, rw *Rewrite, p string, m []int) []byte {
	t := rw.Path
	for {
		i := strings.IndexByte(t, '$')
		if i < 0 || i+1 >= len(t) {
			return append(dst, t...)
		}
		dst = append(dst, t[:i]...)
		if n := int(t[i+1]-'0') * 2; n+1 < len(m) && m[n] >= 0 {
			dst = append(dst, p[m[n]:m[n+1]]...)
		}
		t = t[i+2:]
	}
}
