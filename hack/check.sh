#!/usr/bin/env bash
# The fast loop (make check): vet, gofmt and the tests that need neither
# root, HAProxy nor kube-apiserver, which skip themselves under -short.
# Installs nothing. make test (hack/test.sh) runs everything; run it before
# you push.
set -euo pipefail

cd "$(dirname "$0")/.."

bash hack/lint.sh
echo "--- go test -short"
go test -short -timeout 5m ./...
