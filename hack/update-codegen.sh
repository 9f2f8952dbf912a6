#!/usr/bin/env bash
# Regenerates everything under pkg/generated, the zz_generated files of pkg/apis and the
# protobuf code of the v1beta1 types, with k8s.io/code-generator at the version go.mod pins.
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
	--prefers-protobuf \
	--applyconfig-openapi-schema <(go run "${THIS_PKG}/pkg/generated/openapi/cmd/models-schema") \
	--output-dir "${SCRIPT_ROOT}/pkg/generated" \
	--output-pkg "${THIS_PKG}/pkg/generated" \
	--boilerplate "${BOILERPLATE}" \
	"${SCRIPT_ROOT}/pkg/apis"

# Protobuf for the v1beta1 types, which the clientset prefers, as client-go's typed clients of
# the built-in kinds do. go-to-protobuf expects a GOPATH-like tree and protoc.
hack/ensure-protoc.sh >/dev/null
PROTO_ROOT="$(mktemp -d)"
trap 'rm -rf "${PROTO_ROOT}"' EXIT
mkdir -p "${PROTO_ROOT}/src/k8s.io" "${PROTO_ROOT}/src/github.com/gogo" "${PROTO_ROOT}/src/$(dirname "${THIS_PKG}")" "${PROTO_ROOT}/bin"
ln -s "$(go list -m -f '{{.Dir}}' k8s.io/apimachinery)" "${PROTO_ROOT}/src/k8s.io/apimachinery"
GOGO="$(go list -m -f '{{.Dir}}' github.com/gogo/protobuf)"
ln -s "${GOGO}" "${PROTO_ROOT}/src/github.com/gogo/protobuf"
ln -s "${SCRIPT_ROOT}" "${PROTO_ROOT}/src/${THIS_PKG}"
# go-to-protobuf also runs goimports on what protoc writes.
GOBIN="${PROTO_ROOT}/bin" go install k8s.io/code-generator/cmd/go-to-protobuf/protoc-gen-gogo golang.org/x/tools/cmd/goimports
PATH="${PROTO_ROOT}/bin:${PATH}" go run k8s.io/code-generator/cmd/go-to-protobuf \
	--go-header-file "${BOILERPLATE}" \
	--output-dir "${PROTO_ROOT}/src" \
	--proto-import "${GOGO}/protobuf" \
	--apimachinery-packages "-k8s.io/apimachinery/pkg/util/intstr,-k8s.io/apimachinery/pkg/api/resource,-k8s.io/apimachinery/pkg/runtime/schema,-k8s.io/apimachinery/pkg/runtime,-k8s.io/apimachinery/pkg/apis/meta/v1" \
	--packages "${THIS_PKG}/pkg/apis/pipelines/v1beta1"
