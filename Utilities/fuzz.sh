#!/usr/bin/env bash
# Builds and runs MedSeg's libFuzzer targets (Testing/Fuzz; Documentation/input-validation.md,
# "Fuzzing").
#
#   bash Utilities/fuzz.sh                 # every target for 600 s, one after the other
#   bash Utilities/fuzz.sh 3600 ImageNifti # one target for an hour
#   bash Utilities/fuzz.sh --smoke         # every target ~10 s from its seeds (MEDSEG_FUZZ_SMOKE_SECONDS);
#                                          # stops a target at its first finding
#   bash Utilities/fuzz.sh --seeds         # every target once over each seed and regression input:
#                                          # no mutation, the same result every time (for CI)
#
# Builds build-fuzz/ (clang, ASan + UBSan; override with MEDSEG_FUZZ_BUILD_DIR) under
# flock /tmp/medseg-build.lock, so that only one build runs on the machine at a time. Each run uses
# one process and one core. New corpus entries and crash reproducers go to
# build-fuzz/fuzz-work/<target>/{corpus,artifacts}/ (MEDSEG_FUZZ_WORK_DIR), never into git; the
# seeds in Testing/Fuzz/corpus/<target>/ are only read. A reproducer is replayed with
#   build-fuzz/bin/fuzz/medsegFuzz<target> FILE
# Prints per target: seconds, executions, exec/s, new corpus entries and crashes; exits 1 when a
# target crashed (or leaked, timed out or ran out of memory), 2 on a usage or build error.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${MEDSEG_FUZZ_BUILD_DIR:-$root/build-fuzz}"
work="${MEDSEG_FUZZ_WORK_DIR:-$build/fuzz-work}"
jobs="${MEDSEG_FUZZ_BUILD_JOBS:-2}"
lock=/tmp/medseg-build.lock

# target: -max_len (bytes; the seeds are well under it)
declare -A max_len=(
  [ImageNifti]=4096 [ImageNiftiGz]=4096 [ImageMeta]=4096 [ImageNrrd]=4096 [DicomFolder]=4096
  [TarArchive]=8192 [ColorTable]=2048 [PostProcessingSpec]=256 [ModelJson]=4096
  [TrainingConfig]=4096 [TrainingManifest]=1024 [BatchManifest]=1024 [PluginDescriptor]=256
  [MONAIConfigJson]=4096 [MONAIConfigYaml]=4096 [MONAIExpression]=512)
all_targets=(ImageNifti ImageNiftiGz ImageMeta ImageNrrd DicomFolder TarArchive ColorTable PostProcessingSpec
  ModelJson TrainingConfig TrainingManifest BatchManifest PluginDescriptor MONAIConfigJson MONAIConfigYaml
  MONAIExpression)

smoke=0
seconds=600
targets=()
for arg in "$@"; do
  case "$arg" in
    --smoke) smoke=1 ;;
    --seeds) smoke=2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    ''|*[!0-9]*)
      if [[ -z "${max_len[$arg]:-}" ]]; then
        echo "fuzz.sh: unknown target '$arg' (targets: ${all_targets[*]})" >&2
        exit 2
      fi
      targets+=("$arg") ;;
    *) seconds="$arg" ;;
  esac
done
[[ ${#targets[@]} -gt 0 ]] || targets=("${all_targets[@]}")
[[ $smoke -ne 1 ]] || seconds="${MEDSEG_FUZZ_SMOKE_SECONDS:-10}"
[[ $smoke -ne 2 ]] || seconds=0

for tool in clang clang++ cmake ninja flock; do
  command -v "$tool" >/dev/null || { echo "fuzz.sh: $tool is missing (apt-get install clang libclang-rt-14-dev cmake ninja-build util-linux)" >&2; exit 2; }
done

# --- Build ---------------------------------------------------------------------------------------
if [[ ! -f "$build/build.ninja" ]]; then
  flock "$lock" env CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMEDSEG_BUILD_FUZZERS=ON -DMEDSEG_BUILD_TESTING=OFF -DMEDSEG_BUILD_VISUALIZATION=OFF -DMEDSEG_WITH_MPI=OFF \
    >"$build.configure.log" 2>&1 || { cat "$build.configure.log" >&2; exit 2; }
fi
build_targets=()
for t in "${targets[@]}"; do build_targets+=("medsegFuzz$t"); done
# The lock only when there is something to build: runs do not wait for another folder's build.
if ! ninja -C "$build" -n "${build_targets[@]}" 2>/dev/null | grep -q '^ninja: no work to do'; then
  flock "$lock" ninja -C "$build" -j "$jobs" "${build_targets[@]}" || exit 2
fi

# --- Run -------------------------------------------------------------------------------------------
# Sanitizer findings are reported with a stack; LibTorch's, ITK's and GDCM's own libraries are
# not instrumented (only what MedSeg does with them is seen). MedSeg's readers parse headers in a
# forked child first, as in the tools.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_odr_violation=0}"
# ITK's MetaIO leaks 16 bytes per corrupt compressed MetaImage (Debian's, not instrumented).
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$root/Testing/Fuzz/lsan.supp}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:suppressions=$root/Testing/Fuzz/ubsan.supp}"
scratch_tmp="$(mktemp -d)"
trap 'rm -rf "$scratch_tmp"' EXIT
export TMPDIR="$scratch_tmp" # the targets' scratch files

failed=0
summary=()
for t in "${targets[@]}"; do
  bin="$build/bin/fuzz/medsegFuzz$t"
  seeds="$root/Testing/Fuzz/corpus/$t"
  if [[ $smoke -ge 1 ]]; then
    corpus="$scratch_tmp/corpus-$t" # the smoke's new entries are not kept
    artifacts="$work/smoke/$t"
  else
    corpus="$work/$t/corpus"
    artifacts="$work/$t/artifacts"
  fi
  mkdir -p "$corpus" "$artifacts"
  count_findings() { find "$artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l; }
  before=$(find "$corpus" -type f | wc -l)
  findings_before=$(count_findings)
  log="$work/$t.log"
  echo "== $t: ${seconds} s" >&2
  options=(-max_total_time="$seconds" -max_len="${max_len[$t]}" -timeout=10 -rss_limit_mb=2048
    -close_fd_mask=1 -artifact_prefix="$artifacts/")
  if [[ $smoke -eq 2 ]]; then
    options=(-timeout=10 -rss_limit_mb=2048 -close_fd_mask=1 -artifact_prefix="$artifacts/" -print_final_stats=1
      -runs=0) # the seeds once each, no mutation
  elif [[ $smoke -eq 1 ]]; then
    options+=(-print_final_stats=1) # one process; stops at the first finding
  else
    # One child at a time that libFuzzer restarts after a finding, so the run goes on for the whole
    # time; each finding's input is kept in artifacts/.
    options+=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
  fi
  set +e
  "$bin" "${options[@]}" "$corpus" "$seeds" >"$log" 2>&1
  status=$?
  set -e
  if [[ $smoke -ge 1 ]]; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    time=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  else
    # fork mode: "#RUNS: cov: ... exec/s: N oom/timeout/crash: a/b/c time: Ts ..."
    last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -1)
    runs=$(sed -n 's/^#\([0-9]*\):.*/\1/p' <<<"$last")
    rate=$(sed -n 's/.*exec\/s:\? \([0-9]*\).*/\1/p' <<<"$last")
    time=$(sed -n 's/.* time: \([0-9]*\)s.*/\1/p' <<<"$last")
  fi
  crashes=$(($(count_findings) - findings_before))
  after=$(find "$corpus" -type f | wc -l)
  if [[ $status -ne 0 || $crashes -gt 0 ]]; then
    failed=1
    [[ $crashes -gt 0 ]] || crashes=1
    echo "-- $t: $crashes finding(s) in $artifacts/ (status $status); from $log:" >&2
    grep -E "ERROR|SUMMARY|runtime error|Test unit written|^    #[0-9]+ 0x" "$log" | grep -v "libFuzzer\|fuzzer::\|__sanitizer\|libc_start\|_start " | head -30 >&2 || tail -30 "$log" >&2
  fi
  summary+=("$(printf '%-20s %8s %12s %10s %8s %8s' "$t" "${time:-?}" "${runs:-?}" "${rate:-?}" "$((after - before))" "$crashes")")
done

printf '%-20s %8s %12s %10s %8s %8s\n' target seconds executions exec/s new crashes
printf '%s\n' "${summary[@]}"
exit $failed
