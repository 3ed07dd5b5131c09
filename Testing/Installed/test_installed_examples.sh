#!/usr/bin/env bash
# Installs the build tree into a fresh prefix and, with find_package(MedSeg) only, builds and runs
# Examples/SegmentPostprocessEvaluate, Examples/SegmentToMesh and Examples/SegmentNNUNet; checks their outputs against
# the installed `medseg`, and that the installed 3D Slicer modules run from the extension layout.
#   test_installed_examples.sh BUILD_DIR SOURCE_DIR [SLICER_CLI_DIR relative to the prefix]
set -euo pipefail
build="$1"; source="$2"; cli_dir="${3:-}"; work="$build/installed-examples-test"
rm -rf "$work"; mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
for example in SegmentPostprocessEvaluate SegmentToMesh SegmentNNUNet; do
  if [ "$example" = SegmentToMesh ] && ! find "$work/prefix" -name 'MedSegTargets*.cmake' -exec cat {} + | grep -q "MedSeg::Visualization"; then
    echo "MedSeg built without Visualization: $example skipped"; continue
  fi
  cmake -S "$source/Examples/$example" -B "$work/$example" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$work/prefix" > "$work/$example-configure.log"
  cmake --build "$work/$example" > "$work/$example-build.log"
done

input=/usr/share/mricron/templates/ch2.nii.gz
"$build/bin/medseg-make-fixture-model" threshold "$work/model.pt" 0.0

# 1. segmentation -> largest component -> fill holes -> metrics. The reference is the same chain
#    through the installed `medseg`, so the example must agree with it exactly (Dice 1).
"$work/prefix/bin/medseg" segment --model "$work/model.pt" --input "$input" --output "$work/medseg.nii.gz" --quiet
"$work/prefix/bin/medseg" postprocess --input "$work/medseg.nii.gz" --output "$work/reference.nii.gz" \
  --postprocess "largest-component;fill-holes" --quiet
"$work/SegmentPostprocessEvaluate/segment_postprocess_evaluate" "$work/model.pt" "$input" \
  "$work/reference.nii.gz" "$work/example.nii.gz" | tee "$work/evaluate.log"
test -s "$work/example.nii.gz"
grep -q "DeepSegmentationImageFilter: 100%" "$work/evaluate.log"
grep -q "HoleFillingLabelImageFilter: 100%" "$work/evaluate.log"
grep -q "^label 1: Dice 1.0000, IoU 1.0000, HD95 0.0000 mm" "$work/evaluate.log"

# 2. segmentation -> meshes.
if [ -x "$work/SegmentToMesh/segment_to_mesh" ]; then
  "$work/SegmentToMesh/segment_to_mesh" "$work/model.pt" "$input" "$work/meshes" | tee "$work/mesh.log"
  test -s "$work/meshes/meshes.csv"
  test -s "$(ls "$work"/meshes/label_1_*.stl)"
  test -s "$(ls "$work"/meshes/label_1_*.vtp)"
  grep -q "^label 1: [1-9][0-9]* triangles" "$work/mesh.log"
fi

# 3. An nnU-Net v2 folder (the project's fixture, made with Debian's python3-torch) through the
#    installed MedSeg::Frameworks: the same labels as the installed `medseg segment`.
if /usr/bin/python3 -c "import torch, nibabel, scipy" 2>/dev/null; then
  /usr/bin/python3 "$source/Testing/NNUNet/nnunet_fixture.py" make --out "$work/nnunet" --quick --cases sphere3d > "$work/nnunet.log"
  folder="$(ls -d "$work"/nnunet/sphere3d/Dataset*/*/)"
  scan="$work/nnunet/sphere3d/imagesTs/sphere3d_0000.nii.gz"
  "$work/SegmentNNUNet/segment_nnunet" "$folder" "$scan" "$work/nnunet-example.nii.gz" | tee "$work/nnunet-example.log"
  "$work/prefix/bin/medseg" segment --model "$folder" --input "$scan" --output "$work/nnunet-medseg.nii.gz" --quiet
  /usr/bin/python3 -c "import nibabel as n, numpy as np, sys; a, b = (np.asarray(n.load(f).dataobj) for f in sys.argv[1:]); sys.exit(0 if np.array_equal(a, b) else 1)" \
    "$work/nnunet-example.nii.gz" "$work/nnunet-medseg.nii.gz"
  grep -q "3d_fullres (PlainConvUNet, 2 folds)" "$work/nnunet-example.log"
else
  echo "no python3-torch: the nnU-Net example is built but not run"
fi

# 4. The Slicer modules, where Slicer finds them, with their libraries found from there.
if [ -n "$cli_dir" ]; then
  for module in "$work/prefix/$cli_dir"/MedSeg*; do
    "$module" --xml > "$work/$(basename "$module").xml"
    grep -q "<executable>" "$work/$(basename "$module").xml"
  done
  "$work/prefix/$cli_dir/MedSegPostprocess" --postprocess largest-component --returnparameterfile "$work/return.txt" \
    "$work/medseg.nii.gz" "$work/slicer-postprocessed.nrrd"
  grep -q "^maximumLabel = 1$" "$work/return.txt"
fi
echo "installed-tree examples built with find_package(MedSeg) run and agree with medseg"
