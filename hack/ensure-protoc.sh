#!/usr/bin/env bash
# Makes sure protoc is installed, for hack/update-codegen.sh's protobuf step (go-to-protobuf
# runs it). It comes from the system's packages, as MariaDB does.
#
# Exit 0 when protoc is on PATH (installing Debian's protobuf-compiler first when running as
# root), 1 with the command to run otherwise.
set -euo pipefail

if command -v protoc >/dev/null 2>&1; then
	echo "protoc found: $(command -v protoc)"
	exit 0
fi
if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends protobuf-compiler >&2 ||
		{ apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends protobuf-compiler >&2; }
	echo "protoc installed: $(command -v protoc)"
	exit 0
fi
echo "protoc is missing: run 'sudo apt-get install protobuf-compiler'" >&2
exit 1
