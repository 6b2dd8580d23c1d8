#!/usr/bin/env bash
# scripts/test-stress.sh (make test-stress): `make test` where users run it, not in the lab.
# A clean copy of HEAD (git archive: nothing untracked, no build directory) runs `make test`
#   1. ROUNDS times (default 5) with two CPU hogs per CPU (stress-ng --cpu 2*nproc), then
#   2. once pinned to one CPU (taskset -c 0), without the hogs.
# Each round's wall time and result is printed; the first failure stops the script (exit 1).
# Not in CI: it takes ROUNDS+1 times a `make test`. Needs stress-ng (installed if missing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

rounds=${ROUNDS:-5}
scripts/deps.sh stress
copy=$(mktemp -d /tmp/corio-stress-XXXXXX)
hog=
cleanup() {
	if [[ -n $hog ]]; then
		kill "$hog" 2>/dev/null || true
		wait "$hog" 2>/dev/null || true
	fi
	rm -rf "$copy"
}
trap cleanup EXIT
git archive HEAD | tar -x -C "$copy"
echo "test-stress: clean copy of $(git rev-parse --short HEAD) in $copy"

round() { # label, command...
	local label=$1 start end rc=0
	shift
	start=$(date +%s)
	(cd "$copy" && rm -rf build && "$@") >"$copy.log" 2>&1 || rc=$?
	end=$(date +%s)
	printf 'test-stress: %-28s %s in %dm%02ds (load %s)\n' "$label" \
		"$([[ $rc == 0 ]] && echo passed || echo FAILED)" $(((end - start) / 60)) \
		$(((end - start) % 60)) "$(cut -d' ' -f1-3 /proc/loadavg)"
	if [[ $rc != 0 ]]; then
		grep -E 'Failed|\*\*\*|:F:|:E:' "$copy.log" | head -20 || true
		echo "test-stress: the whole log is $copy.log"
		trap - EXIT
		[[ -n $hog ]] && kill "$hog" 2>/dev/null
		exit 1
	fi
	rm -f "$copy.log"
}

stress-ng --cpu $((2 * $(nproc))) --timeout 0 --quiet &
hog=$!
for ((i = 1; i <= rounds; i++)); do
	round "make test, hogs $i/$rounds" make test
done
kill "$hog"
wait "$hog" 2>/dev/null || true
hog=
round "make test, taskset -c 0" taskset -c 0 make test
echo "test-stress: all rounds passed"
