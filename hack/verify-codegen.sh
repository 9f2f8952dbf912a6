#!/usr/bin/env bash
# Fails when generated code is not what hack/update-codegen.sh makes of the sources:
# regenerates into a copy of the tree and compares.
set -o errexit -o nounset -o pipefail

SCRIPT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
TMP="$(mktemp -d)"
trap 'rm -rf "${TMP}"' EXIT

# A copy keeps the working tree untouched; only what update-codegen writes is compared.
tar -C "${SCRIPT_ROOT}" --exclude=./.git --exclude=./bin --exclude=./.local --exclude=./.scratch -cf - . | tar -C "${TMP}" -xf -
(cd "${TMP}" && hack/update-codegen.sh >/dev/null)

status=0
for path in pkg/generated pkg/apis hack/api-rules-violations.list; do
	if ! diff -Naupr "${SCRIPT_ROOT}/${path}" "${TMP}/${path}"; then
		status=1
	fi
done
if [[ ${status} -ne 0 ]]; then
	echo "generated code is out of date: run hack/update-codegen.sh" >&2
	exit 1
fi
echo "generated code is up to date"
