"""The course's four kinds of figure, drawn with matplotlib.

Each function draws on ``ax`` (a new figure when None) and returns the Axes,
so notebooks can combine them in subplots.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes

from course_utils._validate import describe

__all__ = ["plot_confusion_matrix", "plot_grad_norms", "plot_heatmap", "plot_losses"]


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _matrix(m: object, name: str) -> np.ndarray:
    if isinstance(m, torch.Tensor):
        m = m.detach().cpu().numpy()
    arr = np.asarray(m, dtype=float)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix, got shape {arr.shape} from {describe(m)}")
    return arr


def plot_losses(
    history: object, ax: Axes | None = None, *, keys: Sequence[str] | None = None, title: str = "Loss"
) -> Axes:
    """Loss curves against epoch (or update).

    Args:
        history: a :class:`course_utils.training.History`, or a mapping
            ``{"train_loss": [...], "val_loss": [...]}`` of equal-length sequences.
        keys: which series to draw; default every key ending in ``loss``.
    """
    series = history.as_dict() if hasattr(history, "as_dict") else history
    if not isinstance(series, Mapping):
        raise TypeError(f"history must be a History or a mapping name -> values, got {describe(history)}")
    keys = list(keys) if keys is not None else [k for k in series if str(k).endswith("loss")]
    if not keys:
        raise ValueError(f"nothing to plot: no key ending in 'loss' among {list(series)}")
    ax = _axes(ax, (6, 4))
    for k in keys:
        values = list(series[k])
        ax.plot(range(1, len(values) + 1), values, marker="o" if len(values) < 30 else None, label=k)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def plot_heatmap(
    matrix: object,
    x_labels: Sequence[str],
    y_labels: Sequence[str],
    ax: Axes | None = None,
    *,
    title: str | None = None,
    cmap: str = "viridis",
    annotate: bool = False,
    xlabel: str | None = None,
    ylabel: str | None = None,
) -> Axes:
    """A labelled heatmap, e.g. attention weights ``[target len, source len]``.

    Args:
        matrix: 2-D array/tensor of shape ``[len(y_labels), len(x_labels)]``.
        x_labels: one label per column (e.g. source tokens).
        y_labels: one label per row (e.g. generated tokens).
        annotate: write each value in its cell.
    """
    m = _matrix(matrix, "matrix")
    if m.shape != (len(y_labels), len(x_labels)):
        raise ValueError(
            f"matrix shape {m.shape} does not match the labels: expected "
            f"({len(y_labels)} y_labels, {len(x_labels)} x_labels)"
        )
    ax = _axes(ax, (max(4.0, 0.6 * m.shape[1] + 2), max(3.0, 0.5 * m.shape[0] + 1.5)))
    image = ax.imshow(m, cmap=cmap, aspect="auto")
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(len(x_labels)), [str(s) for s in x_labels], rotation=45, ha="right")
    ax.set_yticks(range(len(y_labels)), [str(s) for s in y_labels])
    if annotate:
        threshold = (np.nanmax(m) + np.nanmin(m)) / 2
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center",
                        color="black" if m[i, j] > threshold else "white", fontsize=8)
    if title:
        ax.set_title(title)
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    return ax


def plot_confusion_matrix(
    cm: object,
    labels: Sequence[str],
    ax: Axes | None = None,
    *,
    normalize: bool = True,
    title: str = "Confusion matrix",
) -> Axes:
    """A confusion matrix with true classes as rows and predicted classes as columns.

    Args:
        cm: counts of shape ``[n_classes, n_classes]``; ``cm[i, j]`` = true ``i`` predicted ``j``.
        labels: the class names, in index order.
        normalize: divide each row by its total (rows with no examples stay 0).
    """
    m = _matrix(cm, "cm")
    if m.shape[0] != m.shape[1] or m.shape[0] != len(labels):
        raise ValueError(f"cm must be square with one row per label ({len(labels)}), got shape {m.shape}")
    if normalize:
        totals = m.sum(axis=1, keepdims=True)
        m = np.divide(m, totals, out=np.zeros_like(m), where=totals > 0)
    ax = plot_heatmap(m, labels, labels, ax, title=title, cmap="Blues",
                      annotate=len(labels) <= 20, xlabel="predicted", ylabel="true")
    return ax


def plot_grad_norms(
    norms: Mapping[str, Sequence[float]],
    ax: Axes | None = None,
    *,
    log: bool = True,
    title: str = r"$\|\partial L / \partial h_t\|$ against time step",
) -> Axes:
    """Gradient norm against time step, one line per setting.

    Args:
        norms: ``{label: [norm at t=1, t=2, ...]}``, e.g. one entry per spectral radius or cell type.
        log: logarithmic y axis (vanishing/exploding gradients are exponential in t).
    """
    if not isinstance(norms, Mapping) or not norms:
        raise TypeError(f"norms must be a non-empty mapping label -> sequence, got {describe(norms)}")
    ax = _axes(ax, (6, 4))
    for label, values in norms.items():
        v = np.asarray([float(x) for x in values])
        if v.ndim != 1 or v.size == 0:
            raise ValueError(f"norms[{label!r}] must be a non-empty 1-D sequence, got shape {v.shape}")
        ax.plot(range(1, v.size + 1), v, label=str(label))
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("time step t")
    ax.set_ylabel("gradient norm")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    return ax
