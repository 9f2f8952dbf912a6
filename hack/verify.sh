#!/usr/bin/env bash
# gofmt, go vet, staticcheck, go mod tidy and generated code must be clean.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

unformatted=$(git ls-files -co --exclude-standard '*.go' | xargs -r gofmt -l)
if [[ -n "${unformatted}" ]]; then
	echo "gofmt would change:" >&2
	echo "${unformatted}" >&2
	exit 1
fi
go vet ./...
# Lint, pinned; generated code is the generators' business (hack/verify-codegen.sh).
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(go list ./... | grep -v /pkg/generated/)
if [[ -x hack/verify-codegen.sh ]]; then
	hack/verify-codegen.sh
fi
