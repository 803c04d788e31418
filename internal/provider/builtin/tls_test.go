package builtin

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"ingress-controller/internal/nettest"
	"ingress-controller/internal/translate"
	"ingress-controller/pkg/lbconfig"
)

// tlsFixture is a proxy with an HTTP listener that redirects shop.test to
// an HTTPS listener, which serves shop.test and *.wild.test with their own
// certificates and routes everything to one echo backend.
type tlsFixture struct {
	p                 *Provider
	httpPort, tlsPort int32
	shop, wild        nettest.Cert
	backends          []lbconfig.Backend
}

func newTLSFixture(t *testing.T) *tlsFixture {
	f := &tlsFixture{
		p:        startProxy(t, nettest.Logger(t)),
		httpPort: nettest.FreePort(t),
		tlsPort:  nettest.FreePort(t),
		shop:     nettest.NewCert(t, "shop", "shop.test"),
		wild:     nettest.NewCert(t, "wild", "*.wild.test"),
		backends: []lbconfig.Backend{backendOf("echo", nettest.EchoEndpoint(t, "echo"))},
	}
	mustApply(t, f.p, f.config(f.shop, nil))
	return f
}

// config is the fixture's config with shopCert for shop.test and def, if
// not nil, as the catch-all's certificate.
func (f *tlsFixture) config(shopCert nettest.Cert, def *nettest.Cert) *lbconfig.Config {
	redirect := prefix("/", "echo")
	redirect.HTTPSRedirect = &lbconfig.HTTPSRedirect{Port: f.tlsPort, StatusCode: 308}
	vhosts := []lbconfig.VirtualHost{
		{Hostname: "shop.test", TLS: shopCert.Ref(), Routes: []lbconfig.Route{prefix("/", "echo")}},
		{Hostname: "*.wild.test", TLS: f.wild.Ref(), Routes: []lbconfig.Route{prefix("/", "echo")}},
		{Hostname: "plain.test", Routes: []lbconfig.Route{prefix("/", "echo")}},
	}
	certs := []lbconfig.Certificate{shopCert.Certificate(), f.wild.Certificate()}
	if def != nil {
		vhosts = append(vhosts, lbconfig.VirtualHost{Hostname: "", TLS: def.Ref()})
		certs = append(certs, def.Certificate())
	}
	return &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{
			Name: "default",
			Listeners: []lbconfig.Listener{
				{Port: f.httpPort, Protocol: lbconfig.ProtocolHTTP, VirtualHosts: []lbconfig.VirtualHost{
					{Hostname: "shop.test", Routes: []lbconfig.Route{redirect}},
					{Hostname: "plain.test", Routes: []lbconfig.Route{prefix("/", "echo")}},
				}},
				{Port: f.tlsPort, Protocol: lbconfig.ProtocolHTTPS, VirtualHosts: vhosts},
			},
		}},
		Backends:     f.backends,
		Certificates: certs,
	}
}

// handshake connects to port with serverName as SNI ("" sends none) and
// returns the certificate the proxy served.
func handshake(t *testing.T, port int32, serverName string, protos ...string) (*x509.Certificate, tls.ConnectionState) {
	t.Helper()
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: &tls.Config{
		ServerName:         serverName,
		InsecureSkipVerify: true, // checked by the caller against what it expects
		NextProtos:         protos,
	}}
	c, err := d.DialContext(context.Background(), "tcp", "127.0.0.1:"+strconv.Itoa(int(port)))
	if err != nil {
		t.Fatalf("TLS handshake with SNI %q: %v", serverName, err)
	}
	defer c.Close()
	cs := c.(*tls.Conn).ConnectionState()
	return cs.PeerCertificates[0], cs
}

func TestHTTPSCertificateBySNI(t *testing.T) {
	f := newTLSFixture(t)
	for _, tc := range []struct{ sni, want string }{
		{"shop.test", "shop"},
		{"SHOP.test", "shop"},
		{"a.wild.test", "wild"},
		{"b.wild.test", "wild"},
		{"a.b.wild.test", "ingress-controller default"}, // one label only
		{"plain.test", "ingress-controller default"},
		{"unknown.test", "ingress-controller default"},
		{"", "ingress-controller default"},
	} {
		leaf, cs := handshake(t, f.tlsPort, tc.sni)
		if leaf.Subject.CommonName != tc.want {
			t.Errorf("SNI %q: served %q, want %q", tc.sni, leaf.Subject.CommonName, tc.want)
		}
		if cs.Version < tls.VersionTLS12 {
			t.Errorf("SNI %q: TLS version %x", tc.sni, cs.Version)
		}
	}
	// The self-signed default names no host and is made once.
	first, _ := handshake(t, f.tlsPort, "")
	second, _ := handshake(t, f.tlsPort, "unknown.test")
	if len(first.DNSNames) != 0 || !first.Equal(second) {
		t.Errorf("default certificate: hosts %v, same twice: %v", first.DNSNames, first.Equal(second))
	}
	if pub, ok := first.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("default certificate key is %T, want ECDSA P-256", first.PublicKey)
	}

	// A catch-all certificate is the default for unknown and missing SNI
	// and for hosts without a certificate of their own.
	def := nettest.NewCert(t, "default-cert")
	mustApply(t, f.p, f.config(f.shop, &def))
	for _, sni := range []string{"", "unknown.test", "plain.test", "a.b.wild.test"} {
		if leaf, _ := handshake(t, f.tlsPort, sni); leaf.Subject.CommonName != "default-cert" {
			t.Errorf("SNI %q with a catch-all certificate: served %q", sni, leaf.Subject.CommonName)
		}
	}
	if leaf, _ := handshake(t, f.tlsPort, "shop.test"); leaf.Subject.CommonName != "shop" {
		t.Errorf("SNI shop.test with a catch-all certificate: served %q", leaf.Subject.CommonName)
	}

	// Verified for real: the served chain is valid for the name.
	pool := x509.NewCertPool()
	pool.AddCert(f.shop.Leaf)
	c, err := tls.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(f.tlsPort)), &tls.Config{ServerName: "shop.test", RootCAs: pool})
	if err != nil {
		t.Fatalf("verified handshake: %v", err)
	}
	c.Close()

	// TLS 1.1 and older are refused.
	_, err = tls.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(f.tlsPort)), &tls.Config{ServerName: "shop.test", InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11})
	if err == nil {
		t.Error("TLS 1.1 handshake succeeded")
	}
}

// httpsClient trusts the given certificates and connects every request to
// the proxy's port, whatever the URL's host.
func httpsClient(t *testing.T, port int32, h2 bool, certs ...nettest.Cert) *http.Client {
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c.Leaf)
	}
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: h2,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, "127.0.0.1:"+strconv.Itoa(int(port)))
		},
	}
	if !h2 {
		tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func httpsGet(t *testing.T, c *http.Client, url string, trace *httptrace.ClientTrace) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Echo-Headers", "1")
	if trace != nil {
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: body: %v", url, err)
	}
	return resp, string(body)
}

func TestHTTPSRoutingHTTP2AndHTTP1(t *testing.T) {
	f := newTLSFixture(t)
	port := strconv.Itoa(int(f.tlsPort))
	for _, h2 := range []bool{true, false} {
		c := httpsClient(t, f.tlsPort, h2, f.shop, f.wild)
		for _, host := range []string{"shop.test", "x.wild.test"} {
			resp, body := httpsGet(t, c, "https://"+host+":"+port+"/path?q=1", nil)
			wantProto := 1
			if h2 {
				wantProto = 2
			}
			if resp.StatusCode != 200 || resp.ProtoMajor != wantProto {
				t.Errorf("h2=%v %s: %d over HTTP/%d, want 200 over HTTP/%d", h2, host, resp.StatusCode, resp.ProtoMajor, wantProto)
			}
			if resp.TLS == nil || (h2 && resp.TLS.NegotiatedProtocol != "h2") {
				t.Errorf("h2=%v %s: ALPN %+v", h2, host, resp.TLS)
			}
			got := echoedHeaders(body)
			if p := got["X-Forwarded-Proto"]; len(p) != 1 || p[0] != "https" {
				t.Errorf("h2=%v %s: backend saw X-Forwarded-Proto %q", h2, host, p)
			}
			if p := got["X-Forwarded-Port"]; len(p) != 1 || p[0] != port {
				t.Errorf("h2=%v %s: backend saw X-Forwarded-Port %q", h2, host, p)
			}
			if h := resp.Header.Get("X-Echo-Host"); h != host+":"+port {
				t.Errorf("h2=%v %s: backend saw Host %q", h2, host, h)
			}
		}
	}
}

func TestHTTPSCertificateRotation(t *testing.T) {
	f := newTLSFixture(t)
	rotated := nettest.NewCert(t, "shop-rotated", "shop.test")
	url := "https://shop.test:" + strconv.Itoa(int(f.tlsPort)) + "/"

	old := httpsClient(t, f.tlsPort, false, f.shop, rotated)
	resp, _ := httpsGet(t, old, url, nil)
	if cn := resp.TLS.PeerCertificates[0].Subject.CommonName; cn != "shop" {
		t.Fatalf("before rotation: served %q", cn)
	}

	mustApply(t, f.p, f.config(rotated, nil))

	// A new handshake sees the new certificate at once.
	if leaf, _ := handshake(t, f.tlsPort, "shop.test"); leaf.Subject.CommonName != "shop-rotated" {
		t.Errorf("after rotation: new handshake served %q", leaf.Subject.CommonName)
	}
	// The connection opened before goes on, on its certificate.
	var reused bool
	resp, _ = httpsGet(t, old, url, &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }})
	if !reused || resp.StatusCode != 200 || resp.TLS.PeerCertificates[0].Subject.CommonName != "shop" {
		t.Errorf("keep-alive connection after rotation: reused %v, status %d, certificate %q",
			reused, resp.StatusCode, resp.TLS.PeerCertificates[0].Subject.CommonName)
	}
	// An Apply that changes no certificate reuses the parsed one.
	before := f.p.table.Load().certs[rotated.Name]
	mustApply(t, f.p, f.config(rotated, nil))
	if after := f.p.table.Load().certs[rotated.Name]; after == nil || after.cert != before.cert {
		t.Error("an unchanged certificate was parsed again")
	}
}

func TestHTTPSRedirect(t *testing.T) {
	f := newTLSFixture(t)
	c := testClient(t)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	want := "https://shop.test:" + strconv.Itoa(int(f.tlsPort)) + "/a/b?q=1&r=%2F"
	for _, method := range []string{"GET", "POST", "HEAD"} {
		a := do(t, c, method, f.httpPort, "Shop.Test:"+strconv.Itoa(int(f.httpPort)), "/a/b?q=1&r=%2F", strings.NewReader("body"))
		if a.status != http.StatusPermanentRedirect || a.header.Get("Location") != want || a.server() != "" {
			t.Errorf("%s: %d Location %q (backend %q), want 308 to %q", method, a.status, a.header.Get("Location"), a.server(), want)
		}
	}
	// A host without redirect is served on HTTP.
	if a := get(t, c, f.httpPort, "plain.test", "/"); a.status != 200 || a.server() != "echo" {
		t.Errorf("plain.test on HTTP: %d from %q", a.status, a.server())
	}
	// With the redirect off, the same host is served on HTTP.
	cfg := f.config(f.shop, nil)
	cfg.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].HTTPSRedirect = nil
	mustApply(t, f.p, cfg)
	if a := get(t, c, f.httpPort, "shop.test", "/"); a.status != 200 || a.server() != "echo" {
		t.Errorf("redirect off: %d from %q", a.status, a.server())
	}
}

func TestRedirectLocation(t *testing.T) {
	for _, tc := range []struct {
		host, target string
		rd           redirect
		want         string
	}{
		{"shop.test", "/x?y=1", redirect{status: 308}, "https://shop.test/x?y=1"},
		{"shop.test:8080", "/", redirect{portSuffix: ":8443", status: 308}, "https://shop.test:8443/"},
		{"[2001:db8::1]:80", "/p", redirect{status: 301}, "https://[2001:db8::1]/p"},
	} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", tc.target, nil)
		r.Host = tc.host
		serveRedirect(w, r, &tc.rd)
		if w.Code != tc.rd.status || w.Header().Get("Location") != tc.want {
			t.Errorf("%s%s: %d %q, want %d %q", tc.host, tc.target, w.Code, w.Header().Get("Location"), tc.rd.status, tc.want)
		}
	}
}

// TestPortChangesProtocol serves HTTP and then HTTPS on the same port
// without binding it again.
func TestPortChangesProtocol(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	backends := []lbconfig.Backend{backendOf("echo", nettest.EchoEndpoint(t, "echo"))}
	cfg := oneListener(port, backends, &lbconfig.BackendRef{Name: "echo"})
	mustApply(t, p, cfg)
	if a := get(t, testClient(t), port, "x.test", "/"); a.status != 200 {
		t.Fatalf("HTTP: %d", a.status)
	}
	cfg = oneListener(port, backends, &lbconfig.BackendRef{Name: "echo"})
	cfg.LoadBalancers[0].Listeners[0].Protocol = lbconfig.ProtocolHTTPS
	mustApply(t, p, cfg)
	if leaf, _ := handshake(t, port, "x.test"); leaf.Subject.CommonName != "ingress-controller default" {
		t.Errorf("HTTPS after HTTP: served %q", leaf.Subject.CommonName)
	}
}

// TestBrokenSecretEndToEnd translates Ingresses whose Secrets are good,
// mismatched and missing, applies the result and checks what clients get:
// the good host its certificate, the broken ones the default certificate
// and still their routes.
func TestBrokenSecretEndToEnd(t *testing.T) {
	good := nettest.NewCert(t, "good", "good.test")
	other := nettest.NewCert(t, "other", "other.test")
	echo := nettest.EchoEndpoint(t, "echo")
	pathType := networkingv1.PathTypePrefix
	className := translate.DefaultIngressClass
	rule := func(host string) networkingv1.IngressRule {
		return networkingv1.IngressRule{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
			Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &pathType, Backend: networkingv1.IngressBackend{
				Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}},
		}}}
	}
	tlsSecret := func(name string, crt, key []byte) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name}, Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{corev1.TLSCertKey: crt, corev1.TLSPrivateKeyKey: key}}
	}
	epPort := echo.Port
	snap := &translate.Snapshot{
		Ingresses: []*networkingv1.Ingress{{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
			Spec: networkingv1.IngressSpec{
				IngressClassName: &className,
				TLS: []networkingv1.IngressTLS{
					{Hosts: []string{"good.test"}, SecretName: "good"},
					{Hosts: []string{"mixed.test"}, SecretName: "mixed"},
					{Hosts: []string{"gone.test"}, SecretName: "gone"},
				},
				Rules: []networkingv1.IngressRule{rule("good.test"), rule("mixed.test"), rule("gone.test")},
			},
		}},
		Services: []*corev1.Service{{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}},
		EndpointSlices: []*discoveryv1.EndpointSlice{{
			ObjectMeta:  metav1.ObjectMeta{Namespace: "shop", Name: "web-1", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: new("http"), Port: &epPort}},
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{echo.Address}, Conditions: discoveryv1.EndpointConditions{Ready: new(true)}}},
		}},
		Secrets: []*corev1.Secret{
			tlsSecret("good", good.ChainPEM, good.KeyPEM),
			tlsSecret("mixed", good.ChainPEM, other.KeyPEM),
		},
	}
	p := startProxy(t, nettest.Logger(t))
	httpPort, tlsPort := nettest.FreePort(t), nettest.FreePort(t)
	cfg, problems := translate.Ingresses(snap, translate.Options{HTTPPort: httpPort, HTTPSPort: tlsPort})
	var fields []string
	for _, pr := range problems {
		fields = append(fields, pr.Field+" "+pr.Reason)
	}
	if want := "spec.tls[1].secretName InvalidCertificate,spec.tls[2].secretName SecretNotFound"; strings.Join(fields, ",") != want {
		t.Errorf("problems %v, want %s", problems, want)
	}
	mustApply(t, p, cfg)

	c := httpsClient(t, tlsPort, true, good)
	resp, _ := httpsGet(t, c, "https://good.test:"+strconv.Itoa(int(tlsPort))+"/", nil)
	if resp.StatusCode != 200 || resp.TLS.PeerCertificates[0].Subject.CommonName != "good" {
		t.Errorf("good.test: %d with %q", resp.StatusCode, resp.TLS.PeerCertificates[0].Subject.CommonName)
	}
	for _, host := range []string{"mixed.test", "gone.test"} {
		leaf, _ := handshake(t, tlsPort, host)
		if leaf.Subject.CommonName != "ingress-controller default" {
			t.Errorf("%s: served %q, want the default certificate", host, leaf.Subject.CommonName)
		}
		// Still routed: a client that accepts the default certificate
		// reaches the backend.
		insecure := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: host},
		}}
		req, _ := http.NewRequest("GET", "https://127.0.0.1:"+strconv.Itoa(int(tlsPort))+"/", nil)
		req.Host = host
		r, err := insecure.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		r.Body.Close()
		insecure.CloseIdleConnections()
		if r.StatusCode != 200 || r.Header.Get("X-Echo-Server") != "echo" {
			t.Errorf("%s over HTTPS: %d from %q", host, r.StatusCode, r.Header.Get("X-Echo-Server"))
		}
	}
	// And HTTP redirects each TLS host.
	hc := testClient(t)
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if a := get(t, hc, httpPort, "gone.test", "/x"); a.status != 308 {
		t.Errorf("gone.test on HTTP: %d, want 308", a.status)
	}
}

// TestAccessBeforeRedirect checks that a route's access rule refuses a
// client before its HTTPS redirect answers; the client connects from
// 127.0.0.1.
func TestAccessBeforeRedirect(t *testing.T) {
	f := newTLSFixture(t)
	c := testClient(t)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, tc := range []struct {
		allow  string
		status int
	}{
		{"10.0.0.0/8", http.StatusForbidden},
		{"127.0.0.0/8", http.StatusPermanentRedirect},
	} {
		access := &lbconfig.Access{Allow: []netip.Prefix{netip.MustParsePrefix(tc.allow)}}
		cfg := f.config(f.shop, nil)
		cfg.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].Access = access
		mustApply(t, f.p, cfg)
		if a := get(t, c, f.httpPort, "shop.test", "/"); a.status != tc.status || a.server() != "" {
			t.Errorf("allow %s, HTTP: %d from %q, want %d from the proxy", tc.allow, a.status, a.server(), tc.status)
		}
	}
}
