#!/usr/bin/env bash
# make run: a complete local control plane (MariaDB, etcd, kube-apiserver with RBAC and the
# front-proxy, pipelines-apiserver, its APIService, namespaces team-a and team-b with users
# alice and bob). Needs only Go and, for MariaDB, the system package manager (as root
# hack/ensure-mariadb.sh installs it). kube-apiserver, etcd and kubectl are built from Go
# modules once and cached outside the repository.
#
# State lives in ${PIPELINES_LOCAL_DIR:-.local}: a second run reuses the database, etcd's data
# and the certificates, so an exported KUBECONFIG keeps working. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

dir="${PIPELINES_LOCAL_DIR:-.local}"
mkdir -p "${dir}/bin"

hack/ensure-mariadb.sh >&2
PIPELINES_CONTROLPLANE_BIN="$(hack/build-controlplane.sh | tail -n 1)"
export PIPELINES_CONTROLPLANE_BIN

go build -o "${dir}/bin/local-up" ./hack/local-up
# exec: SIGINT and SIGTERM reach local-up, which stops the server, MariaDB and the control
# plane in that order.
# Runs execute once Argo's Workflow CRD is installed (no Argo controller runs here: workflows
# are created and wait). ARGO_CRD names the manifest; by default Argo's full CRD from the shared
# test data beside the repository, when it is there.
argo_crd="${ARGO_CRD:-../shared/testdata/argo/workflows-crd-full.yaml}"
crd_args=()
if [[ -f "${argo_crd}" ]]; then
	crd_args=(--crd "${argo_crd}")
fi
exec "${dir}/bin/local-up" --dir "${dir}" "${crd_args[@]}" "$@"
