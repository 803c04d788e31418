package kubetest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// historyDepth is how many events addressHistory keeps per address.
const historyDepth = 6

// addressHistory is which namespaces had each host number and when: what
// a report of an address that does not answer needs to say whether it
// was reused, and how soon.
type addressHistory struct {
	events [256][]string
}

func (h *addressHistory) add(host int, event string) {
	e := append(h.events[host], time.Now().UTC().Format("15:04:05.000")+" "+event)
	if len(e) > historyDepth {
		e = e[len(e)-historyDepth:]
	}
	h.events[host] = e
}

// describe says what the node knows of the pod's address, to explain why
// it does not answer: the address's history, the node's neighbour
// entries and the bridge's forwarding entries (both name MAC addresses;
// the pod's is macOf(addr)), the states of the network's links and its
// namespaces.
func (n *podNetwork) describe(s *podSandbox) string {
	var b strings.Builder
	n.mu.Lock()
	fmt.Fprintf(&b, "address %s (the pod's MAC should be %s, the bridge's %s), newest last:\n", s.Addr, macOf(s.Addr), macOf(n.gateway()))
	for _, e := range n.history.events[s.host] {
		fmt.Fprintf(&b, "  %s\n", e)
	}
	n.mu.Unlock()
	for _, args := range [][]string{
		{"ip", "neigh", "show", "dev", n.bridge()},
		{"bridge", "fdb", "show", "br", n.bridge(), "dynamic"},
		{"ip", "-br", "link", "show", "master", n.bridge()},
		{"ip", "-br", "link", "show", "dev", n.bridge()},
		{"ip", "-n", s.Namespace, "-br", "link", "show"},
		{"ip", "-n", s.Namespace, "-br", "addr", "show"},
		{"ip", "-n", s.Namespace, "neigh", "show"},
	} {
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		fmt.Fprintf(&b, "$ %s\n%s", strings.Join(args, " "), out)
		if err != nil {
			fmt.Fprintf(&b, "(%v)\n", err)
		}
	}
	fmt.Fprintf(&b, "namespaces of %s: %s\n", n.prefix(), strings.Join(n.namespaces(), " "))
	return b.String()
}

// namespaces lists the network's pod namespaces.
func (n *podNetwork) namespaces() []string {
	entries, err := os.ReadDir(netnsDir)
	if err != nil {
		return []string{err.Error()}
	}
	own := fmt.Sprintf("icp%d-", n.num)
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), own) {
			names = append(names, e.Name())
		}
	}
	return names
}
