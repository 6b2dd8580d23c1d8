#!/usr/bin/env bash
# scripts/deps.sh: installs the Debian 12 packages corio needs that are not installed yet.
#
#   scripts/deps.sh [build]   compiler, cmake, pkg-config, liburing, Check, zlib, llhttp,
#                             OpenSSL (libssl-dev) and the system trust store (ca-certificates),
#                             valgrind, python3, and the servers and clients the tests start
#                             on 127.0.0.1 (nginx-light, curl, and openssl for s_server /
#                             s_client / req) (what `make test` needs)
#   scripts/deps.sh bench     the build group plus the benchmark peers (nginx, h2o, wrk, fio,
#                             aiohttp, aiofiles, uvloop, libcurl, nghttp2 client, Go, and
#                             Rust with Debian's tokio and hyper crates; Node.js is used when
#                             installed: Debian 12's is 18, the peers want 20)
#   scripts/deps.sh stress    the build group plus stress-ng (make test-stress)
#   scripts/deps.sh fuzz      the build group plus clang and libFuzzer (make fuzz);
#                             libclang-rt-14-dev, which holds the fuzzer and sanitizer
#                             runtimes, is only recommended by clang and named explicitly
#
# Idempotent: prints nothing and touches nothing when every package is there. Otherwise
# runs one `apt-get update` and one `apt-get install`, as root or through sudo.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

build_pkgs=(build-essential cmake pkg-config liburing-dev check zlib1g-dev node-llhttp
            libssl-dev ca-certificates valgrind python3 nginx-light curl openssl)
bench_pkgs=(nginx-light h2o wrk fio python3-aiohttp python3-aiofiles python3-uvloop
            libcurl4-openssl-dev nghttp2-client golang-go cargo rustc librust-tokio-dev
            librust-hyper-dev librust-libc-dev)

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

missing=()
for pkg in "${wanted[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
	if [[ $status != installed ]]; then
		missing+=("$pkg")
	fi
done
if ((${#missing[@]} == 0)); then
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
