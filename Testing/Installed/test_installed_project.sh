#!/usr/bin/env bash
# Installs the build tree into a fresh prefix, builds Examples/SegmentPipeline against it with
# find_package(MedSeg) only, and checks its label map equals `medseg segment`'s on the same input.
set -euo pipefail
build="$1"; source="$2"; work="$build/installed-project-test"
rm -rf "$work"; mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
cmake -S "$source/Examples/SegmentPipeline" -B "$work/example" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix" > "$work/configure.log"
cmake --build "$work/example" > "$work/build.log"

# The Colin27 T1 thresholded by a fixture model, both ways. The two .nii.gz files are compared
# byte for byte: same ITK NIfTI writer and zlib settings, only the temporary name differs.
"$build/bin/medseg-make-fixture-model" threshold "$work/model.pt" 0.0
input=/usr/share/mricron/templates/ch2.nii.gz
"$work/example/segment_pipeline" "$work/model.pt" "$input" "$work/example-labels.nii.gz"
"$work/prefix/bin/medseg" segment --model "$work/model.pt" --input "$input" \
  --output "$work/medseg-labels.nii.gz" --quiet
cmp "$work/example-labels.nii.gz" "$work/medseg-labels.nii.gz"
echo "installed-tree example and medseg segment agree"
