#!/usr/bin/env bash
# gofmt, go vet, go mod tidy and generated code must be clean.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

unformatted=$(git ls-files -co --exclude-standard '*.go' | xargs -r gofmt -l)
if [[ -n "${unformatted}" ]]; then
	echo "gofmt would change:" >&2
	echo "${unformatted}" >&2
	exit 1
fi
go vet ./...
if [[ -x hack/verify-codegen.sh ]]; then
	hack/verify-codegen.sh
fi
