#!/usr/bin/env bash
# Measures a brain-extraction package on every evaluation scan of Documentation/demo-model.md and
# prints one table row per scan: Dice, HD95, volumes, labelled voxels outside the head, wall time.
#
#   bash Utilities/evaluate-demo-model.sh [PACKAGE] [WORK_DIR] [SEGMENT_FLAG...]
#
# PACKAGE defaults to Data/models/brain-extraction.medseg; WORK_DIR (default build/demo-eval) gets
# the evaluation data (medseg-make-demo-data), the predictions and one metrics CSV per scan. Every
# scan but ch2 is held out from training; the unseen subject (Debian's insighttoolkit5-examples,
# KmeansTest_T1UCharRaw.nii.gz) is another person's T1, used for evaluation only.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${MEDSEG_BUILD_DIR:-$root/build}"
package="$(realpath "${1:-$root/Data/models/brain-extraction.medseg}")"
work="$(realpath -m "${2:-$build/demo-eval}")"
flags=("${@:3}") # e.g. --no-crop-to-nonzero: what the package does without its crop
templates=/usr/share/mricron/templates
examples=/usr/share/doc/insighttoolkit5-examples/examples/Data
medseg="$build/bin/medseg"
data="$work/data"

for tool in "$medseg" "$build/bin/medseg-make-demo-data"; do
  [[ -x "$tool" ]] || { echo "evaluate-demo-model: $tool is missing; build with -DMEDSEG_BUILD_TESTING=ON" >&2; exit 1; }
done
mkdir -p "$data" "$work/pred"
if [[ ! -f "$data/ch2-zero-fov-box.nii.gz" || ! -f "$data/unseen-t1-mask.nii.gz" ]]; then
  extra=()
  [[ -f "$examples/KmeansTest_T1RawSkullStrip.nii.gz" ]] && extra=("$examples")
  "$build/bin/medseg-make-demo-data" "$templates" "$data" "${extra[@]}" > /dev/null
fi

# name | image | reference mask
cases=(
  "ch2 (1 mm, the training subject)|$templates/ch2.nii.gz|$data/ch2-mask.nii.gz"
  "ch2 in a zero field of view twice as large|$data/ch2-zero-fov.nii.gz|$data/ch2-zero-fov-mask.nii.gz"
  "held-out ch2better (0.5 mm), rotated 15 degrees, SPL|$data/ch2better-rot15.nii.gz|$data/ch2better-rot15-mask.nii.gz"
  "unseen subject: KmeansTest_T1UCharRaw (2x2x3 mm, LSA)|$examples/KmeansTest_T1UCharRaw.nii.gz|$data/unseen-t1-mask.nii.gz"
)

echo "package: $package${flags[*]:+ (segment flags: ${flags[*]})}"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores"
echo "| scan | Dice | HD95 (mm) | predicted / reference (mL) | labelled outside the original field of view (voxels) | wall (s) |"
echo "|---|---|---|---|---|---|"
for entry in "${cases[@]}"; do
  IFS='|' read -r name image reference <<< "$entry"
  if [[ ! -f "$image" || ! -f "$reference" ]]; then
    echo "| $name | not measured: $(basename "$image") is not installed | | | | |"
    continue
  fi
  id="$(basename "$image" .nii.gz)"
  start=$(date +%s.%N)
  "$medseg" segment --model "$package" --input "$image" --output "$work/pred/$id.nii.gz" --overwrite --quiet \
    "${flags[@]}"
  wall=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
  "$medseg" evaluate --reference "$reference" --prediction "$work/pred/$id.nii.gz" --labels 1 \
    --output-csv "$work/$id.csv" --overwrite --quiet
  outside="-"
  if [[ "$id" == ch2-zero-fov ]]; then
    # |P outside box| = |P| - |P and box|, with |P and box| = Dice(P, box) (|P| + |box|) / 2.
    "$medseg" evaluate --reference "$data/ch2-zero-fov-box.nii.gz" --prediction "$work/pred/$id.nii.gz" --labels 1 \
      --output-csv "$work/$id-box.csv" --overwrite --quiet
    outside=$(awk -F, 'NR == 2 { printf "%.0f", $4 - $8 * ($3 + $4) / 2 }' "$work/$id-box.csv")
  fi
  awk -F, -v name="$name" -v outside="$outside" -v wall="$wall" \
    'NR == 2 { printf "| %s | %.4f | %.1f | %.0f / %.0f | %s | %.1f |\n", name, $8, $11, $6, $5, outside, wall }' \
    "$work/$id.csv"
done
