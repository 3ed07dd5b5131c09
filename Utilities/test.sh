#!/usr/bin/env bash
# The whole test suite, as on a fresh machine: install what is missing, configure, build, ctest.
# README's second command and exactly what .ci/run calls.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${MEDSEG_BUILD_DIR:-$root/build}"
jobs="${MEDSEG_JOBS:-$(nproc)}"

bash "$root/Utilities/setup.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMEDSEG_BUILD_TESTING=ON
cmake --build "$build" -j "$jobs"
# Rendering tests need an X server; they are run through xvfb-run by CTest itself. Tests run
# $jobs at a time, so each LibTorch process takes one thread (MedSeg's default would take one per
# core, and OpenMP threads that outnumber the cores wait on each other).
OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" ctest --test-dir "$build" --output-on-failure -j "$jobs"
