// Command ingress-controller watches a source of routing intent (Kubernetes
// Ingress objects, from a cluster or from manifest files), translates it into
// a generic load-balancer config and hands that to a provider that serves it.
//
// This file only parses flags and wires the parts together.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/template"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"ingress-controller/internal/admin"
	"ingress-controller/internal/dnssync"
	"ingress-controller/internal/dnssync/rfc2136"
	"ingress-controller/internal/dnssync/route53"
	"ingress-controller/internal/engine"
	"ingress-controller/internal/provider/builtin"
	"ingress-controller/internal/provider/haproxy"
	"ingress-controller/internal/source/file"
	kubesource "ingress-controller/internal/source/kubernetes"
	"ingress-controller/internal/translate"
	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type flags struct {
	source        string
	provider      string
	manifests     string
	httpPort      int
	httpsPort     int
	listenAddress string
	ingressClass  string
	lbPerIngress  bool
	nginxCompat   bool
	nginxClass    string
	clusterDomain string
	logLevel      string
	logFormat     string
	metricsAddr   string
	enablePprof   bool
	version       bool
	shutdownGrace time.Duration
	shutdownDelay time.Duration
	drainTimeout  time.Duration
	accessLog     bool

	// nginxAllowedResponseHeaders are --nginx-allowed-response-headers.
	nginxAllowedResponseHeaders []string

	// client limits (provider.Options)
	maxRequestHeaderBytes int
	clientBodyTimeout     time.Duration
	tunnelIdleTimeout     time.Duration
	maxConnections        int

	// TLS (provider.Options)
	tlsSessionResumption bool
	serverHeader         string

	// --provider=haproxy
	haproxyBinary  string
	haproxyDir     string
	haproxyThreads int
	// haproxyTicketRotation is how often HAProxy gets a new TLS session
	// ticket key.
	haproxyTicketRotation time.Duration
	keepLBOnExit          bool

	// defaultSSLCertificate is "namespace/name" of a TLS Secret, or "".
	defaultSSLCertificate string

	// --source=kubernetes
	kubeconfig             string
	watchNamespaces        []string
	electionID             string
	electionNamespace      string
	leaseDuration          time.Duration
	renewDeadline          time.Duration
	retryPeriod            time.Duration
	publishService         string
	publishStatusAddresses []string
	updateStatusOnShutdown bool
	replicaName            string
	publicAddress          string

	// DNS publishing (--source=kubernetes)
	dnsProvider     string
	dnsZone         string
	dnsNameTemplate string
	dnsTTL          time.Duration
	dnsOwnerID      string
	dnsPublishHosts bool
	publishHostname bool
	dnsServer       string
	dnsTSIGKeyFile  string
	route53ZoneID   string
	route53Region   string
	route53Endpoint string

	// gatewayAPI turns the Gateway API source on; gatewayPool is
	// --gateway-address-pool, parsed.
	gatewayAPI         bool
	gatewayAddressPool string
	gatewayPool        netip.Prefix
	// gatewayServices is --gateway-services: the leader keeps a Service
	// per Gateway.
	gatewayServices bool
}

func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	f := &flags{}
	var watchNamespace, publishStatusAddress, allowedResponseHeaders string
	fs := flag.NewFlagSet("ingress-controller", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.source, "source", "file", "where routing intent comes from: file (manifests in --manifests) or kubernetes (a cluster's Ingresses; see docs/kubernetes.md)")
	fs.StringVar(&f.provider, "provider", "builtin", "what serves the traffic: builtin (the in-process Go proxy) or haproxy (an HAProxy process run by the controller)")
	fs.StringVar(&f.haproxyBinary, "haproxy-binary", "haproxy", "haproxy executable for --provider=haproxy, a path or a name looked up in PATH")
	fs.StringVar(&f.haproxyDir, "haproxy-dir", defaultHAProxyDir(), "runtime directory of --provider=haproxy: config generations, sockets, pid file, server state; one controller per directory, owned by its user and writable by no one else (created 0700 if missing)")
	fs.DurationVar(&f.haproxyTicketRotation, "haproxy-tls-ticket-rotation", haproxy.DefaultTicketKeyRotation, "the longest an HAProxy worker of --provider=haproxy serves before a reload gives it new TLS session ticket keys (any config change reloads too); a ticket resumes for one period (see docs/providers.md, TLS); at least 1s")
	fs.IntVar(&f.haproxyThreads, "haproxy-threads", 0, "HAProxy threads (nbthread) for --provider=haproxy; 0 means one per CPU the controller may run on (its CPU affinity, which HAProxy inherits)")
	fs.BoolVar(&f.keepLBOnExit, "keep-lb-on-exit", false, "leave the load balancer process (HAProxy) running when the controller exits; the next controller on the same --haproxy-dir adopts it, so a restart drops no traffic")
	fs.StringVar(&f.manifests, "manifests", "", "directory of Kubernetes YAML manifests (Ingress, IngressClass, Service, EndpointSlice, Secret, ConfigMap) read by --source=file; changes are picked up within a second")
	fs.IntVar(&f.httpPort, "http-port", 80, "public port of the HTTP listener")
	fs.IntVar(&f.httpsPort, "https-port", 443, "public port of the HTTPS listener")
	fs.StringVar(&f.defaultSSLCertificate, "default-ssl-certificate", "", "namespace/name of a kubernetes.io/tls Secret served on HTTPS to clients whose server name (SNI) has no certificate of its own (default: a self-signed certificate made at start); with --watch-namespace its namespace must be watched")
	fs.BoolVar(&f.lbPerIngress, "lb-per-ingress", false, "give every Ingress a load balancer of its own, named namespace/name, instead of sharing the default one; ingress-controller.io/load-balancer still names a shared one, and ingress-controller.io/listen-ports gives each its ports (see docs/ingress.md)")
	fs.StringVar(&f.listenAddress, "listen-address", "", "IP address the public listeners bind to (default: all addresses)")
	fs.BoolVar(&f.gatewayAPI, "gateway-api", false, "also serve the Gateway API (GatewayClasses of controllerName "+translate.GatewayControllerName+", their Gateways and HTTPRoutes); needs --source=kubernetes, the Gateway API CRDs and RBAC for them (see docs/gateway-api.md)")
	fs.BoolVar(&f.gatewayServices, "gateway-services", true, "with --gateway-api, the leader keeps for every accepted Gateway a headless Service <gateway>-<class> in its namespace, with EndpointSlices of the Gateway's addresses and the labels and annotations of its spec.infrastructure (needs RBAC to write services and endpointslices; never touches a Service or EndpointSlice it did not make; see docs/gateway-api.md); --gateway-services=false leaves Services alone, and GatewayClasses do not declare GatewayInfrastructure")
	fs.StringVar(&f.gatewayAddressPool, "gateway-address-pool", "", "CIDR the Gateways without spec.addresses get their own address from (default: none; they share --listen-address)")
	fs.StringVar(&f.ingressClass, "ingress-class", translate.DefaultIngressClass, "IngressClass name served, in addition to every IngressClass whose spec.controller is "+translate.DefaultControllerName)
	fs.BoolVar(&f.nginxCompat, "nginx-compat", false, "also serve the Ingresses of --nginx-ingress-class written for ingress-nginx, reading their nginx.ingress.kubernetes.io annotations; an Ingress with a protection that cannot be honoured (auth, source ranges, snippets...) is refused (see docs/migrate-from-ingress-nginx.md)")
	fs.StringVar(&f.nginxClass, "nginx-ingress-class", translate.DefaultNginxIngressClass, "IngressClass name of the Ingresses served for ingress-nginx with --nginx-compat")
	fs.StringVar(&f.clusterDomain, "cluster-domain", "", "DNS domain of the cluster's Services (default "+translate.DefaultClusterDomain+"): an auth URL naming <service>.<namespace>.svc.<domain> or <service>.<namespace>.svc is sent to that Service's endpoints (see docs/annotations.md)")
	fs.StringVar(&allowedResponseHeaders, "nginx-allowed-response-headers", "", "comma-separated header names that the ConfigMaps of nginx.ingress.kubernetes.io/custom-headers may set on responses, as ingress-nginx's global-allowed-response-headers (default: none); with --source=kubernetes and --nginx-compat, the ConfigMaps of the watched namespaces are then watched")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "127.0.0.1:10254", "address of /healthz, /readyz and /metrics (and /debug/pprof with --enable-pprof); metrics describe the cluster's routing: keep it on localhost or protect it")
	fs.BoolVar(&f.enablePprof, "enable-pprof", false, "serve /debug/pprof on --metrics-addr; profiles cost CPU and show memory: only where nothing untrusted reaches that address")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fs.BoolVar(&f.version, "version", false, "print the version and exit")
	fs.BoolVar(&f.accessLog, "access-log", false, "write one line per request (client, method, host, path, status, bytes, duration, backend, endpoint; never the query string) to standard output, in --log-format")
	fs.DurationVar(&f.drainTimeout, "drain-timeout", 30*time.Second, "how long websockets and other upgraded connections to an endpoint that left the config may go on before they are closed")
	fs.IntVar(&f.maxRequestHeaderBytes, "max-request-header-bytes", provider.DefaultMaxRequestHeaderBytes, "largest request head (request line and header fields) accepted; larger ones are refused with 431 (see docs/providers.md, Client limits)")
	fs.DurationVar(&f.clientBodyTimeout, "client-body-timeout", provider.DefaultClientBodyTimeout, "how long a request body may go without a byte from the client before the request fails and its connections (client and backend) are closed: 408 from builtin, 504 from haproxy")
	fs.DurationVar(&f.tunnelIdleTimeout, "tunnel-idle-timeout", provider.DefaultTunnelIdleTimeout, "websockets, TCP and TLS passthrough connections are closed after this long without a byte either way, unless the backend's ingress-controller.io/idle-timeout says otherwise")
	fs.IntVar(&f.maxConnections, "max-connections", provider.DefaultMaxConnections, "most client connections open at once on each listener, tunnels included; beyond it new connections wait in the kernel's backlog until one closes")
	fs.StringVar(&f.serverHeader, "server-header", "ingress-controller", "the Server field given to backend responses that have none, as nginx and Envoy give theirs: a product token with an optional /version; empty gives none (see docs/providers.md)")
	fs.BoolVar(&f.tlsSessionResumption, "tls-session-resumption", true, "let HTTPS clients resume TLS sessions (session tickets and the session cache) instead of a full handshake per connection; --tls-session-resumption=false turns it off (see docs/providers.md, TLS)")
	fs.DurationVar(&f.shutdownDelay, "shutdown-delay", 0, "on SIGTERM, first report not ready on /readyz and keep serving this long, so that what sends traffic here (a Service's endpoints, an external load balancer) stops before the listeners close; a second signal ends the delay")
	fs.DurationVar(&f.shutdownGrace, "shutdown-grace", 10*time.Second, "on SIGTERM, how long requests in flight may take to finish after the listeners stop accepting")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file for --source=kubernetes (default: $KUBECONFIG, else ~/.kube/config, else the in-cluster service account)")
	fs.StringVar(&watchNamespace, "watch-namespace", "", "comma-separated namespaces whose Ingresses, Services, EndpointSlices and TLS Secrets are watched (default: all namespaces)")
	fs.StringVar(&f.electionID, "election-id", kubesource.DefaultElectionID, "name of the Lease used to elect the leader that writes Ingress status")
	fs.StringVar(&f.electionNamespace, "election-namespace", "", "namespace of the leader-election Lease (default: $POD_NAMESPACE, else the kubeconfig context's namespace, else default)")
	fs.DurationVar(&f.leaseDuration, "election-lease-duration", kubesource.DefaultLeaseDuration, "how long a leader's Lease is valid without renewal; another replica takes over after it (tuning and tests)")
	fs.DurationVar(&f.renewDeadline, "election-renew-deadline", kubesource.DefaultRenewDeadline, "how long the leader keeps retrying to renew its Lease before it stops leading; less than --election-lease-duration")
	fs.DurationVar(&f.retryPeriod, "election-retry-period", kubesource.DefaultRetryPeriod, "how often candidates try to acquire, and the leader to renew, the Lease")
	fs.StringVar(&f.publishService, "publish-service", "", "namespace/name of the Service in front of the controller whose status.loadBalancer.ingress (and externalIPs) is copied into Ingress status")
	fs.StringVar(&publishStatusAddress, "publish-status-address", "", "comma-separated IP addresses or hostnames written into Ingress status; takes precedence over --publish-service, the replicas' public addresses and the provider's addresses")
	fs.StringVar(&f.replicaName, "replica-name", defaultReplicaName(), "this replica's name, part of the name of its membership Lease in --election-namespace (default: $POD_NAME, else the hostname); unique among the replicas")
	fs.StringVar(&f.publicAddress, "public-address", defaultPublicAddress(), "this replica's public IP address, recorded in its membership Lease (default: $HOST_IP, else $POD_IP, else none)")
	fs.StringVar(&f.dnsProvider, "dns-provider", "", "publish every load balancer under a DNS name in --dns-zone, kept equal to the addresses in its Ingresses' status: rfc2136 (dynamic updates signed with TSIG, to BIND or any server that takes them) or route53 (Amazon Route 53, credentials from the AWS SDK's default chain); default: no DNS (see docs/dns.md)")
	fs.StringVar(&f.dnsZone, "dns-zone", "", "the DNS zone the names are published in, e.g. example.com; required with --dns-provider")
	fs.StringVar(&f.dnsNameTemplate, "dns-name-template", "", "Go template of a load balancer's DNS name from .Name (and .Namespace, with --lb-per-ingress); default {{.Name}}.<zone>, with --lb-per-ingress {{.Name}}.{{.Namespace}}.<zone>; the annotation ingress-controller.io/dns-name wins")
	fs.DurationVar(&f.dnsTTL, "dns-ttl", 30*time.Second, "TTL of the DNS records written, whole seconds")
	fs.StringVar(&f.dnsOwnerID, "dns-owner-id", "", "owner id written beside every DNS record this controller creates (TXT _ic-owner.<name>); it never changes a record without it; default: --election-id")
	fs.BoolVar(&f.dnsPublishHosts, "dns-publish-hosts", false, "also publish the Ingress rule hosts inside --dns-zone, as CNAMEs to their load balancer's name (A and AAAA records at the zone's apex)")
	fs.BoolVar(&f.publishHostname, "publish-hostname", false, "write each load balancer's DNS name into Ingress status (status.loadBalancer.ingress[].hostname) instead of its addresses; needs --dns-provider")
	fs.StringVar(&f.dnsServer, "dns-server", "", "name server that takes the dynamic updates of --dns-provider=rfc2136, host:port (port 53 by default)")
	fs.StringVar(&f.dnsTSIGKeyFile, "dns-tsig-key-file", "", "TSIG key of --dns-provider=rfc2136: a file with a BIND key clause as tsig-keygen writes it, key \"name\" { algorithm hmac-sha256; secret \"...\"; };")
	fs.StringVar(&f.route53ZoneID, "dns-route53-zone-id", "", "hosted zone ID of --dns-zone for --dns-provider=route53 (default: looked up by the zone's name)")
	fs.StringVar(&f.route53Region, "dns-route53-region", route53.DefaultRegion, "AWS region the Route 53 API is called in, for --dns-provider=route53")
	fs.StringVar(&f.route53Endpoint, "dns-route53-endpoint", "", "URL of a Route 53 API other than AWS's (an emulator), for --dns-provider=route53")
	fs.BoolVar(&f.updateStatusOnShutdown, "update-status-on-shutdown", false, "on SIGTERM, the leader clears the status it wrote on our Ingresses before releasing the Lease (leave unset for rolling updates)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: ingress-controller [flags]\n\n"+
			"Serves Kubernetes Ingress routing through a pluggable load-balancer provider.\n"+
			"Example: ingress-controller --source=file --manifests=examples/quickstart --provider=builtin --http-port=8080\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	for name, p := range map[string]int{"http-port": f.httpPort, "https-port": f.httpsPort} {
		if p < 1 || p > 65535 {
			return nil, fmt.Errorf("--%s: %d is not a port number", name, p)
		}
	}
	if f.httpPort == f.httpsPort {
		return nil, fmt.Errorf("--http-port and --https-port are both %d", f.httpPort)
	}
	if c := f.defaultSSLCertificate; c != "" {
		ns, name, ok := strings.Cut(c, "/")
		if !ok || len(validation.IsDNS1123Label(ns)) > 0 || len(validation.IsDNS1123Subdomain(name)) > 0 {
			return nil, fmt.Errorf("--default-ssl-certificate: %q is not namespace/name", c)
		}
	}
	if f.shutdownGrace < 0 {
		return nil, fmt.Errorf("--shutdown-grace: %s is negative", f.shutdownGrace)
	}
	if err := provider.CheckServerHeader(f.serverHeader); err != nil {
		return nil, fmt.Errorf("--server-header: %w", err)
	}
	if f.shutdownDelay < 0 {
		return nil, fmt.Errorf("--shutdown-delay: %s is negative", f.shutdownDelay)
	}
	if f.drainTimeout < 0 {
		return nil, fmt.Errorf("--drain-timeout: %s is negative", f.drainTimeout)
	}
	for name, d := range map[string]time.Duration{"client-body-timeout": f.clientBodyTimeout, "tunnel-idle-timeout": f.tunnelIdleTimeout} {
		if d < time.Millisecond {
			return nil, fmt.Errorf("--%s: %s is less than 1ms", name, d)
		}
	}
	// Below a kilobyte not even a browser's ordinary request fits; above
	// a megabyte HAProxy's buffers (tune.bufsize) cost too much per
	// connection.
	if n := f.maxRequestHeaderBytes; n < 1<<10 || n > 1<<20 {
		return nil, fmt.Errorf("--max-request-header-bytes: %d is not between 1024 and 1048576", n)
	}
	if f.maxConnections < 1 {
		return nil, fmt.Errorf("--max-connections: %d is not positive", f.maxConnections)
	}
	if f.haproxyTicketRotation < time.Second {
		return nil, fmt.Errorf("--haproxy-tls-ticket-rotation: %s is not at least 1s", f.haproxyTicketRotation)
	}
	if n := f.haproxyThreads; n < 0 || n > haproxy.MaxThreads {
		return nil, fmt.Errorf("--haproxy-threads: %d is not between 0 and %d", n, haproxy.MaxThreads)
	}
	for _, name := range splitList(allowedResponseHeaders) {
		if err := lbconfig.CheckHeaderName(name); err != nil {
			return nil, fmt.Errorf("--nginx-allowed-response-headers: %w", err)
		}
		f.nginxAllowedResponseHeaders = append(f.nginxAllowedResponseHeaders, name)
	}
	if err := parseKubernetesFlags(f, watchNamespace, publishStatusAddress); err != nil {
		return nil, err
	}
	return f, nil
}

func parseKubernetesFlags(f *flags, watchNamespace, publishStatusAddress string) error {
	for _, ns := range splitList(watchNamespace) {
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return fmt.Errorf("--watch-namespace: %q: %s", ns, strings.Join(errs, "; "))
		}
		f.watchNamespaces = append(f.watchNamespaces, ns)
	}
	if f.electionNamespace != "" {
		if errs := validation.IsDNS1123Label(f.electionNamespace); len(errs) > 0 {
			return fmt.Errorf("--election-namespace: %q: %s", f.electionNamespace, strings.Join(errs, "; "))
		}
	}
	if errs := validation.IsDNS1123Subdomain(f.electionID); len(errs) > 0 {
		return fmt.Errorf("--election-id: %q: %s", f.electionID, strings.Join(errs, "; "))
	}
	// The same rules as client-go's leader election, said with flag names.
	switch {
	case f.retryPeriod <= 0:
		return fmt.Errorf("--election-retry-period: %s must be positive", f.retryPeriod)
	case float64(f.renewDeadline) <= 1.2*float64(f.retryPeriod):
		return fmt.Errorf("--election-renew-deadline (%s) must be more than 1.2 x --election-retry-period (%s)", f.renewDeadline, f.retryPeriod)
	case f.leaseDuration <= f.renewDeadline:
		return fmt.Errorf("--election-lease-duration (%s) must be more than --election-renew-deadline (%s)", f.leaseDuration, f.renewDeadline)
	}
	if f.publishService != "" {
		ns, name, ok := strings.Cut(f.publishService, "/")
		if !ok || len(validation.IsDNS1123Label(ns)) > 0 || len(validation.IsDNS1035Label(name)) > 0 {
			return fmt.Errorf("--publish-service: %q is not namespace/name", f.publishService)
		}
	}
	for _, a := range splitList(publishStatusAddress) {
		if err := kubesource.CheckPublishAddress(a); err != nil {
			return fmt.Errorf("--publish-status-address: %w", err)
		}
		f.publishStatusAddresses = append(f.publishStatusAddresses, a)
	}
	if errs := validation.IsDNS1123Subdomain(f.replicaName); len(errs) > 0 {
		return fmt.Errorf("--replica-name: %q: %s", f.replicaName, strings.Join(errs, "; "))
	}
	if f.publicAddress != "" {
		ip, err := netip.ParseAddr(f.publicAddress)
		if err != nil || ip.Zone() != "" {
			return fmt.Errorf("--public-address: %q is not an IP address", f.publicAddress)
		}
		f.publicAddress = ip.String()
	}
	if err := parseGatewayFlags(f); err != nil {
		return err
	}
	return parseDNSFlags(f)
}

// parseGatewayFlags checks the Gateway API flags.
func parseGatewayFlags(f *flags) error {
	if f.gatewayAPI && f.source != "kubernetes" {
		return errors.New("--gateway-api needs --source=kubernetes")
	}
	if f.gatewayAddressPool == "" {
		return nil
	}
	if !f.gatewayAPI {
		return errors.New("--gateway-address-pool needs --gateway-api")
	}
	p, err := netip.ParsePrefix(f.gatewayAddressPool)
	if err != nil || p.Addr().Zone() != "" || p.Addr().Is4In6() {
		return fmt.Errorf("--gateway-address-pool: %q is not a CIDR", f.gatewayAddressPool)
	}
	f.gatewayPool = p.Masked()
	return nil
}

// parseDNSFlags checks the DNS publishing flags and fills in their
// defaults.
func parseDNSFlags(f *flags) error {
	switch f.dnsProvider {
	case "":
		if f.publishHostname {
			return errors.New("--publish-hostname needs --dns-provider")
		}
		return nil
	case "rfc2136":
		if f.dnsServer == "" || f.dnsTSIGKeyFile == "" {
			return errors.New("--dns-provider=rfc2136 needs --dns-server and --dns-tsig-key-file")
		}
	case "route53":
	default:
		return fmt.Errorf("--dns-provider: %q is not rfc2136 or route53", f.dnsProvider)
	}
	if f.source != "kubernetes" {
		return errors.New("--dns-provider needs --source=kubernetes")
	}
	zone, err := dnssync.CanonicalZone(f.dnsZone)
	if err != nil {
		return fmt.Errorf("--dns-zone: %w", err)
	}
	f.dnsZone = strings.TrimSuffix(zone, ".")
	if f.dnsTTL < time.Second || f.dnsTTL%time.Second != 0 || f.dnsTTL > 24*time.Hour {
		return fmt.Errorf("--dns-ttl: %s is not whole seconds from 1s to 24h", f.dnsTTL)
	}
	if f.dnsOwnerID == "" {
		f.dnsOwnerID = f.electionID
	}
	if err := dnssync.CheckOwnerID(f.dnsOwnerID); err != nil {
		return fmt.Errorf("--dns-owner-id: %w", err)
	}
	if f.dnsNameTemplate == "" {
		f.dnsNameTemplate = "{{.Name}}." + f.dnsZone
		if f.lbPerIngress {
			f.dnsNameTemplate = "{{.Name}}.{{.Namespace}}." + f.dnsZone
		}
	}
	if _, err := dnsNameTemplate(f); err != nil {
		return err
	}
	return nil
}

// dnsNameTemplate parses --dns-name-template.
func dnsNameTemplate(f *flags) (*template.Template, error) {
	t, err := template.New("dns-name").Option("missingkey=error").Parse(f.dnsNameTemplate)
	if err != nil {
		return nil, fmt.Errorf("--dns-name-template: %w", err)
	}
	return t, nil
}

// dnsBackend is the DNS service of --dns-provider.
func dnsBackend(f *flags) (dnssync.Backend, error) {
	if f.dnsProvider == "route53" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		b, err := route53.New(ctx, route53.Options{HostedZoneID: f.route53ZoneID, Region: f.route53Region, Endpoint: f.route53Endpoint})
		if err != nil {
			return nil, fmt.Errorf("--dns-provider=route53: %w", err)
		}
		return b, nil
	}
	key, err := rfc2136.ReadKeyFile(f.dnsTSIGKeyFile)
	if err != nil {
		return nil, fmt.Errorf("--dns-tsig-key-file: %w", err)
	}
	b, err := rfc2136.New(rfc2136.Options{Server: f.dnsServer, Key: key})
	if err != nil {
		return nil, fmt.Errorf("--dns-server: %w", err)
	}
	return b, nil
}

// newDNSWriter is the DNS writer the flags ask for, or nil.
func newDNSWriter(f *flags, src *kubesource.Source, events *kubesource.Events, reg prometheus.Registerer, log *slog.Logger) (*kubesource.DNSWriter, error) {
	if f.dnsProvider == "" {
		return nil, nil
	}
	backend, err := dnsBackend(f)
	if err != nil {
		return nil, err
	}
	syncer, err := dnssync.NewSyncer(backend, f.dnsOwnerID)
	if err != nil {
		return nil, fmt.Errorf("--dns-owner-id: %w", err)
	}
	tmpl, err := dnsNameTemplate(f)
	if err != nil {
		return nil, err
	}
	return kubesource.NewDNSWriter(kubesource.DNSOptions{
		Syncer:       syncer,
		Zone:         f.dnsZone,
		NameTemplate: tmpl,
		TTL:          f.dnsTTL,
		PublishHosts: f.dnsPublishHosts,
		Source:       src,
		Recorder:     events.Recorder(),
		Metrics:      reg,
		Logger:       log,
	})
}

// defaultReplicaName is $POD_NAME, else the hostname in lower case (a
// hostname is case-insensitive; a Lease name is not).
func defaultReplicaName() string {
	if name := os.Getenv("POD_NAME"); name != "" {
		return name
	}
	host, _ := os.Hostname()
	return strings.ToLower(host)
}

// defaultPublicAddress is $HOST_IP, else $POD_IP, else "".
func defaultPublicAddress() string {
	return cmp.Or(os.Getenv("HOST_IP"), os.Getenv("POD_IP"))
}

// splitList splits a comma-separated flag value, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func newLogger(f *flags, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	if f.logFormat != "text" && f.logFormat != "json" {
		return nil, fmt.Errorf("--log-format: %q is not text or json", f.logFormat)
	}
	return slog.New(logHandler(f.logFormat, w, level)), nil
}

// logHandler is a text or JSON handler; format is checked by newLogger.
func logHandler(format string, w io.Writer, level slog.Level) slog.Handler {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "ingress-controller:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "migrate" {
		return runMigrate(args[1:], stdout, stderr)
	}
	f, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if f.version {
		fmt.Fprintln(stdout, "ingress-controller", version)
		return nil
	}
	log, err := newLogger(f, stderr)
	if err != nil {
		return err
	}

	var providers provider.Registry
	providers.Register("builtin", func(o provider.Options) (provider.Provider, error) {
		return builtin.New(o, log.With("provider", "builtin")), nil
	})
	providers.Register("haproxy", func(o provider.Options) (provider.Provider, error) {
		return haproxy.New(haproxy.Options{Options: o, Binary: f.haproxyBinary, Dir: f.haproxyDir, Threads: f.haproxyThreads, TicketKeyRotation: f.haproxyTicketRotation, KeepOnExit: f.keepLBOnExit, Logger: log.With("provider", "haproxy")})
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	popts := providerOptions(f)
	popts.Metrics = reg
	if f.accessLog {
		// Always at info, whatever --log-level says, on stdout.
		popts.AccessLog = slog.New(logHandler(f.logFormat, stdout, slog.LevelInfo)).With("log", "access")
	}
	prov, err := providers.New(f.provider, popts)
	if err != nil {
		return fmt.Errorf("--provider: %w", err)
	}

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	stopping := make(chan struct{})
	go stopOnSignal(ctx, stop, stopping, f.shutdownDelay, log)
	notStopping := func(context.Context) error {
		select {
		case <-stopping:
			return errors.New("shutting down")
		default:
			return nil
		}
	}

	topts := translateOptions(f)
	switch f.source {
	case "file":
		return runFile(ctx, f, log, prov, reg, topts, notStopping)
	case "kubernetes":
		return runKubernetes(ctx, f, log, prov, reg, topts, notStopping, stopping)
	}
	return fmt.Errorf("--source: unknown source %q (known: file, kubernetes)", f.source)
}

// providerOptions are the provider.Options the flags say.
func providerOptions(f *flags) provider.Options {
	return provider.Options{
		ListenAddress: f.listenAddress,
		ShutdownGrace: f.shutdownGrace,
		DrainTimeout:  f.drainTimeout,

		MaxRequestHeaderBytes: f.maxRequestHeaderBytes,
		ClientBodyTimeout:     f.clientBodyTimeout,
		TunnelIdleTimeout:     f.tunnelIdleTimeout,
		MaxConnections:        f.maxConnections,

		NoTLSSessionResumption: !f.tlsSessionResumption,
		ServerHeader:           f.serverHeader,
	}
}

// stopOnSignal calls stop on SIGINT or SIGTERM: at once, or after delay,
// during which stopping is closed (so /readyz fails and the replica leaves
// its membership) and everything serves on. A second signal cuts the
// delay short.
func stopOnSignal(ctx context.Context, stop context.CancelFunc, stopping chan<- struct{}, delay time.Duration, log *slog.Logger) {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	select {
	case <-ctx.Done():
		return
	case s := <-sig:
		close(stopping)
		if delay > 0 {
			log.Info("stopping: not ready, serving on for --shutdown-delay", "signal", s.String(), "delay", delay)
			select {
			case <-time.After(delay):
			case <-sig:
			case <-ctx.Done():
			}
		}
	}
	stop()
}

// translateOptions are the translator's options from the flags.
func translateOptions(f *flags) translate.Options {
	return translate.Options{
		ControllerName:     translate.DefaultControllerName,
		IngressClass:       f.ingressClass,
		HTTPPort:           int32(f.httpPort),
		HTTPSPort:          int32(f.httpsPort),
		DefaultCertificate: f.defaultSSLCertificate,
		LBPerIngress:       f.lbPerIngress,
		ScaleIgnored:       scaleIgnored(f),
		NginxCompat:        f.nginxCompat,
		NginxIngressClass:  f.nginxClass,
		GatewayAddressPool: f.gatewayPool,
		GatewayServices:    f.gatewayAPI && f.gatewayServices,
		ClusterDomain:      f.clusterDomain,

		NginxAllowedResponseHeaders: f.nginxAllowedResponseHeaders,
		StickyCanaryIgnored:         stickyCanaryIgnored(f),
		NameListsUnserved:           nameListsUnserved(f),
		TimeoutRetriesUnserved:      timeoutRetriesUnserved(f),
	}
}

// stickyCanaryIgnored says why ingress-nginx's sticky canaries are served
// as legacy, or "": HAProxy cannot let an affinity cookie pick among a
// route's weighted backends (internal/provider/haproxy/sticky.go).
func stickyCanaryIgnored(f *flags) string {
	if f.provider == "haproxy" {
		return "--provider=haproxy cannot"
	}
	return ""
}

// nameListsUnserved says why the provider checks a backend certificate
// against one name only, or "".
func nameListsUnserved(f *flags) string {
	if f.provider == "haproxy" {
		return "--provider=haproxy checks one DNS name"
	}
	return ""
}

// timeoutRetriesUnserved says why the provider does not retry an attempt
// that timed out within a route's request timeout: HAProxy has one
// server timeout per attempt, and a route's request timeout takes it.
func timeoutRetriesUnserved(f *flags) string {
	if f.provider == "haproxy" {
		return "--provider=haproxy retries a timed-out attempt only when timeouts.request is not set"
	}
	return ""
}

// allowedResponseHeaders are the header names for which the kubernetes
// source watches ConfigMaps: none unless the nginx Ingresses are served.
func allowedResponseHeaders(f *flags) []string {
	if !f.nginxCompat {
		return nil
	}
	return f.nginxAllowedResponseHeaders
}

// scaleIgnored says why ingress-controller.io/scale cannot be honoured,
// or "": only replicas published each at its own address can serve some
// load balancers and not others. Behind one Service, one that refused a
// load balancer's connections would fail the clients sent to it.
func scaleIgnored(f *flags) string {
	switch {
	case f.source != "kubernetes":
		return "only --source=kubernetes runs replicas"
	case len(f.publishStatusAddresses) > 0:
		return "--publish-status-address publishes every replica as one address"
	case f.publishService != "":
		return "--publish-service publishes every replica as the Service's address"
	case f.publicAddress == "":
		return "this replica has no public address (--public-address, $HOST_IP or $POD_IP)"
	}
	return ""
}

// defaultHAProxyDir is a runtime directory no other user can have made
// first, unlike a fixed name under /tmp: /run/ingress-controller/haproxy
// for root (/run is root's), else under $XDG_RUNTIME_DIR (the user's own,
// 0700, cleared at logout) or, without one, the user's cache directory.
// The working directory is the last resort.
func defaultHAProxyDir() string {
	const sub = "ingress-controller/haproxy"
	if os.Geteuid() == 0 {
		return "/run/" + sub
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(d) {
		return filepath.Join(d, sub)
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, sub)
	}
	return filepath.Join(".", sub)
}

// newAdmin is the admin server of --metrics-addr, with profiles only if
// --enable-pprof.
func newAdmin(f *flags, reg *prometheus.Registry, log *slog.Logger, checks ...admin.Check) *admin.Server {
	adm := admin.New(f.metricsAddr, reg, log.With("component", "admin"), checks...)
	if f.enablePprof {
		adm.ServePprof()
	}
	return adm
}

func runFile(ctx context.Context, f *flags, log *slog.Logger, prov provider.Provider, reg *prometheus.Registry, topts translate.Options, notStopping admin.Check) error {
	if f.manifests == "" {
		return errors.New("--source=file needs --manifests DIR")
	}
	src := file.New(f.manifests, 0, log)
	if err := src.Load(); err != nil {
		return fmt.Errorf("--manifests: %w", err)
	}
	eng := engine.New(engine.Options{Source: src, Provider: prov, Translate: topts, Logger: log.With("component", "engine"), Metrics: engine.NewMetrics(reg)})
	adm := newAdmin(f, reg, log, append(readiness(eng, prov), notStopping)...)
	log.Info("starting", "version", version, "source", f.source, "provider", prov.Name(), "manifests", f.manifests, "http_port", f.httpPort, "https_port", f.httpsPort)
	err := runAll(ctx,
		func(ctx context.Context) error { return src.Run(ctx, eng.Trigger) },
		func(ctx context.Context) error { return eng.Run(ctx) },
		func(ctx context.Context) error { return prov.Run(ctx, make(chan provider.Result, 1)) },
		adm.Run,
	)
	log.Info("stopped")
	return err
}

// runKubernetes wires the kubernetes source: informers feed the engine,
// the assignment picks the load balancers this replica serves, engine
// callbacks feed Events, the status writer and this replica's membership
// Lease, and the status writer runs only while this process holds the
// leader-election Lease. Once stopping is closed the replica leaves its
// membership.
func runKubernetes(ctx context.Context, f *flags, log *slog.Logger, prov provider.Provider, reg *prometheus.Registry, topts translate.Options, notStopping admin.Check, stopping <-chan struct{}) error {
	// client-go logs through klog; send it to our logger.
	klog.SetSlogLogger(log.With("component", "client-go"))
	restCfg, contextNamespace, err := kubesource.LoadConfig(f.kubeconfig, "ingress-controller/"+version)
	if err != nil {
		return fmt.Errorf("--kubeconfig: %w", err)
	}
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return fmt.Errorf("--kubeconfig: %w", err)
	}
	// The source wakes the status writer when an Ingress or the publish
	// Service changes.
	kick, gatewayKick := kubesource.NewStatusKick(), kubesource.NewStatusKick()
	var gateway gatewayclient.Interface
	if f.gatewayAPI {
		if gateway, err = gatewayclient.NewForConfig(restCfg); err != nil {
			return fmt.Errorf("--kubeconfig: %w", err)
		}
	}
	src, err := kubesource.New(kubesource.Options{
		Client:          client,
		StatusKick:      kick,
		Namespaces:      f.watchNamespaces,
		PublishService:  f.publishService,
		Gateway:         gateway,
		GatewayKick:     gatewayKick,
		GatewayServices: topts.GatewayServices,
		Logger:          log,

		AllowedResponseHeaders: allowedResponseHeaders(f),
	})
	if err != nil {
		return err
	}
	electionNamespace := f.electionNamespace
	if electionNamespace == "" {
		electionNamespace = kubesource.ElectionNamespace(contextNamespace)
	}
	events := kubesource.NewEvents(kubesource.EventsOptions{Client: client, Provider: prov.Name(), Logger: log})
	replicas := kubesource.NewReplicaWatch(client, electionNamespace, f.electionID, log)
	dns, err := newDNSWriter(f, src, events, reg, log)
	if err != nil {
		events.Stop(ctx)
		return err
	}
	status, err := kubesource.NewStatusWriter(kubesource.StatusOptions{
		Client:           client,
		Source:           src,
		PublishAddresses: f.publishStatusAddresses,
		ClearOnShutdown:  f.updateStatusOnShutdown,
		Kick:             kick,
		Replicas:         replicas,
		DNS:              dns,
		PublishHostname:  f.publishHostname,
		Recorder:         events.Recorder(),
		Metrics:          reg,
		Logger:           log,
	})
	if err != nil {
		events.Stop(ctx)
		return err
	}
	leaders := kubesource.Leaders{status}
	if dns != nil {
		leaders = append(leaders, dns)
	}
	var gatewayStatus *kubesource.GatewayStatusWriter
	if f.gatewayAPI {
		opts := kubesource.GatewayStatusOptions{
			Client: gateway, Source: src, Translate: topts, Core: client, Kick: gatewayKick, Recorder: events.Recorder(), Logger: log,
		}
		gatewayStatus, err = kubesource.NewGatewayStatusWriter(opts)
		if err != nil {
			events.Stop(ctx)
			return err
		}
		leaders = append(leaders, gatewayStatus)
	}
	var leader kubesource.Leader = leaders
	membership := &kubesource.Membership{
		Client:        client,
		Namespace:     electionNamespace,
		ElectionID:    f.electionID,
		Name:          f.replicaName,
		Address:       f.publicAddress,
		LeaseDuration: f.leaseDuration,
		Logger:        log,
	}
	assignment := &kubesource.Assignment{
		Self:       f.replicaName,
		Replicas:   replicas,
		Membership: membership,
		Drain:      f.shutdownDelay,
		Logger:     log,
	}
	if err := assignment.RegisterMetrics(reg); err != nil {
		events.Stop(ctx)
		return err
	}
	// The Lease publishes what the provider serves and the assignment
	// lets it publish: not what drains or is let go.
	publish := func(applied *lbconfig.Config) {
		membership.SetServing(serving(applied, prov, assignment.Published))
	}
	var eng *engine.Engine
	eng = engine.New(engine.Options{
		Source:     src,
		Provider:   prov,
		Translate:  topts,
		Logger:     log.With("component", "engine"),
		Metrics:    engine.NewMetrics(reg),
		OnProblems: events.Problems,
		Assign: func(cfg *lbconfig.Config) *lbconfig.Config {
			served := assignment.Assign(cfg)
			if applied := eng.LastApplied(); applied != nil {
				publish(applied) // what began to drain, or is let go, goes now
			}
			return served
		},
		OnApplied: func(snap *translate.Snapshot, cfg *lbconfig.Config, res provider.Result) {
			events.Applied(snap, cfg, res)
			status.Applied(res)
			if gatewayStatus != nil {
				gatewayStatus.Applied(cfg, res)
			}
			publish(cfg)
		},
		OnTranslated: status.Translated,
	})
	assignment.Changed = eng.Trigger
	election := &kubesource.Election{
		Client:        client,
		Namespace:     electionNamespace,
		Name:          f.electionID,
		Identity:      kubesource.NewIdentity(),
		LeaseDuration: f.leaseDuration,
		RenewDeadline: f.renewDeadline,
		RetryPeriod:   f.retryPeriod,
		Recorder:      events.Recorder(),
		Logger:        log,
	}
	checks := append([]admin.Check{src.Ready, notStopping}, readiness(eng, prov)...)
	adm := newAdmin(f, reg, log, checks...)
	log.Info("starting", "version", version, "source", f.source, "provider", prov.Name(),
		"api_server", restCfg.Host, "namespaces", strings.Join(f.watchNamespaces, ","),
		"http_port", f.httpPort, "identity", election.Identity, "replica", f.replicaName)
	updates := make(chan provider.Result, 1)
	err = runAll(ctx,
		func(ctx context.Context) error { return src.Run(ctx, eng.Trigger) },
		func(ctx context.Context) error {
			// The first reconcile must see the whole cluster and the
			// replicas it shares the load balancers with.
			if src.WaitForSync(ctx) != nil {
				return nil
			}
			assignment.WaitCounted(ctx, f.leaseDuration)
			return eng.Run(ctx)
		},
		func(ctx context.Context) error { return prov.Run(ctx, updates) },
		func(ctx context.Context) error { return status.WatchProvider(ctx, updates) },
		func(ctx context.Context) error { return election.Run(ctx, leader) },
		membership.Run,
		replicas.Run,
		assignment.Run,
		func(ctx context.Context) error {
			// The Lease follows the provider's health between applies.
			tick := time.NewTicker(servingCheckInterval)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-tick.C:
					if applied := eng.LastApplied(); applied != nil {
						publish(applied)
					}
				}
			}
		},
		func(ctx context.Context) error {
			select {
			case <-stopping:
				membership.Leave()
			case <-ctx.Done():
			}
			<-ctx.Done()
			return nil
		},
		adm.Run,
	)
	// Last, as it started before the rest: the election records its
	// "stopped leading" Event while it returns.
	sctx, cancel := context.WithTimeout(context.Background(), eventsFlushTimeout)
	events.Stop(sctx)
	cancel()
	log.Info("stopped")
	return err
}

// serving is what a replica's membership Lease says it serves: every load
// balancer of cfg, the applied config, that published allows, ready when
// the provider, if it can tell, says it is healthy.
func serving(cfg *lbconfig.Config, prov provider.Provider, published func(string) bool) map[string]bool {
	ready := true
	if hc, ok := prov.(provider.HealthChecker); ok {
		// Bounded: this runs on the engine's apply path.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		ready = hc.Healthy(ctx) == nil
		cancel()
	}
	out := make(map[string]bool, len(cfg.LoadBalancers))
	for _, lb := range cfg.LoadBalancers {
		if published(lb.Name) {
			out[lb.Name] = ready
		}
	}
	return out
}

// servingCheckInterval is how often a replica's Lease is checked against
// the provider's health between applies.
const servingCheckInterval = 2 * time.Second

// eventsFlushTimeout bounds how long a stopping process waits for its last
// Events to be written.
const eventsFlushTimeout = 5 * time.Second

// runAll runs every function until all return; the first error or return
// cancels the others' context.
func runAll(ctx context.Context, fns ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(fns))
	for _, fn := range fns {
		go func() {
			errs <- fn(ctx)
			cancel()
		}()
	}
	var all []error
	for range fns {
		if err := <-errs; err != nil {
			all = append(all, err)
		}
	}
	return errors.Join(all...)
}

// readiness is ready once the engine applied a config and the provider, if
// it can tell, says it serves.
func readiness(eng *engine.Engine, prov provider.Provider) []admin.Check {
	checks := []admin.Check{func(context.Context) error {
		if eng.Status().Applied == 0 {
			return errors.New("no config applied yet")
		}
		return nil
	}}
	if hc, ok := prov.(provider.HealthChecker); ok {
		checks = append(checks, hc.Healthy)
	}
	return checks
}
