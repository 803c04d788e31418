package builtin

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"

	"ingress-controller/pkg/lbconfig"
)

// table is one immutable routing table built from one applied config. The
// only state that changes after the build is the round-robin counter of each
// backend.
type table struct {
	ports map[int32]*portRoutes
	// binds lists the listener ports in config order, with who asked for
	// them, so that a failed bind names the load balancer and listener.
	binds []bind
	// endpoints is the Result of the Apply that built this table.
	endpoints map[string][]lbconfig.Address
	// backends lists every backend, for attaching connection pools.
	backends []*backend
}

type bind struct {
	port     int32
	lb       string
	listener int
}

// portRoutes routes the requests of one listener port.
type portRoutes struct {
	// portValue and protoValue are the X-Forwarded-Port and -Proto header
	// values. Shared by every request; never modified.
	portValue  []string
	protoValue []string
	// exact is keyed by hostname, wildcard by what follows "*.".
	exact    map[string]*vhost
	wildcard map[string]*vhost
	any      *vhost
	fallback *backend // the listener's default backend, or nil
}

type vhost struct {
	routes []route
}

type route struct {
	// path is the route path; for prefix routes without its trailing "/",
	// so "/" becomes "" and matches every path.
	path    string
	prefix  bool
	backend *backend
}

type backend struct {
	name   string
	policy *policy
	// endpoints holds only the endpoints that take new requests.
	endpoints []endpoint
	// byCookie finds an endpoint by its affinity cookie value; nil
	// without cookie affinity.
	byCookie map[string]*endpoint
	next     atomic.Uint64
}

type endpoint struct {
	addr string // "ip:port", "[ip6]:port"
	// pool holds the idle connections to addr. Set by Apply before the
	// table is published; shared with other tables that have addr.
	pool *connPool
	// cookie is the affinity cookie value that names this endpoint.
	cookie string
}

// buildTable compiles cfg, which must be sorted and valid. It rejects what
// this provider cannot serve yet.
func buildTable(cfg *lbconfig.Config, listenAddress string) (*table, error) {
	backends := make(map[string]*backend, len(cfg.Backends))
	list := make([]*backend, 0, len(cfg.Backends))
	for i := range cfg.Backends {
		b := &cfg.Backends[i]
		nb := &backend{name: b.Name, policy: compilePolicy(b.Policy)}
		for _, e := range b.Endpoints {
			if !e.Ready || e.Terminating {
				continue
			}
			a, err := netip.ParseAddr(e.Address)
			if err != nil {
				return nil, fmt.Errorf("backend %q: endpoint %q: %w", b.Name, e.Address, err)
			}
			addr := netip.AddrPortFrom(a, uint16(e.Port)).String()
			nb.endpoints = append(nb.endpoints, endpoint{addr: addr, cookie: cookieValue(addr)})
		}
		if nb.policy.cookie != "" {
			nb.byCookie = make(map[string]*endpoint, len(nb.endpoints))
			for i := range nb.endpoints {
				nb.byCookie[nb.endpoints[i].cookie] = &nb.endpoints[i]
			}
		}
		backends[b.Name] = nb
		list = append(list, nb)
	}
	lookup := func(ref *lbconfig.BackendRef) (*backend, error) {
		if ref == nil {
			return nil, nil
		}
		b := backends[ref.Name]
		if b == nil {
			return nil, fmt.Errorf("backend %q does not exist", ref.Name)
		}
		return b, nil
	}

	t := &table{
		ports:     map[int32]*portRoutes{},
		endpoints: make(map[string][]lbconfig.Address, len(cfg.LoadBalancers)),
		backends:  list,
	}
	owner := map[int32]string{}
	for _, lb := range cfg.LoadBalancers {
		ports := make([]int32, 0, len(lb.Listeners))
		for j, l := range lb.Listeners {
			where := fmt.Sprintf("load balancer %q: listener %d (port %d)", lb.Name, j, l.Port)
			if l.Protocol != lbconfig.ProtocolHTTP {
				return nil, fmt.Errorf("%s: protocol %s is not supported yet by the builtin provider", where, l.Protocol)
			}
			if other, ok := owner[l.Port]; ok {
				return nil, fmt.Errorf("%s: port %d is already used by load balancer %q", where, l.Port, other)
			}
			owner[l.Port] = lb.Name
			pr, err := compileListener(l, lookup)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			t.ports[l.Port] = pr
			t.binds = append(t.binds, bind{port: l.Port, lb: lb.Name, listener: j})
			ports = append(ports, l.Port)
		}
		addrs := []lbconfig.Address{}
		if listenAddress != "" {
			addrs = append(addrs, lbconfig.Address{IP: listenAddress, Ports: ports})
		}
		t.endpoints[lb.Name] = addrs
	}
	return t, nil
}

func compileListener(l lbconfig.Listener, lookup func(*lbconfig.BackendRef) (*backend, error)) (*portRoutes, error) {
	pr := &portRoutes{
		portValue:  []string{strconv.Itoa(int(l.Port))},
		protoValue: []string{"http"},
		exact:      map[string]*vhost{},
		wildcard:   map[string]*vhost{},
	}
	var err error
	if pr.fallback, err = lookup(l.DefaultBackend); err != nil {
		return nil, fmt.Errorf("default backend: %w", err)
	}
	for k, vh := range l.VirtualHosts {
		v := &vhost{routes: make([]route, 0, len(vh.Routes))}
		for r, rt := range vh.Routes {
			b, err := lookup(&rt.Backend)
			if err != nil {
				return nil, fmt.Errorf("virtual host %d (%q): route %d: %w", k, vh.Hostname, r, err)
			}
			cr := route{path: rt.Path, backend: b}
			switch rt.Match {
			case lbconfig.MatchExact:
			case lbconfig.MatchPrefix:
				cr.prefix = true
				cr.path = strings.TrimRight(rt.Path, "/")
			default:
				return nil, fmt.Errorf("virtual host %d (%q): route %d: unknown match type %q", k, vh.Hostname, r, rt.Match)
			}
			v.routes = append(v.routes, cr)
		}
		switch name := vh.Hostname; {
		case name == "":
			pr.any = v
		case strings.HasPrefix(name, "*."):
			pr.wildcard[name[2:]] = v
		default:
			pr.exact[name] = v
		}
	}
	return pr, nil
}

// secure reports an HTTPS listener.
func (pr *portRoutes) secure() bool { return pr.protoValue[0] == "https" }

// backendFor picks the backend of a request by its Host header and path,
// without allocating (unless the host holds upper-case letters) or locking.
// It returns nil when nothing matches and there is no default backend.
func (pr *portRoutes) backendFor(hostHeader, path string) *backend {
	host := lbconfig.NormalizeHost(hostHeader)
	v := pr.exact[host]
	if v == nil && len(pr.wildcard) > 0 {
		if i := strings.IndexByte(host, '.'); i > 0 {
			v = pr.wildcard[host[i+1:]]
		}
	}
	if v == nil {
		v = pr.any
	}
	if v != nil {
		for i := range v.routes {
			if v.routes[i].matches(path) {
				return v.routes[i].backend
			}
		}
	}
	return pr.fallback
}

// matches implements lbconfig.Route.Matches on the precompiled route.
func (r *route) matches(p string) bool {
	if !r.prefix {
		return p == r.path
	}
	n := len(r.path)
	return n == 0 || (strings.HasPrefix(p, r.path) && (len(p) == n || p[n] == '/'))
}
