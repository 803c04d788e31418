package haproxy

import (
	_ "embed"
	"fmt"
	"net/netip"
	"reflect"
	"strconv"
	"strings"

	"ingress-controller/pkg/lbconfig"
)

// External authentication (lbconfig.ExternalAuth) is a Lua action,
// extauth.lua, that sends the subrequest on a socket of HAProxy's own and
// sets txn vars; rules after it answer 401, 403, the sign-in redirect or
// 500 from them. A route's map value carries its rule after "@". The
// action comes after basic authentication and before the header changes
// and the rewrite, as on the builtin.
//
// HAProxy's Lua sockets connect to IP addresses only and do not verify
// certificates, so an auth URL that names its host, unless a backend
// gives its endpoints (authservice.go), or is https, is rejected (the
// engine then leaves just its Ingress out).

// extAuthLua is the file of the action and its rules.
const extAuthLua = "ext-auth.lua"

//go:embed extauth.lua
var extAuthSource string

// extAuthRules numbers the distinct external authentications of the
// config, in the order routes first use them.
type extAuthRules struct {
	rules []extAuthRule
}

type extAuthRule struct {
	id string
	a  lbconfig.ExternalAuth
}

// add returns the id of a's rule, or why HAProxy cannot do it.
func (rs *extAuthRules) add(a *lbconfig.ExternalAuth) (string, error) {
	if err := checkExtAuth(a); err != nil {
		return "", err
	}
	for _, r := range rs.rules {
		if reflect.DeepEqual(r.a, *a) {
			return r.id, nil
		}
	}
	id := "x" + strconv.Itoa(len(rs.rules))
	rs.rules = append(rs.rules, extAuthRule{id: id, a: *a})
	return id, nil
}

// checkExtAuth says why HAProxy cannot do a, if it cannot.
func checkExtAuth(a *lbconfig.ExternalAuth) error {
	if err := lbconfig.CheckExternalAuthURL(a.URL); err != nil {
		return fmt.Errorf("externalAuth.url: %w", err)
	}
	https, _, host, _, _, err := lbconfig.AuthURLParts(a.URL)
	switch {
	case err != nil:
		return fmt.Errorf("externalAuth.url: %w", err)
	case https:
		return fmt.Errorf("externalAuth.url: HAProxy's Lua sockets cannot verify an https auth server's certificate; use http to an address inside the cluster, or the builtin provider")
	case a.Backend != nil:
		return nil // its endpoints are addresses (authservice.go)
	}
	if addr, err := netip.ParseAddr(host); err != nil || addr.Zone() != "" {
		return fmt.Errorf("externalAuth.url: HAProxy's Lua sockets connect to IP addresses only, and %q is a name; use the auth server's IP address, or the builtin provider", host)
	}
	return nil
}

// hasExtAuth reports whether a route of cfg asks for external
// authentication, which needs the Lua file loaded.
func hasExtAuth(cfg *lbconfig.Config) bool {
	for _, lb := range cfg.LoadBalancers {
		for _, l := range lb.Listeners {
			for _, vh := range l.VirtualHosts {
				for _, rt := range vh.Routes {
					if rt.ExternalAuth != nil {
						return true
					}
				}
			}
		}
	}
	return false
}

// splitLines take the rule id off the routes' map value into
// txn.extauth; they come right after the rewrite's, whose id rides last.
func (rs *extAuthRules) splitLines(w *lines, used []string) {
	if len(used) == 0 {
		return
	}
	w.line("    http-request set-var(txn.extauth) var(txn.backend),field(2,@) if { var(txn.backend) -m sub @ }")
	w.line("    http-request set-var(txn.backend) var(txn.backend),field(1,@) if { var(txn.extauth) -m found }")
}

// checkLines run the action of each rule the listener uses and answer
// what it found; anything but allow, an error of the action too, is 500.
func (rs *extAuthRules) checkLines(w *lines, used []string, scheme string, port int32) {
	if len(used) == 0 {
		return
	}
	for _, id := range used {
		w.line("    http-request lua.ext_auth " + id + " " + scheme + " " + strconv.Itoa(int(port)) + " if { var(txn.extauth) -m str " + id + " }")
	}
	const text = ` content-type "text/plain; charset=utf-8" string `
	w.line(`    http-request return status 401` + text + `"401 unauthorized" hdr WWW-Authenticate "%[var(txn.extauth_www)]" if { var(txn.extauth_result) -m str 401 } { var(txn.extauth_www) -m found }`)
	w.line(`    http-request return status 401` + text + `"401 unauthorized" if { var(txn.extauth_result) -m str 401 }`)
	w.line(`    http-request redirect location "%[var(txn.extauth_location)]" code 302 if { var(txn.extauth_result) -m str signin }`)
	w.line(`    http-request return status 403` + text + `"403 forbidden" if { var(txn.extauth_result) -m str 403 }`)
	w.line(`    http-request return status 500` + text + `"` + authFailedBody + `" if { var(txn.extauth) -m found } !{ var(txn.extauth_result) -m str allow }`)
	// The auth server's cookies, on the backend's responses and the
	// load balancer's own alike.
	statuses := make([]string, len(lbconfig.SetCookieStatuses))
	for i, s := range lbconfig.SetCookieStatuses {
		statuses[i] = strconv.Itoa(s)
	}
	for i := range lbconfig.MaxAuthCookies {
		v := "txn.extauth_cookie" + strconv.Itoa(i)
		w.line(`    http-after-response add-header Set-Cookie "%[var(` + v + `)]" if { var(` + v + `) -m found } { status ` + strings.Join(statuses, " ") + ` } || { var(` + v + `) -m found } { var(txn.extauth_always) -m found }`)
	}
}

// authFailedBody answers a request whose check failed, as the builtin's.
const authFailedBody = "500 internal server error: the authentication service failed"

// lua is the Lua file: the rules as a table, then the action.
func (rs *extAuthRules) lua() []byte {
	var b strings.Builder
	b.WriteString("-- Generated by ingress-controller; do not edit.\n")
	b.WriteString("ext_auth_rules = {\n")
	for _, r := range rs.rules {
		a := r.a
		_, hostHeader, host, port, target, _ := lbconfig.AuthURLParts(a.URL)
		sep := "?"
		if strings.Contains(a.SigninURL, "?") {
			sep = "&"
			if strings.HasSuffix(a.SigninURL, "?") || strings.HasSuffix(a.SigninURL, "&") {
				sep = ""
			}
		}
		b.WriteString("    [" + luaString(r.id) + "] = {\n")
		field := func(name, v string) { b.WriteString("        " + name + " = " + luaString(v) + ",\n") }
		field("url", a.URL)
		field("method", a.EffectiveMethod())
		field("host", hostHeader)
		field("addr", host)
		b.WriteString("        port = " + strconv.Itoa(port) + ",\n")
		if a.Backend != nil {
			field("backend", BackendID(a.Backend.Name)) // authservice.go
		}
		field("target", target)
		field("signin", a.SigninURL)
		field("param", a.EffectiveRedirectParam())
		field("sep", sep)
		b.WriteString("        add_param = " + strconv.FormatBool(a.SigninURL != "" && !a.SigninHasParam()) + ",\n")
		b.WriteString("        expand = " + strconv.FormatBool(strings.Contains(a.SigninURL, "$")) + ",\n")
		b.WriteString("        always_set_cookie = " + strconv.FormatBool(a.AlwaysSetCookie) + ",\n")
		field("request_redirect", a.RequestRedirect)
		b.WriteString("        timeout = " + strconv.FormatFloat(a.EffectiveTimeout().Seconds(), 'f', 3, 64) + ",\n")
		b.WriteString("        copy = {")
		for i, h := range a.ResponseHeaders {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(luaString(h))
		}
		b.WriteString("},\n    },\n")
	}
	b.WriteString("}\n\n")
	b.WriteString(extAuthSource)
	return []byte(b.String())
}
