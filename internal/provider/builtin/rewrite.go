package builtin

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"ingress-controller/pkg/lbconfig"
)

// compileMatch sets r's matcher from rt's match type and r's rewrite
// from rt's; false means a match type this provider does not know.
func (r *route) compileMatch(rt *lbconfig.Route) (bool, error) {
	switch rt.Match {
	case lbconfig.MatchExact:
	case lbconfig.MatchPrefix:
		r.prefix = true
		r.path = strings.TrimRight(r.path, "/")
	case lbconfig.MatchRegex:
		re, err := lbconfig.CompileRegex(rt.Path)
		if err != nil {
			return true, err
		}
		r.re = re
	default:
		return false, nil
	}
	if rw := rt.Rewrite; rw != nil {
		groups := 0
		if r.re != nil {
			groups = r.re.NumSubexp()
		}
		if err := lbconfig.CheckRewrite(rw, groups); err != nil {
			return true, err
		}
		if rw.ReplacesPrefix() && !r.prefix {
			return true, fmt.Errorf("rewrite: only Prefix routes replace a prefix")
		}
		r.rewrite = &lbconfig.Rewrite{Type: rw.Type, Path: rw.Path}
	}
	return true, nil
}

// rewritePath returns the path the backend gets for a request whose
// normalized path p chose r, normalized again: a group that cut a
// percent-encoding in two can make one that NormalizePath refuses, and
// that is an error.
func (r *route) rewritePath(p string) (string, error) {
	if r.rewrite.ReplacesPrefix() {
		return lbconfig.NormalizePath(lbconfig.RewritePrefix(p, r.path, r.rewrite.Path))
	}
	var m []int
	if r.re != nil {
		m = r.re.FindStringSubmatchIndex(p)
	}
	return lbconfig.NormalizePath(string(lbconfig.ExpandRewrite(nil, r.rewrite, p, m)))
}

// rewriteTarget gives req, routed on its normalized path p to r, the
// path of r's rewrite, keeping its query. It sets RequestURI, which the
// HTTP/1.1 path sends on as it is, and URL, which the reverse proxy of the
// other backend protocols sends, as normalizeTarget does.
func rewriteTarget(req *http.Request, r *route, p string) error {
	np, err := r.rewritePath(p)
	if err != nil {
		return err
	}
	u, err := url.ParseRequestURI(np)
	if err != nil {
		return err
	}
	query := ""
	if i := strings.IndexByte(req.RequestURI, '?'); i >= 0 {
		query = req.RequestURI[i:]
	}
	req.URL.Path, req.URL.RawPath = u.Path, u.RawPath
	req.RequestURI = np + query
	return nil
}
