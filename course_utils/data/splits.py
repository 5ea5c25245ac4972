"""Train / validation / test splits with a fixed seed, stratified by label.

The same items, fractions and seed always give the same split on every
machine (Python's ``random.Random(seed)``, which is stable across platforms).
With labels, each label is split on its own, so every split keeps the label
proportions of the whole set; labels are processed in sorted order so the
result never depends on the order a ``set`` happens to have.
"""

from __future__ import annotations

import math
import random
from collections.abc import Hashable, Sequence
from typing import TypeVar

T = TypeVar("T")

__all__ = ["check_fractions", "stratified_split", "train_val_test_split"]


def check_fractions(fractions: Sequence[float]) -> tuple[float, ...]:
    """Validate split fractions: 2 or 3 numbers, each in (0, 1), summing to 1.

    Returns:
        the fractions as a tuple of floats.
    Raises:
        ValueError: saying which fraction is wrong and what is expected.
    """
    try:
        fr = tuple(float(f) for f in fractions)
    except TypeError as err:
        raise ValueError(
            f"fractions must be a sequence like (0.8, 0.1, 0.1), got {fractions!r}"
        ) from err
    if len(fr) not in (2, 3):
        raise ValueError(
            f"fractions must have 2 (train, val) or 3 (train, val, test) entries, got {len(fr)}: {fr}"
        )
    for name, f in zip(("train", "val", "test"), fr):
        if not (0.0 < f < 1.0) or math.isnan(f):
            raise ValueError(
                f"the {name} fraction must be strictly between 0 and 1, got {f}; "
                "e.g. fractions=(0.8, 0.1, 0.1)"
            )
    if abs(sum(fr) - 1.0) > 1e-6:
        raise ValueError(f"fractions must sum to 1, got {fr} (sum {sum(fr):.6g})")
    return fr


def _cut(indices: list[int], fractions: tuple[float, ...]) -> list[list[int]]:
    """Cut a shuffled index list into consecutive parts of the given sizes."""
    n = len(indices)
    bounds = [0]
    acc = 0.0
    for f in fractions[:-1]:
        acc += f
        bounds.append(int(round(acc * n)))
    bounds.append(n)
    return [indices[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def train_val_test_split(
    items: Sequence[T],
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    labels: Sequence[Hashable] | None = None,
) -> tuple[list[T], ...]:
    """Split ``items`` into train / val / test lists, reproducibly.

    Args:
        items: the things to split (names, pairs, indices, ...), length N.
        fractions: (train, val, test) or (train, val); each in (0, 1), sum 1.
        seed: the random seed; same seed -> same split.
        labels: optional, length N. When given, the split is stratified: each
            label's items are shuffled and cut separately with ``fractions``.
    Returns:
        a tuple with one list per fraction. Each list is in a shuffled (but
        seed-fixed) order.
    Raises:
        ValueError: bad fractions, or ``labels`` of the wrong length.
    """
    fr = check_fractions(fractions)
    n = len(items)
    rng = random.Random(seed)
    if labels is None:
        order = list(range(n))
        rng.shuffle(order)
        parts = _cut(order, fr)
    else:
        if len(labels) != n:
            raise ValueError(f"labels has {len(labels)} entries but items has {n}; they must match")
        by_label: dict[Hashable, list[int]] = {}
        for i, lab in enumerate(labels):
            by_label.setdefault(lab, []).append(i)
        parts = [[] for _ in fr]
        for lab in sorted(by_label):
            idx = by_label[lab]
            rng.shuffle(idx)
            for part, piece in zip(parts, _cut(idx, fr)):
                part.extend(piece)
        # Mix the labels inside each split with one more seeded shuffle.
        for part in parts:
            rng.shuffle(part)
    return tuple([items[i] for i in part] for part in parts)


def stratified_split(
    items: Sequence[T],
    labels: Sequence[Hashable],
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
) -> tuple[list[T], ...]:
    """:func:`train_val_test_split` with labels required (stratified)."""
    return train_val_test_split(items, fractions=fractions, seed=seed, labels=labels)
