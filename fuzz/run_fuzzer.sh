#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time as a meson test:
#   run_fuzzer.sh FUZZER SEED_DIR WORK_DIR [LIBFUZZER_ARGS...]
# The seeds are copied into WORK_DIR/corpus (libFuzzer adds what it finds
# to its first corpus directory, and the source tree must stay untouched);
# crash, leak and timeout inputs land in WORK_DIR/artifacts.
set -euo pipefail
fuzzer=$1 seeds=$2 work=$3
shift 3
rm -rf "$work/corpus"
mkdir -p "$work/corpus" "$work/artifacts"
cp "$seeds"/* "$work/corpus/"
# UB must stop the run even in code built with recoverable UBSan
# (b_sanitize=undefined); caller settings come last and win.
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
# libFuzzer's own failure code is 77, which meson reads as "skipped".
status=0
"$fuzzer" "$work/corpus" -artifact_prefix="$work/artifacts/" -print_final_stats=1 \
  -error_exitcode=1 -timeout_exitcode=1 "$@" || status=$?
if [ "$status" -eq 77 ]; then status=1; fi
exit "$status"
