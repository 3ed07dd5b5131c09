"""Helpers of monai_reference.py (split off to keep each file short): the intensity transforms, the
sliding window and the label post-processing, each following the MONAI 1.5.0 function it names.

Written from reading MONAI's source, not copied.  Arrays are (C, X, Y, Z) numpy float32 unless said.
"""
import math

import numpy as np
from scipy import ndimage


class Unsupported(Exception):
    """A bundle setting the reference does not implement (monai_reference.py's CLI exits 3)."""


def truthy(v):
    """A boolean argument as MONAI uses it: `if self.nonzero:` (NormalizeIntensity), `if self.clip:`,
    `if self.channel_wise:`, `if argmax:`, `if nearest_interp:` ... i.e. Python's truthiness, so the
    Model Zoo's string "True" is true, and so is "False" (any non-empty string)."""
    return bool(v)


def disabled(t):
    """ConfigComponent.is_disabled: `_disabled_` as a string is true only if it reads "true" (any
    case, stripped); otherwise bool().  A disabled component is dropped from its list
    (ReferenceResolver.update_config_with_refs)."""
    d = t.get("_disabled_", False) if isinstance(t, dict) else False
    return d.lower().strip() == "true" if isinstance(d, str) else bool(d)


# ----------------------------------------------------------------------------------------------
# Intensity
# ----------------------------------------------------------------------------------------------
def scale_intensity_range(img, a_min, a_max, b_min=None, b_max=None, clip=False):
    """ScaleIntensityRange.__call__, float32: (x - a_min)/(a_max - a_min) * (b_max - b_min) + b_min,
    then clip to [b_min, b_max]."""
    x = img.data.astype(np.float32)
    if a_max - a_min == 0.0:
        raise Unsupported("a_min == a_max")
    x = (x - np.float32(a_min)) / np.float32(a_max - a_min)
    if b_min is not None and b_max is not None:
        x = x * np.float32(b_max - b_min) + np.float32(b_min)
    if truthy(clip):
        x = np.clip(x, np.float32(b_min), np.float32(b_max))
    img.data = x.astype(np.float32)
    return img


def normalize_intensity(img, nonzero=False, channel_wise=False, subtrahend=None, divisor=None):
    """NormalizeIntensity._normalize: mask = x != 0 when nonzero (all voxels otherwise); mean and
    population std (unbiased=False) over the mask, std 0 -> 1; only masked voxels change.
    channel_wise: per channel; else over the whole (C,...) array.  float32."""
    if subtrahend is not None or divisor is not None:
        raise Unsupported("NormalizeIntensityd subtrahend/divisor")

    def norm(x):
        m = (x != 0) if truthy(nonzero) else np.ones(x.shape, bool)
        if truthy(nonzero) and not m.any():
            return x
        v = x[m].astype(np.float64)
        mean = float(np.float32(v.mean()))
        std = float(np.float32(v.std()))
        if std == 0.0:
            std = 1.0
        x = x.copy()
        x[m] = (x[m] - np.float32(mean)) / np.float32(std)
        return x

    x = img.data.astype(np.float32)
    img.data = np.stack([norm(c) for c in x]) if truthy(channel_wise) else norm(x)
    return img


def rescale_array(x, minv=0.0, maxv=1.0):
    """monai.transforms.utils.rescale_array (dtype float32), in float32 as torch computes it:
    min/max of the array; constant array -> x * minv (x itself if minv is None); else
    norm = (x - min) / (max - min), returned as is if minv or maxv is None, otherwise
    norm * (maxv - minv) + minv (the Python scalars (maxv - minv) and minv become float32)."""
    x = x.astype(np.float32)
    mina, maxa = x.min(), x.max()
    if mina == maxa:
        return x * np.float32(minv) if minv is not None else x
    norm = (x - mina) / (maxa - mina)
    if minv is None or maxv is None:
        return norm
    return norm * np.float32(maxv - minv) + np.float32(minv)


def _is_float32(d):
    for v in (d, str(d).replace("torch.", "").replace("numpy.", "").replace("np.", "")):
        try:
            return np.dtype(v) == np.float32
        except TypeError:
            continue
    return False


def scale_intensity(img, minv=0.0, maxv=1.0, factor=None, channel_wise=False, dtype="float32"):
    """ScaleIntensity.__call__: if minv or maxv is set, rescale_array over the whole (C, ...) array,
    or per channel with channel_wise; otherwise x * (1 + factor) (x itself without factor).
    Output float32 (the dtype default; None keeps the input's float32)."""
    if dtype is not None and not _is_float32(dtype):
        raise Unsupported(f"ScaleIntensityd dtype {dtype}")
    x = img.data.astype(np.float32)
    if minv is not None or maxv is not None:
        x = np.stack([rescale_array(c, minv, maxv) for c in x]) if truthy(channel_wise) else \
            rescale_array(x, minv, maxv)
    elif factor is not None:
        x = x * np.float32(1 + factor)
    img.data = x.astype(np.float32)
    return img


# ----------------------------------------------------------------------------------------------
# Sliding window (monai.inferers.utils.sliding_window_inference)
# ----------------------------------------------------------------------------------------------
def scan_interval(image_size, roi, overlap):
    """_get_scan_interval: roi if roi == image size, else max(int(roi * (1 - overlap)), 1)."""
    return [r if r == s else max(int(r * (1 - o)), 1) for s, r, o in zip(image_size, roi, overlap)]


def window_starts(size, roi, interval):
    """monai.data.utils.dense_patch_slices: n = 1 + first d with d*interval + roi >= size; start
    d*interval, shifted back so the last window ends flush with the image."""
    num = int(math.ceil(float(size) / interval))
    d = next((d for d in range(num) if d * interval + roi >= size), None)
    count = d + 1 if d is not None else 1
    return [i * interval - max(i * interval + roi - size, 0) for i in range(count)]


def importance_map(roi, mode="constant", sigma_scale=0.125):
    """monai.data.utils.compute_importance_map, float32: constant -> ones; gaussian -> separable
    product of exp(x^2 / (-2 sigma^2)), x = -(n-1)/2 .. (n-1)/2, sigma = n * sigma_scale (not
    normalised); then clamp(min = max(min(map), 1e-3))."""
    if mode == "constant":
        m = np.ones(roi, np.float32)
    elif mode == "gaussian":
        ss = np.broadcast_to(np.asarray(sigma_scale, dtype=float), (len(roi),))
        m = None
        for n, s in zip(roi, ss):
            x = np.arange(-(n - 1) / 2.0, (n - 1) / 2.0 + 1, dtype=np.float32)
            g = np.exp(x ** 2 / np.float32(-2 * (n * s) ** 2)).astype(np.float32)
            m = g if m is None else m[..., None] * g
    else:
        raise Unsupported(f"blend mode {mode}")
    return np.maximum(m, np.float32(max(float(m.min()), 1e-3))).astype(np.float32)


def sliding_window(x, roi, predictor, sw_batch_size=1, overlap=0.25, mode="constant", sigma_scale=0.125,
                   padding_mode="constant", cval=0.0):
    """x: (C, X, Y, Z) float32; returns the blended raw network outputs (K, X, Y, Z) float32:
    where the image is smaller than roi, pad diff//2 before and the rest after with F.pad's mode:
    constant (cval), replicate (the edge voxel, numpy 'edge') or reflect (mirrored without the edge,
    numpy 'reflect'; torch requires each pad < the axis length); torch refuses a non-zero cval with
    the other modes.  Windows from dense_patch_slices in C order (last axis fastest);
    out = sum(w * p) / sum(w), cropped back."""
    modes = {"constant": "constant", "replicate": "edge", "reflect": "reflect"}
    if padding_mode not in modes:
        raise Unsupported(f"sliding window padding_mode {padding_mode}")
    if padding_mode != "constant" and cval not in (None, 0, 0.0):
        raise Unsupported(f"sliding window padding_mode {padding_mode} with cval {cval} (torch F.pad refuses it)")
    roi = [int(r) if int(r) > 0 else s for r, s in zip(roi, x.shape[1:])]  # fall_back_tuple
    ov = list(np.broadcast_to(np.asarray(overlap, dtype=float), (3,)))
    size0 = x.shape[1:]
    pad = [(max(r - s, 0) // 2, max(r - s, 0) - max(r - s, 0) // 2) for r, s in zip(roi, size0)]
    if padding_mode == "reflect" and any(max(p) >= s for p, s in zip(pad, size0)):
        raise Unsupported(f"reflect padding {pad} not smaller than the image {size0} (torch F.pad refuses it)")
    if padding_mode == "constant":
        x = np.pad(x, [(0, 0)] + pad, constant_values=cval)
    else:
        x = np.pad(x, [(0, 0)] + pad, mode=modes[padding_mode])
    size = x.shape[1:]
    iv = scan_interval(size, roi, ov)
    starts = [window_starts(s, r, i) for s, r, i in zip(size, roi, iv)]
    wins = [(a, b, c) for a in starts[0] for b in starts[1] for c in starts[2]]
    w = importance_map(roi, mode, sigma_scale)
    out, count = None, np.zeros(size, np.float32)
    for s in wins:
        count[s[0]:s[0] + roi[0], s[1]:s[1] + roi[1], s[2]:s[2] + roi[2]] += w
    for b in range(0, len(wins), sw_batch_size):
        batch = wins[b:b + sw_batch_size]
        patches = np.stack([x[:, s[0]:s[0] + roi[0], s[1]:s[1] + roi[1], s[2]:s[2] + roi[2]] for s in batch])
        pred = predictor(patches)
        if out is None:
            out = np.zeros((pred.shape[1],) + tuple(size), np.float32)
        for p, s in zip(pred, batch):
            out[:, s[0]:s[0] + roi[0], s[1]:s[1] + roi[1], s[2]:s[2] + roi[2]] += p * w
    out /= count
    return out[(slice(None),) + tuple(slice(p[0], p[0] + s) for p, s in zip(pad, size0))]


def torchscript_predictor(path):
    import torch
    net = torch.jit.load(path, map_location="cpu")
    net.eval()

    def run(patches):
        with torch.no_grad():
            return net(torch.from_numpy(np.ascontiguousarray(patches, dtype=np.float32))).numpy()
    return run


# ----------------------------------------------------------------------------------------------
# Post-processing (label maps)
# ----------------------------------------------------------------------------------------------
def softmax(x):
    """Activations(softmax=True): torch.softmax over the channel dim."""
    e = np.exp(x - x.max(axis=0, keepdims=True))
    return (e / e.sum(axis=0, keepdims=True)).astype(np.float32)


def keep_largest_cc(lab, applied_labels=None, independent=True, connectivity=None, num_components=1):
    """KeepLargestConnectedComponent on a (1, ...) label map (not one-hot): for each applied label
    (independent) / their union, skimage.measure.label(connectivity=None -> full, 26 in 3-D) and keep
    the num_components largest components; removed voxels set to 0."""
    x = lab[0].copy()
    if applied_labels is None:
        applied_labels = [v for v in np.unique(x) if v != 0]
    structure = ndimage.generate_binary_structure(3, 3 if connectivity is None else int(connectivity))

    def largest(fg):
        comp, n = ndimage.label(fg, structure=structure)
        if n <= num_components:
            return fg
        sizes = np.bincount(comp.ravel())[1:]
        keep = np.argsort(sizes, kind="stable")[::-1][:num_components] + 1
        return np.isin(comp, keep)

    labels = list(np.atleast_1d(applied_labels))
    groups = [[v] for v in labels] if truthy(independent) else [labels]
    for g in groups:
        fg = np.isin(x, g)
        x[fg & ~largest(fg)] = 0
    return x[None]
