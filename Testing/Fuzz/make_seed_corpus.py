#!/usr/bin/env python3
"""Writes the seed corpora of the libFuzzer targets: Testing/Fuzz/corpus/<target>/.

Every seed is synthetic (a few voxels, a few lines), written by this script with the Python
standard library alone, so the corpora are reproducible and hold no third-party data:

    python3 Testing/Fuzz/make_seed_corpus.py            # rewrites corpus/<target>/seed-*
    python3 Testing/Fuzz/make_seed_corpus.py --monai-fixture DIR
        # also the MONAI config seeds seed-fixture-* from the configs of a fixture made by
        # `python3 Testing/MONAI/monai_fixture.py make --out DIR` (needs torch; without the
        # option the committed seed-fixture-* files stay as they are)

Files named seed-* are rewritten; regress-* files are inputs that once broke MedSeg: those this
script knows are rewritten too, others (reproducers saved by hand) stay as they are.
"""

import argparse
import glob
import gzip
import io
import json
import os
import struct
import tarfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def write(target, name, data, prefix="seed-"):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, prefix + name), "wb") as f:
        f.write(data)


def gz(data):
    # mtime 0: the same bytes on every run.
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as g:
        g.write(data)
    return out.getvalue()


# --- NIfTI-1 ---------------------------------------------------------------------------------

NIFTI_TYPES = {"uint8": (2, 8, "B"), "int16": (4, 16, "h"), "float32": (16, 32, "f")}


def nifti(dims, dtype, voxels, pixdim=(1.0, 1.0, 1.0), qform=1, sform=1, srow=None, slope=0.0,
          inter=0.0, quatern=(0.0, 0.0, 0.0), offsets=(0.0, 0.0, 0.0), qfac=1.0):
    code, bitpix, fmt = NIFTI_TYPES[dtype]
    dim = [len(dims)] + list(dims) + [1] * (7 - len(dims))
    pd = [qfac] + list(pixdim) + [0.0] * (7 - len(pixdim))
    if srow is None:
        srow = ((pixdim[0], 0, 0, offsets[0]), (0, pixdim[1], 0, offsets[1]), (0, 0, pixdim[2] if len(pixdim) > 2 else 1, offsets[2]))
    h = struct.pack("<i", 348)
    h += b"\0" * 10 + b"\0" * 18 + struct.pack("<i", 0) + struct.pack("<h", 0) + b"r" + b"\0"
    h += struct.pack("<8h", *dim)
    h += struct.pack("<3f", 0.0, 0.0, 0.0)
    h += struct.pack("<hhhh", 0, code, bitpix, 0)          # intent_code, datatype, bitpix, slice_start
    h += struct.pack("<8f", *pd)
    h += struct.pack("<f", 352.0)                      # vox_offset
    h += struct.pack("<ff", slope, inter)
    h += struct.pack("<h", 0) + b"\x0a" + b"\0"        # slice_end, slice_code, xyzt_units (mm, s)
    h += struct.pack("<ff", 0.0, 0.0)                  # cal_max, cal_min
    h += struct.pack("<ffii", 0.0, 0.0, 0, 0)          # slice_duration, toffset, glmax, glmin
    h += b"synthetic fuzz seed".ljust(80, b"\0") + b"\0" * 24
    h += struct.pack("<hh", qform, sform)
    h += struct.pack("<6f", *quatern, *offsets)
    for row in srow:
        h += struct.pack("<4f", *row)
    h += b"\0" * 16 + b"n+1\0"
    assert len(h) == 348, len(h)
    h += b"\0" * 4                                     # extension flag
    return h + struct.pack("<%d%s" % (len(voxels), fmt), *voxels)


def nifti_seeds():
    ramp = [float(i) for i in range(4 * 3 * 2)]
    seeds = {
        "float-4x3x2.nii": nifti((4, 3, 2), "float32", ramp, pixdim=(1.0, 1.5, 2.0)),
        "uint8-2d.nii": nifti((3, 2), "uint8", list(range(6)), pixdim=(0.5, 0.5), qform=0, sform=0),
        "int16-slope.nii": nifti((2, 2, 2), "int16", [-3, -1, 0, 1, 2, 3, 4, 5], slope=0.5, inter=-10.0, qform=1, sform=0),
        # qform at the origin, sform shifted and flipped: the sform wins (stale-qform atlases).
        "qform-sform-differ.nii": nifti((2, 2, 2), "float32", [0.0] * 8, qform=1, sform=4,
                                        srow=((-2, 0, 0, 90), (0, 2, 0, -126), (0, 0, 2, -72))),
        # 4D with one volume, oblique quaternion.
        "4d-one-volume.nii": nifti((2, 2, 2, 1), "float32", [1.0] * 8, quatern=(0.1, 0.0, 0.0), qform=1, sform=0,
                                   pixdim=(1.0, 1.0, 1.0, 1.0)),
    }
    for name, data in seeds.items():
        write("ImageNifti", name, data)
        write("ImageNiftiGz", name.replace(".nii", "-plain"), b"\0" + data)  # even: the target gzips it
    # Regression: an int16 volume with scl_slope/scl_inter (CT as scanners' converters write it)
    # was refused as truncated, since ITK reports scaled NIfTI voxels as float (4 bytes) while the
    # file stores 2 (fixed in medsegImagePayload.cxx, StoredNiftiPayload).
    ct = nifti((4, 2, 2), "int16", [-1024, 0, 40, 3071] * 4, slope=1.0, inter=-1024.0, qform=1, sform=1)
    write("ImageNifti", "int16-scl-slope.nii", ct, prefix="regress-")
    write("ImageNiftiGz", "int16-scl-slope", b"\0" + ct, prefix="regress-")
    write("ImageNiftiGz", "gzip-file", b"\x01" + gz(seeds["float-4x3x2.nii"]))  # odd: as it is
    write("ImageNiftiGz", "gzip-truncated", b"\x01" + gz(seeds["int16-slope.nii"])[:-9])


# --- MetaImage -------------------------------------------------------------------------------

def meta(lines, payload):
    return ("\n".join(lines) + "\n").encode() + payload


def meta_seeds():
    floats = struct.pack("<8f", *[0.5 * i for i in range(8)])
    write("ImageMeta", "float-raw.mha", meta([
        "ObjectType = Image", "NDims = 3", "BinaryData = True", "BinaryDataByteOrderMSB = False",
        "CompressedData = False", "TransformMatrix = 1 0 0 0 1 0 0 0 1", "Offset = 0 0 0",
        "CenterOfRotation = 0 0 0", "AnatomicalOrientation = RAI", "ElementSpacing = 1 1 2",
        "DimSize = 2 2 2", "ElementType = MET_FLOAT", "ElementDataFile = LOCAL"], floats))
    uchars = bytes(range(16))
    packed = zlib.compress(uchars)
    write("ImageMeta", "uchar-zlib.mha", meta([
        "ObjectType = Image", "NDims = 2", "BinaryData = True", "BinaryDataByteOrderMSB = False",
        "CompressedData = True", "CompressedDataSize = %d" % len(packed), "ElementSpacing = 0.5 0.5",
        "DimSize = 4 4", "ElementType = MET_UCHAR", "ElementDataFile = LOCAL"], packed))
    shorts = struct.pack(">8h", *range(-4, 4))
    write("ImageMeta", "short-msb-rotated.mha", meta([
        "ObjectType = Image", "NDims = 3", "BinaryData = True", "BinaryDataByteOrderMSB = True",
        "TransformMatrix = 0 1 0 -1 0 0 0 0 1", "Offset = -10 20.5 3", "ElementSpacing = 1 1 1",
        "DimSize = 2 2 2", "ElementNumberOfChannels = 1", "ElementType = MET_SHORT",
        "ElementDataFile = LOCAL"], shorts))


# --- NRRD ------------------------------------------------------------------------------------

def nrrd(fields, payload):
    return ("NRRD0004\n" + "\n".join(fields) + "\n\n").encode() + payload


def nrrd_seeds():
    common = ["space: left-posterior-superior", "sizes: 2 2 2",
              "space directions: (1,0,0) (0,1,0) (0,0,2)", "space origin: (0,0,0)"]
    write("ImageNrrd", "float-raw.nrrd", nrrd(["type: float", "dimension: 3"] + common +
                                              ["endian: little", "encoding: raw"],
                                              struct.pack("<8f", *range(8))))
    write("ImageNrrd", "short-gzip.nrrd", nrrd(["type: short", "dimension: 3"] + common +
                                               ["endian: little", "encoding: gzip"],
                                               gz(struct.pack("<8h", *range(8)))))
    write("ImageNrrd", "uchar-ascii.nrrd", nrrd(["type: unsigned char", "dimension: 2", "sizes: 3 2",
                                                 "spacings: 0.5 0.5", "encoding: ascii"], b"0 1 2\n3 4 5\n"))


# --- DICOM (explicit VR little endian, one slice) -------------------------------------------

def element(group, elem, vr, value):
    if isinstance(value, str):
        value = value.encode()
        if len(value) % 2:
            value += b"\0" if vr in ("UI", "OB") else b" "
    head = struct.pack("<HH", group, elem) + vr.encode()
    if vr in ("OB", "OW", "SQ", "UN", "UT"):
        return head + b"\0\0" + struct.pack("<I", len(value)) + value
    return head + struct.pack("<H", len(value)) + value


def dicom(rows=4, columns=4, position=(0.0, 0.0, 0.0), slope=None, modality="MR", series="1.2.826.0.1.3680043.9.7424.2"):
    sop = "1.2.826.0.1.3680043.9.7424.3.%d" % int(position[2] * 10 + 100)
    meta_body = (element(0x0002, 0x0001, "OB", b"\0\x01") +
                 element(0x0002, 0x0002, "UI", "1.2.840.10008.5.1.4.1.1.4") +
                 element(0x0002, 0x0003, "UI", sop) +
                 element(0x0002, 0x0010, "UI", "1.2.840.10008.1.2.1") +
                 element(0x0002, 0x0012, "UI", "1.2.826.0.1.3680043.9.7424"))
    out = b"\0" * 128 + b"DICM" + element(0x0002, 0x0000, "UL", struct.pack("<I", len(meta_body))) + meta_body
    pixels = struct.pack("<%dH" % (rows * columns), *range(rows * columns))
    data = [
        element(0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.4"),
        element(0x0008, 0x0018, "UI", sop),
        element(0x0008, 0x0060, "CS", modality),
        element(0x0010, 0x0010, "PN", "Fuzz^Seed"),
        element(0x0010, 0x0020, "LO", "0"),
        element(0x0020, 0x000D, "UI", "1.2.826.0.1.3680043.9.7424.1"),
        element(0x0020, 0x000E, "UI", series),
        element(0x0020, 0x0013, "IS", "1"),
        element(0x0020, 0x0032, "DS", "\\".join("%g" % p for p in position)),
        element(0x0020, 0x0037, "DS", "1\\0\\0\\0\\1\\0"),
        element(0x0028, 0x0002, "US", struct.pack("<H", 1)),
        element(0x0028, 0x0004, "CS", "MONOCHROME2"),
        element(0x0028, 0x0010, "US", struct.pack("<H", rows)),
        element(0x0028, 0x0011, "US", struct.pack("<H", columns)),
        element(0x0028, 0x0030, "DS", "0.5\\0.5"),
        element(0x0028, 0x0100, "US", struct.pack("<H", 16)),
        element(0x0028, 0x0101, "US", struct.pack("<H", 12)),
        element(0x0028, 0x0102, "US", struct.pack("<H", 11)),
        element(0x0028, 0x0103, "US", struct.pack("<H", 0)),
    ]
    if slope is not None:
        data.append(element(0x0028, 0x1052, "DS", "-1024"))
        data.append(element(0x0028, 0x1053, "DS", "%g" % slope))
    data.append(element(0x7FE0, 0x0010, "OW", pixels))
    return out + b"".join(data)


def dicom_seeds():
    write("DicomFolder", "mr-4x4.dcm", dicom())
    write("DicomFolder", "ct-rescale.dcm", dicom(rows=2, columns=3, position=(-5.0, 7.5, 12.0), slope=0.5, modality="CT"))


# --- tar archives (model packages) -----------------------------------------------------------

MODEL_JSON = {
    "format": "medseg-model", "format_version": 1, "name": "fuzz-seed", "version": "1.0",
    "description": "synthetic seed",
    "architecture": {"plugin": "unet", "hyper_parameters": {"features": [4, 8], "out_channels": 2, "spatial_dims": 3}},
    "weights": {"file": "weights.pt", "sha256": "0" * 64},
    "input": {"channels": [{"name": "T1", "normalization": "percentile:0.5,99.5"}], "orientation": "RAS",
              "spacing": [2.0, 2.0, 2.0], "spatial_dims": 3, "slice_axis": 2},
    "inference": {"patch_size": [16, 16, 16], "overlap": 0.5, "blend": "gaussian", "sigma_scale": 0.125,
                  "batch_size": 1, "mirror_axes": [0], "tta": False, "crop_to_nonzero": True,
                  "postprocess": "largest-component;fill-holes"},
    "labels": [{"value": 0, "name": "background", "color": [0, 0, 0]},
               {"value": 1, "name": "brain", "color": [230, 159, 0]}],
    "training": {"steps": 1},
}


def tar_bytes(members, fmt=tarfile.USTAR_FORMAT, prefix=""):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as t:
        for name, data in members:
            info = tarfile.TarInfo(prefix + name)
            info.size = len(data)
            info.mode = 0o644
            t.addfile(info, io.BytesIO(data))
        end = t.offset
    # The end-of-archive marker (two zero blocks) without tarfile's padding to a 10 KiB record.
    return out.getvalue()[:end] + b"\0" * 1024


def tar_seeds():
    members = [("model.json", json.dumps(MODEL_JSON).encode()), ("weights.pt", b"PK\3\4 not really weights")]
    write("TarArchive", "ustar.tar", tar_bytes(members))
    write("TarArchive", "ustar.medseg", gz(tar_bytes(members)))
    write("TarArchive", "pax-dot-slash.tar", tar_bytes(members, tarfile.PAX_FORMAT, "./"))
    write("TarArchive", "gnu.tar", tar_bytes(members[:1], tarfile.GNU_FORMAT))


# --- text and JSON parsers -------------------------------------------------------------------

def text_seeds():
    write("ColorTable", "slicer.txt", "# Color table\n0 background 0 0 0 0\n1 liver 220 120 80 255\n2 spleen 90 150 60 255\n")
    write("ColorTable", "labels-object.json", json.dumps({"labels": [{"value": 1, "name": "liver", "color": [220, 120, 80]},
                                                                     {"value": 7, "name": "kidney"}]}))
    write("ColorTable", "bare-array.json", json.dumps([{"value": 0, "name": "background", "color": [0, 0, 0]},
                                                       {"value": 65535, "name": "max", "color": [255, 255, 255]}]))
    for i, spec in enumerate(["largest-component;islands:min=100mm3;fill-holes;smooth:1mm;refine-edges:band=2mm",
                              "largest-component:keep=2,connectivity=full",
                              "islands:min=0.5mL,keep=3",
                              "fill-holes:axis=z;smooth:radius=0.5 mm,mode=median",
                              "margin:distance=-1mm,label=1",
                              "refine-edges:band=2mm,sigma=1mm,confidence=0.8,probabilities=off",
                              "islands:min=2cc;;margin:1mm"]):
        write("PostProcessingSpec", "spec-%d.txt" % i, spec)
    write("ModelJson", "model.json", json.dumps(MODEL_JSON, sort_keys=True))
    minimal = {k: MODEL_JSON[k] for k in ("format", "format_version", "name", "architecture", "weights", "input", "labels")}
    write("ModelJson", "minimal.json", json.dumps(minimal))
    two_d = json.loads(json.dumps(MODEL_JSON))
    two_d["input"].update({"spatial_dims": 2, "slice_axis": 0, "spacing": None, "orientation": "any"})
    two_d["input"]["channels"] = [{"name": "R", "normalization": "zscore"}, {"name": "G", "normalization": "none"}]
    two_d["inference"]["patch_size"] = [32, 32]
    write("ModelJson", "2d.json", json.dumps(two_d))

    config_path = os.path.join(HERE, "..", "..", "Data", "models", "brain-extraction", "train-config.json")
    with open(config_path) as f:
        config = json.load(f)
    write("TrainingConfig", "brain-extraction.json", json.dumps(config))
    write("TrainingConfig", "minimal.json", json.dumps({"labels": [{"value": 0, "name": "background"},
                                                                   {"value": 1, "name": "organ"}],
                                                        "input": {"channels": [{"name": "CT", "normalization": "ct:-100,240"}]}}))
    write("TrainingConfig", "sgd-2d.json", json.dumps({
        "architecture": {"plugin": "fcn"}, "input": {"spatial_dims": 2, "slice_axis": 1, "channels": [{"name": "T2"}]},
        "labels": [{"value": 0, "name": "bg"}, {"value": 3, "name": "lesion"}], "patch_size": [32, 1, 32],
        "augmentation": {"enabled": False}, "optimizer": {"type": "sgd", "momentum": 0.9, "nesterov": False},
        "schedule": {"type": "cosine", "min_learning_rate": 1e-5}, "training": {"steps": 10, "patience": 2}}))

    # First byte: even = CSV, odd = JSON.
    write("TrainingManifest", "manifest.csv", "0id,image,label,split,label_threshold\n"
          "a,img/a.nii.gz,lab/a.nii.gz,train,\nb,/data/b.nii.gz,/data/b-mask.nii.gz,validation,0.5\n"
          "c,c.nrrd,c-label.nrrd,test,\n")
    write("TrainingManifest", "manifest-short.csv", "0image,label\n\"a,b.nii\",\"lab \"\"x\"\".nii\"\n")
    write("TrainingManifest", "manifest.json", "1" + json.dumps({"cases": [
        {"image": "a.nii.gz", "label": "a-label.nii.gz"},
        {"image": "b.nii.gz", "label": "b-label.nii.gz", "split": "val", "label_threshold": 0, "id": "b"}]}))
    write("BatchManifest", "cases.csv", "0id,input,input_t2\ncase1,a/t1.nii.gz,a/t2.nii.gz\n"
          "# a comment\ncase 2,\"b,1.nii\",\n\n,c.nrrd,\n")
    write("BatchManifest", "cases.json", "1" + json.dumps({"cases": [
        {"id": "one", "inputs": ["x/t1.nii.gz", "x/t2.nii.gz"]}, {"input": "/abs/y.mha"}, "z.nii"]}))
    write("BatchManifest", "cases-array.json", "1" + json.dumps(["p/q.nii.gz", {"id": "r", "input": "r.nrrd"}]))


# --- plugin descriptors ----------------------------------------------------------------------

def plugin_seeds():
    torch_version = "1.13.0"  # Debian 12's LibTorch (TORCH_VERSION)
    def descriptor(abi=1, size=56, align=8, cxx11=1, nulls=0, strings=("unet", "1.0.0", "U-Net", torch_version, "5.2.1")):
        return struct.pack("<IIIi", abi, size, align, cxx11) + bytes([nulls]) + b"\0".join(s.encode() for s in strings)
    write("PluginDescriptor", "valid", descriptor())
    write("PluginDescriptor", "wrong-abi", descriptor(abi=2))
    write("PluginDescriptor", "bad-name", descriptor(strings=("U Net!", "1", "d", torch_version, "5.2.0")))
    write("PluginDescriptor", "null-version", descriptor(nulls=0b00010))
    # Regression: a name with a new line made a refusal two lines (medsegPluginRegistry.cxx, Quoted).
    write("PluginDescriptor", "name-with-newline", descriptor(strings=("un\net", "1", "d", torch_version, "5.2.1")),
          prefix="regress-")

# --- MONAI bundle configs and expressions ------------------------------------------------------

MONAI_JSON_SEEDS = {
    "refs.json": {"bundle_root": ".", "a": 1, "b": "@a", "c": {"d": "@::e", "e": [1, "@b", "$@a + 1"]},
                  "f": "#a", "g": "mail@host"},
    "disabled.json": {"t": [{"_target_": "LoadImaged", "keys": "image", "_disabled_": "$1 == 1"},
                            {"_target_": "Spacingd", "pixdim": [1.5, 1.5, 2.0], "_disabled_": "false"}]},
    "cycle.json": {"a": "@b", "b": ["@c"], "c": {"x": "@a"}},
    "python.json": {"imports": ["$import os"], "device": "$torch.device('cpu')", "x": "%file.json::a"},
    "expressions.json": {"r": [32, 32, 16], "n": "$len(@r) * 2", "s": "$os.path.join(@bundle_root, 'models')",
                         "m": "$max(@r) if @r[0] > 1 else min(@r)", "k": "$monai.utils.CommonKeys.IMAGE",
                         "q": "$@r[::-1] + [round(2.5), int('7'), float('1e-3'), str(0.1)]"},
}

MONAI_YAML_SEEDS = {
    "types.yaml": "a: yes\nb: ~\nc: 0x1F\nd: 017\ne: 1:30\nf: 1.0e-3\ng: 1e-3\nh: .inf\ni: '@a'\n"
                  "j: !!str 12\nk: 2001-12-14\n",
    "merge.yaml": "base: &b {keys: image, mode: bilinear}\nt:\n  <<: *b\n  mode: nearest\nu: [*b, *b]\n",
    "relative.yaml": "net:\n  roi: [96, 96, 96]\n  inferer:\n    roi_size: '@::::roi'\n    n: $len(@net#roi)\n",
    "block.yaml": "doc: |\n  line one\n  line two\nlist:\n- $@doc[0:4]\n- \"$'a' in @doc\"\n",
}

MONAI_EXPRESSIONS = {
    "arith": "@a + 2 * 3 ** 2 // 4 % 5 - -1 / 2",
    "compare": "1 < @a <= 2 and not @a is None or @a in @b",
    "ternary": "@b[0] if @a == 1 else @b[-1]",
    "slice": "@s[1:3] + @s[::-2] + str(@b[:1])",
    "calls": "max(@b) + min(1, 2) + len(@s) + abs(-3) + round(1.25, 1) + int('12') + float('2.5')",
    "strings": "r'a\\b' + 'c\\x41\\u00e9' \"d\" + os.path.join('/bundle', @s)",
    "lists": "list(@s) + list((1, 2)) + tuple([3]) + [bool(0), None, True]",
    "dict": "{'k': 1}",
    "power": "9**9**9",
    "repeat": "'a'*10**12",
    "overflow": "2**63 - 1 + 1",
    "python": "__import__('os').system('true')",
}


def monai_regressions():
    # Inputs that took the memory, the stack or the time before the limits of 2026-12-02
    # (medsegMONAIConfigGTest.cxx, "Regressions found by fuzzing").
    write("MONAIExpression", "oom-repeat", "'a'*10**12", "regress-")
    write("MONAIExpression", "oom-repeat-list", "[@b]*10**15", "regress-")
    write("MONAIExpression", "timeout-copies", "[1]*30000" + "+[]" * 150, "regress-")
    write("MONAIExpression", "stack-parentheses", "(" * 400 + "1" + ")" * 400, "regress-")
    write("MONAIExpression", "stack-unary", "-" * 500 + "1", "regress-")
    write("MONAIExpression", "ub-slice-step", "'abc'[2::9223372036854775807]", "regress-")
    doubling = {"a0": [1, 1]}
    for i in range(1, 24):
        doubling["a%d" % i] = ["@a%d" % (i - 1)] * 2
    write("MONAIConfigJson", "oom-reference-doubling.json", json.dumps(doubling), "regress-")
    chain = {"c%d" % i: ("@c%d" if i % 2 else "$@c%d") % (i + 1) for i in range(150)}
    chain["c150"] = 1
    write("MONAIConfigJson", "stack-reference-chain.json", json.dumps(chain), "regress-")
    bomb = "a0: &a0 [1, 1]\n" + "".join("a%d: &a%d [*a%d, *a%d]\n" % (i, i, i - 1, i - 1) for i in range(1, 24))
    write("MONAIConfigYaml", "oom-alias-doubling.yaml", bomb, "regress-")
    write("MONAIConfigYaml", "stack-self-alias.yaml", "a: &a [1, *a]\n", "regress-")
    write("MONAIConfigYaml", "stack-self-merge.yaml", "a: &a {b: 1, <<: *a}\n", "regress-")
    write("MONAIConfigYaml", "throw-base60-overflow.yaml", "a: 99999999999999999999999999:30\n", "regress-")


def monai_seeds(fixture=None):
    monai_regressions()
    for name, config in MONAI_JSON_SEEDS.items():
        write("MONAIConfigJson", name, json.dumps(config, sort_keys=True))
    for name, text in MONAI_YAML_SEEDS.items():
        write("MONAIConfigYaml", name, text)
    for name, code in MONAI_EXPRESSIONS.items():
        write("MONAIExpression", name, code)
    if fixture is None:
        return
    # The fixture's bundles: each distinct config once (JSON compacted, to fit -max_len), and the
    # JSON ones' expressions as MONAIExpression seeds.
    seen = set()
    expressions = []
    for path in sorted(glob.glob(os.path.join(fixture, "*", "configs", "*"))):
        bundle = os.path.basename(os.path.dirname(os.path.dirname(path)))
        name = "fixture-%s-%s" % (bundle, os.path.basename(path))
        with open(path, "rb") as f:
            data = f.read()
        if path.endswith(".json"):
            document = json.loads(data)
            data = json.dumps(document, separators=(",", ":")).encode()
            for code in sorted(set(monai_expressions(document))):
                if code not in expressions:
                    expressions.append(code)
                    write("MONAIExpression", "fixture-%d" % len(expressions), code[1:])
        if data in seen:
            continue
        seen.add(data)
        write("MONAIConfigYaml" if path.endswith((".yaml", ".yml")) else "MONAIConfigJson", name, data)


def monai_expressions(value):
    if isinstance(value, str) and value.startswith("$"):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from monai_expressions(v)
    elif isinstance(value, list):
        for v in value:
            yield from monai_expressions(v)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--monai-fixture", metavar="DIR", help="a fixture made by Testing/MONAI/monai_fixture.py make")
    args = parser.parse_args()
    nifti_seeds()
    meta_seeds()
    nrrd_seeds()
    dicom_seeds()
    tar_seeds()
    text_seeds()
    plugin_seeds()
    monai_seeds(args.monai_fixture)


if __name__ == "__main__":
    main()
