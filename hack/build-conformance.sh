#!/usr/bin/env bash
# Builds Gateway API's conformance suite, unmodified, from its own module
# in conformance/ (go test -c), into a cache outside the work tree keyed by
# that module's go.mod and go.sum and this script. Prints the binary's path.
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
echo "$bin"
