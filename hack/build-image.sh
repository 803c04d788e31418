#!/usr/bin/env bash
# Builds the ingress-controller container image without a Docker engine: a
# static binary in a scratch image, written by hack/image (its own Go module,
# using go-containerregistry) as a tarball for docker load, podman load or
# ctr import. See docs/deploy.md. The same commit gives the same digest.
#
# Environment:
#   VERSION            image tag and `--version` output
#                      (default: git describe --always --dirty, else "dev")
#   IMAGE_NAME         repository name in the tarball (default: ingress-controller)
#   IMAGE_OUT          tarball to write (default: bin/ingress-controller-image.tar)
#   OCI_LAYOUT         also write an OCI image layout directory here (default: none)
#   IMAGE_SOURCE       org.opencontainers.image.source label
#                      (default: the git remote "origin" as an https URL, if any)
#   GOARCH             architecture to build for (default: go env GOARCH)
#   SOURCE_DATE_EPOCH  timestamp of the files and config (default: 0, 1970-01-01)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

command -v go >/dev/null || { echo "build-image: Go is required" >&2; exit 1; }

if [[ -z ${VERSION:-} ]]; then
	VERSION=$(git describe --always --dirty 2>/dev/null || echo dev)
fi
# The version is the image tag, so it must be a valid one.
if ! [[ $VERSION =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]]; then
	echo "build-image: VERSION $VERSION is not a valid image tag ([A-Za-z0-9_][A-Za-z0-9_.-]*, at most 128)" >&2
	exit 1
fi
name=${IMAGE_NAME:-ingress-controller}
arch=${GOARCH:-$(go env GOARCH)}
out=${IMAGE_OUT:-bin/ingress-controller-image.tar}
[[ $out == /* ]] || out=$root/$out
mkdir -p "$(dirname "$out")"

source_url=${IMAGE_SOURCE:-}
if [[ -z $source_url ]] && remote=$(git config --get remote.origin.url 2>/dev/null); then
	# git@github.com:org/repo.git -> https://github.com/org/repo
	remote=${remote%.git}
	if [[ $remote =~ ^git@([^:]+):(.+)$ ]]; then
		remote=https://${BASH_REMATCH[1]}/${BASH_REMATCH[2]}
	fi
	if [[ $remote == https://* ]]; then
		source_url=$remote
	fi
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "--- binary $VERSION linux/$arch"
CGO_ENABLED=0 GOOS=linux GOARCH=$arch \
	go build -trimpath -ldflags "-s -w -X main.version=$VERSION" -o "$tmp/ingress-controller" ./cmd/ingress-controller

args=(--binary "$tmp/ingress-controller" --tag "$name:$VERSION" --out "$out" --arch "$arch")
if [[ -n $source_url ]]; then
	args+=(--source-url "$source_url")
fi
if [[ -n ${OCI_LAYOUT:-} ]]; then
	layout=$OCI_LAYOUT
	[[ $layout == /* ]] || layout=$root/$layout
	args+=(--oci-layout "$layout")
fi

echo "--- image"
# The image tool runs here, so it must not inherit the target platform.
(cd hack/image && env -u GOOS -u GOARCH go run . "${args[@]}")
