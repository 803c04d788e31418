package builtin

import (
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// compileValidRoutes compiles routes, sorted and validated, as the one virtual
// host of an HTTP listener whose backends are those named.
func compileValidRoutes(t *testing.T, routes []lbconfig.Route, names ...string) *portRoutes {
	t.Helper()
	cfg := &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "lb", Listeners: []lbconfig.Listener{{Port: 80, Protocol: lbconfig.ProtocolHTTP, VirtualHosts: []lbconfig.VirtualHost{{Routes: routes}}}}}},
	}
	backends := map[string]*backend{}
	for _, name := range names {
		cfg.Backends = append(cfg.Backends, lbconfig.Backend{Name: name})
		backends[name] = &backend{name: name}
	}
	cfg.Sort()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	pr, err := compileListener(cfg.LoadBalancers[0].Listeners[0], func(r *lbconfig.BackendRef) (*backend, error) {
		if r == nil {
			return nil, nil
		}
		return backends[r.Name], nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pr
}
