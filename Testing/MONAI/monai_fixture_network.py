"""The MONAI fixture's own small 3-D network, its training loop and how it is saved (plain torch).

monai_fixture.py uses it for every bundle; nothing here needs MONAI.  The network is written for
these tests (it is not MONAI's UNet): a two-level U-shaped net,

    x (N, C, X, Y, Z) -> conv 3^3 -> [c1] -----------------------------------> concat -> conv 3^3 -> conv 1^3 -> logits (N, K, X, Y, Z)
                          '-> conv 3^3 stride 2 -> [c2] -> conv 3^3 -> transposed conv 2^3 stride 2 -> [c1] -'

every conv followed by InstanceNorm3d(affine=True) and PReLU (one slope per channel), except the
final 1^3 conv.  Spatial sizes must be even (the bundles' roi is 32^3, training patches 24^3).
InstanceNorm normalises each window by its own statistics in eval mode too, so the outputs do not
depend on sw_batch_size.
"""
import os

import numpy as np
import torch
from torch import nn


def _block(cin, cout, stride=1):
    return nn.Sequential(nn.Conv3d(cin, cout, 3, stride=stride, padding=1),
                         nn.InstanceNorm3d(cout, affine=True), nn.PReLU(cout))


class FixtureUNet(nn.Module):
    """Two resolution levels, one skip connection; channels (c1, c2), e.g. (8, 16)."""

    def __init__(self, in_channels: int, out_channels: int, channels=(8, 16)):
        super().__init__()
        c1, c2 = int(channels[0]), int(channels[1])
        self.encode = _block(in_channels, c1)
        self.down = _block(c1, c2, stride=2)
        self.bottom = _block(c2, c2)
        self.up = nn.Sequential(nn.ConvTranspose3d(c2, c1, 2, stride=2), nn.InstanceNorm3d(c1, affine=True),
                                nn.PReLU(c1))
        self.decode = _block(2 * c1, c1)
        self.head = nn.Conv3d(c1, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.encode(x)
        deep = self.up(self.bottom(self.down(skip)))
        return self.head(self.decode(torch.cat([skip, deep], dim=1)))


def train(in_channels, out_channels, sample, iters, seed, channels=(8, 16), lr=1e-2):
    """Adam on cross-entropy + soft Dice (foreground labels).  sample(rng) -> (x (N,C,...) float32
    tensor, y (N,...) int64 tensor).  Seeded (torch and numpy); returns (net in eval mode, last loss)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = FixtureUNet(in_channels, out_channels, channels)
    opt = torch.optim.Adam(net.parameters(), lr)
    loss = torch.zeros(())
    for _ in range(iters):
        x, y = sample(rng)
        out = net(x)
        ce = nn.functional.cross_entropy(out, y)
        p = torch.softmax(out, 1)
        oh = nn.functional.one_hot(y, out_channels).permute(0, 4, 1, 2, 3).float()
        dims = (0, 2, 3, 4)
        soft_dice = (2 * (p * oh).sum(dims) + 1) / (p.sum(dims) + oh.sum(dims) + 1)
        loss = ce + 1 - soft_dice[1:].mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    return net, float(loss)


def save_model(net, bundle):
    """models/model.ts (torch.jit.script, torch.jit.save) and models/model.pt (the state dict, which
    the configs' CheckpointLoader loads into the TorchScript network: the same parameter names)."""
    os.makedirs(os.path.join(bundle, "models"), exist_ok=True)
    torch.save(net.state_dict(), os.path.join(bundle, "models", "model.pt"))
    torch.jit.save(torch.jit.script(net), os.path.join(bundle, "models", "model.ts"))
