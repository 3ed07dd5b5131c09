#!/usr/bin/python3
"""What oneDNN's blocked layout costs and saves per convolution of the benchmark's 3D UNet.

`torch.jit.optimize_for_inference` (which `medseg segment` runs) converts every frozen convolution
to a oneDNN convolution on blocked tensors and puts a to_mkldnn / to_dense reorder pair around each
one, since instance norm has no oneDNN kernel in LibTorch 1.13. For each 3x3x3 convolution of
bench_models.py's UNet (16-32-64-128 at 96^3, batch 1; not the transposed ones or the 1x1x1 head),
at the input size a forward pass gives it, this prints side by side in one run: ATen's convolution
on a dense NCDHW tensor, on a channels-last one, oneDNN's on a blocked tensor, and the reorder pair,
in milliseconds (medians of interleaved repeats), then the totals and their ratios. The three
layouts' outputs are checked equal (exit 1 otherwise). fp32 only: it runs on any x86-64 CPU.
By default the script runs itself again with Debian's tcmalloc preloaded, the allocator `medseg`
links: under glibc's malloc every large output is fresh pages, and the reorders look about 4x dearer.

Usage: layout_costs.py [--threads 2] [--repeats 5] [--allocator tcmalloc|glibc] [--quick]
"""
import argparse
import copy
import os
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.utils.mkldnn
except ImportError:
    print("layout_costs: needs Debian's python3-torch (apt-get install python3-torch)", file=sys.stderr)
    sys.exit(2)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_models  # noqa: E402
import machine  # noqa: E402
from run_bench import TCMALLOC  # noqa: E402


def convolutions(features, patch):
    """(module, input shape) of every 3x3x3 convolution of the benchmark UNet, in forward order."""
    model = bench_models.UNet(3, 1, features, 2).eval()
    found = []
    hooks = [m.register_forward_hook(lambda m, inputs, output: found.append((m, tuple(inputs[0].shape))))
             for m in model.modules() if isinstance(m, nn.Conv3d) and m.kernel_size == (3, 3, 3)]
    with torch.no_grad():
        model(torch.zeros(1, 1, patch, patch, patch))
    for h in hooks:
        h.remove()
    return found


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
    parser.add_argument("--quick", action="store_true",
                        help="a tiny UNet at 24^3, one repeat: proves the script runs (for CTest); times nothing")
    args = parser.parse_args()
    features, patch = ([4, 8, 16, 32], 24) if args.quick else ([16, 32, 64, 128], 96)
    repeats = 1 if args.quick else args.repeats
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
    print(f"UNet {features} at {patch}^3; torch {torch.__version__}, {args.threads} thread(s), allocator {'tcmalloc' if preloaded else 'glibc'}, "
          f"batch 1, medians of {repeats} interleaved repeats")
    print("| conv (in -> out, size, stride) | dense NCDHW | channels-last | oneDNN blocked | reorders | blocked + reorders |")
    print("|---|---|---|---|---|---|")
    totals = [0.0] * 4
    best = []
    with torch.no_grad():
        for conv, shape in convolutions(features, patch):
            cin, cout, size, stride = conv.in_channels, conv.out_channels, shape[-1], conv.stride[0]
            last = copy.deepcopy(conv).to(memory_format=torch.channels_last_3d)
            blocked = torch.utils.mkldnn.to_mkldnn(conv)
            x = torch.randn(shape)
            x_last = x.contiguous(memory_format=torch.channels_last_3d)
            x_blocked = x.to_mkldnn()
            y_blocked = blocked(x_blocked)
            reference = conv(x)
            for other in (last(x_last), y_blocked.to_dense()):
                if not torch.allclose(reference, other, atol=1e-4):
                    sys.exit(f"layout_costs: layer {cin}->{cout} at {size}^3 differs between layouts")
            dense, channels_last, onednn, reorders = median_ms(
                [lambda: conv(x), lambda: last(x_last), lambda: blocked(x_blocked),
                 lambda: (x.to_mkldnn(), y_blocked.to_dense())], repeats)
            for i, value in enumerate((dense, channels_last, onednn, reorders)):
                totals[i] += value
            best.append(min(dense, onednn + reorders))
            print(f"| {cin} -> {cout}, {size}^3, {stride} | {dense:.1f} | {channels_last:.1f} | {onednn:.1f} | "
                  f"{reorders:.1f} | {onednn + reorders:.1f} |")
    dense, channels_last, onednn, reorders = totals
    print(f"| **total** | {dense:.1f} | {channels_last:.1f} | {onednn:.1f} | {reorders:.1f} | {onednn + reorders:.1f} |")
    blocked_total = max(onednn + reorders, 1e-9)
    print(f"reorders: {reorders / blocked_total:.0%} of blocked + reorders; "
          f"dense / (blocked + reorders) = {dense / blocked_total:.2f}x; "
          f"channels-last / dense = {channels_last / max(dense, 1e-9):.2f}x")
    print(f"the faster of dense and blocked + reorders per layer: {sum(best):.1f} ms, "
          f"{(onednn + reorders) / max(sum(best), 1e-9):.2f}x less than blocked + reorders everywhere")


if __name__ == "__main__":
    main()
