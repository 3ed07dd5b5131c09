#!/usr/bin/python3
"""Self-check: MONAI's own bundle inference vs monai_reference.py vs MedSeg, on every fixture run.

    monai_upstream_check.py --medseg BIN --workdir DIR [--fixture DIR] [--iters N]

Exit 77 when ../shared/reference (or its monai-upstream.tar.gz) is absent.  Otherwise: makes the
fixture (monai_fixture.py make, unless --fixture names one), then for every run

  * MONAI (upstream, CPU): ConfigParser reads the bundle's inference.json/yaml (bundle_root,
    datalist and output_dir overridden, device cpu), and its own parsed "network" (network_def is
    "$torch.jit.load(@bundle_root + '/models/model.ts')", so the TorchScript file; then
    models/model.pt loaded into it, as the CheckpointLoader handler would), "dataloader" (->
    "dataset" -> "preprocessing"), "inferer" and "postprocessing" run as SupervisedEvaluator runs
    them (its _iteration under eval_mode/no_grad, then decollate_batch and
    engines.utils.engine_apply_transform with the postprocessing, whose SaveImaged writes the file).
    SupervisedEvaluator/CheckpointLoader themselves are ignite Engines/handlers and pytorch-ignite
    is not installed in Debian, so that loop is done here; nothing else is replaced.
  * reference: monai_reference.predict (numpy/scipy + the TorchScript model.ts).
  * MedSeg, if BIN runs (`BIN --version` exits 0): BIN segment --model BUNDLE --input I --output O,
    against MONAI's result with the acceptance thresholds (>= 99.5 % voxels equal, Dice >= 0.99 per
    label, same shape and affine); every refusal case must exit non-zero and write nothing.

Refusal cases (cases.json expect "refuse"): unsupported_refused must be refused by the reference
too; the others (missing_model, channel_mismatch, label_mismatch, python_code) are MedSeg's own
policy, so only what MONAI does with them is reported (it crashes on the missing model.ts and runs
the rest).

Reports to stdout and DIR/report.json.  Exit 0 when, for every run, reference vs MONAI is >= 99.9 %
equal with Dice >= 0.99 per label and the fixture's expected/ file meets the acceptance thresholds
against MONAI (and MedSeg, when it runs, meets them too), 1 otherwise.  The reference judged is the
one with MONAI's own resampling coordinates (torch affine_grid, as the fixture's expected/ files are
made); the exact-numpy one is reported beside it (it differs by the "dust" of NOTES.md where
NormalizeIntensityd(nonzero) follows a bilinear Spacingd: mri_las, zoo_ras_short).
"""
import argparse
import json
import os
import subprocess
import sys
import tarfile
import time
import warnings

import nibabel
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
REFERENCE_DIR = os.environ.get("MEDSEG_REFERENCE_DIR",
                               os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "reference")))
TARBALL = os.path.join(REFERENCE_DIR, "monai-upstream.tar.gz")
REF_MIN = 0.999
ACCEPT_VOX, ACCEPT_DICE = 0.995, 0.99


def setup_monai(workdir):
    src = os.path.join(workdir, "monai_upstream")
    if not os.path.exists(os.path.join(src, "monai", "__init__.py")):
        os.makedirs(src, exist_ok=True)
        with tarfile.open(TARBALL) as t:
            t.extractall(src)
    sys.path.insert(0, src)
    stubs = os.path.join(HERE, "stubs")
    if os.path.isdir(stubs):
        sys.path.insert(1, stubs)
    import monai
    return monai


def agreement(a, b, aff_a, aff_b):
    res = dict(same_shape=a.shape == b.shape, same_affine=bool(np.allclose(aff_a, aff_b, atol=1e-4)))
    if not res["same_shape"]:
        return res
    res["voxels_equal"] = float(np.mean(a == b))
    dice = {}
    for lab in sorted(set(np.unique(a).tolist()) | set(np.unique(b).tolist())):
        if lab == 0:
            continue
        x, y = a == lab, b == lab
        dice[str(int(lab))] = float(2 * np.sum(x & y) / max(np.sum(x) + np.sum(y), 1))
    res["dice"] = dice
    res["differing_voxels"] = int(np.sum(a != b))
    return res


def monai_run(bundle, config, image, out_dir):
    """Upstream MONAI, as SupervisedEvaluator would run the bundle's config (see module doc)."""
    import torch
    from monai.bundle import ConfigParser
    from monai.data import decollate_batch
    from monai.engines.utils import engine_apply_transform
    parser = ConfigParser()
    parser.read_config(config)
    parser["bundle_root"] = bundle
    parser["datalist"] = [image]
    parser["output_dir"] = out_dir
    parser["device"] = "$torch.device('cpu')"
    parser["dataloader"]["num_workers"] = 0
    if parser.get("initialize") is not None:  # "$monai.utils.set_determinism(seed=123)"
        parser.get_parsed_content("initialize")
    net = parser.get_parsed_content("network")  # network_def: torch.jit.load(model.ts)
    info = dict(network_type=type(net).__name__)
    net.load_state_dict(torch.load(os.path.join(bundle, "models", "model.pt"), map_location="cpu"))
    loader = parser.get_parsed_content("dataloader")
    inferer = parser.get_parsed_content("inferer")
    post = parser.get_parsed_content("postprocessing")
    ts = torch.jit.load(os.path.join(bundle, "models", "model.ts"), map_location="cpu")
    info["inferer"] = {k: getattr(inferer, k) for k in ("roi_size", "sw_batch_size", "overlap", "mode",
                                                        "sigma_scale") if hasattr(inferer, k)}
    net.eval()
    for batch in loader:
        inputs = batch["image"]
        with torch.no_grad():
            pred = inferer(inputs, net)
            info["ts_vs_pt_max_abs"] = float((inferer(inputs, ts) - pred).abs().max())
        info["pre"] = inputs[0].numpy().copy()
        info["pre_affine"] = np.asarray(inputs.affine[0] if inputs.affine.ndim == 3 else inputs.affine)
        info["raw"] = pred[0].numpy().copy()
        output = {"image": inputs, "label": None, "pred": pred}
        bs, os_ = decollate_batch(batch, detach=True), decollate_batch(output, detach=True)
        for b, o in zip(bs, os_):
            b, o = engine_apply_transform(b, o, post)
            info["pred_mem"] = o["pred"][0].numpy()
    name = os.path.basename(image).split(".")[0]
    saved = os.path.join(out_dir, f"{name}_trans.nii.gz")
    if not os.path.exists(saved):  # SaveImaged separate_folder (its default): out_dir/<name>/<name>_trans
        saved = os.path.join(out_dir, name, f"{name}_trans.nii.gz")
    img = nibabel.load(saved)
    info["saved"] = saved
    return np.asarray(img.dataobj), img.affine, info


def medseg_runs(binary):
    try:
        return subprocess.run([binary, "--version"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--medseg", required=True, help="MedSeg binary (e.g. /bin/false to check the reference only)")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--fixture", default=None, help="an existing monai_fixture.py output (default: make one)")
    ap.add_argument("--iters", type=int, default=None, help="monai_fixture.py make --iters (default: its own)")
    ap.add_argument("--torch-grid", action="store_true",
                    help="reference resamples with torch affine_grid coordinates (see monai_reference.TORCH_GRID)")
    a = ap.parse_args(argv)
    if not os.path.isdir(REFERENCE_DIR) or not os.path.exists(TARBALL):
        print(f"monai_upstream_check: {TARBALL} absent; skipping", file=sys.stderr)
        return 77
    warnings.filterwarnings("ignore")
    os.makedirs(a.workdir, exist_ok=True)
    t0 = time.time()
    monai = setup_monai(a.workdir)
    import torch
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    import monai_reference as ref
    ref.TORCH_GRID = ref.TORCH_GRID or a.torch_grid
    report_grid = "torch affine_grid" if ref.TORCH_GRID else "exact numpy"
    fixture = a.fixture
    timings = {}
    if fixture is None:
        import monai_fixture
        fixture = os.path.join(a.workdir, "fixture")
        t = time.time()
        rc = monai_fixture.main(["make", "--out", fixture] + ([] if a.iters is None else ["--iters", str(a.iters)]))
        if rc != 0:
            return rc
        ref.TORCH_GRID = a.torch_grid  # make() switches it on for the expected files
        timings["make_s"] = round(time.time() - t, 1)
    cases = json.load(open(os.path.join(fixture, "cases.json")))["cases"]
    run_medseg = medseg_runs(a.medseg)
    report, ok = dict(monai_version=monai.__version__, reference_grid=report_grid, medseg=a.medseg, medseg_ran=run_medseg, runs=[]), True
    for c in cases:
        bundle = os.path.join(fixture, c["bundle"])
        config = os.path.join(fixture, c["config"])
        image = os.path.join(fixture, c["inputs"][0])
        r = dict(name=c["name"], expect=c["expect"])
        # reference
        t = time.time()
        trace = {}
        try:
            rl, raff, _ = ref.predict(bundle, image, config, trace=trace)
            r["reference"] = "labels"
        except ref.Unsupported as e:
            rl, r["reference"] = None, f"refused: {e}"
        except Exception as e:  # noqa: BLE001 - missing_model: torch.jit.load fails (MedSeg's refusal cases)
            if c["expect"] != "refuse":
                raise
            rl, r["reference"] = None, f"failed: {type(e).__name__}: {' '.join(str(e).split())[:200]}"
        r["reference_s"] = round(time.time() - t, 2)
        if c["expect"] == "refuse":
            r["refusal_kind"] = c.get("refusal_kind")
            # only the unsupported transform is the reference's to refuse; the rest is MedSeg's policy
            r["pass"] = rl is None if c.get("refusal_kind", "unsupported_transform") == "unsupported_transform" \
                else True
            try:
                ml, maff, info = monai_run(bundle, config, image, os.path.join(a.workdir, "monai_out", c["name"]))
                r["monai"] = f"ran ({info['network_type']}), labels {np.unique(ml).astype(int).tolist()}"
                same = [x for x in cases if x["expect"] == "labels" and x["inputs"] == c["inputs"]]
                if same:  # the same image through the unbroken bundle (spleen_ras)
                    exp = nibabel.load(os.path.join(fixture, same[0]["expected"]))
                    g = agreement(np.asarray(exp.dataobj), ml, exp.affine, maff)
                    r["monai"] += f", {g.get('voxels_equal', 0):.6f} equal to expected/ of {same[0]['name']}"
            except Exception as e:  # noqa: BLE001 - reported, not judged
                r["monai"] = f"failed: {type(e).__name__}: {' '.join(str(e).split())[:200]}"
        else:
            t = time.time()
            ml, maff, info = monai_run(bundle, config, image, os.path.join(a.workdir, "monai_out", c["name"]))
            r["monai_s"] = round(time.time() - t, 2)
            r["monai_inferer"] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in info["inferer"].items()}
            r["reference_inferer"] = {k: trace["inferer"].get(k) for k in ("roi_size", "sw_batch_size", "overlap",
                                                                           "mode", "sigma_scale")}
            r["monai_network_type"] = info["network_type"]
            r["monai_model_ts_vs_pt_max_abs"] = info["ts_vs_pt_max_abs"]
            same_pre = info["pre"].shape == trace["pre"].shape
            r["preprocessed_shape"] = [list(info["pre"].shape), list(trace["pre"].shape)]
            if same_pre:
                r["preprocessed_max_abs_diff"] = float(np.abs(info["pre"] - trace["pre"]).max())
                r["preprocessed_affine_max_abs_diff"] = float(np.abs(info["pre_affine"] - trace["pre_affine"]).max())
                r["raw_output_max_abs_diff"] = float(np.abs(info["raw"] - trace["raw"]).max())
            r["reference_vs_monai"] = agreement(rl, ml, raff, maff)
            if not ref.TORCH_GRID:  # the same with MONAI's own (torch affine_grid) resampling coordinates
                ref.TORCH_GRID = True
                try:
                    tl, taff, _ = ref.predict(bundle, image, config)
                finally:
                    ref.TORCH_GRID = False
                r["reference_torch_grid_vs_monai"] = agreement(tl, ml, taff, maff)
            r["monai_saved_vs_memory_equal"] = bool(np.array_equal(np.asarray(info["pred_mem"]), ml))
            exp = nibabel.load(os.path.join(fixture, c["expected"]))
            r["expected_file_vs_monai"] = agreement(np.asarray(exp.dataobj), ml, exp.affine, maff)
            g = r.get("reference_torch_grid_vs_monai", r["reference_vs_monai"])  # the grid MONAI uses
            f = r["expected_file_vs_monai"]
            r["pass"] = bool(g["same_shape"] and g["same_affine"] and g["voxels_equal"] >= REF_MIN
                             and all(d >= ACCEPT_DICE for d in g["dice"].values())
                             and f["same_shape"] and f["same_affine"] and f["voxels_equal"] >= ACCEPT_VOX
                             and all(d >= ACCEPT_DICE for d in f["dice"].values()))
        if run_medseg:
            out = os.path.join(a.workdir, "medseg_out", c["name"] + ".nii.gz")
            if os.path.exists(out):
                os.remove(out)
            os.makedirs(os.path.dirname(out), exist_ok=True)
            t = time.time()
            p = subprocess.run([a.medseg, "segment", "--model", bundle, "--input", image, "--output", out],
                               capture_output=True, text=True, timeout=600)
            r["medseg_s"] = round(time.time() - t, 2)
            r["medseg_rc"] = p.returncode
            if c["expect"] == "refuse":
                r["medseg_pass"] = p.returncode != 0 and not os.path.exists(out)
            elif p.returncode != 0 or not os.path.exists(out):
                r["medseg_pass"], r["medseg_stderr"] = False, p.stderr[-2000:]
            else:
                mi = nibabel.load(out)
                g = agreement(np.asarray(mi.dataobj), ml, mi.affine, maff)
                r["medseg_vs_monai"] = g
                r["medseg_pass"] = bool(g["same_shape"] and g["same_affine"] and g["voxels_equal"] >= ACCEPT_VOX
                                        and all(d >= ACCEPT_DICE for d in g["dice"].values()))
            ok = ok and r["medseg_pass"]
        ok = ok and r["pass"]
        report["runs"].append(r)
        g = r.get("reference_vs_monai", {})
        line = f"{c['name']:22s} {'PASS' if r['pass'] else 'FAIL'}"
        if g:
            line += (f"  ref vs MONAI: voxels equal {g.get('voxels_equal', 0):.6f} ({g.get('differing_voxels')} differ)"
                     f" dice {g.get('dice')} affine {g['same_affine']}"
                     f"  | pre diff {r.get('preprocessed_max_abs_diff', 'n/a'):.2e}"
                     f" raw diff {r.get('raw_output_max_abs_diff', float('nan')):.2e}")
            if "reference_torch_grid_vs_monai" in r:
                line += f" | torch-grid ref: {r['reference_torch_grid_vs_monai'].get('voxels_equal', 0):.6f}"
            line += f" | expected/: {r['expected_file_vs_monai'].get('voxels_equal', 0):.6f}"
        else:
            line += f"  reference {r['reference']}; MONAI {r['monai']}"
        if run_medseg:
            line += f"  | MedSeg {'PASS' if r['medseg_pass'] else 'FAIL'}"
            if "medseg_vs_monai" in r:
                m = r["medseg_vs_monai"]
                line += f" {m.get('voxels_equal', 0):.6f} ({m.get('differing_voxels')} differ)"
        print(line, flush=True)
    timings["total_s"] = round(time.time() - t0, 1)
    report["timings"] = timings
    if not run_medseg:
        print(f"MedSeg: '{a.medseg} --version' did not run; MedSeg vs MONAI not checked")
    with open(os.path.join(a.workdir, "report.json"), "w") as f:
        json.dump(report, f, indent=2)
    print(f"timings: {timings}; report: {os.path.join(a.workdir, 'report.json')}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
