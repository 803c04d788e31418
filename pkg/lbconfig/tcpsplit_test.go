package lbconfig

import (
	"slices"
	"testing"
)

// tcpSplitConfig has a TCP listener spreading connections 70/30 over
// two backends and one with weight 0.
func tcpSplitConfig() *Config {
	return &Config{
		LoadBalancers: []LoadBalancer{{Name: "gateway/ns/gw", Listeners: []Listener{{
			Port: 9000, Protocol: ProtocolTCP, TCP: &BackendRef{Name: "ns/a:3000"},
			TCPBackends: []WeightedBackend{{Name: "ns/c:3000"}, {Name: "ns/b:3000", Weight: 30}, {Name: "ns/a:3000", Weight: 70}},
		}}}},
		Backends: []Backend{{Name: "ns/a:3000"}, {Name: "ns/b:3000"}, {Name: "ns/c:3000"}},
	}
}

func TestTCPSplitSortAndValidate(t *testing.T) {
	c := tcpSplitConfig()
	c.Sort()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	l := c.LoadBalancers[0].Listeners[0]
	var names []string
	for _, b := range l.TCPBackends {
		names = append(names, b.Name)
	}
	if want := []string{"ns/a:3000", "ns/b:3000", "ns/c:3000"}; !slices.Equal(names, want) {
		t.Errorf("tcpBackends = %v, want %v", names, want)
	}
	sel := c.Select(func(LoadBalancer) bool { return true })
	if len(sel.Backends) != 3 {
		t.Errorf("Select kept %d backends, want the 3 the listener spreads over", len(sel.Backends))
	}
}

func TestValidateTCPSplit(t *testing.T) {
	const lf = "loadBalancers[0].listeners[0]"
	for name, tc := range map[string]struct {
		change func(l *Listener)
		field  string
	}{
		"ok":                   {func(*Listener) {}, ""},
		"negative weight":      {func(l *Listener) { l.TCPBackends[1].Weight = -1 }, lf + ".tcpBackends[1].weight"},
		"huge weight":          {func(l *Listener) { l.TCPBackends[0].Weight = MaxWeight + 1 }, lf + ".tcpBackends[0].weight"},
		"zero total":           {func(l *Listener) { l.TCPBackends[0].Weight, l.TCPBackends[1].Weight = 0, 0 }, lf + ".tcpBackends"},
		"unknown backend":      {func(l *Listener) { l.TCPBackends[2].Name = "ns/z:1" }, lf + ".tcpBackends[2].name"},
		"primary not a member": {func(l *Listener) { l.TCP = &BackendRef{Name: "ns/c:3000"}; l.TCPBackends = l.TCPBackends[:2] }, lf + ".tcp"},
		"unsorted":             {func(l *Listener) { l.TCPBackends[0], l.TCPBackends[1] = l.TCPBackends[1], l.TCPBackends[0] }, lf + ".tcpBackends[1].name"},
		"duplicate":            {func(l *Listener) { l.TCPBackends[1].Name = l.TCPBackends[0].Name }, lf + ".tcpBackends[1].name"},
		"too many": {func(l *Listener) {
			for range MaxWeightedRefs {
				l.TCPBackends = append(l.TCPBackends, WeightedBackend{Name: "ns/c:3000"})
			}
		}, lf + ".tcpBackends"},
		"request changes": {func(l *Listener) {
			l.TCPBackends[0].RequestHeaders = &HeaderModifier{Set: []Header{{"X-A", "a"}}}
		}, lf + ".tcpBackends[0].requestHeaders"},
		"on an HTTP listener": {func(l *Listener) { l.Protocol, l.TCP = ProtocolHTTP, nil }, lf + ".tcpBackends"},
	} {
		t.Run(name, func(t *testing.T) {
			c := tcpSplitConfig()
			c.Sort()
			tc.change(&c.LoadBalancers[0].Listeners[0])
			checkField(t, c, tc.field)
		})
	}
}

func TestPickTCPBackend(t *testing.T) {
	l := Listener{Protocol: ProtocolTCP, TCP: &BackendRef{Name: "b"}, TCPBackends: []WeightedBackend{{Name: "a", Weight: 0}, {Name: "b", Weight: 3}, {Name: "c", Weight: 1}}}
	var got []string
	for n := range l.TCPWeight() {
		got = append(got, l.PickTCPBackend(n))
	}
	if want := []string{"b", "b", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("picks = %v, want %v", got, want)
	}
	plain := Listener{Protocol: ProtocolTCP, TCP: &BackendRef{Name: "x"}}
	if got := plain.PickTCPBackend(0); got != "x" {
		t.Errorf("a listener that does not split picks %q, want its TCP backend", got)
	}
}
