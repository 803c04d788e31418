#!/usr/bin/env bash
# Builds the pinned kube-apiserver and etcd that internal/kubetest runs, from
# the Go module proxy, into a cache outside the work tree. Skips the build when
# the binaries for these pins are already cached. Prints the cache directory.
#
#   KUBETOOLS_DIR  where to cache (default ${XDG_CACHE_HOME:-$HOME/.cache}/ingress-controller/kubetools)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=${KUBETOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ingress-controller/kubetools}

# The cache key is the hash of the pinned go.mod/go.sum files, so changing a
# pin rebuilds and an unchanged pin never does.
key=$(cat "$here"/kubetools/*/go.mod "$here"/kubetools/*/go.sum | sha256sum | cut -c1-16)
dir="$root/$key"

build() { # name module-dir package
	local name=$1 mod=$2 pkg=$3
	if [[ -x "$dir/$name" ]]; then
		return
	fi
	echo "building $name (cached afterwards in $dir)" >&2
	mkdir -p "$dir"
	(cd "$here/kubetools/$mod" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags='-s -w' -o "$dir/$name.tmp" "$pkg")
	mv "$dir/$name.tmp" "$dir/$name"
}

build etcd etcd go.etcd.io/etcd/server/v3 &
etcd_pid=$!
build kube-apiserver kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
wait "$etcd_pid"
echo "$dir"
