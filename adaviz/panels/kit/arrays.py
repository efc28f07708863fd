"""Arrays as the browser takes them: contiguous 1-D float32/float64 (sent as binary buffers)."""

from __future__ import annotations

import numpy as np

__all__ = ["floats", "step_axis", "positive_or_nan", "same_array"]


def floats(values):
    """A contiguous 1-D float32/float64 copy-free view of ``values`` for the browser.

    Plotly sends 1-D float arrays as binary buffers; int64 arrays would go as JSON lists.
    """
    arr = np.asarray(values)
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    return np.ascontiguousarray(arr.reshape(-1))


def step_axis(n):
    """``0, 1, ..., n-1`` as float64 (x axes of steps are never int64)."""
    return np.arange(n, dtype=np.float64)


def positive_or_nan(values):
    """``values`` with non-positive entries replaced by NaN (for log axes)."""
    arr = floats(values)
    if np.any(arr <= 0):
        arr = np.where(arr > 0, arr, np.nan).astype(arr.dtype)
    return arr


def same_array(old, new):
    """Whether ``new`` equals the array ``old`` already set (NaN equal to NaN)."""
    if old is None:
        return False
    new = np.asarray(new)
    if old.shape != new.shape or old.dtype != new.dtype:
        return False
    return bool(np.array_equal(old, new, equal_nan=old.dtype.kind == "f"))
