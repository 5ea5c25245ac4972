"""course_utils.widgets.spectral: gradient norms over time against the spectral radius."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.widgets.spectral import gradient_norms, render_gradient_norms, spectral_widget


def test_shape_and_last_step_is_the_loss_vector() -> None:
    norms = gradient_norms(1.0, steps=10, hidden=6, input_dim=3, seed=1)
    assert norms.shape == (10,) and np.all(norms > 0)


def test_tanh_vanishes_below_one_and_explodes_above() -> None:
    ratio = {r: (lambda n: n[0] / n[-1])(gradient_norms(r, "tanh")) for r in (0.9, 1.0, 1.5)}
    assert ratio[0.9] < 0.1 and 0.2 < ratio[1.0] < 5 and ratio[1.5] > 100


def test_sigmoid_vanishes_even_at_radius_two() -> None:
    n = gradient_norms(2.0, "sigmoid")
    assert n[0] / n[-1] < 1e-6


def test_matches_autograd() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((32, 32)))
    U = 0.01 * rng.standard_normal((32, 8))
    w_seq, v = rng.standard_normal((40, 8)), rng.standard_normal(32)
    W = torch.tensor(1.2 * Q)
    h = torch.zeros(32, dtype=torch.float64, requires_grad=True)
    states = []
    for t in range(40):
        h = torch.tanh(W @ h + torch.tensor(U @ w_seq[t]))
        h.retain_grad()
        states.append(h)
    (torch.tensor(v) @ states[-1]).backward()
    np.testing.assert_allclose(gradient_norms(1.2, "tanh"), [s.grad.norm().item() for s in states], rtol=1e-10)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"radius": 0}, ValueError, "radius .* must be a positive number, got 0"),
    ({"radius": "1"}, TypeError, "radius .* must be a positive number, got str"),
    ({"radius": 1, "nonlinearity": "relu"}, ValueError, "one of"),
    ({"radius": 1, "steps": 0}, ValueError, "steps must be a positive int, got 0"),
    ({"radius": 1, "steps": 2.5}, TypeError, "steps must be a positive int, got float 2.5"),
    ({"radius": 1, "hidden": True}, TypeError, "hidden must be a positive int, got bool"),
    ({"radius": 1, "seed": -1}, ValueError, "seed must be a non-negative int"),
])
def test_errors_say_what_was_expected(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        gradient_norms(**kwargs)


def test_widget_checks_its_arguments_before_drawing() -> None:
    with pytest.raises(TypeError, match="steps must be a positive int, got float"):
        spectral_widget(steps=40.0)
    with pytest.raises(ValueError, match="one of"):
        spectral_widget(nonlinearity="relu")


def test_render_and_widget() -> None:
    import matplotlib.pyplot as plt

    ax = render_gradient_norms(gradient_norms(1.1), 1.1, "tanh")
    assert "ρ(W) = 1.10" in ax.get_title()
    plt.close("all")
    box = spectral_widget(radius=0.9)
    slider, menu = box.children[0].children
    assert slider.value == 0.9 and menu.value == "tanh"
    slider.value = 2.0   # redraws without error
    assert "cu-spectral-output" in box.children[1]._dom_classes
    plt.close("all")
