"""Tests for course_utils.widgets.ngram (the next-word distribution widget)."""

from __future__ import annotations

import pytest

from course_utils.widgets.ngram import format_distribution, ngram_widget, top_k

VOCAB = ["the", "fluffy", "gray", "cat", "dog"]


def fake_predict(u: str, v: str) -> dict[str, float]:
    """A deterministic toy model: after 'gray' comes 'cat', otherwise uniform."""
    if v == "gray":
        return {"cat": 0.7, "dog": 0.2, "the": 0.1, "fluffy": 0.0, "gray": 0.0}
    return {w: 1 / len(VOCAB) for w in VOCAB}


def test_top_k_orders_by_probability_then_word():
    assert top_k({"b": 0.2, "a": 0.2, "c": 0.6}, 2) == [("c", 0.6), ("a", 0.2)]
    assert len(top_k({"a": 1.0}, 5)) == 1


@pytest.mark.parametrize("dist, k, error", [
    ([("a", 1.0)], 1, TypeError),
    ({"a": 1.0}, 0, ValueError),
    ({"a": -0.1}, 1, ValueError),
    ({"a": float("nan")}, 1, ValueError),
])
def test_top_k_rejects_bad_input(dist, k, error):
    with pytest.raises(error):
        top_k(dist, k)


def test_format_distribution_lists_context_words_and_rest():
    text = format_distribution(("fluffy", "gray"), fake_predict("fluffy", "gray"), k=2)
    assert "p(w | fluffy gray)" in text
    assert "cat" in text and "0.700" in text and "dog" in text
    assert "the</td>" not in text  # only the top 2
    assert "all other words together: 0.100" in text
    assert "&lt;s&gt;" in format_distribution(("<s>", "<s>"), {"the": 1.0})  # escaped


def test_widget_updates_when_a_dropdown_changes():
    box = ngram_widget(fake_predict, VOCAB, context=("the", "fluffy"), k=3)
    assert "cu-ngram-output" in box.output._dom_classes
    assert all("cu-ngram-dropdown" in d._dom_classes for d in box.dropdowns)
    before = box.output.value
    assert "p(w | the fluffy)" in before
    box.dropdowns[1].value = "gray"
    assert box.output.value != before
    assert "p(w | the gray)" in box.output.value and "0.700" in box.output.value


def test_widget_errors():
    with pytest.raises(TypeError, match="predict"):
        ngram_widget("not a function", VOCAB)
    with pytest.raises(ValueError, match="not in vocab"):
        ngram_widget(fake_predict, VOCAB, context=("the", "mouse"))
    with pytest.raises(ValueError, match="empty"):
        ngram_widget(fake_predict, [])
