"""Batching variable-length sequences: a padding collate and a bucket sampler.

``pad_collate`` is a ``collate_fn`` for ``torch.utils.data.DataLoader``. It
pads sequences with ``PAD_ID`` to the longest one in the batch and returns
their true lengths (a CPU int64 tensor, as ``pack_padded_sequence`` wants)::

    loader = DataLoader(examples, batch_size=32, collate_fn=pad_collate)
    for x, lengths, y in loader:          # (sequence, label) examples
        # x = [batch, max len], lengths = [batch], y = [batch]
        packed = pack_padded_sequence(embed(x), lengths, batch_first=True,
                                      enforce_sorted=False)

``BucketBatchSampler`` groups examples of similar length into the same batch,
so little of each batch is padding::

    sampler = BucketBatchSampler([len(s) for s, _ in examples], batch_size=32)
    loader = DataLoader(examples, batch_sampler=sampler, collate_fn=pad_collate)
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import Sampler

from course_utils.data.vocab import PAD_ID

__all__ = ["BucketBatchSampler", "LabelledBatch", "PairBatch", "pad_collate", "pad_sequences"]


class LabelledBatch(NamedTuple):
    """A batch of (sequence, label) examples.

    inputs: [batch, max len] (or [max len, batch] if ``batch_first=False``), int64.
    lengths: [batch], int64 on the CPU.
    labels: [batch], int64.
    """

    inputs: torch.Tensor
    lengths: torch.Tensor
    labels: torch.Tensor


class PairBatch(NamedTuple):
    """A batch of (source sequence, target sequence) examples.

    inputs: [batch, max src len], int64.   lengths: [batch], CPU int64.
    targets: [batch, max tgt len], int64.  target_lengths: [batch], CPU int64.
    """

    inputs: torch.Tensor
    lengths: torch.Tensor
    targets: torch.Tensor
    target_lengths: torch.Tensor


def _as_long_1d(seq: Any, where: str) -> torch.Tensor:
    t = torch.as_tensor(seq)
    if t.dim() != 1:
        raise ValueError(f"{where}: expected a 1-D sequence of token ids, got shape {tuple(t.shape)}")
    if t.numel() == 0:
        raise ValueError(
            f"{where}: got an empty sequence; every sequence needs at least one token "
            "(pack_padded_sequence rejects length 0)"
        )
    if t.is_floating_point() or t.is_complex():
        raise TypeError(f"{where}: token ids must be integers, got dtype {t.dtype}")
    return t.long()


def pad_sequences(
    seqs: Sequence[Any], pad_id: int = PAD_ID, batch_first: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad 1-D id sequences to the longest one.

    Args:
        seqs: B sequences (lists of ints or 1-D LongTensors) of lengths L_b >= 1.
    Returns:
        padded: [B, max L] (or [max L, B] if not ``batch_first``), int64.
        lengths: [B], int64 on the CPU.
    """
    if len(seqs) == 0:
        raise ValueError("cannot pad an empty batch (got 0 sequences)")
    tensors = [_as_long_1d(s, f"sequence {i}").cpu() for i, s in enumerate(seqs)]
    lengths = torch.tensor([len(t) for t in tensors], dtype=torch.long)
    padded = pad_sequence(tensors, batch_first=batch_first, padding_value=pad_id)
    # padded = [batch, max len] (batch_first) or [max len, batch]
    return padded, lengths


def pad_collate(
    batch: Sequence[Any], pad_id: int = PAD_ID, batch_first: bool = True
) -> LabelledBatch | PairBatch | tuple[torch.Tensor, torch.Tensor]:
    """Collate variable-length examples into padded tensors.

    Three kinds of example are accepted (all examples in a batch the same kind):

    - ``(seq, label)`` with an int label -> ``LabelledBatch(inputs, lengths, labels)``
    - ``(src, tgt)`` with two sequences -> ``PairBatch(inputs, lengths, targets, target_lengths)``
    - a bare ``seq`` -> ``(inputs, lengths)``

    Sequences are lists of ints or 1-D LongTensors. Shapes (batch first):
    inputs ``[batch, max len]``, lengths ``[batch]`` (CPU int64, for
    ``pack_padded_sequence``), labels ``[batch]``, targets ``[batch, max tgt len]``.
    """
    if len(batch) == 0:
        raise ValueError("pad_collate got an empty batch")
    first = batch[0]
    if not isinstance(first, (tuple, list)) or (
        len(first) > 0 and not isinstance(first[0], (tuple, list, torch.Tensor))
    ):
        return pad_sequences(batch, pad_id, batch_first)
    if len(first) != 2:
        raise ValueError(
            f"pad_collate expects (sequence, label) or (source, target) pairs, got a tuple of {len(first)}"
        )
    seqs = [ex[0] for ex in batch]
    targets = [ex[1] for ex in batch]
    inputs, lengths = pad_sequences(seqs, pad_id, batch_first)
    target0 = torch.as_tensor(targets[0])
    if target0.dim() == 0:
        labels = torch.as_tensor([int(t) for t in targets], dtype=torch.long)
        return LabelledBatch(inputs, lengths, labels)
    padded_tgt, tgt_lengths = pad_sequences(targets, pad_id, batch_first)
    return PairBatch(inputs, lengths, padded_tgt, tgt_lengths)


class BucketBatchSampler(Sampler[list[int]]):
    """Yield batches of indices whose sequences have similar lengths.

    Each epoch: indices are ordered by length (ties broken at random when
    ``shuffle``), cut into batches of ``batch_size``, and the batch order is
    shuffled. So a batch holds sequences of nearly equal length (little
    padding) while the model still sees batches in a random order.
    Epoch ``e`` uses the random seed ``seed + e``: reproducible runs.

    Args:
        lengths: the length of every example, N entries.
        batch_size: examples per batch.
        shuffle: randomise tie order and batch order each epoch. If False,
            batches go from shortest to longest, the same every epoch.
        seed: base random seed.
        drop_last: drop the last, smaller batch.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        self.lengths = [int(n) for n in lengths]
        if not self.lengths:
            raise ValueError("BucketBatchSampler needs at least one length, got none")
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose order the next iteration uses."""
        self.epoch = epoch

    def __len__(self) -> int:
        n = len(self.lengths)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        rng = random.Random(self.seed + self.epoch)
        self.epoch += 1
        if self.shuffle:
            ties = [rng.random() for _ in self.lengths]
            order = sorted(range(len(self.lengths)), key=lambda i: (self.lengths[i], ties[i]))
        else:
            order = sorted(range(len(self.lengths)), key=lambda i: (self.lengths[i], i))
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            batches.pop()
        if self.shuffle:
            rng.shuffle(batches)
        yield from batches
