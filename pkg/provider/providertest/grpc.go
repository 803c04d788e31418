package providertest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// The gRPC case: what a GRPCRoute becomes (routes on the paths
// "/<service>/<method>", header matches, GRPC backends) served to real
// gRPC clients over h2c with prior knowledge and over TLS, and the
// hostile requests a gRPC port gets.

// grpcCheckPath is the path of the health service's Check method.
const grpcCheckPath = "/grpc.health.v1.Health/Check"

// startGRPCServer serves the gRPC health service on a free port of
// 127.0.0.1 for the rest of the test, with service "route" in status st,
// and returns its endpoint.
func startGRPCServer(t *testing.T, st healthpb.HealthCheckResponse_ServingStatus, opts ...grpc.ServerOption) lbconfig.Endpoint {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(opts...)
	hs := health.NewServer()
	hs.SetServingStatus("route", st)
	hs.SetServingStatus("shop", st)
	healthpb.RegisterHealthServer(srv, hs)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return lbconfig.Endpoint{Address: "127.0.0.1", Port: int32(ln.Addr().(*net.TCPAddr).Port), Ready: true, Serving: true}
}

// grpcCall calls Check for service "route" at port with authority as
// the :authority, over TLS when creds says so, with metadata md.
func (l *lab) grpcCall(port int32, creds credentials.TransportCredentials, authority string, md ...string) (healthpb.HealthCheckResponse_ServingStatus, error) {
	conn, err := grpc.NewClient(net.JoinHostPort(l.addr, strconv.Itoa(int(port))), grpc.WithTransportCredentials(creds), grpc.WithAuthority(authority))
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if len(md) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, md...)
	}
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: "route"})
	if err != nil {
		return 0, err
	}
	return resp.Status, nil
}

// checkGRPC fails t unless Check (grpcCall) answers want; what names
// the call.
func (l *lab) checkGRPC(t *testing.T, what string, port int32, creds credentials.TransportCredentials, authority string, want healthpb.HealthCheckResponse_ServingStatus, md ...string) {
	t.Helper()
	st, err := l.grpcCall(port, creds, authority, md...)
	if err != nil || st != want {
		t.Errorf("%s: got %v, %v; want %v", what, st, err, want)
	}
}

// awaitGRPC waits, as eventually does, until Check (grpcCall) to port
// with this authority answers SERVING; what names the call.
func (l *lab) awaitGRPC(what string, port int32, creds credentials.TransportCredentials, authority string) {
	l.t.Helper()
	l.eventually(what, func() (bool, string) {
		st, err := l.grpcCall(port, creds, authority)
		if err != nil {
			return false, err.Error()
		}
		return st == healthpb.HealthCheckResponse_SERVING, st.String()
	})
}

// grpcPool is the GRPC backend test/NAME:50051!grpc of one endpoint.
func grpcPool(name string, ep lbconfig.Endpoint) lbconfig.Backend {
	return lbconfig.Backend{Name: "test/" + name + ":50051!grpc", Protocol: lbconfig.BackendGRPC, Endpoints: []lbconfig.Endpoint{ep}}
}

// grpcWatch opens the server stream Watch for service "route" and returns
// its first status.
func (l *lab) grpcWatch(port int32, authority string) (healthpb.HealthCheckResponse_ServingStatus, error) {
	conn, err := grpc.NewClient(net.JoinHostPort(l.addr, strconv.Itoa(int(port))), grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithAuthority(authority))
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{Service: "route"})
	if err != nil {
		return 0, err
	}
	resp, err := stream.Recv()
	if err != nil {
		return 0, err
	}
	return resp.Status, nil
}

// testGRPC: Check goes by its exact path to server "a" (SERVING), or to
// "b" (NOT_SERVING) with the header x-version: two, also with the header
// color: blue of a route to "a" of a higher Rank; Watch goes to "b" by a
// regular expression; over h2c and over TLS. Hostile: an HTTP/1.1
// request on the gRPC route, a bad HTTP/2 preface and a header list far
// over the limit get answers or a closed connection, and the port goes
// on serving.
func (s *Suite) testGRPC(t *testing.T) {
	l := s.start(t)
	a := startGRPCServer(t, healthpb.HealthCheckResponse_SERVING)
	b := startGRPCServer(t, healthpb.HealthCheckResponse_NOT_SERVING)
	web := l.startBackend("web")
	toB := route(grpcCheckPath, lbconfig.MatchExact, "test/b:50051!grpc")
	toB.Headers = []lbconfig.HeaderMatch{{Name: "x-version", Type: lbconfig.HeaderExact, Value: "two"}}
	toB.Rank = 1
	// As many conditions as toB, and first by their text, but of a
	// higher rank: a request that meets both goes to toB.
	toA := route(grpcCheckPath, lbconfig.MatchExact, "test/a:50051!grpc")
	toA.Headers = []lbconfig.HeaderMatch{{Name: "color", Type: lbconfig.HeaderExact, Value: "blue"}}
	toA.Rank = 2
	// A GRPCRoute's unresolved backendRef, as the translator writes it:
	// 503, which a gRPC client reads as UNAVAILABLE.
	broken := route(grpcCheckPath, lbconfig.MatchExact, "test/broken!grpcroute!invalid")
	broken.Headers = []lbconfig.HeaderMatch{{Name: "x-broken", Type: lbconfig.HeaderExact, Value: "yes"}}
	broken.Rank = 3
	routes := []lbconfig.Route{
		route(grpcCheckPath, lbconfig.MatchExact, "test/a:50051!grpc"),
		toB,
		toA,
		broken,
		route("/[^/]+/Watch$", lbconfig.MatchRegex, "test/b:50051!grpc"),
		// A GRPCRoute's rule without a method match, as the translator
		// writes it: after the other patterns.
		route("/", lbconfig.MatchRegex, web.ref),
	}
	port, tlsPort := l.freePort(), l.freePort()
	cert := nettest.NewCert(t, "grpc", "grpc.example")
	listeners := []lbconfig.Listener{listener(port, nil, vhost("grpc.example", routes...))}
	if s.Capabilities.TLS {
		listeners = append(listeners, lbconfig.Listener{Port: tlsPort, Protocol: lbconfig.ProtocolHTTPS, VirtualHosts: []lbconfig.VirtualHost{
			{Hostname: "grpc.example", TLS: cert.Ref(), Routes: routes},
		}})
	}
	cfg := config([]lbconfig.LoadBalancer{loadBalancer("default", listeners...)}, grpcPool("a", a), grpcPool("b", b), web.pool(),
		lbconfig.Backend{Name: "test/broken!grpcroute!invalid", Status: http.StatusServiceUnavailable})
	if s.Capabilities.TLS {
		cfg.Certificates = []lbconfig.Certificate{cert.Certificate()}
	}
	l.apply(cfg)
	h2c := insecure.NewCredentials()
	l.awaitGRPC("a gRPC call over h2c", port, h2c, "grpc.example")
	check := func(what string, port int32, creds credentials.TransportCredentials, want healthpb.HealthCheckResponse_ServingStatus, md ...string) {
		t.Helper()
		l.checkGRPC(t, what, port, creds, "grpc.example", want, md...)
	}
	check("Check over h2c", port, h2c, healthpb.HealthCheckResponse_SERVING)
	check("Check over h2c with x-version: two", port, h2c, healthpb.HealthCheckResponse_NOT_SERVING, "x-version", "two")
	check("Check over h2c with x-version: three", port, h2c, healthpb.HealthCheckResponse_SERVING, "x-version", "three")
	check("Check over h2c with color: blue", port, h2c, healthpb.HealthCheckResponse_SERVING, "color", "blue")
	check("Check over h2c with x-version: two and color: blue (the lower rank wins)", port, h2c, healthpb.HealthCheckResponse_NOT_SERVING, "x-version", "two", "color", "blue")
	if _, err := l.grpcCall(port, h2c, "grpc.example", "x-broken", "yes"); grpcstatus.Code(err) != codes.Unavailable {
		t.Errorf("Check over h2c with x-broken: yes (a backend that answers 503): %v; want code Unavailable", err)
	}
	if st, err := l.grpcWatch(port, "grpc.example"); err != nil || st != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("Watch over h2c (by a regular expression to b): got %v, %v; want NOT_SERVING", st, err)
	}
	if st, err := l.grpcCall(port, h2c, "other.example"); err == nil {
		t.Errorf("Check for a host without routes: got %v, want an error", st)
	}
	t.Run("TLS", func(t *testing.T) {
		needs(t, s.Capabilities.TLS, "TLS")
		creds := credentials.NewTLS(&tls.Config{RootCAs: cert.Pool, ServerName: "grpc.example", MinVersion: tls.VersionTLS12})
		l.awaitGRPC("a gRPC call over TLS", tlsPort, creds, "grpc.example")
		check("Check over TLS with x-version: two", tlsPort, creds, healthpb.HealthCheckResponse_NOT_SERVING, "x-version", "two")
	})
	t.Run("HTTP1OnGRPCRoute", func(t *testing.T) {
		// The gRPC server refuses a request that is not gRPC; the load
		// balancer must answer it, and not with a gRPC success.
		r := l.get(l.client, port, "grpc.example", grpcCheckPath)
		t.Logf("GET %s over HTTP/1.1: %s", grpcCheckPath, r)
		if r.err != nil || r.status == http.StatusOK && r.header.Get("Grpc-Status") == "0" {
			t.Errorf("GET %s over HTTP/1.1: %s; want an answer that is not a gRPC success", grpcCheckPath, r)
		}
		check("Check over h2c after the HTTP/1.1 request", port, h2c, healthpb.HealthCheckResponse_SERVING)
	})
	t.Run("BadPreface", func(t *testing.T) {
		for _, preface := range []string{
			"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n",
			"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x04\x09\x00\x00\x00\x00\x01junk",
			"PRI * HTTP/2.0\r\n" + strings.Repeat("A", 70000),
		} {
			if err := l.closesAfter(port, []byte(preface)); err != nil {
				t.Errorf("preface %q: %v", clipped([]string{preface})[0], err)
			}
		}
		check("Check over h2c after bad prefaces", port, h2c, healthpb.HealthCheckResponse_SERVING)
	})
	t.Run("HugeHeaderList", func(t *testing.T) {
		status, err := l.h2cHugeHeaders(port, "grpc.example", grpcCheckPath)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("a megabyte header list: status %q (\"\" is a reset or close)", status)
		if status == "200" {
			t.Errorf("a request with a megabyte of header fields got 200, want it refused")
		}
		check("Check over h2c after a huge header list", port, h2c, healthpb.HealthCheckResponse_SERVING)
	})
}

// closesAfter sends data on a new connection to port and reports an
// error unless the load balancer closes it (after answering or not)
// within a few seconds.
func (l *lab) closesAfter(port int32, data []byte) error {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(l.addr, strconv.Itoa(int(port))), 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(data); err != nil {
		return nil // closed while we wrote
	}
	_, err = io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return errors.New("the connection stayed open")
	}
	return nil
}

// h2cHugeHeaders sends, over h2c with prior knowledge, one request whose
// header block (in CONTINUATION frames) holds a megabyte of fields, and
// returns the :status answered, or "" when the connection was reset or
// closed instead.
func (l *lab) h2cHugeHeaders(port int32, host, path string) (string, error) {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(l.addr, strconv.Itoa(int(port))), 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	bw := bufio.NewWriter(c)
	if _, err := bw.WriteString(http2.ClientPreface); err != nil {
		return "", err
	}
	fr := http2.NewFramer(bw, c)
	if err := fr.WriteSettings(); err != nil {
		return "", err
	}
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":authority", host}, {":path", path}, {"content-type", "application/grpc"}, {"te", "trailers"}} {
		_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	value := strings.Repeat("v", 1000)
	for i := range 1000 {
		_ = enc.WriteField(hpack.HeaderField{Name: "x-filler-" + strconv.Itoa(i), Value: value, Sensitive: true})
	}
	frag := block.Bytes()
	const chunk = 16384
	first := frag[:min(chunk, len(frag))]
	frag = frag[len(first):]
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: first, EndStream: true, EndHeaders: len(frag) == 0}); err != nil {
		return "", err
	}
	for len(frag) > 0 {
		n := min(chunk, len(frag))
		if err := fr.WriteContinuation(1, n == len(frag), frag[:n]); err != nil {
			break // the load balancer may close while we write
		}
		frag = frag[n:]
	}
	_ = bw.Flush()
	dec := hpack.NewDecoder(4096, nil)
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return "", nil // closed: refused
		}
		switch f := f.(type) {
		case *http2.HeadersFrame:
			if f.StreamID != 1 {
				continue
			}
			fields, err := dec.DecodeFull(f.HeaderBlockFragment())
			if err != nil {
				return "", err
			}
			for _, hf := range fields {
				if hf.Name == ":status" {
					return hf.Value, nil
				}
			}
		case *http2.RSTStreamFrame, *http2.GoAwayFrame:
			return "", nil
		}
	}
}
