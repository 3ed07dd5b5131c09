#!/usr/bin/python3
"""What oneDNN's blocked layout costs and saves per convolution of the benchmark's 3D UNet.

`torch.jit.optimize_for_inference` (which `medseg segment` runs) converts every frozen convolution
to a oneDNN convolution on blocked tensors and puts a to_mkldnn / to_dense reorder pair around each
one, since instance norm has no oneDNN kernel in LibTorch 1.13. Per layer of the UNet 16-32-64-128
at 96^3 (batch 1; its 14 3x3x3 convolutions, not the transposed ones or the 1x1x1 head) this prints, side by side in one run: ATen's convolution on a dense NCDHW tensor,
on a channels-last one, oneDNN's on a blocked tensor, and the reorder pair, in milliseconds
(medians of interleaved repeats), then the totals and their ratios. Outputs are checked equal.
By default the script runs itself again with Debian's tcmalloc preloaded, the allocator `medseg`
links: under glibc's malloc every large output is fresh pages, and the reorders look about 4x dearer.

Usage: layout_costs.py [--threads 2] [--repeats 5] [--allocator tcmalloc|glibc]
"""
import argparse
import os
import sys
import time

import torch
import torch.nn as nn
import torch.utils.mkldnn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import machine  # noqa: E402

# (in channels, out channels, input size, stride): the UNet of bench_models.py, features 16-32-64-128
TCMALLOC = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"  # Debian's libtcmalloc-minimal4
LAYERS = [(1, 16, 96, 1), (16, 16, 96, 1), (16, 32, 96, 2), (32, 32, 48, 1), (32, 64, 48, 2), (64, 64, 24, 1),
          (64, 128, 24, 2), (128, 128, 12, 1), (128, 64, 24, 1), (64, 64, 24, 1), (64, 32, 48, 1), (32, 32, 48, 1),
          (32, 16, 96, 1), (16, 16, 96, 1)]


def median_ms(functions, repeats):
    """Each function's median wall time, the functions interleaved repeat by repeat."""
    for f in functions:
        f()
    times = [[] for _ in functions]
    for _ in range(repeats):
        for i, f in enumerate(functions):
            start = time.perf_counter()
            f()
            times[i].append(time.perf_counter() - start)
    return [sorted(t)[len(t) // 2] * 1e3 for t in times]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--allocator", choices=("tcmalloc", "glibc"), default="tcmalloc")
    args = parser.parse_args()
    preloaded = TCMALLOC in os.environ.get("LD_PRELOAD", "")
    if args.allocator == "glibc" and preloaded:
        kept = " ".join(p for p in os.environ["LD_PRELOAD"].split() if p != TCMALLOC)
        os.execve(sys.executable, [sys.executable] + sys.argv, {**os.environ, "LD_PRELOAD": kept})
    if args.allocator == "tcmalloc" and not preloaded:
        if not os.path.exists(TCMALLOC):
            sys.exit(f"layout_costs: {TCMALLOC} is missing (apt-get install libtcmalloc-minimal4), or --allocator glibc")
        os.execve(sys.executable, [sys.executable] + sys.argv,
                  {**os.environ, "LD_PRELOAD": (os.environ.get("LD_PRELOAD", "") + " " + TCMALLOC).strip()})
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(machine.describe())
    print(f"torch {torch.__version__}, {args.threads} thread(s), allocator {'tcmalloc' if preloaded else 'glibc'}, "
          f"batch 1, medians of {args.repeats} interleaved repeats")
    print("| conv (in -> out, size, stride) | dense NCDHW | channels-last | oneDNN blocked | + reorders | blocked + reorders |")
    print("|---|---|---|---|---|---|")
    totals = [0.0] * 4
    best = []
    with torch.no_grad():
        for cin, cout, size, stride in LAYERS:
            conv = nn.Conv3d(cin, cout, 3, stride=stride, padding=1).eval()
            last = nn.Conv3d(cin, cout, 3, stride=stride, padding=1).eval()
            last.load_state_dict(conv.state_dict())
            last = last.to(memory_format=torch.channels_last_3d)
            blocked = torch.utils.mkldnn.to_mkldnn(conv)
            x = torch.randn(1, cin, size, size, size)
            x_last = x.contiguous(memory_format=torch.channels_last_3d)
            x_blocked = x.to_mkldnn()
            y_blocked = blocked(x_blocked)
            reference = conv(x)
            for other in (last(x_last), y_blocked.to_dense()):
                if not torch.allclose(reference, other, atol=1e-4):
                    sys.exit(f"layout_costs: layer {cin}->{cout} at {size}^3 differs between layouts")
            dense, channels_last, onednn, reorders = median_ms(
                [lambda: conv(x), lambda: last(x_last), lambda: blocked(x_blocked),
                 lambda: (x.to_mkldnn(), y_blocked.to_dense())], args.repeats)
            for i, value in enumerate((dense, channels_last, onednn, reorders)):
                totals[i] += value
            best.append(min(dense, onednn + reorders))
            print(f"| {cin} -> {cout}, {size}^3, {stride} | {dense:.1f} | {channels_last:.1f} | {onednn:.1f} | "
                  f"{reorders:.1f} | {onednn + reorders:.1f} |")
    dense, channels_last, onednn, reorders = totals
    print(f"| **total** | {dense:.1f} | {channels_last:.1f} | {onednn:.1f} | {reorders:.1f} | {onednn + reorders:.1f} |")
    print(f"reorders: {reorders / (onednn + reorders):.0%} of blocked + reorders; "
          f"dense / (blocked + reorders) = {dense / (onednn + reorders):.2f}x; "
          f"channels-last / dense = {channels_last / dense:.2f}x")
    print(f"the faster of dense and blocked + reorders per layer: {sum(best):.1f} ms, "
          f"{(onednn + reorders) / sum(best):.2f}x less than blocked + reorders everywhere")


if __name__ == "__main__":
    main()
