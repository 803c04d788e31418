package kubetest

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"
)

// answerWithin is how long a pod on the bridge may take to accept the
// node's connection: a local handshake takes well under a millisecond,
// an unanswered SYN is retried only after a second.
const answerWithin = 900 * time.Millisecond

// TestPodNetworkChurn adds and removes pods as a conformance run does,
// often giving a removed pod's address to the next, and after every step
// every live pod must answer the node at once: the node's and the pods'
// neighbour entries and the bridge's forwarding must never point at a
// removed pod's veth.
func TestPodNetworkChurn(t *testing.T) {
	n, err := newPodNetwork()
	if err != nil {
		t.Fatal(err)
	}
	defer n.close()
	rng := rand.New(rand.NewPCG(1, 2))
	var live []*echoPod
	defer func() {
		for _, p := range live {
			p.remove(t)
		}
	}()
	for step := range 60 {
		if len(live) > 2 && (len(live) >= 8 || rng.IntN(2) == 0) {
			i := rng.IntN(len(live))
			gone := live[i]
			live = append(live[:i], live[i+1:]...)
			gone.remove(t)
			if rng.IntN(2) == 0 {
				// The next pod gets the address just freed.
				n.mu.Lock()
				n.last = gone.host - 1
				n.mu.Unlock()
			}
		} else {
			live = append(live, addEchoPod(t, n))
		}
		for _, p := range live {
			if err := p.exchange(); err != nil {
				t.Fatalf("step %d: %v\n%s", step, err, n.describe(p.podSandbox))
			}
		}
		// The pods cache the node's MAC address: it must not change
		// when the port whose address the bridge took goes.
		if br, err := net.InterfaceByName(n.bridge()); err != nil || br.HardwareAddr.String() != macOf(n.gateway()) {
			t.Fatalf("step %d: bridge %s: %v, MAC %v, want %s", step, n.bridge(), err, br, macOf(n.gateway()))
		}
	}
}

// echoPod is a pod sandbox with an echo listener in it.
type echoPod struct {
	*podSandbox
	n  *podNetwork
	ln net.Listener
}

func addEchoPod(t *testing.T, n *podNetwork) *echoPod {
	t.Helper()
	s, err := n.addPod()
	if err != nil {
		t.Fatal(err)
	}
	ln := listenIn(t, s.Namespace, "tcp", s.Addr.String()+":7000")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return &echoPod{podSandbox: s, n: n, ln: ln}
}

func (p *echoPod) remove(t *testing.T) {
	t.Helper()
	p.ln.Close()
	if err := p.n.removePod(p.podSandbox); err != nil {
		t.Error(err)
	}
}

// exchange connects from the node and echoes a few bytes, which leaves
// the node and the pod holding confirmed neighbour entries of each other.
func (p *echoPod) exchange() error {
	began := time.Now()
	conn, err := net.DialTimeout("tcp", p.ln.Addr().String(), answerWithin)
	if err != nil {
		return fmt.Errorf("pod %s at %s did not answer within %s: %w", p.Namespace, p.Addr, time.Since(began).Round(time.Millisecond), err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(answerWithin))
	if _, err := conn.Write([]byte("ping")); err != nil {
		return err
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(conn, buf); err != nil {
		return fmt.Errorf("pod %s at %s: echo: %w", p.Namespace, p.Addr, err)
	}
	return nil
}
