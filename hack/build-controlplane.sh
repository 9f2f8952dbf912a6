#!/usr/bin/env bash
# Builds the programs the tests and `make run` start, from Go modules pinned under hack/tools/,
# into one directory in a cache outside the repository:
#
#   ${PIPELINES_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pipelines-apiserver}/bin/<kubernetes version>/
#
#   hack/tools/controlplane  kube-apiserver, kube-controller-manager, kube-scheduler, kubectl
#                            (k8s.io/kubernetes) and etcd
#   hack/tools/argo          workflow-controller (Argo Workflows)
#   hack/tools/kwok          kwok, the node and pod simulator
#   hack/tools/seaweedfs     weed, SeaweedFS's S3-compatible object store (test/s3server)
#
# Each module's programs are rebuilt only when its go.mod or go.sum changes (a stamp file in
# the directory holds their checksum), so only the first run or a version change compiles;
# that takes many minutes on two cores. Concurrent callers wait for one build. Progress goes
# to stderr; the last line on stdout is the binary directory.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${root}/hack/tools"

version="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }' "${tools}/controlplane/go.mod")"
if [[ -z "${version}" ]]; then
	echo "build-controlplane: no k8s.io/kubernetes requirement in ${tools}/controlplane/go.mod" >&2
	exit 1
fi
argo_version="$(awk '$1 == "github.com/argoproj/argo-workflows/v4" { print $2; exit }' "${tools}/argo/go.mod")"

cache="${PIPELINES_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME}/.cache}/pipelines-apiserver}"
bindir="${cache}/bin/${version}"
mkdir -p "${bindir}"

# pins is what a module's programs are built from: its go.mod and go.sum. test/controlplane
# (BinariesBuilt) computes the same checksum.
pins() { cat "${tools}/$1/go.mod" "${tools}/$1/go.sum" | sha256sum | cut -d' ' -f1; }

# build MODULE "BINARIES" LDFLAGS PACKAGES...: one go build per module shares the compilation
# of its programs' common packages.
build() {
	local module="$1" binaries="$2" ldflags="$3"
	shift 3
	local stamp="${bindir}/.${module}.pins" want b ok=1
	want="$(pins "${module}")"
	for b in ${binaries}; do
		[[ -x "${bindir}/${b}" ]] || ok=0
	done
	if [[ "${ok}" == 1 && -f "${stamp}" && "$(cat "${stamp}")" == "${want}" ]]; then
		echo "build-controlplane: reusing ${binaries} in ${bindir}" >&2
		return
	fi
	echo "build-controlplane: building ${binaries} (hack/tools/${module}) into ${bindir}; the first build takes several minutes" >&2
	local tmp start
	tmp="$(mktemp -d "${bindir}/.build.XXXXXX")"
	start="$(date +%s)"
	(
		cd "${tools}/${module}"
		CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -ldflags "-s -w${ldflags}" -o "${tmp}/" "$@"
	) || { rm -rf "${tmp}"; return 1; }
	for b in ${binaries}; do
		mv -f "${tmp}/${b}" "${bindir}/${b}"
	done
	rm -rf "${tmp}"
	echo "${want}" >"${stamp}"
	echo "build-controlplane: built ${binaries} in $(($(date +%s) - start))s" >&2
}

# Concurrent callers (parallel test packages, make run) wait for one build instead of racing.
exec 9>"${bindir}/.lock"
flock 9

# What Kubernetes' own build stamps in, so that /version and `kubectl version` report the real
# release (the minor also selects kube-apiserver's default emulation version).
minor="${version#v*.}"
minor="${minor%%.*}"
major="${version#v}"
major="${major%%.*}"
k8s_ldflags=""
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
	k8s_ldflags+=" -X ${pkg}.gitVersion=${version} -X ${pkg}.gitMajor=${major} -X ${pkg}.gitMinor=${minor} -X ${pkg}.gitTreeState=clean"
done
build controlplane "kube-apiserver kube-controller-manager kube-scheduler kubectl etcd" "${k8s_ldflags}" \
	k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
	k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl ./etcd
# Argo names its executor image after its version (quay.io/argoproj/argoexec:<version>).
build argo "workflow-controller" " -X github.com/argoproj/argo-workflows/v4.version=${argo_version}" \
	github.com/argoproj/argo-workflows/v4/cmd/workflow-controller
build kwok "kwok" "" sigs.k8s.io/kwok/cmd/kwok
build seaweedfs "weed" "" github.com/seaweedfs/seaweedfs/weed

echo "${bindir}"
