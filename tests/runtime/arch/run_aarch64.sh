#!/usr/bin/env bash
# tests/runtime/arch/run_aarch64.sh SRC_DIR OUT_DIR: builds tests/runtime/arch/switch_check.c with the
# AArch64 switch (runtime/core/arch/aarch64/switch.S) by the cross compiler and runs it under
# qemu-aarch64, so the AArch64 switch is exercised on an x86-64 machine. Exit 77 (skipped)
# when aarch64-linux-gnu-gcc or qemu-aarch64 is not installed (Debian: gcc-aarch64-linux-gnu,
# qemu-user); neither is a dependency of corio.
set -euo pipefail
src=$1
out=$2
if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
	echo "aarch64-linux-gnu-gcc or qemu-aarch64 missing: skipped" >&2
	exit 77
fi
# A static link needs the cross libc (libc6-dev-arm64-cross), which may be absent too.
if [ "$(aarch64-linux-gnu-gcc -print-file-name=libc.a)" = "libc.a" ]; then
	echo "no AArch64 libc.a for the cross compiler: skipped" >&2
	exit 77
fi
mkdir -p "$out"
aarch64-linux-gnu-gcc -O2 -Wall -Wextra -Werror -std=gnu11 -static -I"$src" \
	"$src/tests/arch/switch_check.c" "$src/runtime/arch/aarch64/switch.S" -lm \
	-o "$out/switch_check_aarch64"
qemu-aarch64 "$out/switch_check_aarch64"
