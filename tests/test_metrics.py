"""Tests for course_utils.metrics: accuracy, confusion matrix and macro-F1 (scikit-learn), BLEU (sacrebleu)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sacrebleu
import torch

from course_utils.metrics import accuracy, confusion_matrix, corpus_bleu, macro_f1

# --------------------------------------------------------------------------- classification


def test_accuracy_and_shapes() -> None:
    out = torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]])
    assert accuracy(out, torch.tensor([0, 1, 1])) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match=r"outputs \[batch, n_classes\] and targets \[batch\]"):
        accuracy(out, torch.tensor([[0], [1], [1]]))
    assert accuracy(out, torch.tensor([0, 1, 0])) == 1.0


def test_confusion_matrix_and_macro_f1() -> None:
    y_true = [0, 0, 1, 1, 2, 2]
    y_pred = [0, 1, 1, 1, 2, 0]
    cm = confusion_matrix(y_true, y_pred, 4)
    assert cm.shape == (4, 4) and cm.dtype == np.int64
    assert cm.tolist() == [[1, 1, 0, 0], [0, 2, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]]
    # per-class F1: class 0: P=1/2 R=1/2 -> 1/2; class 1: P=2/3 R=1 -> 4/5; class 2: P=1 R=1/2 -> 2/3
    assert macro_f1(y_true, y_pred, 4) == pytest.approx((1 / 2 + 4 / 5 + 2 / 3) / 3)
    assert macro_f1(torch.tensor(y_true), torch.tensor(y_true), 4) == 1.0
    with pytest.raises(ValueError):
        confusion_matrix([0, 1], [0], 4)
    with pytest.raises(ValueError):
        confusion_matrix([0, 4], [0, 1], 4)
    with pytest.raises(TypeError):
        macro_f1([0.5, 1.0], [0, 1], 4)


def test_macro_f1_counts_only_classes_that_occur() -> None:
    # class 3 never occurs: the mean is over classes 0 and 1, as in scikit-learn's default
    assert macro_f1([0, 1], [0, 1], 4) == 1.0
    # a class that is predicted but never true counts, with F1 = 0
    assert macro_f1([0, 0], [0, 1], 2) == pytest.approx((2 / 3 + 0.0) / 2)
    assert confusion_matrix(torch.tensor([1]), torch.tensor([1]), 3).tolist() == [[0, 0, 0], [0, 1, 0], [0, 0, 0]]
    with pytest.raises(TypeError, match="n_classes must be a positive int, got float"):
        confusion_matrix([0], [0], 2.0)
    with pytest.raises(ValueError, match="empty"):
        macro_f1([], [], 2)


# --------------------------------------------------------------------------- BLEU


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
