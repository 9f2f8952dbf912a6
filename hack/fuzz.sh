#!/usr/bin/env bash
# Runs every fuzz target of the module for FUZZTIME each (default 30s), one after
# another, and prints the time and result of each. New targets are found by
# `go test -list`, in the packages whose tests declare one. Their seed corpora (f.Add
# and testdata/fuzz) also run in plain `go test`, and so in `make test`.
# A crasher is written to the package's testdata/fuzz/<Target>/: commit it with the fix.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fuzztime="${FUZZTIME:-30s}"
pkgs=$(git ls-files -co --exclude-standard '*_test.go' | xargs -r grep -l '^func Fuzz' | xargs -r -n1 dirname | sort -u)
failed=0
summary=()
for dir in ${pkgs}; do
	for target in $(go test -list '^Fuzz' "./${dir}" | grep '^Fuzz' || true); do
		echo "=== ${dir} ${target} for ${fuzztime}" >&2
		start=${SECONDS}
		if go test -run '^$' -fuzz "^${target}\$" -fuzztime "${fuzztime}" "./${dir}"; then
			result=ok
		else
			result=FAILED
			failed=1
		fi
		summary+=("$(printf '%-7s %-40s %-28s %ss' "${result}" "${dir}" "${target}" "$((SECONDS - start))")")
	done
done
echo "--- fuzz summary (FUZZTIME=${fuzztime} each, wall time including the build)"
printf '%s\n' "${summary[@]}"
exit "${failed}"
