#!/usr/bin/python3
"""Small MONAI bundles (Model Zoo layout), test images and reference label maps for MedSeg's tests.

    monai_fixture.py make --out DIR [--iters N]

writes DIR/<bundle>/{configs/metadata.json, configs/inference.json|yaml, models/model.ts,
models/model.pt, docs/README.md}, test images DIR/images/*.nii.gz, for every run the label map
monai_reference.py predicts (DIR/expected/<run>_labels.nii.gz), and DIR/cases.json, the index
(paths relative to DIR).

Bundles (configs modelled on the Model Zoo's spleen_ct_segmentation inference.json/metadata.json):
  spleen_ct   (a) that config's shape: Orientationd RAS, Spacingd [1.5,1.5,2.0] bilinear,
                  ScaleIntensityRanged -57..164 -> 0..1 clip, SlidingWindowInferer (roi 32, sw 4,
                  overlap 0.5), Activationsd softmax, Invertd, AsDiscreted argmax, SaveImaged.
  mri_lesion  (b) Spacingd 1.2 iso, CropForegroundd (source_key image, margin 4),
                  NormalizeIntensityd (nonzero, channel_wise), gaussian blending (sigma_scale 0.125),
                  KeepLargestConnectedComponentd (applied_labels [1]) after AsDiscreted.
  multichannel (c) inference.yaml; 2 input channels (a 4-D NIfTI, channels last), 3 labels; values
                  given by @ / $ / # references.
  unsupported (d) spleen_ct's config plus RandGaussianNoised in preprocessing: must be refused.
  zoo_style   (f) Model Zoo spellings (monai_fixture_zoo.py): preprocessing "$@a + @b", EnsureChannelFirstd
  zoo_yaml        channel_dim "no_channel", ScaleIntensityd with NormalizeIntensityd(nonzero "True") in
                  both orders, SlidingWindowInferer padding_mode replicate / reflect with an axis shorter
                  than roi, AsDiscreted + KeepLargestConnectedComponentd before Invertd (nearest).
                  zoo_yaml's transforms: '@transforms'.  Both reuse mri_lesion's network.
  refusals    (e) more bundles MedSeg must refuse, each for one reason (cases.json: refusal):
                  missing_model (no models/model.ts), channel_mismatch (metadata.json: 2 input
                  channels, config/images/model.ts: 1), label_mismatch (metadata.json: 3 output
                  channels, model.ts returns 2), python_code (a ScaleIntensityRanged argument that
                  is the Python expression "$np.float32(0.5) * 2").

Networks are the fixture's own FixtureUNet (monai_fixture_network.py, plain torch: this script needs
no MONAI), trained for a few seconds with Adam on synthetic ellipsoid phantoms made here (no
subject's scan), then torch.jit.script-ed and torch.jit.save-d as models/model.ts (the state dict
as models/model.pt for the configs' CheckpointLoader).  The configs load the network as the Model
Zoo's TorchScript configs (inference_trt.json) do: "network_def": "$torch.jit.load(@bundle_root +
'/models/model.ts')"; MedSeg ignores network_def and always loads models/model.ts.
"""
import argparse
import json
import os
import shutil
import sys
import time

import nibabel
import numpy as np
import torch
from scipy.ndimage import gaussian_filter

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import monai_reference as ref  # noqa: E402
import monai_fixture_network as fnet  # noqa: E402
import monai_fixture_zoo as zoo  # noqa: E402

# ----------------------------------------------------------------------------------------------
# Geometry and phantoms (world = RAS mm, as nibabel's affine)
# ----------------------------------------------------------------------------------------------
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Helpers"))
from fixture_geometry import rotation as rot  # noqa: E402


def make_affine(direction, spacing, origin):
    a = np.eye(4)
    a[:3, :3] = np.asarray(direction, float) @ np.diag(spacing)
    a[:3, 3] = origin
    return a


def centred_affine(direction, spacing, shape, centre=(0.0, 0.0, 0.0)):
    """Affine whose volume centre lies at `centre` (mm)."""
    a = make_affine(direction, spacing, (0, 0, 0))
    a[:3, 3] = np.asarray(centre) - a[:3, :3] @ ((np.asarray(shape) - 1) / 2.0)
    return a


def world_grid(shape, affine):
    idx = np.indices(shape, dtype=np.float64).reshape(3, -1)
    return (affine[:3, :3] @ idx + affine[:3, 3:4]).reshape((3,) + tuple(shape))


def ellipsoid(w, centre, radii, rotation=np.eye(3)):
    p = np.tensordot(rotation.T, w - np.asarray(centre, float).reshape(3, 1, 1, 1), axes=1)
    return sum((p[i] / radii[i]) ** 2 for i in range(3)) <= 1.0


def phantom(kind, w, objs, rng):
    """Intensity image (one array per channel) and label map at world positions w (3, X, Y, Z)."""
    shape = w.shape[1:]
    lab = np.zeros(shape, np.int64)
    noise = lambda s: gaussian_filter(rng.normal(0, 1, shape), 0.7) * s  # noqa: E731
    if kind == "ct":
        img = np.full(shape, -1000.0)
        img[ellipsoid(w, objs["body_c"], objs["body_r"])] = 30.0
        img[ellipsoid(w, objs["liver_c"], objs["liver_r"])] = 60.0
        s = ellipsoid(w, objs["c"], objs["r"], objs.get("R", np.eye(3)))
        img[s] = 120.0
        lab[s] = 1
        body = img > -500
        img[body] += noise(18.0)[body]
        return [img], lab
    if kind == "mr":
        head = ellipsoid(w, objs["body_c"], objs["body_r"])
        img = np.zeros(shape)
        img[head] = 300.0
        s = ellipsoid(w, objs["c"], objs["r"], objs.get("R", np.eye(3)))
        img[s & head] = 650.0
        lab[s & head] = 1
        if "blob_c" in objs:  # a small second lesion: the network labels it, LCC removes it
            b = ellipsoid(w, objs["blob_c"], objs["blob_r"]) & head
            img[b] = 650.0
            lab[b] = 1
        img[head] = np.maximum(img[head] + noise(40.0)[head], 1.0)  # stays > 0 inside, 0 outside
        return [img], lab
    if kind == "mc":
        body = ellipsoid(w, objs["body_c"], objs["body_r"])
        a = ellipsoid(w, objs["c"], objs["r"], objs.get("R", np.eye(3))) & body
        b = ellipsoid(w, objs["c2"], objs["r2"]) & body
        c0 = np.where(body, 100.0, 0.0)
        c0[a | b] = 220.0
        c1 = np.where(body, 80.0, 0.0)
        c1[b] = 200.0
        lab[a] = 1
        lab[b] = 2
        return [c0 + noise(15.0), c1 + noise(15.0)], lab
    raise ValueError(kind)


def random_objects(kind, rng, extent):
    e = np.asarray(extent, float) / 2.0
    r = lambda lo, hi: rng.uniform(lo, hi, 3)  # noqa: E731
    o = dict(body_c=r(-0.1, 0.1) * e, body_r=e * rng.uniform(0.75, 1.05, 3),
             c=r(-0.35, 0.35) * e, r=e * rng.uniform(0.18, 0.35, 3),
             R=rot(2, rng.uniform(-30, 30)) @ rot(0, rng.uniform(-20, 20)))
    o["liver_c"], o["liver_r"] = -o["c"] * 0.8, e * rng.uniform(0.2, 0.35, 3)
    if kind == "mr" and rng.random() < 0.5:
        o["blob_c"], o["blob_r"] = -o["c"], e * 0.08
    if kind == "mc":
        o["c2"], o["r2"] = -o["c"] * 0.9, e * rng.uniform(0.15, 0.3, 3)
    return o


# ----------------------------------------------------------------------------------------------
# Bundles
# ----------------------------------------------------------------------------------------------
TS_NETWORK = "$torch.jit.load(@bundle_root + '/models/model.ts')"  # as the Zoo's inference_trt.json


def spleen_like_config(roi, pixdim, extra_pre=None, b_max=1):
    """spleen_ct_segmentation's configs/inference.json, sizes shrunk, the network from model.ts."""
    pre = [
        {"_target_": "LoadImaged", "keys": "image"},
        {"_target_": "EnsureChannelFirstd", "keys": "image"},
        {"_target_": "Orientationd", "keys": "image", "axcodes": "RAS"},
        {"_target_": "Spacingd", "keys": "image", "pixdim": pixdim, "mode": "bilinear"},
        {"_target_": "ScaleIntensityRanged", "keys": "image", "a_min": -57, "a_max": 164, "b_min": 0,
         "b_max": b_max, "clip": True},
        {"_target_": "EnsureTyped", "keys": "image"},
    ]
    if extra_pre:
        pre.insert(5, extra_pre)
    return {
        "imports": ["$import glob", "$import os"],
        "bundle_root": ".",
        "output_dir": "$@bundle_root + '/eval'",
        "dataset_dir": "/workspace/data/Task09_Spleen",
        "datalist": "$list(sorted(glob.glob(@dataset_dir + '/imagesTs/*.nii.gz')))",
        "device": "$torch.device('cuda:0' if torch.cuda.is_available() else 'cpu')",
        "network_def": TS_NETWORK,
        "network": "$@network_def.to(@device)",
        "preprocessing": {"_target_": "Compose", "transforms": pre},
        "dataset": {"_target_": "Dataset", "data": "$[{'image': i} for i in @datalist]",
                    "transform": "@preprocessing"},
        "dataloader": {"_target_": "DataLoader", "dataset": "@dataset", "batch_size": 1, "shuffle": False,
                       "num_workers": 0},
        "inferer": {"_target_": "SlidingWindowInferer", "roi_size": roi, "sw_batch_size": 4, "overlap": 0.5},
        "postprocessing": {"_target_": "Compose", "transforms": [
            {"_target_": "Activationsd", "keys": "pred", "softmax": True},
            {"_target_": "Invertd", "keys": "pred", "transform": "@preprocessing", "orig_keys": "image",
             "meta_key_postfix": "meta_dict", "nearest_interp": False, "to_tensor": True},
            {"_target_": "AsDiscreted", "keys": "pred", "argmax": True},
            {"_target_": "SaveImaged", "keys": "pred", "output_dir": "@output_dir", "separate_folder": False,
             "resample": False}]},
        "handlers": [
            {"_target_": "CheckpointLoader", "load_path": "$@bundle_root + '/models/model.pt'",
             "load_dict": {"model": "@network"}},
            {"_target_": "StatsHandler", "iteration_log": False}],
        "evaluator": {"_target_": "SupervisedEvaluator", "device": "@device", "val_data_loader": "@dataloader",
                      "network": "@network", "inferer": "@inferer", "postprocessing": "@postprocessing",
                      "val_handlers": "@handlers", "amp": True},
        "initialize": ["$monai.utils.set_determinism(seed=123)"],
        "run": ["$@evaluator.run()"],
    }


def mri_config():
    c = spleen_like_config([32, 32, 32], [1.2, 1.2, 1.2])
    c["dataset_dir"] = "/workspace/data/mri"
    c["preprocessing"]["transforms"] = [
        {"_target_": "LoadImaged", "keys": "image"},
        {"_target_": "EnsureChannelFirstd", "keys": "image"},
        {"_target_": "Orientationd", "keys": "image", "axcodes": "RAS"},
        {"_target_": "Spacingd", "keys": "image", "pixdim": [1.2, 1.2, 1.2], "mode": "bilinear"},
        {"_target_": "CropForegroundd", "keys": "image", "source_key": "image", "margin": 4},
        {"_target_": "NormalizeIntensityd", "keys": "image", "nonzero": True, "channel_wise": True},
        {"_target_": "EnsureTyped", "keys": "image"},
    ]
    c["inferer"] = {"_target_": "SlidingWindowInferer", "roi_size": [32, 32, 32], "sw_batch_size": 2,
                    "overlap": 0.5, "mode": "gaussian", "sigma_scale": 0.125}
    post = c["postprocessing"]["transforms"]
    post.insert(3, {"_target_": "KeepLargestConnectedComponentd", "keys": "pred", "applied_labels": [1]})
    return c


MULTICHANNEL_YAML = """\
# MedSeg test bundle (c): 2 input channels, 3 labels, values given by references.
imports:
- $import glob
- $import os
bundle_root: .
output_dir: $@bundle_root + '/eval'
dataset_dir: /workspace/data/multichannel
datalist: $list(sorted(glob.glob(@dataset_dir + '/imagesTs/*.nii.gz')))
device: "$torch.device('cuda:0' if torch.cuda.is_available() else 'cpu')"
image_key: image
num_classes: 3
roi: [32, 32, 32]
spacing: [1.2, 1.2, 1.5]
network_info:  # what models/model.ts is (monai_fixture_network.FixtureUNet); read by sw_batch_size
  in_channels: 2
  out_channels: '@num_classes'
network_def: $torch.jit.load(@bundle_root + '/models/model.ts')
network: $@network_def.to(@device)
preprocessing:
  _target_: Compose
  transforms:
  - _target_: LoadImaged
    keys: '@image_key'
  - _target_: EnsureChannelFirstd
    keys: '@image_key'
  - _target_: Orientationd
    keys: '@image_key'
    axcodes: RAS
  - _target_: Spacingd
    keys: '@image_key'
    pixdim: '@spacing'
    mode: bilinear
  - _target_: NormalizeIntensityd
    keys: '@image_key'
    channel_wise: true
  - _target_: EnsureTyped
    keys: '@image_key'
dataset:
  _target_: Dataset
  data: "$[{'image': i} for i in @datalist]"
  transform: '@preprocessing'
dataloader:
  _target_: DataLoader
  dataset: '@dataset'
  batch_size: 1
  shuffle: false
  num_workers: 0
inferer:
  _target_: SlidingWindowInferer
  roi_size: '@roi'
  sw_batch_size: $max(1, @network_info#out_channels - 1)
  overlap: $0.5 / 2
postprocessing:
  _target_: Compose
  transforms:
  - _target_: Activationsd
    keys: pred
    softmax: true
  - _target_: Invertd
    keys: pred
    transform: '@preprocessing'
    orig_keys: '@image_key'
    nearest_interp: false
    to_tensor: true
  - _target_: AsDiscreted
    keys: pred
    argmax: true
  - _target_: SaveImaged
    keys: pred
    output_dir: '@output_dir'
    separate_folder: false
    resample: false
handlers:
- _target_: CheckpointLoader
  load_path: $@bundle_root + '/models/model.pt'
  load_dict:
    model: '@network'
evaluator:
  _target_: SupervisedEvaluator
  device: '@device'
  val_data_loader: '@dataloader'
  network: '@network'
  inferer: '@inferer'
  postprocessing: '@postprocessing'
  val_handlers: '@handlers'
initialize:
- $monai.utils.set_determinism(seed=123)
run:
- $@evaluator.run()
"""


def metadata(name, task, modality, in_ch, out_def, patch, value_range, fmt):
    """spleen_ct_segmentation's configs/metadata.json shape."""
    return {
        "schema": "https://github.com/Project-MONAI/MONAI-extra-test-data/releases/download/0.8.1/"
                  "meta_schema_20220324.json",
        "version": "0.1.0",
        "changelog": {"0.1.0": "MedSeg test fixture (monai_fixture.py)"},
        "monai_version": "1.5.0",
        "pytorch_version": torch.__version__.split("a")[0],
        "numpy_version": np.__version__,
        "optional_packages_version": {"nibabel": nibabel.__version__},
        "name": name,
        "task": task,
        "description": f"A tiny {task} model trained for seconds on synthetic phantoms; for MedSeg's tests only.",
        "authors": "MedSeg test fixture",
        "copyright": "Copyright (c) MedSeg contributors",
        "data_source": "synthetic ellipsoid phantoms generated by Testing/MONAI/monai_fixture.py",
        "data_type": "nibabel",
        "image_classes": f"{in_ch} channel data, intensity scaled as in configs/inference",
        "label_classes": ", ".join(f"{k} is {v}" for k, v in out_def.items()),
        "pred_classes": ", ".join(f"{k} is {v}" for k, v in out_def.items()),
        "eval_metrics": {"mean_dice": 0.0},
        "intended_use": "This is an example, not to be used for diagnostic purposes",
        "references": [],
        "network_data_format": {
            "inputs": {"image": {"type": "image", "format": fmt, "modality": modality, "num_channels": in_ch,
                                 "spatial_shape": patch, "dtype": "float32", "value_range": value_range,
                                 "is_patch_data": True,
                                 "channel_def": {str(i): f"channel{i}" for i in range(in_ch)}}},
            "outputs": {"pred": {"type": "image", "format": "segmentation", "num_channels": len(out_def),
                                 "spatial_shape": patch, "dtype": "float32", "value_range": [0, 1],
                                 "is_patch_data": True, "channel_def": out_def}},
        },
    }


def readme(name, text):
    return f"# {name}\n\nMedSeg test bundle written by Testing/MONAI/monai_fixture.py.\n\n{text}\n\n" \
           "Trained for seconds on synthetic phantoms; not a medical model.\n"


# ----------------------------------------------------------------------------------------------
# Training (on phantoms put through the bundle's own intensity steps, at its target spacing)
# ----------------------------------------------------------------------------------------------
def training_batch(kind, rng, n, shape, pixdim, intensity):
    xs, ys = [], []
    for _ in range(n):
        aff = centred_affine(np.eye(3), pixdim, shape)
        w = world_grid(shape, aff)
        chans, lab = phantom(kind, w, random_objects(kind, rng, np.asarray(shape) * pixdim), rng)
        x = intensity(np.stack(chans).astype(np.float32))
        xs.append(x)
        ys.append(lab)
    return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))


def ct_intensity(x):
    return np.clip((x + 57.0) / 221.0, 0, 1).astype(np.float32)


def z_nonzero(x):
    out = x.copy()
    for c in range(len(x)):
        m = x[c] != 0
        out[c][m] = (x[c][m] - x[c][m].mean()) / max(x[c][m].std(), 1e-8)
    return out


def z_all(x):
    return np.stack([(c - c.mean()) / max(c.std(), 1e-8) for c in x]).astype(np.float32)


def train(kind, in_ch, out_ch, pixdim, intensity, iters, seed):
    """A FixtureUNet (monai_fixture_network.py) on batches of 2 phantoms of 24^3 at the bundle's spacing."""
    return fnet.train(in_ch, out_ch, lambda rng: training_batch(kind, rng, 2, (24, 24, 24), pixdim, intensity),
                      iters, seed)


def write_bundle(out, name, config, config_name, meta, doc):
    b = os.path.join(out, name)
    os.makedirs(os.path.join(b, "configs"), exist_ok=True)
    os.makedirs(os.path.join(b, "docs"), exist_ok=True)
    with open(os.path.join(b, "configs", config_name), "w") as f:
        f.write(config if isinstance(config, str) else json.dumps(config, indent=4) + "\n")
    with open(os.path.join(b, "configs", "metadata.json"), "w") as f:
        json.dump(meta, f, indent=4)
        f.write("\n")
    with open(os.path.join(b, "docs", "README.md"), "w") as f:
        f.write(doc)
    return b


def write_image(path, chans, affine, dtype=np.float32):
    data = chans[0] if len(chans) == 1 else np.stack(chans, axis=-1)
    img = nibabel.Nifti1Image(data.astype(dtype), affine)
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    nibabel.save(img, path)


# Test runs: bundle, image kind, shape, direction (RAS world), spacing, centre, objects, notes
LPS = np.diag([-1.0, -1.0, 1.0])
LAS = np.diag([-1.0, 1.0, 1.0])
PERM_OBLIQUE = rot(2, 15) @ rot(0, 8) @ np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0]], float)
RUNS = [
    dict(name="spleen_ras", bundle="spleen_ct", kind="ct", shape=(44, 40, 24), direction=np.eye(3),
         spacing=(1.1, 1.3, 2.5), centre=(12.0, -20.0, 30.0),
         notes="RAS-stored, anisotropic; z after Spacingd (30) < roi 32 -> sliding window pads"),
    dict(name="spleen_lps", bundle="spleen_ct", kind="ct", shape=(48, 44, 16), direction=LPS,
         spacing=(0.9, 0.9, 3.0), centre=(-5.0, 10.0, -40.0),
         notes="LPS-stored (affine diag(-,-,+)): Orientationd flips x and y"),
    dict(name="spleen_oblique", bundle="spleen_ct", kind="ct", shape=(30, 40, 36), direction=PERM_OBLIQUE,
         spacing=(1.6, 1.4, 1.8), centre=(0.0, 0.0, 0.0),
         notes="oblique (15 deg about z, 8 about x) with permuted axes (stored ASR): Orientationd "
               "transposes, Spacingd keeps the rotation"),
    dict(name="mri_las", bundle="mri_lesion", kind="mr", shape=(48, 40, 28), direction=LAS,
         spacing=(0.9, 1.1, 1.6), centre=(3.0, 2.0, 1.0), body_shift=(-14.0, 0.0, 0.0), blob=True,
         notes="LAS-stored, anisotropic; head touches the -x border so the CropForegroundd box (margin 4) "
               "leaves the image and is zero-padded; a second small lesion is removed by "
               "KeepLargestConnectedComponentd"),
    dict(name="mri_iso", bundle="mri_lesion", kind="mr", shape=(36, 40, 32), direction=np.eye(3),
         spacing=(1.2, 1.2, 1.2), centre=(0.0, 0.0, 0.0),
         notes="RAS at exactly the target spacing: Spacingd does not resample (affine_unchanged)"),
    dict(name="multichannel_oblique", bundle="multichannel", kind="mc", shape=(40, 36, 30),
         direction=rot(1, 12) @ LPS, spacing=(1.0, 1.1, 1.6), centre=(0.0, 5.0, -8.0),
         notes="4-D NIfTI (X,Y,Z,2), LPS-stored and oblique (12 deg about y)"),
    dict(name="multichannel_ras", bundle="multichannel", kind="mc", shape=(36, 36, 24), direction=np.eye(3),
         spacing=(1.3, 1.3, 1.9), centre=(0.0, 0.0, 0.0), notes="4-D NIfTI (X,Y,Z,2), RAS"),
    dict(name="zoo_ras_short", bundle="zoo_style", kind="mr", shape=(40, 44, 18), direction=np.eye(3),
         spacing=(1.0, 0.9, 1.5), centre=(2.0, -3.0, 4.0), blob=True,
         notes="RAS; z after Spacingd 1.2 is 22 < roi 32: replicate padding (5 + 5) of a head cut by both z "
               "faces; a second lesion removed by KeepLargestConnectedComponentd before Invertd"),
    dict(name="zoo_lps_oblique", bundle="zoo_style", kind="mr", shape=(42, 20, 38), direction=rot(1, 10) @ LPS,
         spacing=(1.1, 1.4, 1.0), centre=(-4.0, 6.0, 0.0), blob=True,
         notes="LPS-stored, 10 deg oblique about y; the short stored axis (j, 20 x 1.4 mm) gives 24 < 32 after "
               "Spacingd: replicate padding along A-P"),
    dict(name="zoo_yaml_oblique", bundle="zoo_yaml", kind="mr", shape=(22, 40, 36), direction=PERM_OBLIQUE,
         spacing=(1.3, 1.0, 1.1), centre=(0.0, 2.0, -2.0), blob=True,
         notes="oblique (15 deg about z, 8 about x), permuted axes (stored ASR); the short stored axis (i, 22 x "
               "1.3 mm, ~A) gives 24 < 32 after Orientationd + Spacingd: reflect padding (4 + 4) along A-P; "
               "Invertd nearest meets coordinates within 1e-7 of .5 (float32 header)"),
    # Refusals: MedSeg must exit non-zero with one stderr line naming the bundle (folder or file), write
    # nothing.  refusal_file: the file at fault, relative to the bundle; names: words the line must hold.
    dict(name="unsupported_refused", bundle="unsupported", kind="ct", image="spleen_ras",
         refusal_kind="unsupported_transform", refusal_file="configs/inference.json", names=["RandGaussianNoised"],
         notes="RandGaussianNoised in preprocessing: MedSeg must refuse (non-zero exit, no output file)"),
    dict(name="missing_model", bundle="missing_model", kind="ct", image="spleen_ras", refusal_kind="missing_model",
         refusal_file="models/model.ts", names=[],
         refusal="models/model.ts is missing (models/model.pt alone is not enough: MedSeg runs TorchScript only)",
         notes="spleen_ct without models/model.ts (model.pt is there)"),
    dict(name="channel_mismatch", bundle="channel_mismatch", kind="ct", image="spleen_ras",
         refusal_kind="channel_mismatch", refusal_file="configs/metadata.json", names=[],
         refusal="metadata.json network_data_format inputs.image.num_channels is 2, but the config's "
                 "preprocessing gives 1 channel and model.ts's first convolution takes 1",
         notes="spleen_ct with metadata.json saying 2 input channels"),
    dict(name="label_mismatch", bundle="label_mismatch", kind="ct", image="spleen_ras",
         refusal_kind="label_mismatch", refusal_file="configs/metadata.json", names=[],
         refusal="metadata.json network_data_format outputs.pred.num_channels is 3 (channel_def 0..2), "
                 "but model.ts returns 2 channels",
         notes="spleen_ct with metadata.json saying 3 output channels"),
    dict(name="python_code", bundle="python_code", kind="ct", image="spleen_ras", refusal_kind="python_code",
         refusal_file="configs/inference.json", names=[],
         refusal="preprocessing::transforms::4::b_max is the Python expression '$np.float32(0.5) * 2'",
         notes="spleen_ct with ScaleIntensityRanged b_max '$np.float32(0.5) * 2' (MONAI evaluates it to 1.0)"),
]


def test_objects(run, rng):
    ext = np.asarray(run["shape"]) * np.asarray(run["spacing"])
    e = np.sort(ext)[::-1] / 2.0  # largest first: keep the objects inside whatever the axis order
    e = np.full(3, e[1])
    c = np.asarray(run["centre"], float)
    o = dict(body_c=c + np.asarray(run.get("body_shift", (0, 0, 0))), body_r=e * 0.9,
             c=c + np.array([0.25, -0.15, 0.1]) * e, r=e * np.array([0.32, 0.25, 0.22]),
             R=rot(2, 20) @ rot(1, 10), liver_c=c - np.array([0.3, -0.1, 0.0]) * e, liver_r=e * 0.3)
    if run["kind"] == "mr":
        o["c"] = o["body_c"] + np.array([0.2, -0.1, 0.05]) * e
        if run.get("blob"):
            o["blob_c"], o["blob_r"] = o["body_c"] + np.array([0.5, 0.45, -0.2]) * e, e * 0.1
    if run["kind"] == "mc":
        o["c2"], o["r2"] = c - np.array([0.3, 0.2, 0.0]) * e, e * np.array([0.25, 0.25, 0.2])
    return o


CT_META = ("CT", 1, {"0": "background", "1": "spleen"}, [32, 32, 32], [0, 1], "hounsfield")


def ct_metadata(name, task="Refusal test", in_ch=1, out_def=None):
    m, _, d, patch, vr, fmt = CT_META
    return metadata(name, task, m, in_ch, out_def or d, patch, vr, fmt)


def refusal_bundles(out, net):
    """(d)/(e): spleen_ct's config and network, each broken in one way."""
    noise = {"_target_": "RandGaussianNoised", "keys": "image", "prob": 1.0, "std": 0.05}
    spec = [
        ("unsupported", spleen_like_config([32, 32, 32], [1.5, 1.5, 2.0], extra_pre=noise),
         ct_metadata("Unsupported-transform bundle (MedSeg test)"),
         "spleen_ct plus RandGaussianNoised: a runtime must refuse it."),
        ("missing_model", spleen_like_config([32, 32, 32], [1.5, 1.5, 2.0]), ct_metadata("Missing-model bundle (MedSeg test)"),
         "spleen_ct without models/model.ts (models/model.pt only): a runtime must refuse it."),
        ("channel_mismatch", spleen_like_config([32, 32, 32], [1.5, 1.5, 2.0]),
         ct_metadata("Channel-mismatch bundle (MedSeg test)", in_ch=2),
         "metadata.json claims 2 input channels; the config, the images and model.ts have 1."),
        ("label_mismatch", spleen_like_config([32, 32, 32], [1.5, 1.5, 2.0]),
         ct_metadata("Label-mismatch bundle (MedSeg test)", out_def={"0": "background", "1": "spleen", "2": "liver"}),
         "metadata.json claims 3 output channels; model.ts returns 2."),
        ("python_code", spleen_like_config([32, 32, 32], [1.5, 1.5, 2.0], b_max="$np.float32(0.5) * 2"),
         ct_metadata("Python-expression bundle (MedSeg test)"),
         "A preprocessing argument is a Python expression: a runtime that does not run Python must refuse it."),
    ]
    for name, config, meta, doc in spec:
        b = write_bundle(out, name, config, "inference.json", meta, readme(name, doc))
        fnet.save_model(net, b)
        if name == "missing_model":
            os.remove(os.path.join(b, "models", "model.ts"))


REFUSAL_BUNDLES = ("unsupported", "missing_model", "channel_mismatch", "label_mismatch", "python_code")


def make(out, iters, exact_grid=False):
    # One thread: these nets are small, and on busy cores more threads spin against each other (an
    # Adam step took 0.65 s with 2 threads at load 5 on 2 cores, 0.11 s with 1).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _make(out, iters, exact_grid)
    finally:
        torch.set_num_threads(threads)


def _make(out, iters, exact_grid):
    os.makedirs(out, exist_ok=True)
    if not exact_grid:  # expected labels with MONAI's own resampling coordinates (monai_reference.TORCH_GRID)
        ref.TORCH_GRID = True
    timings = {}
    # (a) spleen-like CT
    t = time.time()
    ca = spleen_like_config([32, 32, 32], [1.5, 1.5, 2.0])
    b = write_bundle(out, "spleen_ct", ca, "inference.json",
                     ct_metadata("Spleen-like CT segmentation (MedSeg test)", "Spleen-like segmentation"),
                     readme("spleen_ct", "Shaped like spleen_ct_segmentation's inference.json."))
    net_a, la = train("ct", 1, 2, (1.5, 1.5, 2.0), ct_intensity, iters, 1)
    fnet.save_model(net_a, b)
    timings["spleen_ct"] = dict(train_s=round(time.time() - t, 1), final_loss=round(la, 3))
    refusal_bundles(out, net_a)
    # (b) MRI-like
    t = time.time()
    b = write_bundle(out, "mri_lesion", mri_config(), "inference.json",
                     metadata("MRI-like lesion segmentation (MedSeg test)", "Lesion segmentation", "MR", 1,
                              {"0": "background", "1": "lesion"}, [32, 32, 32], [-4, 4], "magnitude"),
                     readme("mri_lesion", "CropForegroundd, NormalizeIntensityd(nonzero, channel_wise), gaussian "
                            "blending, KeepLargestConnectedComponentd."))
    net_b, lb = train("mr", 1, 2, (1.2, 1.2, 1.2), z_nonzero, iters, 2)
    fnet.save_model(net_b, b)
    timings["mri_lesion"] = dict(train_s=round(time.time() - t, 1), final_loss=round(lb, 3))
    # (c) multi-channel, YAML
    t = time.time()
    b = write_bundle(out, "multichannel", MULTICHANNEL_YAML, "inference.yaml",
                     metadata("Two-channel three-label segmentation (MedSeg test)", "Multi-label segmentation",
                              "MR", 2, {"0": "background", "1": "region_a", "2": "region_b"}, [32, 32, 32],
                              [-4, 4], "magnitude"),
                     readme("multichannel", "inference.yaml with @/$/# references; input: one 4-D NIfTI, "
                            "channels last."))
    net_c, lc = train("mc", 2, 3, (1.2, 1.2, 1.5), z_all, iters, 3)
    fnet.save_model(net_c, b)
    timings["multichannel"] = dict(train_s=round(time.time() - t, 1), final_loss=round(lc, 3))
    # (f) Model Zoo spellings, mri_lesion's network
    zoo_meta = lambda vr: metadata("Zoo-style lesion segmentation (MedSeg test)", "Lesion segmentation", "MR", 1,  # noqa: E731
                                   {"0": "background", "1": "lesion"}, [32, 32, 32], vr, "magnitude")
    for name, config, config_name, vr in (("zoo_style", zoo.zoo_style_config(), "inference.json", [-4, 4]),
                                          ("zoo_yaml", zoo.ZOO_YAML, "inference.yaml", [-1, 1])):
        b = write_bundle(out, name, config, config_name, zoo_meta(vr),
                         readme(name, "Model Zoo spellings; see Testing/MONAI/monai_fixture_zoo.py."))
        fnet.save_model(net_b, b)

    # test images and reference predictions
    os.makedirs(os.path.join(out, "images"), exist_ok=True)
    os.makedirs(os.path.join(out, "expected"), exist_ok=True)
    cases = []
    for i, run in enumerate(RUNS):
        rng = np.random.default_rng(100 + i)
        img_rel = f"images/{run.get('image', run['name'])}.nii.gz"
        truth_rel = None
        if "image" not in run:
            aff = centred_affine(run["direction"], run["spacing"], run["shape"], run["centre"])
            chans, lab = phantom(run["kind"], world_grid(run["shape"], aff), test_objects(run, rng), rng)
            write_image(os.path.join(out, img_rel), chans, aff, np.int16 if run["kind"] == "ct" else np.float32)
            truth_rel = f"images/{run['name']}_truth.nii.gz"
            write_image(os.path.join(out, truth_rel), [lab], aff, np.uint8)
        bundle = os.path.join(out, run["bundle"])
        case = dict(name=run["name"], bundle=run["bundle"], config=os.path.relpath(ref.find_config(bundle), out),
                    inputs=[img_rel], phantom_truth=truth_rel, notes=run["notes"])
        t = time.time()
        if "refusal_kind" in run:
            case.update(expect="refuse", expected=None, refusal_kind=run["refusal_kind"],
                        refusal_file=f"{run['bundle']}/{run['refusal_file']}", refusal_names=run["names"],
                        refusal=run.get("refusal"))
        if "refusal" in run:  # a MedSeg policy: MONAI (and monai_reference.py) would run or crash
            cases.append(case)
            continue
        try:
            labels, aff, dt = ref.predict(bundle, os.path.join(out, img_rel))
            assert "refusal_kind" not in run, f"{run['name']}: the reference did not refuse"
            exp_rel = f"expected/{run['name']}_labels.nii.gz"
            ref.write_labels(os.path.join(out, exp_rel), labels, aff, dt)
            case.update(expect="labels", expected=exp_rel,
                        label_counts={str(int(k)): int(v) for k, v in zip(*np.unique(labels, return_counts=True))})
        except ref.Unsupported as e:
            assert "refusal_kind" in run, f"{run['name']}: the reference refused: {e}"
            case["refusal"] = str(e)
        timings.setdefault("runs", {})[run["name"]] = round(time.time() - t, 2)
        cases.append(case)
    index = {"generator": "Testing/MONAI/monai_fixture.py", "reference": "Testing/MONAI/monai_reference.py",
             "acceptance": {"voxels_equal_min": 0.995, "dice_min": 0.99, "geometry": "same shape and affine"},
             "reference_grid": "torch affine_grid" if ref.TORCH_GRID else "exact numpy",
             "cases": cases, "timings": timings}
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")
    print(json.dumps(timings, indent=1))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("make")
    p.add_argument("--out", required=True)
    p.add_argument("--iters", type=int, default=120, help="Adam steps per network (default 120)")
    p.add_argument("--exact-grid", action="store_true",
                   help="expected labels with the pure-numpy voxel mapping instead of torch affine_grid coordinates")
    a = ap.parse_args(argv)
    if os.path.exists(a.out) and os.listdir(a.out):
        for name in ("spleen_ct", "mri_lesion", "multichannel", "images", "expected") + zoo.ZOO_BUNDLES + \
                REFUSAL_BUNDLES:
            shutil.rmtree(os.path.join(a.out, name), ignore_errors=True)
    return make(a.out, a.iters, a.exact_grid)


if __name__ == "__main__":
    sys.exit(main())
