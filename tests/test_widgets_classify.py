"""Tests for course_utils.widgets.classify: the pure HTML function and the widget wiring."""

from __future__ import annotations

import re

import pytest
import torch

from course_utils.data import names_vocab
from course_utils.models.charrnn import CharRNNClassifier
from course_utils.widgets.classify import (
    INPUT_CLASS,
    OUTPUT_CLASS,
    classify_html,
    classify_widget,
    split_known,
)

VOCAB = names_vocab()
LANGS = ["Czech", "German", "Irish", "Japanese"]


@pytest.fixture(scope="module")
def model() -> CharRNNClassifier:
    torch.manual_seed(0)
    return CharRNNClassifier(len(VOCAB), len(LANGS), hidden_size=8, embedding_dim=4).eval()


def probabilities(html: str) -> list[float]:
    return [float(p) for p in re.findall(r"monospace'>([0-9.]+)<", html)]


def test_split_known() -> None:
    assert split_known("  Nakamura ", VOCAB) == ("Nakamura", [])
    assert split_known("Müller", VOCAB) == ("Muller", [])  # accents folded as in the data
    assert split_known("Gauß 2ß", VOCAB) == ("Gauss ss", ["2"])  # ß -> ss, as the data folds it


def test_folding_is_the_names_datas() -> None:
    from course_utils.data import fold_name

    assert split_known("Michałowski", VOCAB) == ("Michalowski", [])  # not "Michaowski"
    assert split_known("Иванов", VOCAB) == ("Ivanov", [])            # transliterated, not rejected
    assert split_known("Παπαδόπουλος", VOCAB) == (fold_name("Παπαδόπουλος"), [])
    assert split_known("R2-D2", VOCAB) == ("RD", ["2", "-"])
    for name in ["Ślusàrski", "Dvořák", "Ó Briain", "Smirnov"]:
        assert split_known(name, VOCAB)[0] == fold_name(name)
    with pytest.raises(TypeError):
        split_known(None, VOCAB)


def test_top3_with_probabilities(model) -> None:
    html = classify_html("Nakamura", model, VOCAB, LANGS, k=3)
    shown = [lang for lang in LANGS if lang in html]
    assert len(shown) == 3
    probs = probabilities(html)
    assert len(probs) == 3 and probs == sorted(probs, reverse=True)
    assert 0 < sum(probs) <= 1.0 + 1e-3
    assert "Nakamura" in html and "Unknown" not in html


def test_output_changes_with_text(model) -> None:
    assert classify_html("Nakamura", model, VOCAB, LANGS) != classify_html("Smith", model, VOCAB, LANGS)


def test_unknown_characters_are_named_and_ignored(model) -> None:
    html = classify_html("Gau3", model, VOCAB, LANGS)
    assert "Unknown characters ignored" in html and "<code>3</code>" in html
    assert html.count("<tr>") == 3 and "<b>Gau</b>" in html  # still classified, on "Gau"
    only_unknown = classify_html("123", model, VOCAB, LANGS)
    assert "Unknown characters ignored" in only_unknown and "<table>" not in only_unknown


def test_empty_text_asks_for_a_name(model) -> None:
    html = classify_html("   ", model, VOCAB, LANGS)
    assert "Type a name" in html and "<table>" not in html


def test_text_is_escaped(model) -> None:
    html = classify_html("<b>x", model, VOCAB, LANGS)
    assert "<b>x" not in html and "&lt;" in html


def test_widget_updates_when_typing(model) -> None:
    box = classify_widget(model, VOCAB, LANGS, value="Nakamura")
    text, output = box.children
    assert INPUT_CLASS in text._dom_classes and OUTPUT_CLASS in output._dom_classes
    before = output.value
    assert before == classify_html("Nakamura", model, VOCAB, LANGS)
    text.value = "Dvorak"
    assert output.value != before and "Dvorak" in output.value


def test_cyrillic_is_classified_as_its_transliteration(model) -> None:
    html = classify_html("Иванов", model, VOCAB, LANGS)
    assert "Unknown" not in html and "Read as <b>Ivanov</b>" in html
    assert probabilities(html) == probabilities(classify_html("Ivanov", model, VOCAB, LANGS))
