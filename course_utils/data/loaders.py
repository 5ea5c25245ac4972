"""Batched loaders over the names data set: names -> character ids -> padded, bucketed batches.

>>> loaders = make_name_loaders(load_names(), batch_size=64)
>>> for x, lengths, y in loaders.train:     # x [batch, max len], lengths [batch], y [batch]
...     ...

:func:`encode_names` turns names into id tensors (no SOS/EOS: a classifier reads the name
only); :func:`split_examples` gives the names and labels of each split, so a loader of
another kind (the n-gram bags of :mod:`course_utils.models.ngram_classifier`) is built over the
same fixed splits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from course_utils._validate import describe, require_int
from course_utils.data.batching import BucketBatchSampler, pad_collate
from course_utils.data.names import names_vocab

__all__ = ["EncodedNames", "NameLoaders", "encode_names", "make_name_loaders", "split_examples"]


def _encode_one(name: str, vocab: Any) -> list[int]:
    if not isinstance(name, str):
        raise TypeError(f"names must be strings, got {describe(name)}: {name!r}")
    if not name:
        raise ValueError("cannot encode an empty name: a name needs at least one character")
    if hasattr(vocab, "encode"):
        ids = list(vocab.encode(name))
    elif isinstance(vocab, dict):
        try:
            ids = [vocab[c] for c in name]
        except KeyError as err:
            raise ValueError(f"character {err.args[0]!r} of {name!r} is not in the vocabulary") from None
    else:
        raise TypeError(f"vocab must have .encode(str) or be a dict char -> id, got {describe(vocab)}")
    return [int(i) for i in ids]


def encode_names(names: Iterable[str], vocab: Any) -> list[torch.Tensor]:
    """Turn each name into a 1-D LongTensor of character ids (no SOS/EOS, no padding).

    Args:
        names: the names, e.g. ``["Smith", "Nakamura"]``.
        vocab: a :class:`course_utils.data.Vocab` (anything with ``encode(str) -> list[int]``)
            or a plain ``dict`` char -> id.

    Returns:
        ``[tensor([id(w_1), ..., id(w_T)]), ...]``, one ``[T_i]`` int64 tensor per name.
    """
    if isinstance(names, str):
        raise TypeError(f"encode_names expects a list of names, got the single string {names!r}; "
                        f"wrap it: encode_names([{names!r}], vocab)")
    return [torch.tensor(_encode_one(n, vocab), dtype=torch.long) for n in names]


class EncodedNames(Dataset):
    """Encoded names with their labels: item ``i`` is ``(ids [T_i], label)``."""

    def __init__(self, seqs: list[torch.Tensor], labels: Sequence[int]) -> None:
        if len(seqs) != len(labels):
            raise ValueError(f"got {len(seqs)} encoded names but {len(labels)} labels")
        self.seqs = seqs
        self.labels = [int(y) for y in labels]

    def __len__(self) -> int:
        return len(self.seqs)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.seqs[i], self.labels[i]


@dataclass
class NameLoaders:
    """What :func:`make_name_loaders` returns.

    ``train``/``val``/``test`` yield ``(x [batch, max_len], lengths [batch], y [batch])``.
    """

    train: DataLoader
    val: DataLoader
    test: DataLoader
    vocab: Any
    languages: list[str]
    batch_size: int

    @property
    def n_train_chars(self) -> int:
        """Characters (tokens) in one pass over the training set."""
        return sum(len(s) for s in self.train.dataset.seqs)


def split_examples(dataset: Any) -> dict[str, tuple[tuple[str, ...], tuple[int, ...]]]:
    """``{"train" | "val" | "test": (names, labels)}`` of a names data set, each split non-empty."""
    for attr in ("train", "val", "test", "languages"):
        if not hasattr(dataset, attr):
            raise TypeError(f"dataset must be a NamesDataset (from course_utils.data.load_names()) with "
                            f".train/.val/.test/.languages, got {describe(dataset)} without .{attr}")
    parts = {}
    for part in ("train", "val", "test"):
        examples = list(getattr(dataset, part))
        if not examples:
            raise ValueError(f"the {part} split of the dataset is empty; every split needs names")
        parts[part] = tuple(zip(*examples))
    return parts


def make_name_loaders(
    dataset: Any,
    batch_size: int = 64,
    *,
    vocab: Any | None = None,
    bucket: bool = True,
    seed: int = 0,
) -> NameLoaders:
    """Batched loaders over the fixed train/val/test splits of a names data set.

    Training batches are length-bucketed (names of similar length together, so little
    padding; :class:`course_utils.data.BucketBatchSampler`) in a seeded random order;
    validation and test batches keep the split's order. Batches are
    ``(x [batch, max_len], lengths [batch], y [batch])`` from :func:`course_utils.data.pad_collate`.

    Args:
        dataset: a :class:`course_utils.data.NamesDataset` (``load_names()``): its ``.train``,
            ``.val``, ``.test`` lists of ``(name, label)`` and its sorted ``.languages``.
        batch_size: names per batch.
        vocab: character vocabulary; default :func:`course_utils.data.names_vocab` (fixed ids).
        bucket: use the length-bucketed sampler for training (else plain shuffling).
        seed: shuffling seed, so two runs see the same batches.
    """
    require_int(batch_size, "batch_size", low=1)
    vocab = names_vocab() if vocab is None else vocab
    loaders: dict[str, DataLoader] = {}
    for part, (names, labels) in split_examples(dataset).items():
        ds = EncodedNames(encode_names(names, vocab), labels)
        if part == "train" and bucket:
            sampler = BucketBatchSampler([len(s) for s in ds.seqs], batch_size, shuffle=True, seed=seed)
            loaders[part] = DataLoader(ds, batch_sampler=sampler, collate_fn=pad_collate)
        else:
            loaders[part] = DataLoader(ds, batch_size=batch_size, shuffle=(part == "train"),
                                       generator=torch.Generator().manual_seed(seed), collate_fn=pad_collate)
    return NameLoaders(loaders["train"], loaders["val"], loaders["test"], vocab, list(dataset.languages), batch_size)
