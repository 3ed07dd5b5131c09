#!/usr/bin/env bash
# The demo: install what is missing, build, and segment the Colin27 T1 MRI from Debian's
# mricron-data with the shipped brain-extraction model (Data/models/brain-extraction.medseg,
# trained by `medseg train`; see Documentation/demo-model.md). Writes the brain mask, a brain
# surface mesh and an overview picture to ./demo-output (or $1).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${MEDSEG_BUILD_DIR:-$root/build}"
out="$(realpath -m "${1:-$PWD/demo-output}")"
input=/usr/share/mricron/templates/ch2.nii.gz
model="$root/Data/models/brain-extraction.medseg"

bash "$root/Utilities/setup.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "$(nproc)" --target medseg MedSegPlugin_unet

mkdir -p "$out/mesh"
echo "demo: segmenting $input with $(basename "$model")"
# The package carries orientation, spacing, normalization, patch size, TTA and post-processing:
# no other flag is needed. The picture is rendered off-screen; VTK needs an X server (xvfb-run).
xvfb-run -a "$build/bin/medseg" segment --model "$model" --input "$input" \
  --output "$out/ch2-brain.nii.gz" --mesh "$out/mesh" --screenshot "$out/ch2-overview.png" --overwrite
echo "demo: brain mask  $out/ch2-brain.nii.gz"
echo "demo: mesh        $out/mesh/"
echo "demo: picture     $out/ch2-overview.png"
