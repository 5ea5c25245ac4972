"""Tests for course_utils._validate: the library's argument checks."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils._validate import require_int, require_real


@pytest.mark.parametrize(("kwargs", "value"),
                         [({}, -3), ({"low": 1}, 1), ({"low": 0, "high": 2}, 2), ({"high": 5}, -9)])
def test_require_int_returns_the_value(kwargs: dict, value: int) -> None:
    assert require_int(value, "n", **kwargs) == value


@pytest.mark.parametrize(("value", "kwargs", "error", "message"), [
    (0, {"low": 1}, ValueError, "batch_size must be a positive int, got 0"),
    (-1, {"low": 0}, ValueError, "batch_size must be a non-negative int, got -1"),
    (1, {"low": 2}, ValueError, r"batch_size must be an int >= 2, got 1"),
    (3, {"low": 0, "high": 2}, ValueError, r"batch_size must be an int in \[0, 2\], got 3"),
    (6, {"high": 5}, ValueError, "batch_size must be an int <= 5, got 6"),
    (2.0, {"low": 1}, TypeError, "batch_size must be a positive int, got float 2.0"),
    (True, {}, TypeError, "batch_size must be an int, got bool True"),  # bool is an int subclass: refused
    ("3", {}, TypeError, "got str '3'"),
    (np.int64(3), {}, TypeError, "got int64"),  # a NumPy scalar is not a Python int: say so
])
def test_require_int_says_what_was_expected_and_what_came(value, kwargs, error, message) -> None:
    with pytest.raises(error, match=message):
        require_int(value, "batch_size", **kwargs)


@pytest.mark.parametrize(("value", "kwargs", "expected"), [
    (2, {}, 2.0), (-0.5, {}, -0.5), (np.float32(0.25), {}, 0.25), (1e-9, {"positive": True}, 1e-9),
])
def test_require_real_returns_a_float(value, kwargs: dict, expected: float) -> None:
    got = require_real(value, "x", **kwargs)
    assert type(got) is float and got == expected


@pytest.mark.parametrize(("value", "kwargs", "error", "message"), [
    ("0.1", {}, TypeError, r"bias must be a real number \(int or float\), got str '0.1'"),
    (True, {}, TypeError, "got bool True"),  # bool is an int subclass: refused
    (None, {"positive": True}, TypeError, "bias must be a positive number, got NoneType None"),
    (float("nan"), {}, ValueError, "bias must be finite, got nan"),
    (float("-inf"), {}, ValueError, "bias must be finite, got -inf"),
    (0, {"positive": True}, ValueError, "bias must be a positive number, got 0"),
    (-2.5, {"positive": True}, ValueError, "bias must be a positive number, got -2.5"),
])
def test_require_real_says_what_was_expected_and_what_came(value, kwargs, error, message) -> None:
    with pytest.raises(error, match=message):
        require_real(value, "bias", **kwargs)
