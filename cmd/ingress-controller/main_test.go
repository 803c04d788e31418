package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	kubesource "ingress-controller/internal/source/kubernetes"
	"ingress-controller/internal/translate"
)

func TestHelpDocumentsEveryFlag(t *testing.T) {
	var stderr bytes.Buffer
	err := run([]string{"--help"}, &bytes.Buffer{}, &stderr)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run --help = %v, want flag.ErrHelp", err)
	}
	for _, name := range []string{"source", "provider", "manifests", "http-port", "https-port", "default-ssl-certificate", "listen-address", "ingress-class", "log-level", "log-format", "metrics-addr", "version", "haproxy-binary", "haproxy-dir", "keep-lb-on-exit", "lb-per-ingress", "max-request-header-bytes", "client-body-timeout", "tunnel-idle-timeout", "max-connections", "tls-session-resumption", "server-header", "haproxy-threads", "replica-name", "public-address", "gateway-api", "gateway-services", "gateway-address-pool"} {
		if !strings.Contains(stderr.String(), "-"+name) {
			t.Errorf("--help does not document --%s:\n%s", name, stderr.String())
		}
	}
}

func TestVersion(t *testing.T) {
	var stdout bytes.Buffer
	if err := run([]string{"--version"}, &stdout, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stdout.String(), "ingress-controller ") {
		t.Errorf("--version printed %q", stdout.String())
	}
}

func TestTranslateOptions(t *testing.T) {
	t.Setenv("HOST_IP", "")
	t.Setenv("POD_IP", "")
	const fileSource = "only --source=kubernetes runs replicas"
	nginx := translate.DefaultNginxIngressClass
	for _, tc := range []struct {
		args []string
		want translate.Options
	}{
		{nil, translate.Options{ControllerName: translate.DefaultControllerName, IngressClass: translate.DefaultIngressClass, HTTPPort: 80, HTTPSPort: 443, ScaleIgnored: fileSource, NginxIngressClass: nginx}},
		{[]string{"--lb-per-ingress", "--http-port=8080", "--https-port=8443", "--ingress-class=internal", "--default-ssl-certificate=ns/tls"},
			translate.Options{ControllerName: translate.DefaultControllerName, IngressClass: "internal", HTTPPort: 8080, HTTPSPort: 8443, DefaultCertificate: "ns/tls", LBPerIngress: true, ScaleIgnored: fileSource, NginxIngressClass: nginx}},
		{[]string{"--lb-per-ingress=false"}, translate.Options{ControllerName: translate.DefaultControllerName, IngressClass: translate.DefaultIngressClass, HTTPPort: 80, HTTPSPort: 443, ScaleIgnored: fileSource, NginxIngressClass: nginx}},
		// Scale is honoured only for replicas published at their own address.
		{[]string{"--source=kubernetes", "--public-address=198.18.1.1"},
			translate.Options{ControllerName: translate.DefaultControllerName, IngressClass: translate.DefaultIngressClass, HTTPPort: 80, HTTPSPort: 443, NginxIngressClass: nginx}},
		{[]string{"--cluster-domain=corp.example"},
			translate.Options{ControllerName: translate.DefaultControllerName, IngressClass: translate.DefaultIngressClass, HTTPPort: 80, HTTPSPort: 443, ScaleIgnored: fileSource, NginxIngressClass: nginx, ClusterDomain: "corp.example"}},
		{[]string{"--nginx-compat", "--nginx-ingress-class=legacy"},
			translate.Options{ControllerName: translate.DefaultControllerName, IngressClass: translate.DefaultIngressClass, HTTPPort: 80, HTTPSPort: 443, ScaleIgnored: fileSource, NginxCompat: true, NginxIngressClass: "legacy"}},
		{[]string{"--nginx-compat", "--nginx-allowed-response-headers= X-Frame-Options,,x-team "},
			translate.Options{ControllerName: translate.DefaultControllerName, IngressClass: translate.DefaultIngressClass, HTTPPort: 80, HTTPSPort: 443, ScaleIgnored: fileSource, NginxCompat: true, NginxIngressClass: nginx,
				NginxAllowedResponseHeaders: []string{"X-Frame-Options", "x-team"}}},
		{[]string{"--provider=haproxy"},
			translate.Options{ControllerName: translate.DefaultControllerName, IngressClass: translate.DefaultIngressClass, HTTPPort: 80, HTTPSPort: 443, ScaleIgnored: fileSource, NginxIngressClass: nginx,
				StickyCanaryIgnored: "--provider=haproxy cannot", NameListsUnserved: "--provider=haproxy checks one DNS name",
				TimeoutRetriesUnserved: "--provider=haproxy retries a timed-out attempt only when timeouts.request is not set"}},
		{[]string{"--source=kubernetes"},
			translate.Options{ControllerName: translate.DefaultControllerName, IngressClass: translate.DefaultIngressClass, HTTPPort: 80, HTTPSPort: 443, NginxIngressClass: nginx,
				ScaleIgnored: "this replica has no public address (--public-address, $HOST_IP or $POD_IP)"}},
		{[]string{"--source=kubernetes", "--public-address=198.18.1.1", "--publish-service=ns/lb"},
			translate.Options{ControllerName: translate.DefaultControllerName, IngressClass: translate.DefaultIngressClass, HTTPPort: 80, HTTPSPort: 443, NginxIngressClass: nginx,
				ScaleIgnored: "--publish-service publishes every replica as the Service's address"}},
		// A Service per Gateway by default with the Gateway API, and
		// GatewayInfrastructure with it.
		{[]string{"--source=kubernetes", "--public-address=198.18.1.1", "--gateway-api"},
			translate.Options{ControllerName: translate.DefaultControllerName, IngressClass: translate.DefaultIngressClass, HTTPPort: 80, HTTPSPort: 443, NginxIngressClass: nginx,
				GatewayServices: true}},
		{[]string{"--source=kubernetes", "--public-address=198.18.1.1", "--gateway-api", "--gateway-services=false"},
			translate.Options{ControllerName: translate.DefaultControllerName, IngressClass: translate.DefaultIngressClass, HTTPPort: 80, HTTPSPort: 443, NginxIngressClass: nginx}},
		{[]string{"--source=kubernetes", "--public-address=198.18.1.1", "--publish-status-address=lb.example"},
			translate.Options{ControllerName: translate.DefaultControllerName, IngressClass: translate.DefaultIngressClass, HTTPPort: 80, HTTPSPort: 443, NginxIngressClass: nginx,
				ScaleIgnored: "--publish-status-address publishes every replica as one address"}},
	} {
		f, err := parseFlags(tc.args, &bytes.Buffer{})
		if err != nil {
			t.Fatalf("parseFlags %v: %v", tc.args, err)
		}
		if got := translateOptions(f); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("flags %v: translate options %+v, want %+v", tc.args, got, tc.want)
		}
	}
}

// TestDNSFlagDefaults: the name template follows the zone and
// --lb-per-ingress, and the owner id is the election ID.
func TestDNSFlagDefaults(t *testing.T) {
	base := []string{"--source=kubernetes", "--dns-provider=rfc2136", "--dns-zone=Example.TEST.", "--dns-server=127.0.0.1", "--dns-tsig-key-file=k"}
	for _, tc := range []struct {
		args            []string
		template, owner string
	}{
		{base, "{{.Name}}.example.test", kubesource.DefaultElectionID},
		{append(slices.Clone(base), "--lb-per-ingress", "--election-id=edge"), "{{.Name}}.{{.Namespace}}.example.test", "edge"},
		{append(slices.Clone(base), "--dns-name-template=lb-{{.Name}}.example.test", "--dns-owner-id=cluster-1"), "lb-{{.Name}}.example.test", "cluster-1"},
	} {
		f, err := parseFlags(tc.args, &bytes.Buffer{})
		if err != nil {
			t.Fatalf("parseFlags %v: %v", tc.args, err)
		}
		if f.dnsNameTemplate != tc.template || f.dnsOwnerID != tc.owner || f.dnsZone != "example.test" {
			t.Errorf("flags %v: template %q, owner %q, zone %q; want %q, %q, example.test", tc.args, f.dnsNameTemplate, f.dnsOwnerID, f.dnsZone, tc.template, tc.owner)
		}
	}
}

// TestDNSKeyFileRead: a key file that cannot be read stops the start,
// naming the flag.
func TestDNSKeyFileRead(t *testing.T) {
	f, err := parseFlags([]string{"--source=kubernetes", "--dns-provider=rfc2136", "--dns-zone=example.test",
		"--dns-server=127.0.0.1", "--dns-tsig-key-file=/does/not/exist"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newDNSWriter(f, nil, nil, nil, nil); err == nil || !strings.Contains(err.Error(), "--dns-tsig-key-file") {
		t.Errorf("newDNSWriter with a missing key file: %v, want an error naming --dns-tsig-key-file", err)
	}
}

// TestRoute53Backend: --dns-provider=route53 builds a Route 53 backend with
// the SDK's default credential chain, here from the environment. (The
// backend itself is tested against a fake Route 53 in its package.)
func TestRoute53Backend(t *testing.T) {
	args := []string{"--source=kubernetes", "--dns-provider=route53", "--dns-zone=example.test", "--dns-route53-zone-id=Z123"}
	f, err := parseFlags(args, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	if b, err := dnsBackend(f); err != nil || b == nil {
		t.Errorf("dnsBackend with credentials in the environment: %v, %v", b, err)
	}
}

func TestBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--http-port=0"}, "--http-port: 0 is not a port number"},
		{[]string{"--provider=nginx", "--manifests=."}, `unknown provider "nginx"`},
		{[]string{"--provider=haproxy", "--haproxy-binary=/does/not/exist/haproxy", "--manifests=."}, `haproxy: binary "/does/not/exist/haproxy"`},
		{[]string{"--source=consul", "--manifests=."}, `unknown source "consul"`},
		{[]string{"--source=file"}, "needs --manifests"},
		{[]string{"--manifests=/does/not/exist"}, "--manifests"},
		{[]string{"--log-format=xml"}, "--log-format"},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"--http-port=8080", "--https-port=8080"}, "--http-port and --https-port are both 8080"},
		{[]string{"--default-ssl-certificate=tls"}, `--default-ssl-certificate: "tls" is not namespace/name`},
		{[]string{"--default-ssl-certificate=a/b/c"}, "--default-ssl-certificate"},
		{[]string{"--max-request-header-bytes=100"}, "--max-request-header-bytes: 100 is not between 1024 and 1048576"},
		{[]string{"--client-body-timeout=0"}, "--client-body-timeout: 0s is less than 1ms"},
		{[]string{"--tunnel-idle-timeout=-1s"}, "--tunnel-idle-timeout: -1s is less than 1ms"},
		{[]string{"--max-connections=0"}, "--max-connections: 0 is not positive"},
		{[]string{"--nginx-allowed-response-headers=X-Team,X Frame"}, `--nginx-allowed-response-headers: header name "X Frame"`},
		{[]string{"--nginx-allowed-response-headers=X-Team\r\nX-Injected"}, "--nginx-allowed-response-headers"},
		{[]string{"--haproxy-threads=-1"}, "--haproxy-threads: -1 is not between 0 and 64"},
		{[]string{"--haproxy-threads=65"}, "--haproxy-threads: 65 is not between 0 and 64"},
		{[]string{"--replica-name=Replica_1"}, `--replica-name: "Replica_1"`},
		{[]string{"--replica-name="}, `--replica-name: ""`},
		{[]string{"--public-address=lb.example.com"}, `--public-address: "lb.example.com" is not an IP address`},
		{[]string{"--public-address=192.0.2.1:80"}, `--public-address: "192.0.2.1:80" is not an IP address`},
		{[]string{"--public-address=fe80::1%eth0"}, `--public-address: "fe80::1%eth0" is not an IP address`},
		{[]string{"--publish-hostname"}, "--publish-hostname needs --dns-provider"},
		{[]string{"--gateway-api", "--manifests=."}, "--gateway-api needs --source=kubernetes"},
		{[]string{"--source=kubernetes", "--gateway-address-pool=10.0.0.0/24"}, "--gateway-address-pool needs --gateway-api"},
		{[]string{"--source=kubernetes", "--gateway-api", "--gateway-address-pool=10.0.0.1"}, `--gateway-address-pool: "10.0.0.1" is not a CIDR`},
		{[]string{"--source=kubernetes", "--gateway-api", "--gateway-address-pool=fe80::%eth0/64"}, "--gateway-address-pool"},
		{[]string{"--source=kubernetes", "--gateway-api", "--gateway-address-pool=::ffff:10.0.0.0/120"}, "--gateway-address-pool"},
		{[]string{"--source=kubernetes", "--dns-provider=route66"}, `--dns-provider: "route66" is not rfc2136 or route53`},
		{[]string{"--source=kubernetes", "--dns-provider=rfc2136", "--dns-zone=example.test"}, "needs --dns-server and --dns-tsig-key-file"},
		{[]string{"--dns-provider=rfc2136", "--dns-zone=example.test", "--dns-server=127.0.0.1", "--dns-tsig-key-file=k"}, "needs --source=kubernetes"},
		{[]string{"--source=kubernetes", "--dns-provider=rfc2136", "--dns-zone=exa_mple..test", "--dns-server=127.0.0.1", "--dns-tsig-key-file=k"}, "--dns-zone"},
		{[]string{"--source=kubernetes", "--dns-provider=rfc2136", "--dns-zone=example.test", "--dns-server=127.0.0.1", "--dns-tsig-key-file=k", "--dns-ttl=1500ms"}, "--dns-ttl: 1.5s is not whole seconds"},
		{[]string{"--source=kubernetes", "--dns-provider=rfc2136", "--dns-zone=example.test", "--dns-server=127.0.0.1", "--dns-tsig-key-file=k", "--dns-name-template={{.Name"}, "--dns-name-template"},
		{[]string{"--source=kubernetes", "--dns-provider=rfc2136", "--dns-zone=example.test", "--dns-server=127.0.0.1", "--dns-tsig-key-file=k", "--dns-owner-id=a b"}, "--dns-owner-id"},
	} {
		err := run(tc.args, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run %v = %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}

// TestDefaultHAProxyDir: the default runtime directory is not a fixed name
// under a shared directory such as /tmp, where another user could make it
// first.
func TestDefaultHAProxyDir(t *testing.T) {
	f, err := parseFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(f.haproxyDir, os.TempDir()) {
		t.Errorf("--haproxy-dir defaults to %s, under the shared %s", f.haproxyDir, os.TempDir())
	}
	if os.Geteuid() == 0 && f.haproxyDir != "/run/ingress-controller/haproxy" {
		t.Errorf("as root, --haproxy-dir defaults to %s, want /run/ingress-controller/haproxy", f.haproxyDir)
	}
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1000")
	if os.Geteuid() != 0 {
		if got := defaultHAProxyDir(); got != "/run/user/1000/ingress-controller/haproxy" {
			t.Errorf("with XDG_RUNTIME_DIR, the default is %s", got)
		}
	}
}

func TestProviderOptions(t *testing.T) {
	for _, tc := range []struct {
		args         []string
		noResumption bool
	}{
		{nil, false},
		{[]string{"--tls-session-resumption"}, false},
		{[]string{"--tls-session-resumption=false"}, true},
	} {
		f, err := parseFlags(tc.args, &bytes.Buffer{})
		if err != nil {
			t.Fatalf("parseFlags %v: %v", tc.args, err)
		}
		if got := providerOptions(f); got.NoTLSSessionResumption != tc.noResumption {
			t.Errorf("flags %v: NoTLSSessionResumption %v, want %v", tc.args, got.NoTLSSessionResumption, tc.noResumption)
		}
	}
}

// TestServerHeaderFlag: a product token by default, one given, or none;
// a value that could end the field or break a config is refused.
func TestServerHeaderFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{{nil, "ingress-controller"}, {[]string{"--server-header=edge/2.1"}, "edge/2.1"}, {[]string{"--server-header="}, ""}} {
		f, err := parseFlags(tc.args, &bytes.Buffer{})
		if err != nil {
			t.Fatalf("parseFlags %v: %v", tc.args, err)
		}
		if got := providerOptions(f).ServerHeader; got != tc.want {
			t.Errorf("flags %v: ServerHeader %q, want %q", tc.args, got, tc.want)
		}
	}
	for _, bad := range []string{"a b", "a\r\nX-Evil: 1", "a/b/c", "/1", "a/", "%[src]", "a\"b", strings.Repeat("a", 65), "caf\u00e9"} {
		if _, err := parseFlags([]string{"--server-header=" + bad}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "--server-header") {
			t.Errorf("--server-header=%q: got %v, want an error naming the flag", bad, err)
		}
	}
}

func TestHAProxyThreadsFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int
	}{{nil, 0}, {[]string{"--haproxy-threads=4"}, 4}, {[]string{"--haproxy-threads=64"}, 64}} {
		f, err := parseFlags(tc.args, &bytes.Buffer{})
		if err != nil {
			t.Fatalf("parseFlags %v: %v", tc.args, err)
		}
		if f.haproxyThreads != tc.want {
			t.Errorf("flags %v: %d threads, want %d", tc.args, f.haproxyThreads, tc.want)
		}
	}
}

func TestReplicaFlags(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name              string
		env               map[string]string
		args              []string
		replica, publicIP string
	}{
		{"defaults", nil, nil, strings.ToLower(host), ""},
		{"pod name", map[string]string{"POD_NAME": "ic-7d9f-abcde"}, nil, "ic-7d9f-abcde", ""},
		{"pod IP", map[string]string{"POD_IP": "10.1.2.3"}, nil, strings.ToLower(host), "10.1.2.3"},
		{"host IP before pod IP", map[string]string{"HOST_IP": "192.0.2.7", "POD_IP": "10.1.2.3"}, nil, strings.ToLower(host), "192.0.2.7"},
		{"flags before the environment", map[string]string{"POD_NAME": "pod", "HOST_IP": "192.0.2.7"},
			[]string{"--replica-name=edge-1.example", "--public-address=2001:DB8::1"}, "edge-1.example", "2001:db8::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"POD_NAME", "HOST_IP", "POD_IP"} {
				t.Setenv(k, tc.env[k])
			}
			f, err := parseFlags(tc.args, &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			if f.replicaName != tc.replica || f.publicAddress != tc.publicIP {
				t.Errorf("replica %q, public address %q; want %q, %q", f.replicaName, f.publicAddress, tc.replica, tc.publicIP)
			}
		})
	}
}

// TestMigrate runs `ingress-controller migrate` on a directory of
// manifests: the JSON report parses and has the verdicts; bad flags are
// refused.
func TestMigrate(t *testing.T) {
	var out bytes.Buffer
	err := run([]string{"migrate", "--from=ingress-nginx", "--manifests=../../internal/migrate/testdata", "--output=json"}, &out, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var report struct {
		Ingresses []struct{ Name, Verdict string }
		Summary   struct{ Total, Refused int }
	}
	if err := json.Unmarshal(out.Bytes(), &report); err != nil {
		t.Fatalf("migrate --output=json: %v\n%s", err, out.String())
	}
	if report.Summary.Total != 3 || report.Summary.Refused != 1 {
		t.Errorf("migrate report %+v", report)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"migrate"}, `--from=""`},
		{[]string{"migrate", "--from=traefik"}, "only ingress-nginx"},
		{[]string{"migrate", "--from=ingress-nginx", "--output=yaml"}, "--output"},
		{[]string{"migrate", "--from=ingress-nginx", "--nginx-configmap=cm"}, "not namespace/name"},
		{[]string{"migrate", "--from=ingress-nginx", "--manifests=/does/not/exist"}, "--manifests"},
	} {
		if err := run(tc.args, &bytes.Buffer{}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run %v = %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}
