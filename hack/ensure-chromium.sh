#!/usr/bin/env bash
# Makes sure a headless-capable Chromium is installed for the browser tests of the web UI
# (test/ui), which drive it over the DevTools protocol with chromedp. Debian's `chromium`
# package is used as MariaDB's is: installed when running as root, skipped by the tests with
# the command to run otherwise (a failure under PIPELINES_REQUIRE_TESTDEPS=1).
#
# Exit 0 when a Chromium binary is present (installing it first when running as root on a
# Debian or Ubuntu system), 1 with the command to run otherwise.
set -euo pipefail

# The same names test/ui looks for.
find_chromium() {
	local name
	for name in chromium chromium-browser google-chrome-stable google-chrome; do
		if command -v "${name}" >/dev/null 2>&1; then
			command -v "${name}"
			return 0
		fi
	done
	return 1
}

if bin="$(find_chromium)"; then
	echo "Chromium found: ${bin}"
	exit 0
fi

install_cmd="apt-get install -y --no-install-recommends chromium"
if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
	echo "No Chromium found. Install it as root (the browser tests of test/ui skip without it):" >&2
	echo "    apt-get update && ${install_cmd}" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
${install_cmd}

if bin="$(find_chromium)"; then
	echo "Chromium installed: ${bin}"
	exit 0
fi
echo "apt-get installed chromium, but no chromium binary was found" >&2
exit 1
