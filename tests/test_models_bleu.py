"""Tests for course_utils.models.bleu (a thin, checked wrapper around sacrebleu)."""

from __future__ import annotations

import math

import pytest
import sacrebleu

from course_utils.models.bleu import corpus_bleu


def test_identical_corpus_scores_100():
    refs = ["elle est très fatiguée .", "nous ne sommes pas prêts ."]
    assert corpus_bleu(refs, refs) == pytest.approx(100.0)


def test_one_wrong_word_matches_the_hand_computed_value():
    hyps = ["je suis très grand .", "nous sommes prêts ."]
    refs = ["je suis très petit .", "nous sommes prêts ."]
    # n-gram matches pooled over the corpus: 1-grams 8/9, 2-grams 5/7, 3-grams 3/5, 4-grams 1/3;
    # equal lengths, so no brevity penalty: BLEU = 100 * geometric mean of the four precisions
    expected = 100 * math.exp((math.log(8 / 9) + math.log(5 / 7) + math.log(3 / 5) + math.log(1 / 3)) / 4)
    assert corpus_bleu(hyps, refs) == pytest.approx(expected, abs=1e-9)


def test_agrees_with_sacrebleu_and_the_default_is_no_tokenisation():
    hyps = ["il est là.", "elle a faim ."]
    refs = ["il est là .", "elle a faim ."]
    assert corpus_bleu(hyps, refs) == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs], tokenize="none").score)
    # 13a splits "là." into "là ." and so forgives the missing space; "none" does not
    assert corpus_bleu(hyps, refs, tokenize="13a") == pytest.approx(100.0)
    assert corpus_bleu(hyps, refs) < 100.0


def test_several_references_per_sentence():
    hyps = ["nous sommes prêtes .", "il est grand ."]
    two = [["nous sommes prêts .", "nous sommes prêtes ."], "il est grand ."]
    assert corpus_bleu(hyps, two) == pytest.approx(100.0)
    assert corpus_bleu(hyps, ["nous sommes prêts .", "il est grand ."]) < 100.0


def test_brevity_penalty_punishes_short_output():
    refs = ["je ne suis pas très fatigué ."]
    assert corpus_bleu(["je ne suis pas très"], refs) < corpus_bleu(["je ne suis pas très fatigué"], refs)


@pytest.mark.parametrize(
    "hyps, refs, tokenize, error, match",
    [
        (["a b c d"], ["a b c d", "x"], "none", ValueError, "references for every"),
        ([], [], "none", ValueError, "empty corpus"),
        ("a b", ["a b"], "none", TypeError, "list of strings"),
        (["a b"], "a b", "none", TypeError, "single string"),
        (["a b"], [["a", 1]], "none", TypeError, "non-empty list"),
        (["a b"], ["a b"], "intl", ValueError, "tokenize"),
    ],
)
def test_bad_input(hyps, refs, tokenize, error, match):
    with pytest.raises(error, match=match):
        corpus_bleu(hyps, refs, tokenize=tokenize)
