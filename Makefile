# The README's two set-up commands are `make quickstart` and `make test`.
# `make check` is the fast loop beside them; see CONTRIBUTING.md.
.PHONY: quickstart test check conformance conformance-ingress bench bench-http bench-haproxy-cost bench-features bench-ab bench-convergence bench-churn bench-failover build

quickstart:
	./hack/quickstart.sh

test:
	./hack/test.sh

# vet, gofmt and the tests that need neither root, HAProxy nor kube-apiserver.
check:
	./hack/check.sh

# Every benchmark; each prints its figures. See README.md.
bench: bench-http bench-haproxy-cost bench-features bench-convergence bench-churn bench-failover

bench-http:
	./bench/run.sh

# HAProxy's instructions per keep-alive request (callgrind): the bare
# hand-written config, one with the haproxy provider's guarantees, and the
# rendered one; see bench/haproxy-cost.sh.
bench-haproxy-cost:
	./bench/haproxy-cost.sh

# What the regex mode and the rate limiter cost the builtin's keep-alive
# throughput, per proxy-CPU second, against the plain route; see
# bench/features.sh.
bench-features:
	./bench/features.sh

# The builtin proxy built from BASE (a git revision, default HEAD) against
# the work tree, per proxy-CPU second; see bench/ab.sh.
bench-ab:
	./bench/ab.sh $(BASE)

# Convergence latency and controller memory against a real kube-apiserver
# (built once by hack/build-kubetools.sh); needs root for loopback addresses.
bench-convergence:
	KUBETOOLS_DIR_BIN=$$(bash hack/build-kubetools.sh | tail -n 1) go run ./bench/convergence $(CONVERGENCE_FLAGS)
	KUBETOOLS_DIR_BIN=$$(bash hack/build-kubetools.sh | tail -n 1) go run ./bench/convergence -kind httproute $(CONVERGENCE_FLAGS)

# Failed requests under wrk load while endpoints change every 100 ms and an
# Ingress every second, for 60 s; same needs as bench-convergence, plus wrk.
bench-churn:
	command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
	KUBETOOLS_DIR_BIN=$$(bash hack/build-kubetools.sh | tail -n 1) go run ./bench/churn $(CHURN_FLAGS)

# Time from a replica's death (SIGKILL) to an Ingress status without it,
# and from its start to a status with it, p50 and p99 over 10 trials, for
# both providers, on LB hosts in network namespaces; needs root and
# HAProxy (see docs/scaling.md).
bench-failover:
	command -v haproxy >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy; }
	KUBETOOLS_DIR_BIN=$$(bash hack/build-kubetools.sh | tail -n 1) go test -count=1 -run '^$$' -bench Failover -benchtime 1x ./test/scaling/

build:
	go build -o bin/ingress-controller ./cmd/ingress-controller

# Container image without a Docker engine; see docs/deploy.md.
.PHONY: image
image:
	./hack/build-image.sh

# Gateway API's conformance suite, unmodified (built from conformance/ by
# hack/build-conformance.sh), against the controller with each provider on
# a conformance cluster; writes conformance/reports/<provider>.yaml. Needs
# root (network namespaces). See docs/gateway-api.md.
conformance:
	KUBETOOLS_DIR_BIN=$$(bash hack/build-kubetools.sh | tail -n 1) GATEWAY_CONFORMANCE_BIN=$$(bash hack/build-conformance.sh | tail -n 1) go test -count=1 -tags conformance -timeout 170m -v -run '^TestGatewayConformance$$' ./test/conformance/

# Our own test of the scenarios of kubernetes-sigs/ingress-controller-
# conformance, whose module the Go module proxy does not serve, against the
# controller with the Ingress source and each provider on a conformance
# cluster (listening on 127.0.95.1 and .2, ports 80 and 443); a few
# minutes. Needs root. TMPDIR is short for HAProxy's unix sockets; the
# controllers' logs stay there. See docs/ingress-conformance.md.
conformance-ingress:
	mkdir -p /tmp/ingress-conformance
	KUBETOOLS_DIR_BIN=$$(bash hack/build-kubetools.sh | tail -n 1) TMPDIR=/tmp/ingress-conformance go test -count=1 -tags conformance -timeout 30m -v -run '^TestIngressConformance$$' ./test/conformance/
