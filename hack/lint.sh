#!/usr/bin/env bash
# go vet and the gofmt check, shared by make check and make test.
set -euo pipefail

cd "$(dirname "$0")/.."

echo "--- go vet"
go vet ./...
# The conformance runs build only with their tag; vet them without running.
go vet -tags conformance ./test/conformance/
echo "--- gofmt"
unformatted=$(gofmt -l .)
if [[ -n $unformatted ]]; then
	echo "gofmt needed on:" >&2
	echo "$unformatted" >&2
	exit 1
fi
