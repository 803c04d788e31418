#!/usr/bin/env bash
# The fast loop (make check): vet, gofmt and the tests that need neither
# root, HAProxy nor kube-apiserver, which skip themselves under -short.
# Installs nothing. make test (hack/test.sh) runs everything; run it before
# you push.
set -euo pipefail

cd "$(dirname "$0")/.."

echo "--- go vet"
go vet ./...
echo "--- gofmt"
unformatted=$(gofmt -l .)
if [[ -n $unformatted ]]; then
	echo "gofmt needed on:" >&2
	echo "$unformatted" >&2
	exit 1
fi
echo "--- go test -short"
go test -short -timeout 5m ./...
