"""Tests for course_utils.data.loaders: names -> id tensors -> padded, bucketed batches."""

from __future__ import annotations

import pytest
import torch

from course_utils.data import NamesDataset, Vocab, names_vocab
from course_utils.data.loaders import EncodedNames, encode_names, make_name_loaders, split_examples
from course_utils.data.vocab import PAD_ID

VOCAB = Vocab.from_chars(["Smith", "Nakamura", "Li", "Müller", "O'Neil", "Dupont"])


def test_encode_names() -> None:
    seqs = encode_names(["Li", "Smith"], VOCAB)
    assert [s.tolist() for s in seqs] == [VOCAB.encode("Li"), VOCAB.encode("Smith")]
    assert all(s.dtype == torch.long for s in seqs)
    assert encode_names(["ab"], {"a": 7, "b": 9})[0].tolist() == [7, 9]  # a plain dict works too


@pytest.mark.parametrize(("bad", "err"), [("Smith", TypeError), ([""], ValueError), ([3], TypeError)])
def test_encode_names_bad_input(bad, err) -> None:
    with pytest.raises(err):
        encode_names(bad, VOCAB)
    with pytest.raises(ValueError, match="'z' of 'az' is not in the vocabulary"):
        encode_names(["az"], {"a": 4})


def test_encoded_names_and_split_examples() -> None:
    ds = EncodedNames(encode_names(["Li", "Abe"], VOCAB), [1, 0])
    assert len(ds) == 2 and ds[1][1] == 0 and ds[1][0].tolist() == VOCAB.encode("Abe")
    with pytest.raises(ValueError, match="2 encoded names but 1 labels"):
        EncodedNames(encode_names(["Li", "Abe"], VOCAB), [1])
    data = NamesDataset(languages=["X", "Y"], names=["Ab", "Cd", "Ef", "Gh"] * 5, labels=[0, 1] * 10)
    parts = split_examples(data)
    assert sorted(parts) == ["test", "train", "val"]
    assert sum(len(names) for names, _ in parts.values()) == 20
    assert list(zip(*parts["train"])) == list(data.train)


def test_make_name_loaders() -> None:
    names = [f"{stem}{suffix}" for stem in ("Ab", "Cde", "Fghij") for suffix in ("ov", "ski", "ez", "son")] * 5
    data = NamesDataset(languages=["X", "Y"], names=names, labels=[i % 2 for i in range(len(names))])
    loaders = make_name_loaders(data, batch_size=4)
    assert loaders.languages == ["X", "Y"] and loaders.vocab == names_vocab() and loaders.batch_size == 4
    assert loaders.n_train_chars == sum(len(n) for n, _ in data.train)
    seen = 0
    for x, lengths, y in loaders.train:
        assert x.dtype == torch.long and x.shape == (len(y), int(lengths.max()))
        assert int(lengths.max()) - int(lengths.min()) <= 3  # length buckets: little padding
        for row, n in zip(x, lengths):
            assert (row[n:] == PAD_ID).all() and (row[:n] != PAD_ID).all()
        seen += len(y)
    assert seen == len(data.train)
    x, lengths, y = next(iter(loaders.test))
    assert x.shape[0] == len(y) == lengths.shape[0]
    with pytest.raises(TypeError, match="NamesDataset"):
        make_name_loaders(names, batch_size=4)
    with pytest.raises(ValueError, match="batch_size"):
        make_name_loaders(data, batch_size=0)
    with pytest.raises(TypeError, match="batch_size must be a positive int, got float"):
        make_name_loaders(data, batch_size=2.0)
