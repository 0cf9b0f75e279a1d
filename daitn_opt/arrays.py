"""Reading user-supplied arrays: one InputError naming the field instead of a numpy traceback."""

from __future__ import annotations

import numpy as np

from .errors import InputError


def as_array(name: str, value: object, dtype: type) -> np.ndarray:
    """``value`` as a numpy array of ``dtype`` (lists accepted); an InputError naming ``name``
    when it is not numeric (or, for integers and booleans, not integral)."""
    try:
        arr = np.asarray(value)
        if dtype is bool:
            if arr.dtype != bool and not np.all(np.isin(arr, (0, 1))):
                raise ValueError("expected booleans")
            return arr.astype(bool)
        out = arr.astype(dtype)
        if np.issubdtype(dtype, np.integer) and not np.array_equal(out, arr):
            raise ValueError("expected integers")
        return out
    except (TypeError, ValueError) as exc:
        raise InputError(name, value, f"expected a numeric array ({exc})") from None
