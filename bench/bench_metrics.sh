#!/bin/sh
# Times medseg::EvaluateSegmentation on a generated 256^3 pair with 5 labels.
# Usage: bench/bench_metrics.sh [BUILD_DIR] [SIZE]   (defaults: build, 256)
# Builds the medseg-bench-metrics target (excluded from `all`) in BUILD_DIR and runs it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-"$here/../build"}
size=${2:-256}
ninja -C "$build" -j2 medseg-bench-metrics
/usr/bin/python3 "$here/inference/machine.py" 2>/dev/null || true
"$build/bin/medseg-bench-metrics" "$size"
