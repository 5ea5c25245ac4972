"""A bag of character n-grams: the non-recurrent reference for name classification.

A name is turned into the multiset of its character n-grams, with ``<`` and ``>`` marking its
start and end (``"Li"`` with n = 1..3 gives ``l i <l li i> <li li>``), each n-gram gets a
learned vector, the vectors are averaged and a linear layer scores the languages: the fastText
classifier (Joulin et al., 2017) on characters. It sees which pieces a name contains but not
their order beyond n characters, so it has no recurrence at all.

It is here as a yardstick for :class:`course_utils.models.charrnn.CharRNNClassifier`: trained
under the same time budget on the same split, it shows how much of the remaining error belongs
to the data (names that look the same in several languages) rather than to the RNN.

>>> vocab = NgramVocab.build([name for name, _ in data.train])          # data = load_names()
>>> loaders = make_ngram_loaders(data, vocab, batch_size=32)
>>> model = CharNgramClassifier(len(vocab), data.n_languages)
>>> for ids, offsets, y in loaders.train:                               # one epoch
...     loss = nn.functional.cross_entropy(model(ids, offsets), y)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from course_utils._validate import describe, require_int
from course_utils.data.loaders import EncodedNames, NameLoaders, split_examples
from course_utils.data.vocab import PAD_ID

__all__ = [
    "CharNgramClassifier",
    "NgramVocab",
    "char_ngrams",
    "make_ngram_loaders",
    "ngram_collate",
]

# Every n-gram not seen in training gets id PAD_ID (0), the course's padding id: the bag's
# ``padding_idx``, so it is left out of the mean, exactly as padding would be.


def _check_orders(n_min: int, n_max: int) -> None:
    for arg, val in (("n_min", n_min), ("n_max", n_max)):
        require_int(val, arg, low=1)
    if n_min > n_max:
        raise ValueError(f"n_min must be <= n_max, got n_min={n_min}, n_max={n_max}")


def char_ngrams(name: str, n_min: int = 1, n_max: int = 4) -> list[str]:
    """The character n-grams of ``"<" + name.lower() + ">"`` for n = ``n_min`` .. ``n_max``.

    Unigrams are taken from the name itself (the markers alone say nothing); longer n-grams
    include the markers, so ``"son>"`` (ends in *son*) differs from ``"son"`` (contains it).

    >>> char_ngrams("Li", 1, 2)
    ['l', 'i', '<l', 'li', 'i>']
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    _check_orders(n_min, n_max)
    return _ngrams(name, n_min, n_max)


def _ngrams(name: str, n_min: int, n_max: int) -> list[str]:
    """:func:`char_ngrams` without the argument checks (for callers that made them once)."""
    text = f"<{name.lower()}>"
    grams: list[str] = []
    for n in range(n_min, n_max + 1):
        if n == 1:
            grams += list(text[1:-1])
        else:
            grams += [text[i:i + n] for i in range(len(text) - n + 1)]
    return grams


@dataclass
class NgramVocab:
    """Ids for the character n-grams seen in training (id ``PAD_ID`` = 0 for any other).

    Attributes:
        itos: ``itos[i]`` is the n-gram with id ``i``; ``itos[0]`` is ``"<unseen>"``.
        n_min, n_max: the n-gram orders used.
    """

    itos: list[str]
    n_min: int = 1
    n_max: int = 4
    stoi: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        _check_orders(self.n_min, self.n_max)
        if not self.itos or self.itos[0] != "<unseen>":
            raise ValueError("itos[0] must be '<unseen>' (id 0 stands for n-grams not seen in training)")
        self.stoi = {g: i for i, g in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("itos holds the same n-gram twice")

    @classmethod
    def build(cls, names: Iterable[str], n_min: int = 1, n_max: int = 4, min_count: int = 1) -> NgramVocab:
        """Every n-gram occurring at least ``min_count`` times in ``names``, most frequent first
        (ties alphabetical, so the ids do not depend on the order of ``names``)."""
        if isinstance(names, str):
            raise TypeError(f"build expects a list of names, got the single string {names!r}")
        require_int(min_count, "min_count", low=1)
        counts = Counter(g for name in names for g in char_ngrams(name, n_min, n_max))
        if not counts:
            raise ValueError("no names given to build the n-gram vocabulary from")
        kept = sorted((g for g, c in counts.items() if c >= min_count), key=lambda g: (-counts[g], g))
        return cls(["<unseen>", *kept], n_min, n_max)

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, name: str) -> torch.Tensor:
        """The n-gram ids of one name: int64 ``[number of n-grams]`` (unseen ones are 0)."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        return torch.tensor([self.stoi.get(g, PAD_ID) for g in _ngrams(name, self.n_min, self.n_max)],
                            dtype=torch.long)


def ngram_collate(batch: Sequence[tuple[torch.Tensor, int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Join ``(n-gram ids [k_i], label)`` examples into the flat form ``nn.EmbeddingBag`` takes.

    Returns:
        ``(ids [sum k_i], offsets [batch], labels [batch])``; name ``b`` owns
        ``ids[offsets[b]:offsets[b + 1]]``.
    """
    if not batch:
        raise ValueError("cannot collate an empty batch")
    seqs = [s for s, _ in batch]
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    offsets = torch.zeros(len(seqs), dtype=torch.long)
    offsets[1:] = torch.cumsum(lengths, 0)[:-1]
    return torch.cat(seqs), offsets, torch.tensor([int(y) for _, y in batch], dtype=torch.long)


class CharNgramClassifier(nn.Module):
    """Mean of n-gram embeddings -> dropout -> linear scores (fastText on characters).

    Args:
        n_ngrams: size of the :class:`NgramVocab` (id 0 = unseen, a zero vector).
        n_classes: number of languages.
        embedding_dim: width of an n-gram vector.
        dropout: dropout on the averaged vector.

    Shapes: ``forward(ids [total], offsets [batch]) -> logits [batch, n_classes]``.
    """

    def __init__(self, n_ngrams: int, n_classes: int, embedding_dim: int = 64, dropout: float = 0.3) -> None:
        super().__init__()
        for arg, val, low in (("n_ngrams", n_ngrams, 2), ("n_classes", n_classes, 2),
                              ("embedding_dim", embedding_dim, 1)):
            require_int(val, arg, low=low)
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.n_ngrams = n_ngrams
        self.n_classes = n_classes
        self.bag = nn.EmbeddingBag(n_ngrams, embedding_dim, mode="mean", padding_idx=PAD_ID)
        self.dropout = nn.Dropout(dropout)
        self.S = nn.Linear(embedding_dim, n_classes)

    def forward(self, ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        """Scores for a batch of names given as flat n-gram ids and each name's offset.

        Args:
            ids: int64 ``[total]``, the n-gram ids of all names one after another.
            offsets: int64 ``[batch]``, where each name starts in ``ids`` (``offsets[0] == 0``,
                non-decreasing); moved to the device of ``ids``.

        Returns:
            raw scores (logits) ``[batch, n_classes]``.
        """
        if not isinstance(ids, torch.Tensor) or ids.dim() != 1 or ids.dtype != torch.long:
            raise TypeError(f"ids must be an int64 tensor [total] of n-gram ids, got {describe(ids)}; "
                            "use NgramVocab.encode() and ngram_collate() to build it")
        if not isinstance(offsets, torch.Tensor) or offsets.dim() != 1 or offsets.dtype != torch.long:
            raise TypeError(f"offsets must be an int64 tensor [batch], got {describe(offsets)}")
        if offsets.numel() == 0:
            raise ValueError("cannot classify an empty batch")
        offs = offsets.cpu()
        if int(offs[0]) != 0 or bool((offs[1:] < offs[:-1]).any()) or int(offs[-1]) > ids.numel():
            raise ValueError(f"offsets must start at 0, never decrease and stay <= len(ids) = {ids.numel()}, "
                             f"got {offs.tolist()[:8]}{' ...' if offs.numel() > 8 else ''}")
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= self.n_ngrams):
            raise ValueError(f"n-gram ids must be in [0, {self.n_ngrams}), got range "
                             f"[{int(ids.min())}, {int(ids.max())}]: was the model built with this vocabulary?")
        pooled = self.bag(ids, offsets.to(ids.device))
        # pooled = [batch, embedding dim]
        return self.S(self.dropout(pooled))


def make_ngram_loaders(dataset: Any, vocab: NgramVocab, batch_size: int = 32, *, seed: int = 0) -> NameLoaders:
    """Loaders over the fixed train/val/test splits of a names dataset, as n-gram bags.

    The result has the fields of :func:`course_utils.models.charrnn.make_name_loaders`'s, but
    its batches are ``(ids [total], offsets [batch], y [batch])`` from :func:`ngram_collate`,
    so ``predict_labels`` and the training loops that call ``model(a, b)`` work unchanged.
    Training batches are shuffled with ``seed``; validation and test keep the split's order.
    """
    require_int(batch_size, "batch_size", low=1)
    if not isinstance(vocab, NgramVocab):
        raise TypeError(f"vocab must be an NgramVocab (NgramVocab.build(train names)), got {describe(vocab)}")
    loaders: dict[str, DataLoader] = {}
    for part, (names, labels) in split_examples(dataset).items():
        ds = EncodedNames([vocab.encode(n) for n in names], labels)
        loaders[part] = DataLoader(ds, batch_size=batch_size, shuffle=(part == "train"),
                                   generator=torch.Generator().manual_seed(seed), collate_fn=ngram_collate)
    return NameLoaders(loaders["train"], loaders["val"], loaders["test"], vocab, list(dataset.languages), batch_size)
