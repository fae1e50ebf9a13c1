#!/usr/bin/env bash
# The long fuzzing campaign of docs/fuzzing.md: every target, one at a time,
# for RUNS executions each from its seed corpus, at the lowest CPU priority.
#   fuzz/long_run.sh BUILD_DIR [RUNS] [TARGET...]
# BUILD_DIR is a clang build with the fuzz targets (docs/fuzzing.md); RUNS
# defaults to 10000000, TARGET to all four. Work directories, grown corpora
# and any finding go to BUILD_DIR/long/TARGET; one summary line per target is
# printed (and kept in BUILD_DIR/long/summary.txt). Stops at the first
# target that finds something. MAX_SECONDS=N in the environment also caps
# each target's run at N seconds (libFuzzer's -max_total_time), for a
# machine too busy to reach RUNS in the time there is. JOBS=N runs libFuzzer
# in fork mode with N worker processes (one per core), which shares RUNS
# between them and, as a single process does, stops at the first crash,
# timeout or out-of-memory (fork mode's own default skips the last two, and
# counts a crash as a timeout when both exit with 1); it reports no peak RSS.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  [ $# -lt 1 ] && exit 2 || exit 0
fi
build=$1
runs=${2:-10000000}
shift $(( $# >= 2 ? 2 : 1 ))
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(bcfg differential handoff toml)
declare -A dicts=([bcfg]=bcfg.dict [differential]=bcfg.dict [handoff]=handoff.dict [toml]=toml.dict)
mkdir -p "$build/long"
summary="$build/long/summary.txt"
commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
for t in "${targets[@]}"; do
  exe="$build/fuzz/fuzz-$t"
  if [ ! -x "$exe" ]; then echo "long_run.sh: $exe is not built" >&2; exit 2; fi
  work="$build/long/$t"
  log="$work.log"
  start=$(date +%s)
  status=0
  nice -n 19 "$here/run_fuzzer.sh" "$exe" "$here/corpus/$t" "$work" \
    -runs="$runs" ${MAX_SECONDS:+-max_total_time=$MAX_SECONDS} ${JOBS:+-fork=$JOBS -ignore_timeouts=0 -ignore_ooms=0 -ignore_crashes=0} -rss_limit_mb=2048 -timeout=10 -dict="$here/dict/${dicts[$t]}" \
    >"$log" 2>&1 || status=$?
  secs=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  if [ -n "${JOBS:-}" ]; then
    # Fork mode prints no final stats; its last progress line has the totals:
    #   #EXECS: cov: C ft: F corp: N exec/s R oom/timeout/crash: O/T/X time: Ss ...
    last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -1)
    execs=$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$last")
    rate=$(( ${execs:-0} / (secs > 0 ? secs : 1) ))
  fi
  files=$(find "$work/corpus" -type f | wc -l)
  bytes=$(du -sb "$work/corpus" | cut -f1)
  findings=$(find "$work/artifacts" -type f | wc -l)
  line="$t commit=$commit runs_asked=$runs max_seconds=${MAX_SECONDS:-none} jobs=${JOBS:-1} status=$status execs=${execs:-?} exec/s=${rate:-?} time=${secs}s corpus=${files}files/${bytes}B peak_rss=${rss:-?}MB findings=$findings"
  echo "$line" | tee -a "$summary"
  if [ "$status" -ne 0 ] || [ "$findings" -ne 0 ]; then
    echo "long_run.sh: $t found something; see $log and $work/artifacts" >&2
    exit 1
  fi
done
