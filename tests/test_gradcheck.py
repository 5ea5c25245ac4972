"""course_utils.gradcheck against functions whose gradients are known in closed form."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils.gradcheck import compare_gradients, numeric_gradient, numeric_gradient_array, rel_error


def test_numeric_gradient_of_a_quadratic_numpy() -> None:
    rng = np.random.default_rng(0)
    A = rng.standard_normal((4, 4))
    x = rng.standard_normal(4)
    x_before = x.copy()
    grad = numeric_gradient(lambda: x @ A @ x, x)
    assert rel_error(grad, (A + A.T) @ x) < 1e-8
    np.testing.assert_array_equal(x, x_before)  # restored after perturbation


def test_numeric_gradient_matches_autograd_for_a_tensor() -> None:
    torch.manual_seed(0)
    W = torch.randn(3, 5, dtype=torch.float64)
    x = torch.randn(5, dtype=torch.float64)

    def loss() -> torch.Tensor:
        return torch.sigmoid(W @ x).log().sum()

    Wg = W.clone().requires_grad_(True)
    torch.sigmoid(Wg @ x).log().sum().backward()
    numeric = numeric_gradient(loss, W)
    assert isinstance(numeric, torch.Tensor) and numeric.shape == W.shape
    assert rel_error(numeric, Wg.grad) < 1e-7


def test_numeric_gradient_array_with_upstream_gradient() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3))
    dout = rng.standard_normal((2, 3))
    dx = numeric_gradient_array(lambda: np.tanh(x), x, dout)
    assert rel_error(dx, dout * (1 - np.tanh(x) ** 2)) < 1e-8


def test_non_scalar_function_is_rejected_with_advice() -> None:
    x = np.zeros(3)
    with pytest.raises(ValueError, match=r"f must return a scalar, got an array of shape \(3,\)"):
        numeric_gradient(lambda: x * 2, x)
    t = torch.zeros(2, dtype=torch.float64)
    with pytest.raises(ValueError, match="numeric_gradient_array"):
        numeric_gradient(lambda: t * 2, t)


def test_integer_input_is_a_type_error() -> None:
    x = np.arange(3)
    with pytest.raises(TypeError, match="floating dtype"):
        numeric_gradient(lambda: float(x.sum()), x)


def test_wrong_upstream_shape_is_explained() -> None:
    x = np.ones(3)
    with pytest.raises(ValueError, match=r"f\(\) returned shape \(3,\) but dout has shape \(2,\)"):
        numeric_gradient_array(lambda: x * 1.0, x, np.ones(2))


def test_rel_error_definition() -> None:
    a = np.array([1.0, 2.0, 0.0])
    b = np.array([1.0, 2.2, 0.0])
    assert rel_error(a, b) == pytest.approx(0.2 / 4.2)
    assert rel_error(a, a) == 0.0
    with pytest.raises(ValueError, match="same shape"):
        rel_error(a, b[:2])
    with pytest.raises(TypeError, match="numpy.ndarray or torch.Tensor"):
        rel_error([1.0], a)


def test_compare_gradients_report_has_one_line_per_tensor() -> None:
    exact = np.ones((2, 2))
    report = compare_gradients({"dW": (exact, exact.copy()), "db": (np.zeros(3), np.full(3, 1e-3))})
    lines = report.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("dW") and "exact: True" in lines[0]
    assert "exact: False" in lines[1] and "allclose: False" in lines[1] and "maxdiff: 1.0e-03" in lines[1]


def test_compare_gradients_rejects_bad_input() -> None:
    with pytest.raises(TypeError, match="non-empty mapping"):
        compare_gradients({})
    with pytest.raises(ValueError, match="same shape"):
        compare_gradients({"dW": (np.ones(2), np.ones(3))})
