#!/bin/sh
# MedSeg inference benchmark against a plain-PyTorch sliding window (Debian python3-torch).
# Usage: bench/bench_inference.sh [--quick] [--repeats N] [--threads N] [--cases 3d,tta,2d,classes] [--json FILE]
# Uses build/bin/medseg (override with MEDSEG=...). Full run: about an hour on 2 cores.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
medseg=${MEDSEG:-"$here/../build/bin/medseg"}
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  echo "bench_inference: needs Debian's python3-torch (apt-get install python3-torch)" >&2
  exit 2
fi
exec /usr/bin/python3 "$here/inference/run_bench.py" --medseg "$medseg" "$@"
