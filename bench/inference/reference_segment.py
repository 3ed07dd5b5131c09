#!/usr/bin/python3
"""Plain-PyTorch sliding-window segmentation: the reference `medseg segment` is measured against.

What a Python user would write with Debian's python3-torch: load the TorchScript model, z-score
the volume, slide a patch over it with the same window positions, Gaussian importance map
(sigma = 1/8 patch) and softmax blending as MedSeg (nnU-Net's scheme), optional mirror TTA,
arg-max. `--optimize` adds torch.jit.freeze + torch.jit.optimize_for_inference.

Usage: reference_segment.py --model unet.pt --input ch2.nii.gz --output labels.mha \
           --patch 96 --overlap 0.5 [--dims 2] [--batch-size 1] [--mirror-axes 0,1,2] [--optimize] [--threads N]
"""
import argparse
import math
import sys

import numpy as np
import torch

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import volume_io  # noqa: E402


def window_positions(size, patch, overlap):
    target = max(1.0, math.floor(patch * (1.0 - overlap)))
    steps = int(math.ceil((size - patch) / target)) + 1
    if steps == 1:
        return [0]
    step = (size - patch) / (steps - 1)
    return [int(math.floor(step * i + 0.5)) for i in range(steps)]


def gaussian_map(patch, sigma_scale=0.125):
    axes = []
    for p in patch:
        i = torch.arange(p, dtype=torch.float64)
        sigma = sigma_scale * p
        axes.append(torch.exp(-(i - (p - 1) / 2.0) ** 2 / (2 * sigma * sigma)))
    m = axes[0].view(-1, 1, 1) * axes[1].view(1, -1, 1) * axes[2].view(1, 1, -1)
    m = (m / m.max()).float()
    return m.clamp_min(m[m > 0].min())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--patch", type=int, default=96)
    parser.add_argument("--overlap", type=float, default=0.5)
    parser.add_argument("--dims", type=int, choices=(2, 3), default=3)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--mirror-axes", default="", help="e.g. 0,1,2 (x, y, z)")
    parser.add_argument("--optimize", action="store_true")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    model = torch.jit.load(args.model).eval()
    if args.optimize:
        model = torch.jit.optimize_for_inference(torch.jit.freeze(model))

    voxels, spacing = volume_io.read(args.input)
    image = torch.from_numpy(voxels.astype(np.float64))
    image = ((image - image.mean()) / image.std(unbiased=False).clamp_min(1e-8)).float()

    # z, y, x; 2D models see one z slice at a time
    patch = [1 if args.dims == 2 else args.patch, args.patch, args.patch]
    size = list(image.shape)
    pad = [max(0, p - s) for p, s in zip(patch, size)]
    before = [p // 2 for p in pad]
    if any(pad):
        spec = [v for d in (2, 1, 0) for v in (before[d], pad[d] - before[d])]
        image = torch.nn.functional.pad(image, spec)
    padded = list(image.shape)
    starts = [(z, y, x) for z in window_positions(padded[0], patch[0], args.overlap)
              for y in window_positions(padded[1], patch[1], args.overlap)
              for x in window_positions(padded[2], patch[2], args.overlap)]
    weights = gaussian_map(patch)
    mirror = [int(a) for a in args.mirror_axes.split(",") if a != ""]
    flips = [[4 - mirror[a] for a in range(len(mirror)) if mask & (1 << a)] for mask in range(1 << len(mirror))]

    accumulated = None
    weight_sum = torch.zeros(padded)
    with torch.inference_mode():
        for first in range(0, len(starts), args.batch_size):
            group = starts[first:first + args.batch_size]
            batch = torch.stack([image[z:z + patch[0], y:y + patch[1], x:x + patch[2]] for z, y, x in group])
            batch = batch.unsqueeze(1)  # [B, 1, pz, py, px]
            probabilities = 0
            for dims in flips:
                x = batch.flip(dims) if dims else batch
                if args.dims == 2:
                    logits = model(x.squeeze(2)).unsqueeze(2)
                else:
                    logits = model(x)
                p = torch.sigmoid(logits) if logits.shape[1] == 1 else torch.softmax(logits, 1)
                probabilities = probabilities + (p.flip(dims) if dims else p)
            probabilities = probabilities / len(flips)
            if accumulated is None:
                accumulated = torch.zeros([probabilities.shape[1]] + padded)
            for (z, y, x), p in zip(group, probabilities):
                region = (slice(z, z + patch[0]), slice(y, y + patch[1]), slice(x, x + patch[2]))
                accumulated[(slice(None),) + region] += p * weights
                weight_sum[region] += weights
        accumulated /= weight_sum
        accumulated = accumulated[:, before[0]:before[0] + size[0], before[1]:before[1] + size[1],
                                  before[2]:before[2] + size[2]]
        if accumulated.shape[0] == 1:
            labels = (accumulated[0] >= 0.5).to(torch.uint8)
        else:
            labels = accumulated.argmax(0).to(torch.uint8 if accumulated.shape[0] <= 256 else torch.int32)
    volume_io.write_mha(args.output, labels.numpy(), spacing)


if __name__ == "__main__":
    main()
