#!/usr/bin/env python3
"""nnU-Net v2 folders through MedSeg's command line, against the project's reference predictor.

    nnunet_cli_test.py --medseg build/bin/medseg --workdir DIR [--slicer build/bin/MedSegSegment]

1. Makes the fixtures once (nnunet_fixture.py make: nnU-Net-layout results folders, test images and
   the labels of nnunet_reference.py, a re-implementation of nnUNetPredictor's steps), cached in
   DIR/fixtures by a stamp of the fixture scripts' contents.
2. Every run in cases.json through `medseg segment --model FOLDER`: same geometry as the input
   (shape and affine), >= 99.5% of voxels equal to the reference, Dice >= 0.99 per label.
3. `medseg model info`, `medseg batch` and the Slicer module MedSegSegment on one folder: batch
   and Slicer give the same labels as segment.
4. Refusals, each a non-zero exit with one line naming the file, and no output written: unknown
   network class, unknown normalization, a missing fold, a cascade configuration, a checkpoint
   without network_weights, a checkpoint of another configuration, weights that do not fit the plans.
Exit 0 when everything holds, 1 otherwise (one line per failure); 77 without Debian's python3-torch
or nibabel (the fixtures need them).
"""
import argparse
import io
import json
import tarfile
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    import nibabel as nib
    import numpy as np
    import torch
except ImportError as e:  # pragma: no cover - a machine without Debian's python3-torch / nibabel
    print(f"skipped: {e}")
    sys.exit(77)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "Helpers"))
from cli_checks import cached_fixtures, check, compare, failures, run, same_labels  # noqa: E402


def make_fixtures(workdir):
    """nnunet_fixture.py make, redone only when a fixture script changed."""
    scripts = [os.path.join(HERE, n) for n in sorted(os.listdir(HERE))
               if n.startswith(("nnunet_fixture", "nnunet_reference")) and n.endswith(".py")]
    return cached_fixtures(workdir, os.path.join(HERE, "nnunet_fixture.py"), scripts)



def segment_args(case, fixtures):
    args = ["segment", "--model", os.path.join(fixtures, case["model"])]
    for p in case["inputs"]:
        args += ["--input", os.path.join(fixtures, p)]
    if case.get("folds"):
        args += ["--folds", ",".join(str(f) for f in case["folds"])]
    if case.get("checkpoint") and case["checkpoint"] != "final":
        args += ["--checkpoint", case["checkpoint"]]
    return args


def parity(medseg, fixtures, workdir):
    cases = json.load(open(os.path.join(fixtures, "cases.json")))["cases"]
    for case in cases:
        out = os.path.join(workdir, "out", case["name"] + ".nii.gz")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        r = run([medseg] + segment_args(case, fixtures) + ["--output", out, "--overwrite", "--quiet"])
        if not check(r.returncode == 0, f"{case['name']}: medseg segment failed: {r.stderr.strip()}"):
            continue
        equal, dice = compare(case["name"], out, os.path.join(fixtures, case["expected"]),
                              os.path.join(fixtures, case["inputs"][0]))
        print(f"{case['name']:<28} {case['configuration']:<11} equal {equal:.4%}  Dice "
              + " ".join(f"{v}:{d:.4f}" for v, d in dice.items()) + f"  {r.seconds:.1f} s")
    return cases


def one_line_refusal(name, r, subject, output):
    lines = [l for l in r.stderr.strip().splitlines() if l.strip()]
    check(r.returncode != 0, f"refusal {name}: exit code 0")
    check(len(lines) == 1, f"refusal {name}: {len(lines)} lines on stderr: {r.stderr.strip()!r}")
    check(subject in r.stderr, f"refusal {name}: the error does not name {subject}: {r.stderr.strip()!r}")
    check(not os.path.exists(output), f"refusal {name}: {output} was written")
    print(f"refused {name:<22} {lines[0] if lines else ''}")


def refusals(medseg, case, fixtures, workdir):
    source = os.path.join(fixtures, case["model"])
    inputs = [os.path.join(fixtures, p) for p in case["inputs"]]
    base = os.path.join(workdir, "refusals")
    shutil.rmtree(base, ignore_errors=True)

    def variant(name, edit):
        # The same layout as nnU-Net's: the folder name carries trainer, plans and configuration.
        folder = os.path.join(base, name, os.path.basename(source))
        shutil.copytree(source, folder)
        edit(folder)
        return folder

    def edit_json(folder, file, change):
        path = os.path.join(folder, file)
        data = json.load(open(path))
        change(data)
        json.dump(data, open(path, "w"), indent=2)

    configuration = case["configuration"]

    def rename_class(plans):
        plans["configurations"][configuration]["architecture"]["network_class_name"] = "my_nets.FancyUNet"

    def rename_normalization(plans):
        plans["configurations"][configuration]["normalization_schemes"] = ["MyNormalization"] * len(case["inputs"])

    def cascade(plans):
        plans["configurations"][configuration]["previous_stage"] = "3d_lowres"

    def checkpoint_edit(change):
        def edit(folder):
            path = os.path.join(folder, "fold_0", "checkpoint_final.pth")
            ckpt = torch.load(path, map_location="cpu")
            change(ckpt)
            torch.save(ckpt, path)
        return edit

    def drop_weights(ckpt):
        del ckpt["network_weights"]

    def other_configuration(ckpt):
        ckpt["init_args"]["configuration"] = "2d"

    def wrong_shape(ckpt):
        key = next(k for k in ckpt["network_weights"] if k.endswith("weight"))
        w = ckpt["network_weights"][key]
        ckpt["network_weights"][key] = torch.zeros((w.shape[0] + 1,) + tuple(w.shape[1:]))

    plans_file = lambda f: os.path.join(f, "plans.json")  # noqa: E731
    ckpt_file = lambda f: os.path.join(f, "fold_0", "checkpoint_final.pth")  # noqa: E731
    checks = [
        ("unknown-network", lambda f: edit_json(f, "plans.json", rename_class), plans_file, [], "PlainConvUNet"),
        ("unknown-normalization", lambda f: edit_json(f, "plans.json", rename_normalization), plans_file, [],
         "MyNormalization"),
        ("missing-fold", lambda f: None, lambda f: os.path.join(f, "fold_7"), ["--folds", "7"], "fold_7"),
        ("cascade", lambda f: edit_json(f, "plans.json", cascade), plans_file, [], "cascade"),
        ("no-weights", checkpoint_edit(drop_weights), ckpt_file, [], "network_weights"),
        ("other-configuration", checkpoint_edit(other_configuration), ckpt_file, [], "configuration"),
        ("weights-do-not-fit", checkpoint_edit(wrong_shape), ckpt_file, [], "shape"),
        ("not-a-checkpoint", lambda f: open(ckpt_file(f), "wb").write(b"not a zip"), ckpt_file, [], "checkpoint"),
    ]
    for name, edit, subject, extra, word in checks:
        folder = variant(name, edit)
        out = os.path.join(base, name, "labels.nii.gz")
        args = [medseg, "segment", "--model", folder, "--output", out, "--quiet"] + extra
        for p in inputs:
            args += ["--input", p]
        r = run(args)
        one_line_refusal(name, r, subject(folder), out)
        check(word in r.stderr, f"refusal {name}: the error does not mention '{word}': {r.stderr.strip()!r}")


def info_batch_slicer(medseg, slicer, case, fixtures, workdir):
    folder = os.path.join(fixtures, case["model"])
    r = run([medseg, "model", "info", folder])
    check(r.returncode == 0 and case["configuration"] in r.stdout and "labels" in r.stdout,
          f"model info: exit {r.returncode}: {r.stdout.strip()} {r.stderr.strip()}")
    reference = os.path.join(workdir, "out", case["name"] + ".nii.gz")
    # One .medseg file from the folder (medseg model pack --from) gives the same labels.
    packed = os.path.join(workdir, "packed.medseg")
    r = run([medseg, "model", "pack", "--from", folder, "--output", packed, "--overwrite"]
            + (["--folds", ",".join(str(f) for f in case["folds"])] if case.get("folds") else []))
    if check(r.returncode == 0, f"model pack --from: exit {r.returncode}: {r.stderr.strip()}"):
        out = os.path.join(workdir, "from-package.nii.gz")
        args = [medseg, "segment", "--model", packed, "--output", out, "--overwrite", "--quiet"]
        for p in case["inputs"]:
            args += ["--input", os.path.join(fixtures, p)]
        r = run(args)
        if check(r.returncode == 0, f"segment with the packed model: {r.stderr.strip()}"):
            same = same_labels(out, reference)
            check(same, "the packed model's labels differ from the folder's")
            print(f"model pack --from            {os.path.getsize(packed) / 1e6:.1f} MB, labels identical: {same}")
        r = run([medseg, "model", "info", packed])
        check(r.returncode == 0 and "hashes verified" in r.stdout, f"model info of the package: {r.stderr.strip()}")
        # A package whose checkpoint was altered is refused before anything is loaded.
        bad = os.path.join(workdir, "tampered.medseg")
        with tarfile.open(packed) as tin, tarfile.open(bad, "w:gz") as tout:
            for m in tin.getmembers():
                data = tin.extractfile(m).read()
                if m.name.endswith(".pth"):
                    data = data[:-1] + bytes([data[-1] ^ 1])
                tout.addfile(m, io.BytesIO(data))
        r = run([medseg, "segment", "--model", bad, "--input", os.path.join(fixtures, case["inputs"][0]),
                 "--output", os.path.join(workdir, "tampered.nii.gz"), "--quiet"])
        one_line_refusal("tampered-package", r, bad, os.path.join(workdir, "tampered.nii.gz"))
        check("SHA-256" in r.stderr, f"tampered package: the error does not name the hash: {r.stderr.strip()}")
    if len(case["inputs"]) == 1:
        batch_out = os.path.join(workdir, "batch")
        shutil.rmtree(batch_out, ignore_errors=True)
        image = os.path.join(fixtures, case["inputs"][0])
        args = [medseg, "batch", "--model", folder, "--input", image, "--output", batch_out, "--quiet"]
        if case.get("folds"):
            args += ["--folds", ",".join(str(f) for f in case["folds"])]
        r = run(args)
        case_id = os.path.basename(image)[:-len(".nii.gz")]
        produced = [p for p in [os.path.join(batch_out, case_id, "labels.nii.gz")] if os.path.exists(p)]
        if check(r.returncode == 0 and len(produced) == 1, f"batch: exit {r.returncode}: {r.stderr.strip()}"):
            same = same_labels(produced[0], reference)
            check(same, "batch: labels differ from medseg segment's")
            print(f"batch                        labels identical to segment's: {same}")
    if slicer and len(case["inputs"]) == 1 and not case.get("folds"):
        out = os.path.join(workdir, "slicer-labels.nii.gz")
        if os.path.exists(out):
            os.remove(out)
        r = run([slicer, folder, os.path.join(fixtures, case["inputs"][0]), out])
        if check(r.returncode == 0, f"Slicer module: exit {r.returncode}: {r.stderr.strip()}"):
            same = same_labels(out, reference)
            check(same, "Slicer module: labels differ from medseg segment's")
            print(f"Slicer MedSegSegment         labels identical to segment's: {same}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--medseg", required=True)
    parser.add_argument("--slicer", help="the MedSegSegment Slicer module (optional)")
    parser.add_argument("--workdir", required=True)
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    fixtures = make_fixtures(args.workdir)
    cases = parity(args.medseg, fixtures, args.workdir)
    first = next(c for c in cases if len(c["inputs"]) == 1 and c["configuration"] == "3d_fullres")
    info_batch_slicer(args.medseg, args.slicer, first, fixtures, args.workdir)
    refusals(args.medseg, first, fixtures, args.workdir)
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("all nnU-Net CLI checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
