"""What the command-line parity tests of foreign model formats share (Testing/NNUNet, Testing/MONAI):
a failure list, timed subprocess runs, fixtures cached by a stamp of the scripts that make them,
and the label-map comparison the acceptance criteria name (geometry, voxels equal, Dice per label).
Needs nibabel and numpy; the callers skip (77) without them."""
import hashlib
import os
import shutil
import subprocess
import sys
import time

import nibabel as nib
import numpy as np

failures = []


def check(condition, message):
    """Records a failure (and prints it) when `condition` is false; returns the condition."""
    if not condition:
        failures.append(message)
        print("FAIL " + message)
    return condition


def run(cmd, **kw):
    """subprocess.run with captured text output and the seconds it took (r.seconds)."""
    t = time.time()
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    r.seconds = time.time() - t
    return r


def cached_fixtures(workdir, make_script, stamped):
    """Runs `make_script make --out WORKDIR/fixtures` unless the stamp of the `stamped` files'
    contents equals the last run's; returns the fixture folder. Exits 1 when making fails."""
    digest = hashlib.sha256()
    for path in stamped:
        with open(path, "rb") as f:
            digest.update(f.read())
    out = os.path.join(workdir, "fixtures")
    stamp = os.path.join(out, "stamp.txt")
    if os.path.exists(stamp) and open(stamp).read() == digest.hexdigest():
        return out
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    r = run([sys.executable, make_script, "make", "--out", out])
    if r.returncode != 0:
        print(r.stdout + r.stderr)
        sys.exit(1)
    print(f"fixtures made in {r.seconds:.0f} s")
    with open(stamp, "w") as f:
        f.write(digest.hexdigest())
    return out


def compare(name, produced, expected, input_image):
    """The input's spatial shape and affine (atol 1e-4), >= 99.5 % of voxels equal to `expected`
    and Dice >= 0.99 per label; returns (equal fraction, {label: Dice})."""
    a, b, src = nib.load(produced), nib.load(expected), nib.load(input_image)
    spatial = src.shape[:3]  # a multi-channel input may be one 4-D NIfTI (X, Y, Z, C)
    check(a.shape == spatial, f"{name}: label map shape {a.shape} is not the input's {spatial}")
    check(np.allclose(a.affine, src.affine, atol=1e-4), f"{name}: label map affine differs from the input's")
    x, y = np.asarray(a.dataobj).astype(np.int64), np.asarray(b.dataobj).astype(np.int64)
    if x.shape != y.shape:
        check(False, f"{name}: shape {x.shape} vs reference {y.shape}")
        return 0.0, {}
    equal = float((x == y).mean())
    dice = {}
    for v in sorted(set(np.unique(x)) | set(np.unique(y))):
        if v == 0:
            continue
        px, py = x == v, y == v
        dice[int(v)] = 2.0 * float((px & py).sum()) / max(1, int(px.sum() + py.sum()))
    check(equal >= 0.995, f"{name}: {equal:.4%} of voxels agree with the reference (< 99.5%)")
    for v, d in dice.items():
        check(d >= 0.99, f"{name}: Dice {d:.4f} for label {v} (< 0.99)")
    return equal, dice


def same_labels(produced, reference):
    return np.array_equal(np.asarray(nib.load(produced).dataobj), np.asarray(nib.load(reference).dataobj))
