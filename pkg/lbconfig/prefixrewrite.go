package lbconfig

import (
	"fmt"
	"strings"

	"ingress-controller/internal/clip"
)

// Prefix rewrites: Gateway API's HTTPURLRewriteFilter path of type
// ReplacePrefixMatch, a Rewrite whose Type is ReplacePrefixMatch. On a
// Prefix route, the part of the normalized request path that the route's
// Path matched (whole segments, a trailing "/" of Path ignored) is
// replaced by Rewrite.Path, which may be empty; what followed it is
// kept, without a doubled "/" where they meet, and an empty result is
// "/". With prefix "/foo":
//
//	request   Path   backend gets
//	/foo/bar  /xyz   /xyz/bar
//	/foo/bar  /xyz/  /xyz/bar
//	/foo      /xyz   /xyz
//	/foo/     /xyz   /xyz/
//	/foo/bar  ""     /bar
//	/foo/     ""     /
//	/foo      ""     /
//	/foo      /      /
//
// The query is kept as it came.

// ReplacesPrefix reports whether rw replaces the matched prefix rather
// than the whole path.
func (rw *Rewrite) ReplacesPrefix() bool { return rw.Type == ReplacePrefixMatch }

// RewritePrefix returns the path a prefix rewrite to value makes of the
// normalized request path p, which the Prefix route of prefix (its
// MatchPath without trailing "/") matched.
func RewritePrefix(p, prefix, value string) string {
	if out := ReplacePrefix(p, prefix, value); out != "" {
		return out
	}
	return "/"
}

// checkRewriteType checks a route's Rewrite.Type: a prefix rewrite is
// for Prefix routes only, and its Path may be empty.
func (v *validator) checkRewriteType(f string, route Route) {
	rw := route.Rewrite
	if rw == nil {
		return
	}
	switch rw.Type {
	case "", ReplaceFullPath:
	case ReplacePrefixMatch:
		if route.Match != MatchPrefix {
			v.add(f+".rewrite.type", "only Prefix routes replace a prefix")
		}
	default:
		v.add(f+".rewrite.type", fmt.Sprintf("%q is not ReplaceFullPath or ReplacePrefixMatch", clip.Value(string(rw.Type))))
	}
}

// checkPrefixValue checks the Path of a prefix rewrite: empty, or a
// rewrite path without groups.
func checkPrefixValue(p string) error {
	if p == "" {
		return nil
	}
	if strings.Contains(p, "$") {
		return fmt.Errorf("rewrite %q: a prefix rewrite has no groups ('$')", clip.Value(p))
	}
	return nil
}
