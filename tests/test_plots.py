"""course_utils.plots: each figure draws what it says, with labels, and rejects bad input."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from course_utils.plots import plot_confusion_matrix, plot_grad_norms, plot_heatmap, plot_losses
from course_utils.training import History


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_plot_losses_from_history_and_dict() -> None:
    history = History([{"epoch": 1, "train_loss": 2.0, "val_loss": 2.5},
                       {"epoch": 2, "train_loss": 1.0, "val_loss": 1.5}])
    ax = plot_losses(history)
    assert sorted(line.get_label() for line in ax.lines) == ["train_loss", "val_loss"]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [2.0, 1.0])
    with pytest.raises(ValueError, match="no key ending in 'loss'"):
        plot_losses({"accuracy": [0.1]})
    with pytest.raises(TypeError, match="History or a mapping"):
        plot_losses([1.0, 2.0])


def test_heatmap_labels_both_axes() -> None:
    ax = plot_heatmap(torch.rand(2, 3), ["je", "suis", "<eos>"], ["i", "am"], title="attention")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["je", "suis", "<eos>"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["i", "am"]
    with pytest.raises(ValueError, match=r"expected \(2 y_labels, 2 x_labels\)"):
        plot_heatmap(np.zeros((2, 3)), ["a", "b"], ["c", "d"])
    with pytest.raises(ValueError, match="2-D matrix"):
        plot_heatmap(np.zeros(3), ["a"], ["b"])


def test_confusion_matrix_normalises_rows() -> None:
    cm = np.array([[3, 1], [0, 0]])
    ax = plot_confusion_matrix(cm, ["English", "French"])
    image = ax.images[0].get_array()
    np.testing.assert_allclose(image, [[0.75, 0.25], [0.0, 0.0]])
    assert ax.get_xlabel() == "predicted" and ax.get_ylabel() == "true"
    with pytest.raises(ValueError, match="one row per label"):
        plot_confusion_matrix(cm, ["only one"])


def test_grad_norms_log_scale_and_one_line_each() -> None:
    ax = plot_grad_norms({"rho=0.5": [1.0, 0.5, 0.25], "rho=1.5": [1.0, 1.5, 2.25]})
    assert ax.get_yscale() == "log" and len(ax.lines) == 2
    with pytest.raises(TypeError, match="non-empty mapping"):
        plot_grad_norms({})
    with pytest.raises(ValueError, match="non-empty 1-D"):
        plot_grad_norms({"x": []})
