#!/usr/bin/env bash
# Builds the pinned kube-apiserver, etcd and kube-controller-manager that
# internal/kubetest runs, and Gateway API's echo-basic server, from the Go
# module proxy, into a cache outside the work tree, and copies Gateway API's
# standard-channel CRDs from the same module into it. Skips what is already
# cached for these pins. Prints the cache directory.
#
#   KUBETOOLS_DIR  where to cache (default ${XDG_CACHE_HOME:-$HOME/.cache}/ingress-controller/kubetools)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=${KUBETOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ingress-controller/kubetools}

# The cache key is the hash of the pinned go.mod/go.sum files and of this
# script, so changing a pin or a build flag rebuilds and nothing else does.
key=$(cat "$here"/kubetools/*/go.mod "$here"/kubetools/*/go.sum "$here/build-kubetools.sh" | sha256sum | cut -c1-16)

# kube-apiserver reports its version from these; without them /version says
# v0.0.0-master.
kube_version=$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" { print $3 }' "$here/kubetools/kube-apiserver/go.mod")
kube_minor=$(cut -d. -f2 <<<"$kube_version")
kube_ldflags="-X k8s.io/component-base/version.gitVersion=$kube_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$kube_minor -X k8s.io/component-base/version.gitTreeState=clean"
dir="$root/$key"

# kube-controller-manager comes from the apiserver's Kubernetes release: a
# control plane of one version.
kcm_version=$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" { print $3 }' "$here/kubetools/kube-controller-manager/go.mod")
if [[ "$kcm_version" != "$kube_version" ]]; then
	echo "build-kubetools: kube-controller-manager pins k8s.io/kubernetes $kcm_version, kube-apiserver $kube_version: pin both to one release" >&2
	exit 1
fi

build() { # name module-dir package [ldflags]
	local name=$1 mod=$2 pkg=$3 ldflags=${4:-}
	if [[ -x "$dir/$name" ]]; then
		return
	fi
	echo "building $name (cached afterwards in $dir)" >&2
	mkdir -p "$dir"
	(cd "$here/kubetools/$mod" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags="-s -w $ldflags" -o "$dir/$name.tmp" "$pkg")
	mv "$dir/$name.tmp" "$dir/$name"
}

# Concurrent runs (go test runs packages in parallel) build once.
mkdir -p "$root"
exec 9>"$root/.build.lock"
flock 9

# copy_manifests copies YAML files of a pinned Gateway API module, as
# released, into a directory of the cache.
copy_manifests() { # out-name module files...
	local out="$dir/$1" mod=$2 src
	shift 2
	if [[ -d "$out" ]]; then
		return
	fi
	src=$(cd "$here/kubetools/gateway-api" && GOFLAGS=-mod=mod go list -m -f '{{.Dir}}' "$mod")
	rm -rf "$out.tmp"
	mkdir -p "$out.tmp"
	for f in "$@"; do
		cp "$src"/$f "$out.tmp/"
	done
	chmod 0644 "$out.tmp"/*.yaml
	mv "$out.tmp" "$out"
}

# Two at a time: the machine may have no more cores, and the linker of
# each of the big ones wants a few GB.
build etcd etcd go.etcd.io/etcd/server/v3 &
etcd_pid=$!
build kube-apiserver kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$kube_ldflags"
wait "$etcd_pid"
build echo-basic gateway-api sigs.k8s.io/gateway-api/conformance/echo-basic &
echo_pid=$!
build kube-controller-manager kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager "$kube_ldflags"
wait "$echo_pid"
# The standard-channel CRDs (and the admission policy that ships beside
# them), and the conformance suite's base manifests, which the tests of
# the conformance cluster run.
copy_manifests gateway-api-crds sigs.k8s.io/gateway-api 'config/crd/standard/*.yaml'
copy_manifests gateway-api-conformance sigs.k8s.io/gateway-api/conformance base/manifests.yaml
echo "$dir"
