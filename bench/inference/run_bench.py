#!/usr/bin/python3
"""MedSeg inference benchmark: `medseg segment` against a plain-PyTorch sliding window.

Runs every variant of a case interleaved (A B C A B C ...), `--repeats` times, each as its own
process under /usr/bin/time -v, and prints medians, ratios to MedSeg, peak RSS and label
agreement, plus this machine's measured conv3d peak (fp32 and bf16) and the fraction of it each
variant reaches. See Documentation/benchmarks.md.

Usage: run_bench.py --medseg build/bin/medseg [--quick] [--repeats 5] [--threads 1]
                    [--cases 3d,tta,2d,classes,crop] [--workdir DIR] [--json results.json]
"""
import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import machine  # noqa: E402
import volume_io  # noqa: E402
import numpy as np  # noqa: E402

PYTHON = "/usr/bin/python3"  # Debian's interpreter, where python3-torch lives
CH2 = "/usr/share/mricron/templates/ch2.nii.gz"
TCMALLOC = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"  # Debian's libtcmalloc-minimal4


def run_timed(command, env=None):
    """Runs `command` under /usr/bin/time -v; returns (wall seconds, peak RSS MiB)."""
    start = time.perf_counter()
    result = subprocess.run(["/usr/bin/time", "-v"] + command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"benchmark: command failed ({result.returncode}): {' '.join(command)}\n{result.stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1)) / 1024.0
    return wall, rss


def window_count(size, patch, overlap):
    size = max(size, patch)
    target = max(1.0, math.floor(patch * (1.0 - overlap)))
    return int(math.ceil((size - patch) / target)) + 1


def make_model(workdir, name, dims, features, classes, patch, calibrate):
    # Cached by everything that shapes the model, so a --quick run never leaves its tiny models to a full one.
    name = f"{name}-f{features.replace(',', '-')}-p{patch}-{os.path.basename(calibrate).split('.')[0]}"
    path = os.path.join(workdir, name + ".pt")
    flops_path = os.path.join(workdir, name + ".flops")
    if not os.path.exists(path):
        subprocess.run([PYTHON, os.path.join(HERE, "bench_models.py"), "--dims", str(dims), "--features", features,
                        "--classes", str(classes), "--patch", str(patch), "--calibrate", calibrate,
                        "--output", path, "--flops-output", flops_path], check=True, capture_output=True)
    with open(flops_path) as f:
        return path, int(f.read())


def make_package(medseg, workdir, name, weights, dims, classes, patch, overlap, batch, mirror):
    package = os.path.join(workdir, name + ".medseg")
    patch_size = [patch, patch, 1] if dims == 2 else [patch] * 3
    metadata = {
        "format": "medseg-model", "format_version": 1, "name": name, "version": "bench",
        "architecture": {"plugin": "torchscript"},
        "input": {"channels": [{"name": "T1", "normalization": "zscore"}], "orientation": "any", "spacing": None,
                  "spatial_dims": dims, "slice_axis": 2},
        # No crop to the nonzero box: the reference segments the whole volume, and so must MedSeg for
        # the same work (`model pack` turns the crop on when the metadata do not say).
        "inference": {"patch_size": patch_size, "overlap": overlap, "blend": "gaussian", "batch_size": batch,
                      "mirror_axes": mirror, "tta": bool(mirror), "crop_to_nonzero": False},
        "labels": [{"value": k, "name": f"class{k}", "color": [k % 256, (7 * k) % 256, (13 * k) % 256]}
                   for k in range(max(2, classes))],
    }
    meta_path = os.path.join(workdir, name + ".json")
    with open(meta_path, "w") as f:
        json.dump(metadata, f)
    subprocess.run([medseg, "model", "pack", "--metadata", meta_path, "--weights", weights, "--output", package,
                    "--overwrite"], check=True, capture_output=True)
    return package


def agreement(a_path, b_path):
    a, _ = volume_io.read(a_path)
    b, _ = volume_io.read(b_path)
    if a.shape != b.shape:
        return float("nan")
    return float((a.astype("int64") == b.astype("int64")).mean())


def peak_gflops(threads):
    """Best conv3d throughput of this machine (oneDNN through python3-torch): (fp32, bf16 or None).

    bf16 is None where oneDNN has no bf16 convolution on this CPU (it needs AVX-512BW/VL/DQ; an
    AVX2-only CPU, or ONEDNN_MAX_CPU_ISA=AVX2, refuses it): measured only where the CPU has it.
    """
    code = f"""
import time, torch, torch.utils.mkldnn as mk
torch.set_num_threads({threads})
def best_of(dtype):
    best = 0.0
    for cin, cout, s in [(32, 32, 48), (64, 64, 32), (128, 128, 24)]:
        conv = torch.nn.Conv3d(cin, cout, 3, padding=1).eval()
        flops = 2 * s ** 3 * cin * cout * 27
        m = mk.to_mkldnn(conv, dtype) if dtype != torch.float32 else mk.to_mkldnn(conv)
        x = torch.randn(1, cin, s, s, s)
        x = x.to_mkldnn(dtype) if dtype != torch.float32 else x.to_mkldnn()
        with torch.inference_mode():
            m(x)
            for _ in range(3):
                t = time.perf_counter(); m(x); t = time.perf_counter() - t
                best = max(best, flops / t / 1e9)
    return best
print(best_of(torch.float32))
try:
    print(best_of(torch.bfloat16))
except RuntimeError as e:
    print("unsupported", str(e).splitlines()[0])
"""
    out = subprocess.run([PYTHON, "-c", code], check=True, capture_output=True, text=True).stdout.splitlines()
    fp32 = float(out[0])
    if out[1].startswith("unsupported"):
        return fp32, None, out[1][len("unsupported "):]
    return fp32, float(out[1]), ""


def crop_case(args, volume, threads):
    """The crop to the nonzero box on a zero-background scan: Colin27 in the middle of a zero-filled
    field of view twice as large per axis, segmented with and without the crop (one run each: the
    ratio is far beyond the noise). Labels must be identical inside the head's box."""
    small = "4,8" if args.quick else "8,16,32,64"
    patch = 24 if args.quick else 96
    voxels, spacing = volume_io.read(volume)
    padded = np.zeros(tuple(2 * n for n in voxels.shape), dtype=np.float32)
    lo = tuple(n // 2 for n in voxels.shape)
    inside = tuple(slice(l, l + n) for l, n in zip(lo, voxels.shape))
    padded[inside] = voxels
    padded_path = os.path.join(args.workdir, "ch2-zero-fov.mha")
    volume_io.write_mha(padded_path, padded, spacing)
    weights, flops = make_model(args.workdir, "unet-crop", 3, small, 2, patch, volume)
    package = make_package(args.medseg, args.workdir, "crop", weights, 3, 2, patch, 0.5, 1, [])
    print(f"\n== crop: 3D UNet {small} at {patch}^3 on Colin27 in a zero-filled field of view "
          f"{'x'.join(map(str, padded.shape[::-1]))} (twice as large per axis); one run each")
    rows = {}
    # "no-crop-every-window": also the windows of pure zeros each run through the network (without
    # it they run once and their prediction is reused: the same labels, measured here).
    for tag, flags in (("no-crop-every-window", ["--no-crop-to-nonzero", "--run-constant-windows"]),
                       ("no-crop", ["--no-crop-to-nonzero"]), ("crop", ["--crop-to-nonzero"])):
        output = os.path.join(args.workdir, f"crop-{tag}.nii")
        wall, rss = run_timed([args.medseg, "segment", "--model", package, "--input", padded_path, "--output", output,
                               "--overwrite", "--quiet", "--threads", threads, *flags])
        rows[tag] = {"wall_s": wall, "peak_rss_mib": rss, "output": output}
    # What the crop promises: the padded scan segments as the scan itself does (both cut to the same
    # nonzero box, so the normalization sees the same voxels). Without the crop the zeros enter the
    # z-score statistics and the labels inside change.
    original = os.path.join(args.workdir, "crop-original.nii")
    run_timed([args.medseg, "segment", "--model", package, "--input", volume, "--output", original, "--overwrite",
               "--quiet", "--threads", threads, "--crop-to-nonzero"])
    reference, _ = volume_io.read(original)
    whole, _ = volume_io.read(rows["no-crop"]["output"])
    cropped, _ = volume_io.read(rows["crop"]["output"])
    same_inside = float((reference == cropped[inside]).mean())
    whole_inside = float((reference == whole[inside]).mean())
    outside = np.ones(whole.shape, dtype=bool)
    outside[inside] = False
    speedup = rows["no-crop"]["wall_s"] / rows["crop"]["wall_s"]
    every, _ = volume_io.read(rows["no-crop-every-window"]["output"])
    reuse_speedup = rows["no-crop-every-window"]["wall_s"] / rows["no-crop"]["wall_s"]
    reuse_agreement = float((every == whole).mean())
    for tag, row in rows.items():
        print(f"  {tag:20s} {row['wall_s']:8.2f} s {row['peak_rss_mib']:8.0f} MiB")
    print(f"  without the crop, reusing the constant windows' prediction is {reuse_speedup:.2f}x faster than running "
          f"every window; labels equal: {reuse_agreement * 100:.3f}%")
    print(f"  crop is {speedup:.2f}x faster; inside the original field of view, labels equal to those of the "
          f"scan itself: with the crop {same_inside * 100:.3f}%, without it {whole_inside * 100:.3f}%; labelled "
          f"voxels outside it: with the crop {int((cropped[outside] != 0).sum())}, without it "
          f"{int((whole[outside] != 0).sum())}")
    return {"speedup": speedup, "reuse_speedup": reuse_speedup, "reuse_agreement": reuse_agreement,
            "agreement_inside": same_inside, "agreement_inside_without_crop": whole_inside, **{k: {"wall_s": v["wall_s"],
            "peak_rss_mib": v["peak_rss_mib"]} for k, v in rows.items()}}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--medseg", required=True)
    parser.add_argument("--quick", action="store_true", help="tiny volume and model, 1 repeat: proves it runs")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cases", default="3d,tta,2d,classes,crop")
    parser.add_argument("--workdir", default="/tmp/medseg-bench")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    # The packages below carry batch_size 1: on this CPU one patch per call was faster and lighter
    # than two (see the medseg-batch2 variant).
    repeats = 1 if args.quick else args.repeats
    threads = str(args.threads)

    # The volume: Colin27 (1 mm, 181 x 217 x 181), or a 40^3 crop of it in quick mode.
    volume = CH2
    if args.quick:
        voxels, spacing = volume_io.read(CH2)
        volume = os.path.join(args.workdir, "ch2-crop.mha")
        volume_io.write_mha(volume, voxels[70:110, 90:130, 70:110].astype("float32"), spacing)
    shape = volume_io.read(volume)[0].shape  # z, y, x

    features = "4,8" if args.quick else "16,32,64,128"
    patch3 = 24 if args.quick else 96
    patch2 = 32 if args.quick else 128
    cases = {}
    if "3d" in args.cases:
        cases["3d"] = dict(dims=3, features=features, classes=2, patch=patch3, mirror=[], bf16=True,
                           title=f"3D UNet {features} at {patch3}^3, overlap 0.5")
    if "tta" in args.cases:
        cases["tta"] = dict(dims=3, features=features, classes=2, patch=patch3, mirror=[0], bf16=False,
                            title=f"same + mirror TTA over x (2 passes)")
    if "2d" in args.cases:
        cases["2d"] = dict(dims=2, features=features, classes=2, patch=patch2, mirror=[], bf16=False,
                           title=f"2D UNet {features} at {patch2}^2, slice by slice along z")
    results = {"threads": args.threads, "quick": args.quick, "repeats": repeats, "volume": volume,
               "shape_zyx": list(shape), "cases": {}}

    ldd = subprocess.run(["ldd", args.medseg], capture_output=True, text=True).stdout
    links_tcmalloc = "tcmalloc" in ldd
    print(machine.describe())
    print(f"medseg allocator: {'tcmalloc (linked)' if links_tcmalloc else 'glibc, mallopt tuning'}")
    results["machine"] = machine.describe()
    fp32_peak, bf16_peak, bf16_refusal = peak_gflops(args.threads)
    results["peak_gflops"] = {"fp32": fp32_peak, "bf16": bf16_peak}
    bf16_text = (f"bf16 {bf16_peak:.0f} GFLOP/s" if bf16_peak is not None
                 else f"bf16 not measured: oneDNN has no bf16 convolution on this CPU ({bf16_refusal})")
    print(f"machine peak (conv3d, oneDNN, {threads} thread(s)): fp32 {fp32_peak:.0f} GFLOP/s, {bf16_text}")

    for name, case in cases.items():
        weights, flops = make_model(args.workdir, f"unet{case['dims']}d-{case['classes']}", case["dims"],
                                    case["features"], case["classes"], case["patch"], volume)
        package = make_package(args.medseg, args.workdir, f"{name}", weights, case["dims"], case["classes"],
                               case["patch"], 0.5, 1, case["mirror"])
        if case["dims"] == 3:
            patches = math.prod(window_count(s, case["patch"], 0.5) for s in shape)
        else:
            patches = shape[0] * window_count(shape[1], case["patch"], 0.5) * window_count(shape[2], case["patch"], 0.5)
        total_gflop = flops * patches * (2 ** len(case["mirror"])) / 1e9
        ref = [PYTHON, os.path.join(HERE, "reference_segment.py"), "--model", weights, "--input", volume,
               "--patch", str(case["patch"]), "--overlap", "0.5", "--dims", str(case["dims"]),
               "--threads", threads]
        if case["mirror"]:
            ref += ["--mirror-axes", ",".join(map(str, case["mirror"]))]
        out = lambda tag: os.path.join(args.workdir, f"{name}-{tag}")  # noqa: E731
        def medseg_run(tag, extra=()):
            return ([args.medseg, "segment", "--model", package, "--input", volume, "--output", out(tag),
                     "--overwrite", "--quiet", "--threads", threads] + list(extra), out(tag))

        variants = {
            "medseg": medseg_run("medseg.nii"),
            "pytorch": (ref + ["--output", out("pytorch.mha")], out("pytorch.mha")),
            "pytorch-frozen": (ref + ["--optimize", "--output", out("frozen.mha")], out("frozen.mha")),
        }
        if case["bf16"] and links_tcmalloc:
            print("  (medseg links tcmalloc: the glibc and preloaded-tcmalloc variants need a build with "
                  "-DMEDSEG_USE_TCMALLOC=OFF)")
        elif case["bf16"]:
            # The allocator: glibc as it comes, and Debian's tcmalloc preloaded, against MedSeg's
            # mallopt tuning of glibc ("medseg" in a build with -DMEDSEG_USE_TCMALLOC=OFF).
            variants["medseg-glibc"] = medseg_run("glibc.nii") + ({**os.environ, "MEDSEG_MALLOC_DEFAULTS": "1"},)
            if os.path.exists(TCMALLOC):
                variants["medseg-tcmalloc"] = medseg_run("tcmalloc.nii") + (
                    {**os.environ, "MEDSEG_MALLOC_DEFAULTS": "1", "LD_PRELOAD": TCMALLOC},)
            else:
                print(f"  (medseg-tcmalloc skipped: {TCMALLOC} missing; apt-get install libtcmalloc-minimal4)")
        if case["bf16"]:
            # MedSeg's graph rewrites of TorchScript models (medsegInferenceOperators.h), each measured:
            # the default (fused instance norm + activation), none, all (also the transposed
            # convolutions), and no freeze / optimize_for_inference at all.
            for tag, value in (("no-rewrites", "none"), ("rewrite-all", "all")):
                variants[f"medseg-{tag}"] = medseg_run(f"{tag}.nii") + (
                    {**os.environ, "MEDSEG_TORCHSCRIPT_REWRITES": value},)
            variants["medseg-no-optimize"] = medseg_run("no-optimize.nii", ["--no-optimize"])
            variants["medseg-batch2"] = medseg_run("batch2.nii", ["--batch-size", "2"])
            if bf16_peak is not None:
                variants["medseg-bf16"] = medseg_run("bf16.nii", ["--precision", "bf16"])
            else:
                print("  (medseg-bf16 skipped: no bf16 convolution on this CPU)")
        times = {v: [] for v in variants}
        rss = {v: [] for v in variants}
        print(f"\n== {name}: {case['title']}; {patches} patches, {total_gflop:.0f} GFLOP per run; "
              f"{repeats} interleaved repeat(s)")
        for r in range(repeats):
            for v, (command, _, *env) in variants.items():
                wall, peak = run_timed(command, env[0] if env else None)
                times[v].append(wall)
                rss[v].append(peak)
                print(f"  repeat {r + 1} {v:15s} {wall:7.2f} s  {peak:7.0f} MiB", flush=True)
        base = statistics.median(times["medseg"])
        rows = {}
        print(f"  {'variant':15s} {'median s':>9s} {'vs medseg':>10s} {'peak RSS MiB':>13s} {'agreement':>10s} "
              f"{'GFLOP/s':>8s} {'of peak':>8s}")
        for v in variants:
            median = statistics.median(times[v])
            agree = agreement(variants["medseg"][1], variants[v][1])
            achieved = total_gflop / median
            peak = bf16_peak if v.endswith("bf16") else fp32_peak
            rows[v] = {"median_s": median, "times_s": times[v], "ratio_to_medseg": median / base,
                       "peak_rss_mib": max(rss[v]), "agreement_with_medseg": agree,
                       "gflops": achieved, "fraction_of_peak": achieved / peak}
            print(f"  {v:15s} {median:9.2f} {median / base:9.2f}x {max(rss[v]):13.0f} {agree * 100:9.3f}% "
                  f"{achieved:8.1f} {achieved / peak * 100:7.1f}%")
        results["cases"][name] = {"title": case["title"], "patches": patches, "gflop": total_gflop, "variants": rows}

    if "crop" in args.cases:
        results["crop"] = crop_case(args, volume, threads)

    if "classes" in args.cases:
        # Peak memory against the number of classes: MedSeg (slice-wise blending) and the reference
        # (whole-volume accumulators). One run each; memory, not time.
        small = "4,8" if args.quick else "8,16,32,64"
        patch = 24 if args.quick else 96
        print(f"\n== classes: peak RSS against the number of classes (3D UNet {small}, patch {patch}^3)")
        print(f"  {'classes':>7s} {'medseg MiB':>11s} {'fp16 acc MiB':>13s} {'pytorch MiB':>12s} {'medseg s':>9s} "
              f"{'fp16 acc s':>11s} {'fp16 agree':>11s}")
        rows = []
        for classes in ([2, 8] if args.quick else [2, 25, 50, 100]):
            weights, _ = make_model(args.workdir, f"unet-{classes}c", 3, small, classes, patch, volume)
            package = make_package(args.medseg, args.workdir, f"classes{classes}", weights, 3, classes, patch, 0.5, 1,
                                   [])
            def medseg_classes(tag, extra=()):
                output = os.path.join(args.workdir, f"classes{classes}{tag}.nii")
                wall, rss = run_timed([args.medseg, "segment", "--model", package, "--input", volume, "--output",
                                       output, "--overwrite", "--quiet", "--threads", threads] + list(extra))
                return wall, rss, output
            wall, medseg_rss, fp32_labels = medseg_classes("")
            half_wall, half_rss, half_labels = medseg_classes("-fp16", ["--accumulation", "fp16"])
            half_agree = agreement(fp32_labels, half_labels)
            _, ref_rss = run_timed([PYTHON, os.path.join(HERE, "reference_segment.py"), "--model", weights, "--input",
                                    volume, "--patch", str(patch), "--overlap", "0.5", "--threads", threads,
                                    "--output", os.path.join(args.workdir, f"classes{classes}.mha")])
            rows.append({"classes": classes, "medseg_rss_mib": medseg_rss, "medseg_fp16_rss_mib": half_rss,
                         "pytorch_rss_mib": ref_rss, "medseg_s": wall, "medseg_fp16_s": half_wall,
                         "fp16_agreement_with_fp32": half_agree})
            print(f"  {classes:7d} {medseg_rss:11.0f} {half_rss:13.0f} {ref_rss:12.0f} {wall:9.1f} {half_wall:11.1f} "
                  f"{half_agree * 100:10.3f}%")
        results["classes"] = {"patch": patch, "features": small, "rows": rows}

    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
        print(f"\nresults written to {args.json}")

    # Correctness, not speed: MedSeg and the fp32 references must label the same voxels.
    failures = [f"{name}/{v}: {row['agreement_with_medseg'] * 100:.3f}%"
                for name, case in results["cases"].items() for v, row in case["variants"].items()
                if not v.endswith("bf16") and not row["agreement_with_medseg"] >= 0.999]
    if "crop" in results and not results["crop"]["agreement_inside"] >= 0.999:
        failures.append(f"crop: {results['crop']['agreement_inside'] * 100:.3f}% inside the original field of view")
    if "crop" in results and results["crop"]["reuse_agreement"] != 1.0:
        failures.append(f"constant-window reuse: {results['crop']['reuse_agreement'] * 100:.3f}% of labels "
                        "equal to running every window (must be all)")
    if failures:
        sys.exit("benchmark: label agreement below 99.9% for " + ", ".join(failures))


if __name__ == "__main__":
    main()
