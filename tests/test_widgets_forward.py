"""Tests for course_utils.widgets.forward (the forward-propagation widget)."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from course_utils.widgets.forward import (
    PARAMETER_NAMES,
    SLIDE_EXAMPLE,
    format_forward_html,
    forward_values,
    forward_widget,
    sigmoid,
)


def test_slide_example_gives_the_slides_weighted_sums_exactly():
    p = {k: Fraction(str(v)) for k, v in SLIDE_EXAMPLE.items()}
    assert p["w1"] * p["x1"] + p["w2"] * p["x2"] + p["b_h1"] == Fraction("-0.3225")
    assert p["w3"] * p["x1"] + p["w4"] * p["x2"] + p["b_h2"] == Fraction("-0.3075")


def test_forward_values_defaults_match_hand_computation():
    v = forward_values()
    assert v["in_h1"] == pytest.approx(-0.3225, abs=1e-15)
    assert v["in_h2"] == pytest.approx(-0.3075, abs=1e-15)
    # True sigmoid values (the slides print .4188 for out_h1, which is wrong).
    assert v["out_h1"] == pytest.approx(1 / (1 + math.exp(0.3225)), abs=1e-15)
    assert round(v["out_h1"], 4) == 0.4201
    assert round(v["out_h2"], 4) == 0.4237
    in_o1 = 0.40 * v["out_h1"] + 0.45 * v["out_h2"] + 0.60
    assert v["in_o1"] == pytest.approx(in_o1, abs=1e-15)
    assert v["out_o2"] == pytest.approx(sigmoid(0.50 * v["out_h1"] + 0.55 * v["out_h2"] + 0.60), abs=1e-15)


def test_forward_values_keys_and_zero_network():
    v = forward_values(**{k: 0.0 for k in PARAMETER_NAMES})
    assert set(v) == {"in_h1", "in_h2", "out_h1", "out_h2", "in_o1", "in_o2", "out_o1", "out_o2"}
    assert v["in_h1"] == 0.0 and v["out_h1"] == 0.5 and v["out_o2"] == 0.5


def test_sigmoid_is_stable_and_symmetric():
    assert sigmoid(0.0) == 0.5
    assert sigmoid(-1000.0) == 0.0 and sigmoid(1000.0) == 1.0
    for x in (-3.0, -0.3225, 0.7):
        assert sigmoid(x) + sigmoid(-x) == pytest.approx(1.0, abs=1e-15)


@pytest.mark.parametrize("bad, error", [("0.1", TypeError), (True, TypeError), (float("nan"), ValueError)])
def test_forward_values_rejects_bad_input(bad, error):
    with pytest.raises(error, match="x1"):
        forward_values(x1=bad)


def test_format_forward_html_shows_every_value_and_the_working():
    params = dict(SLIDE_EXAMPLE)
    html = format_forward_html(forward_values(**params), params)
    for name in ("in_h1", "in_h2", "out_h1", "out_h2", "in_o1", "in_o2", "out_o1", "out_o2"):
        assert name in html
    assert "-0.3225" in html and "-0.3075" in html
    assert "0.4201" in html and "0.4237" in html
    assert "(0.1500)(0.0500)" in html  # w1 * x1 written out
    assert "(0.1500)" not in format_forward_html(forward_values(**params))  # no params, no working
    assert "-0.322500" in format_forward_html(forward_values(**params), digits=6)


def test_format_forward_html_errors():
    with pytest.raises(ValueError, match="missing"):
        format_forward_html({"in_h1": 0.0})
    with pytest.raises(ValueError, match="digits"):
        format_forward_html(forward_values(), digits=0)
    with pytest.raises(ValueError, match="params is missing"):
        format_forward_html(forward_values(), {"x1": 0.1})


def test_widget_updates_when_a_slider_moves():
    box = forward_widget()
    output = box.output
    assert "cu-forward-output" in output._dom_classes
    assert len(box.sliders) == len(PARAMETER_NAMES)
    assert all("cu-forward-slider" in s._dom_classes for s in box.sliders.values())
    assert list(box.sliders)[0] == "x1"
    before = output.value
    assert "-0.3225" in before
    box.sliders["x1"].value = 0.06  # one step of the first slider
    assert output.value != before
    assert "-0.3210" in output.value  # 0.15 * 0.06 + 0.20 * 0.10 - 0.35


def test_widget_reset_and_overrides():
    box = forward_widget(w1=0.5)
    assert box.sliders["w1"].value == 0.5
    reset = box.children[1]
    reset.click()
    assert box.sliders["w1"].value == SLIDE_EXAMPLE["w1"]
    assert "-0.3225" in box.output.value
    with pytest.raises(ValueError, match="unknown parameter"):
        forward_widget(w9=0.1)
