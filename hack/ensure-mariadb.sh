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

if server="$(find_server)"; then
	echo "MariaDB server found: ${server}"
	exit 0
fi

install_cmd="apt-get install -y --no-install-recommends mariadb-server"

if [[ "$(id -u)" -ne 0 ]]; then
	echo "No MariaDB server (mariadbd or mysqld) found. Install it as root:" >&2
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

if server="$(find_server)"; then
	echo "MariaDB server installed: ${server}"
	exit 0
fi
echo "apt-get installed mariadb-server, but no mariadbd or mysqld binary was found" >&2
exit 1
