#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what the tests need (Debian
# packages, the pinned kube-apiserver, etcd and kube-controller-manager and
# Gateway API's echo-basic and CRDs, built or copied from the Go module proxy
# and cached outside the work tree), then runs vet, gofmt, every test, our
# test of the Ingress conformance scenarios and Gateway API's conformance
# suite, each with both providers.
# Idempotent: a second run installs and builds nothing.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# Debian packages the tests use; installed only when missing.
need=()
command -v curl >/dev/null || need+=(curl)
# The HAProxy provider's tests run a real HAProxy (2.6 in Debian 12).
command -v haproxy >/dev/null || need+=(haproxy)
# The DNS publishing tests (internal/dnssync) run a real BIND 9 (9.18 in
# Debian 12) with keys from its tsig-keygen; dig and nsupdate are for
# looking at what they left. named is in /usr/sbin, off a user's PATH.
command -v named >/dev/null || [[ -x /usr/sbin/named ]] || need+=(bind9 bind9-utils bind9-dnsutils)
# Tests add 198.18.0.0/15 addresses to lo for EndpointSlice backends.
command -v ip >/dev/null || need+=(iproute2)
if ((${#need[@]})); then
	if [[ $(id -u) -ne 0 ]]; then sudo=sudo; else sudo=; fi
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
fi

command -v go >/dev/null || { echo "test: Go is required" >&2; exit 1; }

echo "--- kube-apiserver, etcd, kube-controller-manager, echo-basic (built once, then cached)"
KUBETOOLS_DIR_BIN=$(bash hack/build-kubetools.sh | tail -n 1)
export KUBETOOLS_DIR_BIN

bash hack/lint.sh
echo "--- go test"
go test -count=1 -race -timeout 30m ./...
echo "--- image module"
(cd hack/image && go test -count=1 ./...)
echo "--- Ingress conformance: our own test of kubernetes-sigs/ingress-controller-conformance's scenarios, with each provider (see docs/ingress-conformance.md)"
# A short TMPDIR for HAProxy's unix sockets; left behind on failure, with
# the controllers' logs the failure names.
ingress_tmp=$(mktemp -d /tmp/ingress-conformance.XXXXXX)
TMPDIR=$ingress_tmp go test -count=1 -tags conformance -timeout 30m -run '^TestIngressConformance$' ./test/conformance/
rm -rf "$ingress_tmp"
echo "--- Gateway API conformance: the upstream suite, unmodified, with each provider (reports in a temporary directory; make conformance writes conformance/reports/)"
GATEWAY_CONFORMANCE_BIN=$(bash hack/build-conformance.sh | tail -n 1)
export GATEWAY_CONFORMANCE_BIN
reports=$(mktemp -d)
trap 'rm -rf "$reports"' EXIT
GATEWAY_CONFORMANCE_REPORT_DIR=$reports go test -count=1 -tags conformance -timeout 60m -run '^TestGatewayConformance$' ./test/conformance/
# CONFORMANCE_REPORTS_OUT=DIR keeps a copy of the reports of this run.
if [[ -n ${CONFORMANCE_REPORTS_OUT:-} ]]; then
	mkdir -p "$CONFORMANCE_REPORTS_OUT"
	cp "$reports"/*.yaml "$CONFORMANCE_REPORTS_OUT"/
fi
