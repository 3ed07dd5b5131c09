#!/usr/bin/python3
"""Small nnU-Net v2 results folders, test images and reference label maps for MedSeg's tests.

    nnunet_fixture.py make --out DIR [--quick] [--cases sphere3d,aniso,...]

writes, for each case below, DIR/<case>/<DatasetNNN_Name>/<Trainer>__<Plans>__<configuration>/
laid out as nnU-Net v2 writes a results folder (dataset.json, plans.json, dataset_fingerprint.json,
fold_N/checkpoint_final.pth [+ checkpoint_best.pth]), a test image DIR/<case>/imagesTs/<case>_000C.nii.gz
per channel and the label map nnunet_reference.py predicts for it (DIR/<case>/expected_labels*.nii.gz),
and DIR/cases.json, the index of the runs (model folder, inputs, expected output, folds, checkpoint;
paths relative to DIR).

Networks (nnunet_fixture_networks.py, upstream's module layout) are trained for a few seconds with
Adam on synthetic phantoms made here (spheres inside shells, with noise; no subject's scan), so that
the label maps are meaningful and most logit margins are far from ties. Plans follow the schema
nnU-Net v2's ExperimentPlanner / nnUNetPlannerResEncM write; checkpoints the dict
nnUNetTrainer.save_checkpoint writes. --quick trains fewer iterations (for CI); the reference label
maps always match the networks written.
"""
import argparse
import copy
import json
import os
import shutil
import sys
import time

import nibabel
import numpy as np
import torch
from scipy.ndimage import gaussian_filter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nnunet_reference as ref  # noqa: E402
from nnunet_fixture_networks import build_network, initialize_he  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Helpers"))
from fixture_geometry import rotation as _rot  # noqa: E402

LABELS_SPHERE_SHELL = {"background": 0, "sphere": 1, "shell": 2}




# Every case: model (dataset, trainer, plans, configuration, spacing in nnU-Net's untransposed array
# order [k, j, i], network) and its test runs (image spacing/shape in the same order, direction).
CASES = [
    dict(name="sphere3d", dataset="Dataset901_SphereShell", trainer="nnUNetTrainer", plans_name="nnUNetPlans",
         configuration="3d_fullres", reader="NibabelIO", channels={"0": "MRI"}, labels=LABELS_SPHERE_SHELL,
         spacing=(1.0, 1.0, 1.0), patch=[24, 24, 24], features=[4, 8, 16],
         strides=[[1, 1, 1], [2, 2, 2], [2, 2, 2]], kernels=[[3, 3, 3]] * 3, style="mr", folds=[0, 1], best=True,
         train_shape=(32, 32, 32), train_patch=[16, 16, 16], objects=(3.5, 5.5, 2.0, 3.0),
         runs=[dict(suffix="", folds=[0, 1], checkpoint="final"),
               dict(suffix="_fold0", folds=[0], checkpoint="final"),
               dict(suffix="_best", folds=[0, 1], checkpoint="best")],
         test=dict(spacing=(1.0, 1.0, 1.0), shape=(28, 36, 20), direction=np.eye(3), origin=(-10.0, 4.0, 22.5)),
         notes="PlainConvUNet 3d_fullres, 1 channel, ZScore, image spacing = plans spacing, 2 folds averaged; "
               "the image is smaller than the patch along i (padding) and needs 2x2 tiles along k, j"),
    dict(name="resampled_oblique", same_model_as="sphere3d",
         runs=[dict(suffix="", folds=[0, 1], checkpoint="final")],
         test=dict(spacing=(1.25, 0.8, 1.1), shape=(20, 36, 22), direction=_rot(2, 20.0) @ np.diag([-1, 1, 1]),
                   origin=(31.0, -12.0, 7.0)),
         notes="the sphere3d model (a copy of its folder); the image has another spacing (resampled to the "
               "plans spacing with order 3 and back with order 1, no separate z) and an oblique, flipped "
               "direction (sform = qform), which nnU-Net ignores; the label map keeps the image's affine"),
    dict(name="aniso", dataset="Dataset903_AnisoBody", trainer="nnUNetTrainer_onlyMirror01", plans_name="nnUNetPlans",
         configuration="3d_fullres", reader="NibabelIO", channels={"0": "T2"}, labels=LABELS_SPHERE_SHELL,
         spacing=(0.8, 0.8, 3.0), patch=[8, 32, 32], features=[4, 8, 16, 16],
         strides=[[1, 1, 1], [1, 2, 2], [2, 2, 2], [1, 2, 2]],
         kernels=[[1, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3]], style="body", folds=[0], best=False,
         train_shape=(48, 48, 13), train_patch=[8, 16, 16], objects=(6.0, 8.0, 4.0, 5.5),
         runs=[dict(suffix="", folds=[0], checkpoint="final")],
         test=dict(spacing=(0.9, 0.9, 3.5), shape=(46, 42, 11), direction=np.eye(3), origin=(0.0, 0.0, 0.0)),
         notes="anisotropic: the i axis is the coarse one, so transpose_forward [2, 0, 1]; plans spacing "
               "[3, 0.8, 0.8] with kernels [1,3,3] first and strides mixing [1,2,2] and [2,2,2]; the image "
               "(another spacing) is resampled with separate z (order 3 in-plane, order 0 across) both ways; "
               "zero background outside a body: crop to the nonzero box and use_mask_for_norm; trainer "
               "nnUNetTrainer_onlyMirror01 (checkpoint mirroring axes (0, 1)); the cropped grid resamples to "
               "an exact half along k (see transposed_steps.network_input_shape_unrounded): compute_new_shape "
               "rounds half to even (Python's round: 10.5 -> 10, where C's round gives 11); the float32 "
               "spacing of the file makes j 44.9999988 -> 45 and i 40.4999989 -> 40"),
    dict(name="slices2d", dataset="Dataset904_Slices2D", trainer="nnUNetTrainer", plans_name="nnUNetPlans",
         configuration="2d", reader="SimpleITKIO", channels={"0": "MRI"}, labels=LABELS_SPHERE_SHELL,
         spacing=(3.0, 0.9, 0.9), patch=[32, 32], features=[4, 8, 16, 16],
         strides=[[1, 1], [2, 2], [2, 2], [2, 2]], kernels=[[3, 3]] * 4, style="mr", folds=[0], best=False,
         train_shape=(8, 40, 40), train_patch=[32, 32], objects=(4.0, 6.0, 2.0, 3.0),
         runs=[dict(suffix="", folds=[0], checkpoint="final")],
         test=dict(spacing=(3.0, 1.0, 1.0), shape=(8, 36, 30),
                   direction=np.array([[0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]]),
                   origin=(40.0, -20.0, 15.0)),
         notes="2d configuration (slice by slice along k, mirroring axes (0, 1)); image_reader_writer "
               "SimpleITKIO (same array order as NibabelIO); in-plane spacing differs from the plans, the "
               "slice spacing is kept (separate z along the unchanged axis: per-slice resampling only); "
               "axes stored permuted (a sagittal-like direction)"),
    dict(name="resenc_ct", dataset="Dataset905_ResEncCT", trainer="nnUNetTrainer",
         plans_name="nnUNetResEncUNetMPlans", configuration="3d_fullres", reader="NibabelIO",
         channels={"0": "CT", "1": "T2"}, labels=LABELS_SPHERE_SHELL, spacing=(1.5, 1.0, 1.0),
         patch=[16, 24, 24], features=[4, 8, 16], strides=[[1, 1, 1], [2, 2, 2], [2, 2, 2]],
         kernels=[[3, 3, 3]] * 3, blocks=[1, 3, 4], style="ct", folds=[0], best=False,
         train_shape=(22, 32, 32), train_patch=[8, 16, 16], objects=(3.5, 5.5, 2.0, 3.0),
         runs=[dict(suffix="", folds=[0], checkpoint="final")],
         test=dict(spacing=(1.5, 1.0, 1.0), shape=(20, 30, 28), direction=np.eye(3), origin=(-5.0, -5.0, -5.0)),
         notes="ResidualEncoderUNet (nnUNetPlannerResEncM layout: n_blocks_per_stage, stem, BasicBlockD) "
               "with 2 input channels: CT (CTNormalization with the plans' foreground intensity "
               "properties) and T2 (ZScore)"),
    dict(name="regions", dataset="Dataset906_Regions", trainer="nnUNetTrainer", plans_name="nnUNetPlans",
         configuration="3d_fullres", reader="NibabelIO", channels={"0": "MRI"},
         labels={"background": 0, "whole": [1, 2], "inner": [2]}, regions_class_order=[1, 2],
         spacing=(1.0, 1.0, 1.0), patch=[24, 24, 24], features=[4, 8, 16],
         strides=[[1, 1, 1], [2, 2, 2], [2, 2, 2]], kernels=[[3, 3, 3]] * 3, style="mr", folds=[0], best=False,
         train_shape=(32, 32, 32), train_patch=[16, 16, 16], objects=(3.5, 5.5, 2.0, 3.0),
         runs=[dict(suffix="", folds=[0], checkpoint="final")],
         test=dict(spacing=(1.1, 0.9, 1.0), shape=(20, 30, 22), direction=_rot(0, -15.0), origin=(3.0, 2.0, 1.0)),
         notes="region-based: labels as lists, sigmoid per region, regions_class_order [1, 2] (1 = shell, "
               "2 = sphere in the label map); the image needs resampling"),
]


# --- phantoms --------------------------------------------------------------------------------

def phantom(shape, spacing, rng, objects, style, n_objects=2):
    """Spheres (label 1) in shells (label 2) at random places, sizes in mm (r_inner range, shell
    thickness range); the image channels per style. Returns (channels [C, *shape] float32, labels)."""
    grid = np.meshgrid(*[np.arange(n) * s for n, s in zip(shape, spacing)], indexing="ij")
    extent = np.array([n * s for n, s in zip(shape, spacing)])
    labels = np.zeros(shape, np.uint8)
    r_lo, r_hi, t_lo, t_hi = objects
    body = np.ones(shape, bool)
    if style == "body":  # an ellipsoid body, zero outside
        semi = extent * rng.uniform(0.36, 0.44, 3)
        centre = extent / 2 + rng.uniform(-0.04, 0.04, 3) * extent
        body = sum(((g - c) / a) ** 2 for g, c, a in zip(grid, centre, semi)) < 1
    for _ in range(n_objects):
        r_in = rng.uniform(r_lo, r_hi)
        r_out = r_in + rng.uniform(t_lo, t_hi)
        lo = np.minimum(r_out, extent / 2)
        centre = rng.uniform(lo, np.maximum(extent - lo, lo + 1e-3))
        dist = np.sqrt(sum((g - c) ** 2 for g, c in zip(grid, centre)))
        labels[(dist < r_out) & (labels == 0) & body] = 2
        labels[(dist < r_in) & body] = 1
    table = {"mr": [(20.0, 100.0, 60.0)], "body": [(30.0, 100.0, 60.0)],
             "ct": [(40.0, 90.0, 160.0), (200.0, 380.0, 90.0)]}[style]
    noise = {"mr": 6.0, "body": 6.0, "ct": 12.0}[style]
    channels = []
    for bg, sphere, shell in table:
        clean = np.choose(labels, [bg, sphere, shell]).astype(np.float64)
        img = gaussian_filter(clean, 0.6) + rng.normal(0.0, noise, shape)
        img *= rng.uniform(0.85, 1.15)
        if style == "body":
            img = np.where(body, np.maximum(img, 1.0), 0.0)
        if style == "ct" and len(channels) == 0:
            outside = rng.uniform(0.1, 0.2) * extent  # air around a body box
            inside = np.all([(g > o) & (g < e - o) for g, o, e in zip(grid, outside, extent)], axis=0)
            labels[~inside] = 0
            img = np.where(inside, img, -1000.0 + rng.normal(0.0, 5.0, shape))
        channels.append(img.astype(np.float32))
    if style == "ct":
        channels[1] = np.where(labels > 0, channels[1], np.where(channels[0] < -500, 5.0, channels[1]))
    return np.stack(channels), labels


def foreground_properties(images, labels):
    """As DatasetFingerprintExtractor: intensity statistics of the foreground voxels per channel
    (here all of them, not a sample), keys sorted as in the fingerprint json."""
    out = {}
    for c in range(images[0].shape[0]):
        fg = np.concatenate([img[c][lab > 0] for img, lab in zip(images, labels)]).astype(np.float64)
        p005, median, p995 = np.percentile(fg, (0.5, 50.0, 99.5))
        out[str(c)] = {"max": float(fg.max()), "mean": float(fg.mean()), "median": float(median),
                       "min": float(fg.min()), "percentile_00_5": float(p005), "percentile_99_5": float(p995),
                       "std": float(fg.std())}
    return out


# --- plans and dataset.json ------------------------------------------------------------------

def architecture(spec, dim, patch, strides, kernels, features):
    resenc = "blocks" in spec
    n = len(features)
    kw = {"n_stages": n, "features_per_stage": features, "conv_op": f"torch.nn.modules.conv.Conv{dim}d",
          "kernel_sizes": kernels, "strides": strides}
    if resenc:
        kw["n_blocks_per_stage"] = spec["blocks"][:n] + [spec["blocks"][-1]] * (n - len(spec["blocks"]))
        kw["n_conv_per_stage_decoder"] = [1] * (n - 1)
    else:
        kw["n_conv_per_stage"] = [2] * n
        kw["n_conv_per_stage_decoder"] = [2] * (n - 1)
    kw.update({"conv_bias": True, "norm_op": f"torch.nn.modules.instancenorm.InstanceNorm{dim}d",
               "norm_op_kwargs": {"eps": 1e-05, "affine": True}, "dropout_op": None, "dropout_op_kwargs": None,
               "nonlin": "torch.nn.LeakyReLU", "nonlin_kwargs": {"inplace": True}})
    cls = "ResidualEncoderUNet" if resenc else "PlainConvUNet"
    return {"network_class_name": f"dynamic_network_architectures.architectures.unet.{cls}", "arch_kwargs": kw,
            "_kw_requires_import": ["conv_op", "norm_op", "dropout_op", "nonlin"]}


def configuration_entry(spec, name, spacing, patch, median_shape, arch, schemes, use_mask):
    """One plans.json configuration, as ExperimentPlanner.get_plans_for_configuration writes it."""
    ident = ("nnUNetPlans" if spec["plans_name"].startswith("nnUNetResEnc") else spec["plans_name"]) + "_" + name
    return {"data_identifier": ident, "preprocessor_name": "DefaultPreprocessor",
            "batch_size": 2 if len(patch) == 3 else 12, "patch_size": list(patch),
            "median_image_size_in_voxels": [float(m) for m in median_shape], "spacing": [float(s) for s in spacing],
            "normalization_schemes": schemes, "use_mask_for_norm": use_mask,
            "resampling_fn_data": "resample_data_or_seg_to_shape", "resampling_fn_seg": "resample_data_or_seg_to_shape",
            "resampling_fn_data_kwargs": {"is_seg": False, "order": 3, "order_z": 0, "force_separate_z": None},
            "resampling_fn_seg_kwargs": {"is_seg": True, "order": 1, "order_z": 0, "force_separate_z": None},
            "resampling_fn_probabilities": "resample_data_or_seg_to_shape",
            "resampling_fn_probabilities_kwargs": {"is_seg": False, "order": 1, "order_z": 0,
                                                   "force_separate_z": None},
            "architecture": arch, "batch_dice": name != "3d_fullres"}


def make_plans(spec, fg_props, train_shape):
    spacing = np.array(spec["spacing"])
    tf = [int(np.argmax(spacing))] + [i for i in range(3) if i != int(np.argmax(spacing))]  # determine_transpose
    tb = [int(np.argwhere(np.array(tf) == i)[0][0]) for i in range(3)]
    sp_t, shape_t = spacing[tf], np.array(train_shape)[tf]
    schemes = ["CTNormalization" if v.casefold() == "ct" else "ZScoreNormalization" for v in spec["channels"].values()]
    use_mask = [spec["style"] == "body" and s == "ZScoreNormalization" for s in schemes]
    configs = {}
    if spec["configuration"] == "2d":
        main = architecture(spec, 2, spec["patch"], spec["strides"], spec["kernels"], spec["features"])
        configs["2d"] = configuration_entry(spec, "2d", sp_t[1:], spec["patch"], shape_t[1:], main, schemes, use_mask)
        other_patch = [int(shape_t[0]), 32, 32]
        other = architecture(spec, 3, other_patch, [[1, 1, 1], [1, 2, 2], [1, 2, 2]], [[1, 3, 3]] * 2 + [[3, 3, 3]],
                             spec["features"][:3])
        configs["3d_fullres"] = configuration_entry(spec, "3d_fullres", sp_t, other_patch, shape_t, other, schemes,
                                                    use_mask)
    else:
        other = architecture(spec, 2, [32, 32], [[1, 1], [2, 2], [2, 2], [2, 2]], [[3, 3]] * 4, [4, 8, 16, 16])
        configs["2d"] = configuration_entry(spec, "2d", sp_t[1:], [32, 32], shape_t[1:], other, schemes, use_mask)
        main = architecture(spec, 3, spec["patch"], spec["strides"], spec["kernels"], spec["features"])
        configs["3d_fullres"] = configuration_entry(spec, "3d_fullres", sp_t, spec["patch"], shape_t, main, schemes,
                                                    use_mask)
    planner = "nnUNetPlannerResEncM" if "blocks" in spec else "ExperimentPlanner"
    return {"dataset_name": spec["dataset"], "plans_name": spec["plans_name"],
            "original_median_spacing_after_transp": [float(s) for s in sp_t],
            "original_median_shape_after_transp": [int(s) for s in shape_t],
            "image_reader_writer": spec["reader"], "transpose_forward": tf, "transpose_backward": tb,
            "configurations": configs, "experiment_planner_used": planner, "label_manager": "LabelManager",
            "foreground_intensity_properties_per_channel": fg_props}


def make_dataset_json(spec, num_training):
    out = {"channel_names": dict(spec["channels"]), "labels": copy.deepcopy(spec["labels"]),
           "numTraining": num_training, "file_ending": ".nii.gz", "name": spec["dataset"].split("_", 1)[1],
           "description": "synthetic phantoms (spheres in shells) for MedSeg's tests", "licence": "CC0",
           "reference": "MedSeg Testing/NNUNet/nnunet_fixture.py", "release": "1.0"}
    if "regions_class_order" in spec:
        out["regions_class_order"] = list(spec["regions_class_order"])
    if spec["reader"] != "SimpleITKIO":  # SimpleITKIO is the default reader for .nii.gz
        out["overwrite_image_reader_writer"] = spec["reader"]
    return out


# --- training --------------------------------------------------------------------------------

def training_set(spec, raw, plans, config):
    """The phantoms (at the plans spacing) preprocessed exactly as at inference (nnunet_reference)."""
    out = []
    for img, lab in raw:
        data, props = ref.preprocess(img, {"spacing": list(spec["spacing"])}, plans, config)
        lab = lab.transpose(plans["transpose_forward"])[tuple(slice(*b) for b in props["bbox_used_for_cropping"])]
        if "regions_class_order" in spec:  # region values: shell 1, sphere 2
            lab = np.choose(lab, [0, 2, 1]).astype(np.uint8)
        out.append((torch.from_numpy(np.ascontiguousarray(data)), torch.from_numpy(lab.astype(np.int64))))
    return out


def sample_batch(volumes, patch, batch, rng):
    xs, ys = [], []
    for _ in range(batch):
        x, y = volumes[rng.integers(len(volumes))]
        if len(patch) == 2:  # one slice of axis 0
            k = rng.integers(x.shape[1])
            x, y = x[:, k], y[k]
        pad = [max(0, p - s) for p, s in zip(patch, y.shape)]
        if any(pad):
            torch_pad = [v for p in reversed(pad) for v in (p // 2, p - p // 2)]
            x = torch.nn.functional.pad(x, torch_pad)
            y = torch.nn.functional.pad(y, torch_pad)
        start = [int(rng.integers(s - p + 1)) for p, s in zip(patch, y.shape)]
        fg = torch.nonzero(y > 0)
        if len(fg) and rng.random() < 0.5:  # foreground oversampling (nnU-Net: 33 %)
            centre = fg[rng.integers(len(fg))].tolist()
            start = [min(max(0, c - p // 2), s - p) for c, p, s in zip(centre, patch, y.shape)]
        sl = tuple(slice(s, s + p) for s, p in zip(start, patch))
        xs.append(x[(slice(None),) + sl])
        ys.append(y[sl])
    return torch.stack(xs), torch.stack(ys)


def loss_fn(logits, target, regions):
    """Cross-entropy + soft Dice (softmax), or BCE + soft Dice per region (sigmoid)."""
    dims = tuple(range(2, logits.ndim))
    if regions is None:
        onehot = torch.nn.functional.one_hot(target, logits.shape[1]).movedim(-1, 1).float()
        prob = torch.softmax(logits, 1)
        base = torch.nn.functional.cross_entropy(logits, target)
    else:
        onehot = torch.stack([torch.isin(target, torch.tensor(r)) for r in regions], 1).float()
        prob = torch.sigmoid(logits)
        base = torch.nn.functional.binary_cross_entropy_with_logits(logits, onehot)
    dice = (2 * (prob * onehot).sum(dims) + 1) / (prob.sum(dims) + onehot.sum(dims) + 1)
    return base + 0.3 * (1 - dice.mean())


def train(net, volumes, patch, iterations, rng, regions, snapshot_at=None):
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    snapshot = None
    for it in range(iterations):
        for group in opt.param_groups:  # poly decay, as nnU-Net's PolyLRScheduler
            group["lr"] = 1e-2 * (1 - it / iterations) ** 0.9
        x, y = sample_batch(volumes, patch, 2 if len(patch) == 3 else 8, rng)
        opt.zero_grad()
        loss = loss_fn(net(x), y, regions)
        loss.backward()
        opt.step()
        if snapshot_at is not None and it + 1 == snapshot_at:
            snapshot = copy.deepcopy(net.state_dict())
    net.eval()
    return snapshot, float(loss)


def sgd_state(net, volumes, patch, rng, regions, lr):
    """A real torch.optim.SGD state dict (nnUNetTrainer.configure_optimizers' hyperparameters, with
    momentum buffers), made by one step at learning rate 0 (the weights do not change)."""
    opt = torch.optim.SGD(net.parameters(), 0.0, weight_decay=3e-5, momentum=0.99, nesterov=True)
    net.train()
    x, y = sample_batch(volumes, patch, 2, rng)
    # + 0 * every parameter: the deep-supervision heads get a gradient (a momentum buffer) too, as in
    # nnU-Net's training, where every head is used
    (loss_fn(net(x), y, regions) + 0.0 * sum(p.sum() for p in net.parameters())).backward()
    opt.step()
    net.eval()
    state = opt.state_dict()
    for group in state["param_groups"]:
        group["lr"], group["initial_lr"] = lr, 0.01
    return state


def save_checkpoint(path, weights, optimizer_state, epoch, plans, configuration, fold, dataset_json, trainer,
                    mirror_axes, rng):
    """The dict nnUNetTrainer.save_checkpoint writes (logging: LocalLogger's lists, numpy floats)."""
    t0 = 1.7e9 + rng.uniform(0, 1e6)
    dice = [np.float64(0.9 * (1 - np.exp(-e / 150.0)) + rng.uniform(-0.01, 0.01)) for e in range(epoch)]
    ema = []
    for d in dice:
        ema.append(d if not ema else np.float64(ema[-1] * 0.9 + 0.1 * d))
    logging = {"mean_fg_dice": dice, "ema_fg_dice": ema,
               "dice_per_class_or_region": [[np.float64(d + 0.01), np.float64(d - 0.01)] for d in dice],
               "train_losses": [np.float64(-0.9 * (1 - np.exp(-e / 120.0)) + 0.1) for e in range(epoch)],
               "val_losses": [np.float64(-0.85 * (1 - np.exp(-e / 120.0)) + 0.12) for e in range(epoch)],
               "lrs": [0.01 * (1 - e / 1000) ** 0.9 for e in range(epoch)],
               "epoch_start_timestamps": [t0 + 60.0 * e for e in range(epoch)],
               "epoch_end_timestamps": [t0 + 60.0 * e + 58.5 for e in range(epoch)]}
    checkpoint = {"network_weights": weights, "optimizer_state": optimizer_state, "grad_scaler_state": None,
                  "logging": logging, "_best_ema": max(ema), "current_epoch": epoch,
                  "init_args": {"plans": copy.deepcopy(plans), "configuration": configuration, "fold": fold,
                                "dataset_json": copy.deepcopy(dataset_json), "device": torch.device("cpu")},
                  "trainer_name": trainer, "inference_allowed_mirroring_axes": mirror_axes}
    torch.save(checkpoint, path)


def build_model(spec, folder, quick, seed):
    """Fingerprint, plans, training and checkpoints of one results folder. Returns the seconds spent."""
    t = time.time()
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    raw = [phantom(spec["train_shape"], spec["spacing"], rng, spec["objects"], spec["style"], n_objects=1 + i % 3)
           for i in range(6)]
    fg_props = foreground_properties([r[0] for r in raw], [r[1] for r in raw])
    plans = make_plans(spec, fg_props, spec["train_shape"])
    dataset_json = make_dataset_json(spec, len(raw))
    config = plans["configurations"][spec["configuration"]]
    volumes = training_set(spec, raw, plans, config)
    os.makedirs(folder, exist_ok=True)
    for name, obj in (("plans.json", plans), ("dataset.json", dataset_json)):
        with open(os.path.join(folder, name), "w") as f:
            json.dump(obj, f, indent=4)
    fingerprint = {"foreground_intensity_properties_per_channel": fg_props,
                   "median_relative_size_after_cropping": 1.0 if spec["style"] != "body" else 0.55,
                   "shapes_after_crop": [list(spec["train_shape"])] * len(raw),
                   "spacings": [list(spec["spacing"])] * len(raw)}
    with open(os.path.join(folder, "dataset_fingerprint.json"), "w") as f:
        json.dump(fingerprint, f, indent=4, sort_keys=True)
    regions = None
    if "regions_class_order" in spec:
        regions = [v for k, v in spec["labels"].items() if k != "background"]
    heads = len(regions) if regions else len(spec["labels"])
    dim = len(spec["patch"])
    mirror_axes = (0, 1) if spec["trainer"].endswith("onlyMirror01") and dim == 3 else tuple(range(dim))
    if spec["trainer"].endswith("onlyMirror01") and dim == 2:
        mirror_axes = (0,)
    iterations = (60 if quick else 120) if dim == 3 else (150 if quick else 300)
    for fold in spec["folds"]:
        net = build_network(config["architecture"], len(spec["channels"]), heads, deep_supervision=False)
        net.apply(initialize_he)
        train_vols = [v for i, v in enumerate(volumes) if i % 3 != fold] if len(spec["folds"]) > 1 else volumes
        snap_at = int(iterations * 0.6) if spec["best"] else None
        snapshot, _ = train(net, train_vols, spec["train_patch"], iterations, rng, regions, snap_at)
        fdir = os.path.join(folder, f"fold_{fold}")
        os.makedirs(fdir, exist_ok=True)
        opt = sgd_state(net, train_vols, spec["train_patch"], rng, regions, 0.01 * (1 - 999 / 1000) ** 0.9)
        save_checkpoint(os.path.join(fdir, "checkpoint_final.pth"), net.state_dict(), opt, 1000, plans,
                        spec["configuration"], fold, dataset_json, spec["trainer"], mirror_axes, rng)
        if snapshot is not None:
            net.load_state_dict(snapshot)
            opt = sgd_state(net, train_vols, spec["train_patch"], rng, regions, 0.01 * (1 - 649 / 1000) ** 0.9)
            save_checkpoint(os.path.join(fdir, "checkpoint_best.pth"), snapshot, opt, 650, plans,
                            spec["configuration"], fold, dataset_json, spec["trainer"], mirror_axes, rng)
    return time.time() - t


# --- test images and expected label maps -----------------------------------------------------

def save_image(array, spacing, direction, origin, path):
    """array in nnU-Net's order [k, j, i] with spacing (sk, sj, si): stored as NIfTI voxels [i, j, k]
    (float32), affine = direction * diag(spacing i, j, k) + origin, as both qform and sform (code 1)."""
    affine = np.eye(4)
    affine[:3, :3] = np.asarray(direction, float) @ np.diag(spacing[::-1])
    affine[:3, 3] = origin
    img = nibabel.Nifti1Image(np.ascontiguousarray(array.transpose(2, 1, 0)).astype(np.float32), affine)
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    img.header.set_xyzt_units("mm", "sec")
    nibabel.save(img, path)


def margin_stats(logits, has_regions):
    """Fractions of voxels (of the cropped grid) whose decision is within 0.01 / 0.1 of a tie."""
    lg = logits.astype(np.float32)
    if has_regions:
        margin = np.abs(lg).min(0)
    else:
        top = np.sort(lg, 0)
        margin = top[-1] - top[-2]
    return {"below_0.01": float(np.mean(margin < 0.01)), "below_0.1": float(np.mean(margin < 0.1))}


def dice(a, b, v):
    return 2.0 * np.sum((a == v) & (b == v)) / max(1, np.sum(a == v) + np.sum(b == v))


def make(out_dir, quick, only=None):
    t_start = time.time()
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)  # faster than more threads for networks this small, and deterministic
    index = {"generator": "Testing/NNUNet/nnunet_fixture.py", "reference": "Testing/NNUNet/nnunet_reference.py",
             "quick": bool(quick), "cases": []}
    folders, specs, timings = {}, {}, {}
    if only:
        unknown = set(only) - {c["name"] for c in CASES}
        if unknown:
            raise SystemExit(f"unknown case(s) {', '.join(sorted(unknown))}")
        only = set(only) | {c["same_model_as"] for c in CASES if c["name"] in only and "same_model_as" in c}
    for n, spec in enumerate(CASES):
        if only and spec["name"] not in only:
            continue
        case_dir = os.path.join(out_dir, spec["name"])
        shutil.rmtree(case_dir, ignore_errors=True)
        os.makedirs(os.path.join(case_dir, "imagesTs"))
        if "same_model_as" in spec:
            model_spec = specs[spec["same_model_as"]]
            src = folders[spec["same_model_as"]]
            folder = os.path.join(case_dir, os.path.relpath(src, os.path.join(out_dir, spec["same_model_as"])))
            shutil.copytree(src, folder)
            timings[spec["name"]] = {"train_s": 0.0}
        else:
            model_spec = spec
            folder = os.path.join(case_dir, spec["dataset"],
                                  f"{spec['trainer']}__{spec['plans_name']}__{spec['configuration']}")
            timings[spec["name"]] = {"train_s": round(build_model(spec, folder, quick, 1000 + n), 2)}
        folders[spec["name"]], specs[spec["name"]] = folder, model_spec
        test = spec["test"]
        rng = np.random.default_rng(2000 + n)
        image, truth = phantom(test["shape"], test["spacing"], rng, model_spec["objects"], model_spec["style"])
        if "regions_class_order" in model_spec:  # label map values: shell 1, sphere 2
            truth = np.choose(truth, [0, 2, 1])
        inputs = []
        for c in range(image.shape[0]):
            path = os.path.join(case_dir, "imagesTs", f"{spec['name']}_{c:04d}.nii.gz")
            save_image(image[c], test["spacing"], test["direction"], test["origin"], path)
            inputs.append(path)
        t = time.time()
        for run in spec["runs"]:
            model = ref.load_model(folder, run["folds"], run["checkpoint"])
            expected = os.path.join(case_dir, f"expected_labels{run['suffix']}.nii.gz")
            seg, logits, steps = ref.predict_files(model, inputs, expected)
            rel = lambda p: os.path.relpath(p, out_dir)  # noqa: E731
            index["cases"].append({
                "name": spec["name"] + run["suffix"], "model": rel(folder), "inputs": [rel(p) for p in inputs],
                "expected": rel(expected), "folds": run["folds"], "checkpoint": run["checkpoint"],
                "configuration": model_spec["configuration"], "trainer": model_spec["trainer"],
                "image_reader_writer": model_spec["reader"], "input_spacing_kji": list(test["spacing"]),
                "input_shape_kji": list(test["shape"]), "transposed_steps": steps, "label_counts":
                    {str(int(v)): int(c) for v, c in zip(*np.unique(seg, return_counts=True))},
                "margin_fraction": margin_stats(logits, model["labels"].has_regions),
                "dice_vs_phantom": {str(v): round(dice(seg, truth, v), 4) for v in (1, 2)}, "notes": spec["notes"]})
        timings[spec["name"]]["reference_s"] = round(time.time() - t, 2)
    index["seconds"] = {"total": round(time.time() - t_start, 1), "per_case": timings}
    with open(os.path.join(out_dir, "cases.json"), "w") as f:
        json.dump(index, f, indent=2)
    return index


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("make", help="write the fixtures")
    p.add_argument("--out", required=True, help="output folder (its case subfolders are replaced)")
    p.add_argument("--quick", action="store_true", help="train fewer iterations")
    p.add_argument("--cases", help="comma-separated subset of: " + ", ".join(c["name"] for c in CASES))
    args = parser.parse_args(argv)
    index = make(args.out, args.quick, args.cases.split(",") if args.cases else None)
    print(f"{len(index['cases'])} runs in {args.out}/cases.json ({index['seconds']['total']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
