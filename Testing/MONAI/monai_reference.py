#!/usr/bin/python3
"""MedSeg's own re-implementation of MONAI bundle inference (the supported subset), in numpy/scipy.

    monai_reference.py predict --bundle BUNDLE --input scan.nii.gz --output labels.nii.gz [--config F]

Written here from reading MONAI 1.5.0's source (not copied; each step names the MONAI function it
follows).  Only the TorchScript network itself runs in torch (BUNDLE/models/model.ts, as MedSeg's
C++ side will load it); every transform, the sliding window and the inversion are numpy/scipy.

Supported:  LoadImaged (NibabelReader), EnsureChannelFirstd (channel_dim None, "no_channel" or an
axis), Orientationd, Spacingd, ScaleIntensityRanged, ScaleIntensityd, NormalizeIntensityd,
CropForegroundd, EnsureTyped; SlidingWindowInferer (padding_mode constant, replicate, reflect);
Activationsd (softmax/sigmoid), Invertd, AsDiscreted (argmax), KeepLargestConnectedComponentd,
SaveImaged, in the config's order (AsDiscreted/KeepLargestConnectedComponentd may come before
Invertd).  A Compose's transforms may be a list, "@list" or an expression such as "$@a + @b".
Boolean arguments follow Python's truthiness (ops.truthy); `_disabled_` follows ConfigComponent.
Anything else raises Unsupported (exit code 3 from the CLI).  The intensity steps, the sliding
window and the label post-processing are in monai_reference_ops.py.
"""
import argparse
import importlib
import json
import os
import re
import sys

import nibabel
import nibabel.orientations as nio
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

AFFINE_TOL = 1e-3  # monai.data.utils.AFFINE_TOL


from monai_reference_ops import (Unsupported, disabled, importance_map, keep_largest_cc,  # noqa: E402,F401
                                 normalize_intensity, rescale_array, scale_intensity, scale_intensity_range,
                                 scan_interval, sliding_window, softmax, torchscript_predictor, truthy,
                                 window_starts)


# ----------------------------------------------------------------------------------------------
# Config: the plain cases of monai.bundle.ConfigParser / ReferenceResolver / ConfigExpression
# ----------------------------------------------------------------------------------------------
SEP = "::"  # monai.bundle.utils.ID_SEP_KEY; "#" is the old separator, normalised to "::"
_REF = re.compile(r"@(?:\w*)(?:::\w*)*")  # ReferenceResolver.id_matcher
_REL = re.compile(r"(?:@|%)(?:::)+")  # ConfigParser.relative_id_prefix


def load_config_file(path):
    """ConfigParser.load_config_file: json.load for .json, yaml (SafeLoader) for .yaml/.yml."""
    with open(path) as f:
        if path.lower().endswith(".json"):
            return json.load(f)
        import yaml
        return yaml.safe_load(f)


def find_config(bundle, name="inference"):
    for ext in (".json", ".yaml", ".yml"):
        p = os.path.join(bundle, "configs", name + ext)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(f"no configs/{name}.json|yaml in {bundle}")


class Config:
    """Lazy resolution of ids: '@id' (whole string) -> the resolved item; '$expr' -> eval with the
    '@id's inside replaced by __local_refs['id'] (ReferenceResolver.update_refs_pattern); relative
    ids '@::x' / '@::::x' (ConfigParser.resolve_relative_ids); '#' == '::' (normalize_id).
    Components (dicts with _target_) are NOT instantiated: they resolve to a dict of resolved args."""

    def __init__(self, content, overrides=None):
        self.content = content
        for k, v in (overrides or {}).items():
            self.content[k] = v
        self.resolved = {}
        self.globals = {"np": np, "numpy": np}
        for k in ("torch",):
            try:
                self.globals[k] = importlib.import_module(k)
            except ImportError:
                pass
        imports = self.content.get("imports", [])
        for stmt in imports if isinstance(imports, list) else []:
            m = re.fullmatch(r"\$import\s+(\w+)(?:\s+as\s+(\w+))?", stmt.strip())
            if m:
                self.globals[m.group(2) or m.group(1)] = importlib.import_module(m.group(1))

    @staticmethod
    def norm(i):
        return str(i).replace("#", SEP)

    def _raw(self, id_):
        node = self.content
        for k in [k for k in self.norm(id_).split(SEP) if k != ""]:
            node = node[int(k)] if isinstance(node, list) else node[k]
        return node

    def _relative(self, id_, value):
        cur = id_.split(SEP)
        for p in sorted(set(_REL.findall(value)), reverse=True):
            sym = p[0]
            n = p[1:].count(SEP)
            new = "" if n == len(cur) else SEP.join(cur[:-n]) + SEP
            value = value.replace(p, sym + new)
        return value

    def get(self, id_=""):
        id_ = self.norm(id_)
        if id_ not in self.resolved:
            self.resolved[id_] = self._resolve(id_, self._raw(id_))
        return self.resolved[id_]

    def _resolve(self, id_, v):
        if isinstance(v, dict):
            return {k: self._resolve(f"{id_}{SEP}{k}" if id_ else k, x) for k, x in v.items()}
        if isinstance(v, list):
            return [self._resolve(f"{id_}{SEP}{i}" if id_ else str(i), x) for i, x in enumerate(v)]
        if not isinstance(v, str):
            return v
        v = self._relative(id_, self.norm(v))
        if v.startswith("$"):
            refs = sorted(set(_REF.findall(v)), key=len, reverse=True)
            local = {}
            for r in refs:
                local[r[1:]] = self.get(r[1:])
                v = v.replace(r, f"__local_refs['{r[1:]}']")
            g = dict(self.globals)
            g["__local_refs"] = local
            return eval(v[1:], g)  # ConfigExpression.evaluate
        if _REF.fullmatch(v):
            return self.get(v[1:])
        return v


# ----------------------------------------------------------------------------------------------
# Image and transforms
# ----------------------------------------------------------------------------------------------
class Img:
    def __init__(self, data, affine):
        self.data = data  # (C, X, Y, Z)
        self.affine = np.asarray(affine, dtype=np.float64)
        self.ops = []  # applied invertible operations, as monai.transforms.InvertibleTransform traces


def load_image(path):
    """monai.data.NibabelReader: nibabel img.affine (sform if sform_code>0, else qform, RAS world),
    data = np.asanyarray(img.dataobj) (scl_slope/inter applied), then LoadImage's dtype float32.
    A 4th dim is the channel (original_channel_dim = -1)."""
    img = nibabel.load(path)
    data = np.asanyarray(img.dataobj).astype(np.float32)
    return data, np.array(img.affine, dtype=np.float64)


def ensure_channel_first(data, channel_dim=None):
    """EnsureChannelFirst: channel_dim None takes the reader's original_channel_dim (NibabelReader:
    'no_channel' for 3-D, -1 for 4-D); 'no_channel' adds a leading axis (img[None]) whatever the
    dims; an integer moves that axis first (moveaxis).  The result must be (C, X, Y, Z)."""
    if channel_dim is None:
        channel_dim = "no_channel" if data.ndim == 3 else -1
    if channel_dim == "no_channel":
        out = data[None]
    elif isinstance(channel_dim, int) and not isinstance(channel_dim, bool):
        out = np.ascontiguousarray(np.moveaxis(data, channel_dim, 0))
    else:
        raise Unsupported(f"EnsureChannelFirstd channel_dim {channel_dim!r}")
    if out.ndim != 4:
        raise Unsupported(f"image of {data.ndim} dims (channel_dim {channel_dim!r})")
    return out


def orientation(img, axcodes="RAS"):
    """Orientation.__call__ / spatial.functional.orientation: src = nib.io_orientation(affine),
    dst = axcodes2ornt(axcodes, labels (L,R),(P,A),(I,S)), ornt_transform(src, dst); flip the
    axes with -1 first, then transpose by argsort(ornt[:,0]); affine @ inv_ornt_aff(ornt, shape)."""
    shape = img.data.shape[1:]
    ornt = nio.ornt_transform(nio.io_orientation(img.affine), nio.axcodes2ornt(axcodes))
    xform = nio.inv_ornt_aff(ornt, shape)
    d = img.data
    flips = [a + 1 for a in range(3) if ornt[a, 1] == -1]
    if flips:
        d = np.flip(d, axis=flips)
    perm = [0] + [int(i) + 1 for i in np.argsort(ornt[:, 0])]
    d = np.ascontiguousarray(np.transpose(d, perm))
    img.ops.append(("orientation", dict(flips=flips, perm=perm, affine_before=img.affine.copy())))
    img.data, img.affine = d, img.affine @ xform
    return img


def affine_to_spacing(a):
    """monai.data.utils.affine_to_spacing: column norms of the 3x3 part."""
    return np.sqrt(np.sum(a[:3, :3] ** 2, axis=0))


def zoom_affine(affine, pixdim):
    """monai.data.utils.zoom_affine (diagonal=False): keep the rotation of the affine, replace its
    zooms by pixdim.  rzs = A[:3,:3]; zs = chol(rzs^T rzs)^T; rotation = rzs inv(zs);
    new[:3,:3] = rotation diag(sign(diag(zs)) |pixdim|)."""
    rzs = affine[:3, :3]
    zs = np.linalg.cholesky(rzs.T @ rzs).T
    rot = rzs @ np.linalg.inv(zs)
    new = np.eye(4)
    new[:3, :3] = rot @ np.diag(np.sign(np.diag(zs)) * np.abs(pixdim))
    return new


def compute_shape_offset(shape, in_aff, out_aff):
    """monai.data.utils.compute_shape_offset (scale_extent=False): the 8 corner voxel *centres*
    (0 and n-1) mapped into the output voxel grid; out_shape = np.round(ptp + 1) (half-to-even);
    offset = world position of the input corner that is the minimum on every output axis, else
    centre alignment in_R*shape/2 + in_t - out_R*out_shape/2."""
    shape = np.asarray(shape, dtype=float)
    corners = np.array(np.meshgrid(*[(0.0, n - 1.0) for n in shape], indexing="ij")).reshape(3, -1)
    corners = np.vstack([corners, np.ones((1, corners.shape[1]))])
    out = np.linalg.solve(out_aff, in_aff) @ corners
    world = in_aff @ corners
    dist = out[:-1].copy()
    out_shape = np.round(np.ptp(out[:-1] / out[-1], axis=1) + 1.0)
    offset = None
    for i in range(corners.shape[1]):
        if np.allclose(np.min(dist - dist[:, i:i + 1], 1), 0.0, rtol=AFFINE_TOL):
            offset = world[:-1, i]
            break
    if offset is None:
        offset = in_aff[:3, :3] @ (shape / 2.0) + in_aff[:3, 3] - out_aff[:3, :3] @ (out_shape / 2.0)
    return out_shape.astype(int), offset


# The exact voxel mapping above equals MONAI's up to the last bits of the coordinates.  Those bits
# matter in one place: bilinear weights of ~1e-16 turn an exact 0 into ~1e-14 "dust", which
# NormalizeIntensityd(nonzero=True) then counts as foreground.  TORCH_GRID (--torch-grid, or
# MEDSEG_MONAI_TORCH_GRID=1) computes the coordinates with torch's own affine_grid, as MONAI's
# AffineTransform does: theta = S(src) @ xform @ inv(S(dst)), S(n) = [diag(2/n) | 1/n - 1]
# (networks.utils.normalize_transform, align_corners=False), axes reversed, then grid_sample's
# unnormalisation ((u + 1) n - 1) / 2.
TORCH_GRID = os.environ.get("MEDSEG_MONAI_TORCH_GRID", "0") == "1"


def _norm_xform(shape):
    n = np.asarray(shape, dtype=np.float64)
    m = np.diag(np.append(2.0 / n, 1.0))
    m[:3, 3] = 1.0 / n - 1.0
    return m


def torch_grid_coords(xform, in_shape, out_shape):
    import torch
    theta = _norm_xform(in_shape) @ xform @ np.linalg.inv(_norm_xform(out_shape))
    r = [2, 1, 0]
    th = theta.copy()
    th[:3] = theta[r]
    th2 = th.copy()
    th2[:, :3] = th[:, r]
    grid = torch.nn.functional.affine_grid(torch.from_numpy(th2[None, :3].copy()), [1, 1] + list(out_shape),
                                           align_corners=False).reshape(-1, 3).numpy()
    n = np.asarray(in_shape, dtype=np.float64)
    return np.stack([((grid[:, 2 - a] + 1) * n[a] - 1) / 2 for a in range(3)])


_HALF_AWAY = []


def nearest_index(src):
    """grid_sample(mode='nearest') on a 5-D input (what MONAI's 3-D resampling calls): torch 1.13's CPU
    kernel rounds the source coordinate half away from zero (std::round; its 2-D kernel and numpy's
    rint round half to even).  Exact .5 coordinates are common (e.g. Invertd nearest from 1.2 mm back
    to 1.5 mm voxels), so the rule matters; it is probed once from the torch at hand (torch 1.13's
    rule without torch)."""
    if not _HALF_AWAY:
        try:
            import torch
            vol = torch.arange(4, dtype=torch.float64).reshape(1, 1, 1, 1, 4)
            grid = torch.zeros(1, 1, 1, 1, 3, dtype=torch.float64)
            grid[..., 0] = 0.5  # source x = ((0.5 + 1) * 4 - 1) / 2 = 2.5
            _HALF_AWAY.append(float(torch.nn.functional.grid_sample(vol, grid, mode="nearest",
                                                                    align_corners=False)) == 3.0)
        except ImportError:
            _HALF_AWAY.append(True)
    if not _HALF_AWAY[0]:
        return np.rint(src).astype(np.int64)
    t = np.trunc(src)
    return (t + np.where(np.abs(src - t) >= 0.5, np.sign(src), 0.0)).astype(np.int64)


def resample(data, xform, out_shape, mode="bilinear", padding_mode="border"):
    """SpatialResample -> monai.networks.layers.AffineTransform(normalized=False, reverse_indexing=True)
    -> torch grid_sample(align_corners=False).  to_norm_affine makes the net mapping exact in voxel
    indices: src_index = xform @ dst_index (voxel centres on integers).  bilinear (= trilinear);
    'border' clamps the source coordinate to [0, n-1] (grid_sampler clip_coordinates), 'zeros'
    gives out-of-range neighbours weight x value 0; 'nearest' rounds as torch's 3-D grid_sample does
    (nearest_index).  Computed in float64 (Spacing dtype default), returned as float32."""
    data = data.astype(np.float64)
    n = np.array(data.shape[1:])
    g = np.indices(out_shape, dtype=np.float64).reshape(3, -1)
    src = torch_grid_coords(xform, n, out_shape) if TORCH_GRID else xform[:3, :3] @ g + xform[:3, 3:4]
    out = np.zeros((data.shape[0], g.shape[1]))
    if padding_mode == "border":
        src = np.clip(src, 0, (n - 1)[:, None])
    elif padding_mode != "zeros":
        raise Unsupported(f"padding_mode {padding_mode}")
    if mode == "nearest":
        idx = nearest_index(src)
        ok = np.all((idx >= 0) & (idx < n[:, None]), axis=0)
        for c in range(data.shape[0]):
            out[c, ok] = data[c][idx[0, ok], idx[1, ok], idx[2, ok]]
    elif mode == "bilinear":
        f = np.floor(src)
        w1 = src - f
        f = f.astype(np.int64)
        for corner in range(8):
            bits = [(corner >> (2 - a)) & 1 for a in range(3)]
            idx = f + np.array(bits)[:, None]
            w = np.ones(g.shape[1])
            for a in range(3):
                w *= w1[a] if bits[a] else (1.0 - w1[a])
            ok = np.all((idx >= 0) & (idx < n[:, None]), axis=0)
            for c in range(data.shape[0]):
                out[c, ok] += w[ok] * data[c][idx[0, ok], idx[1, ok], idx[2, ok]]
    else:
        raise Unsupported(f"interpolation mode {mode}")
    return out.reshape((data.shape[0],) + tuple(out_shape)).astype(np.float32)


def _unchanged(src_aff, dst_aff, out_shape, in_shape):
    """spatial_resample's affine_unchanged: no resampling at all when the affines agree (atol 1e-3)
    or xform ~ identity, and the shape is unchanged."""
    xf = np.linalg.solve(src_aff, dst_aff)
    same = np.array_equal(np.asarray(out_shape), np.asarray(in_shape))
    return same and (np.allclose(src_aff, dst_aff, atol=AFFINE_TOL) or np.allclose(xf, np.eye(4), atol=AFFINE_TOL))


def spacing(img, pixdim, mode="bilinear", padding_mode="border", align_corners=False):
    """Spacing.__call__: out_d = pixdim (padded with its last value; <=0 -> keep the input's);
    new_affine = zoom_affine(affine, out_d); shape, offset = compute_shape_offset(...);
    new_affine[:3,3] = offset; SpatialResample with xform = solve(src_affine, new_affine)."""
    if align_corners:
        raise Unsupported("Spacingd align_corners=True")
    pixdim = list(np.atleast_1d(np.asarray(pixdim, dtype=np.float64)))[:3]
    pixdim += [pixdim[-1]] * (3 - len(pixdim))
    orig = affine_to_spacing(img.affine)
    pixdim = np.array([o if p <= 0 else p for p, o in zip(pixdim, orig)])
    new_aff = zoom_affine(img.affine, pixdim)
    shape, offset = compute_shape_offset(img.data.shape[1:], img.affine, new_aff)
    new_aff[:3, 3] = offset
    in_shape = img.data.shape[1:]
    skipped = _unchanged(img.affine, new_aff, shape, in_shape)
    img.ops.append(("spacing", dict(affine_before=img.affine.copy(), shape_before=in_shape, mode=mode,
                                    padding_mode=padding_mode, skipped=skipped)))
    if skipped:
        return img
    img.data = resample(img.data, np.linalg.solve(img.affine, new_aff), shape, mode, padding_mode)
    img.affine = new_aff
    return img


def crop_foreground(img, source, margin=0, allow_smaller=False, k_divisible=1, channel_indices=None):
    """CropForeground.compute_bounding_box / transforms.utils.generate_spatial_bounding_box with
    select_fn = is_positive (x > 0), any over channels: start = first - margin, end = last + margin
    + 1 per axis (clamped to the image only if allow_smaller); no foreground -> empty box.  Then
    crop_pad: crop the in-image part, pad (constant 0) what lies outside; affine translated by start."""
    if k_divisible not in (1, [1, 1, 1]) or channel_indices is not None:
        raise Unsupported("CropForegroundd k_divisible/channel_indices")
    fg = (source > 0).any(0)
    shape = np.array(fg.shape)
    m = np.broadcast_to(np.asarray(margin, dtype=int), (3,))
    start, end = np.zeros(3, int), np.zeros(3, int)
    if not fg.any():
        raise Unsupported("CropForegroundd found no foreground (empty box)")
    for a in range(3):
        nz = np.nonzero(fg.any(axis=tuple(b for b in range(3) if b != a)))[0]
        start[a], end[a] = nz[0] - m[a], nz[-1] + m[a] + 1
        if allow_smaller:
            start[a], end[a] = max(start[a], 0), min(end[a], shape[a])
    out = np.zeros((img.data.shape[0],) + tuple(end - start), np.float32)
    s0, e0 = np.maximum(start, 0), np.minimum(end, shape)
    out[(slice(None),) + tuple(slice(s - b, e - b) for s, e, b in zip(s0, e0, start))] = \
        img.data[(slice(None),) + tuple(slice(s, e) for s, e in zip(s0, e0))]
    img.ops.append(("crop", dict(start=start, end=end, shape_before=tuple(shape))))
    t = np.eye(4)
    t[:3, 3] = start
    img.data, img.affine = out, img.affine @ t
    return img


# ----------------------------------------------------------------------------------------------
# Post-processing
# ----------------------------------------------------------------------------------------------
def invert(pred, ops, nearest_interp):
    """Invertd -> Compose.inverse: each invertible preprocessing step undone in reverse order on the
    network output (which carries the preprocessed image's affine and trace):
    CropForeground -> the crop's pad inverse then zero-pad back to the size before the crop;
    Spacing -> SpatialResample.inverse: resample onto the grid before Spacing (dst = its affine,
    size = its shape), same mode/padding (mode 'nearest' if nearest_interp); Orientation ->
    Orientation(axcodes=aff2axcodes(original affine)), i.e. the flip/transpose undone."""
    for kind, op in reversed(ops):
        if kind == "crop":
            start, end, shape = op["start"], op["end"], np.array(op["shape_before"])
            out = np.zeros((pred.data.shape[0],) + tuple(shape), np.float32)
            s0, e0 = np.maximum(start, 0), np.minimum(end, shape)
            out[(slice(None),) + tuple(slice(s, e) for s, e in zip(s0, e0))] = \
                pred.data[(slice(None),) + tuple(slice(s - b, e - b) for s, e, b in zip(s0, e0, start))]
            t = np.eye(4)
            t[:3, 3] = -start
            pred.data, pred.affine = out, pred.affine @ t
        elif kind == "spacing":
            if op["skipped"]:
                continue
            mode = "nearest" if nearest_interp else op["mode"]
            xform = np.linalg.solve(pred.affine, op["affine_before"])
            pred.data = resample(pred.data, xform, op["shape_before"], mode, op["padding_mode"])
            pred.affine = op["affine_before"]
        elif kind == "orientation":
            d = np.transpose(pred.data, np.argsort(op["perm"]))
            if op["flips"]:
                d = np.flip(d, axis=op["flips"])
            pred.data, pred.affine = np.ascontiguousarray(d), op["affine_before"]
    return pred


# ----------------------------------------------------------------------------------------------
# Pipeline
# ----------------------------------------------------------------------------------------------
PRE = {"LoadImaged", "EnsureChannelFirstd", "Orientationd", "Spacingd", "ScaleIntensityRanged",
       "ScaleIntensityd", "NormalizeIntensityd", "CropForegroundd", "EnsureTyped"}
POST = {"Activationsd", "Invertd", "AsDiscreted", "KeepLargestConnectedComponentd", "SaveImaged"}


def _target(t):
    return str(t.get("_target_", "")).split(".")[-1]


def _keys(t):
    k = t.get("keys")
    return [k] if isinstance(k, str) else list(k)


def transforms_of(comp):
    """Compose(transforms=...): the config's list, or what '@list' / '$@a + @b' resolved to (lists
    of components, joined); disabled components dropped."""
    if isinstance(comp, dict):
        if _target(comp) != "Compose":
            raise Unsupported(f"{_target(comp)} instead of Compose")
        comp = comp["transforms"]
    if isinstance(comp, dict) and "_target_" in comp:
        comp = [comp]  # Compose(transforms=one transform): ensure_tuple
    if not isinstance(comp, (list, tuple)) or not all(isinstance(t, dict) for t in comp):
        raise Unsupported(f"Compose transforms {type(comp).__name__} (not a list of transforms)")
    return [t for t in comp if not disabled(t)]


def _np_dtype(v):
    """SaveImaged output_dtype: np.float32 (from '$np.float32'), 'float32', 'np.uint8' ..."""
    try:
        return np.dtype(v)
    except TypeError:
        return np.dtype(str(v).replace("$", "").split(".")[-1])


def plan(bundle, config=None):
    """Resolve the parts of the config inference needs, refusing what is not supported."""
    cfg = Config(load_config_file(config or find_config(bundle)), {"bundle_root": bundle})
    pre = transforms_of(cfg.get("preprocessing"))
    post = transforms_of(cfg.get("postprocessing"))
    inf = cfg.get("inferer")
    for t in pre:
        if _target(t) not in PRE:
            raise Unsupported(f"preprocessing transform {_target(t)}")
    for t in post:
        if _target(t) not in POST:
            raise Unsupported(f"postprocessing transform {_target(t)}")
    if _target(inf) != "SlidingWindowInferer":
        raise Unsupported(f"inferer {_target(inf)}")
    return cfg, pre, post, inf


def predict(bundle, input_path, config=None, model=None, trace=None):
    """Returns (labels (X,Y,Z) float32, affine of the input, SaveImaged dtype).  trace (a dict), if
    given, receives the preprocessed image/affine, the blended raw output and the inferer settings."""
    cfg, pre, post, inf = plan(bundle, config)
    img = None
    for t in pre:
        name, keys = _target(t), _keys(t)
        if keys != ["image"]:
            raise Unsupported(f"{name} on keys {keys}")
        if name == "LoadImaged":
            for k in ("reader", "image_only"):
                if t.get(k) not in (None, "NibabelReader", True, False):
                    raise Unsupported(f"LoadImaged {k}={t.get(k)}")
            data, aff = load_image(input_path)
            img = Img(data, aff)
            input_affine = aff.copy()
        elif name == "EnsureChannelFirstd":
            img.data = ensure_channel_first(img.data, t.get("channel_dim"))
        elif name == "Orientationd":
            if t.get("as_closest_canonical"):
                raise Unsupported("as_closest_canonical")
            orientation(img, t.get("axcodes", "RAS"))
        elif name == "Spacingd":
            for k in ("diagonal", "scale_extent", "recompute_affine", "min_pixdim", "max_pixdim"):
                if t.get(k):
                    raise Unsupported(f"Spacingd {k}")
            spacing(img, t["pixdim"], t.get("mode", "bilinear"), t.get("padding_mode", "border"),
                    t.get("align_corners", False))
        elif name == "ScaleIntensityd":
            scale_intensity(img, t.get("minv", 0.0), t.get("maxv", 1.0), t.get("factor"), t.get("channel_wise", False),
                            t.get("dtype", "float32"))
        elif name == "ScaleIntensityRanged":
            scale_intensity_range(img, t["a_min"], t["a_max"], t.get("b_min"), t.get("b_max"), t.get("clip", False))
        elif name == "NormalizeIntensityd":
            normalize_intensity(img, t.get("nonzero", False), t.get("channel_wise", False),
                                t.get("subtrahend"), t.get("divisor"))
        elif name == "CropForegroundd":
            if t.get("source_key") != "image" or t.get("select_fn") is not None:
                raise Unsupported("CropForegroundd source_key/select_fn")
            crop_foreground(img, img.data, t.get("margin", 0), t.get("allow_smaller", False),
                            t.get("k_divisible", 1), t.get("channel_indices"))
    predictor = torchscript_predictor(model or os.path.join(bundle, "models", "model.ts"))
    raw = sliding_window(img.data, inf["roi_size"], predictor, int(inf.get("sw_batch_size", 1)),
                         inf.get("overlap", 0.25), inf.get("mode", "constant"), inf.get("sigma_scale", 0.125),
                         inf.get("padding_mode", "constant"), inf.get("cval", 0.0))
    if trace is not None:
        trace.update(pre=img.data.copy(), pre_affine=img.affine.copy(), raw=raw.copy(), inferer=inf)
    pred = Img(raw, img.affine)
    out_dtype = np.float32
    for t in post:
        name = _target(t)
        if _keys(t) != ["pred"]:
            raise Unsupported(f"{name} on keys {_keys(t)}")
        if name == "Activationsd":
            if truthy(t.get("softmax")):
                pred.data = softmax(pred.data)
            elif truthy(t.get("sigmoid")):
                pred.data = (1.0 / (1.0 + np.exp(-pred.data))).astype(np.float32)
            elif t.get("other") is not None:
                raise Unsupported("Activationsd other")
        elif name == "Invertd":
            if t.get("orig_keys") != "image":
                raise Unsupported("Invertd orig_keys")
            invert(pred, img.ops, truthy(t.get("nearest_interp", True)))
        elif name == "AsDiscreted":
            if truthy(t.get("argmax")):
                pred.data = np.argmax(pred.data, axis=0)[None].astype(np.float32)
            elif t.get("threshold") is not None:
                pred.data = (pred.data >= t["threshold"]).astype(np.float32)
        elif name == "KeepLargestConnectedComponentd":
            pred.data = keep_largest_cc(pred.data, t.get("applied_labels"), t.get("independent", True),
                                        t.get("connectivity"), t.get("num_components", 1))
        elif name == "SaveImaged":
            if t.get("resample"):
                raise Unsupported("SaveImaged resample=True")
            if t.get("output_dtype") is not None:
                out_dtype = _np_dtype(t["output_dtype"])
    if pred.data.shape[0] != 1:
        raise Unsupported("output has more than one channel after post-processing")
    return pred.data[0], input_affine, out_dtype


def write_labels(path, labels, affine, dtype=np.float32):
    """SaveImaged(resample=False) writes the inverted array with the input's affine."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    img = nibabel.Nifti1Image(labels.astype(dtype), affine)
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    nibabel.save(img, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("predict")
    p.add_argument("--bundle", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--config", default=None, help="default: BUNDLE/configs/inference.(json|yaml)")
    p.add_argument("--torch-grid", action="store_true", help="resampling coordinates from torch affine_grid")
    a = ap.parse_args(argv)
    global TORCH_GRID
    TORCH_GRID = TORCH_GRID or a.torch_grid
    try:
        labels, aff, dt = predict(a.bundle, a.input, a.config)
    except Unsupported as e:
        print(f"monai_reference: unsupported: {e}", file=sys.stderr)
        return 3
    write_labels(a.output, labels, aff, dt)
    return 0


if __name__ == "__main__":
    sys.exit(main())
