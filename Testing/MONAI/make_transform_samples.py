#!/usr/bin/python3
"""Writes inputs and expected outputs for MedSeg's MONAI transform tests (medsegMONAITransformsGTest).

usage: make_transform_samples.py OUTDIR [--upstream DIR]

The expected outputs come from monai_reference.py (this folder), MedSeg's numpy restatement of
MONAI 1.5's transforms (see NOTES.md): load_image, orientation, spacing / resample (with its
--torch-grid coordinates: torch's own affine_grid, as MONAI's AffineTransform builds them),
scale_intensity_range, normalize_intensity, crop_foreground, invert and keep_largest_cc.  Two
things the reference does not do are restated here, each naming MONAI's code:
  * monai_affine_transform: MONAI's whole torch path (networks.utils.to_norm_affine with
    align_corners=False, AffineTransform's reversed axes, affine_grid + grid_sample in float64) for
    the bit-for-bit resampling check and for padding_mode 'reflection';
  * crop_k_divisible: CropForeground.compute_bounding_box's k_divisible growth.

With --upstream DIR (DIR holds the monai package of an extracted monai-upstream.tar.gz) every case
also gets "monai" (and "monai_affine") from MONAI's own transforms: Orientation, Spacing,
AffineTransform (what spatial_resample calls), ScaleIntensityRange, NormalizeIntensity,
CropForeground, Compose + Invertd, KeepLargestConnectedComponent.

OUTDIR receives manifest.json, NIfTI files (geometry cases) and raw little-endian C-order arrays
named in it (*.f32 float32, *.f64 float64).  Exits 3 when numpy, scipy, nibabel or torch (or, with
--upstream, monai) cannot be imported (the C++ test then skips).
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
try:
    import numpy as np
    import nibabel
    import torch
    import monai_reference as ref
except ImportError as error:  # the C++ test skips on this exit code
    print(f"missing Python module: {error}", file=sys.stderr)
    sys.exit(3)


class Writer:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0
        os.makedirs(folder, exist_ok=True)

    def array(self, a, dtype):
        a = np.ascontiguousarray(np.asarray(a, dtype=dtype))
        name = f"a{self.count:03d}.{'f32' if dtype == np.float32 else 'f64'}"
        self.count += 1
        a.tofile(os.path.join(self.folder, name))
        return {"file": name, "shape": list(a.shape)}

    def f32(self, a):
        return self.array(a, np.float32)

    def f64(self, a):
        return self.array(a, np.float64)


def rotation(axis, degrees):
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    i, j = [k for k in range(3) if k != axis]
    r = np.eye(3)
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r


def affine(columns, spacing, origin):
    """RAS affine whose voxel axis k points along columns[:, k] with length spacing[k]."""
    a = np.eye(4)
    a[:3, :3] = np.asarray(columns, dtype=float) @ np.diag(spacing)
    a[:3, 3] = origin
    return a


PERMUTED = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0]], dtype=float)
AFFINES = {
    "ras": affine(np.eye(3), [1.1, 1.3, 2.5], [-4.0, 7.5, 12.0]),
    "lps": affine(np.diag([-1.0, -1.0, 1.0]), [1.1, 1.3, 2.5], [20.0, -3.0, 1.5]),
    "las": affine(np.diag([-1.0, 1.0, 1.0]), [0.9, 0.9, 1.7], [5.0, -2.0, 0.0]),
    "permuted": affine(PERMUTED @ np.diag([1.0, -1.0, 1.0]), [1.2, 0.8, 2.0], [3.0, 1.0, -6.0]),
    "oblique": affine(rotation(2, 15) @ rotation(0, 8) @ PERMUTED @ np.diag([-1.0, -1.0, 1.0]),
                      [1.1, 1.3, 2.5], [10.0, -20.0, 5.0]),
}


def phantom(shape, channels, seed, zero_fraction=0.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(100.0, 40.0, (channels,) + tuple(shape)).astype(np.float32)
    if zero_fraction > 0:
        x[rng.random(x.shape) < zero_fraction] = 0.0
    return x


def blob_phantom(shape, channels, seed):
    """Smooth positive values in a box inside the image, exact zeros elsewhere."""
    rng = np.random.default_rng(seed)
    x = np.zeros((channels,) + tuple(shape), np.float32)
    g = np.indices(shape, dtype=float)
    for c in range(channels):
        centre = np.array(shape) / 2.0 + rng.uniform(-1, 1, 3)
        r2 = sum(((g[a] - centre[a]) / (shape[a] / 3.0)) ** 2 for a in range(3))
        x[c] = np.where(r2 < 1.0, 50.0 + 100.0 * (1.0 - r2), 0.0)
    return x


def monai_affine_transform(data, xform, out_shape, mode, padding_mode):
    """MONAI's torch path for spatial_resample, op for op: normalize_transform (networks.utils) in
    torch float64, to_norm_affine = (src_xform @ affine) @ np.linalg.inv(dst_xform), batched;
    AffineTransform reverse_indexing; affine_grid / grid_sample with align_corners=False."""
    def norm(shape):
        shape = torch.tensor(list(shape), dtype=torch.float64)
        n = shape.clone()
        n[n <= 0.0] = 2.0
        n = 2.0 / n
        n = torch.diag(torch.cat((n, torch.ones((1,), dtype=torch.float64))))
        n[:-1, -1] = 1.0 / shape - 1.0
        return n.unsqueeze(0)

    src = torch.from_numpy(np.ascontiguousarray(data)).to(torch.float64).unsqueeze(0)
    theta = torch.from_numpy(np.asarray(xform, dtype=np.float64))[None].clone()
    dst_xform = norm(out_shape)
    theta = norm(src.shape[2:]) @ theta @ torch.from_numpy(np.linalg.inv(dst_xform.numpy()))
    rev = torch.as_tensor(range(2, -1, -1))
    theta[:, :3] = theta[:, rev]
    theta[:, :, :3] = theta[:, :, rev]
    grid = torch.nn.functional.affine_grid(theta=theta[:, :3], size=[1, src.shape[1]] + list(out_shape),
                                           align_corners=False)
    out = torch.nn.functional.grid_sample(src.contiguous(), grid, mode=mode, padding_mode=padding_mode,
                                          align_corners=False)
    return out.squeeze(0).to(torch.float32).numpy()


def with_grid(flag, fn, *args, **kwargs):
    old, ref.TORCH_GRID = ref.TORCH_GRID, flag
    try:
        return fn(*args, **kwargs)
    finally:
        ref.TORCH_GRID = old


def geometry_cases(w):
    """NIfTI files written by nibabel (sform = qform = the affine); load_image's data and affine."""
    cases = []
    for i, (name, aff) in enumerate(AFFINES.items()):
        channels = 2 if name == "oblique" else 1
        data = phantom((9, 7, 5), channels, 10 + i)
        stored = data[0] if channels == 1 else np.moveaxis(data, 0, -1)
        img = nibabel.Nifti1Image(stored, aff)
        img.set_qform(aff, code=1)
        img.set_sform(aff, code=1)
        path = os.path.join(w.folder, f"geometry_{name}.nii.gz")
        nibabel.save(img, path)
        loaded, loaded_aff = ref.load_image(path)
        cases.append({"name": name, "file": os.path.basename(path),
                      "data": w.f32(ref.ensure_channel_first(loaded)), "affine": w.f64(loaded_aff),
                      "axcodes": "".join(nibabel.aff2axcodes(loaded_aff))})
    return cases


def orientation_cases(w):
    cases = []
    for i, name in enumerate(["lps", "las", "permuted", "oblique", "ras"]):
        for axcodes in ["RAS", "LPI", "PIR"]:
            data = phantom((9, 7, 5), 2, 30 + i)
            img = ref.orientation(ref.Img(data.copy(), AFFINES[name]), axcodes)
            cases.append({"name": f"{name}_to_{axcodes}", "axcodes": axcodes, "input": w.f32(data),
                          "affine": w.f64(AFFINES[name]), "expected": w.f32(img.data),
                          "expected_affine": w.f64(img.affine)})
    return cases


def spacing_cases(w):
    specs = [
        ("aniso_down", "ras", [1.5, 1.5, 2.0], "bilinear", "border"),
        ("aniso_up", "lps", [0.7, 0.9, 1.6], "bilinear", "border"),
        ("half_even", "ras", [1.6, 1.2, 2.0], "bilinear", "border"),  # ptp + 1 = 6.5 -> 6, 7.5 -> 8
        ("keep_axis", "las", [1.2, -1.0, 0.0], "bilinear", "border"),
        ("short_pixdim", "ras", [1.4], "bilinear", "zeros"),
        ("no_resample", "las", [0.9, 0.9, 1.7], "bilinear", "border"),
        ("oblique", "oblique", [1.5, 1.5, 1.5], "bilinear", "border"),
        ("oblique_nearest", "oblique", [1.0, 1.0, 2.0], "nearest", "border"),
        ("permuted_zeros", "permuted", [1.0, 1.0, 1.0], "bilinear", "zeros"),
    ]
    cases = []
    for i, (name, aff, pixdim, mode, padding) in enumerate(specs):
        data = blob_phantom((9, 7, 5), 2, 50 + i) if i % 2 else phantom((9, 7, 5), 2, 50 + i)
        grid = with_grid(True, ref.spacing, ref.Img(data.copy(), AFFINES[aff]), pixdim, mode, padding)
        exact = with_grid(False, ref.spacing, ref.Img(data.copy(), AFFINES[aff]), pixdim, mode, padding)
        skipped = grid.ops[-1][1]["skipped"]
        torch_path = grid.data if skipped else monai_affine_transform(
            data, np.linalg.solve(AFFINES[aff], grid.affine), grid.data.shape[1:], mode, padding)
        cases.append({"name": name, "pixdim": pixdim, "mode": mode, "padding_mode": padding, "skipped": skipped,
                      "input": w.f32(data), "affine": w.f64(AFFINES[aff]), "expected": w.f32(grid.data),
                      "expected_affine": w.f64(grid.affine), "torch_path": w.f32(torch_path),
                      "exact_vs_grid": float(np.max(np.abs(exact.data - grid.data)))})
    return cases


def resample_cases(w):
    rng = np.random.default_rng(7)
    cases = []
    specs = [("bilinear", "border"), ("bilinear", "zeros"), ("nearest", "border"), ("nearest", "zeros"),
             ("bilinear", "reflection")]
    for i, (mode, padding) in enumerate(specs):
        data = phantom((9, 7, 5), 3, 70 + i)
        xform = np.eye(4)
        xform[:3, :3] = rotation(i % 3, 10.0 + 7 * i) @ np.diag(rng.uniform(0.6, 1.4, 3))
        xform[:3, 3] = rng.uniform(-1.5, 1.5, 3)
        out_shape = [8, 9, 6]
        torch_path = monai_affine_transform(data, xform, out_shape, mode, padding)
        case = {"name": f"{mode}_{padding}", "mode": mode, "padding_mode": padding, "input": w.f32(data),
                "xform": w.f64(xform), "out_shape": out_shape, "torch_path": w.f32(torch_path)}
        if padding != "reflection":  # the reference resamples border/zeros only
            case["expected"] = w.f32(with_grid(True, ref.resample, data, xform, out_shape, mode, padding))
        cases.append(case)
    return cases


def intensity_cases(w):
    data = phantom((9, 7, 5), 2, 90, zero_fraction=0.2)
    data[1] *= 0.25
    scale = []
    for a_min, a_max, b_min, b_max, clip in [(-20.0, 180.0, 0.0, 1.0, True), (-20.0, 180.0, 0.0, 1.0, False),
                                             (40.0, 120.0, -1.0, 2.5, True), (10.0, 300.0, None, None, False)]:
        img = ref.scale_intensity_range(ref.Img(data.copy(), np.eye(4)), a_min, a_max, b_min, b_max, clip)
        scale.append({"a_min": a_min, "a_max": a_max, "b_min": b_min, "b_max": b_max, "clip": clip,
                      "expected": w.f32(img.data)})
    normalize = []
    for nonzero in (True, False):
        for channel_wise in (True, False):
            img = ref.normalize_intensity(ref.Img(data.copy(), np.eye(4)), nonzero, channel_wise)
            normalize.append({"nonzero": nonzero, "channel_wise": channel_wise, "expected": w.f32(img.data)})
    return {"input": w.f32(data), "scale": scale, "normalize": normalize}


def crop_k_divisible(img, start, end, k):
    """CropForeground.compute_bounding_box: size -> ceil(size / k) * k, start -= (grown - size) // 2;
    then crop_pad as monai_reference.crop_foreground does it."""
    start, end = np.array(start), np.array(end)
    size = end - start
    grown = np.ceil(size / np.array(k)).astype(int) * np.array(k)
    start = start - (grown - size) // 2
    end = start + grown
    shape = np.array(img.data.shape[1:])
    out = np.zeros((img.data.shape[0],) + tuple(end - start), np.float32)
    s0, e0 = np.maximum(start, 0), np.minimum(end, shape)
    out[(slice(None),) + tuple(slice(s - b, e - b) for s, e, b in zip(s0, e0, start))] = \
        img.data[(slice(None),) + tuple(slice(s, e) for s, e in zip(s0, e0))]
    t = np.eye(4)
    t[:3, 3] = start
    return out, img.affine @ t, start, end


def crop_cases(w):
    shape = (11, 9, 7)
    data = np.zeros((2, *shape), np.float32)
    data[0, 3:6, 2:5, 1:4] = 5.0
    data[1, 5:8, 4:7, 2:6] = -3.0  # not foreground (x > 0 only)
    data[1, 6, 6, 5] = 2.0
    edge = np.zeros((1, *shape), np.float32)
    edge[0, 0:3, 6:9, 5:7] = 1.0  # touches the image's borders: the margin leaves it
    specs = [("inside", data, [1, 1, 1], False, [1, 1, 1]), ("no_margin", data, [0, 0, 0], False, [1, 1, 1]),
             ("leaves_image", edge, [2, 3, 1], False, [1, 1, 1]), ("allow_smaller", edge, [2, 3, 1], True, [1, 1, 1]),
             ("k_divisible", data, [1, 0, 2], False, [4, 3, 8]), ("k_leaves", edge, [1, 1, 1], False, [4, 4, 4])]
    cases = []
    for name, d, margin, allow_smaller, k in specs:
        img = ref.crop_foreground(ref.Img(d.copy(), AFFINES["oblique"]), d, margin, allow_smaller)
        op = img.ops[-1][1]
        out, aff, start, end = img.data, img.affine, op["start"], op["end"]
        if k != [1, 1, 1]:
            out, aff, start, end = crop_k_divisible(ref.Img(d.copy(), AFFINES["oblique"]), start, end, k)
        cases.append({"name": name, "margin": margin, "allow_smaller": allow_smaller, "k_divisible": k,
                      "input": w.f32(d), "affine": w.f64(AFFINES["oblique"]), "expected": w.f32(out),
                      "expected_affine": w.f64(aff), "start": [int(v) for v in start], "end": [int(v) for v in end]})
    return cases


def invert_cases(w):
    """Orientation -> Spacing -> CropForeground on a phantom, a 2-channel 'prediction' made from the
    preprocessed image, and its inversion (Invertd) back onto the loaded grid."""
    cases = []
    specs = [("oblique", "RAS", [1.5, 1.5, 1.5], [1, 1, 1], False), ("lps", "RAS", [0.8, 1.7, 2.0], [2, 2, 2], True),
             ("permuted", "LPI", [1.1, 1.1, 1.1], [3, 0, 1], False), ("las", "RAS", [0.9, 0.9, 1.7], [4, 4, 4], True)]
    for i, (aff, axcodes, pixdim, margin, nearest) in enumerate(specs):
        data = blob_phantom((9, 7, 5), 1, 110 + i)
        img = ref.Img(data.copy(), AFFINES[aff])
        ref.orientation(img, axcodes)
        with_grid(True, ref.spacing, img, pixdim)
        ref.crop_foreground(img, img.data, margin)
        pre, pre_affine = img.data.copy(), img.affine.copy()
        p = 1.0 / (1.0 + np.exp(-(pre[0] - 60.0) / 20.0))
        prediction = np.stack([1.0 - p, p]).astype(np.float32)
        inverted = with_grid(True, ref.invert, ref.Img(prediction.copy(), pre_affine), img.ops, nearest)
        cases.append({"name": f"{aff}_{axcodes}", "axcodes": axcodes, "pixdim": pixdim, "margin": margin,
                      "nearest_interp": nearest, "input": w.f32(data), "affine": w.f64(AFFINES[aff]),
                      "preprocessed": w.f32(pre), "preprocessed_affine": w.f64(pre_affine),
                      "prediction": w.f32(prediction), "expected": w.f32(inverted.data),
                      "expected_affine": w.f64(inverted.affine)})
    return cases


def lcc_cases(w):
    lab = np.zeros((12, 10, 8), np.float32)
    lab[1:5, 1:5, 1:4] = 1    # 48 voxels: label 1's largest
    lab[8:10, 7:9, 5:7] = 1   # 8
    lab[6:8, 1:3, 1:3] = 2    # 8
    lab[9:12, 1:4, 1:3] = 2   # 18: label 2's largest
    lab[5, 5, 4] = 1          # touches the first block at its corner (4, 4, 3) only
    lab[0, 9, 7] = 3          # a single voxel label
    diag = np.zeros((6, 6, 6), np.float32)
    diag[0:2, 0:2, 0:2] = 1   # 8
    diag[2:4, 2:4, 0:2] = 1   # 8 + touches the first along an edge (18-connected)
    diag[4, 4, 2] = 1         # touches the second at a corner only (26-connected)
    diag[0:2, 4:6, 3:6] = 1   # 12, separate: the largest face-connected component
    cases = []
    for name, x in [("blobs", lab), ("diagonal", diag)]:
        for connectivity in (1, 2, 3):
            for applied in (None, [1]):
                out = ref.keep_largest_cc(x[None], applied, True, connectivity)
                cases.append({"name": f"{name}_c{connectivity}_{'all' if applied is None else 'one'}",
                              "connectivity": connectivity, "applied_labels": applied or [], "input": w.f32(x),
                              "expected": w.f32(out[0])})
    return cases


def add_upstream(w, manifest, folder):
    """MONAI's own outputs for the cases above (see the module doc)."""
    import warnings
    warnings.filterwarnings("ignore")
    sys.path.insert(0, folder)
    try:
        from monai.data import MetaTensor
        from monai.networks.layers import AffineTransform
        from monai.transforms import (Compose, CropForeground, CropForegroundd, Invertd,
                                      KeepLargestConnectedComponent, NormalizeIntensity, Orientation, Orientationd,
                                      ScaleIntensityRange, Spacing, Spacingd)
    except ImportError as error:
        print(f"cannot import MONAI from {folder}: {error}", file=sys.stderr)
        sys.exit(3)

    def load(entry):
        dtype = np.float64 if entry["file"].endswith(".f64") else np.float32
        return np.fromfile(os.path.join(w.folder, entry["file"]), dtype=dtype).reshape(entry["shape"])

    def meta(c, data="input"):
        return MetaTensor(torch.from_numpy(load(c[data])), affine=torch.from_numpy(load(c["affine"])))

    def put(c, out, spatial=False):
        c["monai"] = w.f32(out.numpy())
        if spatial:
            c["monai_affine"] = w.f64(out.affine.numpy())

    for c in manifest["orientation"]:
        put(c, Orientation(axcodes=c["axcodes"])(meta(c)), True)
    for c in manifest["spacing"]:
        put(c, Spacing(pixdim=c["pixdim"], mode=c["mode"], padding_mode=c["padding_mode"])(meta(c)), True)
    for c in manifest["resample"]:
        t = AffineTransform(normalized=False, mode=c["mode"], padding_mode=c["padding_mode"], align_corners=False,
                            reverse_indexing=True)
        src = torch.from_numpy(load(c["input"])).to(torch.float64)
        put(c, t(src[None], theta=torch.from_numpy(load(c["xform"])), spatial_size=c["out_shape"])[0].float())
    x = torch.from_numpy(load(manifest["intensity"]["input"]))
    for c in manifest["intensity"]["scale"]:
        put(c, ScaleIntensityRange(c["a_min"], c["a_max"], c["b_min"], c["b_max"], c["clip"])(x.clone()))
    for c in manifest["intensity"]["normalize"]:
        put(c, NormalizeIntensity(nonzero=c["nonzero"], channel_wise=c["channel_wise"])(x.clone()))
    for c in manifest["crop"]:
        put(c, CropForeground(margin=c["margin"], allow_smaller=c["allow_smaller"], k_divisible=c["k_divisible"])(meta(c)), True)
    for c in manifest["invert"]:
        pre = Compose([Orientationd("image", axcodes=c["axcodes"]), Spacingd("image", pixdim=c["pixdim"]),
                       CropForegroundd("image", source_key="image", margin=c["margin"])])
        d = pre({"image": meta(c)})
        pred = MetaTensor(torch.from_numpy(load(c["prediction"])), affine=d["image"].affine)
        d["pred"] = pred
        out = Invertd("pred", transform=pre, orig_keys="image", nearest_interp=c["nearest_interp"])(d)["pred"]
        c["monai_preprocessed"] = w.f32(d["image"].numpy())
        put(c, out, True)
    for c in manifest["lcc"]:
        t = KeepLargestConnectedComponent(applied_labels=c["applied_labels"] or None, connectivity=c["connectivity"])
        put(c, t(torch.from_numpy(load(c["input"]))[None])[0])


def main(argv):
    upstream = None
    if len(argv) == 4 and argv[2] == "--upstream":
        upstream = argv[3]
    elif len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    w = Writer(argv[1])
    manifest = {
        "geometry": geometry_cases(w),
        "orientation": orientation_cases(w),
        "spacing": spacing_cases(w),
        "resample": resample_cases(w),
        "intensity": intensity_cases(w),
        "crop": crop_cases(w),
        "invert": invert_cases(w),
        "lcc": lcc_cases(w),
    }
    if upstream is not None:
        add_upstream(w, manifest, upstream)
    with open(os.path.join(w.folder, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
