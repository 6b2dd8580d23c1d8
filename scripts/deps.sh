#!/usr/bin/env bash
# scripts/deps.sh: installs the Debian 12 packages corio needs that are not installed yet.
#
#   scripts/deps.sh [build]   compiler, cmake, pkg-config, liburing, Check, zlib, llhttp,
#                             OpenSSL (libssl-dev) and the system trust store (ca-certificates),
#                             valgrind, python3, and the servers and clients the tests start
#                             on 127.0.0.1 (nginx-light, curl, and openssl for s_server /
#                             s_client / req; Node.js, npm and python3-websockets for the
#                             WebSocket interop tests) (what `make test` needs), then Node's
#                             `ws` package from the npm registry (below)
#   scripts/deps.sh bench     the build group plus the benchmark peers (nginx, h2o, wrk, fio,
#                             aiohttp, aiofiles, uvloop, libcurl, nghttp2 client, Go, and
#                             Rust with Debian's tokio and hyper crates; Node.js is used when
#                             installed: Debian 12's is 18, the peers want 20; Go's
#                             golang.org/x/net/websocket for the WebSocket echo peer)
#   scripts/deps.sh stress    the build group plus stress-ng (make test-stress)
#   scripts/deps.sh fuzz      the build group plus clang and libFuzzer (make fuzz);
#                             libclang-rt-14-dev, which holds the fuzzer and sanitizer
#                             runtimes, is only recommended by clang and named explicitly
#
# Idempotent: prints nothing and touches nothing when every package is there. Otherwise
# runs one `apt-get update` and one `apt-get install`, as root or through sudo.
#
# Node.js: a machine may already have another vendor's nodejs (nodesource's 20 bundles npm
# in its nodejs package and conflicts with Debian's npm), so Debian's npm is asked for only
# when no `npm` command exists; Debian 12 itself has nodejs 18 and npm 9.
#
# Node's `ws` (the peer of tests/ws/test_ws_interop.c and of corio-bench's `ws`; Debian has
# no node-ws recent enough) comes from the npm registry, the one download the project
# allows, pinned to WS_NPM_VERSION, into build/npm/node_modules at the top of this tree
# (ignored by git, like all of build/; CORIO_NPM_DIR overrides the directory), with
#     npm install --no-audit --no-fund --prefix build/npm ws@WS_NPM_VERSION
# only when that version is not there already (then nothing is fetched). The tests and the
# benchmark hand that node_modules to node as NODE_PATH. When npm cannot reach the
# registry, this says so and goes on: the interop tests then skip (exit 77) with that reason.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

build_pkgs=(build-essential cmake pkg-config liburing-dev check zlib1g-dev node-llhttp
            libssl-dev ca-certificates valgrind python3 nginx-light curl openssl
            nodejs python3-websockets)
bench_pkgs=(nginx-light h2o wrk fio python3-aiohttp python3-aiofiles python3-uvloop
            libcurl4-openssl-dev nghttp2-client golang-go golang-golang-x-net-dev cargo rustc
            librust-tokio-dev librust-hyper-dev librust-libc-dev)
WS_NPM_VERSION=8.18.3

fuzz_pkgs=(clang libfuzzer-14-dev libclang-rt-14-dev)

usage() {
	echo "usage: $0 [build|bench|stress|fuzz]"
}

group=${1:-build}
case $group in
build) wanted=("${build_pkgs[@]}") ;;
stress) wanted=("${build_pkgs[@]}" stress-ng) ;;
fuzz) wanted=("${build_pkgs[@]}" "${fuzz_pkgs[@]}") ;;
bench) wanted=("${build_pkgs[@]}" "${bench_pkgs[@]}") ;;
-h | --help)
	usage
	exit 0
	;;
*)
	usage >&2
	exit 2
	;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps.sh: dpkg-query not found: this script knows Debian only" >&2
	echo "deps.sh: install these yourself: ${wanted[*]}" >&2
	exit 1
fi

# Debian's npm only where no npm exists (nodesource's nodejs carries its own).
if ! command -v npm >/dev/null 2>&1; then
	wanted+=(npm)
fi

# Node's ws at WS_NPM_VERSION in the npm directory, unless it is there already; a failure
# is reported, not fatal (the interop tests skip with the reason).
npm_ws() {
	local root dir have
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	dir=${CORIO_NPM_DIR:-$root/build/npm}
	have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' \
		"$dir/node_modules/ws/package.json" 2>/dev/null | head -n 1 || true)
	if [[ $have == "$WS_NPM_VERSION" ]]; then
		return 0
	fi
	if ! command -v npm >/dev/null 2>&1; then
		echo "deps.sh: no npm: Node's ws not installed; the WebSocket interop tests will skip" >&2
		return 0
	fi
	echo "deps.sh: installing Node's ws@$WS_NPM_VERSION into $dir (npm registry)" >&2
	mkdir -p "$dir"
	# Bounded: without a registry, npm's defaults would retry for many minutes.
	if ! npm install --no-audit --no-fund --fetch-retries=1 --fetch-timeout=60000 \
		--prefix "$dir" "ws@$WS_NPM_VERSION" >&2; then
		echo "deps.sh: npm install ws@$WS_NPM_VERSION failed (no access to the npm" \
			"registry?): the WebSocket interop tests and the ws benchmark's node row" \
			"will be skipped" >&2
	fi
	return 0
}

missing=()
for pkg in "${wanted[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
	if [[ $status != installed ]]; then
		missing+=("$pkg")
	fi
done
if ((${#missing[@]} == 0)); then
	npm_ws
	exit 0
fi

as_root=()
if ((EUID != 0)); then
	if command -v sudo >/dev/null 2>&1; then
		as_root=(sudo)
	else
		echo "deps.sh: these Debian packages are missing: ${missing[*]}" >&2
		echo "deps.sh: not root and no sudo: install them as root with" >&2
		echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
		exit 1
	fi
fi

echo "deps.sh: installing ${missing[*]}" >&2
# sudo resets the environment: pass DEBIAN_FRONTEND through env explicitly.
run() {
	"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive "$@"
}
if ! run apt-get update; then
	echo "deps.sh: apt-get update failed; trying the install with the lists at hand" >&2
fi
run apt-get install -y --no-install-recommends "${missing[@]}"
npm_ws
