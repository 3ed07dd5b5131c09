"""Geometry shared by the Python fixture scripts (Testing/NNUNet, Testing/MONAI)."""
import numpy as np


def rotation(axis, degrees):
    """The 3x3 rotation by `degrees` about coordinate axis `axis` (0, 1 or 2), right-handed."""
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    i, j = [a for a in range(3) if a != axis]
    r = np.eye(3)
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r
