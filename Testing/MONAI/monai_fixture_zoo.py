"""The MONAI fixture's two Model Zoo-style bundles (monai_fixture.py writes them; plain Python).

They spell things the way the Model Zoo's own configs do (prostate_mri_anatomy,
wholeBody_ct_segmentation, segmentation_template, wholeBrainSeg_Large_UNEST_segmentation) and share
mri_lesion's network (FixtureUNet trained on z-scores of the non-zero voxels at 1.2 mm): its
InstanceNorm right after the first convolution makes it nearly blind to a positive affine change of
the input's intensities, so both intensity orders below still segment the phantoms.

  zoo_style  (JSON, prostate_mri_anatomy's shape) the preprocessing Compose's transforms are
             "$@load_transforms + @intensity_transforms" (two lists joined); LoadImaged image_only,
             EnsureChannelFirstd channel_dim "no_channel", Orientationd RAS, Spacingd "@pixdim";
             ScaleIntensityd with its defaults (minv 0.0, maxv 1.0) then NormalizeIntensityd
             nonzero "True", channel_wise "True" (strings, as the UNEST bundles write them);
             SlidingWindowInferer gaussian, padding_mode "replicate"; postprocessing AsDiscreted
             argmax -> KeepLargestConnectedComponentd [1] -> Invertd (nearest_interp left to its
             default, true) -> SaveImaged.
  zoo_yaml   (YAML, segmentation_template / wholeBody_ct_segmentation) transforms: '@transforms' (a
             top-level list); NormalizeIntensityd nonzero 'True' then ScaleIntensityd minv -1.0,
             maxv 1.0 (wholeBody's order, so ScaleIntensityd's arithmetic reaches the network);
             padding_mode reflect; Activationsd softmax -> AsDiscreted -> KeepLargestConnectedComponentd
             (independent 'True') -> Invertd (nearest_interp true) -> SaveImaged (separate_folder left
             to its default, true).
"""

TS_NETWORK = "$torch.jit.load(@bundle_root + '/models/model.ts')"  # as the Zoo's inference_trt.json


def zoo_style_config():
    """configs/inference.json of the zoo_style bundle."""
    key = "@image_key"
    return {
        "imports": ["$import glob", "$import os"],
        "bundle_root": ".",
        "image_key": "image",
        "output_dir": "$@bundle_root + '/eval'",
        "dataset_dir": "/workspace/data/zoo_style",
        "datalist": "$list(sorted(glob.glob(@dataset_dir + '/imagesTs/*.nii.gz')))",
        "device": "$torch.device('cuda:0' if torch.cuda.is_available() else 'cpu')",
        "pixdim": [1.2, 1.2, 1.2],
        "network_def": TS_NETWORK,
        "network": "$@network_def.to(@device)",
        "load_transforms": [
            {"_target_": "LoadImaged", "keys": key, "image_only": True},
            {"_target_": "EnsureChannelFirstd", "keys": key, "channel_dim": "no_channel"},
            {"_target_": "Orientationd", "keys": key, "axcodes": "RAS"},
            {"_target_": "Spacingd", "keys": key, "pixdim": "@pixdim", "mode": "bilinear"},
        ],
        "intensity_transforms": [
            {"_target_": "ScaleIntensityd", "keys": key},
            {"_target_": "NormalizeIntensityd", "keys": key, "nonzero": "True", "channel_wise": "True"},
            {"_target_": "EnsureTyped", "keys": key},
        ],
        "preprocessing": {"_target_": "Compose", "transforms": "$@load_transforms + @intensity_transforms"},
        "dataset": {"_target_": "Dataset", "data": "$[{'image': i} for i in @datalist]",
                    "transform": "@preprocessing"},
        "dataloader": {"_target_": "DataLoader", "dataset": "@dataset", "batch_size": 1, "shuffle": False,
                       "num_workers": 4},
        "inferer": {"_target_": "SlidingWindowInferer", "roi_size": [32, 32, 32], "sw_batch_size": 4,
                    "overlap": 0.5, "mode": "gaussian", "padding_mode": "replicate"},
        "postprocessing": {"_target_": "Compose", "transforms": [
            {"_target_": "AsDiscreted", "keys": "pred", "argmax": True},
            {"_target_": "KeepLargestConnectedComponentd", "keys": "pred", "applied_labels": [1]},
            {"_target_": "Invertd", "keys": "pred", "transform": "@preprocessing", "orig_keys": key,
             "meta_key_postfix": "meta_dict", "to_tensor": True},
            {"_target_": "SaveImaged", "keys": "pred", "resample": False, "meta_keys": "pred_meta_dict",
             "output_dir": "@output_dir", "separate_folder": False}]},
        "handlers": [
            {"_target_": "CheckpointLoader", "load_path": "$@bundle_root + '/models/model.pt'",
             "map_location": {"_target_": "torch.device", "device": "@device"}, "load_dict": {"model": "@network"}},
            {"_target_": "StatsHandler", "iteration_log": False}],
        "evaluator": {"_target_": "SupervisedEvaluator", "device": "@device", "val_data_loader": "@dataloader",
                      "network": "@network", "inferer": "@inferer", "postprocessing": "@postprocessing",
                      "val_handlers": "@handlers", "amp": True},
        "initialize": ["$setattr(torch.backends.cudnn, 'benchmark', True)"],
        "run": ["$@evaluator.run()"],
    }


ZOO_YAML = """\
# MedSeg test bundle zoo_yaml: segmentation_template's and wholeBody_ct_segmentation's spellings.
imports:
- $import os
- $import glob
bundle_root: .
device: $torch.device('cuda:0' if torch.cuda.is_available() else 'cpu')
output_dir: $@bundle_root + '/eval'
dataset_dir: /workspace/data/zoo_yaml
datalist: '$list(sorted(glob.glob(os.path.join(@dataset_dir, "*.nii*"))))'
spacing: [1.2, 1.2, 1.2]
network_def: $torch.jit.load(@bundle_root + '/models/model.ts')
network: $@network_def.to(@device)
transforms:
- _target_: LoadImaged
  keys: image
  image_only: true
- _target_: EnsureChannelFirstd
  keys: image
  channel_dim: no_channel
- _target_: Orientationd
  keys: image
  axcodes: RAS
- _target_: Spacingd
  keys: image
  pixdim: '@spacing'
  mode: bilinear
- _target_: NormalizeIntensityd
  keys: image
  nonzero: 'True'
- _target_: ScaleIntensityd
  keys: image
  minv: -1.0
  maxv: 1.0
preprocessing:
  _target_: Compose
  transforms: '@transforms'
dataset:
  _target_: Dataset
  data: "$[{'image': i} for i in @datalist]"
  transform: '@preprocessing'
dataloader:
  _target_: DataLoader
  dataset: '@dataset'
  batch_size: 1
  num_workers: 0
inferer:
  _target_: SlidingWindowInferer
  roi_size: [32, 32, 32]
  sw_batch_size: 1
  overlap: 0.25
  mode: gaussian
  padding_mode: reflect
postprocessing:
  _target_: Compose
  transforms:
  - _target_: Activationsd
    keys: pred
    softmax: true
  - _target_: AsDiscreted
    keys: pred
    argmax: true
  - _target_: KeepLargestConnectedComponentd
    keys: pred
    applied_labels: [1]
    independent: 'True'
  - _target_: Invertd
    keys: pred
    transform: '@preprocessing'
    orig_keys: image
    nearest_interp: true
    to_tensor: true
  - _target_: SaveImaged
    keys: pred
    output_dir: '@output_dir'
    output_postfix: trans
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
run:
- $@evaluator.run()
"""

ZOO_BUNDLES = ("zoo_style", "zoo_yaml")
