#!/usr/bin/env bash
# Makes sure a MariaDB server binary is installed for the storage tests.
#
# Tests never use a system MariaDB service: pkg/storage/mysql/testing starts private mariadbd
# processes with their own data dirs and ports (or uses MYSQL_TEST_DSN). So all this needs is the
# mariadbd and mariadb-install-db binaries; whether the package's own service runs is irrelevant,
# and it is not started during the install.
#
# Exit 0 when a server binary is present (installing it first when running as root on a Debian or
# Ubuntu system), 1 with the command to run otherwise.
set -euo pipefail

# The same places pkg/storage/mysql/testing looks. "command -v" alone would also return a file
# that is not executable.
find_server() {
	local name candidate
	for name in mariadbd mysqld; do
		for candidate in "$(command -v "${name}" 2>/dev/null || true)" \
			"/usr/sbin/${name}" "/usr/bin/${name}" "/usr/local/mysql/bin/${name}"; do
			if [[ -n "${candidate}" && -f "${candidate}" && -x "${candidate}" ]]; then
				echo "${candidate}"
				return 0
			fi
		done
	done
	return 1
}

# galera-4 is MariaDB's wsrep provider, for make test-galera's three-node cluster. It is installed
# with the server; without root, its absence fails only --galera (make test-galera).
galera=/usr/lib/galera/libgalera_smm.so
need_galera=0
[[ "${1:-}" == "--galera" ]] && need_galera=1

if server="$(find_server)"; then
	if [[ -f "${galera}" ]]; then
		echo "MariaDB server found: ${server}; Galera provider: ${galera}"
		exit 0
	fi
	if [[ "$(id -u)" -ne 0 && "${need_galera}" -eq 0 ]]; then
		echo "MariaDB server found: ${server} (no Galera provider: make test-galera needs galera-4)"
		exit 0
	fi
fi

install_cmd="apt-get install -y --no-install-recommends mariadb-server galera-4"

if [[ "$(id -u)" -ne 0 ]]; then
	echo "No MariaDB server (mariadbd or mysqld) or no Galera provider found. Install them as root:" >&2
	echo "    apt-get update && ${install_cmd}" >&2
	echo "or run this script as root (sudo $0)." >&2
	exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "No MariaDB server found and no apt-get: install MariaDB with your system's package manager," >&2
	echo "or point the tests at an existing server with MYSQL_TEST_DSN." >&2
	exit 1
fi

# Keep the package's post-install from starting its service: in a container there is no init to
# start it with, and on a host a second server on port 3306 is of no use to the tests. A
# policy-rc.d exiting 101 is Debian's way to say "do not start services"; one that is already
# there is left alone.
policy=/usr/sbin/policy-rc.d
if [[ ! -e "${policy}" ]]; then
	printf '#!/bin/sh\nexit 101\n' >"${policy}"
	chmod 0755 "${policy}"
	trap 'rm -f "${policy}"' EXIT
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
${install_cmd}

if server="$(find_server)" && [[ -f "${galera}" ]]; then
	echo "MariaDB server installed: ${server}; Galera provider: ${galera}"
	exit 0
fi
echo "apt-get installed mariadb-server and galera-4, but no mariadbd or mysqld binary was found" >&2
exit 1
