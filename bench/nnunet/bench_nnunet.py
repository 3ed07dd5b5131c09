#!/usr/bin/env python3
"""nnU-Net v2 model folder: `medseg segment` against the project's Python re-implementation of
nnUNetPredictor (Testing/NNUNet/nnunet_reference.py: numpy/scipy/skimage + PyTorch, the same steps
as upstream) and, where ../shared/reference holds nnU-Net's own code, against nnU-Net itself.

    bench/nnunet/bench_nnunet.py --medseg build/bin/medseg [--size 96] [--repeats 3] [--threads 2]

One fixture model (Testing/NNUNet/nnunet_fixture.py, case sphere3d: PlainConvUNet 3d_fullres,
2 folds, mirroring over 3 axes) on a phantom of SIZE^3 voxels at the plans' spacing. Runs are
interleaved (medseg, medseg one patch per call, reference, ...), whole processes, the same thread count; wall time
and peak RSS are medians. Prints the machine first: the ratios depend on the CPU.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench", "inference"))
sys.path.insert(0, os.path.join(ROOT, "Testing", "NNUNet"))

import machine  # noqa: E402

try:
    import nibabel as nib
    import numpy as np
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(2)


def timed(cmd, env):
    """(wall seconds, peak RSS MiB) of one whole process, from GNU time."""
    out = subprocess.run(["/usr/bin/time", "-f", "%e %M"] + [str(c) for c in cmd], capture_output=True, text=True,
                         env=env)
    if out.returncode != 0:
        raise SystemExit(f"failed: {' '.join(map(str, cmd))}\n{out.stderr}")
    wall, rss = out.stderr.strip().splitlines()[-1].split()
    return float(wall), float(rss) / 1024.0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--medseg", required=True)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    print(machine.describe())
    work = args.workdir or tempfile.mkdtemp(prefix="medseg-bench-nnunet-")
    fixtures = os.path.join(work, "fixtures")
    if not os.path.exists(os.path.join(fixtures, "cases.json")):
        subprocess.run([sys.executable, os.path.join(ROOT, "Testing", "NNUNet", "nnunet_fixture.py"), "make",
                        "--out", fixtures, "--cases", "sphere3d"], check=True, capture_output=True)
    case = json.load(open(os.path.join(fixtures, "cases.json")))["cases"][0]
    model = os.path.join(fixtures, case["model"])
    plans = json.load(open(os.path.join(model, "plans.json")))
    spacing = plans["configurations"]["3d_fullres"]["spacing"]  # array order (k, j, i)
    patch = plans["configurations"]["3d_fullres"]["patch_size"]

    # A phantom of nested spheres with noise at the plans' spacing (nothing to resample).
    n = args.size
    rng = np.random.default_rng(7)
    zz, yy, xx = np.meshgrid(*[np.arange(n) - n / 2 for _ in range(3)], indexing="ij")
    r = np.sqrt(zz ** 2 + yy ** 2 + xx ** 2) / (n / 2)
    image = np.where(r < 0.45, 2.0, np.where(r < 0.7, 1.0, 0.2)) + rng.normal(0, 0.15, r.shape)
    affine = np.diag([spacing[2], spacing[1], spacing[0], 1.0])
    scan = os.path.join(work, "phantom.nii.gz")
    nib.save(nib.Nifti1Image(image.transpose(2, 1, 0).astype(np.float32), affine), scan)

    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    medseg = [args.medseg, "segment", "--model", model, "--input", scan, "--output",
              os.path.join(work, "medseg.nii.gz"), "--overwrite", "--quiet", "--threads", str(args.threads)]
    reference = [sys.executable, os.path.join(ROOT, "Testing", "NNUNet", "nnunet_reference.py"), "predict",
                 "--model", model, "--input", scan, "--output", os.path.join(work, "reference.nii.gz")]
    variants = {
        "medseg segment": medseg,
        "medseg segment --batch-size 1": medseg + ["--batch-size", "1"],
        "nnunet_reference.py (Python, torch)": reference,
    }
    results = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, cmd in variants.items():
            results[name].append(timed(cmd, env))
    a = np.asarray(nib.load(os.path.join(work, "medseg.nii.gz")).dataobj)
    b = np.asarray(nib.load(os.path.join(work, "reference.nii.gz")).dataobj)
    print(f"model: {case['model']} (patch {patch}, folds {case['folds']}, mirroring), image {n}^3 voxels, "
          f"{args.threads} threads, {args.repeats} interleaved rounds, medians")
    print(f"{'run':<38} {'wall s':>8} {'peak RSS MiB':>13} {'wall / reference':>17}")
    med = {k: (statistics.median(w for w, _ in v), statistics.median(m for _, m in v)) for k, v in results.items()}
    ref_wall = med["nnunet_reference.py (Python, torch)"][0]
    for name, (wall, rss) in med.items():
        print(f"{name:<38} {wall:>8.2f} {rss:>13.0f} {wall / ref_wall:>16.2f}x")
    print(f"labels equal: {(a == b).mean():.4%} of voxels")


if __name__ == "__main__":
    main()
