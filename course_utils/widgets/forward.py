"""Forward propagation through the lecture's 2-2-2 sigmoid network, live.

The network (lecture 02, "Forward propagation, worked")::

    inputs      hidden layer                 output layer
    x1 --w1--> h1      in_h1 = w1*x1 + w2*x2 + b_h1    out_h1 = g(in_h1)
    x2 --w2--> h1      in_h2 = w3*x1 + w4*x2 + b_h2    out_h2 = g(in_h2)
    x1 --w3--> h2      in_o1 = w5*out_h1 + w6*out_h2 + b_o1   out_o1 = g(in_o1)
    x2 --w4--> h2      in_o2 = w7*out_h1 + w8*out_h2 + b_o2   out_o2 = g(in_o2)

with ``g(x) = 1 / (1 + exp(-x))``, the logistic sigmoid (``σ`` in the slides).

Two parts, so the logic is testable without a browser:

* :func:`forward_values` — pure arithmetic, returns every intermediate value;
* :func:`format_forward_html` — the HTML text the widget shows for those values;
* :func:`forward_widget` — the ipywidgets builder (sliders + an ``HTML`` output
  area with CSS class ``cu-forward-output``; each slider has class
  ``cu-forward-slider``).

The defaults, :data:`SLIDE_EXAMPLE`, reproduce the slides' weighted sums
``in_h1 = -0.3225`` and ``in_h2 = -0.3075`` exactly (in exact arithmetic).
"""

from __future__ import annotations

import math
from typing import Any

from course_utils._validate import require_int, require_real

__all__ = [
    "PARAMETER_NAMES",
    "SLIDE_EXAMPLE",
    "sigmoid",
    "forward_values",
    "format_forward_html",
    "forward_widget",
]

#: Order of the parameters: inputs, hidden-layer weights and biases, output-layer weights and biases.
PARAMETER_NAMES: tuple[str, ...] = (
    "x1", "x2",
    "w1", "w2", "w3", "w4", "b_h1", "b_h2",
    "w5", "w6", "w7", "w8", "b_o1", "b_o2",
)

#: Inputs and weights that give the slides' weighted sums in_h1 = -0.3225 and in_h2 = -0.3075.
SLIDE_EXAMPLE: dict[str, float] = {
    "x1": 0.05, "x2": 0.10,
    "w1": 0.15, "w2": 0.20, "w3": 0.25, "w4": 0.30, "b_h1": -0.35, "b_h2": -0.35,
    "w5": 0.40, "w6": 0.45, "w7": 0.50, "w8": 0.55, "b_o1": 0.60, "b_o2": 0.60,
}

_RESULT_NAMES = ("in_h1", "in_h2", "out_h1", "out_h2", "in_o1", "in_o2", "out_o1", "out_o2")


def sigmoid(x: float) -> float:
    """The slides' activation ``g(x) = 1 / (1 + e^(-x))`` for one Python float.

    Written so that it never overflows: for large negative ``x`` it uses the
    equivalent form ``e^x / (1 + e^x)``.
    """
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def forward_values(
    x1: float = SLIDE_EXAMPLE["x1"],
    x2: float = SLIDE_EXAMPLE["x2"],
    w1: float = SLIDE_EXAMPLE["w1"],
    w2: float = SLIDE_EXAMPLE["w2"],
    w3: float = SLIDE_EXAMPLE["w3"],
    w4: float = SLIDE_EXAMPLE["w4"],
    b_h1: float = SLIDE_EXAMPLE["b_h1"],
    b_h2: float = SLIDE_EXAMPLE["b_h2"],
    w5: float = SLIDE_EXAMPLE["w5"],
    w6: float = SLIDE_EXAMPLE["w6"],
    w7: float = SLIDE_EXAMPLE["w7"],
    w8: float = SLIDE_EXAMPLE["w8"],
    b_o1: float = SLIDE_EXAMPLE["b_o1"],
    b_o2: float = SLIDE_EXAMPLE["b_o2"],
) -> dict[str, float]:
    """Run the 2-2-2 sigmoid network forward on one example, in plain floats.

    Args:
        x1, x2: the two inputs.
        w1, w2: weights from x1, x2 into hidden unit h1; ``b_h1`` its bias.
        w3, w4: weights from x1, x2 into hidden unit h2; ``b_h2`` its bias.
        w5, w6: weights from out_h1, out_h2 into output unit o1; ``b_o1`` its bias.
        w7, w8: weights from out_h1, out_h2 into output unit o2; ``b_o2`` its bias.

    Returns:
        A dict with the weighted sums ``in_h1, in_h2, in_o1, in_o2`` and the
        activations ``out_h1, out_h2, out_o1, out_o2`` (floats).

    Raises:
        TypeError: an argument is not a real number.
        ValueError: an argument is NaN or infinite.
    """
    p = {name: require_real(value, name) for name, value in zip(
        PARAMETER_NAMES, (x1, x2, w1, w2, w3, w4, b_h1, b_h2, w5, w6, w7, w8, b_o1, b_o2))}
    # Step 1 and 2 for the hidden layer: weighted sum, then activation.
    in_h1 = p["w1"] * p["x1"] + p["w2"] * p["x2"] + p["b_h1"]
    in_h2 = p["w3"] * p["x1"] + p["w4"] * p["x2"] + p["b_h2"]
    out_h1, out_h2 = sigmoid(in_h1), sigmoid(in_h2)
    # Step 3: the hidden outputs are the inputs of the output layer.
    in_o1 = p["w5"] * out_h1 + p["w6"] * out_h2 + p["b_o1"]
    in_o2 = p["w7"] * out_h1 + p["w8"] * out_h2 + p["b_o2"]
    out_o1, out_o2 = sigmoid(in_o1), sigmoid(in_o2)
    return {
        "in_h1": in_h1, "in_h2": in_h2, "out_h1": out_h1, "out_h2": out_h2,
        "in_o1": in_o1, "in_o2": in_o2, "out_o1": out_o1, "out_o2": out_o2,
    }


def format_forward_html(values: dict[str, float], params: dict[str, float] | None = None, digits: int = 4) -> str:
    """The HTML the widget shows: one line per unit, with the arithmetic spelled out.

    Args:
        values: the dict returned by :func:`forward_values`.
        params: the parameters used (names as in :data:`PARAMETER_NAMES`); when
            given, each weighted sum is written out term by term.
        digits: decimals to print (1-10).

    Returns:
        An HTML string containing ``in_h1 = ...``, ``out_h1 = ...`` and so on.
    """
    missing = [k for k in _RESULT_NAMES if k not in values]
    if missing:
        raise ValueError(f"values is missing {missing}; pass the dict returned by forward_values(...)")
    require_int(digits, "digits", low=1, high=10)
    if params is not None:
        absent = [k for k in PARAMETER_NAMES if k not in params]
        if absent:
            raise ValueError(f"params is missing {absent}; pass all of {list(PARAMETER_NAMES)} or None")
    f = f"{{:.{digits}f}}".format

    def working(weights: tuple[str, str], sources: tuple[float, float], bias: str) -> str:
        """'(w)(a) + (w)(a) + (b) = ' when the parameters are known, else ''."""
        if params is None:
            return ""
        terms = " + ".join(f"({f(params[w])})({f(a)})" for w, a in zip(weights, sources))
        return f"{terms} + ({f(params[bias])}) = "

    x = (params["x1"], params["x2"]) if params is not None else (0.0, 0.0)
    h = (values["out_h1"], values["out_h2"])
    rows = [
        ("in_h1", working(("w1", "w2"), x, "b_h1")),
        ("in_h2", working(("w3", "w4"), x, "b_h2")),
        ("out_h1", f"g({f(values['in_h1'])}) = "),
        ("out_h2", f"g({f(values['in_h2'])}) = "),
        ("in_o1", working(("w5", "w6"), h, "b_o1")),
        ("in_o2", working(("w7", "w8"), h, "b_o2")),
        ("out_o1", f"g({f(values['in_o1'])}) = "),
        ("out_o2", f"g({f(values['in_o2'])}) = "),
    ]
    lines = [
        f"<tr><td><b>{name}</b></td><td>&nbsp;=&nbsp;</td><td>{text}<b>{f(values[name])}</b></td></tr>"
        for name, text in rows
    ]
    return (
        "<table style='font-family: monospace; border-collapse: collapse'>"
        "<tr><th colspan='3' style='text-align:left'>hidden layer</th></tr>"
        + "".join(lines[:4])
        + "<tr><th colspan='3' style='text-align:left'>output layer (step 3: hidden outputs are its inputs)</th></tr>"
        + "".join(lines[4:])
        + "</table>"
    )


def forward_widget(digits: int = 4, **overrides: float) -> Any:
    """Sliders for every input, weight and bias; the weighted sums and outputs update live.

    Args:
        digits: decimals shown in the output area.
        **overrides: starting values for any of :data:`PARAMETER_NAMES`
            (the defaults are :data:`SLIDE_EXAMPLE`).

    Returns:
        An ``ipywidgets.VBox``: slider columns, a reset button and an
        ``ipywidgets.HTML`` output (CSS class ``cu-forward-output``). Every slider
        has CSS class ``cu-forward-slider``; the first one is ``x1``.
    """
    import ipywidgets as widgets

    unknown = sorted(set(overrides) - set(PARAMETER_NAMES))
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown}; expected some of {list(PARAMETER_NAMES)}")
    start = {**SLIDE_EXAMPLE, **{k: require_real(v, k) for k, v in overrides.items()}}

    sliders: dict[str, Any] = {}
    for name in PARAMETER_NAMES:
        slider = widgets.FloatSlider(
            value=start[name], min=-1.0, max=1.0, step=0.01, description=name,
            readout_format=".2f", continuous_update=True,
            layout=widgets.Layout(width="300px"),
        )
        slider.add_class("cu-forward-slider")
        sliders[name] = slider

    output = widgets.HTML()
    output.add_class("cu-forward-output")

    def refresh(_change: Any = None) -> None:
        params = {name: s.value for name, s in sliders.items()}
        output.value = format_forward_html(forward_values(**params), params, digits=digits)

    for slider in sliders.values():
        slider.observe(refresh, names="value")

    reset = widgets.Button(description="reset to the slides' example", layout=widgets.Layout(width="240px"))

    def on_reset(_button: Any) -> None:
        for name, slider in sliders.items():
            slider.value = SLIDE_EXAMPLE[name]

    reset.on_click(on_reset)
    refresh()

    def column(title: str, names: tuple[str, ...]) -> Any:
        return widgets.VBox([widgets.HTML(f"<b>{title}</b>")] + [sliders[n] for n in names])

    controls = widgets.HBox([
        column("inputs", ("x1", "x2")),
        column("hidden layer", ("w1", "w2", "w3", "w4", "b_h1", "b_h2")),
        column("output layer", ("w5", "w6", "w7", "w8", "b_o1", "b_o2")),
    ])
    box = widgets.VBox([controls, reset, output])
    # Handles for tests and for curious students: box.sliders["x1"].value = 0.3
    box.sliders = sliders
    box.output = output
    return box
