#!/usr/bin/python3
"""Writes inputs and expected outputs for MedSeg's nnU-Net resampling and preprocessing tests.

usage: make_resampling_samples.py OUTDIR [--upstream DIR]

Without --upstream the expected outputs come from this script's own restatement of nnU-Net v2's
steps, calling the libraries nnU-Net calls (skimage.transform.resize, scipy.ndimage.map_coordinates,
scipy.ndimage.binary_fill_holes) the way it calls them:
  - nnunetv2.preprocessing.resampling.default_resampling (determine_do_sep_z_and_axis,
    compute_new_shape, resample_data_or_seg with is_seg False),
  - nnunetv2.preprocessing.cropping.cropping.crop_to_nonzero,
  - nnunetv2.preprocessing.normalization.default_normalization_schemes.
With --upstream DIR (an extracted nnunet-upstream.tar.gz) they come from nnU-Net's own functions
(PYTHONPATH must then hold DIR and DIR/stubs), plus one case through
DefaultPreprocessor.run_case_npy.

OUTDIR receives manifest.json and raw little-endian C-order arrays (*.f32 float32, *.u8 bool as
bytes) named in it. Exits 3 when numpy, scipy or skimage cannot be imported (and, with
--upstream, when a module nnU-Net imports is missing).
"""
import json
import os
import sys

try:
    import numpy as np
    from scipy.ndimage import binary_fill_holes, map_coordinates
    from skimage.transform import resize
except ImportError as error:  # the C++ test skips on this exit code
    print(f"missing Python module: {error}", file=sys.stderr)
    sys.exit(3)

ANISOTROPY_THRESHOLD = 3.0


# ---------------------------------------------------------------------------------------------
# The reference, in this script's own words
# ---------------------------------------------------------------------------------------------
def lowres_axes(spacing):
    """Axes whose spacing equals the largest (get_lowres_axis)."""
    spacing = np.asarray(spacing, dtype=float)
    return [a for a in range(len(spacing)) if spacing.max() / spacing[a] == 1]


def separate_axis(force, current, new, threshold=ANISOTROPY_THRESHOLD):
    """determine_do_sep_z_and_axis: the axis resampled on its own, or None."""
    def anisotropic(s):
        return max(s) / min(s) > threshold
    if force is not None:
        axes = lowres_axes(current) if force else []
    elif anisotropic(current):
        axes = lowres_axes(current)
    elif anisotropic(new):
        axes = lowres_axes(new)
    else:
        axes = []
    return axes[0] if len(axes) == 1 else None


def new_shape_for(shape, old_spacing, new_spacing):
    """compute_new_shape: Python's round of old / new * shape."""
    return [int(round(o / n * s)) for o, n, s in zip(old_spacing, new_spacing, shape)]


def skimage_resize(volume, shape, order):
    # resample_data_or_seg's resize_fn and kwargs for is_seg False
    return resize(volume, shape, order, mode='edge', anti_aliasing=False)


def resample_own(data, new_shape, current, new, order, order_z, force):
    axis = separate_axis(force, current, new)
    if tuple(data.shape[1:]) == tuple(new_shape):
        return data.copy()
    work = data.astype(float)
    out = np.zeros((data.shape[0], *new_shape), dtype=data.dtype)
    for c in range(data.shape[0]):
        if axis is None:
            out[c] = skimage_resize(work[c], new_shape, order)
            continue
        plane = [n for a, n in enumerate(new_shape) if a != axis]
        slices = [skimage_resize(np.take(work[c], s, axis=axis), plane, order)
                  for s in range(work.shape[1 + axis])]
        inplane = np.stack(slices, axis=axis)
        if inplane.shape[axis] == new_shape[axis]:
            out[c] = inplane
            continue
        # upstream's coordinate map: scale * (index + 0.5) - 0.5 with scale = old / new per axis
        coords = [float(inplane.shape[d]) / new_shape[d] * (np.arange(new_shape[d]) + 0.5) - 0.5
                  for d in range(3)]
        grid = np.array(np.meshgrid(*coords, indexing='ij'))
        out[c] = map_coordinates(inplane, grid, order=order_z, mode='nearest')
    return out


def crop_own(data):
    nonzero = np.any(data != 0, axis=0)
    filled = binary_fill_holes(nonzero)
    bbox = []
    for a in range(3):
        other = tuple(d for d in range(3) if d != a)
        hits = np.flatnonzero(filled.any(axis=other))
        bbox.append([int(hits[0]), int(hits[-1]) + 1] if hits.size else [0, filled.shape[a]])
    region = tuple(slice(b, e) for b, e in bbox)
    return bbox, filled[region]


def normalize_own(image, scheme, use_mask, mask, props):
    x = image.astype(np.float32)
    eps = 1e-8
    if scheme == 'ZScoreNormalization':
        if use_mask:
            mean, std = x[mask].mean(), x[mask].std()
            x[mask] = (x[mask] - mean) / max(std, eps)
        else:
            mean, std = x.mean(), x.std()
            x -= mean
            x /= max(std, eps)
    elif scheme == 'CTNormalization':
        np.clip(x, props['percentile_00_5'], props['percentile_99_5'], out=x)
        x -= props['mean']
        x /= max(props['std'], eps)
    elif scheme == 'RescaleTo01Normalization':
        x -= x.min()
        x /= np.clip(x.max(), a_min=eps, a_max=None)
    elif scheme == 'RGBTo01Normalization':
        x /= 255.
    return x


# ---------------------------------------------------------------------------------------------
# nnU-Net's own functions (--upstream)
# ---------------------------------------------------------------------------------------------
def upstream_functions():
    from nnunetv2.preprocessing.resampling import default_resampling as r
    from nnunetv2.preprocessing.cropping.cropping import crop_to_nonzero
    from nnunetv2.preprocessing.normalization import default_normalization_schemes as n

    def resample(data, new_shape, current, new, order, order_z, force):
        return r.resample_data_or_seg_to_shape(data, new_shape, current, new, False, order, order_z, force)

    def crop(data):
        _, seg, bbox = crop_to_nonzero(data.copy())
        return [[int(b), int(e)] for b, e in bbox], seg[0] == 0

    def normalize(image, scheme, use_mask, mask, props):
        seg = np.where(mask, 0, -1).astype(np.int8)
        return getattr(n, scheme)(use_mask_for_norm=use_mask, intensityproperties=props).run(image.copy(), seg)

    return resample, crop, normalize, r.compute_new_shape, r.determine_do_sep_z_and_axis


# ---------------------------------------------------------------------------------------------
# Test data
# ---------------------------------------------------------------------------------------------
def smooth_volume(rng, shape, low=-400.0, high=1600.0):
    """Smooth structure plus noise, float32, values spanning roughly [low, high]."""
    grids = np.meshgrid(*[np.linspace(0, 1, n) for n in shape], indexing='ij')
    v = np.sin(3.1 * grids[0] + 1.0) * np.cos(2.3 * grids[1]) + 0.5 * np.sin(5.0 * grids[2] + grids[0])
    v = v + 0.35 * rng.standard_normal(shape)
    v = (v - v.min()) / (v.max() - v.min())
    return (low + (high - low) * v).astype(np.float32)


class Writer:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    def array(self, a, kind):
        self.count += 1
        name = f"a{self.count:03d}.{kind}"
        data = np.ascontiguousarray(a.astype('<f4' if kind == 'f32' else np.uint8))
        data.tofile(os.path.join(self.folder, name))
        return {"file": name, "shape": list(a.shape)}


RESAMPLING_CASES = [
    # name, (C, A0, A1, A2), current spacing, new spacing, order, order_z, force_separate_z
    ("isotropic_up_order3", (2, 11, 12, 9), (1.0, 1.0, 1.0), (0.7, 0.75, 0.6), 3, 0, None),
    ("isotropic_down_order3", (1, 20, 17, 16), (1.0, 1.0, 1.0), (1.6, 1.45, 1.3), 3, 0, None),
    ("isotropic_up_order1", (3, 9, 10, 7), (1.0, 1.0, 1.0), (0.55, 0.8, 0.7), 1, 0, None),
    ("isotropic_down_order1", (2, 19, 16, 21), (1.0, 1.0, 1.0), (1.3, 1.7, 2.2), 1, 0, None),
    ("mixed_order0", (1, 13, 8, 11), (1.0, 1.0, 1.0), (0.6, 1.5, 1.1), 0, 0, None),
    ("mixed_order3", (1, 13, 8, 11), (1.0, 1.0, 1.0), (0.6, 1.5, 1.1), 3, 0, None),
    ("anisotropic_axis0_order3_z0", (2, 7, 18, 15), (5.0, 0.8, 0.8), (3.2, 1.1, 1.1), 3, 0, None),
    ("anisotropic_axis2_order1_z0", (2, 14, 13, 6), (0.9, 0.9, 4.5), (1.2, 1.2, 3.0), 1, 0, None),
    ("anisotropic_axis1_order3_z1", (1, 12, 5, 13), (0.7, 4.0, 0.7), (0.9, 2.5, 0.9), 3, 1, None),
    ("anisotropic_axis0_order1_z1_down", (2, 11, 16, 14), (3.0, 0.6, 0.6), (4.4, 0.9, 0.9), 1, 1, None),
    ("anisotropic_from_new_spacing", (1, 12, 10, 11), (1.0, 1.0, 1.0), (3.5, 0.9, 0.9), 3, 0, None),
    ("forced_separate_z", (1, 10, 12, 9), (1.5, 1.0, 1.0), (1.2, 0.8, 0.9), 3, 0, True),
    ("forced_not_separate", (1, 6, 14, 12), (5.0, 0.8, 0.8), (3.0, 1.0, 1.0), 3, 0, False),
    ("two_axes_largest", (1, 16, 6, 7), (0.24, 1.25, 1.25), (0.3, 1.0, 1.0), 3, 0, None),
    ("config_2d_in_plane_only", (2, 5, 17, 14), (3.0, 0.7, 0.7), (3.0, 1.0, 1.0), 3, 0, None),
    ("single_slice_axis", (1, 1, 10, 9), (1.0, 1.0, 1.0), (1.0, 0.7, 1.3), 3, 0, None),
    ("grow_from_one", (1, 3, 1, 5), (1.0, 2.0, 1.0), (1.0, 0.8, 1.0), 3, 0, None),
    ("unchanged_shape", (1, 6, 7, 8), (1.0, 1.0, 1.0), (1.0, 1.0, 1.0), 3, 0, None),
]


def crop_cases(rng):
    cases = []
    # Two channels: a hollow shell (its inside must be filled), a blob elsewhere, a notch open to
    # the border (must stay open) and single-voxel holes inside the nonzero region.
    data = np.zeros((2, 14, 16, 12), np.float32)
    data[0, 3:11, 4:12, 2:9] = rng.uniform(1, 5, (8, 8, 7))
    data[0, 5:9, 6:10, 4:7] = 0  # cavity
    data[0, 6, 7, 5] = 2.0  # an island inside the cavity
    data[1, 9:12, 1:4, 8:11] = -3.0
    data[0, 3:11, 4:12, 2] = 0  # open face: the slab at index 2 of axis 2 ...
    data[0, 3:11, 4:12, 2][::2] = 1.5  # ... partly closed
    data[0, 4, 5, 7] = 0  # a single-voxel hole
    cases.append(("hollow_shell_two_channels", data))
    cases.append(("all_zero", np.zeros((1, 5, 6, 7), np.float32)))
    ring = np.zeros((1, 1, 9, 8), np.float32)
    ring[0, 0, 2:7, 2:6] = 1
    ring[0, 0, 3:6, 3:5] = 0  # a 2D ring in one slice: scipy's 3D fill leaves it open
    cases.append(("single_slice_ring", ring))
    cases.append(("no_zero", rng.uniform(1, 2, (1, 4, 5, 3)).astype(np.float32)))
    return cases


def normalization_cases(rng):
    image = smooth_volume(rng, (9, 11, 10), -1024.0, 2500.0)
    brain = np.zeros_like(image)
    brain[2:8, 2:9, 1:9] = rng.normal(300.0, 60.0, (6, 7, 8))
    brain_mask = brain != 0
    rgb = rng.integers(0, 256, (4, 6, 5)).astype(np.float32)
    ct = {"mean": 95.5, "std": 310.25, "percentile_00_5": -830.0, "percentile_99_5": 1880.5}
    return [
        ("zscore", image, "ZScoreNormalization", False, brain_mask, {}),
        ("zscore_mask", brain, "ZScoreNormalization", True, brain_mask, {}),
        ("zscore_constant", np.full((3, 4, 5), 7.25, np.float32), "ZScoreNormalization", False,
         np.ones((3, 4, 5), bool), {}),
        ("ct", image, "CTNormalization", False, brain_mask, ct),
        ("ct_tiny_std", image, "CTNormalization", True, brain_mask, dict(ct, std=1e-12)),
        ("none", image, "NoNormalization", False, brain_mask, {}),
        ("rescale", image, "RescaleTo01Normalization", False, brain_mask, {}),
        ("rescale_constant", np.full((2, 3, 4), -5.0, np.float32), "RescaleTo01Normalization", False,
         np.ones((2, 3, 4), bool), {}),
        ("rgb", rgb, "RGBTo01Normalization", False, np.ones(rgb.shape, bool), {}),
    ]


def pipeline_case(rng, writer):
    """One case through DefaultPreprocessor.run_case_npy (upstream only)."""
    from types import SimpleNamespace
    from functools import partial
    from nnunetv2.preprocessing.preprocessors.default_preprocessor import DefaultPreprocessor
    from nnunetv2.preprocessing.resampling.default_resampling import resample_data_or_seg_to_shape
    data = np.zeros((2, 10, 24, 21), np.float32)
    data[:, 1:9, 3:20, 2:19] = np.stack([smooth_volume(rng, (8, 17, 17)), smooth_volume(rng, (8, 17, 17), 0, 90)])
    data[:, 4:6, 9:12, 8:10] = 0  # a hole, filled by the nonzero mask
    spacing = [0.8, 4.0, 0.75]  # array order of the input; transpose_forward puts axis 1 first
    transpose = [1, 0, 2]
    target = [3.0, 1.1, 1.0]
    props = {"0": {"mean": 500.0, "std": 400.0, "percentile_00_5": -300.0, "percentile_99_5": 1400.0},
             "1": {"mean": 45.0, "std": 20.0, "percentile_00_5": 2.0, "percentile_99_5": 88.0}}
    pm = SimpleNamespace(transpose_forward=transpose, foreground_intensity_properties_per_channel=props)
    cm = SimpleNamespace(
        spacing=target, normalization_schemes=["CTNormalization", "ZScoreNormalization"],
        use_mask_for_norm=[False, True],
        resampling_fn_data=partial(resample_data_or_seg_to_shape, is_seg=False, order=3, order_z=0,
                                   force_separate_z=None),
        resampling_fn_seg=partial(resample_data_or_seg_to_shape, is_seg=True, order=1, order_z=0,
                                  force_separate_z=None))
    properties = {"spacing": spacing}
    out, _, properties = DefaultPreprocessor(verbose=False).run_case_npy(data, None, properties, pm, cm, {})
    return {"input": writer.array(data, 'f32'), "spacing": spacing, "transpose_forward": transpose,
            "target_spacing": target, "schemes": cm.normalization_schemes, "use_mask_for_norm": cm.use_mask_for_norm,
            "properties": [props["0"], props["1"]],
            "bbox": [[int(b), int(e)] for b, e in properties["bbox_used_for_cropping"]],
            "expected": writer.array(out, 'f32')}


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    folder = args[0]
    upstream = len(args) >= 3 and args[1] == "--upstream"
    os.makedirs(folder, exist_ok=True)
    if upstream:
        try:
            resample, crop, normalize, compute_shape, determine = upstream_functions()
        except ImportError as error:  # a module nnU-Net imports is not installed: skip, saying which
            print(f"upstream nnU-Net cannot be imported: {error}", file=sys.stderr)
            return 3
    else:
        resample, crop, normalize = resample_own, crop_own, normalize_own
        compute_shape = new_shape_for
        determine = None
    rng = np.random.default_rng(20240611)
    writer = Writer(folder)
    manifest = {"reference": "upstream" if upstream else "scipy-skimage", "resampling": [], "crop": [],
                "normalization": []}
    for name, shape, current, new, order, order_z, force in RESAMPLING_CASES:
        data = np.stack([smooth_volume(rng, shape[1:], -400.0 + 100 * c, 1600.0 - 50 * c)
                         for c in range(shape[0])])
        target = [int(n) for n in compute_shape(shape[1:], current, new)]
        axis = separate_axis(force, current, new)
        if determine is not None:
            do_separate, upstream_axis = determine(force, current, new, ANISOTROPY_THRESHOLD)
            axis = int(upstream_axis) if do_separate else None
        expected = resample(data, target, current, new, order, order_z, force)
        manifest["resampling"].append({
            "name": name, "input": writer.array(data, 'f32'), "new_shape": target,
            "current_spacing": list(current), "new_spacing": list(new), "order": order,
            "order_z": order_z, "force_separate_z": force, "separate_axis": axis,
            "expected": writer.array(np.asarray(expected, np.float32), 'f32')})
    for name, data in crop_cases(rng):
        bbox, mask = crop(data)
        manifest["crop"].append({"name": name, "input": writer.array(data, 'f32'), "bbox": bbox,
                                 "mask": writer.array(mask, 'u8')})
    for name, image, scheme, use_mask, mask, props in normalization_cases(rng):
        expected = normalize(image, scheme, use_mask, mask, props)
        manifest["normalization"].append({
            "name": name, "scheme": scheme, "use_mask_for_norm": use_mask, "properties": props or None,
            "input": writer.array(image, 'f32'), "mask": writer.array(mask, 'u8'),
            "expected": writer.array(expected, 'f32')})
    if upstream:
        manifest["pipeline"] = pipeline_case(rng, writer)
    with open(os.path.join(folder, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
