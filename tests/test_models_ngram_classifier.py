"""Tests for course_utils.models.ngram_classifier: n-grams, vocabulary, batches, model, a tiny fit."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from course_utils.data import NamesDataset
from course_utils.data.vocab import PAD_ID
from course_utils.models.charrnn import predict_labels
from course_utils.models.ngram_classifier import (
    CharNgramClassifier,
    NgramVocab,
    char_ngrams,
    make_ngram_loaders,
    ngram_collate,
)


def test_char_ngrams_marks_start_and_end() -> None:
    assert char_ngrams("Li", 1, 3) == ["l", "i", "<l", "li", "i>", "<li", "li>"]
    assert char_ngrams("Li", 2, 2) == ["<l", "li", "i>"]
    # "son" at the end differs from "son" inside a name
    assert "son>" in char_ngrams("Jackson", 4, 4) and "son>" not in char_ngrams("Sonder", 4, 4)


@pytest.mark.parametrize("args, err", [(("",), ValueError), ((3,), ValueError), (("Li", 0, 2), ValueError),
                                       (("Li", 3, 2), ValueError), (("Li", 1, True), TypeError)])
def test_char_ngrams_bad_input(args, err) -> None:
    with pytest.raises(err):
        char_ngrams(*args)


def test_vocab_build_and_encode() -> None:
    vocab = NgramVocab.build(["Li", "Lin"], 1, 2)
    assert vocab.itos[0] == "<unseen>" and len(vocab) == len(set(vocab.itos))
    # most frequent first: "l", "i", "<l", "li" appear twice
    assert set(vocab.itos[1:5]) == {"l", "i", "<l", "li"}
    ids = vocab.encode("Liz")  # l i z <l li iz z>: z, iz, z> unseen
    assert ids.dtype == torch.long and ids.shape == (7,)
    assert [vocab.itos[i] for i in ids.tolist()] == ["l", "i", "<unseen>", "<l", "li", "<unseen>", "<unseen>"]
    assert NgramVocab.build(["Lin", "Li"], 1, 2).itos == vocab.itos  # order of names does not matter


def test_vocab_min_count_and_errors() -> None:
    assert "n>" not in NgramVocab.build(["Li", "Lin"], 1, 2, min_count=2).stoi
    with pytest.raises(TypeError, match="single string"):
        NgramVocab.build("Li")
    with pytest.raises(ValueError, match="min_count"):
        NgramVocab.build(["Li"], min_count=0)
    with pytest.raises(ValueError, match="no names"):
        NgramVocab.build([])
    with pytest.raises(ValueError, match="unseen"):
        NgramVocab(["a", "b"])
    with pytest.raises(ValueError, match="twice"):
        NgramVocab(["<unseen>", "a", "a"])


def test_collate_offsets() -> None:
    ids, offsets, y = ngram_collate([(torch.tensor([1, 2, 3]), 0), (torch.tensor([4]), 2), (torch.tensor([5, 6]), 1)])
    assert ids.tolist() == [1, 2, 3, 4, 5, 6]
    assert offsets.tolist() == [0, 3, 4]
    assert y.tolist() == [0, 2, 1]
    with pytest.raises(ValueError, match="empty"):
        ngram_collate([])


def test_forward_is_mean_of_seen_vectors() -> None:
    torch.manual_seed(0)
    model = CharNgramClassifier(10, 3, embedding_dim=4, dropout=0.0)
    ids = torch.tensor([1, 2, PAD_ID, 3])
    logits = model(ids, torch.tensor([0, 3]))
    assert logits.shape == (2, 3)
    w = model.bag.weight
    first = model.S((w[1] + w[2]) / 2)  # the unseen id takes no part in the mean
    second = model.S(w[3])
    assert torch.allclose(logits, torch.stack([first, second]), atol=1e-6)


@pytest.mark.parametrize("ids, offsets, err, match", [
    (torch.tensor([1.0]), torch.tensor([0]), TypeError, "int64"),
    (torch.tensor([[1]]), torch.tensor([0]), TypeError, "int64"),
    (torch.tensor([1]), torch.tensor([0.0]), TypeError, "offsets"),
    (torch.tensor([1]), torch.tensor([], dtype=torch.long), ValueError, "empty"),
    (torch.tensor([1, 2]), torch.tensor([1]), ValueError, "start at 0"),
    (torch.tensor([1, 2]), torch.tensor([0, 3]), ValueError, "len"),
    (torch.tensor([1, 2]), torch.tensor([0, 2, 1]), ValueError, "never decrease"),
    (torch.tensor([1, 10]), torch.tensor([0]), ValueError, "vocabulary"),
])
def test_forward_bad_input(ids, offsets, err, match) -> None:
    model = CharNgramClassifier(10, 3)
    with pytest.raises(err, match=match):
        model(ids, offsets)


@pytest.mark.parametrize("kwargs", [dict(n_ngrams=1), dict(n_classes=1), dict(embedding_dim=0), dict(dropout=1.0)])
def test_constructor_errors(kwargs) -> None:
    args = dict(n_ngrams=10, n_classes=3) | kwargs
    with pytest.raises(ValueError):
        CharNgramClassifier(**args)


def _toy_dataset() -> NamesDataset:
    groups = {"A": ["Papadopoulos", "Georgiou", "Nikolaidis", "Pappas", "Dimitriou", "Konstantinou",
                    "Karagiannis", "Vlachos", "Oikonomou", "Alexiou"],
              "B": ["Tanaka", "Suzuki", "Takahashi", "Watanabe", "Yamamoto", "Nakamura",
                    "Kobayashi", "Kato", "Yoshida", "Yamada"]}
    names, labels = [], []
    for label, lang in enumerate(sorted(groups)):
        names += groups[lang]
        labels += [label] * len(groups[lang])
    return NamesDataset(languages=sorted(groups), names=names, labels=labels)


def test_loaders_and_tiny_fit() -> None:
    torch.manual_seed(0)
    data = _toy_dataset()
    vocab = NgramVocab.build([n for n, _ in data.train])
    loaders = make_ngram_loaders(data, vocab, batch_size=4)
    ids, offsets, y = next(iter(loaders.train))
    assert offsets.shape == y.shape and ids.dim() == 1
    model = CharNgramClassifier(len(vocab), 2, embedding_dim=16, dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(30):
        for ids, offsets, y in loaders.train:
            loss = nn.functional.cross_entropy(model(ids, offsets), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    y_true, y_pred = predict_labels(model, loaders.train)
    assert (y_true == y_pred).all()  # it can fit the training names


def test_make_ngram_loaders_errors() -> None:
    data = _toy_dataset()
    vocab = NgramVocab.build([n for n, _ in data.train])
    with pytest.raises(TypeError, match="NgramVocab"):
        make_ngram_loaders(data, {"a": 1})
    with pytest.raises(TypeError, match="NamesDataset"):
        make_ngram_loaders([("Li", 0)], vocab)
    with pytest.raises(ValueError, match="batch_size"):
        make_ngram_loaders(data, vocab, batch_size=0)
