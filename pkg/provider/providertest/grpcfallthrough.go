package providertest

import (
	"testing"

	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"ingress-controller/pkg/lbconfig"
)

// testGRPCFallThrough: GRPCRoutes share virtual hosts with HTTPRoutes,
// so a gRPC call falls through as a request does
// (lbconfig.VirtualHost.FallThrough), over h2c. One Gateway listener's
// hostnames: "grpc.example" has Check with x-version: two to server "b"
// (NOT_SERVING) only; "*.example" has Check to "a" (SERVING) and Watch to
// "b". A Check to grpc.example with that header stays there; without it,
// or with another value, it falls through to a; a Watch falls through to
// b. A second listener with the same hostnames and no link answers
// grpc.example's Check without the header with an error, not with a.
func (s *Suite) testGRPCFallThrough(t *testing.T) {
	l := s.start(t)
	a := startGRPCServer(t, healthpb.HealthCheckResponse_SERVING)
	b := startGRPCServer(t, healthpb.HealthCheckResponse_NOT_SERVING)
	toB := route(grpcCheckPath, lbconfig.MatchExact, "test/b:50051!grpc")
	toB.Headers = []lbconfig.HeaderMatch{{Name: "x-version", Type: lbconfig.HeaderExact, Value: "two"}}
	wild := vhost("*.example", route(grpcCheckPath, lbconfig.MatchExact, "test/a:50051!grpc"), route("/[^/]+/Watch$", lbconfig.MatchRegex, "test/b:50051!grpc"))
	wild.MultiLabel = true
	linked := vhost("grpc.example", toB)
	linked.FallThrough = &wild.Hostname
	plain := vhost("grpc.example", toB)
	port, isolated := l.freePort(), l.freePort()
	l.apply(config([]lbconfig.LoadBalancer{loadBalancer("default", listener(port, nil, linked, wild), listener(isolated, nil, plain, wild))},
		grpcPool("a", a), grpcPool("b", b)))
	h2c := insecure.NewCredentials()
	l.awaitGRPC("a gRPC call that falls through", port, h2c, "grpc.example")
	l.checkGRPC(t, "Check with x-version: two (grpc.example's own route)", port, h2c, "grpc.example", healthpb.HealthCheckResponse_NOT_SERVING, "x-version", "two")
	l.checkGRPC(t, "Check with x-version: three (falls through)", port, h2c, "grpc.example", healthpb.HealthCheckResponse_SERVING, "x-version", "three")
	l.checkGRPC(t, "Check to x.example (the wildcard's own)", port, h2c, "x.example", healthpb.HealthCheckResponse_SERVING)
	l.checkGRPC(t, "Check to GRPC.Example:443 (falls through)", port, h2c, "GRPC.Example:443", healthpb.HealthCheckResponse_SERVING)
	if st, err := l.grpcWatch(port, "grpc.example"); err != nil || st != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("Watch to grpc.example (falls through to b): got %v, %v; want NOT_SERVING", st, err)
	}
	l.checkGRPC(t, "Check with x-version: two on the listener without links", isolated, h2c, "grpc.example", healthpb.HealthCheckResponse_NOT_SERVING, "x-version", "two")
	if st, err := l.grpcCall(isolated, h2c, "grpc.example"); err == nil {
		t.Errorf("Check without the header on the listener without links: got %v, want an error (no route)", st)
	}
	if st, err := l.grpcWatch(isolated, "grpc.example"); err == nil {
		t.Errorf("Watch on the listener without links: got %v, want an error (no route)", st)
	}
}
