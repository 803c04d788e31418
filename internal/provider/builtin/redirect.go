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
	// host, if set, puts the request's host (requesthost.go) between
	// before and after in place of base.
	host          bool
	before, after string
	path          *lbconfig.RedirectPath
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
		if rd.ReflectsHost(vhost) {
			c.host = true
			c.before, c.after = lbconfig.RedirectAround(rd, l.Protocol, l.Port)
		}
		if rd.Path != nil {
			p := *rd.Path
			c.path = &p
		}
	}
	return c
}

// location is the Location for a request whose normalized path is path,
// whose request target is uri and whose Host is host; ok is false when
// the redirect reflects a host that a Location cannot carry.
func (rd *redirectTo) location(path, uri, host string) (loc string, ok bool) {
	base, head, rest, query, hasQuery := rd.pieces(path, uri)
	if rd.host {
		h, ok := lbconfig.LocationHost(host)
		if !ok {
			return "", false
		}
		base = rd.before + strings.ToLower(h) + rd.after
	}
	if hasQuery {
		return base + head + rest + "?" + query, true
	}
	return base + head + rest, true
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
	host, ok := "", true
	if rd.host {
		host, ok = lbconfig.LocationHost(fc.host)
	}
	if !ok {
		return fc.answerUnread(http.StatusBadRequest, badHostBody)
	}
	base, head, rest, query, hasQuery := rd.pieces(fc.path, fc.target)
	bw := fc.bw
	bw.WriteString("HTTP/1.1 ")
	bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(rd.status), 10))
	bw.WriteByte(' ')
	bw.WriteString(http.StatusText(rd.status))
	bw.WriteString("\r\nLocation: ")
	if rd.host {
		bw.WriteString(rd.before)
		writeLower(bw, host)
		bw.WriteString(rd.after)
	}
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
// It returns the status answered: 400 for a Host it cannot reflect.
func serveRedirectTo(w http.ResponseWriter, r *http.Request, rd *redirectTo, path string) int {
	loc, ok := rd.location(path, r.RequestURI, r.Host)
	if !ok {
		http.Error(w, badHostBody, http.StatusBadRequest)
		return http.StatusBadRequest
	}
	h := w.Header()
	h.Set("Location", loc)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(rd.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(strconv.Itoa(rd.status) + " " + http.StatusText(rd.status) + "\n"))
	}
	return rd.status
}
