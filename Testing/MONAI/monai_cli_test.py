#!/usr/bin/env python3
"""MONAI bundles (Model Zoo layout) through MedSeg's command line, against the project's reference.

    monai_cli_test.py --medseg build/bin/medseg --workdir DIR [--slicer build/bin/MedSegSegment]

1. Makes the fixtures once (monai_fixture.py make: bundles with configs/metadata.json,
   configs/inference.json|yaml and models/model.ts, test images, and the labels of
   monai_reference.py, a re-implementation of MONAI's bundle inference), cached in DIR/fixtures by a
   stamp of the fixture scripts' contents.
2. Every labelled run in cases.json through `medseg segment --model BUNDLE --input IMAGE --output O`
   (the bundle folder, recognised by its configs/metadata.json; no other option): the input's
   spatial shape and affine (nibabel, atol 1e-4), >= 99.5% of voxels equal to expected/, Dice >= 0.99
   per label.
3. `medseg model info BUNDLE`
   prints JSON naming the bundle's labels (metadata.json's outputs.pred.channel_def but "0");
   `medseg batch` and the Slicer module MedSegSegment on one bundle give the same labels as segment.
4. Refusals (cases.json expect "refuse"): an unsupported transform (RandGaussianNoised, named in
   the error), a missing models/model.ts, metadata.json's input or output channel count not matching
   the config and model, a Python expression in the config.  Each: a non-zero exit, one line on
   stderr naming the bundle (its folder or a file in it), and no output written.
Exit 0 when everything holds, 1 otherwise (one line per failure); 77 without Debian's python3-torch
or nibabel (the fixtures need them).
"""
import argparse
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
HELPERS = os.path.join(os.path.dirname(HERE), "Helpers")
try:
    import nibabel  # noqa: F401 - the checks read label maps with it
    import numpy  # noqa: F401
    import torch  # noqa: F401 - the fixture trains and scripts its networks with it
except ImportError as e:  # pragma: no cover - a machine without Debian's python3-torch / nibabel
    print(f"skipped: {e}")
    sys.exit(77)
sys.path.insert(0, HELPERS)
from cli_checks import cached_fixtures, check, compare, failures, run, same_labels  # noqa: E402


def make_fixtures(workdir):
    """monai_fixture.py make, redone only when a fixture script changed."""
    scripts = [os.path.join(HERE, n) for n in sorted(os.listdir(HERE))
               if n.startswith(("monai_fixture", "monai_reference")) and n.endswith(".py")]
    return cached_fixtures(workdir, os.path.join(HERE, "monai_fixture.py"),
                           scripts + [os.path.join(HELPERS, "fixture_geometry.py")])



def parity(medseg, fixtures, workdir, cases):
    for case in cases:
        if case["expect"] != "labels":
            continue
        out = os.path.join(workdir, "out", case["name"] + ".nii.gz")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        if os.path.exists(out):
            os.remove(out)
        image = os.path.join(fixtures, case["inputs"][0])
        r = run([medseg, "segment", "--model", os.path.join(fixtures, case["bundle"]), "--input", image,
                 "--output", out])
        if not check(r.returncode == 0 and os.path.exists(out),
                     f"{case['name']}: medseg segment failed (exit {r.returncode}): {r.stderr.strip()}"):
            continue
        equal, dice = compare(case["name"], out, os.path.join(fixtures, case["expected"]), image)
        print(f"{case['name']:<22} {case['bundle']:<14} equal {equal:.4%}  Dice "
              + " ".join(f"{v}:{d:.4f}" for v, d in dice.items()) + f"  {r.seconds:.1f} s")


def strings_in(value):
    """Every string (keys and values) in parsed JSON."""
    if isinstance(value, dict):
        return {str(k) for k in value} | set().union(*[strings_in(v) for v in value.values()])
    if isinstance(value, list):
        return set().union(set(), *[strings_in(v) for v in value])
    return {value} if isinstance(value, str) else set()


def model_info(medseg, fixtures, bundles):
    for name in bundles:
        folder = os.path.join(fixtures, name)
        meta = json.load(open(os.path.join(folder, "configs", "metadata.json")))
        channel_def = meta["network_data_format"]["outputs"]["pred"]["channel_def"]
        labels = [v for k, v in channel_def.items() if str(k) != "0"]  # "0" is the background
        r, form = run([medseg, "model", "info", folder]), "BUNDLE"
        if not check(r.returncode == 0, f"model info {name}: exit {r.returncode}: {r.stderr.strip()}"):
            continue
        try:
            info = json.loads(r.stdout)
        except ValueError as e:
            check(False, f"model info {name}: stdout is not JSON ({e}): {r.stdout.strip()[:300]!r}")
            continue
        found = strings_in(info)
        missing = [label for label in labels if label not in found]
        check(not missing, f"model info {name}: the JSON does not name the label(s) {missing}")
        print(f"model info {form:<14} {name:<13} JSON, labels {labels}")


def batch_slicer(medseg, slicer, case, fixtures, workdir):
    folder = os.path.join(fixtures, case["bundle"])
    image = os.path.join(fixtures, case["inputs"][0])
    reference = os.path.join(workdir, "out", case["name"] + ".nii.gz")
    if not check(os.path.exists(reference), f"batch/Slicer: no segment output for {case['name']} to compare with"):
        return
    batch_out = os.path.join(workdir, "batch")
    shutil.rmtree(batch_out, ignore_errors=True)
    r = run([medseg, "batch", "--model", folder, "--input", image, "--output", batch_out, "--quiet"])
    case_id = os.path.basename(image)[:-len(".nii.gz")]
    produced = [p for p in [os.path.join(batch_out, case_id, "labels.nii.gz")] if os.path.exists(p)]
    if check(r.returncode == 0 and len(produced) == 1, f"batch: exit {r.returncode}: {r.stderr.strip()}"):
        same = same_labels(produced[0], reference)
        check(same, "batch: labels differ from medseg segment's")
        print(f"batch {case['bundle']:<22} labels identical to segment's: {same}")
    if slicer:
        out = os.path.join(workdir, "slicer-labels.nii.gz")
        if os.path.exists(out):
            os.remove(out)
        r = run([slicer, folder, image, out])
        if check(r.returncode == 0 and os.path.exists(out), f"Slicer module: exit {r.returncode}: {r.stderr.strip()}"):
            same = same_labels(out, reference)
            check(same, "Slicer module: labels differ from medseg segment's")
            print(f"Slicer MedSegSegment {case['bundle']:<7} labels identical to segment's: {same}")


def refusals(medseg, fixtures, workdir, cases):
    base = os.path.join(workdir, "refusals")
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    for case in cases:
        if case["expect"] != "refuse":
            continue
        name = case["name"]
        folder = os.path.join(fixtures, case["bundle"])
        out = os.path.join(base, name + ".nii.gz")
        r = run([medseg, "segment", "--model", folder, "--input", os.path.join(fixtures, case["inputs"][0]),
                 "--output", out])
        lines = [line for line in r.stderr.strip().splitlines() if line.strip()]
        check(r.returncode != 0, f"refusal {name}: exit code 0")
        check(len(lines) == 1, f"refusal {name}: {len(lines)} lines on stderr: {r.stderr.strip()!r}")
        named = folder in r.stderr or os.path.realpath(folder) in r.stderr
        check(named, f"refusal {name}: the error does not name the bundle {folder} "
                     f"(e.g. {os.path.join(fixtures, case['refusal_file'])}): {r.stderr.strip()!r}")
        for word in case.get("refusal_names") or []:
            check(word in r.stderr, f"refusal {name}: the error does not mention '{word}': {r.stderr.strip()!r}")
        check(not os.path.exists(out), f"refusal {name}: {out} was written")
        print(f"refused {name:<20} {lines[0] if lines else ''}")
    # Options the bundle's config fixes are usage errors (exit 2), before anything is read.
    spleen = next(c for c in cases if c["expect"] == "labels")
    for option in (["--tta"], ["--fast"], ["--blend", "constant"], ["--crop-to-nonzero"], ["--precision", "bf16"],
                   ["--stream-divisions", "4"], ["--folds", "0"]):
        out = os.path.join(base, "option.nii.gz")
        r = run([medseg, "segment", "--model", os.path.join(fixtures, spleen["bundle"]), "--input",
                 os.path.join(fixtures, spleen["inputs"][0]), "--output", out] + option)
        check(r.returncode == 2 and "MONAI bundle" in r.stderr and not os.path.exists(out),
              f"option {option[0]}: exit {r.returncode}, expected a usage error naming the bundle: {r.stderr.strip()!r}")
        print(f"refused option {option[0]:<14} exit {r.returncode}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--medseg", required=True)
    parser.add_argument("--slicer", help="the MedSegSegment Slicer module (optional)")
    parser.add_argument("--workdir", required=True)
    args = parser.parse_args()
    workdir = os.path.abspath(args.workdir)
    os.makedirs(workdir, exist_ok=True)
    fixtures = make_fixtures(workdir)
    cases = json.load(open(os.path.join(fixtures, "cases.json")))["cases"]
    check(any(c["expect"] == "refuse" for c in cases) and any(c["expect"] == "labels" for c in cases),
          "cases.json: no labelled or no refusal runs")
    parity(args.medseg, fixtures, workdir, cases)
    labelled = [c for c in cases if c["expect"] == "labels"]
    model_info(args.medseg, fixtures, list(dict.fromkeys(c["bundle"] for c in labelled)))
    batch_slicer(args.medseg, args.slicer, labelled[0], fixtures, workdir)
    refusals(args.medseg, fixtures, workdir, cases)
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("all MONAI bundle CLI checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
