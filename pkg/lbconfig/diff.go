package lbconfig

import (
	"reflect"
	"slices"
)

// Changes is what differs between two configs.
type Changes struct {
	// Structure is true when anything other than backend endpoints changed:
	// load balancers, listeners, hosts, routes, certificates, credentials, the set of
	// backends or their protocol, TLS, policy or status.
	Structure bool
	// Endpoints names the backends, sorted, whose endpoints changed.
	Endpoints []string
}

// Empty reports whether nothing changed.
func (c Changes) Empty() bool { return !c.Structure && len(c.Endpoints) == 0 }

// Diff compares two sorted configs. A nil config is treated as empty.
func Diff(old, new *Config) Changes {
	if old == nil {
		old = &Config{}
	}
	if new == nil {
		new = &Config{}
	}
	var ch Changes
	ch.Structure = !reflect.DeepEqual(old.LoadBalancers, new.LoadBalancers) ||
		!reflect.DeepEqual(old.Certificates, new.Certificates) ||
		!reflect.DeepEqual(old.Credentials, new.Credentials) ||
		len(old.Backends) != len(new.Backends)
	oldByName := make(map[string]*Backend, len(old.Backends))
	for i := range old.Backends {
		oldByName[old.Backends[i].Name] = &old.Backends[i]
	}
	for i := range new.Backends {
		nb := &new.Backends[i]
		ob, ok := oldByName[nb.Name]
		if !ok || ob.Protocol != nb.Protocol || ob.Status != nb.Status || !reflect.DeepEqual(ob.Policy, nb.Policy) || !reflect.DeepEqual(ob.TLS, nb.TLS) {
			ch.Structure = true
			continue
		}
		if !slices.Equal(ob.Endpoints, nb.Endpoints) {
			ch.Endpoints = append(ch.Endpoints, nb.Name)
		}
	}
	slices.Sort(ch.Endpoints)
	return ch
}
