#!/usr/bin/python3
"""Writes the streaming benchmark's inputs into WORKDIR: big.mha (1024 x 1024 x 512 float32,
uncompressed: smooth blobs plus noise) and stream.medseg's parts (a small TorchScript network,
3x3x3 conv -> 8 channels -> ReLU -> 1x1x1 conv -> 2 classes, seeded), then packs it."""
import json
import os
import subprocess
import sys

import numpy as np
import torch

work = sys.argv[1]
medseg = os.environ.get("MEDSEG", os.path.join(os.path.dirname(__file__), "..", "..", "build", "bin", "medseg"))
size = (512, 1024, 1024)  # z, y, x
path = os.path.join(work, "big.mha")
if not os.path.exists(path) or os.path.getsize(path) < 4 * size[0] * size[1] * size[2]:
    header = ("ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
              "CompressedData = False\nTransformMatrix = 1 0 0 0 1 0 0 0 1\nOffset = 0 0 0\n"
              "ElementSpacing = 0.5 0.5 0.5\nDimSize = 1024 1024 512\nElementType = MET_FLOAT\n"
              "ElementDataFile = LOCAL\n").encode("ascii")
    with open(path, "wb") as f:
        f.write(header)
    volume = np.memmap(path, dtype=np.float32, mode="r+", offset=len(header), shape=size)
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:1024, 0:1024].astype(np.float32)
    for z in range(size[0]):
        plane = 100.0 * np.sin(x / 37.0 + z / 53.0) * np.cos(y / 41.0) + 5.0 * rng.standard_normal((1024, 1024))
        volume[z] = plane.astype(np.float32)
    volume.flush()
    del volume

torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Conv3d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv3d(8, 2, 1)).eval()
torch.jit.script(net).save(os.path.join(work, "stream.pt"))
metadata = {
    "format": "medseg-model", "format_version": 1, "name": "stream-bench", "version": "bench",
    "architecture": {"plugin": "torchscript"},
    "input": {"channels": [{"name": "x", "normalization": "zscore"}], "orientation": "any", "spacing": None},
    "inference": {"patch_size": [128, 128, 32], "overlap": 0.25, "blend": "gaussian", "batch_size": 2},
    "labels": [{"value": 0, "name": "background", "color": [0, 0, 0]},
               {"value": 1, "name": "blob", "color": [255, 0, 0]}],
}
with open(os.path.join(work, "stream.json"), "w") as f:
    json.dump(metadata, f)
subprocess.run([medseg, "model", "pack", "--metadata", os.path.join(work, "stream.json"), "--weights",
                os.path.join(work, "stream.pt"), "--output", os.path.join(work, "stream.medseg"), "--overwrite"],
               check=True, capture_output=True)
