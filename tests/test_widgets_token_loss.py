"""Tests for course_utils.widgets.token_loss (no browser needed)."""

import math

import numpy as np
import pytest

from course_utils.widgets.token_loss import (
    OUTPUT_CLASS,
    SLIDER_CLASS,
    render_token_loss,
    token_loss_summary,
    token_loss_widget,
)

TOKENS = ["The", "cat", "EOS"]
PROBS = [0.5, 0.25, 0.125]


def test_summary_values():
    s = token_loss_summary(TOKENS, PROBS)
    # log .5 + log .25 + log .125 = -(1 + 2 + 3) log 2
    assert s["sum_log"] == pytest.approx(-6 * math.log(2))
    assert s["mean_nll"] == pytest.approx(2 * math.log(2))
    assert s["perplexity"] == pytest.approx(4.0)  # geometric mean of 1/p = (2*4*8)^(1/3)
    assert s["nll"] == pytest.approx([math.log(2), 2 * math.log(2), 3 * math.log(2)])
    assert s["n"] == 3


def test_perfect_model_has_zero_loss_and_perplexity_one():
    s = token_loss_summary(TOKENS, [1.0, 1.0, 1.0])
    assert s["mean_nll"] == 0.0 and s["perplexity"] == 1.0


def test_uniform_model_perplexity_is_vocab_size():
    s = token_loss_summary(["a"] * 5, [1 / 7] * 5)
    assert s["perplexity"] == pytest.approx(7.0)


def test_accepts_numpy():
    s = token_loss_summary(TOKENS, np.array(PROBS))
    assert s["perplexity"] == pytest.approx(4.0)


def test_render_shows_totals():
    html = render_token_loss(TOKENS, PROBS)
    assert "perplexity = exp(loss) = 4.0000" in html
    assert f"{2 * math.log(2):.4f}" in html
    assert render_token_loss(TOKENS, [0.5, 0.5, 0.5]) != html


@pytest.mark.parametrize(
    "tokens, probs, error",
    [
        (TOKENS, [0.5, 0.0, 0.1], ValueError),
        (TOKENS, [0.5, 1.2, 0.1], ValueError),
        (TOKENS, [0.5, 0.1], ValueError),
        ([], [], ValueError),
        ("The cat", [0.5, 0.5], TypeError),
        (TOKENS, ["a", "b", "c"], TypeError),
    ],
)
def test_bad_inputs(tokens, probs, error):
    with pytest.raises(error):
        token_loss_summary(tokens, probs)


def test_widget_sliders_move_the_output():
    box = token_loss_widget(TOKENS, PROBS)
    sliders_box, out = box.children
    assert OUTPUT_CLASS in out._dom_classes
    sliders = sliders_box.children
    assert all(SLIDER_CLASS in s._dom_classes for s in sliders)
    assert len(sliders) == 3
    assert [s.value for s in sliders] == pytest.approx(PROBS)
    before = out.value
    sliders[1].value = 1.0
    assert out.value != before
    assert out.value == render_token_loss(TOKENS, [0.5, 1.0, 0.125])


def test_widget_rejects_bad_min_prob():
    with pytest.raises(ValueError):
        token_loss_widget(TOKENS, PROBS, min_prob=0.0)
