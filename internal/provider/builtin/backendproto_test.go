package builtin

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// startGRPC serves the standard gRPC health service in the clear (h2c
// with prior knowledge, as gRPC does without TLS), reporting service
// name as SERVING.
func startGRPC(t *testing.T, name string) lbconfig.Endpoint {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(s, hs)
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(s.Stop)
	return nettest.Endpoint(t, ln.Addr().String())
}

func protoBackend(name string, proto lbconfig.BackendProtocol, eps ...lbconfig.Endpoint) lbconfig.Backend {
	b := backendOf(name, eps...)
	b.Protocol = proto
	return b
}

// TestGRPCThroughProxy: a real gRPC client calls a real gRPC server
// through the proxy, unary and streaming, in the clear (h2c to the proxy)
// and over TLS (h2 by ALPN), to a backend marked GRPC.
func TestGRPCThroughProxy(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	httpPort, tlsPort := nettest.FreePort(t), nettest.FreePort(t)
	routes := []lbconfig.VirtualHost{vh("grpc.test", prefix("/", "grpc"))}
	mustApply(t, p, &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{
			{Port: httpPort, Protocol: lbconfig.ProtocolHTTP, VirtualHosts: routes},
			{Port: tlsPort, Protocol: lbconfig.ProtocolHTTPS, VirtualHosts: routes},
		}}},
		Backends: []lbconfig.Backend{protoBackend("grpc", lbconfig.BackendGRPC, startGRPC(t, "shop"))},
	})
	for name, creds := range map[string]credentials.TransportCredentials{
		"h2c": insecure.NewCredentials(),
		"tls": credentials.NewTLS(&tls.Config{InsecureSkipVerify: true, ServerName: "grpc.test"}),
	} {
		t.Run(name, func(t *testing.T) {
			port := httpPort
			if name == "tls" {
				port = tlsPort
			}
			conn, err := grpc.NewClient("127.0.0.1:"+strconv.Itoa(int(port)), grpc.WithTransportCredentials(creds), grpc.WithAuthority("grpc.test"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			client := healthpb.NewHealthClient(conn)
			resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: "shop"})
			if err != nil || resp.Status != healthpb.HealthCheckResponse_SERVING {
				t.Fatalf("unary Check through the proxy: %v, %v", resp, err)
			}
			// An unknown service is a gRPC error status, carried in
			// trailers: it must arrive as such, not as a transport error.
			if _, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: "nope"}); err == nil || !strings.Contains(err.Error(), "NotFound") {
				t.Errorf("Check of an unknown service: %v, want the server's NotFound status", err)
			}
			// Server streaming: the first message arrives while the
			// stream stays open.
			stream, err := client.Watch(ctx, &healthpb.HealthCheckRequest{Service: "shop"})
			if err != nil {
				t.Fatal(err)
			}
			if msg, err := stream.Recv(); err != nil || msg.Status != healthpb.HealthCheckResponse_SERVING {
				t.Fatalf("first streamed message: %v, %v", msg, err)
			}
		})
	}
}

// TestH2CAndHTTPSBackends: an HTTP/1.1 client reaches a backend that only
// speaks HTTP/2 in the clear, and one that only speaks HTTPS, with the
// forwarded headers set.
func TestH2CAndHTTPSBackends(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	h2only := startH2CBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Echo-Server", "h2c")
		w.Header().Set("X-Proto", r.Proto)
		w.Header().Set("X-Echo-Forwarded-For", r.Header.Get("X-Forwarded-For"))
		w.Header().Set("X-Echo-Request-Uri", r.RequestURI)
		_, _ = io.WriteString(w, "hello over "+r.Proto)
	}))

	cert := nettest.NewCert(t, "backend", "backend.test")
	httpsEP := nettest.TLSEchoEndpoint(t, "tls", cert)
	mustApply(t, p, oneListener(port, []lbconfig.Backend{
		protoBackend("h2c", lbconfig.BackendH2C, h2only),
		protoBackend("tls", lbconfig.BackendHTTPS, httpsEP),
	}, nil, vh("h2c.test", prefix("/", "h2c")), vh("tls.test", prefix("/", "tls"))))
	c := testClient(t)
	a := get(t, c, port, "h2c.test", "/")
	if a.status != 200 || a.header.Get("X-Proto") != "HTTP/2.0" || a.body != "hello over HTTP/2.0" {
		t.Errorf("h2c backend: %d %q %q", a.status, a.header.Get("X-Proto"), a.body)
	}
	if got := a.header.Get("X-Echo-Forwarded-For"); got != "127.0.0.1" {
		t.Errorf("h2c backend saw X-Forwarded-For %q", got)
	}
	if a := get(t, c, port, "tls.test", "/"); a.status != 200 || a.server() != "tls" || a.header.Get("X-Echo-Forwarded-For") != "127.0.0.1" {
		t.Errorf("HTTPS backend: %d from %q, X-Forwarded-For %q", a.status, a.server(), a.header.Get("X-Echo-Forwarded-For"))
	}
	// The reverse proxy sends the normalized path, as the HTTP/1.1 path
	// does (providertest checks that one).
	for _, host := range []string{"h2c.test", "tls.test"} {
		const target, want = "/%61/./b//c/../d%3f?x=%7e&y=../", "/a/b/d%3F?x=%7e&y=../"
		if a := get(t, c, port, host, target); a.status != 200 || a.header.Get("X-Echo-Request-Uri") != want {
			t.Errorf("%s: GET %s: %d, the backend got %q, want %q", host, target, a.status, a.header.Get("X-Echo-Request-Uri"), want)
		}
	}
}

// TestOtherProtocolPolicies: HTTPS and h2c backends get the timeouts and
// the passive health of plain ones.
func TestOtherProtocolPolicies(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	slow := startH2CBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stall" {
			w.Header().Set("Content-Length", "100")
			_, _ = io.WriteString(w, "part of it")
			w.(http.Flusher).Flush()
		}
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	}))

	const timeout = 200 * time.Millisecond
	b := protoBackend("b", lbconfig.BackendH2C, slow)
	b.Policy.Timeouts = lbconfig.Timeouts{ResponseHeader: lbconfig.Duration(timeout), Idle: lbconfig.Duration(timeout)}
	mustApply(t, p, oneListener(port, []lbconfig.Backend{b}, &lbconfig.BackendRef{Name: "b"}))
	c := testClient(t)
	start := time.Now()
	if a := get(t, c, port, "x.test", "/"); a.status != http.StatusGatewayTimeout {
		t.Errorf("an h2c backend slower than the response timeout: %d, want 504", a.status)
	}
	if took := time.Since(start); took < timeout || took > 4*time.Second {
		t.Errorf("504 after %s; want about %s", took, timeout)
	}
	expectBodyCut(t, c, port, "/stall", "an h2c body", timeout)

	// Passive health: the dead endpoint is ejected after two failed
	// connects, and the live one takes every request after that.
	dead := deadEndpoint(t)
	cert := nettest.NewCert(t, "backend", "backend.test")
	live := nettest.TLSEchoEndpoint(t, "live", cert)
	hb := protoBackend("h", lbconfig.BackendHTTPS, dead, live)
	hb.Policy.PassiveHealthCheck = &lbconfig.PassiveHealthCheck{
		ConsecutiveFailures: 2, BaseEjection: lbconfig.Duration(time.Minute), MaxEjection: lbconfig.Duration(time.Minute),
	}
	mustApply(t, p, oneListener(port, []lbconfig.Backend{hb}, &lbconfig.BackendRef{Name: "h"}))
	failed := 0
	for i := range 20 {
		a := get(t, c, port, "x.test", "/")
		switch {
		case a.status == http.StatusBadGateway:
			failed++
		case a.status != http.StatusOK || a.server() != "live":
			t.Fatalf("request %d: %d from %q", i, a.status, a.server())
		}
	}
	// Without retries on this path, the connects that fail before the
	// ejection fail their requests: two.
	if failed != 2 {
		t.Errorf("%d of 20 requests failed, want 2 (then the dead endpoint is ejected)", failed)
	}

	// With retries, a request whose connect fails goes to the other
	// endpoint: none fails.
	hb = protoBackend("r", lbconfig.BackendHTTPS, deadEndpoint(t), live)
	hb.Policy.Retries = 1
	mustApply(t, p, oneListener(port, []lbconfig.Backend{hb}, &lbconfig.BackendRef{Name: "r"}))
	for i := range 20 {
		if a := get(t, c, port, "x.test", "/"); a.status != http.StatusOK || a.server() != "live" {
			t.Errorf("request %d with a retry left: %d from %q", i, a.status, a.server())
		}
	}
}
