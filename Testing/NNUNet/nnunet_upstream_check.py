#!/usr/bin/python3
"""Acceptance check: `medseg segment` on an nnU-Net v2 results folder gives nnU-Net's own labels.

Every nnU-Net step is upstream's own code (../shared/reference/nnunet-upstream.tar.gz), run in child
processes of this script (`--stage model|predict`); this process never imports it:

1. a small synthetic dataset (MRI-like phantoms made here, no subject's scan) in nnU-Net v2's raw
   layout is fingerprinted, planned (ExperimentPlanner and nnUNetPlannerResEncM, with a small GPU
   memory target so that the networks train on two CPU cores) and preprocessed by nnU-Net;
2. nnU-Net's trainer class builds the network (deep supervision on), loss, optimizer and scheduler,
   trains a few iterations on patches sampled by nnU-Net's data loader, writes its own checkpoints,
   plans.json, dataset.json and dataset_fingerprint.json into nnU-Net's results layout;
3. nnUNetPredictor segments test cases that are not in the training set: one on the plans' grid, one
   oblique with another spacing, one with thick slices (resampled with a separate z axis);
4. `medseg segment` segments the same cases; its label maps must have nnU-Net's geometry (shape,
   affine within 1e-4), >= 99.5 % equal voxels and a Dice >= 0.99 for each label present in either.

Usage: nnunet_upstream_check.py --medseg BIN --workdir DIR [--reference DIR] [--keep]
Exit status: 0 all passed, 1 a failure (one line each), 77 reference code absent (skip).
DIR caches the extracted reference, the trained models and nnU-Net's predictions under VERSION
(change VERSION whenever anything they depend on changes); --keep keeps medseg's outputs too.
Run with Debian's /usr/bin/python3 (torch 1.13, numpy, scipy, nibabel, sklearn, pandas, tqdm).
"""
import argparse
import importlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np

VERSION = "nnunet-upstream-check-6"
DATASET_ID = 987
DATASET_NAME = "Dataset987_Phantoms"
CONFIGURATION = "3d_fullres"
TRAINER = "nnUNetTrainer"
# Each plans file becomes one trained results folder: {fold: epochs of ITERATIONS_PER_EPOCH train
# steps} (later folds start from the first fold's weights), and the test cases it segments with the
# folds each uses (a fold ensemble costs a network pass per fold: one case has it).
PLANNERS = "nnunetv2.experiment_planning.experiment_planners."
MODELS = [
    {"planner": PLANNERS + "default_experiment_planner.ExperimentPlanner", "plans": "nnUNetPlans",
     "epochs": {0: 4, 1: 1}, "cases": {"grid": (0, 1), "oblique": (0,), "thick": (0,)}},
    {"planner": PLANNERS + "residual_unets.residual_encoder_unet_planners.nnUNetPlannerResEncM",
     "plans": "nnUNetResEncUNetMPlans", "epochs": {0: 3}, "cases": {"grid": (0,)}},
]
GPU_MEMORY_TARGET_GB = 0.1    # plan_experiment_dataset(gpu_memory_target_in_gb=...): patch < image
ITERATIONS_PER_EPOCH = 8
VAL_ITERATIONS_PER_EPOCH = 1
INITIAL_LR = 1e-2
NUM_PROCESSES = 2
NUM_TRAINING = 10
LABELS = {"background": 0, "a": 1, "b": 2}
FIELD_OF_VIEW_MM = 60.0
# Acceptance figures.
MIN_EQUAL_FRACTION = 0.995
MIN_DICE = 0.99
AFFINE_TOLERANCE = 1e-4
MEDSEG_TIMEOUT_S = 600

SCRIPT = Path(__file__).resolve()
DEFAULT_REFERENCE = SCRIPT.parents[2].parent / "shared" / "reference"   # <repo>/../shared/reference


# -------------------------------------------------------------------------------------------------
# Phantoms (this process: numpy, scipy, nibabel only)
# -------------------------------------------------------------------------------------------------

def rotation_matrix(degrees):
    """Rotation about x, then y, then z (degrees)."""
    ax, ay, az = np.deg2rad(degrees)
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx


def make_affine(shape, zooms, rotation_degrees, rng):
    """A NIfTI (RAS) affine whose volume centre lies within a few mm of the world origin."""
    linear = rotation_matrix(rotation_degrees) @ np.diag(zooms)
    affine = np.eye(4)
    affine[:3, :3] = linear
    affine[:3, 3] = -linear @ ((np.array(shape) - 1) / 2.0) + rng.uniform(-2, 2, 3)
    return affine


def ellipsoid_inside(points, centre, semi_axes, rotation):
    local = (points - centre) @ rotation  # world -> ellipsoid frame
    return np.sum((local / semi_axes) ** 2, axis=-1) <= 1.0


def make_phantom(seed, zooms, rotation_degrees=(0, 0, 0), noisy_background=False,
                 field_of_view=FIELD_OF_VIEW_MM):
    """A head-like ellipsoid of tissue holding a bright ellipsoid (label 1, "a") and a dark
    spherical shell (label 2, "b"), defined in world millimetres, smoothed, with a multiplicative
    bias field and Rician noise; the background is exactly 0 (skull-stripped) or noise.
    Returns (image float32, labels uint8, affine) in nibabel's (i, j, k) voxel order."""
    from scipy.ndimage import gaussian_filter
    rng = np.random.default_rng(seed)
    zooms = np.asarray(zooms, dtype=float)
    shape = tuple(int(round(field_of_view * rng.uniform(0.95, 1.05) / z)) for z in zooms)
    affine = make_affine(shape, zooms, rotation_degrees, rng)
    ijk = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), axis=-1)
    world = ijk @ affine[:3, :3].T + affine[:3, 3]

    head_centre = rng.normal(0, 1.5, 3)
    head_rotation = rotation_matrix(rng.uniform(-10, 10, 3))
    head = ellipsoid_inside(world, head_centre, np.array([25, 22, 19]) * rng.uniform(0.92, 1.05, 3),
                            head_rotation)
    direction = rng.normal(size=3)
    direction /= np.linalg.norm(direction)
    a_centre = head_centre + direction * rng.uniform(8, 10)
    a = ellipsoid_inside(world, a_centre, rng.uniform(6.5, 9, 3),
                         rotation_matrix(rng.uniform(-40, 40, 3))) & head
    b_centre = head_centre - direction * rng.uniform(9, 11)
    b_radius = np.linalg.norm(world - b_centre, axis=-1)
    outer = rng.uniform(7.5, 9.0)
    b_interior = (b_radius < outer - 4.0) & head & ~a
    b = (b_radius <= outer) & head & ~a & ~b_interior

    labels = np.zeros(shape, np.uint8)
    labels[a] = 1
    labels[b] = 2
    texture = 1 + 0.06 * gaussian_filter(rng.normal(size=shape), 1.5) / 0.1  # ~6 % smooth texture
    truth = np.where(head, 100.0 * texture, 0.0)
    truth[a] = 165 * rng.uniform(0.95, 1.05)
    truth[b] = 45 * rng.uniform(0.9, 1.1)
    truth[b_interior] = 120
    truth = gaussian_filter(truth, 0.6)
    gradient = rng.normal(0, 0.15, 3)
    relative = (world - head_centre) / 30.0
    bias = np.exp(relative @ gradient + 0.08 * (np.sum(relative ** 2, axis=-1) - 1))
    sigma = rng.uniform(3, 6)
    signal = truth * bias * rng.uniform(0.8, 1.5)
    noisy = np.sqrt((signal + rng.normal(0, sigma, shape)) ** 2 + rng.normal(0, sigma, shape) ** 2)
    image = noisy if noisy_background else np.where(head, noisy, 0.0)
    return image.astype(np.float32), labels, affine


def save_nifti(array, affine, path, scanner=False):
    """nibabel's default header (sform code 2, qform code 0), or a converter's (both codes 1)."""
    import nibabel
    image = nibabel.Nifti1Image(array, affine)
    if scanner:
        image.set_qform(affine, code=1)
        image.set_sform(affine, code=1)
    nibabel.save(image, str(path))


def write_raw_dataset(raw):
    """nnU-Net v2's raw layout: imagesTr/<case>_0000.nii.gz, labelsTr/<case>.nii.gz, dataset.json.
    Spacings vary around (1.5, 1.2, 1.3) mm in nibabel order, so the median spacing is the target
    and nnU-Net's array axis 2 (the 1.5 mm one) becomes transpose_forward's first axis."""
    folder = raw / DATASET_NAME
    (folder / "imagesTr").mkdir(parents=True)
    (folder / "labelsTr").mkdir()
    rng = np.random.default_rng(20240601)
    for index in range(NUM_TRAINING):
        zooms = (rng.uniform(1.4, 1.6), rng.uniform(1.1, 1.3), rng.uniform(1.2, 1.4))
        noisy = index % 5 in (1, 3)  # 4 of 10: a noisy background, field of view cut close
        field_of_view = rng.uniform(46, 52) if noisy else FIELD_OF_VIEW_MM
        image, labels, affine = make_phantom(100 + index, zooms, noisy_background=noisy,
                                             field_of_view=field_of_view)
        save_nifti(image, affine, folder / "imagesTr" / f"case_{index:03d}_0000.nii.gz")
        save_nifti(labels, affine, folder / "labelsTr" / f"case_{index:03d}.nii.gz")
    dataset = {
        "name": "Phantoms", "description": "synthetic MRI-like phantoms (MedSeg acceptance check)",
        "channel_names": {"0": "T1"}, "labels": LABELS,
        "numTraining": NUM_TRAINING, "file_ending": ".nii.gz",
        "overwrite_image_reader_writer": "NibabelIO",
    }
    (folder / "dataset.json").write_text(json.dumps(dataset, indent=2))


def write_test_cases(tests, plans):
    """Cases not in the training set: 'grid' has the configuration's spacing (so nnU-Net does not
    resample it); 'oblique' a rotated affine, another spacing, a smaller field of view and a noisy
    background (nothing to crop); 'thick' 3.6 mm slices (resampled with a separate z axis).
    Their headers carry qform and sform (codes 1), as DICOM converters write them."""
    configuration = plans["configurations"][CONFIGURATION]
    array_spacing = [configuration["spacing"][i] for i in plans["transpose_backward"]]
    specs = [
        ("grid", 9001, tuple(array_spacing[::-1]), (0, 0, 0), False, FIELD_OF_VIEW_MM),
        ("oblique", 9002, (1.2, 1.35, 1.0), (25, -12, 8), True, 48.0),
        ("thick", 9003, (1.1, 1.0, 3.6), (0, 0, 180), False, FIELD_OF_VIEW_MM),
    ]
    tests.mkdir(parents=True)
    cases = {}
    for name, seed, zooms, rotation, noisy, field_of_view in specs:
        image, labels, affine = make_phantom(seed, zooms, rotation, noisy, field_of_view)
        save_nifti(image, affine, tests / f"{name}_0000.nii.gz", scanner=True)
        save_nifti(labels, affine, tests / f"{name}_truth.nii.gz", scanner=True)
        cases[name] = {"image": str(tests / f"{name}_0000.nii.gz"), "shape": list(image.shape),
                       "zooms": [float(z) for z in zooms], "rotation_degrees": list(rotation),
                       "noisy_background": noisy}
    (tests / "cases.json").write_text(json.dumps(cases, indent=2))
    return cases


# -------------------------------------------------------------------------------------------------
# Upstream stages (child processes with the reference code on PYTHONPATH)
# -------------------------------------------------------------------------------------------------

def nnunet_folders(root):
    return {"nnUNet_raw": root / "nnUNet_raw", "nnUNet_preprocessed": root / "nnUNet_preprocessed",
            "nnUNet_results": root / "nnUNet_results"}


def model_folder(root, plans_identifier):
    return nnunet_folders(root)["nnUNet_results"] / DATASET_NAME / \
        f"{TRAINER}__{plans_identifier}__{CONFIGURATION}"


def run_stage(stage, root, reference_code, log):
    """Runs this script's `--stage` in a child with the upstream code importable, as the
    reference README says (PYTHONPATH=<extract>:<extract>/stubs), and nnU-Net's folders set."""
    env = dict(os.environ)
    env["PYTHONPATH"] = f"{reference_code}{os.pathsep}{reference_code / 'stubs'}"
    env.update({k: str(v) for k, v in nnunet_folders(root).items()})
    env["nnUNet_def_n_proc"] = str(NUM_PROCESSES)
    env["nnUNet_n_proc_DA"] = str(NUM_PROCESSES)
    env["nnUNet_compile"] = "false"
    env["MPLBACKEND"] = "agg"
    command = [sys.executable, str(SCRIPT), "--stage", stage, "--workdir", str(root)]
    with open(log, "w") as out:
        result = subprocess.run(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        tail = Path(log).read_text(errors="replace").splitlines()[-25:]
        print("\n".join(tail))
        sys.exit(f"FAIL: upstream stage '{stage}' exited {result.returncode} (log: {log})")


def seconds_since(start):
    return round(time.time() - start, 2)


def stage_model(root):
    """Fingerprint, plans, preprocessing and training, all through nnU-Net's own API."""
    import torch
    from batchgenerators.utilities.file_and_folder_operations import load_json
    # nnunetv2.experiment_planning.plan_and_preprocess_api: what nnUNetv2_plan_and_preprocess runs.
    from nnunetv2.experiment_planning.plan_and_preprocess_api import (extract_fingerprints,
                                                                      plan_experiment_dataset)

    torch.manual_seed(0)
    np.random.seed(0)
    timings = {}
    start = time.time()
    # (check_dataset_integrity=True would add verify_dataset_integrity: ~10 s of process start-up)
    extract_fingerprints([DATASET_ID], num_processes=NUM_PROCESSES, check_dataset_integrity=False,
                         verbose=False, show_progress_bar=False)
    timings["fingerprint_s"] = seconds_since(start)
    preprocessed = nnunet_folders(root)["nnUNet_preprocessed"] / DATASET_NAME
    summary = {"timings": timings, "models": {}}
    for model in MODELS:
        planner, plans_identifier, folds = model["planner"], model["plans"], list(model["epochs"])
        start = time.time()
        # the planner class imported by name: plan_experiments' search by name imports every planner
        # module, and resample_with_torch's needs einops, which Debian lacks.
        module, name = planner.rsplit(".", 1)
        planner_class = getattr(importlib.import_module(module), name)
        _, used = plan_experiment_dataset(DATASET_ID, planner_class,
                                          gpu_memory_target_in_gb=GPU_MEMORY_TARGET_GB)
        assert used == plans_identifier, used
        timings[f"plan_{plans_identifier}_s"] = seconds_since(start)
        start = time.time()
        preprocess_training_cases(root, plans_identifier)
        timings[f"preprocess_{plans_identifier}_s"] = seconds_since(start)
        losses = {}
        for fold in folds:
            start = time.time()
            losses[fold] = train_fold(plans_identifier, fold, folds[0], model["epochs"][fold])
            timings[f"train_{plans_identifier}_fold{fold}_s"] = seconds_since(start)
        plans = load_json(str(preprocessed / f"{plans_identifier}.json"))
        configuration = plans["configurations"][CONFIGURATION]
        architecture = configuration["architecture"]
        summary["models"][plans_identifier] = {
            "planner": planner.rsplit(".", 1)[1], "folds": folds,
            "folder": str(model_folder(root, plans_identifier)),
            "spacing": configuration["spacing"], "patch_size": configuration["patch_size"],
            "batch_size": configuration["batch_size"],
            "network": architecture["network_class_name"].split(".")[-1],
            "n_stages": architecture["arch_kwargs"]["n_stages"],
            "features_per_stage": architecture["arch_kwargs"]["features_per_stage"],
            "strides": architecture["arch_kwargs"]["strides"],
            "transpose_forward": plans["transpose_forward"],
            "normalization": configuration["normalization_schemes"],
            "use_mask_for_norm": configuration["use_mask_for_norm"],
            "configurations": sorted(plans["configurations"]), "losses": losses,
        }
    (root / "model.json").write_text(json.dumps(summary, indent=2))


def preprocess_training_cases(root, plans_identifier):
    """The 3d_fullres step of nnunetv2.experiment_planning.plan_and_preprocess_api.preprocess: the
    configuration's preprocessor (DefaultPreprocessor.run_case: transpose, crop to nonzero,
    normalize, resample, foreground locations) on every training case, each written with
    nnUNetDatasetNumpy.save_case (nnU-Net's .npz + .pkl format), because
    DefaultPreprocessor.run_case_save writes Blosc2, which Debian lacks (stubbed in the reference).
    """
    from batchgenerators.utilities.file_and_folder_operations import load_json
    from nnunetv2.training.dataloading.nnunet_dataset import nnUNetDatasetNumpy
    from nnunetv2.utilities.plans_handling.plans_handler import PlansManager
    from nnunetv2.utilities.utils import get_filenames_of_train_images_and_targets

    folders = nnunet_folders(root)
    preprocessed = folders["nnUNet_preprocessed"] / DATASET_NAME
    plans_manager = PlansManager(str(preprocessed / f"{plans_identifier}.json"))
    configuration_manager = plans_manager.get_configuration(CONFIGURATION)
    dataset_json = load_json(str(preprocessed / "dataset.json"))
    output = preprocessed / configuration_manager.data_identifier
    output.mkdir(parents=True, exist_ok=True)
    dataset = get_filenames_of_train_images_and_targets(str(folders["nnUNet_raw"] / DATASET_NAME),
                                                        dataset_json)
    preprocessor = configuration_manager.preprocessor_class(verbose=False)
    for key, files in dataset.items():
        data, seg, properties = preprocessor.run_case(files["images"], files["label"],
                                                      plans_manager, configuration_manager,
                                                      dataset_json)
        nnUNetDatasetNumpy.save_case(data, seg, properties, str(output / key))


def crop_and_pad(array, lower, upper, pad_value):
    """array[:, lower:upper] on the spatial axes, pad_value where the box leaves the array."""
    out = np.full((array.shape[0], *[u - l for l, u in zip(lower, upper)]), pad_value, array.dtype)
    source = tuple(slice(max(l, 0), min(u, n)) for l, u, n in zip(lower, upper, array.shape[1:]))
    target = tuple(slice(s.start - l, s.stop - l) for s, l in zip(source, lower))
    out[(slice(None),) + target] = array[(slice(None),) + source]
    return out


def training_batch(loader, deep_supervision_scales):
    """One batch as nnUNetDataLoader.generate_train_batch samples it (its get_indices,
    get_do_oversample and get_bbox: random or foreground-forced boxes, data padded with 0, seg with
    -1); the box is cut here because the reference's acvl_utils crop_and_pad_nd lacks the
    cast_cropped_to argument that generate_train_batch passes. Then what
    nnUNetTrainer.get_training_transforms does besides augmentation: RemoveLabelTansform(-1, 0) and
    DownsampleSegForDSTransform (nearest-exact targets for each deep supervision output)."""
    import torch
    data, seg = [], []
    for j, key in enumerate(loader.get_indices()):
        case_data, case_seg, _, properties = loader._data.load_case(key)
        lower, upper = loader.get_bbox(case_data.shape[1:], loader.get_do_oversample(j),
                                       properties["class_locations"])
        data.append(crop_and_pad(np.asarray(case_data), lower, upper, 0))
        seg.append(crop_and_pad(np.asarray(case_seg), lower, upper, -1))
    target = torch.from_numpy(np.stack(seg)).long()
    target[target == -1] = 0
    targets = []
    for scale in deep_supervision_scales:
        if all(s == 1 for s in scale):
            targets.append(target)
        else:
            size = [int(round(n * s)) for n, s in zip(target.shape[2:], scale)]
            down = torch.nn.functional.interpolate(target.float(), size=size, mode="nearest-exact")
            targets.append(down.long())
    return {"data": torch.from_numpy(np.stack(data)).float(), "target": targets}


def train_fold(plans_identifier, fold, first_fold, epochs):
    """nnUNetTrainer.run_training's epoch loop with nnU-Net's own trainer methods (initialize,
    on_epoch_start, on_train_epoch_start, train_step, on_validation_epoch_*, validation_step,
    on_epoch_end, on_train_end -> checkpoint_final.pth/checkpoint_best.pth, save_checkpoint's
    dictionary), fed by nnUNetDataLoader's sampling without augmentation (batchgeneratorsv2 is
    absent). Later folds start from the first fold's weights (a short stand-in for a CV fold)."""
    import torch
    from batchgenerators.utilities.file_and_folder_operations import save_json
    from nnunetv2.run.run_training import get_trainer_from_args
    from nnunetv2.training.dataloading.data_loader import nnUNetDataLoader

    torch.manual_seed(fold)
    np.random.seed(fold)
    trainer = get_trainer_from_args(DATASET_NAME, CONFIGURATION, fold, TRAINER, plans_identifier,
                                    device=torch.device("cpu"))
    trainer.num_epochs = epochs
    trainer.num_iterations_per_epoch = ITERATIONS_PER_EPOCH
    trainer.num_val_iterations_per_epoch = VAL_ITERATIONS_PER_EPOCH
    trainer.initial_lr = INITIAL_LR
    trainer.initialize()  # build_network_architecture (deep supervision), SGD, PolyLR, DC_and_CE
    if fold != first_fold:
        first = Path(trainer.output_folder).parent / f"fold_{first_fold}" / "checkpoint_final.pth"
        trainer.network.load_state_dict(torch.load(first, map_location="cpu")["network_weights"])
    trainer.configure_rotation_dummyDA_mirroring_and_inital_patch_size()  # sets mirroring axes
    # as nnUNetTrainer.on_train_start: plans, dataset.json and the fingerprint beside the folds
    save_json(trainer.plans_manager.plans, os.path.join(trainer.output_folder_base, "plans.json"),
              sort_keys=False)
    save_json(trainer.dataset_json, os.path.join(trainer.output_folder_base, "dataset.json"),
              sort_keys=False)
    shutil.copyfile(
        os.path.join(trainer.preprocessed_dataset_folder_base, "dataset_fingerprint.json"),
        os.path.join(trainer.output_folder_base, "dataset_fingerprint.json"))
    dataset_tr, dataset_val = trainer.get_tr_and_val_datasets()  # do_split: splits_final.json
    patch_size = trainer.configuration_manager.patch_size
    loaders = [nnUNetDataLoader(dataset, trainer.batch_size, patch_size, patch_size,
                                trainer.label_manager,
                                oversample_foreground_percent=trainer.oversample_foreground_percent,
                                transforms=None) for dataset in (dataset_tr, dataset_val)]
    scales = trainer._get_deep_supervision_scales()
    losses = []
    for _ in range(trainer.current_epoch, trainer.num_epochs):
        trainer.on_epoch_start()
        trainer.on_train_epoch_start()
        outputs = [trainer.train_step(training_batch(loaders[0], scales))
                   for _ in range(trainer.num_iterations_per_epoch)]
        trainer.on_train_epoch_end(outputs)
        losses.append(round(float(np.mean([o["loss"] for o in outputs])), 4))
        with torch.no_grad():
            trainer.on_validation_epoch_start()
            trainer.on_validation_epoch_end(
                [trainer.validation_step(training_batch(loaders[1], scales))
                 for _ in range(trainer.num_val_iterations_per_epoch)])
        trainer.on_epoch_end()
    trainer.on_train_end()
    return losses


def stage_predict(root):
    """nnUNetPredictor (nnunetv2.inference.predict_from_raw_data) on the test cases: per model and
    set of folds initialize_from_trained_model_folder, then predict_from_files per case (timed)."""
    import torch
    from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor

    cases = json.loads((root / "tests" / "cases.json").read_text())
    output = root / "upstream"
    output.mkdir(exist_ok=True)
    timings = {}
    for model in MODELS:
        for name, folds in model["cases"].items():
            start = time.time()
            predictor = nnUNetPredictor(tile_step_size=0.5, use_gaussian=True, use_mirroring=True,
                                        device=torch.device("cpu"),
                                        perform_everything_on_device=False, verbose=False,
                                        allow_tqdm=False)
            predictor.initialize_from_trained_model_folder(str(model_folder(root, model["plans"])),
                                                           use_folds=folds,
                                                           checkpoint_name="checkpoint_final.pth")
            load_s = seconds_since(start)
            start = time.time()
            key = f"{model['plans']}-{name}"
            predictor.predict_from_files([[cases[name]["image"]]], [str(output / key)],
                                         save_probabilities=False, overwrite=True,
                                         num_processes_preprocessing=1,
                                         num_processes_segmentation_export=1)
            timings[key] = {"load_s": load_s, "predict_s": seconds_since(start)}
    (output / "predict.json").write_text(json.dumps(timings, indent=2))


# -------------------------------------------------------------------------------------------------
# Driver (this process)
# -------------------------------------------------------------------------------------------------

def extract_reference(tarball, workdir):
    """Extracts the reference once; re-extracts when VERSION or the archive changes.
    Returns (folder, the archive's stamp, seconds taken)."""
    target = workdir / "reference"
    stamp = f"{VERSION} {tarball.stat().st_size} {int(tarball.stat().st_mtime)}"
    stamp_file = target / "extracted.stamp"
    if stamp_file.is_file() and stamp_file.read_text() == stamp:
        return target, stamp, 0.0
    start = time.time()
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    with tarfile.open(tarball) as archive:
        archive.extractall(target)
    stamp_file.write_text(stamp)
    return target, stamp, seconds_since(start)


def compare_labels(expected_path, actual_path):
    """Returns (figures dict, list of failure reasons)."""
    import nibabel
    expected, actual = nibabel.load(str(expected_path)), nibabel.load(str(actual_path))
    figures, failures = {}, []
    if expected.shape != actual.shape:
        return figures, [f"shape {actual.shape} != nnU-Net's {expected.shape}"]
    affine_error = float(np.max(np.abs(expected.affine - actual.affine)))
    figures["affine_error"] = affine_error
    if affine_error > AFFINE_TOLERANCE:
        failures.append(f"affine differs from nnU-Net's by {affine_error:.2g}")
    a = np.asarray(expected.dataobj).astype(np.int64)
    b = np.asarray(actual.dataobj).astype(np.int64)
    figures["equal"] = float(np.mean(a == b))
    if figures["equal"] < MIN_EQUAL_FRACTION:
        failures.append(f"equal voxels {100 * figures['equal']:.3f} % "
                        f"< {100 * MIN_EQUAL_FRACTION} %")
    figures["dice"] = {}
    for label in sorted((set(np.unique(a)) | set(np.unique(b))) - {0}):
        overlap = np.sum((a == label) & (b == label))
        dice = 2.0 * overlap / (np.sum(a == label) + np.sum(b == label))
        figures["dice"][int(label)] = float(dice)
        if dice < MIN_DICE:
            failures.append(f"Dice of label {label} {dice:.4f} < {MIN_DICE}")
    return figures, failures


def print_models(summary, cached):
    print(f"[model] {'cached' if cached else 'built'}: " +
          ", ".join(f"{k} {v} s" for k, v in summary["timings"].items()))
    for plans_identifier, m in summary["models"].items():
        print(f"[model] {plans_identifier} ({m['planner']}, {m['network']}): "
              f"spacing {m['spacing']}, "
              f"patch {m['patch_size']}, batch {m['batch_size']}, n_stages {m['n_stages']}, "
              f"features {m['features_per_stage']}, transpose_forward {m['transpose_forward']}, "
              f"{m['normalization']} mask {m['use_mask_for_norm']}, folds {m['folds']}, "
              f"train losses {m['losses']}")
        print(f"[model]   {m['folder']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--medseg", help="the medseg executable")
    parser.add_argument("--workdir", required=True, type=Path)
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("--keep", action="store_true", help="keep medseg's outputs")
    parser.add_argument("--stage", choices=["model", "predict"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage == "model":
        return stage_model(args.workdir)
    if args.stage == "predict":
        return stage_predict(args.workdir)
    if not args.medseg:
        parser.error("--medseg is required")

    tarball = args.reference / "nnunet-upstream.tar.gz"
    if not tarball.is_file():
        print(f"SKIP: no nnU-Net reference code ({tarball} is absent)")
        return 77
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    reference_code, stamp, extract_s = extract_reference(tarball, workdir)
    how = f"extracted in {extract_s} s" if extract_s else "cached"
    print(f"[reference] {reference_code} ({how})")
    root = workdir / VERSION
    for stale in workdir.iterdir():  # caches of other versions
        if stale.is_dir() and stale.name.startswith("nnunet-upstream-check-") and stale != root:
            shutil.rmtree(stale)

    model_json = root / "model.json"
    cached = model_json.is_file() and json.loads(model_json.read_text()).get("reference") == stamp
    if not cached:  # everything under root is made again, from the same reference archive
        shutil.rmtree(root, ignore_errors=True)
        start = time.time()
        write_raw_dataset(nnunet_folders(root)["nnUNet_raw"])
        print(f"[dataset] {NUM_TRAINING} training phantoms written in {seconds_since(start)} s")
        run_stage("model", root, reference_code, root / "model.log")
        model_json.write_text(json.dumps({**json.loads(model_json.read_text()), "reference": stamp},
                                         indent=2))
    summary = json.loads(model_json.read_text())
    print_models(summary, cached)

    if not (root / "upstream" / "predict.json").is_file():
        shutil.rmtree(root / "tests", ignore_errors=True)
        plans = json.loads((model_folder(root, MODELS[0]["plans"]) / "plans.json").read_text())
        write_test_cases(root / "tests", plans)
        start = time.time()
        run_stage("predict", root, reference_code, root / "predict.log")
        print(f"[nnU-Net] predictions in {seconds_since(start)} s")
    cases = json.loads((root / "tests" / "cases.json").read_text())
    upstream_timings = json.loads((root / "upstream" / "predict.json").read_text())

    outputs = root / "medseg"
    shutil.rmtree(outputs, ignore_errors=True)
    outputs.mkdir()
    failures = []
    for model in MODELS:
        plans_identifier = model["plans"]
        for name, folds in model["cases"].items():
            case = cases[name]
            label = f"{plans_identifier}/{name}"
            result = outputs / f"{plans_identifier}-{name}.nii.gz"
            command = [args.medseg, "segment", "--model", str(model_folder(root, plans_identifier)),
                       "--input", case["image"], "--output", str(result),
                       "--folds", ",".join(str(f) for f in folds)]
            start = time.time()
            try:
                run = subprocess.run(command, capture_output=True, text=True,
                                     timeout=MEDSEG_TIMEOUT_S)
            except (OSError, subprocess.TimeoutExpired) as error:
                failures.append(f"{label}: medseg did not run: {error}")
                print(f"FAIL {label}: medseg did not run: {error}")
                continue
            medseg_s = seconds_since(start)
            if run.returncode != 0 or not result.is_file():
                reason = f"medseg exited {run.returncode}"
                reason += "" if result.is_file() else ", no output"
                failures.append(f"{label}: {reason}")
                print(f"FAIL {label}: {reason}; stderr: {run.stderr.strip() or '(empty)'}")
                continue
            expected = root / "upstream" / f"{plans_identifier}-{name}.nii.gz"
            figures, problems = compare_labels(expected, result)
            timing = upstream_timings[f"{plans_identifier}-{name}"]
            names = {v: k for k, v in LABELS.items()}
            dice = " ".join(f"{names.get(k, k)} {v:.4f}"
                            for k, v in figures.get("dice", {}).items())
            print(f"{'FAIL' if problems else 'PASS'} {label}: shape {case['shape']}, "
                  f"affine error {figures.get('affine_error', float('nan')):.1g}, "
                  f"equal {100 * figures.get('equal', 0):.3f} %, Dice {dice or '-'}, "
                  f"folds {','.join(map(str, folds))}, nnU-Net {timing['predict_s']} s "
                  f"(+{timing['load_s']} s load), medseg {medseg_s} s")
            failures += [f"{label}: {p}" for p in problems]
    if not args.keep:
        shutil.rmtree(outputs, ignore_errors=True)
    for failure in failures:
        print(f"FAIL: {failure}")
    print(f"{'FAILED' if failures else 'PASSED'}: {len(failures)} failure(s); work folder {root}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
