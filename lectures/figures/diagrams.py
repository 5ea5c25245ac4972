"""The course's diagram kit: every lecture figure is drawn from a small Python source, in one look.

Each figure is one file ``lectures/figures/src/<name>.py`` defining ``draw() -> Diagram``; rendering
it writes ``lectures/figures/<name>.svg``, which the lecture embeds from a markdown cell with a
relative link::

    ![The RNN unrolled over the slides' sentence](figures/unrolled_rnn.svg)

Why this form: a relative image link in a markdown cell is the one embedding that JupyterLab, a
code-hosting site's notebook viewer and a static book (Jupyter Book / mystmd copy linked images)
all show, and the picture stays a reviewable file of its own rather than base64 inside the
notebook's JSON (cell attachments are not shown by every viewer and must be re-pasted after every
change). SVG keeps it sharp at any zoom; the text is stored as outlines (matplotlib's default
``svg.fonttype = "path"``) with matplotlib's bundled DejaVu fonts, so it looks the same with no
font installed, and a fixed hash salt and no date make a render byte-for-byte reproducible:
``tests/test_lectures_figures.py`` re-renders every source and compares.

Regenerate every figure with ``make figures`` (or ``python lectures/figures/diagrams.py NAME ...``).

Drawing one figure (save as ``lectures/figures/src/tiny_cell.py``, then ``make figures``)::

    from diagrams import Diagram

    def draw() -> Diagram:
        d = Diagram(width=4, height=3)                   # drawing units: 1 unit = 1 inch
        d.node("w", (1, 0.6), r"$w_i$", kind="input")
        d.node("h_prev", (0.2, 1.8), r"$h_{i-1}$", kind="hidden")
        d.node("h", (2, 1.8), r"$h_i$", kind="hidden")
        d.node("y", (2, 2.7), r"$\\hat w_{i+1}$", kind="output")
        d.arrow("w", "h", r"$U$")                       # label at the middle of the arrow
        d.arrow("h_prev", "h", r"$W$")
        d.arrow("h", "y", r"$S$")
        d.note((3.2, 1.8), r"$h_i = \\sigma(W h_{i-1} + U w_i)$")
        return d

Kinds (the colour says what a box holds, the same in every lecture): ``input`` (a word vector
``w_i``), ``hidden`` (a hidden state ``h_i``, cell state ``c_i``), ``output`` (a prediction
``ŵ_{i+1}``, logits), ``loss`` (a loss term), ``op`` (a small circle: σ, tanh, +, ×), ``gate``
(an LSTM/GRU gate), ``param`` (a weight matrix drawn as a box), ``plain`` (text in a box).
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Patch

__all__ = ["Diagram", "FIGURES", "SOURCES", "KINDS", "render", "sources"]

FIGURES = Path(__file__).resolve().parent
SOURCES = FIGURES / "src"

INK = "#263238"
ACCENT = "#c62828"     # highlight a path or a term (d.arrow(..., highlight=True))
FONT_SIZE = 12


@dataclass(frozen=True)
class Kind:
    face: str
    edge: str
    shape: str = "box"   # "box" or "circle"


KINDS: dict[str, Kind] = {
    "input": Kind("#e8f5e9", "#2e7d32"),
    "hidden": Kind("#e3f2fd", "#1565c0"),
    "output": Kind("#fff3e0", "#ef6c00"),
    "loss": Kind("#ffebee", "#c62828"),
    "op": Kind("#ffffff", INK, "circle"),
    "gate": Kind("#f3e5f5", "#6a1b9a"),
    "param": Kind("#eceff1", "#455a64"),
    "plain": Kind("#ffffff", INK),
}


class Diagram:
    """A figure in drawing units (inches): nodes, arrows between them, notes and frames.

    Args:
        width, height: the size of the drawing area; (0, 0) is the bottom left corner.
    """

    def __init__(self, width: float, height: float):
        if width <= 0 or height <= 0:
            raise ValueError(f"a diagram needs a positive width and height, got {width} x {height}")
        self.fig = plt.figure(figsize=(width, height))
        self.ax = self.fig.add_axes((0, 0, 1, 1))
        self.ax.set_xlim(0, width)
        self.ax.set_ylim(0, height)
        self.ax.set_aspect("equal")
        self.ax.axis("off")
        self.nodes: dict[str, Patch] = {}

    def node(self, name: str, xy: tuple[float, float], label: str, kind: str = "hidden",
             size: tuple[float, float] | None = None, fontsize: float = FONT_SIZE) -> Patch:
        """Draw a box (or circle for ``op``) centred on ``xy`` with ``label``; arrows refer to ``name``.

        ``size`` is (width, height) of a box, or (diameter, _) of a circle; by default 0.8 x 0.5
        for a box and 0.42 for a circle.
        """
        if name in self.nodes:
            raise ValueError(f"node {name!r} is drawn twice; give each node its own name")
        if kind not in KINDS:
            raise ValueError(f"unknown node kind {kind!r}: expected one of {', '.join(KINDS)}")
        style = KINDS[kind]
        x, y = xy
        if style.shape == "circle":
            d = (size or (0.42, 0.42))[0]
            patch: Patch = Circle((x, y), d / 2, facecolor=style.face, edgecolor=style.edge, lw=1.4, zorder=2)
        else:
            w, h = size or (0.8, 0.5)
            patch = FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0,rounding_size=0.08",
                                   facecolor=style.face, edgecolor=style.edge, lw=1.4, zorder=2)
        self.ax.add_patch(patch)
        self.ax.text(x, y, label, ha="center", va="center", fontsize=fontsize, color=INK, zorder=3)
        self.nodes[name] = patch
        return patch

    def arrow(self, start: str, end: str, label: str | None = None, *, bend: float = 0.0,
              label_pos: float = 0.5, label_offset: tuple[float, float] = (0.0, 0.0),
              highlight: bool = False, dashed: bool = False, fontsize: float = FONT_SIZE - 1) -> None:
        """An arrow from node ``start`` to node ``end``, clipped at their outlines.

        Args:
            label: text written beside the arrow (a weight name such as ``r"$W$"``).
            bend: curvature (0 straight; positive bends to the left of the direction of travel).
            label_pos: where along the straight line between the centres the label sits (0..1).
            label_offset: shift of the label from that point, in drawing units.
            highlight: draw in the accent colour, thicker (a path the text talks about).
            dashed: a dashed arrow (a path that is optional or not taken).
        """
        for name in (start, end):
            if name not in self.nodes:
                raise KeyError(f"arrow {start!r} -> {end!r}: no node named {name!r}; draw it with node() first")
        a, b = self.nodes[start], self.nodes[end]
        color = ACCENT if highlight else INK
        self.ax.add_patch(FancyArrowPatch(
            _centre(a), _centre(b), patchA=a, patchB=b, arrowstyle="-|>", mutation_scale=13,
            connectionstyle=f"arc3,rad={bend}", color=color, lw=2.2 if highlight else 1.3,
            linestyle="--" if dashed else "-", shrinkA=1, shrinkB=1, zorder=1))
        if label:
            (x0, y0), (x1, y1) = _centre(a), _centre(b)
            x = x0 + (x1 - x0) * label_pos + label_offset[0]
            y = y0 + (y1 - y0) * label_pos + label_offset[1]
            self.ax.text(x, y, label, ha="center", va="center", fontsize=fontsize, color=color, zorder=4,
                         bbox=dict(boxstyle="round,pad=0.12", facecolor="white", edgecolor="none"))

    def note(self, xy: tuple[float, float], text: str, *, fontsize: float = FONT_SIZE - 1,
             ha: str = "center", color: str = INK) -> None:
        """Free text (an equation, a word of the sentence, a caption inside the figure)."""
        self.ax.text(xy[0], xy[1], text, ha=ha, va="center", fontsize=fontsize, color=color, zorder=4)

    def frame(self, xy0: tuple[float, float], xy1: tuple[float, float], label: str | None = None,
              *, color: str = "#90a4ae") -> None:
        """A dashed rounded rectangle from corner ``xy0`` to ``xy1`` (a cell, a layer, an encoder)."""
        (x0, y0), (x1, y1) = xy0, xy1
        self.ax.add_patch(FancyBboxPatch((min(x0, x1), min(y0, y1)), abs(x1 - x0), abs(y1 - y0),
                                         boxstyle="round,pad=0,rounding_size=0.12", facecolor="none",
                                         edgecolor=color, lw=1.2, linestyle=(0, (4, 3)), zorder=0))
        if label:
            self.ax.text(min(x0, x1) + 0.08, max(y0, y1) - 0.16, label, ha="left", va="center",
                         fontsize=FONT_SIZE - 2, color="#546e7a", zorder=4)

    def line(self, xy0: tuple[float, float], xy1: tuple[float, float], *, arrow: bool = True,
             highlight: bool = False, dashed: bool = False) -> None:
        """An arrow (or a plain line) between two points rather than two nodes."""
        color = ACCENT if highlight else INK
        self.ax.add_patch(FancyArrowPatch(xy0, xy1, arrowstyle="-|>" if arrow else "-", mutation_scale=13,
                                          color=color, lw=2.2 if highlight else 1.3,
                                          linestyle="--" if dashed else "-", zorder=1))

    def save(self, path: Path) -> Path:
        """Write the SVG (reproducibly: fixed hash salt, no date) and close the figure."""
        with plt.rc_context({"svg.hashsalt": "rnn-course", "svg.fonttype": "path"}):
            self.fig.savefig(path, format="svg", metadata={"Date": None})
        plt.close(self.fig)
        return path


def _centre(patch: Patch) -> tuple[float, float]:
    if isinstance(patch, Circle):
        return patch.center
    assert isinstance(patch, FancyBboxPatch)
    return patch.get_x() + patch.get_width() / 2, patch.get_y() + patch.get_height() / 2


def sources() -> dict[str, Path]:
    """Every figure source, by figure name: ``src/<name>.py`` -> ``<name>``."""
    return {p.stem: p for p in sorted(SOURCES.glob("*.py")) if not p.name.startswith("_")}


def render(name: str, out_dir: Path = FIGURES) -> Path:
    """Run ``src/<name>.py``'s ``draw()`` and write ``<out_dir>/<name>.svg``; return its path."""
    known = sources()
    if name not in known:
        raise KeyError(f"no figure source {SOURCES / (name + '.py')}; known: {', '.join(known) or 'none'}")
    spec = importlib.util.spec_from_file_location(f"figure_{name}", known[name])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    diagram = module.draw()
    if not isinstance(diagram, Diagram):
        raise TypeError(f"{known[name]}: draw() must return a Diagram, got {type(diagram).__name__}")
    return diagram.save(Path(out_dir) / f"{name}.svg")


def main(argv: list[str]) -> int:
    names = argv or list(sources())
    for name in names:
        print(f"figures: {render(name).relative_to(FIGURES.parent.parent)}")
    return 0


if str(FIGURES) not in sys.path:   # figure sources import this module as `diagrams`
    sys.path.insert(0, str(FIGURES))

if __name__ == "__main__":
    import diagrams  # the same module the figure sources import, so Diagram is one class

    sys.exit(diagrams.main(sys.argv[1:]))
