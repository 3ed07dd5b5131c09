#!/usr/bin/python3
"""Reference samples of nnU-Net v2's networks, made by the upstream code itself.

For each small network below, builds it exactly as nnU-Net's predictor does
(nnunetv2.utilities.get_network_from_plans.get_network_from_plans, from a plans-style
"architecture" object, or from an old-format configuration through
nnunetv2.utilities.plans_handling.plans_handler.ConfigurationManager), randomises every
parameter and buffer (norm affine parameters and BatchNorm running statistics included),
and writes into OUT/<case>/:

  architecture.json  what MedSeg's ParseNNUNetArchitecture reads (architecture or configuration)
  meta.json          {"input_channels", "output_channels", "state_dict": [[key, shape], ...]}
  sample.pt          torch.save({"state_dict": {...}, "input": x, "output": network(x)})

Run with the upstream packages importable, e.g.
  PYTHONPATH=REF:REF/stubs /usr/bin/python3 make_network_samples.py OUT
where REF is an extraction of ../shared/reference/nnunet-upstream.tar.gz. Used by
Modules/Networks/test/medsegNNUNetNetworksGTest.cxx.
"""
import json
import os
import pydoc
import sys
import warnings

import torch

from nnunetv2.utilities.get_network_from_plans import get_network_from_plans
from nnunetv2.utilities.plans_handling.plans_handler import ConfigurationManager

REQUIRES_IMPORT = ["conv_op", "norm_op", "dropout_op", "nonlin"]
PLAIN = "dynamic_network_architectures.architectures.unet.PlainConvUNet"
RESENC = "dynamic_network_architectures.architectures.unet.ResidualEncoderUNet"
IN3 = "torch.nn.modules.instancenorm.InstanceNorm3d"
LEAKY = "torch.nn.LeakyReLU"


def arch(cls, **kwargs):
    base = {"conv_bias": True, "dropout_op": None, "dropout_op_kwargs": None}
    base.update(kwargs)
    return {"network_class_name": cls, "arch_kwargs": base, "_kw_requires_import": REQUIRES_IMPORT}


# name: (architecture or old-format configuration, input channels, outputs, input shape)
CASES = {
    # 3D anisotropic, as the default planner writes for thick slices
    "plain3d_aniso": (arch(PLAIN, n_stages=4, features_per_stage=[4, 8, 16, 16], conv_op="torch.nn.modules.conv.Conv3d",
                           kernel_sizes=[[1, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3]],
                           strides=[[1, 1, 1], [1, 2, 2], [2, 2, 2], [2, 2, 2]], n_conv_per_stage=[2, 2, 2, 2],
                           n_conv_per_stage_decoder=[2, 2, 2], norm_op=IN3,
                           norm_op_kwargs={"eps": 1e-05, "affine": True}, nonlin=LEAKY,
                           nonlin_kwargs={"inplace": True}),
                      2, 3, (2, 2, 8, 24, 24)),
    # 2D with BatchNorm (running statistics) and ReLU, an anisotropic last stride
    "plain2d_bn": (arch(PLAIN, n_stages=4, features_per_stage=[8, 16, 16, 16], conv_op="torch.nn.modules.conv.Conv2d",
                        kernel_sizes=[[3, 3], [3, 3], [3, 3], [3, 3]], strides=[[1, 1], [2, 2], [2, 2], [2, 1]],
                        n_conv_per_stage=[2, 2, 2, 2], n_conv_per_stage_decoder=[2, 2, 2], conv_bias=False,
                        norm_op="torch.nn.modules.batchnorm.BatchNorm2d",
                        norm_op_kwargs={"eps": 1e-03, "affine": True, "momentum": 0.1}, nonlin="torch.nn.ReLU",
                        nonlin_kwargs={"inplace": True}),
                   1, 2, (3, 1, 32, 16)),
    # scalars for every per-stage list, dropout (shifts all_modules indices), nonlin_first, no affine
    "plain3d_dropout": (arch(PLAIN, n_stages=3, features_per_stage=4, conv_op="torch.nn.Conv3d", kernel_sizes=3,
                             strides=[1, 2, 2], n_conv_per_stage=1, n_conv_per_stage_decoder=1, conv_bias=False,
                             norm_op="torch.nn.InstanceNorm3d", norm_op_kwargs={"eps": 1e-4, "affine": False},
                             dropout_op="torch.nn.modules.dropout.Dropout3d",
                             dropout_op_kwargs={"p": 0.2, "inplace": True}, nonlin="torch.nn.LeakyReLU",
                             nonlin_kwargs={"inplace": True, "negative_slope": 0.2}, nonlin_first=True),
                        1, 2, (1, 1, 16, 16, 16)),
    # ResEnc 3D: stem, BasicBlockD with AvgPool+1x1 skips, a stride without projection (AvgPool only),
    # dropout (in the stem, each block's conv1 and the decoder, not in conv2 or the skip)
    "resenc3d": (arch(RESENC, n_stages=4, features_per_stage=[4, 8, 16, 16], conv_op="torch.nn.modules.conv.Conv3d",
                      kernel_sizes=[[1, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3]],
                      strides=[[1, 1, 1], [1, 2, 2], [2, 2, 2], [2, 2, 1]], n_blocks_per_stage=[1, 2, 2, 2],
                      n_conv_per_stage_decoder=[1, 1, 1], norm_op=IN3, norm_op_kwargs={"eps": 1e-05, "affine": True},
                      dropout_op="torch.nn.Dropout3d", dropout_op_kwargs={"p": 0.1},
                      nonlin=LEAKY, nonlin_kwargs={"inplace": True}),
                 1, 3, (1, 1, 8, 16, 32)),
    # ResEnc 2D with BatchNorm and a stem narrower than stage 0 (projection without stride: skip.0)
    "resenc2d_bn": (arch(RESENC, n_stages=3, features_per_stage=[6, 8, 12], conv_op="torch.nn.modules.conv.Conv2d",
                         kernel_sizes=[[3, 3], [3, 3], [3, 3]], strides=[[1, 1], [2, 2], [2, 2]],
                         n_blocks_per_stage=[2, 1, 2], n_conv_per_stage_decoder=[1, 2], conv_bias=False,
                         norm_op="torch.nn.modules.batchnorm.BatchNorm2d",
                         norm_op_kwargs={"eps": 1e-05, "affine": True}, nonlin="torch.nn.ReLU",
                         nonlin_kwargs={"inplace": True}, stem_channels=4),
                    2, 2, (2, 2, 16, 16)),
    # the older plans format (arch kwargs flat in the configuration), both classes
    "old_plain3d": ({"UNet_class_name": "PlainConvUNet", "UNet_base_num_features": 4, "unet_max_num_features": 12,
                     "n_conv_per_stage_encoder": [2, 2, 2], "n_conv_per_stage_decoder": [2, 2],
                     "num_pool_per_axis": [1, 2, 2], "pool_op_kernel_sizes": [[1, 1, 1], [1, 2, 2], [2, 2, 2]],
                     "conv_kernel_sizes": [[1, 3, 3], [3, 3, 3], [3, 3, 3]], "patch_size": [8, 16, 16]},
                    1, 2, (1, 1, 4, 16, 16)),
    "old_resenc2d": ({"UNet_class_name": "ResidualEncoderUNet", "UNet_base_num_features": 4,
                      "unet_max_num_features": 8, "n_conv_per_stage_encoder": [1, 2, 2],
                      "n_conv_per_stage_decoder": [1, 1], "num_pool_per_axis": [2, 2],
                      "pool_op_kernel_sizes": [[1, 1], [2, 2], [2, 2]], "conv_kernel_sizes": [[3, 3], [3, 3], [3, 3]],
                      "patch_size": [16, 16]},
                     1, 2, (1, 1, 16, 16)),
}


def build(description, input_channels, outputs):
    if "network_class_name" in description:
        architecture = description
    else:  # old format: the upstream conversion
        architecture = ConfigurationManager(json.loads(json.dumps(description))).configuration["architecture"]
        # Old ResEnc plans name "...architectures.residual_unet.ResidualEncoderUNet", which does not
        # exist: get_network_from_plans then finds the class by name in every architectures module,
        # and importing them all needs timm (absent here). The class it finds is this one:
        if pydoc.locate(architecture["network_class_name"]) is None:
            last = architecture["network_class_name"].split(".")[-1]
            architecture["network_class_name"] = "dynamic_network_architectures.architectures.unet." + last
    return get_network_from_plans(architecture["network_class_name"], architecture["arch_kwargs"],
                                  architecture["_kw_requires_import"], input_channels, outputs, allow_init=True,
                                  deep_supervision=False)


def randomise(network, generator):
    with torch.no_grad():
        for name, p in network.named_parameters():
            if name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=generator))
            elif p.dim() == 1:  # norm scale
                p.copy_(0.5 + torch.rand(p.shape, generator=generator))
            else:  # keep He's scale, but not the initialiser's exact draw
                p.mul_(0.75 + 0.5 * torch.rand(p.shape, generator=generator))
        for name, b in network.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(0.2 * torch.randn(b.shape, generator=generator))
            elif name.endswith("running_var"):
                b.copy_(0.5 + 1.5 * torch.rand(b.shape, generator=generator))
            elif name.endswith("num_batches_tracked"):
                b.fill_(7)


def main():
    out = sys.argv[1]
    warnings.filterwarnings("ignore", message="Detected old nnU-Net plans format")
    generator = torch.Generator().manual_seed(20240601)
    torch.manual_seed(20240601)
    for name, (description, input_channels, outputs, shape) in CASES.items():
        network = build(description, input_channels, outputs)
        randomise(network, generator)
        network.eval()
        x = torch.randn(shape, generator=generator)
        with torch.no_grad():
            y = network(x)
        state = network.state_dict()
        folder = os.path.join(out, name)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "architecture.json"), "w") as f:
            json.dump(description, f, indent=1)
        with open(os.path.join(folder, "meta.json"), "w") as f:
            json.dump({"input_channels": input_channels, "output_channels": outputs,
                       "state_dict": [[k, list(v.shape)] for k, v in state.items()]}, f)
        torch.save({"state_dict": {k: v.clone() for k, v in state.items()}, "input": x, "output": y},
                   os.path.join(folder, "sample.pt"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
