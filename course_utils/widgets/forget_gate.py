"""Forget-gate bias against memory: how much of an LSTM cell's content survives ``t`` steps.

At initialisation every weight is small, so the forget gate is ``f = σ(b_f)`` at every step and the
direct memory path multiplies the cell state by ``f`` per step: after ``t`` steps a fraction ``f**t``
of ``c_0`` is left. Two sliders (bias ``b_f`` and distance ``t``) show that curve::

    >>> from course_utils.widgets.forget_gate import forget_gate_widget
    >>> forget_gate_widget(bias=1.0, steps=49)   # doctest: +SKIP

As in the other widgets, the logic is pure and testable without a browser:

* :func:`forget_memory` (pure) computes ``f``, the curve ``f**t`` and the half-life;
* :func:`render_forget_memory` (pure) turns it into HTML with an inline SVG plot;
* :func:`forget_gate_widget` wires two sliders (CSS classes ``cu-forget-bias`` and
  ``cu-forget-steps``) to an ``HTML`` output with class ``cu-forget-output``.
"""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np

from course_utils._validate import require_int, require_real

__all__ = ["BIAS_CLASS", "OUTPUT_CLASS", "STEPS_CLASS", "forget_gate_widget", "forget_memory",
           "render_forget_memory"]

BIAS_CLASS = "cu-forget-bias"
STEPS_CLASS = "cu-forget-steps"
OUTPUT_CLASS = "cu-forget-output"


def _check(bias: Any, steps: Any) -> tuple[float, int]:
    return require_real(bias, "bias"), require_int(steps, "steps", low=1)


def forget_memory(bias: float, steps: int) -> dict[str, Any]:
    """What survives of a memory over ``steps`` steps when the forget gate is ``σ(bias)``.

    Args:
        bias: the forget gate's bias ``b_f`` (the weights are taken as 0, as at initialisation).
        steps: the distance ``t`` to look at, at least 1.

    Returns:
        ``{"bias", "steps", "f" (σ(bias)), "curve" (array of shape (steps + 1,): f**t for
        t = 0..steps), "surviving" (f**steps), "half_life" (steps until half is left,
        ln ½ / ln f; ``inf`` when f rounds to 1)}``.
    """
    bias, steps = _check(bias, steps)
    f = 1.0 / (1.0 + math.exp(-bias))
    t = np.arange(steps + 1, dtype=np.float64)
    log_f = math.log(f) if f > 0 else -math.inf
    curve = np.exp(t * log_f) if log_f > -math.inf else (t == 0).astype(np.float64)
    half_life = math.log(0.5) / log_f if log_f < 0 else math.inf
    return {"bias": bias, "steps": steps, "f": f, "curve": curve, "surviving": float(curve[-1]),
            "half_life": half_life}


def render_forget_memory(bias: float, steps: int, width: int = 420, height: int = 160) -> str:
    """HTML for one slider position: ``f``, ``f**steps``, the half-life and an SVG plot of ``f**t``."""
    m = forget_memory(bias, steps)
    pad = 30
    require_int(width, "width", low=2 * pad + 1)
    require_int(height, "height", low=2 * pad + 1)
    xs = pad + (width - 2 * pad) * np.arange(steps + 1) / steps
    ys = height - pad - (height - 2 * pad) * m["curve"]
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))
    half = "never (f rounds to 1)" if math.isinf(m["half_life"]) else f"{m['half_life']:.1f} steps"
    svg = (
        f"<svg width='{width}' height='{height}' role='img' aria-label='f to the power t'>"
        f"<line x1='{pad}' y1='{height - pad}' x2='{width - pad}' y2='{height - pad}' stroke='#444'/>"
        f"<line x1='{pad}' y1='{pad}' x2='{pad}' y2='{height - pad}' stroke='#444'/>"
        f"<text x='{pad - 4}' y='{pad + 4}' font-size='11' text-anchor='end'>1</text>"
        f"<text x='{pad - 4}' y='{height - pad + 4}' font-size='11' text-anchor='end'>0</text>"
        f"<text x='{width - pad}' y='{height - pad + 16}' font-size='11' text-anchor='end'>t = {steps}</text>"
        f"<text x='{pad}' y='{height - pad + 16}' font-size='11'>t = 0</text>"
        f"<polyline points='{points}' fill='none' stroke='#1f77b4' stroke-width='2'/>"
        "</svg>"
    )
    return (
        f"<div class='{OUTPUT_CLASS}'>"
        f"<div>forget gate f = σ({m['bias']:g}) = <b>{m['f']:.4f}</b>; "
        f"left of the memory after {steps} steps: f<sup>{steps}</sup> = <b>{m['surviving']:.3g}</b>; "
        f"half of it is gone after {html.escape(half)}</div>{svg}</div>"
    )


def forget_gate_widget(bias: float = 1.0, steps: int = 49) -> Any:
    """Two sliders (forget-gate bias, distance in steps) and the memory curve they give."""
    import ipywidgets as widgets

    bias, steps = _check(bias, steps)
    bias_slider = widgets.FloatSlider(value=bias, min=-2.0, max=8.0, step=0.5, description="bias b_f",
                                      continuous_update=True)
    steps_slider = widgets.IntSlider(value=steps, min=1, max=200, description="steps t")
    bias_slider.add_class(BIAS_CLASS)
    steps_slider.add_class(STEPS_CLASS)
    out = widgets.HTML(render_forget_memory(bias, steps))

    def update(_change: Any = None) -> None:
        out.value = render_forget_memory(bias_slider.value, steps_slider.value)

    bias_slider.observe(update, names="value")
    steps_slider.observe(update, names="value")
    return widgets.VBox([bias_slider, steps_slider, out])
