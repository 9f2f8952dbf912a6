#!/usr/bin/env bash
# Regenerates everything under pkg/generated and the zz_generated files of pkg/apis
# with k8s.io/code-generator's kube_codegen.sh at the version go.mod pins.
set -o errexit -o nounset -o pipefail

SCRIPT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "${SCRIPT_ROOT}"
THIS_PKG="$(go list -m)"
# go list names the module's directory only once it is in the module cache.
go mod download k8s.io/code-generator
CODEGEN_PKG="${CODEGEN_PKG:-$(go list -m -f '{{.Dir}}' k8s.io/code-generator)}"
BOILERPLATE="${SCRIPT_ROOT}/hack/boilerplate.go.txt"

# shellcheck source=/dev/null
source "${CODEGEN_PKG}/kube_codegen.sh"

kube::codegen::gen_helpers \
	--boilerplate "${BOILERPLATE}" \
	"${SCRIPT_ROOT}/pkg/apis"

kube::codegen::gen_openapi \
	--output-dir "${SCRIPT_ROOT}/pkg/generated/openapi" \
	--output-pkg "${THIS_PKG}/pkg/generated/openapi" \
	--report-filename "${SCRIPT_ROOT}/hack/api-rules-violations.list" \
	--update-report \
	--output-model-name-file "zz_generated.model_name.go" \
	--boilerplate "${BOILERPLATE}" \
	"${SCRIPT_ROOT}/pkg/apis"

kube::codegen::gen_client \
	--with-watch \
	--with-applyconfig \
	--applyconfig-openapi-schema <(go run "${THIS_PKG}/pkg/generated/openapi/cmd/models-schema") \
	--output-dir "${SCRIPT_ROOT}/pkg/generated" \
	--output-pkg "${THIS_PKG}/pkg/generated" \
	--boilerplate "${BOILERPLATE}" \
	"${SCRIPT_ROOT}/pkg/apis"
