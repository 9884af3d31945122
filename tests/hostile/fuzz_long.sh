#!/bin/sh
# tests/hostile/fuzz_long.sh — the long fuzz campaign behind `make fuzz-long`.
#
#   fuzz_long.sh FUZZ_BUILD SECONDS BINARY...
#
# Each BINARY (FUZZ_BUILD/fuzz_NAME, built by the makefile) runs on one core
# until it has used SECONDS of CPU time (user + system, measured by
# /usr/bin/time, so that a campaign run under `nice` on a busy machine counts
# only what it really got), or for at most 4 x SECONDS of wall time:
#   corpus      FUZZ_BUILD/work/fuzz_NAME, kept between campaigns, so that
#               runs add up
#   seeds       FUZZ_BUILD/seeds/NAME (mkseeds; pack.py for model)
#   dictionary  tests/fuzz/dict/NAME.dict when it exists
#   crashes     libFuzzer stops at the first one; the run is restarted for
#               the time that remains (at most MAX_CRASHES times, after which
#               the target waits for a fix).  Every crash, leak, timeout or
#               out-of-memory input is minimised (60 s) into
#               tests/fuzz/regressions/NAME/, which tests/e2e/t1200 replays
#               through the real binary (tests/hostile/gen.py).
#   stopping    `touch FUZZ_BUILD/fuzz-long.stop` and send SIGINT to the
#               fuzzers: each records the run it was in and the campaign
#               ends (the stop file is removed when a campaign starts).
# One line per libFuzzer run goes to FUZZ_BUILD/fuzz-long.tsv:
#   date  target  cpu_seconds  executions  cov  ft  corpus  crashes
# (a target's figures are the sums of its lines; cov, ft and corpus are the
# last run's).  A line per target goes to stdout.  Exit status 1 when a
# target crashed.
set -u
B=$1
T=$2
shift 2
MAX_CRASHES=${MAX_CRASHES:-3}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
STOP=$B/fuzz-long.stop
status=0
rm -f "$STOP"
[ -f "$B/fuzz-long.tsv" ] || printf 'date\ttarget\tseconds\texecutions\tcov\tft\tcorpus\tcrashes\n' > "$B/fuzz-long.tsv"
for bin; do
	[ -e "$STOP" ] && break
	name=$(basename "$bin")
	short=${name#fuzz_}
	work=$B/work/$name
	art=$B/artifacts/$name
	reg=$TOP/tests/fuzz/regressions/$short
	mkdir -p "$work" "$art"
	seeds=$B/seeds/$short
	[ -d "$seeds" ] || seeds=
	dict=$TOP/tests/fuzz/dict/$short.dict
	if [ -f "$dict" ]; then dictopt=-dict=$dict; else dictopt=; fi
	left=$T
	wall_left=$((4 * T))
	cpu=0
	execs=0
	crashes=0
	log=$B/$name.long.log
	while [ "$left" -gt 0 ] && [ "$wall_left" -gt 0 ] && [ "$crashes" -lt "$MAX_CRASHES" ] && [ ! -e "$STOP" ]; do
		start=$(date +%s)
		/usr/bin/time -f '%U %S' -o "$log.cpu" \
			"$bin" -max_total_time="$left" -print_final_stats=1 -rss_limit_mb=2048 -timeout=10 \
			$dictopt -artifact_prefix="$art/" "$work" $seeds > "$log.run" 2>&1
		st=$?
		used=$(awk 'END { printf "%d", $1 + $2 + 0.5 }' "$log.cpu")
		cat "$log.run" >> "$log"
		n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log.run" | tail -1)
		crashed=0
		# 72: libFuzzer's exit status for SIGINT, the way a campaign is stopped
		if [ "$st" -ne 0 ] && ! { [ "$st" -eq 72 ] && [ -e "$STOP" ]; }; then
			crashed=1
			crashes=$((crashes + 1))
			status=1
			grep -m1 -E 'ERROR|SUMMARY|deadly|timeout|out-of-memory' "$log.run" | sed "s|^|$name: |"
		fi
		# the last coverage line of the run: "#N DONE cov: C ft: F corp: K/..."
		line=$(grep -E '^#[0-9]+.*cov: ' "$log.run" | tail -1)
		cov=$(printf '%s' "$line" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
		ft=$(printf '%s' "$line" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
		corp=$(printf '%s' "$line" | sed -n 's/.*corp: \([0-9]*\).*/\1/p')
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%MZ)" "$short" "$used" "${n:-0}" \
			"${cov:-?}" "${ft:-?}" "${corp:-?}" "$crashed" >> "$B/fuzz-long.tsv"
		el=$(( $(date +%s) - start ))
		[ "$el" -lt 1 ] && el=1
		[ "$used" -lt 1 ] && used=1
		execs=$((execs + ${n:-0}))
		cpu=$((cpu + used))
		left=$((left - used))
		wall_left=$((wall_left - el))
	done
	rm -f "$log.run" "$log.cpu"
	for a in "$art"/crash-* "$art"/leak-* "$art"/timeout-* "$art"/oom-*; do
		[ -f "$a" ] || continue
		mkdir -p "$reg"
		dest=$reg/$(basename "$a")
		[ -e "$dest" ] && continue
		"$bin" -minimize_crash=1 -max_total_time=60 -timeout=10 -exact_artifact_path="$dest" "$a" \
			> /dev/null 2>&1 || cp "$a" "$dest"
		[ -s "$dest" ] || cp "$a" "$dest"
		echo "$name: new regression input $dest"
	done
	printf '  FUZZ    %s: %ss CPU, %s executions, cov %s, ft %s, corpus %s, %s crash(es)\n' "$short" "$cpu" "$execs" \
		"${cov:-?}" "${ft:-?}" "${corp:-?}" "$crashes"
done
exit $status
