#!/usr/bin/python3
"""How many LibTorch threads `medseg segment` should use: the same run at 1, 2, ... threads.

For each case, every thread count (and `--threads 0`, MedSeg's default: one per physical core) runs
interleaved (1 2 ... 0 1 2 ... 0 ...), `--repeats` times, each as its own process under
/usr/bin/time -v. Prints the machine, median wall time, user CPU, peak RSS, the speed-up over one
thread, and whether the labels are identical to the one-thread run. See Documentation/benchmarks.md.

Usage: thread_sweep.py --medseg build/bin/medseg [--repeats 3] [--threads 1,2] [--quick]
                       [--cases unet3d,demo] [--workdir DIR]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import machine  # noqa: E402
import run_bench  # noqa: E402
import volume_io  # noqa: E402

DEMO = os.path.join(HERE, "..", "..", "Data", "models", "brain-extraction.medseg")


def run(command):
    """(wall s, user CPU s, peak RSS MiB, stdout) of one process."""
    start = time.perf_counter()
    result = subprocess.run(["/usr/bin/time", "-v"] + command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"thread_sweep: command failed ({result.returncode}): {' '.join(command)}\n{result.stderr[-2000:]}")
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", result.stderr).group(1))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1)) / 1024.0
    return wall, user, rss, result.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--medseg", required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", default=",".join(str(t) for t in range(1, (os.cpu_count() or 1) + 1)))
    parser.add_argument("--cases", default="unet3d,demo")
    parser.add_argument("--quick", action="store_true", help="tiny volume and model, 1 repeat: proves it runs")
    parser.add_argument("--workdir", default="/tmp/medseg-bench")
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    repeats = 1 if args.quick else args.repeats
    counts = [int(t) for t in args.threads.split(",")] + [0]

    volume = run_bench.CH2
    if args.quick:
        voxels, spacing = volume_io.read(run_bench.CH2)
        volume = os.path.join(args.workdir, "ch2-crop.mha")
        volume_io.write_mha(volume, voxels[70:110, 90:130, 70:110].astype("float32"), spacing)
    cases = {}
    if "unet3d" in args.cases:
        features, patch = ("4,8", 24) if args.quick else ("16,32,64,128", 96)
        weights, _ = run_bench.make_model(args.workdir, "unet3d-2", 3, features, 2, patch, volume)
        cases["unet3d"] = (run_bench.make_package(args.medseg, args.workdir, "threads-unet3d", weights, 3, 2, patch,
                                                  0.5, 1, []), f"3D UNet {features} at {patch}^3, overlap 0.5")
    if "demo" in args.cases:
        cases["demo"] = (DEMO, "the shipped demo model (2 mm, 48^3, TTA over x)")

    print(machine.describe())
    print(f"physical cores (MedSeg's default thread count): see the 0 row; repeats {repeats}, interleaved")
    for name, (package, title) in cases.items():
        print(f"\n{name}: {title}, on {os.path.basename(volume)}")
        samples = {t: [] for t in counts}
        picked = None
        for _ in range(repeats):
            for t in counts:
                out = os.path.join(args.workdir, f"threads-{name}-{t}.nii.gz")
                wall, user, rss, stdout = run([args.medseg, "segment", "--model", package, "--input", volume,
                                               "--output", out, "--threads", str(t), "--overwrite"])
                samples[t].append((wall, user, rss))
                found = re.search(r"(\d+) thread\(s\)", stdout)
                if t == 0 and found:
                    picked = int(found.group(1))
        one = statistics.median(s[0] for s in samples[counts[0]])
        reference, _ = volume_io.read(os.path.join(args.workdir, f"threads-{name}-{counts[0]}.nii.gz"))
        print("| threads | wall (median) | user CPU | peak RSS | speed-up over 1 | labels as with 1 thread |")
        print("|---|---|---|---|---|---|")
        for t in counts:
            wall = statistics.median(s[0] for s in samples[t])
            user = statistics.median(s[1] for s in samples[t])
            rss = statistics.median(s[2] for s in samples[t])
            labels, _ = volume_io.read(os.path.join(args.workdir, f"threads-{name}-{t}.nii.gz"))
            same = (labels == reference).mean() * 100.0
            label = f"0 (default: {picked})" if t == 0 else str(t)
            print(f"| {label} | {wall:.1f} s | {user:.1f} s | {rss:.0f} MiB | {one / wall:.2f}x | {same:.3f} % |")


if __name__ == "__main__":
    main()
