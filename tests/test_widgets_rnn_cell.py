"""Tests for course_utils.widgets.rnn_cell (no browser needed)."""

import numpy as np
import pytest
import torch

from course_utils.widgets.rnn_cell import OUTPUT_CLASS, SLIDER_CLASS, render_rnn_step, rnn_cell_widget, rnn_step_summary

TOKENS = ["BOS", "The", "cat"]
VOCAB = ["The", "cat", "dog", "EOS"]
HIDDEN = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
PROBS = np.array(
    [
        [0.7, 0.1, 0.1, 0.1],  # after BOS: "The" most likely
        [0.05, 0.5, 0.4, 0.05],  # after The: cat
        [0.1, 0.1, 0.1, 0.7],  # after cat: EOS
    ]
)


def test_summary_picks_row_t_and_sorts_top_words():
    s = rnn_step_summary(TOKENS, HIDDEN, PROBS, VOCAB, t=2, top_k=2)
    assert s["t"] == 2
    assert s["read"] == ["BOS", "The"]
    assert s["input"] == "The"
    assert s["h"] == pytest.approx([0.3, 0.4])
    assert s["top"] == [("cat", pytest.approx(0.5)), ("dog", pytest.approx(0.4))]
    assert s["target"] == "cat"
    assert s["target_prob"] == pytest.approx(0.5)


def test_summary_last_step_has_no_target_and_top_k_is_capped():
    s = rnn_step_summary(TOKENS, HIDDEN, PROBS, VOCAB, t=3, top_k=10)
    assert s["target"] is None and s["target_prob"] is None
    assert len(s["top"]) == len(VOCAB)
    assert s["top"][0][0] == "EOS"


def test_summary_accepts_torch_tensors():
    s = rnn_step_summary(TOKENS, torch.tensor(HIDDEN), torch.tensor(PROBS), VOCAB, t=1)
    assert s["top"][0] == ("The", pytest.approx(0.7))


def test_render_changes_with_t_and_shows_values():
    one = render_rnn_step(TOKENS, HIDDEN, PROBS, VOCAB, t=1)
    two = render_rnn_step(TOKENS, HIDDEN, PROBS, VOCAB, t=2)
    assert one != two
    assert "0.300" in two and "0.400" in two  # h_2
    assert "actual next word: cat, p = 0.500" in two
    assert "nothing left to predict" in render_rnn_step(TOKENS, HIDDEN, PROBS, VOCAB, t=3)


def test_render_escapes_html():
    html = render_rnn_step(["<b>"], HIDDEN[:1], PROBS[:1], VOCAB, t=1)
    assert "&lt;b&gt;" in html


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(t=0), ValueError),
        (dict(t=4), ValueError),
        (dict(t=1.0), TypeError),
        (dict(t=1, top_k=0), ValueError),
        (dict(t=1, top_k=2.0), TypeError),
        (dict(t=True), TypeError),
        (dict(t=1, hidden=HIDDEN[:2]), ValueError),
        (dict(t=1, probs=PROBS[:, :3]), ValueError),
        (dict(t=1, probs=PROBS * 2), ValueError),
        (dict(t=1, hidden=HIDDEN[0]), ValueError),
        (dict(t=1, tokens="BOS The cat"), TypeError),
    ],
)
def test_bad_inputs_raise_clear_errors(kwargs, error):
    args = dict(tokens=TOKENS, hidden=HIDDEN, probs=PROBS, vocab=VOCAB)
    args.update(kwargs)
    with pytest.raises(error):
        rnn_step_summary(**args)


def test_widget_slider_updates_output():
    box = rnn_cell_widget(TOKENS, HIDDEN, PROBS, VOCAB)
    slider, out = box.children
    assert OUTPUT_CLASS in out._dom_classes and SLIDER_CLASS in slider._dom_classes
    assert (slider.min, slider.max, slider.value) == (1, 3, 1)
    before = out.value
    slider.value = 2
    assert out.value != before
    assert out.value == render_rnn_step(TOKENS, HIDDEN, PROBS, VOCAB, t=2)


def test_explicit_targets_give_a_target_at_the_last_step():
    targets = ["The", "cat", "EOS"]
    s = rnn_step_summary(TOKENS, HIDDEN, PROBS, VOCAB, t=3, targets=targets)
    assert s["target"] == "EOS" and s["target_prob"] == pytest.approx(0.7)
    html = render_rnn_step(TOKENS, HIDDEN, PROBS, VOCAB, t=3, targets=targets)
    assert "actual next word: EOS, p = 0.700" in html
    with pytest.raises(ValueError, match="one entry per token"):
        rnn_step_summary(TOKENS, HIDDEN, PROBS, VOCAB, t=1, targets=["The"])


def test_target_outside_vocab_is_reported():
    s = rnn_step_summary(TOKENS, HIDDEN, PROBS, VOCAB, t=1, targets=["zebra", "cat", "EOS"])
    assert s["target"] == "zebra" and s["target_prob"] is None
    shown = render_rnn_step(TOKENS, HIDDEN, PROBS, VOCAB, t=1, targets=["zebra", "cat", "EOS"])
    assert "not in the vocabulary" in shown
