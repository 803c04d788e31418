package translate

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"ingress-controller/internal/clip"
	"ingress-controller/pkg/lbconfig"
)

// Redirect annotations on an Ingress. A value that does not parse gets an
// InvalidAnnotation problem and only that annotation is ignored: none of
// them protects anything.
const (
	// AnnotationRedirectTo makes every route of the Ingress answer with a
	// redirect to this URL (absolute http or https, or a path), as it
	// is: the request's path and query are not added.
	AnnotationRedirectTo = AnnotationPrefix + "redirect-to"
	// AnnotationRedirectCode is the status of AnnotationRedirectTo: 301
	// (the default), 302, 303, 307 or 308.
	AnnotationRedirectCode = AnnotationPrefix + "redirect-code"
	// AnnotationAppRoot redirects a request for "/" exactly, on a route
	// of the Ingress that matches it, to this path with 302; the query
	// is not kept.
	AnnotationAppRoot = AnnotationPrefix + "app-root"
	// AnnotationFromToWWWRedirect, "true", redirects every request for
	// the other name of each host of the Ingress (www.<host> for
	// <host>, <host> for www.<host>) to the host, with 308, path and
	// query kept; unless the other name is a host of an Ingress.
	AnnotationFromToWWWRedirect = AnnotationPrefix + "from-to-www-redirect"
	// AnnotationServerAlias lists, comma-separated, more hostnames
	// served as the Ingress's first host is: its routes, those of other
	// Ingresses on it included, and its certificate. A name that is the
	// host of an Ingress, or an alias already, is left out.
	AnnotationServerAlias = AnnotationPrefix + "server-alias"
)

const (
	defaultRedirectCode = 301
	appRootCode         = 302
	// wwwRedirectCode is ingress-nginx's default http-redirect-code.
	wwwRedirectCode = 308
	// maxAliases bounds the aliases of one Ingress.
	maxAliases = 100
)

// hostRedirect is what an Ingress asks of its hosts: the other name of
// each redirected to it, or aliases served as it is. Both are resolved
// once every Ingress is known (finishHostRedirects).
type hostRedirect struct {
	ref     lbconfig.ObjectRef
	hosts   []string // the Ingress's valid exact rule hosts, in order
	www     bool
	aliases []string
}

// addRedirects reads the redirect annotations of ing, whose valid rule
// hosts are hosts, and puts the redirects on its routes.
func (b *builder) addRedirects(ing *networkingv1.Ingress, ref lbconfig.ObjectRef, hosts []string) {
	a := ing.Annotations
	if rd := b.redirectTo(a, ref); rd != nil {
		b.eachRoute(ref, hosts, func(_ *lbconfig.VirtualHost, r *lbconfig.Route) {
			r.Redirect = rd
		})
	}
	if root := b.appRoot(a, ref); root != "" {
		for _, host := range uniqueHosts(hosts) {
			b.addAppRoot(ref, host, root)
		}
	}
	hr := hostRedirect{ref: ref, www: b.boolAnnotation(a, ref, AnnotationFromToWWWRedirect), aliases: b.aliases(a, ref)}
	if !hr.www && len(hr.aliases) == 0 {
		return
	}
	for _, h := range uniqueHosts(hosts) {
		if h != "" && !strings.HasPrefix(h, "*.") {
			hr.hosts = append(hr.hosts, h)
		}
	}
	if len(hr.hosts) == 0 {
		b.problems.add(ref, "spec.rules", "InvalidAnnotation",
			"%s and %s need a rule with an exact host; ignored", AnnotationFromToWWWRedirect, AnnotationServerAlias)
		return
	}
	b.hostRedirects = append(b.hostRedirects, hr)
}

func uniqueHosts(hosts []string) []string {
	var out []string
	for _, h := range hosts {
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// eachRoute calls f on every route of ref on hosts.
func (b *builder) eachRoute(ref lbconfig.ObjectRef, hosts []string, f func(*lbconfig.VirtualHost, *lbconfig.Route)) {
	for _, host := range uniqueHosts(hosts) {
		vh := b.vhosts[host]
		if vh == nil {
			continue
		}
		for i := range vh.Routes {
			if vh.Routes[i].Source == ref {
				f(vh, &vh.Routes[i])
			}
		}
	}
}

// redirectTo reads AnnotationRedirectTo and AnnotationRedirectCode.
func (b *builder) redirectTo(a map[string]string, ref lbconfig.ObjectRef) *lbconfig.Redirect {
	code := int32(defaultRedirectCode)
	if v, ok := a[AnnotationRedirectCode]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		switch {
		case err != nil || !redirectCode(n):
			b.problems.add(ref, annotationField(AnnotationRedirectCode), "InvalidAnnotation",
				"%q is not 301, 302, 303, 307 or 308; 301 is used", v)
		default:
			code = int32(n)
		}
	}
	v, ok := a[AnnotationRedirectTo]
	if !ok {
		return nil
	}
	u := strings.TrimSpace(v)
	if err := lbconfig.CheckRedirectURL(u); err != nil {
		b.problems.add(ref, annotationField(AnnotationRedirectTo), "InvalidAnnotation",
			"%v; requests are not redirected", err)
		return nil
	}
	return &lbconfig.Redirect{URL: u, StatusCode: code}
}

func redirectCode(n int) bool {
	switch n {
	case 301, 302, 303, 307, 308:
		return true
	}
	return false
}

// appRoot reads AnnotationAppRoot: a path, with a query if need be.
func (b *builder) appRoot(a map[string]string, ref lbconfig.ObjectRef) string {
	v, ok := a[AnnotationAppRoot]
	if !ok {
		return ""
	}
	root := strings.TrimSpace(v)
	err := lbconfig.CheckRedirectURL(root)
	if err == nil && !strings.HasPrefix(root, "/") {
		err = fmt.Errorf("%q is not a path starting with \"/\"", clip.Value(root))
	}
	if err != nil {
		b.problems.add(ref, annotationField(AnnotationAppRoot), "InvalidAnnotation", "%v; requests for / are not redirected", err)
		return ""
	}
	return root
}

// addAppRoot redirects requests for "/" on host to root, where a route of
// ref matches "/": its Exact "/" route, else a new one beside its Prefix
// "/" route, unless another Ingress's Exact "/" comes first.
func (b *builder) addAppRoot(ref lbconfig.ObjectRef, host, root string) {
	vh := b.vhosts[host]
	if vh == nil {
		return
	}
	rd := &lbconfig.Redirect{URL: root, StatusCode: appRootCode}
	var base *lbconfig.Route
	for i := range vh.Routes {
		r := &vh.Routes[i]
		if r.Source != ref || r.MatchPath() != "/" {
			continue
		}
		if r.Match == lbconfig.MatchExact {
			r.Redirect = rd
			return
		}
		base = r
	}
	if base == nil {
		return
	}
	key := routeKey{host: host, match: lbconfig.MatchExact, path: "/"}
	if owner, taken := b.claims[key]; taken {
		b.problems.add(ref, annotationField(AnnotationAppRoot), "RouteConflict",
			"Exact path \"/\" on %s is already routed by %s; requests for / are not redirected", describeHost(host), owner)
		return
	}
	b.claims[key] = claim{ref: ref, field: annotationField(AnnotationAppRoot)}
	r := *base
	r.Path, r.Match, r.Redirect = "/", lbconfig.MatchExact, rd
	vh.Routes = append(vh.Routes, r)
}

// boolAnnotation reads a true or false annotation; false when unset or
// invalid.
func (b *builder) boolAnnotation(a map[string]string, ref lbconfig.ObjectRef, key string) bool {
	v, ok := a[key]
	if !ok {
		return false
	}
	on, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		b.problems.add(ref, annotationField(key), "InvalidAnnotation", "%q is not true or false; ignored", v)
		return false
	}
	return on
}

// aliases reads AnnotationServerAlias: hostnames, each once.
func (b *builder) aliases(a map[string]string, ref lbconfig.ObjectRef) []string {
	v, ok := a[AnnotationServerAlias]
	if !ok {
		return nil
	}
	var out []string
	for i, name := range strings.Split(v, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if i >= maxAliases {
			b.problems.add(ref, annotationField(AnnotationServerAlias), "InvalidAnnotation",
				"more than %d aliases; the rest are ignored", maxAliases)
			break
		}
		host, err := normalizeHost(name)
		if err != nil {
			b.problems.add(ref, annotationField(AnnotationServerAlias), "InvalidAnnotation", "%v; this alias is ignored", err)
			continue
		}
		if !slices.Contains(out, host) {
			out = append(out, host)
		}
	}
	return out
}

// finishHostRedirects adds, once every Ingress is known, the virtual
// hosts of the aliases and then of the other names, oldest Ingress
// first. A name that is already a virtual host (an Ingress's host, or an
// alias or other name before it) is left out with a problem, as
// ingress-nginx does.
func (b *builder) finishHostRedirects() {
	taken := map[string]claim{}
	aliased := map[string]claim{}
	for _, hr := range b.hostRedirects {
		field := annotationField(AnnotationServerAlias)
		if len(hr.aliases) == 0 {
			continue
		}
		host := hr.hosts[0]
		if owner, ok := aliased[host]; ok {
			b.problems.add(hr.ref, field, "AliasConflict",
				"host %q already has aliases, from %s; these are ignored", host, owner)
			continue
		}
		aliased[host] = claim{ref: hr.ref, field: field}
		for _, alias := range hr.aliases {
			if !b.free(hr.ref, field, alias, taken) {
				continue
			}
			taken[alias] = claim{ref: hr.ref, field: field}
			b.vhosts[alias] = &lbconfig.VirtualHost{Hostname: alias, Routes: slices.Clone(b.vhosts[host].Routes)}
			b.shareTLS(hr.ref, field, host, alias)
		}
	}
	for _, hr := range b.hostRedirects {
		if !hr.www {
			continue
		}
		field := annotationField(AnnotationFromToWWWRedirect)
		for _, host := range hr.hosts {
			from := "www." + host
			if rest, ok := strings.CutPrefix(host, "www."); ok {
				from = rest
			}
			if lbconfig.CheckHostname(from) != nil || !strings.Contains(from, ".") || !b.free(hr.ref, field, from, taken) {
				continue
			}
			taken[from] = claim{ref: hr.ref, field: field}
			backend := b.vhosts[host].Routes
			if len(backend) == 0 {
				continue // no route survived: nothing of ref is served on host
			}
			b.vhosts[from] = &lbconfig.VirtualHost{Hostname: from, Routes: []lbconfig.Route{{
				Path: "/", Match: lbconfig.MatchPrefix, Backend: backend[0].Backend, Source: hr.ref,
				Redirect: &lbconfig.Redirect{Hostname: host, StatusCode: wwwRedirectCode},
			}}}
			b.shareTLS(hr.ref, field, host, from)
		}
	}
}

// free reports whether name may become a virtual host for field of ref.
func (b *builder) free(ref lbconfig.ObjectRef, field, name string, taken map[string]claim) bool {
	if owner, ok := taken[name]; ok {
		b.problems.add(ref, field, "HostConflict", "%q is already added by %s; not added again", name, owner)
		return false
	}
	if b.vhosts[name] != nil {
		b.problems.add(ref, field, "HostConflict", "%q is the host of an Ingress, which wins; not added", name)
		return false
	}
	return true
}

// shareTLS serves name, an alias or other name of host, over HTTPS
// with a certificate a spec.tls entry gives host, if that certificate
// covers name (as ingress-nginx checks for the other name), unless
// spec.tls names it itself. Else, when host has TLS, field of ref gets a
// problem: name is then served over HTTP only.
func (b *builder) shareTLS(ref lbconfig.ObjectRef, field, host, name string) {
	hasTLS := false
	for _, it := range b.tls {
		for _, h := range it.hosts {
			if h.host == name {
				return // named in spec.tls: served as any TLS host
			}
		}
	}
	// Every entry that covers host covers name, so that the HTTPS
	// redirects of each Ingress on host cover name as well.
	shared := false
	for _, it := range b.tls {
		for _, h := range it.hosts {
			if h.host != host && h.host != wildcardOf(host) {
				continue
			}
			hasTLS = true
			if b.certCovers(h.cert, name) {
				it.hosts = append(it.hosts, tlsHost{host: name, cert: h.cert, field: field})
				shared = true
				break
			}
		}
		if it.noHosts != nil && slices.Contains(it.ruleHosts, host) {
			hasTLS = true
			if b.certCovers(it.noHosts.cert, name) {
				it.ruleHosts = append(it.ruleHosts, name)
				shared = true
			}
		}
	}
	if hasTLS && !shared {
		b.problems.add(ref, field, "NoCertificate",
			"the certificate of host %q does not cover %q, which is served over HTTP only; name it in spec.tls with a certificate that does", host, name)
	}
}

// certCovers reports whether the leaf of c, a certificate of a Secret
// checked before, is valid for host.
func (b *builder) certCovers(c *lbconfig.CertificateRef, host string) bool {
	if c == nil {
		return false
	}
	res := b.secrets[c.Name]
	if res == nil || res.cert == nil {
		return false
	}
	block, _ := pem.Decode(res.cert.ChainPEM)
	if block == nil {
		return false
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	return err == nil && leaf.VerifyHostname(host) == nil
}

// readHostRedirects reads ingress-nginx's permanent-redirect (and its
// -code), temporal-redirect (and its -code), app-root,
// from-to-www-redirect and server-alias into ours. As in ingress-nginx,
// temporal-redirect wins over permanent-redirect, a code out of range is
// the default (301, 302), and a code that is not a number drops the
// redirect.
func (r *nginxReader) readHostRedirects() {
	r.readRedirectTo()
	const root, www, alias = "app-root", "from-to-www-redirect", "server-alias"
	if v, ok := r.get(root); ok && r.free(root, AnnotationAppRoot) {
		if err := checkNginxURL(v); err != nil {
			r.invalid(root, "%v; requests for / are not redirected", err)
		} else if !strings.HasPrefix(v, "/") {
			r.invalid(root, "%q is not a path starting with \"/\"; requests for / are not redirected", v)
		} else {
			r.out[AnnotationAppRoot] = v
		}
	}
	if v, ok := r.get(www); ok && r.free(www, AnnotationFromToWWWRedirect) {
		if on, err := strconv.ParseBool(v); err != nil {
			r.invalid(www, "%q is not true or false; the other name is not redirected", v)
		} else {
			r.out[AnnotationFromToWWWRedirect] = strconv.FormatBool(on)
		}
	}
	if v, ok := r.get(alias); ok && r.free(alias, AnnotationServerAlias) {
		var names []string
		for name := range strings.SplitSeq(v, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			if _, err := normalizeHost(name); err != nil {
				r.invalid(alias, "%v; this alias is ignored", err)
				continue
			}
			names = append(names, name)
		}
		if len(names) > 0 {
			r.out[AnnotationServerAlias] = strings.Join(names, ",")
		}
	}
}

// readRedirectTo reads temporal-redirect or permanent-redirect, with its
// code, into AnnotationRedirectTo and AnnotationRedirectCode.
func (r *nginxReader) readRedirectTo() {
	const temporal, permanent = "temporal-redirect", "permanent-redirect"
	tv, tok := r.get(temporal)
	pv, pok := r.get(permanent)
	tc, tcok := r.get(temporal + "-code")
	pc, pcok := r.get(permanent + "-code")
	name, v, code, codeSet, def, top := permanent, pv, pc, pcok, 301, 308
	switch {
	case tok && tv != "":
		name, v, code, codeSet, def, top = temporal, tv, tc, tcok, 302, 307
		if pok {
			r.problem(permanent, "OverriddenAnnotation", "%s%s is also set and wins, as in ingress-nginx; this annotation is ignored", NginxAnnotationPrefix, temporal)
		}
	case !pok || pv == "":
		name = ""
	}
	for _, c := range []struct {
		url string
		set bool
	}{{temporal, tcok}, {permanent, pcok}} {
		if c.set && c.url != name {
			r.invalid(c.url+"-code", "applies only to %s%s, which does not redirect here; ignored", NginxAnnotationPrefix, c.url)
		}
	}
	if name == "" {
		return
	}
	if !r.free(name, AnnotationRedirectTo) {
		return
	}
	if err := checkNginxURL(v); err != nil {
		r.invalid(name, "%v; requests are not redirected", err)
		return
	}
	if strings.HasPrefix(v, "/") {
		r.invalid(name, "%q is a path, and ingress-nginx takes only http and https URLs; requests are not redirected", v)
		return
	}
	n := def
	if codeSet {
		c, err := strconv.Atoi(code)
		switch {
		case err != nil:
			r.invalid(name+"-code", "%q is not a number, which keeps ingress-nginx from redirecting; requests are not redirected", code)
			return
		case c < 300 || c > top:
			r.invalid(name+"-code", "%d is not between 300 and %d; %d is used, as in ingress-nginx", c, top, def)
		case !redirectCode(c):
			r.invalid(name+"-code", "%d is not a redirect (301, 302, 303, 307 or 308) here; %d is used", c, def)
		default:
			n = c
		}
	}
	if _, ours := r.in[AnnotationRedirectCode]; ours {
		r.problem(name+"-code", "OverriddenAnnotation", "%s is also set and wins; this annotation is ignored", AnnotationRedirectCode)
	} else {
		r.out[AnnotationRedirectCode] = strconv.Itoa(n)
	}
	r.out[AnnotationRedirectTo] = v
}

// checkNginxURL checks a URL or path as ours are, and without "$": an
// nginx variable is not expanded here (and ingress-nginx's validation
// refuses it too).
func checkNginxURL(v string) error {
	if strings.Contains(v, "$") {
		return fmt.Errorf("%q holds an nginx variable", clip.Value(v))
	}
	return lbconfig.CheckRedirectURL(v)
}
