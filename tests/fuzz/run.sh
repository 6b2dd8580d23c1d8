#!/usr/bin/env bash
# tests/fuzz/run.sh: runs the libFuzzer programs of a CORIO_BUILD_FUZZ build (`make fuzz`),
# one after the other, each for SECONDS over a scratch copy of its seed corpus and its
# regression inputs (BUILD/fuzz-run/<name>/corpus: the repository's corpus is never written
# to), and prints for each its executions, execs/s and final cov and ft.
#
#   tests/fuzz/run.sh BUILD SECONDS [NAME...]     NAME: request, url, ... (default: all)
#
# FUZZ_ARGS adds libFuzzer flags (e.g. FUZZ_ARGS=-runs=10000000). Exits 1 if any run
# crashed, leaked or timed out; the input that did it is kept under BUILD/fuzz-run/<name>/
# and its path printed, with the end of the run's log. Minimise it with
# `BUILD/fuzz_<name> -minimize_crash=1 -runs=100000 INPUT`, then add the result to
# tests/fuzz/regress/<name>/ with the fix.
set -uo pipefail

if (($# < 2)); then
	echo "usage: $0 BUILD SECONDS [NAME...]" >&2
	exit 2
fi
build=$1
seconds=$2
shift 2
src=$(cd "$(dirname "$0")" && pwd)
names=("$@")
if ((${#names[@]} == 0)); then
	for f in "$src"/fuzz_*.c; do
		f=${f##*/fuzz_}
		names+=("${f%.c}")
	done
fi

# A folder's inputs into the scratch corpus (dot files are the .keep of empty folders).
copy_inputs() {
	local from=$1 to=$2
	[[ -d $from ]] || return 0
	find "$from" -maxdepth 1 -type f ! -name '.*' -exec cp -t "$to" {} +
}

# The number after "KEY:" (as libFuzzer prints it) in the last line that has one.
last_number() {
	local key=$1 log=$2
	grep -oE "(^|[ ])$key: *[0-9]+" "$log" | tail -n 1 | grep -oE '[0-9]+$'
}

failed=0
for name in "${names[@]}"; do
	bin=$build/fuzz_$name
	run=$build/fuzz-run/$name
	if [[ ! -x $bin ]]; then
		echo "fuzz_$name: $bin not built" >&2
		failed=1
		continue
	fi
	rm -rf "$run"
	mkdir -p "$run/corpus" "$run/artifacts"
	copy_inputs "$src/corpus/$name" "$run/corpus"
	copy_inputs "$src/regress/$name" "$run/corpus"
	# shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
	"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$run/artifacts/" ${FUZZ_ARGS:-} "$run/corpus" >"$run/log" 2>&1
	rc=$?
	execs=$(last_number 'stat::number_of_executed_units' "$run/log")
	speed=$(last_number 'stat::average_exec_per_sec' "$run/log")
	cov=$(last_number 'cov' "$run/log")
	ft=$(last_number 'ft' "$run/log")
	status=ok
	if ((rc != 0)); then
		status="FAILED (exit $rc)"
		failed=1
	fi
	printf 'fuzz_%s: %s execs (%s/s), cov %s ft %s: %s\n' "$name" "${execs:-?}" "${speed:-?}" \
		"${cov:-?}" "${ft:-?}" "$status"
	if ((rc != 0)); then
		tail -n 40 "$run/log" | sed 's/^/    /'
		for a in "$run"/artifacts/*; do
			[[ -e $a ]] && echo "fuzz_$name: failing input: $a"
		done
		echo "fuzz_$name: full log: $run/log"
	fi
done
exit "$failed"
