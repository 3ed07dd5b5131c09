#!/usr/bin/python3
"""A re-implementation of nnU-Net v2's inference path, the reference for MedSeg's nnU-Net support.

It predicts as `nnUNetPredictor(tile_step_size=0.5, use_gaussian=True, use_mirroring=True,
device=cpu).initialize_from_trained_model_folder(...)` followed by `predict_from_files(...)` does,
step by step, each function citing the upstream function it follows (nnunetv2 and acvl_utils). It
is written here, without the upstream packages (a plain clone of MedSeg does not have them); the
networks come from nnunet_fixture_networks.py. scipy and skimage do the resampling, as upstream.

    nnunet_reference.py predict --model RESULTS_FOLDER --input a_0000.nii.gz [--input a_0001.nii.gz]
                                --output labels.nii.gz [--folds 0,1] [--checkpoint final|best]
                                [--dump DIR]

Channel order = the order of --input = dataset.json channel_names order. Without --folds every
fold_N folder holding the checkpoint is used (as auto_detect_available_folds). The label map is
written as NibabelIO.write_seg writes it (uint8, the input's affine). --dump writes the
intermediate arrays (.npy) for debugging: the preprocessed data, the network-space logits (float16)
and the logits resampled to the cropped input grid.
"""
import argparse
import itertools
import json
import os
import sys

import nibabel
import numpy as np
import torch
from scipy.ndimage import binary_fill_holes, gaussian_filter, map_coordinates
from skimage.transform import resize

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nnunet_fixture_networks import build_network  # noqa: E402

ANISO_THRESHOLD = 3  # nnunetv2.configuration.ANISO_THRESHOLD


# --- reading and writing ----------------------------------------------------------------------

def read_images(paths):
    """As nnunetv2.imageio.nibabel_reader_writer.NibabelIO.read_images: each file's voxels
    transposed (2, 1, 0) to [k, j, i], stacked as channels in float32; spacing = zooms reversed.
    (SimpleITKIO.read_images gives the same array and spacing for a NIfTI file.)"""
    images, spacings, affines = [], [], []
    for path in paths:
        img = nibabel.load(path)
        if img.ndim != 3:
            raise ValueError(f"{path}: only 3d images are supported")
        affines.append(img.affine)
        spacings.append([float(z) for z in img.header.get_zooms()[::-1]])
        images.append(img.get_fdata().transpose((2, 1, 0))[None])
    if len({i.shape for i in images}) != 1 or any(s != spacings[0] for s in spacings):
        raise ValueError("the input images differ in shape or spacing")
    return np.vstack(images, dtype=np.float32, casting="unsafe"), {"spacing": spacings[0], "affine": affines[0]}


def write_seg(seg, path, properties):
    """As NibabelIO.write_seg: transpose (2, 1, 0), uint8, the input's affine."""
    seg = seg.transpose((2, 1, 0)).astype(np.uint8 if np.max(seg) < 255 else np.uint16, copy=False)
    nibabel.save(nibabel.Nifti1Image(seg, affine=properties["affine"]), path)


# --- preprocessing -----------------------------------------------------------------------------

def bbox_from_mask(mask):
    """As acvl_utils.cropping_and_padding.bounding_boxes.get_bbox_from_mask: half-open [start, end)
    per axis; an axis without any True keeps its full extent."""
    bbox = []
    for axis in range(mask.ndim):
        hits = np.flatnonzero(np.any(mask, axis=tuple(a for a in range(mask.ndim) if a != axis)))
        bbox.append([int(hits[0]), int(hits[-1]) + 1] if hits.size else [0, mask.shape[axis]])
    return bbox


def crop_to_nonzero(data):
    """As nnunetv2.preprocessing.cropping.cropping.crop_to_nonzero (with create_nonzero_mask):
    nonzero in any channel, holes filled (binary_fill_holes), cropped to its bounding box; the
    returned seg is 0 inside the filled mask and -1 outside."""
    nonzero = data[0] != 0
    for c in range(1, data.shape[0]):
        nonzero |= data[c] != 0
    nonzero = binary_fill_holes(nonzero)
    bbox = bbox_from_mask(nonzero)
    slicer = tuple(slice(*b) for b in bbox)
    seg = np.where(nonzero[slicer][None], np.int8(0), np.int8(-1))
    return data[(slice(None),) + slicer], seg, bbox


def normalize_channel(image, seg, scheme, use_mask, props):
    """As nnunetv2.preprocessing.normalization.default_normalization_schemes (float32 target)."""
    eps = 1e-8
    image = image.astype(np.float32, copy=False)
    if scheme == "ZScoreNormalization":
        if use_mask:
            mask = seg >= 0
            mean = image[mask].mean()
            std = image[mask].std()
            image[mask] = (image[mask] - mean) / (max(std, eps))
        else:
            mean = image.mean()
            std = image.std()
            image -= mean
            image /= (max(std, eps))
    elif scheme == "CTNormalization":
        np.clip(image, props["percentile_00_5"], props["percentile_99_5"], out=image)
        image -= props["mean"]
        image /= max(props["std"], eps)
    elif scheme == "RescaleTo01Normalization":
        image -= image.min()
        image /= np.clip(image.max(), a_min=eps, a_max=None)
    elif scheme == "RGBTo01Normalization":
        image /= 255.
    elif scheme != "NoNormalization":
        raise ValueError(f"unknown normalization scheme {scheme}")
    return image


def compute_new_shape(old_shape, old_spacing, new_spacing):
    """As nnunetv2.preprocessing.resampling.default_resampling.compute_new_shape."""
    return np.array([int(round(i / j * k)) for i, j, k in zip(old_spacing, new_spacing, old_shape)])


def determine_do_sep_z_and_axis(force_separate_z, current_spacing, new_spacing):
    """As default_resampling.determine_do_sep_z_and_axis (with get_do_separate_z, get_lowres_axis)."""
    def lowres_axis(spacing):
        return np.where(max(spacing) / np.array(spacing) == 1)[0]

    def anisotropic(spacing):
        return (np.max(spacing) / np.min(spacing)) > ANISO_THRESHOLD

    if force_separate_z is not None:
        do_separate_z = force_separate_z
        axis = lowres_axis(current_spacing) if force_separate_z else None
    elif anisotropic(current_spacing):
        do_separate_z, axis = True, lowres_axis(current_spacing)
    elif anisotropic(new_spacing):
        do_separate_z, axis = True, lowres_axis(new_spacing)
    else:
        do_separate_z, axis = False, None
    if axis is not None:
        if len(axis) in (2, 3):
            do_separate_z, axis = False, None
        else:
            axis = axis[0]
    return do_separate_z, axis


def resample_data_or_seg_to_shape(data, new_shape, current_spacing, new_spacing, is_seg=False, order=3,
                                  order_z=0, force_separate_z=False):
    """As default_resampling.resample_data_or_seg_to_shape + resample_data_or_seg for data and
    logits (is_seg False): skimage resize (mode 'edge', no anti-aliasing) in float64, per slice
    along the anisotropic axis when separate-z applies, then map_coordinates of order order_z
    (mode 'nearest') along that axis; the result keeps the input dtype. Unchanged if same shape."""
    if is_seg:
        raise NotImplementedError("segmentation resampling is not part of inference")
    do_separate_z, axis = determine_do_sep_z_and_axis(force_separate_z, current_spacing, new_spacing)
    shape = np.array(data[0].shape)
    new_shape = np.array(new_shape)
    if not np.any(shape != new_shape):
        return data
    kwargs = {"mode": "edge", "anti_aliasing": False}
    out = np.zeros((data.shape[0], *new_shape), dtype=data.dtype)
    data = data.astype(float, copy=False)
    if not do_separate_z:
        for c in range(data.shape[0]):
            out[c] = resize(data[c], new_shape, order, **kwargs)
        return out
    new_shape_2d = np.delete(new_shape, axis)
    for c in range(data.shape[0]):
        tmp = new_shape.copy()
        tmp[axis] = shape[axis]
        here = np.zeros(tmp)
        for s in range(shape[axis]):
            idx = [slice(None)] * 3
            idx[axis] = s
            here[tuple(idx)] = resize(data[c][tuple(idx)], new_shape_2d, order, **kwargs)
        if shape[axis] != new_shape[axis]:
            scales = [float(o) / n for o, n in zip(here.shape, new_shape)]  # align_corners=False
            grid = np.mgrid[:new_shape[0], :new_shape[1], :new_shape[2]]
            coords = np.array([sc * (g + 0.5) - 0.5 for sc, g in zip(scales, grid)])
            out[c] = map_coordinates(here, coords, order=order_z, mode="nearest")[None]
        else:
            out[c] = here
    return out


def preprocess(data, properties, plans, config):
    """As nnunetv2.preprocessing.preprocessors.default_preprocessor.DefaultPreprocessor.run_case_npy
    (inference: no seg): transpose_forward, crop_to_nonzero, normalization (per channel, before
    resampling), resampling to the configuration's spacing (2d: the slice spacing is kept)."""
    tf = plans["transpose_forward"]
    data = data.astype(np.float32)
    data = data.transpose([0, *[i + 1 for i in tf]])
    original_spacing = [properties["spacing"][i] for i in tf]
    properties["shape_before_cropping"] = data.shape[1:]
    data, seg, bbox = crop_to_nonzero(data)
    properties["bbox_used_for_cropping"] = bbox
    properties["shape_after_cropping_and_before_resampling"] = data.shape[1:]
    target_spacing = list(config["spacing"])
    if len(target_spacing) < len(data.shape[1:]):
        target_spacing = [original_spacing[0]] + target_spacing
    new_shape = compute_new_shape(data.shape[1:], original_spacing, target_spacing)
    properties["new_shape_unrounded"] = [i / j * k for i, j, k in zip(original_spacing, target_spacing, data.shape[1:])]
    fg_props = plans["foreground_intensity_properties_per_channel"]
    for c in range(data.shape[0]):
        data[c] = normalize_channel(data[c], seg[0], config["normalization_schemes"][c],
                                    config["use_mask_for_norm"][c], fg_props.get(str(c)))
    data = resample_data_or_seg_to_shape(data, new_shape, original_spacing, target_spacing,
                                         **config["resampling_fn_data_kwargs"])
    return data, properties


# --- sliding-window prediction -----------------------------------------------------------------

def pad_nd_image(image, new_shape):
    """As acvl_utils.cropping_and_padding.padding.pad_nd_image(image, new_shape, 'constant',
    {'value': 0}, True): pad the last len(new_shape) axes to at least new_shape, content centred
    (the odd voxel above); returns the padded tensor and the slicer that reverts it."""
    old = list(image.shape)
    new = old[:len(old) - len(new_shape)] + list(new_shape)
    new = [max(n, o) for n, o in zip(new, old)]
    below = [(n - o) // 2 for n, o in zip(new, old)]
    above = [(n - o) // 2 + (n - o) % 2 for n, o in zip(new, old)]
    if any(below) or any(above):
        torch_pad = [p for b, a in reversed(list(zip(below, above))) for p in (b, a)]
        image = torch.nn.functional.pad(image, torch_pad, "constant", value=0)
    return image, tuple(slice(b, n - a) for b, a, n in zip(below, above, image.shape))


def compute_steps_for_sliding_window(image_size, tile_size, tile_step_size):
    """As nnunetv2.inference.sliding_window_prediction.compute_steps_for_sliding_window."""
    target_steps = [i * tile_step_size for i in tile_size]
    num_steps = [int(np.ceil((i - k) / j)) + 1 for i, j, k in zip(image_size, target_steps, tile_size)]
    steps = []
    for dim in range(len(tile_size)):
        max_step = image_size[dim] - tile_size[dim]
        actual = max_step / (num_steps[dim] - 1) if num_steps[dim] > 1 else 99999999999
        steps.append([int(np.round(actual * i)) for i in range(num_steps[dim])])
    return steps


def compute_gaussian(tile_size, sigma_scale=1. / 8, value_scaling_factor=10, dtype=torch.float16):
    """As sliding_window_prediction.compute_gaussian: a unit impulse at the tile centre blurred
    with sigma = tile/8 (mode constant), scaled to a maximum of value_scaling_factor, cast to half;
    zeros replaced by the smallest nonzero value."""
    tmp = np.zeros(tile_size)
    tmp[tuple(i // 2 for i in tile_size)] = 1
    gaussian = gaussian_filter(tmp, [i * sigma_scale for i in tile_size], 0, mode="constant", cval=0)
    gaussian /= (np.max(gaussian) / value_scaling_factor)
    gaussian = torch.from_numpy(gaussian).to(dtype=dtype)
    mask = gaussian == 0
    gaussian[mask] = torch.min(gaussian[~mask])
    return gaussian


def sliding_window_slicers(image_size, patch_size, step_size):
    """As nnUNetPredictor._internal_get_sliding_window_slicers (2d: per slice of axis 0)."""
    slicers = []
    if len(patch_size) < len(image_size):
        steps = compute_steps_for_sliding_window(image_size[1:], patch_size, step_size)
        for d in range(image_size[0]):
            for sx in steps[0]:
                for sy in steps[1]:
                    slicers.append((slice(None), d, *[slice(s, s + t) for s, t in zip((sx, sy), patch_size)]))
    else:
        steps = compute_steps_for_sliding_window(image_size, patch_size, step_size)
        for sx in steps[0]:
            for sy in steps[1]:
                for sz in steps[2]:
                    slicers.append((slice(None), *[slice(s, s + t) for s, t in zip((sx, sy, sz), patch_size)]))
    return slicers


def maybe_mirror_and_predict(network, x, mirror_axes):
    """As nnUNetPredictor._internal_maybe_mirror_and_predict: the plain prediction plus the flipped
    predictions over every non-empty combination of the allowed axes, averaged."""
    prediction = network(x)
    if mirror_axes is not None:
        axes = [m + 2 for m in mirror_axes]
        combos = [c for i in range(len(axes)) for c in itertools.combinations(axes, i + 1)]
        for c in combos:
            prediction += torch.flip(network(torch.flip(x, c)), c)
        prediction /= (len(combos) + 1)
    return prediction


@torch.inference_mode()
def predict_sliding_window_return_logits(network, data, patch_size, num_heads, mirror_axes, step_size=0.5):
    """As nnUNetPredictor.predict_sliding_window_return_logits + _internal_predict_sliding_window_
    return_logits on CPU: zero padding to the patch size, Gaussian-weighted tiles accumulated in
    half precision (logits and weights), divided, padding reverted."""
    data, revert = pad_nd_image(data, patch_size)
    slicers = sliding_window_slicers(data.shape[1:], patch_size, step_size)
    logits = torch.zeros((num_heads, *data.shape[1:]), dtype=torch.half)
    n_predictions = torch.zeros(data.shape[1:], dtype=torch.half)
    gaussian = compute_gaussian(tuple(patch_size))
    for sl in slicers:
        workon = torch.clone(data[sl][None], memory_format=torch.contiguous_format)
        prediction = maybe_mirror_and_predict(network, workon, mirror_axes)[0]
        prediction *= gaussian
        logits[sl] += prediction
        n_predictions[sl[1:]] += gaussian
    torch.div(logits, n_predictions, out=logits)
    if torch.any(torch.isinf(logits)):
        raise RuntimeError("inf in the predicted logits")
    return logits[(slice(None), *revert[1:])]


# --- model folder ------------------------------------------------------------------------------

class LabelInfo:
    """As nnunetv2.utilities.label_handling.label_handling.LabelManager: regions when any label is
    a list of more than one value (then sigmoid and regions_class_order), else softmax labels."""

    def __init__(self, dataset_json):
        labels = {k: v for k, v in dataset_json["labels"].items() if k != "ignore"}
        self.has_regions = any(isinstance(v, (list, tuple)) and len(v) > 1 for v in labels.values())
        values = [int(x) for v in labels.values() for x in (v if isinstance(v, (list, tuple)) else [v])]
        self.all_labels = sorted(set(values))
        self.regions_class_order = dataset_json.get("regions_class_order")
        if self.has_regions:
            regions = [v for v in labels.values()
                       if not (np.isscalar(v) and v == 0) and
                       not (isinstance(v, (list, tuple)) and len(set(v)) == 1 and list(v)[0] == 0)]
            if self.regions_class_order is None or len(self.regions_class_order) != len(regions):
                raise ValueError("region-based dataset.json needs one regions_class_order entry per region")
            self.num_heads = len(regions)
        else:
            self.num_heads = len(self.all_labels)

    def logits_to_segmentation(self, logits):
        """As LabelManager.convert_logits_to_segmentation (numpy in): sigmoid (float32) and
        regions_class_order painted in order where > 0.5, or argmax."""
        if self.has_regions:
            probabilities = torch.sigmoid(torch.from_numpy(logits).float()).numpy()
            seg = np.zeros(probabilities.shape[1:], dtype=np.uint16)
            for i, c in enumerate(self.regions_class_order):
                seg[probabilities[i] > 0.5] = c
            return seg
        return logits.argmax(0)


def find_folds(model_folder, checkpoint_name):
    """As nnUNetPredictor.auto_detect_available_folds (sorted fold_N folders, fold_all excluded)."""
    names = sorted(d for d in os.listdir(model_folder)
                   if d.startswith("fold_") and d != "fold_all" and os.path.isdir(os.path.join(model_folder, d)))
    return [int(d.split("_")[-1]) for d in names if os.path.isfile(os.path.join(model_folder, d, checkpoint_name))]


def load_model(model_folder, folds=None, checkpoint="final"):
    """As nnUNetPredictor.initialize_from_trained_model_folder: dataset.json, plans.json, each fold's
    checkpoint (configuration and mirroring axes from the first), the network from the plans."""
    checkpoint_name = {"final": "checkpoint_final.pth", "best": "checkpoint_best.pth"}.get(checkpoint, checkpoint)
    with open(os.path.join(model_folder, "dataset.json")) as f:
        dataset_json = json.load(f)
    with open(os.path.join(model_folder, "plans.json")) as f:
        plans = json.load(f)
    if folds is None:
        folds = find_folds(model_folder, checkpoint_name)
    if not folds:
        raise ValueError(f"{model_folder}: no fold holds {checkpoint_name}")
    parameters = []
    for i, fold in enumerate(folds):
        ckpt = torch.load(os.path.join(model_folder, f"fold_{fold}", checkpoint_name), map_location="cpu",
                          weights_only=False)
        if i == 0:
            configuration = ckpt["init_args"]["configuration"]
            mirror_axes = ckpt.get("inference_allowed_mirroring_axes")
        parameters.append(ckpt["network_weights"])
    config = plans["configurations"][configuration]
    while "inherits_from" in config:  # PlansManager._internal_resolve_configuration_inheritance
        parent = dict(plans["configurations"][config["inherits_from"]])
        parent.update({k: v for k, v in config.items() if k != "inherits_from"})
        config = parent
    labels = LabelInfo(dataset_json)
    network = build_network(config["architecture"], len(dataset_json["channel_names"]), labels.num_heads)
    network.load_state_dict(parameters[0])
    network.eval()
    return dict(plans=plans, config=config, dataset_json=dataset_json, labels=labels, network=network,
                parameters=parameters, mirror_axes=mirror_axes, configuration=configuration, folds=list(folds))


@torch.inference_mode()
def predict_logits(model, data):
    """As nnUNetPredictor.predict_logits_from_preprocessed_data: every fold's half-precision logits
    summed in fold order and divided by the number of folds (in half precision)."""
    prediction = None
    for params in model["parameters"]:
        model["network"].load_state_dict(params)
        logits = predict_sliding_window_return_logits(model["network"], data, model["config"]["patch_size"],
                                                      model["labels"].num_heads, model["mirror_axes"])
        prediction = logits if prediction is None else prediction + logits
    if len(model["parameters"]) > 1:
        prediction /= len(model["parameters"])
    return prediction


def logits_to_label_map(logits, model, properties):
    """As nnunetv2.inference.export_prediction.convert_predicted_logits_to_segmentation_with_correct_
    shape: logits resampled (resampling_fn_probabilities) to the cropped input grid, segmentation,
    insert_crop_into_image into a zero uint8 volume, transpose_backward. Also returns the resampled
    logits."""
    plans, config = model["plans"], model["config"]
    spacing_transposed = [properties["spacing"][i] for i in plans["transpose_forward"]]
    shape_after_crop = properties["shape_after_cropping_and_before_resampling"]
    current_spacing = config["spacing"] if len(config["spacing"]) == len(shape_after_crop) else \
        [spacing_transposed[0], *config["spacing"]]
    resampled = resample_data_or_seg_to_shape(logits, shape_after_crop, current_spacing, spacing_transposed,
                                              **config["resampling_fn_probabilities_kwargs"])
    seg = model["labels"].logits_to_segmentation(resampled)
    n_fg = len([v for v in model["labels"].all_labels if v != 0])
    full = np.zeros(properties["shape_before_cropping"], dtype=np.uint8 if n_fg < 255 else np.uint16)
    full[tuple(slice(*b) for b in properties["bbox_used_for_cropping"])] = seg  # insert_crop_into_image
    return full.transpose(plans["transpose_backward"]), resampled


def predict_files(model, input_paths, output_path=None, dump_dir=None):
    """The whole path for one case (predict_from_files for one list of channel files). Returns the
    label map in the input's array order ([k, j, i]), the resampled logits on the cropped grid and
    the geometry of the steps (crop box, shapes; transposed order)."""
    if len(input_paths) != len(model["dataset_json"]["channel_names"]):
        raise ValueError(f"the model wants {len(model['dataset_json']['channel_names'])} input channels")
    data, properties = read_images(input_paths)
    data, properties = preprocess(data, properties, model["plans"], model["config"])
    data = torch.from_numpy(data).to(dtype=torch.float32, memory_format=torch.contiguous_format)
    logits = predict_logits(model, data).cpu().detach().numpy()
    seg, resampled = logits_to_label_map(logits, model, properties)
    if dump_dir:
        os.makedirs(dump_dir, exist_ok=True)
        np.save(os.path.join(dump_dir, "preprocessed.npy"), data.numpy())
        np.save(os.path.join(dump_dir, "logits.npy"), logits)
        np.save(os.path.join(dump_dir, "logits_resampled.npy"), resampled)
    if output_path:
        write_seg(seg, output_path, properties)
    steps = {"crop_bbox": properties["bbox_used_for_cropping"],
             "shape_after_crop": [int(s) for s in properties["shape_after_cropping_and_before_resampling"]],
             "network_input_shape": [int(s) for s in data.shape[1:]],
             "network_input_shape_unrounded": properties["new_shape_unrounded"]}
    return seg, resampled, steps


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("predict", help="predict one case")
    p.add_argument("--model", required=True, help="results folder (holds plans.json, dataset.json, fold_N/)")
    p.add_argument("--input", action="append", required=True, help="one per channel, in channel order")
    p.add_argument("--output", required=True)
    p.add_argument("--folds", help="comma-separated, e.g. 0,1 (default: every fold with the checkpoint)")
    p.add_argument("--checkpoint", default="final", help="final, best, or a file name")
    p.add_argument("--dump", help="folder for the intermediate arrays")
    args = parser.parse_args(argv)
    folds = None if args.folds is None else [f if f == "all" else int(f) for f in args.folds.split(",")]
    model = load_model(args.model, folds, args.checkpoint)
    predict_files(model, args.input, args.output, args.dump)
    return 0


if __name__ == "__main__":
    sys.exit(main())
