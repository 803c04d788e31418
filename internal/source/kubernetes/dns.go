package kubernetes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"

	"ingress-controller/internal/dnssync"
	"ingress-controller/pkg/lbconfig"
)

// DNS publishing: the leader keeps, for every load balancer, the A and
// AAAA records of a DNS name equal to the addresses the status writer
// publishes for it (or a CNAME to the hostname it publishes), and with
// PublishHosts the Ingress hosts inside the zone as CNAMEs to that name.
// The name is the load balancer's ingress-controller.io/dns-name, else the
// NameTemplate's. The status writer hands the addresses over on every
// sync (Want); the DNSWriter syncs the zone when they change, every
// dnsResync besides, and retries failures with backoff. Records are only
// ever written under the owner id (see package dnssync), so a name someone
// else holds is never touched; it is reported as a Warning Event on the
// Ingresses that want it, as are names that cannot be published.

// Event reasons of DNS publishing, on the Ingresses of a load balancer.
const (
	// ReasonDNSError is a Warning: the zone could not be read or updated.
	ReasonDNSError = "DNSError"
	// ReasonDNSConflict is a Warning: a wanted name is someone else's.
	ReasonDNSConflict = "DNSConflict"
	// ReasonInvalidDNSName is a Warning: the name cannot be published.
	ReasonInvalidDNSName = "InvalidDNSName"
)

// DNS timing.
const (
	dnsRetryMin = time.Second
	dnsRetryMax = time.Minute
	// dnsResync is how often the zone is synced when nothing changed, to
	// repair records changed by hand.
	dnsResync = time.Minute
	// dnsRequestTimeout bounds one sync: its reads and its update.
	dnsRequestTimeout = 30 * time.Second
)

// DNSSyncer syncs a zone: a dnssync.Syncer.
type DNSSyncer interface {
	Sync(ctx context.Context, desired dnssync.Desired) (dnssync.Result, error)
}

// DNSOptions configure a DNSWriter.
type DNSOptions struct {
	Syncer DNSSyncer
	// Zone is the zone every name is in, e.g. "example.test".
	Zone string
	// NameTemplate makes the name of a load balancer without
	// ingress-controller.io/dns-name from a DNSNameData.
	NameTemplate *template.Template
	// TTL of the records; 0 is dnssync's default.
	TTL time.Duration
	// PublishHosts also publishes the hosts of the load balancers'
	// Ingresses that are inside the zone.
	PublishHosts bool
	// Source supplies the Ingresses that Events are recorded on.
	Source   *Source
	Recorder record.EventRecorder
	Metrics  prometheus.Registerer
	Logger   *slog.Logger
}

// DNSNameData is what a name template sees of a load balancer: its Name,
// and for a load balancer of --lb-per-ingress ("<namespace>/<name>") the
// Ingress's Name and Namespace.
type DNSNameData struct {
	Name, Namespace string
}

// DNSWriter publishes the load balancers in DNS while the process leads.
// Create it with NewDNSWriter; feed it with Want.
type DNSWriter struct {
	opts DNSOptions
	zone string // canonical, without the final dot
	log  *slog.Logger
	kick chan struct{}

	mu      sync.Mutex
	desired *dnssync.Desired  // nil before the first Want
	names   map[string]string // load balancer to its name, when valid
	// published holds the names the last successful sync left ours, with
	// the records wanted; nil before it.
	published map[string]bool
	notify    []func()
	wantedBy  map[string][]types.NamespacedName // DNS name to the Ingresses that want it
	reported  map[string]*reportedProblem       // by event key

	records          prometheus.Gauge
	updates, failure prometheus.Counter
}

// NewDNSWriter checks opts and returns a writer.
func NewDNSWriter(opts DNSOptions) (*DNSWriter, error) {
	if opts.Syncer == nil || opts.NameTemplate == nil || opts.Source == nil {
		return nil, errors.New("dns writer: Syncer, NameTemplate and Source are required")
	}
	zone, err := dnssync.CanonicalZone(opts.Zone)
	if err != nil {
		return nil, fmt.Errorf("dns zone: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	d := &DNSWriter{
		opts: opts, zone: strings.TrimSuffix(zone, "."), log: log.With("component", "dns", "zone", zone),
		kick:     make(chan struct{}, 1),
		reported: map[string]*reportedProblem{},
		records: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ingress_controller_dns_records",
			Help: "DNS names the leader keeps in the zone (load balancers and, with --dns-publish-hosts, hosts).",
		}),
		updates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ingress_controller_dns_updates_total",
			Help: "DNS names created, updated or deleted.",
		}),
		failure: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ingress_controller_dns_errors_total",
			Help: "DNS syncs that failed: the zone could not be read or updated.",
		}),
	}
	if err := register(opts.Metrics, d.records, d.updates, d.failure); err != nil {
		return nil, fmt.Errorf("dns writer: %w", err)
	}
	return d, nil
}

// Name returns the DNS name of the load balancer lb once it is published:
// "" before, and while the name cannot be published or is someone else's,
// so that status never points clients at a name that is not ours.
func (d *DNSWriter) Name(lb string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if name := d.names[lb]; d.published[name] {
		return name
	}
	return ""
}

// Notify makes f be called when the names Name returns may have changed.
// f must not block.
func (d *DNSWriter) Notify(f func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.notify = append(d.notify, f)
}

// Want sets what to publish: the load balancers of the translated config,
// each with the status the status writer computed for it. It reports the
// names that cannot be published, and wakes the writer when the records
// to keep changed.
func (d *DNSWriter) Want(lbs []lbconfig.LoadBalancer, status map[string][]networkingv1.IngressLoadBalancerIngress) {
	names := map[string]string{}
	wantedBy := map[string][]types.NamespacedName{}
	var records []dnssync.Record
	hostOwner := map[string]string{} // host to the load balancer publishing it
	for _, lb := range lbs {
		ingresses := ingressesOf(lb)
		name, err := d.nameOf(lb)
		if err != nil {
			d.report(ingresses, "invalid/"+lb.Name, ReasonInvalidDNSName,
				fmt.Sprintf("load balancer %q is not published in DNS: %v", lb.Name, err))
			continue
		}
		d.report(ingresses, "invalid/"+lb.Name, "", "")
		names[lb.Name] = name
		wantedBy[name] = append(wantedBy[name], ingresses...)
		records = append(records, recordOf(name, status[lb.Name]))
		if !d.opts.PublishHosts {
			continue
		}
		for _, host := range hostsOf(lb) {
			if host != d.zone && !strings.HasSuffix(host, "."+d.zone) {
				continue
			}
			if other, ok := hostOwner[host]; ok {
				if other != lb.Name {
					d.report(ingresses, "host/"+lb.Name+"/"+host, ReasonDNSConflict,
						fmt.Sprintf("host %s is published for load balancer %q, which comes first by name; not for %q", host, other, lb.Name))
				}
				continue
			}
			hostOwner[host] = lb.Name
			wantedBy[host] = append(wantedBy[host], ingresses...)
			r := dnssync.Record{Name: host, CNAME: name}
			if host == d.zone {
				// The apex cannot be an alias: its addresses.
				r = recordOf(host, status[lb.Name])
			}
			records = append(records, r)
		}
	}
	slices.SortFunc(records, func(a, b dnssync.Record) int { return strings.Compare(a.Name, b.Name) })
	desired := &dnssync.Desired{Zone: d.zone, TTL: uint32(d.opts.TTL / time.Second), Records: records}
	d.mu.Lock()
	changed := d.desired == nil || !reflect.DeepEqual(d.desired, desired)
	d.desired, d.names, d.wantedBy = desired, names, wantedBy
	d.mu.Unlock()
	if changed {
		select {
		case d.kick <- struct{}{}:
		default:
		}
	}
}

// nameOf is the DNS name of lb: its DNSName, else the template's, lower
// case, without the final dot, inside the zone.
func (d *DNSWriter) nameOf(lb lbconfig.LoadBalancer) (string, error) {
	name := lb.DNSName
	if name == "" {
		data := DNSNameData{Name: lb.Name}
		if ns, n, ok := strings.Cut(lb.Name, "/"); ok {
			data = DNSNameData{Name: n, Namespace: ns}
		}
		var b bytes.Buffer
		if err := d.opts.NameTemplate.Execute(&b, data); err != nil {
			return "", fmt.Errorf("--dns-name-template: %w", err)
		}
		name = b.String()
	}
	name = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".")
	if err := lbconfig.CheckHostname(name); err != nil || name == "" || strings.HasPrefix(name, "*") {
		return "", fmt.Errorf("%q is not a DNS name", name)
	}
	if name != d.zone && !strings.HasSuffix(name, "."+d.zone) {
		return "", fmt.Errorf("%s is not inside zone %s", name, d.zone)
	}
	return name, nil
}

// recordOf is the record of name for a status: A and AAAA records of its
// IP addresses, else a CNAME to its one hostname, else nothing (the name
// stays owned, with no records).
func recordOf(name string, status []networkingv1.IngressLoadBalancerIngress) dnssync.Record {
	r := dnssync.Record{Name: name}
	var hostnames []string
	for _, e := range status {
		if ip, err := netip.ParseAddr(e.IP); err == nil {
			r.Addresses = append(r.Addresses, ip.Unmap())
		} else if e.Hostname != "" {
			hostnames = append(hostnames, e.Hostname)
		}
	}
	if len(r.Addresses) == 0 && len(hostnames) == 1 {
		r.CNAME = hostnames[0]
	}
	return r
}

// hostsOf returns the hosts of lb's virtual hosts, sorted, once each.
func hostsOf(lb lbconfig.LoadBalancer) []string {
	var out []string
	for _, l := range lb.Listeners {
		for _, vh := range l.VirtualHosts {
			if vh.Hostname != "" {
				out = append(out, vh.Hostname)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func ingressesOf(lb lbconfig.LoadBalancer) []types.NamespacedName {
	var out []types.NamespacedName
	for _, ref := range lb.Sources {
		if ref.Kind == "Ingress" {
			out = append(out, types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name})
		}
	}
	return out
}

// Lead syncs the zone until ctx ends: after every change of what to
// publish, every dnsResync, and after a failure with backoff.
func (d *DNSWriter) Lead(ctx context.Context) {
	d.log.Info("leading: publishing load balancers in DNS")
	retries := newRetries(dnsRetryMin, dnsRetryMax, d.log, "DNS update")
	resync := time.NewTicker(dnsResync)
	defer resync.Stop()
	var retry <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.kick:
		case <-resync.C:
		case <-retry:
		}
		err := d.sync(ctx)
		if err != nil && ctx.Err() != nil {
			return
		}
		retry = retries.after(err)
	}
}

// Resign does nothing: the records stay for the next leader.
func (d *DNSWriter) Resign(context.Context) {}

// sync makes the zone what Want last asked for.
func (d *DNSWriter) sync(ctx context.Context) error {
	d.mu.Lock()
	desired, wantedBy := d.desired, d.wantedBy
	d.mu.Unlock()
	if desired == nil {
		return nil // nothing translated yet: do not delete what we own
	}
	sctx, cancel := context.WithTimeout(ctx, dnsRequestTimeout)
	res, err := d.opts.Syncer.Sync(sctx, *desired)
	cancel()
	everyone := func() []types.NamespacedName {
		var all []types.NamespacedName
		for _, ings := range wantedBy {
			all = append(all, ings...)
		}
		return all
	}
	if err != nil {
		d.failure.Inc()
		d.report(everyone(), "error", ReasonDNSError,
			fmt.Sprintf("DNS names in zone %s are not updated, retrying: %v", d.zone, err))
		return err
	}
	d.report(everyone(), "error", "", "")
	if n := len(res.Changes.Names); n > 0 {
		d.updates.Add(float64(n))
		d.log.Info("DNS records updated", "changes", res.Changes.Summary())
	}
	d.records.Set(float64(len(desired.Records)))
	held := map[string]bool{}
	for _, c := range res.Changes.Conflicts {
		name := strings.TrimSuffix(c.Name, ".")
		held[name] = true
		d.report(wantedBy[name], "conflict/"+name, ReasonDNSConflict,
			fmt.Sprintf("DNS name %s is not published: %s", name, c.Reason))
	}
	for _, inv := range res.Changes.Invalid {
		name := strings.TrimSuffix(inv.Name, ".")
		held[name] = true
		d.report(wantedBy[name], "conflict/"+name, ReasonInvalidDNSName,
			fmt.Sprintf("DNS name %s is not published: %s", name, inv.Reason))
	}
	published := map[string]bool{}
	for name, ings := range wantedBy {
		if !held[name] {
			d.report(ings, "conflict/"+name, "", "")
			published[name] = true
		}
	}
	d.mu.Lock()
	changed := !maps.Equal(d.published, published)
	d.published = published
	notify := slices.Clone(d.notify)
	d.mu.Unlock()
	if changed {
		for _, f := range notify {
			f()
		}
	}
	return nil
}

// report records a Warning with reason and msg on each of ings, and logs
// it, once for as long as key keeps that message (an Ingress that comes
// to want the name later is told too); an empty msg says the problem of
// key is gone.
func (d *DNSWriter) report(ings []types.NamespacedName, key, reason, msg string) {
	d.mu.Lock()
	last, had := d.reported[key]
	if msg == "" {
		delete(d.reported, key)
		d.mu.Unlock()
		if had {
			d.log.Info("DNS problem resolved", "problem", key)
		}
		return
	}
	if !had || last.msg != msg {
		last = &reportedProblem{msg: msg, told: map[types.NamespacedName]bool{}}
		d.reported[key] = last
		d.log.Warn(msg, "reason", reason)
	}
	tell := map[types.NamespacedName]bool{}
	for _, k := range ings {
		if !last.told[k] {
			tell[k] = true
		}
	}
	d.mu.Unlock()
	if d.opts.Recorder == nil || len(tell) == 0 {
		return
	}
	for _, ing := range d.opts.Source.ingresses() {
		k := types.NamespacedName{Namespace: ing.Namespace, Name: ing.Name}
		if tell[k] {
			d.opts.Recorder.Eventf(ing, corev1.EventTypeWarning, reason, "%s", truncate(msg, maxEventMessage))
			d.mu.Lock()
			last.told[k] = true
			d.mu.Unlock()
		}
	}
}

// reportedProblem is a problem reported, and the Ingresses told of it.
type reportedProblem struct {
	msg  string
	told map[types.NamespacedName]bool
}
