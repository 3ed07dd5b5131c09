"""Minimal NIfTI-1 (.nii, .nii.gz) and MetaImage (.mha) voxel I/O for the benchmark scripts.

Arrays are numpy [Z, Y, X] (x fastest), the order ITK and MedSeg store voxels in; only the
voxels and the spacing are handled (the benchmark compares label maps voxel by voxel).
"""
import gzip
import struct

import numpy as np

_NIFTI_TYPES = {2: np.uint8, 4: np.int16, 8: np.int32, 16: np.float32, 64: np.float64,
                256: np.int8, 512: np.uint16, 768: np.uint32}
_MET_TYPES = {"MET_UCHAR": np.uint8, "MET_CHAR": np.int8, "MET_USHORT": np.uint16, "MET_SHORT": np.int16,
              "MET_UINT": np.uint32, "MET_INT": np.int32, "MET_FLOAT": np.float32, "MET_DOUBLE": np.float64}


def read(path):
    """Returns (voxels [Z, Y, X] as stored, spacing (x, y, z))."""
    if path.endswith(".mha"):
        return _read_mha(path)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    endian = "<" if struct.unpack("<i", data[:4])[0] == 348 else ">"
    dim = struct.unpack(endian + "8h", data[40:56])
    datatype = struct.unpack(endian + "h", data[70:72])[0]
    pixdim = struct.unpack(endian + "8f", data[76:108])
    offset = int(struct.unpack(endian + "f", data[108:112])[0])
    slope, inter = struct.unpack(endian + "2f", data[112:120])
    shape = tuple(max(1, d) for d in dim[1:4])
    dtype = np.dtype(_NIFTI_TYPES[datatype]).newbyteorder(endian)
    count = shape[0] * shape[1] * shape[2]
    voxels = np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(shape[::-1])
    if slope not in (0.0, 1.0) or inter != 0.0:
        voxels = voxels.astype(np.float32) * (slope if slope != 0 else 1.0) + inter
    return voxels, tuple(pixdim[1:4])


def _read_mha(path):
    header = {}
    with open(path, "rb") as f:
        while True:
            line = f.readline().decode("ascii").strip()
            key, _, value = line.partition("=")
            header[key.strip()] = value.strip()
            if key.strip() == "ElementDataFile":
                break
        payload = f.read()
    if header["ElementDataFile"] != "LOCAL" or header.get("CompressedData", "False") == "True":
        raise ValueError(f"{path}: only uncompressed MetaImage with LOCAL data is supported here")
    size = [int(v) for v in header["DimSize"].split()]
    dtype = np.dtype(_MET_TYPES[header["ElementType"]])
    if header.get("BinaryDataByteOrderMSB", "False") == "True":
        dtype = dtype.newbyteorder(">")
    spacing = tuple(float(v) for v in header.get("ElementSpacing", "1 1 1").split())
    return np.frombuffer(payload, dtype=dtype).reshape(size[::-1]), spacing


def write_mha(path, voxels, spacing):
    """Writes [Z, Y, X] voxels as an uncompressed MetaImage with identity direction."""
    types = {v: k for k, v in _MET_TYPES.items()}
    z, y, x = voxels.shape
    header = ("ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
              "CompressedData = False\nTransformMatrix = 1 0 0 0 1 0 0 0 1\nOffset = 0 0 0\n"
              f"ElementSpacing = {spacing[0]} {spacing[1]} {spacing[2]}\nDimSize = {x} {y} {z}\n"
              f"ElementType = {types[voxels.dtype.type]}\nElementDataFile = LOCAL\n")
    with open(path, "wb") as f:
        f.write(header.encode("ascii"))
        f.write(np.ascontiguousarray(voxels).tobytes())
