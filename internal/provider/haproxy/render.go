package haproxy

import (
	"crypto/sha256"
	"crypto/tls"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
)

// Files in a rendered generation, relative to its directory. The config
// sets "default-path config", so haproxy.cfg refers to the others by these
// relative names and a generation validates and runs from any directory.
const (
	configFile = "haproxy.cfg"
	mapsDir    = "maps"
	certsDir   = "certs"
	errorsDir  = "errors"
	// hopByHopLua holds the Lua actions that delete the fields a
	// Connection field names.
	hopByHopLua = "hop-by-hop.lua"
)

//go:embed hopbyhop.lua
var hopByHopSource []byte

// MaxThreads is the most threads HAProxy is given: the MAX_THREADS of
// Debian's and upstream's default builds.
const MaxThreads = 64

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
	// Threads is HAProxy's nbthread, at most MaxThreads; zero means
	// runtime.NumCPU().
	Threads int
	// Previous is the server slot layout in service, if any. Endpoints
	// keep the slot they have, so that a reload keeps their runtime state.
	Previous *Layout
	// DefaultCertificate (PEM chain and key) is served on HTTPS listeners
	// to clients whose server name picks no virtual host with a
	// certificate, when the listener has no catch-all certificate.
	// Needed only by such listeners.
	DefaultCertificate []byte
	// Limits are the client limits (zero: provider's defaults):
	// MaxRequestHeaderBytes, ClientBodyTimeout, TunnelIdleTimeout and
	// MaxConnections of provider.Options, and its TLS setting
	// NoTLSSessionResumption; the rest of it is ignored.
	Limits provider.Options
	// TicketLifetime, when set, is how long a ticket or cached session
	// resumes (tickets.go): the provider's ticket key rotation period.
	TicketLifetime time.Duration
}

// Rendered is one generation of HAProxy configuration.
type Rendered struct {
	// Files maps relative file names to contents: haproxy.cfg, the map
	// files under maps/ and the certificates under certs/.
	Files map[string][]byte
	// Layout says which endpoint sits in which server slot.
	Layout *Layout
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

// BackendID is the HAProxy backend name of the mode http backend of an
// lbconfig backend.
func BackendID(name string) string { return safeName("be_", name) }

// TCPBackendID is the HAProxy backend name of the mode tcp backend of an
// lbconfig backend, for TCP listeners and TLS passthrough.
func TCPBackendID(name string) string { return safeName("bt_", name) }

// defaultCertFile is where RenderOptions.DefaultCertificate goes.
const defaultCertFile = certsDir + "/default.pem"

// tlsSocket is the unix socket of the internal TLS-terminating frontend of
// an HTTPS port that also passes TLS through.
func tlsSocket(runtimeDir, key string) string {
	return runtimeDir + "/tls-" + key + ".sock"
}

// helloTimeout bounds the wait for a TLS ClientHello on ports that route
// by SNI, as the builtin provider's does.
const helloTimeout = "10s"

// maxChunkedLimit is the largest MaxRequestBodyBytes checked on bodies
// without Content-Length: HAProxy can only count what fits its request
// buffer (tune.bufsize, 16 KiB with the headers), so larger limits apply
// to Content-Length only.
const maxChunkedLimit = 8 << 10

// bodyWait bounds the wait for a body without Content-Length that is
// checked against a limit.
const bodyWait = "10s"

func certFile(name string) string { return certsDir + "/" + safeName("", name) + ".pem" }

func frontendID(key string) string { return "fe_" + key }

var balance = map[lbconfig.Algorithm]string{
	"":                    "roundrobin",
	lbconfig.RoundRobin:   "roundrobin",
	lbconfig.LeastRequest: "leastconn",
	lbconfig.Random:       "random",
}

// Responses HAProxy gives itself, in the builtin provider's words.
const (
	notFoundBody  = "404 not found: no route for this host and path"
	forbiddenBody = "403 forbidden: client address not allowed"
	noServerBody  = "503 service unavailable: no ready endpoints"
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
	if err := checkListenClashes(cfg, opts.ListenAddress); err != nil {
		return nil, err
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
	opts.Limits = opts.Limits.WithDefaults()
	if opts.Threads == 0 {
		opts.Threads = runtime.NumCPU()
	}
	if opts.Threads < 1 || opts.Threads > MaxThreads {
		return nil, fmt.Errorf("haproxy: %d threads is not between 1 and %d", opts.Threads, MaxThreads)
	}
	r := &renderer{
		cfg:    cfg,
		opts:   opts,
		files:  map[string][]byte{},
		layout: &Layout{Backends: map[string]*BackendSlots{}},
		ids:    map[string]string{},
		tcpIDs: map[string]string{},
		tcp:    map[string]bool{},
		http:   map[string]bool{},
	}
	for _, lb := range cfg.LoadBalancers {
		for _, l := range lb.Listeners {
			if l.TCP != nil {
				r.tcp[l.TCP.Name] = true
			}
			for _, b := range l.TCPBackends {
				r.tcp[b.Name] = true
			}
			if l.DefaultBackend != nil {
				r.http[l.DefaultBackend.Name] = true
			}
			for _, vh := range l.VirtualHosts {
				if vh.Passthrough != nil {
					r.tcp[vh.Passthrough.Name] = true
				}
				if vh.TCP != nil {
					r.tcp[vh.TCP.Name] = true
				}
				for _, rt := range vh.Routes {
					if rt.HTTPSRedirect == nil && rt.Redirect == nil {
						r.http[rt.Backend.Name] = true
					}
					for _, b := range rt.Backends {
						r.http[b.Name] = true
					}
					if a := rt.ExternalAuth; a != nil && a.Backend != nil {
						r.http[a.Backend.Name] = true // authservice.go
					}
				}
			}
		}
	}
	r.scanErrorPages()
	owners := map[string]string{}
	for _, b := range cfg.Backends {
		for _, id := range []string{BackendID(b.Name), TCPBackendID(b.Name)} {
			if other, ok := owners[id]; ok {
				return nil, fmt.Errorf("haproxy: backends %q and %q map to the same HAProxy name %q", other, b.Name, id)
			}
			owners[id] = b.Name
		}
		r.ids[b.Name] = BackendID(b.Name)
		r.tcpIDs[b.Name] = TCPBackendID(b.Name)
	}

	lim := opts.Limits
	w := &r.cfgText
	w.line("# Generated by ingress-controller; do not edit.")
	w.line("global")
	// Each thread keeps its own idle backend connections. Shared, another
	// thread may take over an idle connection before its own thread saw
	// the bytes a faulty backend sent on it after a response, and read
	// them as the next client's response (providertest's faulty backends
	// caught it in about one run of 15; never in 30 with this).
	w.line("    tune.idle-pool.shared off")
	// Always explicit: HAProxy's own default (the CPUs it may run on) is
	// right only where it runs with the controller's affinity.
	w.line("    nbthread " + strconv.Itoa(opts.Threads))
	// Each frontend has its own maxconn (the per-listener cap). The global
	// maxconn is left to HAProxy, which derives it from the descriptors it
	// may open (ulimit -n): set higher than they allow, HAProxy refuses to
	// start. Where it is lower than the sum of the frontends' caps, HAProxy
	// stops accepting at it, leaving connections in the backlog as well.
	// The request buffer holds the head as HTX (about 90 bytes and 4 per
	// field more than on the wire, at most 101 fields) plus tune.maxrewrite
	// for the fields the frontend adds; the exact limit is the 431 rule of
	// each HTTP frontend (headLimitRules). Never smaller than HAProxy's
	// default: the checks of bodies without Content-Length count on it.
	w.line("    tune.bufsize " + strconv.Itoa(max(16384, lim.MaxRequestHeaderBytes+headSlack)))
	w.line("    tune.maxrewrite " + strconv.Itoa(maxRewrite))
	w.line("    default-path config")
	// normalize-uri (pathRules) is "experimental" in 2.6.
	w.line("    expose-experimental-directives")
	w.line("    stats socket " + opts.RuntimeDir + "/" + statsSocket + " mode 600 expose-fd listeners level admin")
	w.line("    stats timeout 30s")
	w.line("    server-state-file " + opts.RuntimeDir + "/" + serverStateFile)
	w.line("    hard-stop-after " + strconv.FormatInt(grace.Milliseconds(), 10) + "ms")
	tlsGlobal(w, lim.NoTLSSessionResumption)
	ticketLifetime(w, opts)
	w.line("    lua-load " + hopByHopLua)
	r.files[hopByHopLua] = hopByHopSource
	if r.errors.any {
		w.line("    lua-load " + errorPagesLua)
	}
	if hasExtAuth(cfg) || hasMirrors(cfg) {
		w.line("    lua-load " + backendServersLua) // mirror.go
	}
	if hasExtAuth(cfg) {
		w.line("    lua-load " + extAuthLua)
	}
	if hasMirrors(cfg) {
		w.line("    lua-load " + mirrorLua)
	}
	w.line("")
	w.line("defaults")
	w.line("    mode http")
	w.line("    option dontlognull")
	w.line("    option redispatch")
	w.line("    retries 3")
	w.line("    timeout connect 5s")
	// HAProxy 2.6 does not apply the client timeout to a request body
	// while the server is connected: a body that stops coming is ended by
	// the server timeout (504). See doc.go.
	w.line("    timeout client " + duration(lim.ClientBodyTimeout))
	w.line("    timeout server 60s")
	w.line("    timeout http-request 30s")
	w.line("    timeout http-keep-alive 60s")
	// Websockets, TCP and TLS passthrough, unless the backend's policy
	// says otherwise.
	w.line("    timeout tunnel " + duration(lim.TunnelIdleTimeout))
	// Idle backend connections serve the first request of new client
	// connections too, as builtin's connection pools do: HAProxy's
	// default (safe) opens a backend connection per client connection,
	// which costs traffic with a new connection per request about 12%.
	// (A connection the endpoint closed meanwhile is retried where the
	// policy has retries: retry-on conn-failure empty-response.)
	w.line("    http-reuse always")
	w.line("    load-server-state-from-file global")
	w.line("    errorfile 503 " + errorsDir + "/503.http")
	r.files[errorsDir+"/503.http"] = []byte(httpError(503, "Service Unavailable", noServerBody))

	// cfg.Validate checked ports, references and policies above: what
	// can still fail here is only what HAProxy itself cannot express.
	if err := r.userlists(); err != nil {
		return nil, fmt.Errorf("haproxy: %w", err)
	}
	for i, lb := range cfg.LoadBalancers {
		for j, l := range lb.Listeners {
			where := fmt.Sprintf("load balancer %q: listener %d (port %d)", lb.Name, j, l.Port)
			r.at = listenerAt(i, lb, l.Port)
			if err := r.listener(lb, l); err != nil {
				return nil, fmt.Errorf("haproxy: %s: %w", where, err)
			}
		}
	}
	for i := range cfg.Backends {
		if err := r.backend(&cfg.Backends[i]); err != nil {
			return nil, fmt.Errorf("haproxy: backend %q: %w", cfg.Backends[i].Name, err)
		}
	}
	r.limits.tables(w, r.files)
	if r.errors.any {
		r.files[errorPagesLua] = r.errors.luaFile()
	}
	if hasExtAuth(cfg) || hasMirrors(cfg) {
		r.files[backendServersLua] = backendServersSource
	}
	if hasExtAuth(cfg) {
		r.files[extAuthLua] = r.extAuths.lua()
	}
	if hasMirrors(cfg) {
		r.files[mirrorLua] = r.mirrors.lua()
	}
	r.files[configFile] = []byte(w.String())
	return &Rendered{Files: r.files, Layout: r.layout}, nil
}

type renderer struct {
	// tcp and http say which backends TCP listeners (and TLS
	// passthrough) and HTTP routes use.
	tcp, http map[string]bool
	cfg       *lbconfig.Config
	opts      RenderOptions
	// at is where the listener being rendered binds.
	at     bindAt
	files  map[string][]byte
	layout *Layout
	// ids and tcpIDs map lbconfig backend names to the names of their
	// mode http and mode tcp HAProxy backends.
	ids, tcpIDs map[string]string
	// bridges are the HTTPS ports whose terminating frontend sits behind
	// an SNI-routing one.
	bridges []int32
	// userlistIDs maps credentials names to their userlists.
	userlistIDs map[string]string
	// limits are the rate limit zones (ratelimit.go).
	limits rateLimitTables
	// errors are the error pages' sites (errorpages.go).
	errors errorSites
	// extAuths are the external authentications (extauth.go).
	extAuths extAuthRules
	// mirrors are the request mirrors (mirror.go).
	mirrors mirrorRules
	// timed are the backends of routes with timeouts (timeouts.go).
	timed map[string]bool
	// retries are the retry variants of backends, by name (retry.go).
	retries map[string][]retryVariant
	// terminated counts the frontends that terminate TLS for a TCP
	// backend (tlsterminate.go).
	terminated int
	cfgText    lines
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

// tlsGlobal writes the TLS settings of every HTTPS bind line: the
// provider's profile (provider.IntermediateTLS) and session resumption.
// With resumption on, HAProxy keeps its session cache (tune.ssl.cachesize,
// 20000 sessions by default), and issues tickets with keys of its own:
// both live as long as a worker (tickets.go).
func tlsGlobal(w *lines, noResumption bool) {
	p := provider.IntermediateTLS()
	ciphers := make([]string, len(p.CipherSuites))
	for i, c := range p.CipherSuites {
		ciphers[i] = c.OpenSSL
	}
	curves := make([]string, len(p.Curves))
	for i, c := range p.Curves {
		curves[i] = c.OpenSSL
	}
	minVer := map[uint16]string{tls.VersionTLS12: "TLSv1.2", tls.VersionTLS13: "TLSv1.3"}[p.MinVersion]
	opts := "ssl-min-ver " + minVer
	if noResumption {
		opts += " no-tls-tickets"
	}
	w.line("    ssl-default-bind-options " + opts)
	w.line("    ssl-default-bind-ciphers " + strings.Join(ciphers, ":"))
	w.line("    ssl-default-bind-ciphersuites " + strings.Join(p.TLS13CipherSuites, ":"))
	w.line("    ssl-default-bind-curves " + strings.Join(curves, ":"))
	if noResumption {
		w.line("    tune.ssl.cachesize 0")
	}
}

// pathRules open every HTTP frontend. They refuse with 400 the request
// targets that lbconfig.CheckRequestTarget and lbconfig.NormalizePath
// refuse, then normalize the path as NormalizePath does, before any rule
// reads it: routing (the path sample) and the request sent on see the
// normalized path. HAProxy's HTTP/1.1 parser itself answers 400 to a
// raw space, control byte, non-ASCII byte or "#", but not to DEL, and
// its HTTP/2 side lets non-ASCII bytes through: the first rule is for
// those. normalize-uri also decodes and upper-cases the query, which
// NormalizePath leaves as it came: it is saved first and put back.
//
// The regular expressions and the path normalizers run only where the
// path holds what they act on (a "%", "//", "/."), which a substring
// match finds for a fraction of their cost: most paths need none of
// them, and every rule costs each request that runs it. A normalizer
// finds nothing to do without its substring, so the result is the same;
// the substrings are checked again before each normalizer, on the path
// the ones before left. One match of all four substrings first sets
// txn.path_work, and each rule after it looks at the path only where
// that is set: a path without any of them costs one match and a
// variable lookup per rule instead of a match per rule. A path that
// holds none of them is never changed by the rules, so none can bring
// one in later. The percent normalizers run only where the path
// holds a "%", and then "strict": HAProxy 2.6 misreads them followed by a
// condition otherwise (as path-merge-slashes). Strict refuses a malformed
// percent-encoding anywhere in the target, and the path has none (the
// deny rule above), so the query, which NormalizePath leaves be, is set
// aside first (replaced by "x") and put back after.
var pathRules = [...]string{
	`http-request deny deny_status 400 if { url -m reg [^\x21-\x7e] } || { url -m sub \# }`,
	`http-request set-var(txn.path_work) bool(1) if { path -m sub % \\ // /. }`,
	`http-request deny deny_status 400 if ` + pathWork + `{ path -m sub \\ } || ` + pathWork + `{ path -m sub % } { path -m reg -i %(2f|5c|[01][0-9a-f]|7f) } || ` + pathWork + `{ path -m sub % } { path -m reg %([^0-9a-fA-F]|.[^0-9a-fA-F]|.?$) }`,
	`http-request set-var(txn.query) query if ` + pathWork + `{ path -m sub % } { query -m found }`,
	`http-request set-query x if { var(txn.query) -m found }`,
	`http-request normalize-uri percent-decode-unreserved strict if ` + pathWork + `{ path -m sub % }`,
	`http-request normalize-uri percent-to-uppercase strict if ` + pathWork + `{ path -m sub % }`,
	`http-request normalize-uri path-merge-slashes if ` + pathWork + `{ path -m sub // }`,
	`http-request normalize-uri path-strip-dot if ` + pathWork + `{ path -m sub /. }`,
	`http-request normalize-uri path-strip-dotdot full if ` + pathWork + `{ path -m sub /.. }`,
	`http-request set-query %[var(txn.query)] if { var(txn.query) -m found }`,
}

// pathWork is the condition, followed by a space, that the path holds a
// substring a path rule acts on (txn.path_work, set by the second rule).
const pathWork = "{ var(txn.path_work) -m found } "

func (r *renderer) listener(lb lbconfig.LoadBalancer, l lbconfig.Listener) error {
	switch l.Protocol {
	case lbconfig.ProtocolHTTP:
		return r.httpListener(lb, l, false)
	case lbconfig.ProtocolHTTPS:
		if !slices.ContainsFunc(l.VirtualHosts, func(vh lbconfig.VirtualHost) bool { return vh.Passthrough != nil }) {
			return r.httpListener(lb, l, false)
		}
		// The public port routes by SNI; what it does not pass through
		// goes to a TLS-terminating frontend on a unix socket, with the
		// client's address in a PROXY header.
		if err := r.sniListener(lb, l); err != nil {
			return err
		}
		return r.httpListener(lb, l, true)
	case lbconfig.ProtocolTCP:
		return r.tcpListener(lb, l)
	case lbconfig.ProtocolTLSPassthrough:
		return r.sniListener(lb, l)
	}
	return fmt.Errorf("protocol: unknown protocol %q", l.Protocol)
}

// httpListener renders the frontend of an HTTP or HTTPS listener. Behind
// SNI, it is the internal frontend that terminates the TLS the public
// port does not pass through.
func (r *renderer) httpListener(lb lbconfig.LoadBalancer, l lbconfig.Listener, behindSNI bool) error {
	proto := "http"
	if l.Protocol == lbconfig.ProtocolHTTPS {
		proto = "https"
	}
	port := strconv.Itoa(int(l.Port))
	prefix := mapsDir + "/" + r.at.key + "-"
	hostsMap, wildMap, exactMap, prefixMap := prefix+"hosts.map", prefix+"wildcards.map", prefix+"exact.map", prefix+"prefix.map"
	var hosts, wild, exact, pfx lines
	var multi multiLabels
	catchAll := ""
	redirects := map[string]lbconfig.HTTPSRedirect{}
	var access accessRules
	var hdrs headerRules
	var paths pathRouting
	var auth authRules
	var redirectsTo redirectRules
	var splits splitRules
	var errs errorRules
	var timeouts timeoutRules
	var limited []string // rate limit zone ids
	var authed []string  // external authentication ids
	mirrored := false    // a route has mirrors
	for k, vh := range l.VirtualHosts {
		id := "v" + strconv.Itoa(k)
		switch {
		case vh.Hostname == "":
			catchAll = id
		case multi.add(vh, id): // wildcard.go
		case strings.HasPrefix(vh.Hostname, "*."):
			wild.line(vh.Hostname[1:] + " " + id) // ".example.com"
		default:
			hosts.line(vh.Hostname + " " + id)
		}
		seen := map[string]bool{}
		for n, rt := range vh.Routes {
			be := r.ids[rt.Backend.Name]
			if rt.Redirect != nil {
				if rt.HTTPSRedirect != nil {
					return fmt.Errorf("virtual host %d (%q): route %d: a redirect and an HTTPS redirect", k, vh.Hostname, n)
				}
				// The map value names the redirect (redirect.go).
				id, err := redirectsTo.add(rt, vh.Hostname, l)
				if err != nil {
					return fmt.Errorf("virtual host %d (%q): route %d: redirect.%w", k, vh.Hostname, n, err)
				}
				be = id
			} else if rd := rt.HTTPSRedirect; rd != nil {
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
			} else if rt.Retry != nil {
				if err := checkRetry(rt); err != nil {
					return fmt.Errorf("virtual host %d (%q): route %d: %w", k, vh.Hostname, n, err)
				}
				be = r.retryBackend(rt) // retry.go
			}
			if err := lbconfig.CheckPath(rt.Path); err != nil && rt.Match != lbconfig.MatchRegex {
				return fmt.Errorf("virtual host %d (%q): route %d: %w", k, vh.Hostname, n, err)
			}
			hid, err := hdrs.add(rt)
			if err != nil {
				return fmt.Errorf("virtual host %d (%q): route %d: %w", k, vh.Hostname, n, err)
			}
			if hid != "" {
				be += "^" + hid // headers.go
			}
			if rt.Access != nil {
				// The map value carries the route's access rule after
				// "~", which no backend or redirect name holds.
				id, err := access.add(rt.Access)
				if err != nil {
					return fmt.Errorf("virtual host %d (%q): route %d: access: %w", k, vh.Hostname, n, err)
				}
				be += "~" + id
			}
			if rt.RateLimit != nil && rt.HTTPSRedirect == nil && rt.Redirect == nil {
				id, err := r.limits.add(rt.RateLimit)
				if err != nil {
					return fmt.Errorf("virtual host %d (%q): route %d: %w", k, vh.Hostname, n, err)
				}
				be += "~" + id
				if !slices.Contains(limited, id) {
					limited = append(limited, id)
				}
			}
			if rt.BasicAuth != nil {
				// After "!", which no backend, redirect or access id holds.
				id, err := auth.add(rt.BasicAuth, r.userlistIDs)
				if err != nil {
					return fmt.Errorf("virtual host %d (%q): route %d: basicAuth: %w", k, vh.Hostname, n, err)
				}
				be += "!" + id
			}
			if rt.ExternalAuth != nil && rt.HTTPSRedirect == nil && rt.Redirect == nil {
				// After "@", which nothing before it holds (extauth.go).
				id, err := r.extAuths.add(rt.ExternalAuth)
				if err != nil {
					return fmt.Errorf("virtual host %d (%q): route %d: %w", k, vh.Hostname, n, err)
				}
				be += "@" + id
				if !slices.Contains(authed, id) {
					authed = append(authed, id)
				}
			}
			if rt.HTTPSRedirect == nil && rt.Redirect == nil {
				eid, err := errs.add(r, r.at.key, l, rt)
				if err != nil {
					return fmt.Errorf("virtual host %d (%q): route %d: %w", k, vh.Hostname, n, err)
				}
				if eid != "" {
					be += errorMarker + eid // errorpages.go
				}
			}
			be, regex, err := paths.add(id, rt, be)
			if err != nil {
				return fmt.Errorf("virtual host %d (%q): route %d: %w", k, vh.Hostname, n, err)
			}
			if be, err = timeouts.add(rt, be); err != nil { // timeouts.go
				return fmt.Errorf("virtual host %d (%q): route %d: %w", k, vh.Hostname, n, err)
			}
			r.markTimed(rt)
			if be, err = r.mirrors.add(r, rt, be); err != nil { // mirror.go
				return fmt.Errorf("virtual host %d (%q): route %d: %w", k, vh.Hostname, n, err)
			}
			mirrored = mirrored || len(rt.Mirrors) > 0
			if err := refuseStickyBackends(rt); err != nil { // sticky.go
				return fmt.Errorf("virtual host %d (%q): route %d: %w", k, vh.Hostname, n, err)
			}
			// Requests route on their normalized path (pathRules).
			path := rt.MatchPath()
			// Keys are "<vhost>:<path>". Prefix keys end in "/" and the
			// lookup key is the request path plus "/", so a map_beg
			// (longest prefix) match is an element-wise prefix match:
			// "/foo/" begins "/foo/", "/foo//" and "/foo/bar/" but not
			// "/foobar/". A Regex route's key is its pattern.
			key := id + ":" + path
			if rt.Match == lbconfig.MatchPrefix {
				key = id + ":" + strings.TrimRight(path, "/") + "/"
			}
			// Exact "/foo/" and Prefix "/foo" have the same key, in
			// different maps.
			seenKey := string(rt.Match) + key
			marker, err := splits.add(seenKey, rt, be, suffixOf(be), r.ids) // split.go
			if err != nil {
				return fmt.Errorf("virtual host %d (%q): route %d: %w", k, vh.Hostname, n, err)
			}
			if seen[seenKey] {
				continue // an earlier route with the same match wins
			}
			seen[seenKey] = true
			if marker != "" {
				be = marker
			}
			splits.entry(rt, be, regex)
			if regex {
				paths.regexRule(id, rt, be)
				continue
			}
			if rt.Match == lbconfig.MatchExact {
				exact.line(key + " " + be)
			} else {
				pfx.line(key + " " + be)
			}
		}
		if err := splits.fallThrough(); err != nil {
			return fmt.Errorf("virtual host %d (%q): %w", k, vh.Hostname, err)
		}
	}
	r.files[hostsMap] = []byte(hosts.String())
	r.files[wildMap] = []byte(wild.String())
	r.files[exactMap] = []byte(exact.String())
	r.files[prefixMap] = []byte(pfx.String())
	for _, a := range access.rules {
		if len(a.allow) > 0 {
			r.files[prefix+a.id+"-allow.lst"] = []byte(a.allow)
		}
		if len(a.deny) > 0 {
			r.files[prefix+a.id+"-deny.lst"] = []byte(a.deny)
		}
	}

	w := &r.cfgText
	w.line("")
	w.line("# load balancer " + quote(lb.Name) + ", listener port " + port + r.at.comment)
	binds := r.bindLines(l.Port)
	if behindSNI {
		w.line("# (TLS terminated here, behind SNI routing)")
		w.line("frontend " + frontendID(r.at.key) + "_tls")
		binds = []string{"    bind unix@" + tlsSocket(r.opts.RuntimeDir, r.at.key) + " mode 600 accept-proxy"}
	} else {
		w.line("frontend " + frontendID(r.at.key))
	}
	cas, err := r.clientAuths(l) // clientauth.go
	if err != nil {
		return err
	}
	tls := ""
	if l.Protocol == lbconfig.ProtocolHTTPS {
		if tls, err = r.tls(l, cas); err != nil {
			return err
		}
	}
	for _, b := range binds {
		w.line(b + tls)
	}
	w.line("    maxconn " + strconv.Itoa(r.opts.Limits.MaxConnections))
	// After a reload the old worker answers the next request of each idle
	// keep-alive connection with "Connection: close" instead of closing
	// it at once, which would race a request the client is sending.
	w.line("    option idle-close-on-response")
	r.headLimitRules()
	for _, rule := range pathRules {
		w.line("    " + rule)
	}
	hopByHop(w)
	if v := r.opts.Limits.ServerHeader; v != "" {
		if err := provider.CheckServerHeader(v); err != nil {
			return fmt.Errorf("server header: %w", err)
		}
		// Before the routes' response changes, which may remove it.
		w.line("    http-response set-header server " + v + " unless { res.hdr(server) -m found }")
	}
	// The host without port and trailing dot; each regsub runs only
	// where there is something to strip (a substring match is cheaper).
	// A lookup in a map that is empty in this generation is left out:
	// maps change only with a new generation, never at run time.
	// The whole field (req.fhdr): req.hdr splits it at commas and takes
	// the last value, which would route "Host: a.example,b.example" as
	// b.example; whole, it is no host name and routes nowhere, as on the
	// builtin provider.
	if wild.Len() > 0 || len(multi.entries) > 0 || len(redirects) > 0 || redirectsTo.readsHost {
		w.line("    http-request set-var(txn.host) req.fhdr(host),lower")
		w.line("    http-request set-var(txn.host) var(txn.host),regsub(:[0-9]+$,) if { var(txn.host) -m sub : }")
		w.line("    http-request set-var(txn.host) var(txn.host),regsub([.]$,) if { var(txn.host) -m end . }")
		if hosts.Len() > 0 {
			w.line("    http-request set-var(txn.vhost) var(txn.host),map_str(" + hostsMap + ")")
		}
	} else if hosts.Len() > 0 {
		// Nothing but this lookup reads the host, so it is not kept in
		// txn.host, which would cost a string copy per request: the field
		// lower-cased is looked up as it is, and only a Host the map does
		// not hold is looked up again without its port and trailing dot
		// (no key holds ':' or ends in '.': lbconfig.CheckHostname).
		w.line("    http-request set-var(txn.vhost) req.fhdr(host),lower,map_str(" + hostsMap + ")")
		w.line("    http-request set-var(txn.vhost) req.fhdr(host),lower,regsub(:[0-9]+$,),regsub([.]$,),map_str(" + hostsMap + ") if !{ var(txn.vhost) -m found } { req.fhdr(host) -m sub : } || !{ var(txn.vhost) -m found } { req.fhdr(host) -m end . }")
	}
	if wild.Len() > 0 {
		w.line("    http-request set-var(txn.vhost) var(txn.host),regsub(^[^.]+,),map_str(" + wildMap + ") if !{ var(txn.vhost) -m found } { var(txn.host) -m reg ^[^.] }")
	}
	if rule := multi.write(r.files, prefix+"multilabel.map", "http-request", "txn.host", "txn.vhost"); rule != "" {
		w.line(rule)
	}
	if catchAll != "" {
		w.line("    http-request set-var(txn.vhost) str(" + catchAll + ") if !{ var(txn.vhost) -m found }")
	}
	sni := sniHosts{multi: &multi, multiMap: prefix + "clientsni-multilabel.map", catchAll: catchAll}
	if hosts.Len() > 0 {
		sni.hostsMap = hostsMap
	}
	if wild.Len() > 0 {
		sni.wildMap = wildMap
	}
	groups, err := connectionGroups(l) // misdirect.go
	if err != nil {
		return err
	}
	if cas != nil || groups != nil {
		sni.lines(w, r.files) // clientauth.go
	}
	cas.lines(w, r.files, prefix)
	groups.lines(w, r.files, prefix)
	if exact.Len() > 0 || pfx.Len() > 0 {
		w.line("    http-request set-var(txn.path) path")
	}
	lookup := func(w *lines, exactCond, prefixCond string) {
		if exact.Len() > 0 {
			w.line("    http-request set-var(txn.backend) var(txn.vhost),concat(:,txn.path,),map_str(" + exactMap + ") if " + exactCond)
		}
		if pfx.Len() > 0 {
			w.line("    http-request set-var(txn.backend) var(txn.vhost),concat(:,txn.path,/),map_beg(" + prefixMap + ") if " + prefixCond)
		}
		paths.regexLines(w)
		splits.lines(w)
	}
	lookup(w, "{ var(txn.vhost) -m found }", "{ var(txn.vhost) -m found } !{ var(txn.backend) -m found }")
	falls := newFallThroughs(l) // fallthrough.go
	falls.lines(w, r.files, prefix+"fallthrough.map", lookup)
	r.mirrors.splitLines(w, mirrored)
	timeouts.lines(w)
	paths.splitLines(w)
	errs.splitLines(w)
	r.extAuths.splitLines(w, authed)
	auth.splitLines(w)
	rateLimitKey(w, limited)
	if len(access.rules) > 0 {
		// Refused right after routing, before any redirect or backend,
		// by the address of the connection (src), never a header.
		w.line("    http-request set-var(txn.access) var(txn.backend),field(2,~) if { var(txn.backend) -m sub ~ }")
		w.line("    http-request set-var(txn.backend) var(txn.backend),field(1,~) if { var(txn.access) -m found }")
		for _, a := range access.rules {
			var conds []string
			if len(a.deny) > 0 {
				conds = append(conds, "{ var(txn.access) -m str "+a.id+" } { src -f "+prefix+a.id+"-deny.lst }")
			}
			if len(a.allow) > 0 {
				conds = append(conds, "{ var(txn.access) -m str "+a.id+" } !{ src -f "+prefix+a.id+"-allow.lst }")
			}
			w.line("    http-request return status 403 content-type \"text/plain; charset=utf-8\" string \"" + forbiddenBody + "\" if " + strings.Join(conds, " || "))
		}
	}
	// Before splitting off the header rule: the rate limit's id, last
	// in the map value, goes first.
	r.limits.rules(w, limited)
	hdrs.splitLines(w)
	errs.siteLines(w)
	// The client's address is written as text once, into X-Real-IP, and
	// X-Forwarded-For copies it from there: formatting an address costs
	// more than finding a field.
	w.line("    http-request set-header X-Real-IP %[src]")
	w.line("    http-request set-header X-Forwarded-For \"%[req.fhdr(x-forwarded-for)], %[req.fhdr(x-real-ip)]\" if { req.fhdr_cnt(x-forwarded-for) eq 1 }")
	w.line("    http-request add-header X-Forwarded-For %[req.fhdr(x-real-ip)] if !{ req.fhdr_cnt(x-forwarded-for) eq 1 }")
	w.line("    http-request set-header X-Forwarded-Host %[req.fhdr(host)]")
	w.line("    http-request set-header X-Forwarded-Proto " + proto)
	w.line("    http-request set-header X-Forwarded-Port " + port)
	redirectsTo.write(w)
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
		// pathq, not the captured request line: the normalized path,
		// and never the absolute form.
		w.line("    http-request redirect location https://" + hostPort + "%[pathq] code " + strconv.Itoa(int(rd.StatusCode)) + " if { var(txn.backend) -m str " + n + " }")
	}
	hdrs.preflightLines(w)
	auth.checkLines(w)
	r.extAuths.checkLines(w, authed, proto, l.Port)
	hdrs.ruleLines(w)
	splits.shares.lines(w) // backendheaders.go
	paths.rewriteLines(w)
	r.mirrors.actionLines(w, mirrored)
	if l.DefaultBackend == nil {
		w.line("    http-request return status 404 content-type \"text/plain; charset=utf-8\" string \"" + notFoundBody + "\" if !{ var(txn.backend) -m found }")
	}
	errs.fallbackLines(w)
	errs.responseLines(w)
	if l.DefaultBackend == nil {
		// Every request that gets here has a route: the 404 above.
		w.line("    use_backend %[var(txn.backend)]")
	} else {
		w.line("    use_backend %[var(txn.backend)] if { var(txn.backend) -m found }")
	}
	if l.DefaultBackend != nil {
		be := r.ids[l.DefaultBackend.Name]
		if be == "" {
			return fmt.Errorf("default backend %q does not exist", l.DefaultBackend.Name)
		}
		w.line("    default_backend " + be)
	}
	if behindSNI {
		w.line("")
		w.line("# to the TLS-terminating frontend of port " + port + r.at.comment)
		w.line("backend " + bridgeID(r.at.key))
		w.line("    mode tcp")
		// The terminating frontend's own timeouts close idle connections
		// and tunnels; this one must outlast the longest of them.
		w.line("    timeout tunnel " + duration(r.longestTunnelIdle()))
		w.line("    server tls unix@" + tlsSocket(r.opts.RuntimeDir, r.at.key) + " send-proxy-v2")
	}
	return nil
}

// accessRules numbers the distinct access rules of one listener, in the
// order routes first use them.
type accessRules struct {
	rules []accessRule
}

// accessRule is one lbconfig.Access as the lines of its src pattern files.
type accessRule struct {
	id, allow, deny string
}

// add returns the id of a, checking every prefix: HAProxy reads the
// files as they are written.
func (rs *accessRules) add(a *lbconfig.Access) (string, error) {
	if len(a.Allow) == 0 && len(a.Deny) == 0 {
		return "", fmt.Errorf("no allow or deny prefix")
	}
	list := func(name string, ps []netip.Prefix) (string, error) {
		var b strings.Builder
		for i, p := range ps {
			if err := lbconfig.CheckPrefix(p); err != nil {
				return "", fmt.Errorf("%s[%d]: %w", name, i, err)
			}
			b.WriteString(p.String())
			b.WriteByte('\n')
		}
		return b.String(), nil
	}
	allow, err := list("allow", a.Allow)
	if err != nil {
		return "", err
	}
	deny, err := list("deny", a.Deny)
	if err != nil {
		return "", err
	}
	for _, r := range rs.rules {
		if r.allow == allow && r.deny == deny {
			return r.id, nil
		}
	}
	id := "a" + strconv.Itoa(len(rs.rules))
	rs.rules = append(rs.rules, accessRule{id: id, allow: allow, deny: deny})
	return id, nil
}

// hopByHop writes the rules that keep hop-by-hop fields (RFC 9110,
// section 7.6.1) from passing the proxy either way, as the builtin's
// forwarding does: those a Connection field names (a Lua action, since
// the config cannot loop), the fixed ones, and Upgrade unless the
// request asks to switch (not to h2c) or the response is the switch. The
// Connection field of an upgrade becomes "upgrade" alone; HAProxy writes
// its own keep-alive or close.
func hopByHop(w *lines) {
	// The Lua actions run only where a Connection field can name others,
	// and then also settle Upgrade and Connection themselves
	// (hopbyhop.lua): most requests and responses have none (HAProxy
	// drops a Connection field of only keep-alive or close), and each
	// rule costs every request that runs it, Lua most.
	w.line("    http-request lua.hop_by_hop_req if { req.hdr(connection) -m found }")
	w.line("    http-request del-header upgrade unless { req.hdr(connection) -m found }")
	w.line("    http-request del-header keep-alive")
	w.line("    http-request del-header te")
	w.line("    http-request del-header proxy-authorization")
	w.line("    http-request del-header proxy-connection")
	w.line("    http-response lua.hop_by_hop_res if { res.hdr(connection) -m found }")
	w.line("    http-response del-header upgrade if !{ status 101 }")
	w.line("    http-response set-header connection upgrade if { status 101 }")
	w.line("    http-response del-header keep-alive")
	w.line("    http-response del-header proxy-authenticate")
	w.line("    http-response del-header proxy-connection")
}

// headSlack is what the request buffer holds beyond the head limit:
// tune.maxrewrite and room for HTX's own bookkeeping of a head with the
// most fields HAProxy takes (tune.http.maxhdr, 101).
const (
	maxRewrite = 1024
	headSlack  = maxRewrite + 1024
)

// headLimitRules answers 431 to a request whose head is over the limit,
// counted as the builtin provider counts it: the request line ("HTTP/1.1"
// and the spaces and CRLF are the 12) and the fields as req.hdrs writes
// them, "name: value" CRLF each and the blank line. They come first, before
// any rule adds a field. Heads that do not fit the request buffer at all
// get HAProxy's own 400.
//
// Counting costs every request, so it is done only for heads that may be
// over: req.len, what the request buffer holds as HTX, counts the request
// line's and the fields' text without the 4 bytes of ": " and CRLF per
// field (at most tune.http.maxhdr, 101) and the rest of headOverhead; a
// head under the limit by more than that never needs counting.
func (r *renderer) headLimitRules() {
	w := &r.cfgText
	limit := r.opts.Limits.MaxRequestHeaderBytes
	mayBeOver := "{ req.len gt " + strconv.Itoa(max(limit-headOverhead, 0)) + " }"
	// The request line without "HTTP/1.1" and its spaces and CRLF, and
	// the fields as req.hdrs writes them.
	w.line(`    http-request set-var-fmt(txn.head) "%[method]%[url]%[req.hdrs]" if ` + mayBeOver)
	w.line("    " + headTooLarge + " if " + mayBeOver + " { var(txn.head),length gt " + strconv.Itoa(limit-12) + " }")
}

// headOverhead bounds what a head has beyond req.len: 4 bytes per field
// (at most 101) and the request line's 12 and the blank line's 2.
const headOverhead = 4*101 + 16

const headTooLarge = `http-request return status 431 content-type "text/plain; charset=utf-8" string "431 request header fields too large"`

// longestTunnelIdle is the longest tunnel idle timeout of any backend.
func (r *renderer) longestTunnelIdle() time.Duration {
	d := r.opts.Limits.TunnelIdleTimeout
	for _, b := range r.cfg.Backends {
		d = max(d, b.Policy.Timeouts.Idle.Std())
	}
	return d
}

// duration renders d for haproxy.cfg: in hours, seconds or milliseconds,
// whichever is whole, and at least 1ms.
func duration(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d >= time.Second && d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return strconv.FormatInt(max(d.Milliseconds(), 1), 10) + "ms"
}

// bridgeID is the mode tcp backend that forwards the connections of an
// HTTPS port that routes by SNI to its TLS-terminating frontend.
func bridgeID(key string) string { return "be_" + key + "_tls" }

// sniListener renders a mode tcp frontend that routes TLS connections by
// server name, the way virtual hosts pick requests (exact name, else a
// one-label wildcard, else the catch-all): to the mode tcp backend of a
// passthrough virtual host as they are; on an HTTPS port everything else
// (other names, no SNI, not TLS) to the terminating frontend; on a TLS
// passthrough port everything else TLS to the listener's TCP backend, and
// what is not TLS, or has nowhere to go, is closed.
func (r *renderer) sniListener(lb lbconfig.LoadBalancer, l lbconfig.Listener) error {
	port := strconv.Itoa(int(l.Port))
	hostsMap, wildMap := mapsDir+"/"+r.at.key+"-sni-hosts.map", mapsDir+"/"+r.at.key+"-sni-wildcards.map"
	https := l.Protocol == lbconfig.ProtocolHTTPS
	fallback := ""
	if https {
		fallback = bridgeID(r.at.key)
	} else if l.TCP != nil {
		if fallback = r.tcpIDs[l.TCP.Name]; fallback == "" {
			return fmt.Errorf("tcp: backend %q does not exist", l.TCP.Name)
		}
	}
	var hosts, wild lines
	var multi multiLabels
	catchAll := ""
	for k, vh := range l.VirtualHosts {
		target := bridgeID(r.at.key)
		switch {
		case vh.TCP != nil:
			var err error
			if target, err = r.terminatorTarget(k, vh); err != nil { // tlsterminate.go
				return err
			}
		case vh.Passthrough != nil:
			if target = r.tcpIDs[vh.Passthrough.Name]; target == "" {
				return fmt.Errorf("virtual host %d (%q): passthrough: backend %q does not exist", k, vh.Hostname, vh.Passthrough.Name)
			}
		case !https:
			return fmt.Errorf("virtual host %d (%q): passthrough: virtual hosts of a TLS passthrough listener need a passthrough backend", k, vh.Hostname)
		}
		if err := lbconfig.CheckHostname(vh.Hostname); err != nil {
			return fmt.Errorf("virtual host %d: %w", k, err)
		}
		switch {
		case vh.Hostname == "":
			catchAll = target
		case multi.add(vh, target): // wildcard.go
		case strings.HasPrefix(vh.Hostname, "*."):
			wild.line(vh.Hostname[1:] + " " + target)
		default:
			hosts.line(vh.Hostname + " " + target)
		}
	}
	r.files[hostsMap] = []byte(hosts.String())
	r.files[wildMap] = []byte(wild.String())

	w := &r.cfgText
	w.line("")
	w.line("# load balancer " + quote(lb.Name) + ", listener port " + port + r.at.comment)
	w.line("frontend " + frontendID(r.at.key))
	w.line("    mode tcp")
	r.writeBinds(l.Port)
	w.line("    maxconn " + strconv.Itoa(r.opts.Limits.MaxConnections))
	w.line("    tcp-request inspect-delay " + helloTimeout)
	w.line("    tcp-request content set-var(txn.sni) req.ssl_sni,lower,regsub([.]$,) if { req.ssl_hello_type 1 }")
	w.line("    tcp-request content set-var(txn.pass) var(txn.sni),map_str(" + hostsMap + ") if { var(txn.sni) -m found }")
	w.line("    tcp-request content set-var(txn.pass) var(txn.sni),regsub(^[^.]+,),map_str(" + wildMap + ") if !{ var(txn.pass) -m found } { var(txn.sni) -m reg ^[^.] }")
	if rule := multi.write(r.files, mapsDir+"/"+r.at.key+"-sni-multilabel.map", "tcp-request content", "txn.sni", "txn.pass"); rule != "" {
		w.line(rule)
	}
	if catchAll != "" && catchAll != fallback {
		w.line("    tcp-request content set-var(txn.pass) str(" + catchAll + ") if !{ var(txn.pass) -m found } { req.ssl_hello_type 1 }")
	}
	if !https {
		w.line("    tcp-request content reject unless { req.ssl_hello_type 1 }")
		if fallback == "" {
			w.line("    tcp-request content reject unless { var(txn.pass) -m found }")
		}
	}
	w.line("    tcp-request content accept if { req.ssl_hello_type 1 }")
	w.line("    use_backend %[var(txn.pass)] if { var(txn.pass) -m found }")
	if fallback != "" {
		w.line("    default_backend " + fallback)
	}
	return r.terminators(l) // tlsterminate.go
}

// tcpListener renders a TCP listener: every connection goes to its backend.
func (r *renderer) tcpListener(lb lbconfig.LoadBalancer, l lbconfig.Listener) error {
	w := &r.cfgText
	w.line("")
	w.line("# load balancer " + quote(lb.Name) + ", listener port " + strconv.Itoa(int(l.Port)) + r.at.comment)
	w.line("frontend " + frontendID(r.at.key))
	w.line("    mode tcp")
	r.writeBinds(l.Port)
	w.line("    maxconn " + strconv.Itoa(r.opts.Limits.MaxConnections))
	split, err := r.tcpSplitLines(l) // tcpsplit.go
	if err != nil {
		return err
	}
	for _, s := range split {
		w.line("    " + s)
	}
	w.line("    default_backend " + r.tcpIDs[l.TCP.Name])
	return nil
}

// tls writes the certificates of an HTTPS listener and returns the bind
// options: the default certificate and a crt-list that picks one per SNI
// name. As in lbconfig, the default is the catch-all virtual host's
// certificate, else the provider's own; virtual hosts without one get the
// default too (listed, so that a wildcard's certificate does not cover
// them).
func (r *renderer) tls(l lbconfig.Listener, cas *clientAuths) (string, error) {
	cert := r.certificateFile
	def := ""
	for k, vh := range l.VirtualHosts {
		if vh.Hostname == "" && vh.TLS != nil {
			f, err := cert(k, vh)
			if err != nil {
				return "", err
			}
			def = f
		}
	}
	if def == "" {
		if len(r.opts.DefaultCertificate) == 0 {
			return "", errors.New("an HTTPS listener without a catch-all certificate needs the provider's default certificate (RenderOptions.DefaultCertificate)")
		}
		r.files[defaultCertFile] = r.opts.DefaultCertificate
		def = defaultCertFile
	}
	var list lines
	for k, vh := range l.VirtualHosts {
		if vh.Hostname == "" || vh.Passthrough != nil {
			continue
		}
		file := def
		if vh.TLS != nil {
			f, err := cert(k, vh)
			if err != nil {
				return "", err
			}
			file = f
		}
		list.line(file + cas.crtOptions(k) + " " + vh.Hostname)
	}
	crtList := mapsDir + "/" + r.at.key + ".crtlist"
	r.files[crtList] = []byte(list.String())
	return " ssl crt " + def + " crt-list " + crtList + " alpn h2,http/1.1" + cas.bindOptions(), nil
}

// certificateFile writes the certificate of virtual host k, vh.TLS, and
// returns its file.
func (r *renderer) certificateFile(k int, vh lbconfig.VirtualHost) (string, error) {
	c := r.cfg.Certificate(vh.TLS.Name)
	if c == nil {
		return "", fmt.Errorf("virtual host %d (%q): tls: certificate %q does not exist", k, vh.Hostname, vh.TLS.Name)
	}
	file := certFile(c.Name)
	if _, done := r.files[file]; !done {
		r.files[file] = slices.Concat(c.ChainPEM, []byte("\n"), c.KeyPEM, []byte("\n"))
	}
	return file, nil
}

// backend renders the HAProxy backends of b: mode http for HTTP routes
// (also when nothing uses b), mode tcp for TCP listeners and TLS
// passthrough. Both share one slot layout, so the runtime API moves an
// endpoint in both at once.
func (r *renderer) backend(b *lbconfig.Backend) error {
	algo, ok := balance[b.Policy.Algorithm]
	if !ok {
		return fmt.Errorf("policy.algorithm: unknown algorithm %q", b.Policy.Algorithm)
	}
	var httpOpts string
	switch b.Protocol {
	case "", lbconfig.BackendHTTP:
	case lbconfig.BackendHTTPS, lbconfig.BackendGRPCS:
		opts, err := r.serverTLS(b) // backendtls.go
		if err != nil {
			return err
		}
		httpOpts = opts
	case lbconfig.BackendH2C, lbconfig.BackendGRPC:
		httpOpts = " proto h2"
	default:
		return fmt.Errorf("protocol: unknown backend protocol %q", b.Protocol)
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
	bs := &BackendSlots{Slots: slots}
	r.layout.Backends[b.Name] = bs
	check := healthCheck(b.Policy.PassiveHealthCheck)

	type variant struct {
		id, mode, serverOpts string
		tcp                  bool
		retry                *retryVariant
	}
	var variants []variant
	if r.http[b.Name] || !r.tcp[b.Name] {
		// The protocol is what the HTTP side speaks to the endpoints; TCP
		// listeners and passthrough forward bytes as they are.
		variants = append(variants, variant{id: r.ids[b.Name], serverOpts: httpOpts})
	}
	for i := range r.retries[b.Name] {
		variants = append(variants, variant{id: r.retries[b.Name][i].id, serverOpts: httpOpts, retry: &r.retries[b.Name][i]})
	}
	if r.tcp[b.Name] {
		variants = append(variants, variant{id: r.tcpIDs[b.Name], mode: "tcp", tcp: true})
	}
	w := &r.cfgText
	for _, v := range variants {
		policy, err := policyLines(b.Policy, v.tcp)
		if err != nil {
			return err
		}
		if v.retry != nil {
			policy = append(withoutRetries(policy), v.retry.lines()...) // retry.go
		}
		bs.IDs = append(bs.IDs, v.id)
		w.line("")
		w.line("# backend " + quote(b.Name))
		w.line("backend " + v.id)
		if v.mode != "" {
			w.line("    mode " + v.mode)
		}
		if rule := statusRule(b); rule != "" && !v.tcp {
			w.line("    " + rule)
		}
		if (b.Policy.Affinity == nil || b.Policy.Affinity.Type != lbconfig.AffinityBySourceIP) && !balancesByHash(b.Policy, v.tcp) {
			w.line("    balance " + algo)
		}
		for _, l := range policy {
			w.line("    " + l)
		}
		if !v.tcp && r.timed[b.Name] {
			w.line("    " + routeTimeoutRule)
		}
		for i, s := range slots {
			addr, port := s.Address, s.Port
			if addr == "" {
				addr, port = placeholderAddr, placeholderPort
			}
			line := "    server " + serverName(i) + " " + serverAddr(addr, port) + v.serverOpts + check
			if s.State != StateReady {
				// Drain is a runtime state only: a new worker has no requests
				// in flight to let finish.
				line += " disabled"
			}
			w.line(line)
		}
	}
	return nil
}

// healthCheck renders a passive health check as server options. HAProxy
// observes the connects of real traffic (observe layer4) and marks a
// server down after ConsecutiveFailures failures in a row; it comes back
// when a TCP connect check succeeds: the first one BaseEjection later,
// then every min(2*BaseEjection, MaxEjection). While up it is checked
// every BaseEjection as well. See doc.go for how this differs from the
// builtin provider.
func healthCheck(h *lbconfig.PassiveHealthCheck) string {
	if h == nil {
		return ""
	}
	ms := func(d time.Duration) string { return strconv.FormatInt(max(d.Milliseconds(), 1), 10) + "ms" }
	base := h.BaseEjection.Std()
	down := max(base, min(2*base, h.MaxEjection.Std()))
	n := strconv.Itoa(int(max(h.ConsecutiveFailures, 1)))
	return " check inter " + ms(base) + " fastinter " + ms(base) + " downinter " + ms(down) +
		" rise 1 fall " + n + " observe layer4 error-limit " + n + " on-error mark-down"
}

func serverAddr(addr string, port int32) string {
	a := netip.MustParseAddr(addr) // checked by the caller
	p := strconv.Itoa(int(port))
	if a.Is6() && !a.Is4In6() {
		return "ipv6@" + a.String() + ":" + p
	}
	return a.Unmap().String() + ":" + p
}

// cfgQuote renders a user-supplied value as one haproxy.cfg argument:
// in single quotes, where nothing (no escape, no environment variable) is
// interpreted, with each single quote written as "'" between them. The
// value must be checked first for control characters.
func cfgQuote(v string) string {
	return "'" + strings.ReplaceAll(v, "'", `'"'"'`) + "'"
}

// regexpLiteral escapes every character of v that is not a letter or a
// digit, which makes it a literal for PCRE.
func regexpLiteral(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z') && !('A' <= c && c <= 'Z') && !('0' <= c && c <= '9') {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

const (
	tooLargeBody = "413 request entity too large"
	tooLarge     = `http-request return status 413 content-type "text/plain; charset=utf-8" string "` + tooLargeBody + `"`
)

// policyLines renders a backend's policy for its mode http or mode tcp
// HAProxy backend; the HTTP-only parts are left out of the latter.
func policyLines(p lbconfig.Policy, tcp bool) ([]string, error) {
	var out []string
	ms := func(d lbconfig.Duration) string { return strconv.FormatInt(max(d.Std().Milliseconds(), 1), 10) + "ms" }
	if t := p.Timeouts; t.Connect > 0 {
		out = append(out, "timeout connect "+ms(t.Connect))
	}
	if t := p.Timeouts; t.ResponseHeader > 0 || t.Idle > 0 || t.Send > 0 {
		// HAProxy has one server-side inactivity timeout for all three,
		// each direction: the largest (see doc.go).
		out = append(out, "timeout server "+ms(max(t.ResponseHeader, t.Idle, t.Send)))
	}
	if t := p.Timeouts; t.Idle > 0 {
		out = append(out, "timeout tunnel "+ms(t.Idle))
	}
	if p.Retries > 0 {
		out = append(out, "retries "+strconv.Itoa(int(p.Retries)))
		if !tcp {
			// A connection closed without an answer is retried (the
			// keep-alive race) only for requests that may be sent
			// twice: the backend may have acted on the others.
			out = append(out, "retry-on conn-failure empty-response",
				"http-request disable-l7-retry if !METH_GET !METH_OPTIONS !METH_PUT !METH_DELETE !METH_TRACE")
		}
	}
	if balancesByHash(p, tcp) {
		lines, err := hashLines(p.Hash)
		if err != nil {
			return nil, err
		}
		out = append(out, lines...)
	}
	if a := p.Affinity; a != nil {
		switch a.Type {
		case lbconfig.AffinityBySourceIP:
			out = append(out, "balance source", "hash-type consistent")
		case lbconfig.AffinityByCookie:
			if tcp {
				// A TCP connection carries no cookie: plain balancing.
				break
			}
			c := a.Cookie // present and checked: cfg.Validate
			line := "cookie " + cfgQuote(c.Name) + " insert indirect nocache dynamic httponly"
			if c.SameSite == "None" {
				line += " secure"
			}
			if c.SameSite != "" {
				line += " attr SameSite=" + c.SameSite
			}
			if c.MaxAge > 0 {
				line += " attr Max-Age=" + strconv.FormatInt(max(int64(c.MaxAge.Std()/time.Second), 1), 10)
			}
			path := c.Path
			if path != "" && path != "/" {
				line += " attr " + cfgQuote("Path="+path)
			}
			// Dynamic cookies are a hash of this key and the server's
			// address and port: stable across reloads, restarts and
			// runtime address changes.
			out = append(out, line, "dynamic-cookie-key ingress-controller")
			// HAProxy always writes "path=/" after the value; the
			// configured Path replaces it (http-after-response runs after
			// the cookie is inserted). On HTTPS the cookie is Secure, as
			// the builtin provider makes it.
			re := regexpLiteral(c.Name)
			if path != "" && path != "/" {
				out = append(out, "http-after-response replace-header Set-Cookie "+cfgQuote("^("+re+"=[^;]*); path=/;(.*)$")+` '\1;\2'`)
			}
			if c.SameSite != "None" {
				out = append(out, "http-after-response replace-header Set-Cookie "+cfgQuote("^("+re+"=.*)$")+` '\1; Secure' if { ssl_fc }`)
			}
		}
	}
	if n := p.MaxRequestBodyBytes; n > 0 && !tcp {
		// Content-Length is checked before anything is forwarded. A body
		// without one (chunked, or HTTP/2 without the header) is waited
		// for up to the limit and counted, when the limit fits HAProxy's
		// request buffer; above that only Content-Length is enforced.
		limit := strconv.FormatInt(n, 10)
		out = append(out, tooLarge+" if { req.hdr_val(content-length) gt "+limit+" }")
		if n <= maxChunkedLimit {
			out = append(out,
				"http-request wait-for-body time "+bodyWait+" at-least "+strconv.FormatInt(n+1, 10)+" if !{ req.hdr(content-length) -m found }",
				tooLarge+" if !{ req.hdr(content-length) -m found } { req.body_len gt "+limit+" }")
		}
	}
	return out, nil
}
