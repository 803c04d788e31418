package builtin

import (
	"net/http"
	"strconv"
	"strings"

	"ingress-controller/pkg/lbconfig"
)

// redirectTo is a compiled lbconfig.Redirect: the Location is url, or
// base, the request path as path says, and the query.
type redirectTo struct {
	status int
	url    string
	base   string
	path   *lbconfig.RedirectPath
	// prefix is the route's path that ReplacePrefixMatch replaces.
	prefix string
}

// compileRedirectTo compiles rd, a redirect of a route of virtual host
// vhost whose path (without its trailing "/" for a Prefix route) is
// prefix, on listener l.
func compileRedirectTo(rd *lbconfig.Redirect, vhost, prefix string, l lbconfig.Listener) *redirectTo {
	c := &redirectTo{status: int(rd.StatusCode), url: rd.URL, prefix: prefix}
	if rd.URL == "" {
		c.base = lbconfig.RedirectBase(rd, vhost, l.Protocol, l.Port)
		if rd.Path != nil {
			p := *rd.Path
			c.path = &p
		}
	}
	return c
}

// location is the Location for a request whose normalized path is path
// and whose request target is uri.
func (rd *redirectTo) location(path, uri string) string {
	if rd.url != "" {
		return rd.url
	}
	if p := rd.path; p != nil {
		if p.Type == lbconfig.ReplaceFullPath {
			path = p.Value
		} else {
			path = lbconfig.ReplacePrefix(path, rd.prefix, p.Value)
		}
	}
	if _, query, ok := strings.Cut(uri, "?"); ok {
		return rd.base + path + "?" + query
	}
	return rd.base + path
}

// serveRedirectTo answers with rd's redirect. Not http.Redirect, which
// would clean a relative Location's path.
func serveRedirectTo(w http.ResponseWriter, r *http.Request, rd *redirectTo, path string) {
	h := w.Header()
	h.Set("Location", rd.location(path, r.RequestURI))
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(rd.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(strconv.Itoa(rd.status) + " " + http.StatusText(rd.status) + "\n"))
	}
}
