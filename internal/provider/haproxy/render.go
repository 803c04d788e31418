package haproxy

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// Files in a rendered generation, relative to its directory. The config
// sets "default-path config", so haproxy.cfg refers to the others by these
// relative names and a generation validates and runs from any directory.
const (
	configFile = "haproxy.cfg"
	mapsDir    = "maps"
	certsDir   = "certs"
	errorsDir  = "errors"
)

// placeholderAddr is where a free server slot points. Free slots are in
// maintenance, so nothing is ever sent there.
const (
	placeholderAddr = "127.0.0.1"
	placeholderPort = 1
	minSlots        = 4
)

// RenderOptions are the inputs of RenderConfig besides the config.
type RenderOptions struct {
	// ListenAddress is the IP address the listeners bind to; empty means
	// all addresses.
	ListenAddress string
	// RuntimeDir is the absolute directory of the stats socket and the
	// server-state file.
	RuntimeDir string
	// ShutdownGrace and DrainTimeout (zero: 10s and 30s) bound, the longer
	// of them, how long an old worker may finish its requests and tunnels
	// after a reload (hard-stop-after).
	ShutdownGrace time.Duration
	DrainTimeout  time.Duration
	// Previous is the server slot layout in service, if any. Endpoints
	// keep the slot they have, so that a reload keeps their runtime state.
	Previous *Layout
}

// Rendered is one generation of HAProxy configuration.
type Rendered struct {
	// Files maps relative file names to contents: haproxy.cfg, the map
	// files under maps/ and the certificates under certs/.
	Files map[string][]byte
	// Layout says which endpoint sits in which server slot.
	Layout *Layout
}

// Layout is the server slot layout of every backend, by lbconfig backend
// name. It is what the runtime API changes between reloads.
type Layout struct {
	Backends map[string]*BackendSlots
}

// BackendSlots are the server slots of one HAProxy backend.
type BackendSlots struct {
	// ID is the HAProxy backend name.
	ID    string
	Slots []Slot
}

// Slot is one "server" line of a backend. A free slot has no Address.
type Slot struct {
	Address string
	Port    int32
	State   ServerState
}

// ServerState is the administrative state of a server slot.
type ServerState string

// Server states, as the runtime API's "set server ... state" spells them.
const (
	StateReady ServerState = "ready"
	StateDrain ServerState = "drain"
	StateMaint ServerState = "maint"
)

// serverName is the name of slot i (from 0) of a backend.
func serverName(i int) string { return "s" + strconv.Itoa(i+1) }

// endpointState maps an lbconfig endpoint to a server state: only ready
// endpoints take new requests; terminating ones that still serve drain.
func endpointState(e lbconfig.Endpoint) ServerState {
	switch {
	case e.Ready && !e.Terminating:
		return StateReady
	case e.Serving:
		return StateDrain
	}
	return StateMaint
}

// slotCount is how many slots a backend with n endpoints gets: a power of
// two with room for at least one more, never fewer than minSlots.
func slotCount(n int) int {
	size := minSlots
	for size < n+1 {
		size *= 2
	}
	return size
}

// assignSlots places eps into slots. Endpoints already in prev keep their
// slot; new ones take the lowest free slots. With grow set the slot count
// fits eps; without it, it is prev's and ok is false when eps do not fit.
func assignSlots(eps []lbconfig.Endpoint, prev []Slot, grow bool) (slots []Slot, ok bool) {
	size := len(prev)
	if grow || size == 0 {
		size = slotCount(len(eps))
	} else if len(eps) > size {
		return nil, false
	}
	slots = make([]Slot, size)
	placed := make([]bool, len(eps))
	index := make(map[netip.AddrPort]int, len(eps))
	for i, e := range eps {
		if a, err := netip.ParseAddr(e.Address); err == nil {
			index[netip.AddrPortFrom(a, uint16(e.Port))] = i
		}
	}
	for s, ps := range prev {
		if s >= size || ps.Address == "" {
			continue
		}
		a, err := netip.ParseAddr(ps.Address)
		if err != nil {
			continue
		}
		if i, found := index[netip.AddrPortFrom(a, uint16(ps.Port))]; found && !placed[i] {
			slots[s] = Slot{Address: eps[i].Address, Port: eps[i].Port, State: endpointState(eps[i])}
			placed[i] = true
		}
	}
	free := 0
	for i, e := range eps {
		if placed[i] {
			continue
		}
		for free < size && slots[free].Address != "" {
			free++
		}
		if free == size {
			return nil, false
		}
		slots[free] = Slot{Address: e.Address, Port: e.Port, State: endpointState(e)}
	}
	for s := range slots {
		if slots[s].Address == "" {
			slots[s].State = StateMaint
		}
	}
	return slots, true
}

// safeName turns a user-supplied name into an HAProxy identifier that
// cannot collide or inject: the characters HAProxy allows, shortened, plus
// a hash of the original.
func safeName(prefix, name string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for i := 0; i < len(name) && b.Len() < len(prefix)+40; i++ {
		c := name[i]
		if ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || c == '-' || c == '.' {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	sum := sha256.Sum256([]byte(name))
	b.WriteByte('_')
	b.WriteString(hex.EncodeToString(sum[:4]))
	return b.String()
}

// BackendID is the HAProxy backend name for an lbconfig backend name.
func BackendID(name string) string { return safeName("be_", name) }

func certFile(name string) string { return certsDir + "/" + safeName("", name) + ".pem" }

func frontendID(port int32) string { return "fe_" + strconv.Itoa(int(port)) }

var balance = map[lbconfig.Algorithm]string{
	"":                    "roundrobin",
	lbconfig.RoundRobin:   "roundrobin",
	lbconfig.LeastRequest: "leastconn",
	lbconfig.Random:       "random",
}

// Responses HAProxy gives itself, in the builtin provider's words.
const (
	notFoundBody = "404 not found: no route for this host and path"
	noServerBody = "503 service unavailable: no ready endpoints"
)

// RenderConfig renders cfg, which must be sorted, into haproxy.cfg and its
// map and certificate files. The output is deterministic. Every value that
// comes from users is checked first: hostnames and paths only ever appear
// in map files, never in haproxy.cfg; backend and certificate names are
// replaced by safe identifiers; addresses are parsed as IPs.
func RenderConfig(cfg *lbconfig.Config, opts RenderOptions) (*Rendered, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("haproxy: invalid config: %w", err)
	}
	if opts.ListenAddress != "" {
		if a, err := netip.ParseAddr(opts.ListenAddress); err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("haproxy: listen address %q is not an IP address", opts.ListenAddress)
		}
	}
	if !strings.HasPrefix(opts.RuntimeDir, "/") || strings.ContainsFunc(opts.RuntimeDir, func(r rune) bool { return r <= ' ' || r >= 0x7f || r == '"' || r == '\\' || r == '#' || r == '\'' }) {
		return nil, fmt.Errorf("haproxy: runtime dir %q must be an absolute path of printable characters without spaces, quotes, '#' or '\\'", opts.RuntimeDir)
	}
	grace := opts.ShutdownGrace
	if grace <= 0 {
		grace = 10 * time.Second
	}
	if opts.DrainTimeout <= 0 {
		grace = max(grace, 30*time.Second)
	} else {
		grace = max(grace, opts.DrainTimeout)
	}
	r := &renderer{
		cfg:    cfg,
		opts:   opts,
		files:  map[string][]byte{},
		layout: &Layout{Backends: map[string]*BackendSlots{}},
		ids:    map[string]string{},
		tcp:    map[string]bool{},
		http:   map[string]bool{},
	}
	for _, lb := range cfg.LoadBalancers {
		for _, l := range lb.Listeners {
			if l.TCP != nil {
				r.tcp[l.TCP.Name] = true
			}
			if l.DefaultBackend != nil {
				r.http[l.DefaultBackend.Name] = true
			}
			for _, vh := range l.VirtualHosts {
				for _, rt := range vh.Routes {
					if rt.HTTPSRedirect == nil {
						r.http[rt.Backend.Name] = true
					}
				}
			}
		}
	}
	for _, b := range cfg.Backends {
		id := BackendID(b.Name)
		for other, oid := range r.ids {
			if oid == id {
				return nil, fmt.Errorf("haproxy: backends %q and %q map to the same HAProxy name %q", other, b.Name, id)
			}
		}
		r.ids[b.Name] = id
	}

	w := &r.cfgText
	w.line("# Generated by ingress-controller; do not edit.")
	w.line("global")
	w.line("    default-path config")
	w.line("    stats socket " + opts.RuntimeDir + "/" + statsSocket + " mode 600 expose-fd listeners level admin")
	w.line("    stats timeout 30s")
	w.line("    server-state-file " + opts.RuntimeDir + "/" + serverStateFile)
	w.line("    hard-stop-after " + strconv.FormatInt(grace.Milliseconds(), 10) + "ms")
	w.line("    ssl-default-bind-options ssl-min-ver TLSv1.2")
	w.line("")
	w.line("defaults")
	w.line("    mode http")
	w.line("    option dontlognull")
	w.line("    option redispatch")
	w.line("    retries 3")
	w.line("    timeout connect 5s")
	w.line("    timeout client 60s")
	w.line("    timeout server 60s")
	w.line("    timeout http-request 30s")
	w.line("    timeout http-keep-alive 60s")
	w.line("    load-server-state-from-file global")
	w.line("    errorfile 503 " + errorsDir + "/503.http")
	r.files[errorsDir+"/503.http"] = []byte(httpError(503, "Service Unavailable", noServerBody))

	owner := map[int32]string{}
	for i, lb := range cfg.LoadBalancers {
		for j, l := range lb.Listeners {
			where := fmt.Sprintf("load balancer %q: listener %d (port %d)", lb.Name, j, l.Port)
			if other, ok := owner[l.Port]; ok {
				return nil, fmt.Errorf("haproxy: %s: port %d is already used by load balancer %q", where, l.Port, other)
			}
			owner[l.Port] = lb.Name
			if err := r.listener(i, lb, l); err != nil {
				return nil, fmt.Errorf("haproxy: %s: %w", where, err)
			}
		}
	}
	for i := range cfg.Backends {
		if err := r.backend(&cfg.Backends[i]); err != nil {
			return nil, fmt.Errorf("haproxy: backend %q: %w", cfg.Backends[i].Name, err)
		}
	}
	r.files[configFile] = []byte(w.String())
	return &Rendered{Files: r.files, Layout: r.layout}, nil
}

type renderer struct {
	// tcp and http say which backends TCP listeners and HTTP routes use.
	tcp, http map[string]bool
	cfg       *lbconfig.Config
	opts      RenderOptions
	files     map[string][]byte
	layout    *Layout
	ids       map[string]string // lbconfig backend name -> HAProxy name
	cfgText   lines
}

type lines struct{ strings.Builder }

func (l *lines) line(s string) {
	l.WriteString(s)
	l.WriteByte('\n')
}

// quote renders a user-supplied name for a comment: printable ASCII only,
// so it can never end the comment line.
func quote(s string) string { return strconv.QuoteToASCII(s) }

func httpError(code int, reason, body string) string {
	return fmt.Sprintf("HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\ncache-control: no-cache\r\nconnection: close\r\ncontent-length: %d\r\n\r\n%s\n", code, reason, len(body)+1, body)
}

func (r *renderer) listener(lbIndex int, lb lbconfig.LoadBalancer, l lbconfig.Listener) error {
	proto := "http"
	switch l.Protocol {
	case lbconfig.ProtocolHTTP:
	case lbconfig.ProtocolHTTPS:
		proto = "https"
	case lbconfig.ProtocolTCP:
		return r.tcpListener(lb, l)
	default:
		return fmt.Errorf("protocol %s is not supported by the haproxy provider yet", l.Protocol)
	}
	port := strconv.Itoa(int(l.Port))
	prefix := mapsDir + "/" + port + "-"
	hostsMap, wildMap, exactMap, prefixMap := prefix+"hosts.map", prefix+"wildcards.map", prefix+"exact.map", prefix+"prefix.map"
	var hosts, wild, exact, pfx lines
	catchAll := ""
	redirects := map[string]lbconfig.HTTPSRedirect{}
	for k, vh := range l.VirtualHosts {
		if vh.Passthrough != nil {
			return fmt.Errorf("virtual host %d (%q): passthrough: TLS passthrough is not supported by the haproxy provider yet", k, vh.Hostname)
		}
		id := "v" + strconv.Itoa(k)
		switch {
		case vh.Hostname == "":
			catchAll = id
		case strings.HasPrefix(vh.Hostname, "*."):
			wild.line(vh.Hostname[1:] + " " + id) // ".example.com"
		default:
			hosts.line(vh.Hostname + " " + id)
		}
		seen := map[string]bool{}
		for n, rt := range vh.Routes {
			be := r.ids[rt.Backend.Name]
			if rd := rt.HTTPSRedirect; rd != nil {
				switch {
				case l.Protocol != lbconfig.ProtocolHTTP:
					return fmt.Errorf("virtual host %d (%q): route %d: httpsRedirect: only HTTP listeners redirect", k, vh.Hostname, n)
				case rd.Port < 1 || rd.Port > 65535:
					return fmt.Errorf("virtual host %d (%q): route %d: httpsRedirect.port: %d is not a port number", k, vh.Hostname, n, rd.Port)
				case rd.StatusCode != 301 && rd.StatusCode != 302 && rd.StatusCode != 307 && rd.StatusCode != 308:
					return fmt.Errorf("virtual host %d (%q): route %d: httpsRedirect.statusCode: %d is not 301, 302, 307 or 308", k, vh.Hostname, n, rd.StatusCode)
				}
				// The map value names the redirect; a rule per distinct
				// redirect answers it.
				be = fmt.Sprintf("redirect_%d_%d", rd.Port, rd.StatusCode)
				redirects[be] = *rd
			} else if be == "" {
				return fmt.Errorf("virtual host %d (%q): route %d: backend %q does not exist", k, vh.Hostname, n, rt.Backend.Name)
			}
			if err := lbconfig.CheckPath(rt.Path); err != nil {
				return fmt.Errorf("virtual host %d (%q): route %d: %w", k, vh.Hostname, n, err)
			}
			// Keys are "<vhost>:<path>". Prefix keys end in "/" and the
			// lookup key is the request path plus "/", so a map_beg
			// (longest prefix) match is an element-wise prefix match:
			// "/foo/" begins "/foo/", "/foo//" and "/foo/bar/" but not
			// "/foobar/".
			key := id + ":" + rt.Path
			if rt.Match == lbconfig.MatchPrefix {
				key = id + ":" + strings.TrimRight(rt.Path, "/") + "/"
			}
			if seen[key] {
				continue // an earlier route with the same match wins
			}
			seen[key] = true
			if rt.Match == lbconfig.MatchExact {
				exact.line(key + " " + be)
			} else {
				pfx.line(key + " " + be)
			}
		}
	}
	r.files[hostsMap] = []byte(hosts.String())
	r.files[wildMap] = []byte(wild.String())
	r.files[exactMap] = []byte(exact.String())
	r.files[prefixMap] = []byte(pfx.String())

	w := &r.cfgText
	w.line("")
	w.line("# load balancer " + quote(lb.Name) + ", listener port " + port)
	w.line("frontend " + frontendID(l.Port))
	bind := "    bind " + r.bindAddr(l.Port)
	if l.Protocol == lbconfig.ProtocolHTTPS {
		tls, err := r.tls(l)
		if err != nil {
			return err
		}
		bind += tls
	}
	w.line(bind)
	w.line("    http-request set-var(txn.host) req.hdr(host),lower,regsub(:[0-9]+$,),regsub([.]$,)")
	w.line("    http-request set-var(txn.vhost) var(txn.host),map_str(" + hostsMap + ")")
	w.line("    http-request set-var(txn.vhost) var(txn.host),regsub(^[^.]+,),map_str(" + wildMap + ") if !{ var(txn.vhost) -m found } { var(txn.host) -m reg ^[^.] }")
	if catchAll != "" {
		w.line("    http-request set-var(txn.vhost) str(" + catchAll + ") if !{ var(txn.vhost) -m found }")
	}
	w.line("    http-request set-var(txn.path) path")
	w.line("    http-request set-var(txn.backend) var(txn.vhost),concat(:,txn.path,),map_str(" + exactMap + ") if { var(txn.vhost) -m found }")
	w.line("    http-request set-var(txn.backend) var(txn.vhost),concat(:,txn.path,/),map_beg(" + prefixMap + ") if { var(txn.vhost) -m found } !{ var(txn.backend) -m found }")
	w.line("    http-request set-header X-Forwarded-For \"%[req.fhdr(x-forwarded-for)], %[src]\" if { req.fhdr_cnt(x-forwarded-for) eq 1 }")
	w.line("    http-request add-header X-Forwarded-For %[src] if !{ req.fhdr_cnt(x-forwarded-for) eq 1 }")
	w.line("    http-request set-header X-Real-IP %[src]")
	w.line("    http-request set-header X-Forwarded-Host %[req.hdr(host)]")
	w.line("    http-request set-header X-Forwarded-Proto " + proto)
	w.line("    http-request set-header X-Forwarded-Port " + port)
	names := make([]string, 0, len(redirects))
	for n := range redirects {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		rd := redirects[n]
		hostPort := "%[var(txn.host)]"
		if rd.Port != 443 {
			hostPort += ":" + strconv.Itoa(int(rd.Port))
		}
		w.line("    http-request redirect location https://" + hostPort + "%[capture.req.uri] code " + strconv.Itoa(int(rd.StatusCode)) + " if { var(txn.backend) -m str " + n + " }")
	}
	if l.DefaultBackend == nil {
		w.line("    http-request return status 404 content-type \"text/plain; charset=utf-8\" string \"" + notFoundBody + "\" if !{ var(txn.backend) -m found }")
	}
	w.line("    use_backend %[var(txn.backend)] if { var(txn.backend) -m found }")
	if l.DefaultBackend != nil {
		be := r.ids[l.DefaultBackend.Name]
		if be == "" {
			return fmt.Errorf("default backend %q does not exist", l.DefaultBackend.Name)
		}
		w.line("    default_backend " + be)
	}
	return nil
}

func (r *renderer) bindAddr(port int32) string {
	p := strconv.Itoa(int(port))
	if r.opts.ListenAddress == "" {
		return ":" + p
	}
	a := netip.MustParseAddr(r.opts.ListenAddress) // checked by RenderConfig
	if a.Is6() {
		return "ipv6@" + a.String() + ":" + p
	}
	return a.String() + ":" + p
}

// tcpListener renders a TCP listener: every connection goes to its backend.
func (r *renderer) tcpListener(lb lbconfig.LoadBalancer, l lbconfig.Listener) error {
	if l.TCP == nil || r.ids[l.TCP.Name] == "" {
		return errors.New("tcp: a TCP listener needs an existing backend")
	}
	w := &r.cfgText
	w.line("")
	w.line("# load balancer " + quote(lb.Name) + ", listener port " + strconv.Itoa(int(l.Port)))
	w.line("frontend " + frontendID(l.Port))
	w.line("    mode tcp")
	w.line("    bind " + r.bindAddr(l.Port))
	w.line("    default_backend " + r.ids[l.TCP.Name])
	return nil
}

// tls writes the certificates of an HTTPS listener and returns the bind
// options: the default certificate (the catch-all virtual host's, else the
// first one by hostname) and a crt-list that picks one per SNI name.
func (r *renderer) tls(l lbconfig.Listener) (string, error) {
	var list lines
	def := ""
	for k, vh := range l.VirtualHosts {
		if vh.TLS == nil {
			continue
		}
		cert := r.cfg.Certificate(vh.TLS.Name)
		if cert == nil {
			return "", fmt.Errorf("virtual host %d (%q): certificate %q does not exist", k, vh.Hostname, vh.TLS.Name)
		}
		file := certFile(cert.Name)
		if _, done := r.files[file]; !done {
			pem := slices.Concat(cert.ChainPEM, []byte("\n"), cert.KeyPEM, []byte("\n"))
			r.files[file] = pem
		}
		if vh.Hostname == "" {
			def = file
			continue
		}
		if def == "" {
			def = file
		}
		list.line(file + " " + vh.Hostname)
	}
	if def == "" {
		return "", fmt.Errorf("an HTTPS listener needs at least one virtual host with a certificate")
	}
	crtList := mapsDir + "/" + strconv.Itoa(int(l.Port)) + ".crtlist"
	r.files[crtList] = []byte(list.String())
	return " ssl crt " + def + " crt-list " + crtList + " alpn h2,http/1.1", nil
}

func (r *renderer) backend(b *lbconfig.Backend) error {
	id := r.ids[b.Name]
	algo, ok := balance[b.Policy.Algorithm]
	if !ok {
		return fmt.Errorf("policy.algorithm: %q is not supported", b.Policy.Algorithm)
	}
	var opts string
	if r.tcp[b.Name] && b.Protocol != "" && b.Protocol != lbconfig.BackendHTTP {
		return fmt.Errorf("protocol: %q backends of TCP listeners are not supported", b.Protocol)
	}
	switch b.Protocol {
	case "", lbconfig.BackendHTTP:
	case lbconfig.BackendHTTPS:
		opts = " ssl verify none"
	case lbconfig.BackendH2C, lbconfig.BackendGRPC:
		opts = " proto h2"
	default:
		return fmt.Errorf("protocol: %q is not supported", b.Protocol)
	}
	for k, e := range b.Endpoints {
		if a, err := netip.ParseAddr(e.Address); err != nil || a.Zone() != "" {
			return fmt.Errorf("endpoints[%d].address: %q is not an IP address", k, e.Address)
		}
		if e.Port < 1 || e.Port > 65535 {
			return fmt.Errorf("endpoints[%d].port: %d is not a port number", k, e.Port)
		}
	}
	var prev []Slot
	if r.opts.Previous != nil {
		if ps := r.opts.Previous.Backends[b.Name]; ps != nil {
			prev = ps.Slots
		}
	}
	slots, _ := assignSlots(b.Endpoints, prev, true)
	r.layout.Backends[b.Name] = &BackendSlots{ID: id, Slots: slots}

	policy, err := policyLines(b.Policy, r.tcp[b.Name])
	if err != nil {
		return err
	}
	if r.tcp[b.Name] && r.http[b.Name] {
		return errors.New("used by both HTTP routes and TCP listeners, which the haproxy provider does not support yet")
	}
	w := &r.cfgText
	w.line("")
	w.line("# backend " + quote(b.Name))
	w.line("backend " + id)
	if r.tcp[b.Name] {
		w.line("    mode tcp")
	}
	if b.Policy.Affinity == nil || b.Policy.Affinity.Type != lbconfig.AffinityBySourceIP {
		w.line("    balance " + algo)
	}
	for _, l := range policy {
		w.line("    " + l)
	}
	for i, s := range slots {
		addr, port := s.Address, s.Port
		if addr == "" {
			addr, port = placeholderAddr, placeholderPort
		}
		line := "    server " + serverName(i) + " " + serverAddr(addr, port) + opts
		if s.State != StateReady {
			// Drain is a runtime state only: a new worker has no requests
			// in flight to let finish.
			line += " disabled"
		}
		w.line(line)
	}
	return nil
}

func serverAddr(addr string, port int32) string {
	a := netip.MustParseAddr(addr) // checked by the caller
	p := strconv.Itoa(int(port))
	if a.Is6() && !a.Is4In6() {
		return "ipv6@" + a.String() + ":" + p
	}
	return a.Unmap().String() + ":" + p
}

// cookieName is what a cookie name may be in haproxy.cfg: narrower than an
// RFC 6265 token, so that it needs no quoting.
var cookieName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// policyLines renders a backend's policy, and rejects what this provider
// cannot do yet, naming the field.
func policyLines(p lbconfig.Policy, tcp bool) ([]string, error) {
	var out []string
	ms := func(d lbconfig.Duration) string { return strconv.FormatInt(max(d.Std().Milliseconds(), 1), 10) + "ms" }
	if t := p.Timeouts; t.Connect > 0 {
		out = append(out, "timeout connect "+ms(t.Connect))
	}
	if t := p.Timeouts; t.ResponseHeader > 0 || t.Idle > 0 {
		// HAProxy has one server-side inactivity timeout for both.
		d := t.ResponseHeader
		if t.Idle > d {
			d = t.Idle
		}
		out = append(out, "timeout server "+ms(d))
	}
	if t := p.Timeouts; t.Idle > 0 {
		out = append(out, "timeout tunnel "+ms(t.Idle))
	}
	if p.Retries > 0 {
		out = append(out, "retries "+strconv.Itoa(int(p.Retries)))
		if !tcp {
			out = append(out, "retry-on conn-failure empty-response")
		}
	}
	if a := p.Affinity; a != nil {
		switch a.Type {
		case lbconfig.AffinityBySourceIP:
			out = append(out, "balance source", "hash-type consistent")
		case lbconfig.AffinityByCookie:
			c := a.Cookie
			switch {
			case tcp:
				return nil, errors.New("policy.affinity: cookie affinity on a TCP listener's backend")
			case c == nil || !cookieName.MatchString(c.Name):
				return nil, fmt.Errorf("policy.affinity.cookie.name: %q is not supported by the haproxy provider (letters, digits, '_', '.', '-')", cookieNameOf(c))
			case c.Path != "" && c.Path != "/":
				return nil, fmt.Errorf("policy.affinity.cookie.path: %q: the haproxy provider sets cookies for \"/\" only", c.Path)
			}
			line := "cookie " + c.Name + " insert indirect nocache dynamic httponly"
			if c.SameSite == "None" {
				line += " secure"
			}
			if c.SameSite != "" {
				line += " attr SameSite=" + c.SameSite
			}
			if c.MaxAge > 0 {
				line += " attr Max-Age=" + strconv.FormatInt(int64(c.MaxAge.Std().Seconds()), 10)
			}
			// Dynamic cookies are a hash of this key and the server's
			// address and port: stable across reloads, restarts and
			// runtime address changes.
			out = append(out, line, "dynamic-cookie-key ingress-controller")
		}
	}
	if p.PassiveHealthCheck != nil {
		return nil, errors.New("policy.passiveHealthCheck is not supported by the haproxy provider yet")
	}
	if p.MaxRequestBodyBytes > 0 {
		return nil, errors.New("policy.maxRequestBodyBytes is not supported by the haproxy provider yet")
	}
	return out, nil
}

func cookieNameOf(c *lbconfig.AffinityCookie) string {
	if c == nil {
		return ""
	}
	return c.Name
}
