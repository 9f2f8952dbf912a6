#!/usr/bin/env bash
# Builds kube-apiserver, kubectl and etcd from Go modules (hack/tools/controlplane pins
# k8s.io/kubernetes and go.etcd.io/etcd/server/v3) into a cache outside the repository:
#
#   ${PIPELINES_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pipelines-apiserver}/bin/<kubernetes version>/
#
# Binaries that are already there and newer than the tool module's go.mod and go.sum are
# reused, so only the first run (or a version change) compiles; that takes several minutes
# on two cores. Progress goes to stderr; the last line on stdout is the binary directory.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tooldir="${root}/hack/tools/controlplane"
binaries=(kube-apiserver kubectl etcd)

version="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }' "${tooldir}/go.mod")"
if [[ -z "${version}" ]]; then
	echo "build-controlplane: no k8s.io/kubernetes requirement in ${tooldir}/go.mod" >&2
	exit 1
fi

cache="${PIPELINES_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME}/.cache}/pipelines-apiserver}"
bindir="${cache}/bin/${version}"
mkdir -p "${bindir}"

up_to_date() {
	local b
	for b in "${binaries[@]}"; do
		[[ -x "${bindir}/${b}" && "${bindir}/${b}" -nt "${tooldir}/go.sum" && "${bindir}/${b}" -nt "${tooldir}/go.mod" ]] || return 1
	done
}

# Concurrent callers (parallel test packages, make run) wait for one build instead of racing.
exec 9>"${bindir}/.lock"
flock 9

if up_to_date; then
	echo "build-controlplane: reusing ${bindir}" >&2
else
	echo "build-controlplane: building kube-apiserver, kubectl and etcd ${version} into ${bindir}; the first build takes several minutes" >&2
	tmp="$(mktemp -d "${bindir}/.build.XXXXXX")"
	trap 'rm -rf "${tmp}"' EXIT

	# What Kubernetes' own build stamps in, so that /version and `kubectl version` report the
	# real release (the minor also selects kube-apiserver's default emulation version).
	minor="${version#v*.}"
	minor="${minor%%.*}"
	major="${version#v}"
	major="${major%%.*}"
	ldflags=""
	for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
		ldflags+=" -X ${pkg}.gitVersion=${version} -X ${pkg}.gitMajor=${major} -X ${pkg}.gitMinor=${minor} -X ${pkg}.gitTreeState=clean"
	done

	start="$(date +%s)"
	# One go build for all three shares the compilation of their common packages.
	(
		cd "${tooldir}"
		CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -ldflags "-s -w${ldflags}" \
			-o "${tmp}/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl ./etcd
	)
	for b in "${binaries[@]}"; do
		mv -f "${tmp}/${b}" "${bindir}/${b}"
	done
	echo "build-controlplane: built in $(($(date +%s) - start))s" >&2
fi

echo "${bindir}"
