"""Numeric gradients by centred differences, and ways to compare them.

The relative error used throughout is the CS231n one,

    rel_error(a, b) = max_i |a_i - b_i| / max(1e-8, |a_i| + |b_i|),

which is scale-free: below about 1e-7 in float64 a hand-written gradient is
almost certainly right; above 1e-2 it is almost certainly wrong.

Every function accepts NumPy arrays or torch tensors. Inputs are perturbed in
place (and restored), so ``f`` must read ``x`` each time it is called. Use
float64: in float32 the centred difference itself is only good to ~1e-3.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Union

import numpy as np

from course_utils._validate import describe, is_tensor, require_array, require_float, require_same_shape

if TYPE_CHECKING:  # torch is used only for tensors, so NumPy-only notebooks never load it
    import torch

Array = Union[np.ndarray, "torch.Tensor"]

__all__ = ["compare_gradients", "numeric_gradient", "numeric_gradient_array", "rel_error"]


def _to_numpy(x: Array) -> np.ndarray:
    if is_tensor(x):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _scalar(value: object, where: str) -> float:
    """Turn ``f``'s output into a Python float, or explain why it is not a scalar."""
    if is_tensor(value):
        if value.numel() != 1:
            raise ValueError(
                f"{where}: f must return a scalar, got a tensor of shape {tuple(value.shape)}; "
                "reduce it (e.g. .sum()) or use numeric_gradient_array with an upstream gradient"
            )
        return float(value.item())
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise ValueError(
                f"{where}: f must return a scalar, got an array of shape {value.shape}; "
                "reduce it (e.g. .sum()) or use numeric_gradient_array with an upstream gradient"
            )
        return float(value.reshape(()))
    if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
        return float(value)
    raise TypeError(f"{where}: f must return a number, array or tensor, got {type(value).__name__}")


def numeric_gradient(f: Callable[[], object], x: Array, h: float = 1e-5) -> Array:
    """Centred-difference gradient of a scalar function with respect to ``x``.

    Args:
        f: called with no arguments, returns a scalar (float, 0-d/1-element array
            or tensor) that depends on the current contents of ``x``.
        x: float array or tensor of any shape ``(*S)``; perturbed in place and restored.
        h: step size.

    Returns:
        ``dx`` of shape ``(*S)``, same type, dtype and device as ``x``:
        ``dx[i] = (f(x + h e_i) - f(x - h e_i)) / (2h)``.

    Raises:
        TypeError: ``x`` is not a float array/tensor.
        ValueError: ``f`` does not return a scalar, or ``h`` is not positive.
    """
    require_float(x, "x")
    if not h > 0:
        raise ValueError(f"step h must be positive, got {h}")
    if is_tensor(x):
        import torch

        grad, no_grad = torch.zeros_like(x), torch.no_grad()
    else:
        grad, no_grad = np.zeros_like(x), contextlib.nullcontext()
    with no_grad:
        flat_x = x.view(-1) if is_tensor(x) else x.reshape(-1)
        flat_g = grad.view(-1) if is_tensor(grad) else grad.reshape(-1)
        if isinstance(x, np.ndarray) and not np.shares_memory(flat_x, x):
            raise ValueError("x must be a contiguous array so it can be perturbed in place")
        for i in range(flat_x.shape[0]):
            old = float(flat_x[i])
            flat_x[i] = old + h
            plus = _scalar(f(), "numeric_gradient")
            flat_x[i] = old - h
            minus = _scalar(f(), "numeric_gradient")
            flat_x[i] = old
            flat_g[i] = (plus - minus) / (2 * h)
    return grad


def numeric_gradient_array(f: Callable[[], Array], x: Array, dout: Array, h: float = 1e-5) -> Array:
    """Centred-difference gradient of an array-valued function, given an upstream gradient.

    Computes ``d(sum(f() * dout)) / dx``, the quantity a backward pass returns when
    the layer's output receives the gradient ``dout``.

    Args:
        f: called with no arguments, returns an array/tensor of shape ``(*O)``.
        x: float array or tensor of shape ``(*S)``; perturbed in place and restored.
        dout: upstream gradient of shape ``(*O)``.
        h: step size.

    Returns:
        ``dx`` of shape ``(*S)``, same type as ``x``.
    """
    require_float(x, "x")
    require_array(dout, "dout")
    dout_np = _to_numpy(dout)

    def projected() -> float:
        out = f()
        require_array(out, "f()")
        out_np = _to_numpy(out)
        if out_np.shape != dout_np.shape:
            raise ValueError(
                f"f() returned shape {out_np.shape} but dout has shape {dout_np.shape}; "
                "dout must be the gradient of the loss with respect to f's output"
            )
        return float(np.sum(out_np * dout_np))

    return numeric_gradient(projected, x, h)


def rel_error(a: Array, b: Array) -> float:
    """Relative error ``max |a-b| / max(1e-8, |a|+|b|)`` (elementwise, then max).

    Args:
        a, b: arrays or tensors of the same shape (any device; compared on CPU in float64).

    Returns:
        A Python float; 0.0 for identical inputs.
    """
    require_array(a, "a")
    require_array(b, "b")
    require_same_shape(a, b, "a", "b")
    a64 = _to_numpy(a).astype(np.float64)
    b64 = _to_numpy(b).astype(np.float64)
    if a64.size == 0:
        return 0.0
    return float(np.max(np.abs(a64 - b64) / np.maximum(1e-8, np.abs(a64) + np.abs(b64))))


def compare_gradients(pairs: Mapping[str, tuple[Array, Array]], *, atol: float = 1e-8, rtol: float = 1e-5) -> str:
    """One line per gradient: exact match, allclose, max abs difference and relative error.

    Args:
        pairs: ``{"dW": (mine, reference), ...}``; each pair of equal shape.
        atol, rtol: tolerances for the "allclose" column.

    Returns:
        The report as a string (print it). Example line::

            dW        shape (4, 4)     exact: False  allclose: True   maxdiff: 2.2e-16  rel: 1.3e-15
    """
    if not isinstance(pairs, Mapping) or not pairs:
        raise TypeError(f"pairs must be a non-empty mapping name -> (mine, reference), got {describe(pairs)}")
    width = max(len(str(k)) for k in pairs)
    lines = []
    for name, pair in pairs.items():
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise TypeError(f"pairs[{name!r}] must be a (mine, reference) tuple, got {describe(pair)}")
        mine, ref = pair
        require_array(mine, f"{name} (mine)")
        require_array(ref, f"{name} (reference)")
        require_same_shape(mine, ref, f"{name} (mine)", f"{name} (reference)")
        m, r = _to_numpy(mine).astype(np.float64), _to_numpy(ref).astype(np.float64)
        exact = bool(np.array_equal(m, r))
        close = bool(np.allclose(m, r, atol=atol, rtol=rtol))
        maxdiff = float(np.max(np.abs(m - r))) if m.size else 0.0
        lines.append(
            f"{str(name):<{width}}  shape {str(tuple(m.shape)):<14} exact: {str(exact):<5}  "
            f"allclose: {str(close):<5}  maxdiff: {maxdiff:.1e}  rel: {rel_error(m, r):.1e}"
        )
    return "\n".join(lines)
