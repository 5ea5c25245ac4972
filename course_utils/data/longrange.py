"""A long-range dependency task: remember the first symbol of a long sequence.

A sequence starts with a **key**, one of ``n_keys`` symbols (ids ``0 .. n_keys-1``),
followed by ``seq_len - 1`` **noise** symbols drawn uniformly from ``n_noise``
other symbols (ids ``n_keys .. n_keys+n_noise-1``). The label is the key. A
model reading left to right has to carry the key through ``seq_len - 1``
updates of its hidden state; to learn to do so, the gradient of the loss has
to travel back just as far. Without the key the best guess is chance,
``1 / n_keys``.

With ``n_noise=0`` the noise is drawn from the keys' own alphabet, so a model
must also work out that only the *first* position matters (a harder variant).

>>> x, y = first_symbol_task(2000, seq_len=50, n_keys=4, n_noise=16, seed=0)
>>> x.shape, y.shape
(torch.Size([2000, 50]), torch.Size([2000]))
>>> bool((y == x[:, 0]).all())
True
"""

from __future__ import annotations

import torch

from course_utils._validate import require_int

__all__ = ["chance_accuracy", "first_symbol_task", "n_tokens"]


def first_symbol_task(
    n_examples: int,
    seq_len: int = 50,
    n_keys: int = 4,
    n_noise: int = 16,
    *,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Key-then-noise sequences labelled by their first symbol.

    Args:
        n_examples: number of sequences.
        seq_len: symbols per sequence (>= 2): the key must be carried ``seq_len - 1`` steps.
        n_keys: number of classes (>= 2); chance accuracy is ``1 / n_keys``.
        n_noise: size of the separate noise alphabet; 0 draws the noise from the keys.
        seed: seed of a private ``torch.Generator``, so the data is the same on
            every run and the global random state is left alone.

    Returns:
        ``(x, y)``: ``x = [n examples, seq len]`` ids in ``[0, n_tokens(n_keys, n_noise))``
        and ``y = x[:, 0] = [n examples]`` in ``[0, n_keys)``, both int64.
    """
    require_int(n_examples, "n_examples", low=1)
    require_int(seq_len, "seq_len", low=2)
    require_int(n_keys, "n_keys", low=2)
    require_int(n_noise, "n_noise", low=0)
    require_int(seed, "seed")
    generator = torch.Generator().manual_seed(seed)
    y = torch.randint(0, n_keys, (n_examples,), generator=generator)
    if n_noise:
        noise = torch.randint(n_keys, n_keys + n_noise, (n_examples, seq_len - 1), generator=generator)
    else:
        noise = torch.randint(0, n_keys, (n_examples, seq_len - 1), generator=generator)
    x = torch.cat([y[:, None], noise], dim=1)
    return x, y


def n_tokens(n_keys: int = 4, n_noise: int = 16) -> int:
    """How many distinct ids :func:`first_symbol_task` uses (the embedding's size)."""
    require_int(n_keys, "n_keys", low=2)
    require_int(n_noise, "n_noise", low=0)
    return n_keys + n_noise


def chance_accuracy(n_keys: int) -> float:
    """Accuracy without the first symbol: every key is equally likely, ``1 / n_keys``."""
    return 1.0 / require_int(n_keys, "n_keys", low=2)
