#!/usr/bin/env bash
# scripts/test-faults.sh (make test-faults): the seeded fault campaigns (tests/faults/) over
# many seeds, where `make test` runs three.
#   1. builds the campaign programs in the debug build (build/debug) and the ASan/UBSan one
#      (build/asan), as make test configures them;
#   2. runs every campaign (sockets and streams, files, HTTP client and server) over SEEDS in
#      the debug build, then in the ASan build with leak detection;
#   3. prints one line per campaign and build, then every failing seed with the command that
#      replays it, and exits 1 if any seed failed.
# SEEDS is a list for CORIO_CAMPAIGN_SEEDS (default 1-200: "1-500", "137", "1-3,17");
# SEED=S runs that one seed (printing each run's spec and fault count); BUILDS chooses
# the builds ("debug asan" by default). Logs stay in build/faults/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seeds=${SEEDS:-1-200}
verbose=
if [[ -n ${SEED:-} ]]; then
	seeds=$SEED
	verbose=1
fi
builds=${BUILDS:-debug asan}
campaigns=(test_campaign_net test_campaign_fs test_campaign_http)
logs=build/faults
jobs=$(nproc 2>/dev/null || echo 2)

configure() { # build dir, cmake args...
	local dir=$1
	shift
	cmake -S . -B "$dir" "$@" >/dev/null
	cmake --build "$dir" -j"$jobs" --target "${campaigns[@]}" >/dev/null
}

for b in $builds; do
	case $b in
	debug) configure build/debug -DCMAKE_BUILD_TYPE=Debug -DCORIO_SANITIZE=OFF \
		-DCORIO_BUILD_TESTS=ON -DCORIO_BUILD_EXAMPLES=ON -DCORIO_BUILD_BENCH=ON ;;
	asan) configure build/asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCORIO_SANITIZE=ON \
		-DCORIO_BUILD_TESTS=ON -DCORIO_BUILD_EXAMPLES=OFF -DCORIO_BUILD_BENCH=OFF ;;
	*) echo "test-faults: unknown build '$b' (debug, asan)" >&2; exit 2 ;;
	esac
done

mkdir -p "$logs"
failed=0
start=$(date +%s)
echo "test-faults: seeds $seeds, builds: $builds"
for b in $builds; do
	for c in "${campaigns[@]}"; do
		log=$logs/$c.$b.log
		t0=$(date +%s)
		rc=0
		# Check's timeouts are per seed; sanitized builds run slower (as in ctest).
		env CORIO_CAMPAIGN_SEEDS="$seeds" CK_DEFAULT_TIMEOUT=120 \
			CK_TIMEOUT_MULTIPLIER=$([[ $b == asan ]] && echo 3 || echo 1) \
			${verbose:+CP_VERBOSE=1} \
			ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
			UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
			"build/$b/$c" >"$log" 2>&1 || rc=$?
		summary=$(grep -E '^[0-9]+%: Checks' "$log" | tail -1 || true)
		printf 'test-faults: %-20s %-5s %-50s %ds\n' "$c" "$b" \
			"${summary:-no summary (exit $rc)}" $(($(date +%s) - t0))
		[[ -n $verbose ]] && grep '^campaign:' "$log" | sed 's/^/  /'
		if [[ $rc != 0 ]]; then
			failed=1
			# Check's lines name the test and the seed (its loop index), crashes included.
			grep -E ':[FE]:' "$log" | sed -E 's/^[^:]*:[0-9]+:[FE]:[^:]*:([^:]*):([0-9]+):.*/\1 \2/' |
				sort -u | while read -r test seed; do
				echo "  FAILED seed $seed ($test): CORIO_CAMPAIGN_SEEDS=$seed TH_ONLY=$test build/$b/$c"
			done
			grep -E ':[FE]:' "$log" | head -20 | sed 's/^/    /'
			echo "  the whole log: $log"
		fi
	done
done
echo "test-faults: $([[ $failed == 0 ]] && echo 'all seeds passed' || echo 'FAILED') in $(($(date +%s) - start))s"
exit $failed
