#!/usr/bin/env bash
# Builds Gateway API's conformance suite, unmodified, from its own module
# in conformance/ (go test -c), into a cache outside the work tree keyed by
# that module's go.mod and go.sum and this script, and copies the
# experimental-channel CRDs of its Gateway API module beside it. Prints the
# binary's path.
#
#   KUBETOOLS_DIR  the cache (as hack/build-kubetools.sh)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${KUBETOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ingress-controller/kubetools}
key=$(cat "$root/conformance/go.mod" "$root/conformance/go.sum" "$root/hack/build-conformance.sh" | sha256sum | cut -c1-16)
bin="$cache/gateway-conformance-$key/gateway-conformance.test"
mkdir -p "$cache"
exec 9>"$cache/.conformance.lock"
flock 9
if [[ ! -x "$bin" ]]; then
	echo "building the Gateway API conformance suite (cached afterwards in $(dirname "$bin"))" >&2
	mkdir -p "$(dirname "$bin")"
	(cd "$root/conformance" && go test -c -trimpath -o "$bin.tmp" .)
	mv "$bin.tmp" "$bin"
fi
# The experimental channel's CRDs of the suite's Gateway API module, which
# the conformance cluster installs (test/conformance: gatewayCRDs).
crds="$(dirname "$bin")/gateway-api-crds-experimental"
if [[ ! -d "$crds" ]]; then
	src=$(cd "$root/conformance" && go list -m -f '{{.Dir}}' sigs.k8s.io/gateway-api)
	rm -rf "$crds.tmp"
	mkdir -p "$crds.tmp"
	cp "$src"/config/crd/experimental/gateway.networking*.yaml "$crds.tmp/"
	chmod 0644 "$crds.tmp"/*.yaml
	mv "$crds.tmp" "$crds"
fi
echo "$bin"
