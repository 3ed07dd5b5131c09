#!/usr/bin/python3
"""Builds the TorchScript models the inference benchmark runs (Debian python3-torch).

Each model is an nnU-Net-style UNet: per level two (conv 3x3[x3] -> instance norm -> leaky
ReLU) blocks, strided-conv downsampling, transposed-conv (k=2, s=2) upsampling, skip
concatenation and a 1x1 head. Weights are random (seeded); the head's bias is calibrated on
the benchmark volume so that every class wins somewhere (otherwise label agreement would be
trivially 100 %).

Usage: bench_models.py --dims 3 --features 16,32,64,128 --classes 2 --patch 96 \
           --calibrate volume.nii.gz --output unet.pt
"""
import argparse
import sys

import torch
import torch.nn as nn

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import volume_io  # noqa: E402


class Block(nn.Module):
    def __init__(self, dims: int, cin: int, cout: int, stride: int):
        super().__init__()
        conv = nn.Conv3d if dims == 3 else nn.Conv2d
        norm = nn.InstanceNorm3d if dims == 3 else nn.InstanceNorm2d
        self.conv1 = conv(cin, cout, 3, stride=stride, padding=1)
        self.norm1 = norm(cout, affine=True)
        self.conv2 = conv(cout, cout, 3, padding=1)
        self.norm2 = norm(cout, affine=True)
        self.act = nn.LeakyReLU(0.01)

    def forward(self, x):
        x = self.act(self.norm1(self.conv1(x)))
        return self.act(self.norm2(self.conv2(x)))


class UNet(nn.Module):
    def __init__(self, dims: int, in_channels: int, features, classes: int):
        super().__init__()
        up = nn.ConvTranspose3d if dims == 3 else nn.ConvTranspose2d
        conv = nn.Conv3d if dims == 3 else nn.Conv2d
        self.encoders = nn.ModuleList()
        cin = in_channels
        for level, f in enumerate(features):
            self.encoders.append(Block(dims, cin, f, 1 if level == 0 else 2))
            cin = f
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for level in range(len(features) - 1, 0, -1):
            self.ups.append(up(features[level], features[level - 1], 2, stride=2))
            self.decoders.append(Block(dims, 2 * features[level - 1], features[level - 1], 1))
        self.head = conv(features[0], classes, 1)

    def forward(self, x):
        skips = []
        for encoder in self.encoders:
            x = encoder(x)
            skips.append(x)
        skips.pop()
        for up, decoder in zip(self.ups, self.decoders):
            x = decoder(torch.cat([up(x), skips.pop()], 1))
        return self.head(x)


def conv_flops(model: nn.Module, example: torch.Tensor) -> int:
    """Multiply-adds x 2 of every convolution for one forward pass of `example`."""
    total = [0]

    def hook(module, inputs, output):
        kernel = 1
        for k in module.kernel_size:
            kernel *= k
        if isinstance(module, (nn.ConvTranspose2d, nn.ConvTranspose3d)):
            # every input voxel is scattered through the whole kernel
            total[0] += 2 * inputs[0].numel() * module.out_channels * kernel // module.groups
        else:
            total[0] += 2 * output.numel() * module.in_channels // module.groups * kernel

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.ConvTranspose3d))]
    with torch.no_grad():
        model(example)
    for h in handles:
        h.remove()
    return total[0]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dims", type=int, choices=(2, 3), default=3)
    parser.add_argument("--features", default="16,32,64,128")
    parser.add_argument("--classes", type=int, default=2)
    parser.add_argument("--patch", type=int, default=96)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--calibrate", help="volume whose centre patch sets the head bias")
    parser.add_argument("--output", required=True)
    parser.add_argument("--flops-output", help="write the FLOPs of one patch to this file")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    features = [int(f) for f in args.features.split(",")]
    model = UNet(args.dims, 1, features, args.classes).eval()
    shape = [1, 1] + [args.patch] * args.dims
    if args.calibrate:
        volume, _ = volume_io.read(args.calibrate)
        x = torch.from_numpy(volume.astype("float32"))
        x = (x - x.mean()) / x.std(unbiased=False).clamp_min(1e-8)
        if args.dims == 2:
            x = x[x.shape[0] // 2]
        starts = [max(0, (s - args.patch) // 2) for s in x.shape]
        crop = x[tuple(slice(s, s + args.patch) for s in starts)]
        crop = torch.nn.functional.pad(crop, [p for s in reversed(crop.shape) for p in (0, args.patch - s)])
        with torch.no_grad():
            logits = model(crop.reshape(shape))[0].flatten(1)
            # Shift each class so that its median logit is 0: every class then wins somewhere.
            model.head.bias -= logits.median(dim=1).values
    flops = conv_flops(model, torch.zeros(shape))
    scripted = torch.jit.script(model)
    scripted.save(args.output)
    if args.flops_output:
        with open(args.flops_output, "w") as f:
            f.write(f"{flops}\n")
    print(f"{args.output}: {args.dims}D UNet {features}, {args.classes} classes, "
          f"{flops / 1e9:.2f} GFLOP per {args.patch}^{args.dims} patch")


if __name__ == "__main__":
    main()
