"""Small argument checks shared by the library: errors that say what was expected and what came."""

from __future__ import annotations

import math
import sys
from numbers import Real
from typing import Any

import numpy as np

ArrayLike = "np.ndarray | torch.Tensor"


def is_tensor(x: Any) -> bool:
    """True for a torch tensor, without importing torch: a tensor can only exist once torch is loaded
    (the NumPy notebooks and graded kernels never pay the second or more that importing it costs)."""
    torch_module = sys.modules.get("torch")
    return torch_module is not None and isinstance(x, torch_module.Tensor)


def is_array(x: Any) -> bool:
    """True for a NumPy array or a torch tensor."""
    return isinstance(x, np.ndarray) or is_tensor(x)


def describe(x: Any) -> str:
    """A short description of ``x`` for error messages: type, shape and dtype."""
    if is_tensor(x):
        return f"torch.Tensor of shape {tuple(x.shape)} and dtype {x.dtype}"
    if isinstance(x, np.ndarray):
        return f"numpy.ndarray of shape {x.shape} and dtype {x.dtype}"
    return type(x).__name__


def require_array(x: Any, name: str) -> None:
    """Raise TypeError unless ``x`` is a NumPy array or a torch tensor."""
    if not is_array(x):
        raise TypeError(f"{name} must be a numpy.ndarray or torch.Tensor, got {describe(x)}")


def require_float(x: Any, name: str) -> None:
    """Raise TypeError unless ``x`` is an array/tensor with a floating dtype."""
    require_array(x, name)
    floating = x.is_floating_point() if is_tensor(x) else np.issubdtype(x.dtype, np.floating)
    if not floating:
        raise TypeError(
            f"{name} must have a floating dtype (use float64 for gradient checks), got {describe(x)}"
        )


def require_same_shape(a: Any, b: Any, name_a: str, name_b: str) -> None:
    """Raise ValueError unless the two arrays/tensors have the same shape."""
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}"
        )


def require_int(value: Any, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` if it is an int (``bool`` is not) in ``[low, high]``.

    Raises TypeError when ``value`` is not an int, ValueError when it is out of bounds.

    The one integer check of the library, so every argument error reads the same way::

        require_int(batch_size, "batch_size", low=1)   # "batch_size must be a positive int, got 0"

    Args:
        value: what the caller passed.
        name: the argument's name, as the caller wrote it.
        low, high: inclusive bounds; ``None`` leaves that side open.
    """
    if low is not None and high is not None:
        wanted = f"an int in [{low}, {high}]"
    elif low == 1:
        wanted = "a positive int"
    elif low == 0:
        wanted = "a non-negative int"
    elif low is not None:
        wanted = f"an int >= {low}"
    elif high is not None:
        wanted = f"an int <= {high}"
    else:
        wanted = "an int"
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be {wanted}, got {type(value).__name__} {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    return value


def require_real(value: Any, name: str, *, positive: bool = False) -> float:
    """Return ``value`` as a float if it is a finite real number (int or float; ``bool`` is not).

    Raises TypeError when ``value`` is not a real number, ValueError when it is NaN or infinite,
    or, with ``positive=True``, when it is not above zero::

        require_real(radius, "radius", positive=True)   # "radius must be a positive number, got 0"

    Args:
        value: what the caller passed.
        name: the argument's name, as the caller wrote it.
        positive: also require ``value > 0``.
    """
    wanted = "a positive number" if positive else "a real number (int or float)"
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be {wanted}, got {type(value).__name__} {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if positive and number <= 0:
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    return number
