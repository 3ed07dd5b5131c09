#!/usr/bin/python3
"""Real-world corpus test: MedSeg reads what other tools wrote, or refuses it in one line.

Every file that other Debian-packaged imaging libraries ship as their own test data (ITK's examples,
nibabel's and pydicom's test files, GDCM's examples, mricron's templates), and DICOM series written
here by pydicom (oblique, shuffled file order, rescale slope) and converted by dcm2niix, goes through
`medseg-probe-image`, which reads exactly as `medseg segment` reads its inputs. Each file must either

- be read (exit 0, nothing on stderr: no ITK/GDCM warning), with the geometry an independent reader
  gives (nibabel for NIfTI/Analyze, pydicom for DICOM, this script's own MetaImage and NRRD header
  parsers, PIL for the 2D formats; dcm2niix + nibabel for the series), or
- be refused (exit 1, exactly one line on stderr naming the file, nothing on stdout);

never a crash, a hang, another exit code or a warning. Prints one line per file and a closing
'N passed, N failed' line; exits 1 if any file failed, 77 if no corpus folder is installed.
"""
import argparse
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import warnings

CORPUS_FOLDERS = [  # (folder, Debian package)
    ("/usr/share/doc/insighttoolkit5-examples/examples/Data", "insighttoolkit5-examples"),
    ("/usr/lib/python3/dist-packages/nibabel/tests/data", "python3-nibabel"),
    ("/usr/lib/python3/dist-packages/pydicom/data/test_files", "python3-pydicom"),
    ("/usr/lib/python3/dist-packages/pydicom/data/palettes", "python3-pydicom"),
    ("/usr/share/doc/libgdcm3.0/examples", "libgdcm-dev"),
    ("/usr/share/mricron/templates", "mricron-data"),
]
SKIP_SUFFIXES = (".py", ".pyc", ".m", ".md", ".rst", ".txt", ".json", ".sha512", ".md5", ".tfm", ".coef")
# Data files that belong to a header listed separately (the header is what a user opens).
DATA_SUFFIXES = (".raw", ".zraw", ".img", ".REC", ".rec", ".BRIK", ".BRIK.gz")

LPS_FROM_RAS = [-1.0, -1.0, 1.0]


def close(a, b, tol):
    return all(abs(x - y) <= tol * max(1.0, abs(y)) for x, y in zip(a, b))


# --- independent readers: each returns dict(size, spacing, origin, direction[, sum]) or None ----

def geometry_from_affine(affine, shape):
    """ITK's LPS geometry from a RAS affine (nibabel's convention) and the first three dims."""
    cols = [[affine[r][c] * LPS_FROM_RAS[r] for r in range(3)] for c in range(3)]
    spacing = [math.sqrt(sum(v * v for v in col)) for col in cols]
    direction = [[cols[c][r] / spacing[c] for c in range(3)] for r in range(3)]
    origin = [affine[r][3] * LPS_FROM_RAS[r] for r in range(3)]
    size = list(shape[:3]) + [1] * (3 - len(shape[:3]))
    return dict(size=size, spacing=spacing, origin=origin, direction=sum(direction, []))


def read_nibabel(path):
    import nibabel
    try:
        img = nibabel.load(path)
    except Exception:
        return None
    if not isinstance(img, (nibabel.Nifti1Image, nibabel.Nifti2Image, nibabel.AnalyzeImage)):
        return None
    shape = img.shape
    if len(shape) > 3 and any(s > 1 for s in shape[3:]):
        return dict(refuse_expected="4D")
    if isinstance(img, nibabel.Nifti1Image) or isinstance(img, nibabel.Nifti2Image):
        affine = img.affine.tolist()
    else:
        return dict(size=list(shape[:3]) + [1] * (3 - len(shape[:3])))  # Analyze: no orientation to compare
    out = geometry_from_affine(affine, shape)
    try:
        out["sum"] = float(img.get_fdata(dtype="float64").sum())
    except Exception:
        pass
    return out


def header_lines(path, limit=1 << 16):
    with open(path, "rb") as f:
        head = f.read(limit)
    return head.decode("latin-1").splitlines()


def read_metaimage(path):
    fields = {}
    for line in header_lines(path):
        if "=" not in line:
            continue
        key, _, value = line.partition("=")
        fields[key.strip()] = value.strip()
        if key.strip() == "ElementDataFile":
            break
    if "NDims" not in fields or "DimSize" not in fields:
        return None
    n = int(fields["NDims"])
    size = [int(v) for v in fields["DimSize"].split()][:n]
    spacing = [float(v) for v in fields.get("ElementSpacing", fields.get("ElementSize", " ".join(["1"] * n))).split()][:n]
    origin = [float(v) for v in fields.get("Offset", fields.get("Origin", fields.get("Position", " ".join(["0"] * n)))).split()][:n]
    matrix = fields.get("TransformMatrix", fields.get("Rotation", fields.get("Orientation")))
    m = [float(v) for v in matrix.split()] if matrix else [1.0 if i % (n + 1) == 0 else 0.0 for i in range(n * n)]
    # MetaIO lists the axis vectors one after another: axis i's direction is m[i*n : i*n+n].
    d = [[1.0 if r == c else 0.0 for c in range(3)] for r in range(3)]
    for i in range(min(n, 3)):
        for j in range(min(n, 3)):
            d[j][i] = m[i * n + j]
    if n == 4 and size[3] > 1:
        return dict(refuse_expected="4D")
    size3 = (size + [1, 1])[:3]
    return dict(size=size3, spacing=(spacing + [1.0, 1.0])[:3], origin=(origin + [0.0, 0.0])[:3],
                direction=sum(d, []))


def parse_vector(text):
    return [float(v) for v in text.strip().strip("()").split(",")]


def read_nrrd(path):
    fields = {}
    for line in header_lines(path):
        if line == "":
            break
        if line.startswith("#") or ":" not in line or ":=" in line:
            continue
        key, _, value = line.partition(":")
        fields[key.strip().lower()] = value.strip()
    if "sizes" not in fields:
        return None
    size = [int(v) for v in fields["sizes"].split()]
    n = len(size)
    out = dict(size=(size + [1, 1])[:3])
    if "space directions" in fields:
        vectors = re.findall(r"\(([^)]*)\)|none", fields["space directions"])
        axes = [(parse_vector(v) + [0.0, 0.0])[:3] for v in vectors if v]
        space = fields.get("space", "left-posterior-superior").lower()
        flip = [-1.0, -1.0, 1.0] if space in ("right-anterior-superior", "ras") else [1.0, 1.0, 1.0]
        axes = [[a[k] * flip[k] for k in range(3)] for a in axes[:3]]
        spacing = [math.sqrt(sum(v * v for v in a)) for a in axes]
        d = [[axes[c][r] / spacing[c] for c in range(len(axes))] for r in range(3)]
        origin = [0.0, 0.0, 0.0]
        if "space origin" in fields:
            origin = [v * flip[k] for k, v in enumerate(parse_vector(fields["space origin"]))]
        if len(axes) == 3:
            out.update(spacing=spacing, origin=origin, direction=sum(d, []))
    elif "spacings" in fields:
        spacing = [float(v) if v != "nan" else 1.0 for v in fields["spacings"].split()]
        out["spacing"] = (spacing + [1.0, 1.0])[:3]
    if n == 4 and size[3] > 1:
        return dict(refuse_expected="4D")
    return out


def read_pil(path):
    try:
        from PIL import Image
        with Image.open(path) as img:
            frames = getattr(img, "n_frames", 1)
            return dict(size=[img.width, img.height, frames], mode=img.mode)
    except Exception:
        return None


def read_pydicom(path):
    try:
        import pydicom
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except Exception:
        return None
    if "Rows" not in ds or "Columns" not in ds:
        return None
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    out = dict(size=[int(ds.Columns), int(ds.Rows), frames])
    if frames == 1 and "ImagePositionPatient" in ds and "ImageOrientationPatient" in ds and "PixelSpacing" in ds:
        iop = [float(v) for v in ds.ImageOrientationPatient]
        row, col = iop[:3], iop[3:]
        normal = [row[1] * col[2] - row[2] * col[1], row[2] * col[0] - row[0] * col[2], row[0] * col[1] - row[1] * col[0]]
        out["origin"] = [float(v) for v in ds.ImagePositionPatient]
        out["direction"] = [row[0], col[0], normal[0], row[1], col[1], normal[1], row[2], col[2], normal[2]]
        out["spacing_xy"] = [float(ds.PixelSpacing[1]), float(ds.PixelSpacing[0])]
    return out


def independent_reading(path):
    """(reader name, its reading or None); a file the independent reader cannot parse has none."""
    name, reader = independent_reader(path)
    try:
        return name, reader(path)
    except Exception:  # e.g. pydicom on a deliberately broken test file
        return name, None


def independent_reader(path):
    lower = path.lower()
    if lower.endswith((".nii", ".nii.gz", ".hdr")):
        return "nibabel", read_nibabel
    if lower.endswith((".mha", ".mhd")):
        return "MetaImage header", read_metaimage
    if lower.endswith((".nrrd", ".nhdr")):
        return "NRRD header", read_nrrd
    if lower.endswith((".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")):
        return "PIL", read_pil
    return "pydicom", read_pydicom


def compare(read, ref):
    """'' when MedSeg's reading agrees with the independent one, else what differs."""
    problems = []
    if "size" in ref and read["size"] != ref["size"]:
        problems.append(f"size {read['size']} != {ref['size']}")
    if "spacing" in ref and not close(read["spacing"], ref["spacing"], 1e-4):
        problems.append(f"spacing {read['spacing']} != {ref['spacing']}")
    if "spacing_xy" in ref and not close(read["spacing"][:2], ref["spacing_xy"], 1e-4):
        problems.append(f"pixel spacing {read['spacing'][:2]} != {ref['spacing_xy']}")
    if "origin" in ref and not close(read["origin"], ref["origin"], 1e-3):
        problems.append(f"origin {read['origin']} != {ref['origin']}")
    if "direction" in ref and not all(abs(a - b) <= 1e-3 for a, b in zip(read["direction"], ref["direction"])):
        problems.append(f"direction {read['direction']} != {ref['direction']}")
    if "sum" in ref and not abs(read["sum"] - ref["sum"]) <= 1e-4 * max(1.0, abs(ref["sum"])):
        problems.append(f"voxel sum {read['sum']} != {ref['sum']}")
    return "; ".join(problems)


def probe(probe_exe, path):
    try:
        result = subprocess.run([probe_exe, path], capture_output=True, text=True, timeout=60,
                                errors="replace")
    except subprocess.TimeoutExpired:
        return "hang", None, ""
    return result.returncode, result.stdout, result.stderr


def check_file(probe_exe, path, reference=None):
    """(passed, line) for one file; `reference` overrides the independent reader."""
    code, out, err = probe(probe_exe, path)
    if code == "hang":
        return False, f"FAIL hang     {path}"
    if code == 0:
        if err.strip():
            return False, f"FAIL noise    {path}: stderr {err.strip()[:300]!r}"
        read = json.loads(out)
        name, ref = reference if reference else independent_reading(path)
        if ref and ref.get("refuse_expected"):
            return False, f"FAIL read     {path}: {name} says {ref['refuse_expected']}, MedSeg read it"
        if ref:
            problem = compare(read, ref)
            if problem:
                return False, f"FAIL geometry {path}: against {name}: {problem}"
            return True, f"PASS read     {path} (same geometry as {name})"
        return True, f"PASS read     {path} (no independent reader)"
    if code == 1:
        lines = err.splitlines()
        if len(lines) != 1 or out:
            return False, f"FAIL refusal  {path}: {len(lines)} stderr line(s), stdout {out[:80]!r}: {err[:300]!r}"
        if path not in lines[0] or not lines[0].startswith("medseg-probe-image: error: "):
            return False, f"FAIL refusal  {path}: does not name the file: {lines[0]}"
        return True, f"PASS refused  {lines[0][len('medseg-probe-image: error: '):][:160]}"
    return False, f"FAIL exit {code}  {path}: {err.strip()[-300:]!r}"


# --- DICOM series written by pydicom, converted by dcm2niix ----------------------------------------

def write_series(folder, tilt_x, tilt_y, slope, intercept, shuffle, seed):
    """An MR series of 12 slices of 24 x 20 int16 pixels, slices tilted about x and y."""
    import numpy as np
    import pydicom
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    ax, ay = math.radians(tilt_x), math.radians(tilt_y)
    rx = np.array([[1, 0, 0], [0, math.cos(ax), -math.sin(ax)], [0, math.sin(ax), math.cos(ax)]])
    ry = np.array([[math.cos(ay), 0, math.sin(ay)], [0, 1, 0], [-math.sin(ay), 0, math.cos(ay)]])
    rot = rx @ ry
    row, col, normal = rot[:, 0], rot[:, 1], rot[:, 2]
    origin = np.array([-90.25, 31.5, -12.75])
    spacing = (0.8, 0.9, 2.5)  # column (x), row (y), slice
    series, study, frame = generate_uid(), generate_uid(), generate_uid()
    order = list(range(12))
    if shuffle:
        random.Random(seed).shuffle(order)
    for k, z in enumerate(order):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
        ds.Modality, ds.PatientName, ds.PatientID = "MR", "Phantom^Corpus", "corpus"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.SeriesNumber, ds.InstanceNumber = 1, z + 1
        ds.ImageOrientationPatient = [f"{v:.6f}" for v in list(row) + list(col)]
        ds.ImagePositionPatient = [f"{v:.4f}" for v in origin + z * spacing[2] * normal]
        ds.PixelSpacing = [f"{spacing[1]}", f"{spacing[0]}"]
        ds.SliceThickness = f"{spacing[2]}"
        ds.Rows, ds.Columns = 20, 24
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleSlope, ds.RescaleIntercept = f"{slope}", f"{intercept}"
        pixels = (rng.integers(0, 2000, size=(20, 24)) + 50 * z).astype("<i2")
        ds.PixelData = pixels.tobytes()
        ds.is_little_endian, ds.is_implicit_VR = True, False
        ds.save_as(os.path.join(folder, f"IM{k:04d}.dcm"), write_like_original=False)


def dcm2niix_reference(folder, workdir):
    """Geometry corners and voxel sum of dcm2niix's conversion of `folder`, read with nibabel."""
    import nibabel
    import numpy as np
    out = os.path.join(workdir, os.path.basename(folder) + "-nii")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    subprocess.run(["dcm2niix", "-z", "n", "-f", "vol", "-o", out, folder], check=True, capture_output=True)
    img = nibabel.load(os.path.join(out, "vol.nii"))
    data = img.get_fdata(dtype="float64")
    return corners(img.affine, img.shape[:3], ras=True), float(data.sum())


def corners(affine, shape, ras):
    """The world (LPS) positions of the 8 corner voxels, sorted."""
    import numpy as np
    a = np.asarray(affine, dtype=float)
    pts = []
    for i in (0, shape[0] - 1):
        for j in (0, shape[1] - 1):
            for k in (0, shape[2] - 1):
                p = a[:3, :3] @ np.array([i, j, k]) + a[:3, 3]
                if ras:
                    p = p * np.array(LPS_FROM_RAS)
                pts.append(tuple(round(float(v), 2) for v in p))
    return sorted(pts)


def check_series(probe_exe, folder, workdir):
    import numpy as np
    code, out, err = probe(probe_exe, folder)
    if code != 0 or err.strip():
        return False, f"FAIL series   {folder}: exit {code}: {err.strip()[:300]}"
    read = json.loads(out)
    d = np.array(read["direction"]).reshape(3, 3) * np.array(read["spacing"])
    affine = np.eye(4)
    affine[:3, :3] = d
    affine[:3, 3] = read["origin"]
    ours = corners(affine, read["size"], ras=False)
    theirs, total = dcm2niix_reference(folder, workdir)
    far = max(max(abs(a - b) for a, b in zip(p, q)) for p, q in zip(ours, theirs))
    if far > 0.02:
        return False, f"FAIL series   {folder}: corners differ from dcm2niix's by {far:.3f} mm"
    if abs(read["sum"] - total) > 1e-4 * max(1.0, abs(total)):
        return False, f"FAIL series   {folder}: voxel sum {read['sum']} != dcm2niix's {total}"
    return True, f"PASS series   {folder} (corners within {far:.3f} mm of dcm2niix's, same voxel sum)"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--probe", required=True, help="the medseg-probe-image executable")
    parser.add_argument("--workdir", required=True)
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    warnings.filterwarnings("ignore")  # pydicom's own complaints about its deliberately odd test files

    files = []
    for folder, package in CORPUS_FOLDERS:
        if not os.path.isdir(folder):
            print(f"corpus: {folder} missing (Debian package {package}; Utilities/setup.sh installs it)")
            continue
        for root, dirs, names in os.walk(folder):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for name in sorted(names):
                if name.endswith(SKIP_SUFFIXES) or name.endswith(DATA_SUFFIXES):
                    continue
                files.append(os.path.join(root, name))
    if not files:
        print("corpus: no corpus folder installed")
        return 77

    passed = failed = 0
    for path in files:
        ok, line = check_file(args.probe, path)
        print(line, flush=True)
        passed, failed = passed + ok, failed + (not ok)

    have_series = shutil.which("dcm2niix") is not None
    try:
        import pydicom  # noqa: F401
        import nibabel  # noqa: F401
    except ImportError:
        have_series = False
    if have_series:
        cases = [("oblique-20x20", 20.0, 20.0, 1.0, 0.0, False), ("shuffled", 0.0, 0.0, 1.0, 0.0, True),
                 ("rescaled-oblique-shuffled", 12.0, -25.0, 0.5, -1024.0, True)]
        for k, (name, tx, ty, slope, intercept, shuffle) in enumerate(cases):
            folder = os.path.join(args.workdir, "series", name)
            shutil.rmtree(folder, ignore_errors=True)
            write_series(folder, tx, ty, slope, intercept, shuffle, seed=k)
            ok, line = check_series(args.probe, folder, args.workdir)
            print(line, flush=True)
            passed, failed = passed + ok, failed + (not ok)
    else:
        print("corpus: DICOM series skipped (needs dcm2niix, python3-pydicom, python3-nibabel)")

    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
