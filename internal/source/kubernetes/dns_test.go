package kubernetes_test

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"ingress-controller/internal/dnssync"
	"ingress-controller/internal/dnssync/bindtest"
	"ingress-controller/internal/dnssync/rfc2136"
	"ingress-controller/internal/nettest"
	kubesource "ingress-controller/internal/source/kubernetes"
)

// dnsDeadline bounds how soon the records follow a change of status: the
// status write and one DNS update, with the lease duration of the
// replicas when one goes.
const dnsDeadline = testReplicaLease + 10*time.Second

// startDNS makes the DNS writer of a controller under test, as
// --dns-provider=rfc2136 does, with the name template
// {{.Name}}.<zone>.
func startDNS(t *testing.T, o *dnsOptions, src *kubesource.Source, events *kubesource.Events, reg prometheus.Registerer, log *slog.Logger) *kubesource.DNSWriter {
	t.Helper()
	key, err := rfc2136.ReadKeyFile(o.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	backend, err := rfc2136.New(rfc2136.Options{Server: o.server.Addr, Key: key, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	syncer, err := dnssync.NewSyncer(backend, o.owner)
	if err != nil {
		t.Fatal(err)
	}
	zone := strings.TrimSuffix(o.server.Zone, ".")
	d, err := kubesource.NewDNSWriter(kubesource.DNSOptions{
		Syncer: syncer, Zone: zone, NameTemplate: template.Must(template.New("").Parse("{{.Name}}." + zone)),
		TTL: 30 * time.Second, PublishHosts: o.publishHosts, Source: src, Recorder: events.Recorder(),
		Metrics: reg, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// expectRecords waits until name has exactly want as records of type
// qtype on the server.
func expectRecords(t *testing.T, s *bindtest.Server, name string, qtype uint16, want []string, within time.Duration) time.Duration {
	t.Helper()
	slices.Sort(want)
	start := time.Now()
	var got []string
	for deadline := start.Add(within); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got = s.Lookup(t, name, qtype); slices.Equal(got, want) {
			return time.Since(start)
		}
	}
	t.Fatalf("%s %s: %q after %s, want %q", name, dns.TypeToString[qtype], got, within, want)
	return 0
}

// expectEvent waits for an Event of reason on Ingress name whose message
// holds text.
func (f *fixture) expectEvent(name, reason, text string) {
	f.t.Helper()
	eventually(f.t, converge, fmt.Sprintf("a %s Event on %s saying %q", reason, name, text), func() error {
		evs, _, err := f.events("Ingress", name, reason)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if strings.Contains(e.Message, text) {
				return nil
			}
		}
		return fmt.Errorf("got %v", messages(evs))
	})
}

// TestDNSPublishing runs the controller against a real BIND: a load
// balancer's name resolves to the addresses in its status and follows
// them as replicas come and go; hosts in the zone become CNAMEs; a name
// someone else holds is left alone with a Warning; --publish-hostname puts
// the name in status; deleting the Ingress deletes its records and their
// owner record.
func TestDNSPublishing(t *testing.T) {
	f := newFixture(t)
	class := "dns-" + f.ns
	bind := bindtest.Start(t, bindtest.Options{Records: []string{"taken 300 IN A 192.0.2.1"}})
	addrs, port := startBackends(t, "a")
	f.service("web", "http", 80, port)
	f.slice("web-1", "web", "http", port, addrs["a"])
	c := startController(t, controllerOptions{class: class, namespaces: []string{f.ns}, electionNamespace: f.ns,
		dns: &dnsOptions{server: bind, keyFile: bind.KeyFile(bindtest.Key), owner: "cluster-a", publishHosts: true, publishHostname: true}})
	f.createIngress(ingress("web", &class, route{host: "www.example.test", path: "/", service: "web", port: "http"}))
	expect(t, c.port, "www.example.test", "/", ok("a"))

	// The default load balancer's name has the provider's address; its
	// host is an alias of it; status shows the name.
	took := expectRecords(t, bind, "default.example.test", dns.TypeA, []string{"127.0.0.1"}, dnsDeadline)
	t.Logf("default.example.test resolves %s after the Ingress was served", took.Round(time.Millisecond))
	expectRecords(t, bind, "www.example.test", dns.TypeCNAME, []string{"default.example.test."}, dnsDeadline)
	expectRecords(t, bind, dnssync.OwnerName("default.example.test"), dns.TypeTXT, []string{`"` + dnssync.OwnerText("cluster-a") + `"`}, dnsDeadline)
	ports := []networkingv1.IngressPortStatus{{Port: int32(c.port), Protocol: corev1.ProtocolTCP}}
	f.expectStatus("web", []networkingv1.IngressLoadBalancerIngress{{Hostname: "default.example.test", Ports: ports}}, statusDeadline)

	// Replicas come and go: the records follow the status.
	ready := map[string]bool{"default": true}
	replicaA, stopA := startReplica(t, f, class, "replica-a", "198.18.0.1", ready)
	_, stopB := startReplica(t, f, class, "replica-b", "198.18.0.2", ready)
	expectRecords(t, bind, "default.example.test", dns.TypeA, []string{"198.18.0.1", "198.18.0.2"}, dnsDeadline)
	stopB()
	took = expectRecords(t, bind, "default.example.test", dns.TypeA, []string{"198.18.0.1"}, dnsDeadline)
	t.Logf("a replica that left is out of DNS %s later", took.Round(time.Millisecond))

	// A name someone else holds is left alone, and said so.
	taken := ingress("taken", &class, route{host: "shop.example.test", path: "/", service: "web", port: "http"})
	takenPort := nettest.FreePort(t)
	taken.Annotations = map[string]string{"ingress-controller.io/load-balancer": "shop", "ingress-controller.io/dns-name": "taken.example.test",
		"ingress-controller.io/listen-ports": fmt.Sprintf(`[{"HTTP":%d}]`, takenPort)}
	f.createIngress(taken)
	f.expectEvent("taken", kubesource.ReasonDNSConflict, "taken.example.test")
	// Its status shows its addresses, not a name that points elsewhere.
	replicaA.SetServing(map[string]bool{"default": true, "shop": true})
	f.expectStatus("taken", []networkingv1.IngressLoadBalancerIngress{{IP: "198.18.0.1", Ports: []networkingv1.IngressPortStatus{{Port: takenPort, Protocol: corev1.ProtocolTCP}}}}, statusDeadline)
	if got := bind.Lookup(t, "taken.example.test", dns.TypeA); !slices.Equal(got, []string{"192.0.2.1"}) {
		t.Errorf("taken.example.test, someone else's: %q, want it left as 192.0.2.1", got)
	}

	// A name outside the zone is not published, and said so.
	outside := ingress("outside", &class, route{host: "out.other.test", path: "/", service: "web", port: "http"})
	outside.Annotations = map[string]string{"ingress-controller.io/load-balancer": "outside", "ingress-controller.io/dns-name": "shop.other.test",
		"ingress-controller.io/listen-ports": fmt.Sprintf(`[{"HTTP":%d}]`, nettest.FreePort(t))}
	f.createIngress(outside)
	f.expectEvent("outside", kubesource.ReasonInvalidDNSName, "shop.other.test is not inside zone example.test")
	if n := metricValue(t, c, "ingress_controller_dns_updates_total"); n < 3 {
		t.Errorf("ingress_controller_dns_updates_total = %v, want the updates counted", n)
	}

	// The Ingress goes: its names and their owner records go.
	f.deleteIngress("web")
	for _, name := range []string{"default.example.test", "www.example.test", dnssync.OwnerName("default.example.test")} {
		for _, qtype := range []uint16{dns.TypeA, dns.TypeCNAME, dns.TypeTXT} {
			expectRecords(t, bind, name, qtype, nil, dnsDeadline)
		}
	}
	stopA()
}

// TestDNSOwnersAndKeys: a second controller with another owner id leaves
// the first one's names alone; a controller with a wrong TSIG key writes
// nothing and says why, and with the right key its names converge.
func TestDNSOwnersAndKeys(t *testing.T) {
	f := newFixture(t)
	bind := bindtest.Start(t, bindtest.Options{})
	addrs, port := startBackends(t, "a")
	f.service("web", "http", 80, port)
	f.slice("web-1", "web", "http", port, addrs["a"])

	classA, classB := "dns-a-"+f.ns, "dns-b-"+f.ns
	a := startController(t, controllerOptions{class: classA, namespaces: []string{f.ns}, electionNamespace: f.ns,
		dns: &dnsOptions{server: bind, keyFile: bind.KeyFile(bindtest.Key), owner: "cluster-a"}})
	f.createIngress(ingress("web-a", &classA, route{host: "a.example.test", path: "/", service: "web", port: "http"}))
	expect(t, a.port, "a.example.test", "/", ok("a"))
	expectRecords(t, bind, "default.example.test", dns.TypeA, []string{"127.0.0.1"}, dnsDeadline)

	// Another controller, another owner id, the same default name: it is
	// not its to change.
	bad := filepath.Join(t.TempDir(), "wrong.key")
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	if err := os.WriteFile(bad, []byte(fmt.Sprintf("key %q {\n\talgorithm hmac-sha256;\n\tsecret %q;\n};\n",
		bindtest.Key, base64.StdEncoding.EncodeToString(secret))), 0o600); err != nil {
		t.Fatal(err)
	}
	b := startController(t, controllerOptions{class: classB, namespaces: []string{f.ns}, electionNamespace: f.ns,
		publishAddresses: []string{"198.18.0.9"},
		dns:              &dnsOptions{server: bind, keyFile: bad, owner: "cluster-b"}})
	f.createIngress(ingress("web-b", &classB, route{host: "b.example.test", path: "/", service: "web", port: "http"}))
	expect(t, b.port, "b.example.test", "/", ok("a"))

	// With a wrong key: a Warning, nothing written.
	f.expectEvent("web-b", kubesource.ReasonDNSError, "BADSIG")
	serial := bind.Serial(t)
	b.stop(t)

	// With the right key: the name is the other owner's, so a conflict,
	// and cluster-a's records stay.
	b = startController(t, controllerOptions{class: classB, namespaces: []string{f.ns}, electionNamespace: f.ns,
		publishAddresses: []string{"198.18.0.9"},
		dns:              &dnsOptions{server: bind, keyFile: bind.KeyFile(bindtest.Key), owner: "cluster-b"}})
	f.expectEvent("web-b", kubesource.ReasonDNSConflict, "default.example.test")
	if got := bind.Lookup(t, "default.example.test", dns.TypeA); !slices.Equal(got, []string{"127.0.0.1"}) {
		t.Errorf("default.example.test: %q, want cluster-a's 127.0.0.1 untouched", got)
	}
	if got := bind.Serial(t); got != serial {
		t.Errorf("zone serial %d -> %d: cluster-b changed the zone", serial, got)
	}

	// cluster-b's own name converges once it has one.
	f.updateIngress("web-b", func(ing *networkingv1.Ingress) {
		ing.Annotations = map[string]string{"ingress-controller.io/dns-name": "b.example.test"}
	})
	expectRecords(t, bind, "b.example.test", dns.TypeA, []string{"198.18.0.9"}, dnsDeadline)
	expectRecords(t, bind, "default.example.test", dns.TypeA, []string{"127.0.0.1"}, dnsDeadline)

	// The server goes down: a Warning, retries, and traffic as before.
	errorsBefore := metricValue(t, b, "ingress_controller_dns_errors_total")
	bind.Stop(t)
	f.updateIngress("web-b", func(ing *networkingv1.Ingress) {
		ing.Annotations = map[string]string{"ingress-controller.io/dns-name": "b2.example.test"}
	})
	f.expectEvent("web-b", kubesource.ReasonDNSError, "connection refused")
	expect(t, b.port, "b.example.test", "/", ok("a"))
	if n := metricValue(t, b, "ingress_controller_dns_errors_total"); n <= errorsBefore {
		t.Errorf("ingress_controller_dns_errors_total %v -> %v with the server down", errorsBefore, n)
	}
}
