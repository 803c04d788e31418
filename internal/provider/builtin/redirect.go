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
	base, head, rest, query, hasQuery := rd.pieces(path, uri)
	if hasQuery {
		return base + head + rest + "?" + query
	}
	return base + head + rest
}

// pieces returns the Location as pieces that follow one another, with
// "?" and query last when hasQuery, without allocating.
func (rd *redirectTo) pieces(path, uri string) (base, head, rest, query string, hasQuery bool) {
	if rd.url != "" {
		return rd.url, "", "", "", false
	}
	head = path
	if p := rd.path; p != nil {
		if p.Type == lbconfig.ReplaceFullPath {
			head = p.Value
		} else {
			head, rest = lbconfig.ReplacePrefixParts(path, rd.prefix, p.Value)
		}
	}
	_, query, hasQuery = strings.Cut(uri, "?")
	return rd.base, head, rest, query, hasQuery
}

// answerRedirect answers the request with rd's redirect on the fast path,
// writing the Location in pieces: nothing is allocated. A request with a
// body closes the connection after it, as answerUnread does.
func (fc *fastConn) answerRedirect(rd *redirectTo) (int, fastResult) {
	result := keepConn
	if fc.head.ContentLength > 0 {
		fc.head.Close = true
		result = closeConn
	}
	base, head, rest, query, hasQuery := rd.pieces(fc.path, fc.target)
	bw := fc.bw
	bw.WriteString("HTTP/1.1 ")
	bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(rd.status), 10))
	bw.WriteByte(' ')
	bw.WriteString(http.StatusText(rd.status))
	bw.WriteString("\r\nLocation: ")
	bw.WriteString(base)
	bw.WriteString(head)
	bw.WriteString(rest)
	if hasQuery {
		bw.WriteByte('?')
		bw.WriteString(query)
	}
	bw.WriteString("\r\nContent-Length: 0\r\n")
	if fc.head.Close {
		bw.WriteString("Connection: close\r\n")
	}
	bw.WriteString("\r\n")
	return rd.status, result
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
