"""Tests for course_utils.widgets.forget_gate (no browser needed)."""

import math

import pytest

from course_utils.widgets.forget_gate import (
    BIAS_CLASS,
    OUTPUT_CLASS,
    STEPS_CLASS,
    forget_gate_widget,
    forget_memory,
    render_forget_memory,
)


def test_bias_zero_halves_the_memory_every_step():
    m = forget_memory(0.0, 3)
    assert m["f"] == pytest.approx(0.5)
    assert m["curve"].tolist() == pytest.approx([1.0, 0.5, 0.25, 0.125])
    assert m["surviving"] == pytest.approx(0.125)
    assert m["half_life"] == pytest.approx(1.0)


def test_bias_one_over_49_steps_matches_sigma_power():
    m = forget_memory(1, 49)
    f = 1 / (1 + math.exp(-1))
    assert m["f"] == pytest.approx(f)
    assert m["surviving"] == pytest.approx(f ** 49, rel=1e-9)
    assert m["half_life"] == pytest.approx(math.log(0.5) / math.log(f))
    assert m["curve"].shape == (50,)


def test_larger_bias_keeps_more():
    kept = [forget_memory(b, 49)["surviving"] for b in (-1.0, 0.0, 1.0, 3.0, 5.0)]
    assert kept == sorted(kept) and kept[0] < 1e-20 and kept[-1] > 0.7


def test_huge_bias_never_loses_half():
    m = forget_memory(50.0, 10)
    assert m["f"] == 1.0 and math.isinf(m["half_life"]) and m["surviving"] == 1.0


BAD_INPUTS = [("1", 5, TypeError), (True, 5, TypeError), (float("nan"), 5, ValueError),
              (1.0, 0, ValueError), (1.0, 2.5, TypeError), (1.0, True, TypeError),
              (float("inf"), 5, ValueError)]


@pytest.mark.parametrize("bias, steps, error", BAD_INPUTS)
def test_bad_inputs_say_what_was_expected(bias, steps, error):
    with pytest.raises(error, match="bias|steps"):
        forget_memory(bias, steps)


def test_render_refuses_a_plot_too_small_to_draw():
    with pytest.raises(ValueError, match="width must be an int >= 61"):
        render_forget_memory(1.0, 5, width=40)
    with pytest.raises(TypeError, match="height must be an int >= 61, got float"):
        render_forget_memory(1.0, 5, height=160.0)


def test_render_shows_the_numbers_and_a_curve():
    out = render_forget_memory(3.0, 49)
    assert OUTPUT_CLASS in out and "<polyline" in out
    assert "0.9526" in out and f"{forget_memory(3.0, 49)['surviving']:.3g}" in out


def test_widget_updates_when_a_slider_moves():
    box = forget_gate_widget(bias=0.0, steps=10)
    bias_slider, steps_slider, out = box.children
    assert BIAS_CLASS in bias_slider._dom_classes and STEPS_CLASS in steps_slider._dom_classes
    assert "0.5000" in out.value
    bias_slider.value = 5.0
    assert "0.9933" in out.value
    steps_slider.value = 49
    assert f"{forget_memory(5.0, 49)['surviving']:.3g}" in out.value
