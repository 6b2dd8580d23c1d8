#!/usr/bin/env bash
# tests/install/check.sh [BUILD_DIR]: checks that an installed corio is usable from outside.
#
# Installs BUILD_DIR (or, without it, a fresh Release build made in a temporary directory)
# into a temporary prefix, then builds tests/install/consumer.c against that prefix three
# ways and runs each, expecting "consumer ok":
#   1. shared, with `pkg-config --cflags --libs corio` (run with LD_LIBRARY_PATH)
#   2. static, with `pkg-config --static` and libcorio.a
#   3. a CMake project using find_package(corio): corio::corio and corio::corio_static
# Also checks that libcorio.so exports only the public corio_* API.
# Exit 77 (skipped) when pkg-config or cmake is missing or io_uring is unavailable.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cmake=${CMAKE:-cmake}
cc=${CC:-cc}

say() { echo "check.sh: $*"; }
fail() {
	echo "check.sh: FAIL: $*" >&2
	exit 1
}

for tool in pkg-config "$cmake" "$cc"; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		say "$tool not found: skipped"
		exit 77
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/corio-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

if (($# >= 1)); then
	build=$(cd "$1" && pwd)
else
	build=$tmp/build
	say "building corio in $build"
	"$cmake" -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCORIO_BUILD_TESTS=OFF \
		-DCORIO_BUILD_BENCH=OFF -DCORIO_BUILD_EXAMPLES=OFF >"$tmp/configure.log" ||
		{ cat "$tmp/configure.log"; fail "configure"; }
	"$cmake" --build "$build" -j"$(nproc)" >"$tmp/build.log" ||
		{ cat "$tmp/build.log"; fail "build"; }
fi

prefix=$tmp/prefix
"$cmake" --install "$build" --prefix "$prefix" >"$tmp/install.log" ||
	{ cat "$tmp/install.log"; fail "cmake --install $build"; }

pc=$(find "$prefix" -name corio.pc -path '*/pkgconfig/*' | head -n 1)
[[ -n $pc ]] || fail "corio.pc not installed"
libdir=$(dirname "$(dirname "$pc")")
for f in libcorio.so libcorio.a cmake/corio/corioConfig.cmake \
	cmake/corio/corioConfigVersion.cmake cmake/corio/corioTargets.cmake; do
	[[ -e $libdir/$f ]] || fail "$libdir/$f not installed"
done
[[ -f $prefix/include/corio/corio.h ]] || fail "include/corio/corio.h not installed"
export PKG_CONFIG_PATH=$libdir/pkgconfig
[[ $(pkg-config --variable=prefix corio) == "$prefix" ]] ||
	fail "corio.pc prefix is $(pkg-config --variable=prefix corio), not $prefix"

# Exit status 77 from the consumer means io_uring is unavailable here: skip, don't fail.
run_consumer() {
	local name=$1 out rc=0
	shift
	out=$("$@" 2>"$tmp/$name.err") || rc=$?
	if ((rc == 77)); then
		cat "$tmp/$name.err"
		say "$name: io_uring unavailable: skipped"
		exit 77
	fi
	if ((rc != 0)) || [[ $out != "consumer ok" ]]; then
		cat "$tmp/$name.err" >&2
		fail "$name: exit $rc, output '$out'"
	fi
	say "$name: ok"
}

needs_libcorio() {
	readelf -d "$1" | grep -q 'NEEDED.*\[libcorio\.so\.0\]'
}

# 1. shared, pkg-config
read -ra flags <<<"$(pkg-config --cflags --libs corio)"
"$cc" -o "$tmp/consumer_shared" "$here/consumer.c" "${flags[@]}" ||
	fail "cc consumer.c \$(pkg-config --cflags --libs corio)"
needs_libcorio "$tmp/consumer_shared" || fail "pkg-config consumer is not linked to libcorio.so.0"
run_consumer pkg-config-shared env LD_LIBRARY_PATH="$libdir" "$tmp/consumer_shared"

# 2. static, pkg-config --static with libcorio.a in place of -lcorio
read -ra cflags <<<"$(pkg-config --static --cflags corio)"
read -ra libs <<<"$(pkg-config --static --libs corio)"
link=()
for word in "${libs[@]}"; do
	if [[ $word == -lcorio ]]; then
		link+=("$libdir/libcorio.a")
	else
		link+=("$word")
	fi
done
"$cc" -o "$tmp/consumer_static" "${cflags[@]}" "$here/consumer.c" "${link[@]}" ||
	fail "cc consumer.c libcorio.a \$(pkg-config --static --libs corio)"
! needs_libcorio "$tmp/consumer_static" || fail "static consumer needs libcorio.so"
run_consumer pkg-config-static "$tmp/consumer_static"

# 3. find_package(corio)
"$cmake" -S "$here" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
	-DCMAKE_BUILD_TYPE=Release >"$tmp/consumer-configure.log" 2>&1 ||
	{ cat "$tmp/consumer-configure.log"; fail "find_package(corio) project: configure"; }
"$cmake" --build "$tmp/consumer" >"$tmp/consumer-build.log" 2>&1 ||
	{ cat "$tmp/consumer-build.log"; fail "find_package(corio) project: build"; }
needs_libcorio "$tmp/consumer/consumer_shared" || fail "corio::corio is not libcorio.so.0"
! needs_libcorio "$tmp/consumer/consumer_static" || fail "corio::corio_static needs libcorio.so"
run_consumer cmake-shared "$tmp/consumer/consumer_shared"
run_consumer cmake-static "$tmp/consumer/consumer_static"

# Only the public API is exported: hidden visibility everywhere else (llhttp included).
# corio__ names are internal across files and must stay hidden too.
exported=$(nm -D --defined-only "$libdir/libcorio.so" | awk '{print $3}' |
	grep -Ev '^(corio_[A-Za-z0-9]|_init$|_fini$|_edata$|_end$|__bss_start$)' || true)
if [[ -n $exported ]]; then
	fail "libcorio.so exports non-API symbols: ${exported//$'\n'/ }"
fi
say "libcorio.so exports only corio_* symbols"

# An installed corio-bench finds its peers under <prefix>/libexec/corio, not in the build
# tree it came from: the build tree is hidden by running it with a cleared $PATH from /.
if [[ -x $prefix/bin/corio-bench ]]; then
	peers=$(cd / && PATH=/nonexistent "$prefix/bin/corio-bench" peers) ||
		fail "corio-bench peers"
	grep -qx "peer-echo_epoll *$prefix/bin/../libexec/corio/peer-echo_epoll" <<<"$peers" ||
		fail "the installed corio-bench does not find its epoll peer: $peers"
	[[ -f $prefix/libexec/corio/python/sleepers.py ]] ||
		fail "the Python peers are not installed"
	say "the installed corio-bench finds its peers"
fi

echo "check.sh: all install checks passed"
