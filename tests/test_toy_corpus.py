"""Tests for course_utils.toy_corpus."""

import math
from collections import Counter

import pytest
import torch

from course_utils.toy_corpus import BOS, EOS, EXAMPLE_SENTENCE, build_vocab, encode, entropy_per_token, toy_sentences


def test_sentences_are_deterministic_and_start_with_the_example():
    a, b = toy_sentences(50, seed=1), toy_sentences(50, seed=1)
    assert a == b
    assert a[0] == EXAMPLE_SENTENCE.split()
    assert all(len(s) == 7 for s in a)
    assert toy_sentences(50, seed=2) != a


def test_verbs_agree_with_animals():
    cat_verbs = {"meowed", "purred", "hissed"}
    for s in toy_sentences(200, seed=0):
        assert (s[3] == "cat") == (s[4] in cat_verbs)


def test_vocab_and_encode_round_trip():
    sents = toy_sentences(20)
    vocab = build_vocab(sents)
    assert vocab[:2] == [BOS, EOS] and len(set(vocab)) == len(vocab)
    ids = encode(sents, vocab)
    assert ids.shape == (20, 9) and ids.dtype == torch.long
    assert (ids[:, 0] == 0).all() and (ids[:, -1] == 1).all()
    assert [vocab[i] for i in ids[0, 1:-1]] == sents[0]


@pytest.mark.parametrize(("n", "error"), [(0, ValueError), (-1, ValueError), (2.0, TypeError), (True, TypeError)])
def test_bad_n(n, error):
    with pytest.raises(error, match="n must be a positive int"):
        toy_sentences(n)


def test_encode_errors():
    vocab = build_vocab([["a", "b"]])
    with pytest.raises(ValueError, match="same length"):
        encode([["a", "b"], ["a"]], vocab)
    with pytest.raises(ValueError, match="not in the vocabulary"):
        encode([["a", "z"]], vocab)
    with pytest.raises(TypeError):
        build_vocab(["a b"])


def test_entropy_per_token_matches_the_generator():
    assert entropy_per_token() == pytest.approx(math.log(1728) / 8)
    # empirical check: the adverb position is uniform over 3 words
    counts = Counter(s[6] for s in toy_sentences(3000, seed=0)[1:])
    assert len(counts) == 3 and min(counts.values()) > 900
