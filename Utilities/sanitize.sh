#!/usr/bin/env bash
# Builds MedSeg's unit tests with AddressSanitizer + UndefinedBehaviorSanitizer (GCC) and runs them
# (Documentation/input-validation.md, "Sanitizers").
#
#   bash Utilities/sanitize.sh                      # every module's unit tests (a cold build: about an hour on 2 cores)
#   bash Utilities/sanitize.sh Core PostProcessing  # those modules' unit tests only
#
# Builds build-asan/ (MEDSEG_ASAN_BUILD_DIR) under flock /tmp/medseg-build.lock, so only one build
# runs on the machine at a time: Release with -fsanitize=address,undefined, frame pointers and line
# tables, tcmalloc off (ASan brings its own allocator). Then runs CTest's `unit` tests of the named
# modules with the sanitizers fatal: any report fails its test. Debian's ITK, VTK and LibTorch are
# not instrumented: their code is checked only where MedSeg's calls into it touch memory MedSeg owns.
# Leaks inside those libraries and one known ITK pointer-arithmetic report are suppressed
# (Testing/Sanitizers/lsan.supp, ubsan.supp); nothing in MedSeg's own code is.
# Exits 1 when a test fails, 2 on a usage or build error.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${MEDSEG_ASAN_BUILD_DIR:-$root/build-asan}"
jobs="${MEDSEG_JOBS:-$(nproc)}"
lock=/tmp/medseg-build.lock

modules=()
for arg in "$@"; do
  case "$arg" in
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *)
      if [[ ! -d "$root/Modules/$arg/test" ]]; then
        echo "sanitize.sh: no module '$arg' with unit tests (Modules/<Name>/test)" >&2
        exit 2
      fi
      modules+=("$arg") ;;
  esac
done

# No vptr checks: they need the RTTI of LibTorch classes its shared libraries do not export
# (undefined typeinfo for c10::DynamicType at link time).
flags="-fsanitize=address,undefined -fno-sanitize=vptr -fno-omit-frame-pointer -g1"
(
  flock 9
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMEDSEG_BUILD_TESTING=ON \
    -DMEDSEG_USE_TCMALLOC=OFF -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
    -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
    -DCMAKE_MODULE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
  if [[ ${#modules[@]} -eq 0 ]]; then
    cmake --build "$build" -j "$jobs"
  else
    targets=()
    for m in "${modules[@]}"; do targets+=("MedSeg${m}GTest"); done
    cmake --build "$build" -j "$jobs" --target "${targets[@]}"
  fi
) 9>"$lock" || { echo "sanitize.sh: the build failed" >&2; exit 2; }

# Fatal reports; leaks checked (the suppressions name only libraries MedSeg does not build).
export ASAN_OPTIONS="abort_on_error=1:allocator_may_return_null=1:detect_leaks=1:fast_unwind_on_malloc=0:detect_odr_violation=0:strict_string_checks=1:check_initialization_order=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$root/Testing/Sanitizers/ubsan.supp"
export LSAN_OPTIONS="suppressions=$root/Testing/Sanitizers/lsan.supp:print_suppressions=0"

select=()
if [[ ${#modules[@]} -gt 0 ]]; then
  pattern="$(IFS='|'; echo "${modules[*]}")"
  select=(-R "^(${pattern})\\.")
fi
ctest --test-dir "$build" -L unit "${select[@]}" --output-on-failure -j "$jobs" || exit 1
