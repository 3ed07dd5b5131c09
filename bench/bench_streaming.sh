#!/bin/sh
# Peak memory of `medseg segment --stream-divisions N` on a 1024 x 1024 x 512 float MetaImage
# (2 GiB uncompressed), against the same run unstreamed; the two label maps must be identical.
# Usage: bench/bench_streaming.sh [DIVISIONS] [WORKDIR]   (defaults: 16, /tmp/medseg-stream-bench)
# Needs Debian's python3-torch (to write the volume and a small TorchScript model) and ~6 GiB
# of free disk. Takes a few minutes on 2 cores.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
medseg=${MEDSEG:-"$here/../build/bin/medseg"}
divisions=${1:-16}
work=${2:-/tmp/medseg-stream-bench}
mkdir -p "$work"
/usr/bin/python3 "$here/inference/machine.py"
/usr/bin/python3 "$here/inference/make_streaming_case.py" "$work"
run() { # label, extra args...
  label=$1; shift
  /usr/bin/time -v "$medseg" segment --model "$work/stream.medseg" --input "$work/big.mha" --overwrite --quiet \
    --threads 1 "$@" 2> "$work/$label.time"
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/$label.time")
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$work/$label.time")
  echo "$label: peak RSS $((rss / 1024)) MiB, wall $wall"
}
echo "volume: 1024 x 1024 x 512 float32 MetaImage ($(du -m "$work/big.mha" | cut -f1) MiB)"
run "streamed ($divisions divisions)" --output "$work/streamed.nii" --stream-divisions "$divisions"
run "unstreamed" --output "$work/whole.nii"
if cmp -s "$work/streamed.nii" "$work/whole.nii"; then
  echo "label maps: identical (byte for byte)"
else
  echo "label maps: DIFFER" >&2
  exit 1
fi
