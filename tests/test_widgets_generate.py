"""Tests for course_utils.widgets.generate (no browser needed)."""

from __future__ import annotations

import pytest
import torch

from course_utils.data import names_vocab
from course_utils.models.chargen import CharGenerator
from course_utils.widgets.generate import (
    OUTPUT_CLASS,
    START_CLASS,
    TEMPERATURE_CLASS,
    generate_names,
    generate_widget,
    render_generated,
)

LANGUAGES = ["English", "Italian", "Polish"]


@pytest.fixture(scope="module")
def vocab():
    return names_vocab()


@pytest.fixture
def model(vocab):
    """A fresh seeded model for every test, so a test may change its weights freely."""
    torch.manual_seed(0)
    return CharGenerator(len(vocab), 16, n_categories=len(LANGUAGES), embedding_dim=8, category_dim=4)


def test_generate_names_is_repeatable_and_uses_the_start(model, vocab):
    a = generate_names(model, vocab, LANGUAGES, "Italian", "Ro", 1.0, n=4, seed=3)
    b = generate_names(model, vocab, LANGUAGES, "Italian", "Ro", 1.0, n=4, seed=3)
    assert a == b and len(a) == 4
    assert all(name.startswith("Ro") for name in a)
    assert all(set(name) <= set(vocab.itos) for name in a)


def test_seed_and_temperature_change_the_names(model, vocab):
    base = generate_names(model, vocab, LANGUAGES, "Polish", "", 1.5, n=5, seed=0)
    assert generate_names(model, vocab, LANGUAGES, "Polish", "", 1.5, n=5, seed=1) != base
    greedy = generate_names(model, vocab, LANGUAGES, "Polish", "", 0.0, n=3, seed=0)
    assert len(set(greedy)) == 1  # temperature 0: every draw is the same arg-max name


def test_language_conditions_the_greedy_name(model, vocab):
    with torch.no_grad():  # make the category embedding matter a lot (this test's own model)
        model.category_embed.weight.mul_(50)
    greedy = {lang: generate_names(model, vocab, LANGUAGES, lang, "", 0.0, n=1)[0] for lang in LANGUAGES}
    assert len(set(greedy.values())) > 1


def test_generate_names_errors(model, vocab):
    with pytest.raises(ValueError, match="unknown language"):
        generate_names(model, vocab, LANGUAGES, "Klingon")
    with pytest.raises(ValueError, match="never seen '7'"):
        generate_names(model, vocab, LANGUAGES, "English", "A7")
    with pytest.raises(ValueError, match="temperature"):
        generate_names(model, vocab, LANGUAGES, "English", "", -1.0)
    with pytest.raises(ValueError, match="n must be"):
        generate_names(model, vocab, LANGUAGES, "English", n=0)
    with pytest.raises(ValueError, match="conditioned on 3 categories but 2"):
        generate_names(model, vocab, LANGUAGES[:2], "English")
    with pytest.raises(TypeError, match="CharGenerator"):
        generate_names(object(), vocab, LANGUAGES, "English")  # type: ignore[arg-type]  (the wrong type is the test)


def test_render_lists_names_and_turns_errors_into_text(model, vocab):
    out = render_generated(model, vocab, LANGUAGES, "English", "Ma", 0.5, n=3, seed=0)
    assert out.count("<li>") == 3 and "English" in out and "0.50" in out
    assert out != render_generated(model, vocab, LANGUAGES, "English", "Zu", 0.5, n=3, seed=0)
    bad = render_generated(model, vocab, LANGUAGES, "English", "M4", 0.5)
    assert "never seen" in bad and "<li>" not in bad


def test_widget_controls_update_the_output(model, vocab):
    box = generate_widget(model, vocab, LANGUAGES, language="Italian", temperature=1.0)
    controls, out = box.children
    pick, letters, temp, again = controls.children
    assert OUTPUT_CLASS in out._dom_classes
    assert START_CLASS in letters._dom_classes and TEMPERATURE_CLASS in temp._dom_classes
    first = out.value
    assert "Italian" in first and first.count("<li>") == 5
    letters.value = "Bo"
    assert out.value != first and "&#x27;Bo&#x27;" in out.value
    typed = out.value
    temp.value = 0.0
    assert out.value != typed
    pick.value = "Polish"
    assert "Polish" in out.value
    temp.value = 1.5
    shown = out.value
    again.click()
    assert out.value != shown  # a new seed draws new names


def test_widget_rejects_unknown_start_language(model, vocab):
    with pytest.raises(ValueError, match="unknown language"):
        generate_widget(model, vocab, LANGUAGES, language="Klingon")
