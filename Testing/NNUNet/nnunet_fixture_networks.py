"""The two default nnU-Net v2 networks, written here in plain PyTorch for the fixtures.

`PlainConvUNet` and `ResidualEncoderUNet` as nnU-Net v2 builds them from a plans.json
"architecture" entry (dynamic_network_architectures.architectures.unet), re-implemented without
that package: a plain clone of MedSeg does not have it. Each module below is laid out exactly as
its upstream counterpart so that `state_dict()` carries upstream's key names, in upstream's order,
duplicates included (a convolution block holds its conv and norm both as attributes and inside
`all_modules`; the decoder holds the encoder, hence the `decoder.encoder.*` copies). A side check
loads these state dicts into upstream's classes with strict=True and compares the outputs.

Only what nnU-Net's planners write is supported: strided-convolution encoders, InstanceNorm with
affine weights, LeakyReLU (slope 0.01), no dropout, BasicBlockD residual blocks.
"""
import torch
from torch import nn

_OPS = {  # spatial dimension -> (conv, transposed conv, instance norm, average pooling)
    2: (nn.Conv2d, nn.ConvTranspose2d, nn.InstanceNorm2d, nn.AvgPool2d),
    3: (nn.Conv3d, nn.ConvTranspose3d, nn.InstanceNorm3d, nn.AvgPool3d),
}


def _as_list(value, dim):
    return [int(v) for v in value] if isinstance(value, (list, tuple)) else [int(value)] * dim


class ConvNormNonlin(nn.Module):
    """conv -> InstanceNorm -> (LeakyReLU), as building_blocks.simple_conv_blocks.ConvDropoutNormReLU
    (same attribute names: conv, norm, nonlin, all_modules)."""

    def __init__(self, dim, in_channels, out_channels, kernel_size, stride, bias, norm_kwargs,
                 with_nonlin=True, nonlin_kwargs=None):
        super().__init__()
        conv_op, _, norm_op, _ = _OPS[dim]
        kernel_size = _as_list(kernel_size, dim)
        self.stride = _as_list(stride, dim)
        self.conv = conv_op(in_channels, out_channels, kernel_size, self.stride,
                            padding=[(k - 1) // 2 for k in kernel_size], dilation=1, bias=bias)
        self.norm = norm_op(out_channels, **norm_kwargs)
        ops = [self.conv, self.norm]
        if with_nonlin:
            self.nonlin = nn.LeakyReLU(**(nonlin_kwargs or {}))
            ops.append(self.nonlin)
        self.all_modules = nn.Sequential(*ops)

    def forward(self, x):
        return self.all_modules(x)


class ConvStack(nn.Module):
    """n ConvNormNonlin, the first one strided, as simple_conv_blocks.StackedConvBlocks (`convs`)."""

    def __init__(self, n, dim, in_channels, out_channels, kernel_size, first_stride, bias, norm_kwargs,
                 nonlin_kwargs):
        super().__init__()
        blocks = [ConvNormNonlin(dim, in_channels, out_channels, kernel_size, first_stride, bias, norm_kwargs,
                                 True, nonlin_kwargs)]
        blocks += [ConvNormNonlin(dim, out_channels, out_channels, kernel_size, 1, bias, norm_kwargs, True,
                                  nonlin_kwargs) for _ in range(1, n)]
        self.convs = nn.Sequential(*blocks)

    def forward(self, x):
        return self.convs(x)


class PlainEncoder(nn.Module):
    """As building_blocks.plain_conv_encoder.PlainConvEncoder with pool='conv': `stages.<s>.0` is a
    ConvStack whose first convolution carries the stage's stride. Returns every stage's output."""

    def __init__(self, dim, in_channels, features, kernels, strides, n_convs, bias, norm_kwargs, nonlin_kwargs):
        super().__init__()
        stages = []
        for s, feat in enumerate(features):
            stages.append(nn.Sequential(ConvStack(n_convs[s], dim, in_channels, feat, kernels[s], strides[s], bias,
                                                  norm_kwargs, nonlin_kwargs)))
            in_channels = feat
        self.stages = nn.Sequential(*stages)
        self.output_channels, self.strides, self.kernel_sizes = list(features), strides, kernels
        self.dim, self.conv_bias, self.norm_kwargs, self.nonlin_kwargs = dim, bias, norm_kwargs, nonlin_kwargs

    def forward(self, x):
        skips = []
        for stage in self.stages:
            x = stage(x)
            skips.append(x)
        return skips


class ResidualBlock(nn.Module):
    """ResNet-D basic block, as building_blocks.residual.BasicBlockD: conv1 (with nonlin), conv2
    (without), skip = [AvgPool(stride)] + [1x1 ConvNorm without bias] when shape or width change."""

    def __init__(self, dim, in_channels, out_channels, kernel_size, stride, bias, norm_kwargs, nonlin_kwargs):
        super().__init__()
        _, _, _, pool_op = _OPS[dim]
        stride = _as_list(stride, dim)
        self.conv1 = ConvNormNonlin(dim, in_channels, out_channels, kernel_size, stride, bias, norm_kwargs, True,
                                    nonlin_kwargs)
        self.conv2 = ConvNormNonlin(dim, out_channels, out_channels, kernel_size, 1, bias, norm_kwargs, False)
        self.nonlin2 = nn.LeakyReLU(**(nonlin_kwargs or {}))
        has_stride = any(s != 1 for s in stride)
        ops = []
        if has_stride:
            ops.append(pool_op(stride, stride))
        if in_channels != out_channels:
            ops.append(ConvNormNonlin(dim, in_channels, out_channels, 1, 1, False, norm_kwargs, False))
        self.skip = nn.Sequential(*ops) if ops else None

    def forward(self, x):
        residual = x if self.skip is None else self.skip(x)
        out = self.conv2(self.conv1(x))
        out += residual
        return self.nonlin2(out)


class ResidualStack(nn.Module):
    """As building_blocks.residual.StackedResidualBlocks with BasicBlockD (`blocks`)."""

    def __init__(self, n, dim, in_channels, out_channels, kernel_size, first_stride, bias, norm_kwargs,
                 nonlin_kwargs):
        super().__init__()
        blocks = [ResidualBlock(dim, in_channels, out_channels, kernel_size, first_stride, bias, norm_kwargs,
                                nonlin_kwargs)]
        blocks += [ResidualBlock(dim, out_channels, out_channels, kernel_size, 1, bias, norm_kwargs, nonlin_kwargs)
                   for _ in range(1, n)]
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x):
        return self.blocks(x)


class ResEncoder(nn.Module):
    """As building_blocks.residual_encoders.ResidualEncoder with its default stem (one ConvStack of
    features[0] channels, stride 1) and pool_type 'conv'."""

    def __init__(self, dim, in_channels, features, kernels, strides, n_blocks, bias, norm_kwargs, nonlin_kwargs):
        super().__init__()
        self.stem = ConvStack(1, dim, in_channels, features[0], kernels[0], 1, bias, norm_kwargs, nonlin_kwargs)
        in_channels = features[0]
        stages = []
        for s, feat in enumerate(features):
            stages.append(ResidualStack(n_blocks[s], dim, in_channels, feat, kernels[s], strides[s], bias,
                                        norm_kwargs, nonlin_kwargs))
            in_channels = feat
        self.stages = nn.Sequential(*stages)
        self.output_channels, self.strides, self.kernel_sizes = list(features), strides, kernels
        self.dim, self.conv_bias, self.norm_kwargs, self.nonlin_kwargs = dim, bias, norm_kwargs, nonlin_kwargs

    def forward(self, x):
        x = self.stem(x)
        skips = []
        for stage in self.stages:
            x = stage(x)
            skips.append(x)
        return skips


class Decoder(nn.Module):
    """As building_blocks.unet_decoder.UNetDecoder: per level a transposed conv (kernel = stride = the
    encoder stride), concatenation with the skip, a ConvStack, and a 1x1 segmentation layer. The
    encoder is a submodule here too (upstream's `decoder.encoder.*` keys)."""

    def __init__(self, encoder, num_classes, n_convs, deep_supervision=False):
        super().__init__()
        self.deep_supervision = deep_supervision
        self.encoder = encoder
        conv_op, transp_op, _, _ = _OPS[encoder.dim]
        stages, transpconvs, seg_layers = [], [], []
        chans = encoder.output_channels
        for s in range(1, len(chans)):
            below, skip = chans[-s], chans[-(s + 1)]
            stride = encoder.strides[-s]
            transpconvs.append(transp_op(below, skip, stride, stride, bias=encoder.conv_bias))
            stages.append(ConvStack(n_convs[s - 1], encoder.dim, 2 * skip, skip, encoder.kernel_sizes[-(s + 1)], 1,
                                    encoder.conv_bias, encoder.norm_kwargs, encoder.nonlin_kwargs))
            seg_layers.append(conv_op(skip, num_classes, 1, 1, 0, bias=True))
        self.stages = nn.ModuleList(stages)
        self.transpconvs = nn.ModuleList(transpconvs)
        self.seg_layers = nn.ModuleList(seg_layers)

    def forward(self, skips):
        x = skips[-1]
        outputs = []
        for s in range(len(self.stages)):
            x = self.transpconvs[s](x)
            x = torch.cat((x, skips[-(s + 2)]), 1)
            x = self.stages[s](x)
            if self.deep_supervision:
                outputs.append(self.seg_layers[s](x))
            elif s == len(self.stages) - 1:
                outputs.append(self.seg_layers[-1](x))
        outputs = outputs[::-1]
        return outputs if self.deep_supervision else outputs[0]


class UNet(nn.Module):
    """encoder + decoder; `forward` gives the highest-resolution logits (a list, highest first, with
    deep supervision)."""

    def __init__(self, encoder, num_classes, n_convs_decoder, deep_supervision=False):
        super().__init__()
        self.encoder = encoder
        self.decoder = Decoder(encoder, num_classes, n_convs_decoder, deep_supervision)

    def forward(self, x):
        return self.decoder(self.encoder(x))


def build_network(architecture, input_channels, num_outputs, deep_supervision=False):
    """The network a plans.json configuration's "architecture" entry describes, as
    nnunetv2.utilities.get_network_from_plans.get_network_from_plans builds it (without init)."""
    cls = architecture["network_class_name"].split(".")[-1]
    kw = architecture["arch_kwargs"]
    conv_name = kw["conv_op"].split(".")[-1]
    dim = {"Conv2d": 2, "Conv3d": 3}[conv_name]
    if not kw["norm_op"].split(".")[-1].startswith("InstanceNorm") or kw.get("dropout_op") is not None:
        raise ValueError("only InstanceNorm without dropout is supported")
    if kw["nonlin"].split(".")[-1] != "LeakyReLU":
        raise ValueError("only LeakyReLU is supported")
    n = int(kw["n_stages"])
    feats = _as_list(kw["features_per_stage"], n)
    kernels = [_as_list(k, dim) for k in kw["kernel_sizes"]]
    strides = [_as_list(s, dim) for s in kw["strides"]]
    norm_kwargs = dict(kw.get("norm_op_kwargs") or {})
    nonlin_kwargs = dict(kw.get("nonlin_kwargs") or {})
    bias = bool(kw.get("conv_bias", False))
    n_dec = _as_list(kw["n_conv_per_stage_decoder"], n - 1)
    if cls == "PlainConvUNet":
        encoder = PlainEncoder(dim, input_channels, feats, kernels, strides, _as_list(kw["n_conv_per_stage"], n),
                               bias, norm_kwargs, nonlin_kwargs)
    elif cls == "ResidualEncoderUNet":
        encoder = ResEncoder(dim, input_channels, feats, kernels, strides, _as_list(kw["n_blocks_per_stage"], n),
                             bias, norm_kwargs, nonlin_kwargs)
    else:
        raise ValueError(f"unsupported network class {architecture['network_class_name']}")
    return UNet(encoder, num_outputs, n_dec, deep_supervision)


def initialize_he(module, neg_slope=1e-2):
    """He-normal convolution weights, zero biases (as initialization.weight_init.InitWeights_He);
    in residual blocks the last norm's weight starts at 0 (as init_last_bn_before_add_to_0)."""
    if isinstance(module, (nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
        nn.init.kaiming_normal_(module.weight, a=neg_slope)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    if isinstance(module, ResidualBlock):
        nn.init.zeros_(module.conv2.norm.weight)
