#!/usr/bin/env bash
# make run: a complete local control plane (MariaDB, etcd, kube-apiserver with RBAC and the
# front-proxy, pipelines-apiserver, its APIService, namespaces team-a and team-b with users
# alice and bob; Argo's workflow controller, kube-controller-manager, kube-scheduler and kwok, so
# that the demo run reaches Succeeded). Needs only Go and, for MariaDB, the system package
# manager (as root hack/ensure-mariadb.sh installs it). kube-apiserver, etcd, kubectl and the
# rest are built from Go modules once and cached outside the repository.
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
# Runs execute on Argo Workflows' own controller, with kube-controller-manager, kube-scheduler
# and kwok simulating a node (no container runs: steps succeed), once Argo's CRDs are installed.
# ARGO_CRDS names the directory holding the full Workflow CRD and other-crds/; by default the
# shared test data beside the repository. Without it runs stay Pending.
argo_crds="${ARGO_CRDS:-../shared/testdata/argo}"
crd_args=()
if [[ -f "${argo_crds}/workflows-crd-full.yaml" && -d "${argo_crds}/other-crds" ]]; then
	crd_args=(--execution --crd "${argo_crds}/workflows-crd-full.yaml" --crd "${argo_crds}/other-crds")
else
	echo "run-local: no Argo CRDs in ${argo_crds}: runs will stay Pending" >&2
fi
exec "${dir}/bin/local-up" --dir "${dir}" "${crd_args[@]}" "$@"
