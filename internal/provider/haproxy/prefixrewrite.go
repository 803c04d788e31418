package haproxy

import (
	"errors"
	"strconv"
	"strings"

	"ingress-controller/pkg/lbconfig"
)

// prefixRewrite renders a prefix rewrite (lbconfig's prefixrewrite.go)
// of Prefix route rt, under the condition cond (" if ..."). The route
// matched, so the normalized path starts with the prefix: a path of the
// prefix's length (the root prefix's: 1, "/") is the prefix whole and
// becomes the value ("/" for an empty one); a longer one keeps what
// follows the prefix, bytes from its length, after the value without its
// trailing "/". Which of the two is noted in a variable first, as the
// rules change the path. No path text of a request goes into the
// config, as for redirects.
func prefixRewrite(rt lbconfig.Route, cond string) ([]string, error) {
	if rt.Match != lbconfig.MatchPrefix {
		return nil, errors.New("only Prefix routes replace a prefix")
	}
	prefix := strings.TrimRight(rt.MatchPath(), "/")
	whole := rt.Rewrite.Path
	if whole == "" {
		whole = "/"
	}
	length := "{ path,length eq " + strconv.Itoa(max(len(prefix), 1)) + " }"
	// Decided before either rule changes the path.
	return []string{
		"http-request set-var(txn.prefix_whole) bool(true)" + cond + " " + length,
		"http-request set-path " + cfgQuote(rewriteFormat(strings.TrimSuffix(rt.Rewrite.Path, "/"))+"%[path,bytes("+strconv.Itoa(len(prefix))+")]") + cond + " !{ var(txn.prefix_whole) -m found }",
		"http-request set-path " + cfgQuote(rewriteFormat(whole)) + cond + " { var(txn.prefix_whole) -m found }",
	}, nil
}
