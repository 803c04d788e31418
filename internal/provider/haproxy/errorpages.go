package haproxy

import (
	_ "embed"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// Error pages and fallbacks (lbconfig.Route.ErrorPages and Fallback).
// A route with either carries the id of its rule in its map value after
// "*" (taken out right after the rewrite's "|", before the rest). Once
// every id is out of txn.backend, the backend the route picked and its
// rule give the route's site (txn.ic_site), and the request's target,
// Accept, Host and X-Request-ID are kept for the page (before any
// rewrite). Right before use_backend, a site whose backend has no usable
// server (nbsrv) goes to the fallback instead, with X-Code 503 and the
// other fields set. On the response, a listed status of a site with
// pages runs the Lua action ic_error_page (errorpages.lua), which asks
// a server of the error backend for the page over a socket of its own
// and answers with it and the status: HAProxy 2.6 cannot send a request
// to another backend from the config alone. HAProxy's own answers (503
// without a server, 502, 504) do not pass the http-response rules, so,
// as the builtin's, they are never replaced.

// errorPagesLua holds ic_error_page, after the sites rendered for it.
const errorPagesLua = "error-pages.lua"

//go:embed errorpages.lua
var errorPagesSource string

// errorMarker separates a route's error rule id in its map value.
const errorMarker = "*"

// errorSites collects the error rules and sites of every listener, in
// the order routes first use them; one Lua file serves them all.
type errorSites struct {
	// any is set when some route has error pages: the Lua file is
	// loaded.
	any   bool
	sites []errorSite
}

// errorSite is one route rule with one backend the route picks: what
// the page request and the fallback say and whom they go to.
type errorSite struct {
	id                 string
	pages, fallback    string // HAProxy backend ids, "" for none
	backend            string // the route's backend's id
	statuses           []int32
	fields             lbconfig.ErrorFields
	proto, port        string
	timeoutMS, retries int64
}

// errorRules are the error rules of one listener.
type errorRules struct {
	rules []errorRule
}

// errorRule is the rule of a route: its pages, fallback and source,
// with the sites of the backends it may pick.
type errorRule struct {
	id, key string
	sites   []errorSite
}

// scanErrorPages marks the backends of error pages and fallbacks as
// used by HTTP routes (so that they are rendered in mode http) and says
// whether the Lua action is needed; it runs before the global section.
func (r *renderer) scanErrorPages() {
	for _, lb := range r.cfg.LoadBalancers {
		for _, l := range lb.Listeners {
			for _, vh := range l.VirtualHosts {
				for _, rt := range vh.Routes {
					if e := rt.ErrorPages; e != nil {
						r.http[e.Backend.Name] = true
						r.errors.any = true
					}
					if fb := rt.Fallback; fb != nil {
						r.http[fb.Name] = true
					}
				}
			}
		}
	}
}

// add returns the id of rt's error rule in this listener (key names the
// listener), or "" when it has none.
func (er *errorRules) add(r *renderer, key string, l lbconfig.Listener, rt lbconfig.Route) (string, error) {
	if rt.ErrorPages == nil && rt.Fallback == nil {
		return "", nil
	}
	var base errorSite
	if e := rt.ErrorPages; e != nil {
		base.pages = r.ids[e.Backend.Name]
		if base.pages == "" {
			return "", fmt.Errorf("errorPages.backend: backend %q does not exist", e.Backend.Name)
		}
		b := r.cfg.Backend(e.Backend.Name)
		if b.Protocol != "" && b.Protocol != lbconfig.BackendHTTP {
			return "", fmt.Errorf("errorPages.backend: error pages are fetched over HTTP/1.1 in the clear, not %s", b.Protocol)
		}
		if len(e.Statuses) == 0 {
			return "", fmt.Errorf("errorPages.statuses: no status")
		}
		for i, s := range e.Statuses {
			if s < 400 || s > 599 {
				return "", fmt.Errorf("errorPages.statuses[%d]: %d is not 400 to 599", i, s)
			}
		}
		base.statuses = e.Statuses
		t := time.Duration(b.Policy.Timeouts.Connect)
		if t <= 0 {
			t = 5 * time.Second // the defaults' timeout connect
		}
		rh := time.Duration(b.Policy.Timeouts.ResponseHeader)
		if rh <= 0 {
			rh = 60 * time.Second // the defaults' timeout server
		}
		base.timeoutMS = (t + rh).Milliseconds()
		base.retries = int64(max(b.Policy.Retries, 0))
	}
	if fb := rt.Fallback; fb != nil {
		base.fallback = r.ids[fb.Name]
		if base.fallback == "" {
			return "", fmt.Errorf("fallback: backend %q does not exist", fb.Name)
		}
	}
	base.proto, base.port = "http", strconv.Itoa(int(l.Port))
	if l.Protocol == lbconfig.ProtocolHTTPS {
		base.proto = "https"
	}
	names := []string{rt.Backend.Name}
	for _, b := range rt.Backends {
		if !slices.Contains(names, b.Name) {
			names = append(names, b.Name)
		}
	}
	var sites []errorSite
	for _, name := range names {
		s := base
		s.backend = r.ids[name]
		if s.backend == "" {
			return "", fmt.Errorf("backend %q does not exist", name)
		}
		s.fields = lbconfig.ErrorFieldsOf(rt.Source, name)
		sites = append(sites, s)
	}
	k := fmt.Sprintf("%+v", sites)
	for _, rule := range er.rules {
		if rule.key == k {
			return rule.id, nil
		}
	}
	id := "e" + strconv.Itoa(len(er.rules))
	for i := range sites {
		sites[i].id = key + "_" + id + "_" + strconv.Itoa(i)
		r.errors.sites = append(r.errors.sites, sites[i])
	}
	er.rules = append(er.rules, errorRule{id: id, key: k, sites: sites})
	return id, nil
}

// splitLines take the error rule id out of txn.backend, after the
// rewrite's.
func (er *errorRules) splitLines(w *lines) {
	if len(er.rules) == 0 {
		return
	}
	w.line("    http-request set-var(txn.ic_errors) var(txn.backend),field(2," + errorMarker + ") if { var(txn.backend) -m sub " + errorMarker + " }")
	w.line("    http-request set-var(txn.backend) var(txn.backend),field(1," + errorMarker + ") if { var(txn.ic_errors) -m found }")
}

// siteLines pick the site of the request once txn.backend holds its
// backend alone, and keep what its page needs of the request as it came.
func (er *errorRules) siteLines(w *lines) {
	pages := false
	for _, rule := range er.rules {
		for _, s := range rule.sites {
			w.line("    http-request set-var(txn.ic_site) str(" + s.id + ") if { var(txn.ic_errors) -m str " + rule.id + " } { var(txn.backend) -m str " + s.backend + " }")
			pages = pages || s.pages != ""
		}
	}
	if !pages {
		return
	}
	// The target as routed: normalized (pathRules), not rewritten.
	const cond = " if { var(txn.ic_site) -m found }"
	w.line("    http-request set-var(txn.ic_uri) pathq" + cond)
	w.line("    http-request set-var(txn.ic_host) req.fhdr(host)" + cond)
	w.line("    http-request set-var(txn.ic_accept) req.fhdr(accept)" + cond + " { req.fhdr(accept) -m found }")
	w.line("    http-request set-var(txn.ic_rid) req.fhdr(x-request-id)" + cond + " { req.fhdr(x-request-id) -m found }")
	// A request that switches protocols gets no page (hopByHop left
	// its Upgrade field only to those).
	w.line("    http-request set-var(txn.ic_upgrade) bool(true)" + cond + " { req.hdr(upgrade) -m found }")
}

// fallbackLines send a site's requests to its fallback when the backend
// has no usable server, told why; they run last, before use_backend.
func (er *errorRules) fallbackLines(w *lines) {
	for _, rule := range er.rules {
		for _, s := range rule.sites {
			if s.fallback == "" {
				continue
			}
			w.line("    http-request set-var(txn.ic_fallback) str(" + s.id + ") if { var(txn.ic_site) -m str " + s.id + " } { nbsrv(" + s.backend + ") eq 0 }")
			cond := " if { var(txn.ic_fallback) -m str " + s.id + " }"
			w.line("    http-request set-header X-Code 503" + cond)
			w.line("    http-request del-header X-Format" + cond)
			w.line("    http-request set-header X-Format %[req.fhdr(accept)]" + cond + " { req.fhdr(accept) -m found }")
			w.line("    http-request set-header X-Request-ID %[uuid,regsub(-,,g)]" + cond + " !{ req.fhdr(x-request-id) -m found }")
			for _, name := range []string{lbconfig.FieldNamespace, lbconfig.FieldIngress, lbconfig.FieldService, lbconfig.FieldServicePort} {
				w.line("    http-request del-header " + name + cond)
			}
			s.fields.Each(func(name, value string) {
				w.line("    http-request set-header " + name + " " + logFormat(value) + cond)
			})
			w.line("    http-request set-var(txn.backend) str(" + s.fallback + ")" + cond)
		}
	}
}

// responseLines run the Lua action on the listed statuses of a site's
// backend (never of its fallback).
func (er *errorRules) responseLines(w *lines) {
	for _, rule := range er.rules {
		for _, s := range rule.sites {
			if s.pages == "" {
				continue
			}
			w.line("    http-response lua.ic_error_page if { var(txn.ic_site) -m str " + s.id + " } !{ var(txn.ic_fallback) -m found } !{ var(txn.ic_upgrade) -m found } { status " + statusRanges(s.statuses) + " }")
		}
	}
}

// statusRanges writes sorted statuses as HAProxy integer patterns,
// runs as ranges: "404 500:599".
func statusRanges(ss []int32) string {
	var parts []string
	for i := 0; i < len(ss); {
		j := i
		for j+1 < len(ss) && ss[j+1] == ss[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, strconv.Itoa(int(ss[i]))+":"+strconv.Itoa(int(ss[j])))
		} else {
			parts = append(parts, strconv.Itoa(int(ss[i])))
		}
		i = j + 1
	}
	return strings.Join(parts, " ")
}

// luaFile renders the sites before the action's code.
func (es *errorSites) luaFile() []byte {
	var b strings.Builder
	b.WriteString("-- Generated by ingress-controller; do not edit.\n")
	b.WriteString("local ic_sites = {\n")
	for _, s := range es.sites {
		if s.pages == "" {
			continue
		}
		b.WriteString("    [" + luaString(s.id) + "] = {\n")
		b.WriteString("        backend = " + luaString(s.pages) + ",\n")
		b.WriteString("        proto = " + luaString(s.proto) + ", port = " + luaString(s.port) + ",\n")
		b.WriteString("        timeout = " + strconv.FormatInt(s.timeoutMS, 10) + ", retries = " + strconv.FormatInt(s.retries, 10) + ",\n")
		b.WriteString("        max = " + strconv.Itoa(lbconfig.MaxErrorPageBytes) + ",\n")
		b.WriteString("        fields = {")
		s.fields.Each(func(name, value string) {
			b.WriteString(" { " + luaString(name) + ", " + luaString(value) + " },")
		})
		b.WriteString(" },\n")
		b.WriteString("        plain = {")
		for _, st := range s.statuses {
			b.WriteString(" [" + strconv.Itoa(int(st)) + "] = " + luaString(lbconfig.PlainErrorBody(int(st))) + ",")
		}
		b.WriteString(" },\n")
		b.WriteString("    },\n")
	}
	b.WriteString("}\n\n")
	b.WriteString(errorPagesSource)
	return []byte(b.String())
}
