"""Spectral radius of the recurrent matrix against the gradient norm over time (lecture 05).

Backpropagation through time multiplies the gradient by ``diag(f'(a_j)) W`` once per step, so how
fast ``||dL/dh_t||`` shrinks or grows with the distance from the loss depends on the spectral
radius ``ρ(W)`` and on the slope of the nonlinearity.

* :func:`gradient_norms` (pure NumPy) runs a simple RNN for ``steps`` steps with ``W = r Q``
  (``Q`` a fixed random orthogonal matrix, so ``ρ(W) = r`` exactly), puts the loss
  ``L = v · h_T`` on the last state, and returns ``||dL/dh_t||`` for ``t = 1 .. T``.
* :func:`render_gradient_norms` draws them (log scale) on a matplotlib axis.
* :func:`spectral_widget` gives a slider for ``ρ(W)`` and a choice of nonlinearity, redrawing the
  curve; its output area has the CSS class ``cu-spectral-output``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from course_utils._validate import require_int, require_real

__all__ = ["NONLINEARITIES", "OUTPUT_CLASS", "gradient_norms", "render_gradient_norms", "spectral_widget"]

OUTPUT_CLASS = "cu-spectral-output"
NONLINEARITIES = ("tanh", "sigmoid")


def gradient_norms(radius: float, nonlinearity: str = "tanh", steps: int = 40, hidden: int = 32,
                   input_dim: int = 8, input_scale: float = 0.01, seed: int = 0) -> np.ndarray:
    """``||dL/dh_t||`` for ``t = 1 .. steps`` with ``L = v · h_T`` and ``W = radius · Q``.

    Args:
        radius: the spectral radius ρ(W), > 0.
        nonlinearity: ``"tanh"`` or ``"sigmoid"`` (the slides' σ).
        steps: T, the number of steps; hidden: H; input_dim: D.
        input_scale: size of the input weights U (small, so W dominates).
        seed: seeds Q, U, the inputs (T, D) and v (H,).

    Returns:
        float64 array of shape (steps,): entry t-1 is ``||dL/dh_t||``.
    """
    require_real(radius, "radius (the spectral radius of W)", positive=True)
    require_real(input_scale, "input_scale")
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity must be one of {NONLINEARITIES}, got {nonlinearity!r}")
    for value, name in ((steps, "steps"), (hidden, "hidden"), (input_dim, "input_dim")):
        require_int(value, name, low=1)
    require_int(seed, "seed", low=0)
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((hidden, hidden)))
    W = radius * Q                                           # W = [H, H], every |eigenvalue| = radius
    U = input_scale * rng.standard_normal((hidden, input_dim))  # U = [H, D]
    w_seq = rng.standard_normal((steps, input_dim))          # w_seq = [T, D]
    v = rng.standard_normal(hidden)                          # v = [H]
    h = np.zeros(hidden)
    slopes = []
    for t in range(steps):
        a = W @ h + U @ w_seq[t]
        if nonlinearity == "tanh":
            h = np.tanh(a)
            slopes.append(1.0 - h ** 2)
        else:
            h = 1.0 / (1.0 + np.exp(-a))
            slopes.append(h * (1.0 - h))
    norms = np.empty(steps)
    delta = v.copy()                                         # dL/dh_T
    for t in reversed(range(steps)):
        norms[t] = np.linalg.norm(delta)
        delta = W.T @ (slopes[t] * delta)                    # dL/dh_{t-1} = W^T (f'(a_t) ⊙ dL/dh_t)
    return norms


def render_gradient_norms(norms: np.ndarray, radius: float, nonlinearity: str, ax: Any = None) -> Any:
    """Plot ``||dL/dh_t||`` against t on a log scale; return the axis."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    ax.semilogy(np.arange(1, len(norms) + 1), norms, marker=".")
    ax.set_xlabel("time step t (the loss is at the last step)")
    ax.set_ylabel(r"$\|\partial L / \partial h_t\|$")
    ax.set_title(f"{nonlinearity} cell, ρ(W) = {radius:.2f}: first/last = {norms[0] / norms[-1]:.1e}")
    ax.grid(alpha=0.3, which="both")
    return ax


def spectral_widget(radius: float = 1.0, nonlinearity: str = "tanh", steps: int = 40):
    """A slider for ρ(W) (0.5 to 4) and a nonlinearity menu; the plot below redraws.

    Returns:
        ``ipywidgets.VBox([controls, output])``; ``controls.children`` are the
        ``FloatSlider`` and the ``Dropdown``; ``output`` is an ``Output`` with class ``cu-spectral-output``.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    require_real(radius, "radius (the spectral radius of W)", positive=True)
    require_int(steps, "steps", low=1)
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity must be one of {NONLINEARITIES}, got {nonlinearity!r}")
    slider = widgets.FloatSlider(value=radius, min=0.5, max=4.0, step=0.05, description="ρ(W)",
                                 continuous_update=False)
    menu = widgets.Dropdown(options=list(NONLINEARITIES), value=nonlinearity, description="cell")
    out = widgets.Output()
    out.add_class(OUTPUT_CLASS)

    def _draw(_change: Any = None) -> None:
        with out:
            out.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(6, 3.5))
            render_gradient_norms(gradient_norms(slider.value, menu.value, steps), slider.value, menu.value, ax)
            plt.show()
            plt.close(fig)

    slider.observe(_draw, names="value")
    menu.observe(_draw, names="value")
    _draw()
    return widgets.VBox([widgets.HBox([slider, menu]), out])
