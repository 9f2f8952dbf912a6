#!/usr/bin/env bash
# Installs the Kubeflow Pipelines SDK (kfp) at a pinned version from the Python package index
# into a virtual environment cached outside the repository, for the tests that run KFP
# components for real (pkg/launcher, test/launcher):
#
#   ${PIPELINES_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pipelines-apiserver}/venv-kfp-<version>/
#
# The version is the one most lightweight Python components of ../shared/testdata/kfp-v2
# install (their command runs `pip install kfp==<version>`): with it in the environment that
# install finds its requirement satisfied and needs no network. A warm run only checks the
# stamp file. Progress goes to stderr; the last line on stdout is the venv's bin directory.
set -euo pipefail

version="2.14.3"
cache="${PIPELINES_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME}/.cache}/pipelines-apiserver}"
venv="${cache}/venv-kfp-${version}"
stamp="${venv}/.kfp-${version}"

if [[ -f "${stamp}" && -x "${venv}/bin/python3" ]]; then
	echo "${venv}/bin"
	exit 0
fi

python="${PYTHON:-python3}"
if ! command -v "${python}" >/dev/null; then
	echo "ensure-kfp-venv: ${python} not found; install Python 3 (3.9 or later)" >&2
	exit 1
fi
mkdir -p "${cache}"
# Concurrent callers wait for one install.
exec 9>"${cache}/.venv-kfp.lock"
flock 9
if [[ -f "${stamp}" && -x "${venv}/bin/python3" ]]; then
	echo "${venv}/bin"
	exit 0
fi
echo "ensure-kfp-venv: installing kfp==${version} into ${venv}" >&2
rm -rf "${venv}"
# Built in place of its final path: a venv's scripts name their interpreter by absolute path.
"${python}" -m venv "${venv}"
"${venv}/bin/python3" -m pip install --quiet --disable-pip-version-check "kfp==${version}" >&2
"${venv}/bin/python3" -c "import kfp, sys; assert kfp.__version__ == '${version}', kfp.__version__" >&2
touch "${stamp}"
echo "${venv}/bin"
