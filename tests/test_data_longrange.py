"""Tests for course_utils.data.longrange: the remember-the-first-symbol task."""

from __future__ import annotations

import pytest
import torch

from course_utils.data.longrange import chance_accuracy, first_symbol_task, n_tokens


def test_shapes_dtypes_and_label_is_first_symbol() -> None:
    x, y = first_symbol_task(300, seq_len=50, n_keys=4, n_noise=16, seed=0)
    assert x.shape == (300, 50) and y.shape == (300,)
    assert x.dtype == y.dtype == torch.long
    assert torch.equal(y, x[:, 0])


def test_keys_and_noise_use_separate_alphabets() -> None:
    x, y = first_symbol_task(500, seq_len=20, n_keys=3, n_noise=5, seed=1)
    assert set(y.tolist()) == {0, 1, 2}
    assert set(x[:, 1:].unique().tolist()) == set(range(3, 8))
    assert int(x.max()) < n_tokens(3, 5) == 8


def test_without_a_noise_alphabet_noise_comes_from_the_keys() -> None:
    x, _ = first_symbol_task(500, seq_len=20, n_keys=3, n_noise=0, seed=1)
    assert set(x.unique().tolist()) == {0, 1, 2}
    assert n_tokens(3, 0) == 3


def test_the_label_is_not_predictable_from_the_rest() -> None:
    """Keys are balanced and the noise does not depend on them (the task is fair)."""
    x, y = first_symbol_task(8000, seq_len=10, n_keys=4, n_noise=4, seed=2)
    counts = torch.bincount(y, minlength=4).float() / len(y)
    assert torch.allclose(counts, torch.full((4,), 0.25), atol=0.03)
    # the last symbol carries no information about the key
    last = x[:, -1]
    for key in range(4):
        share = torch.bincount(last[y == key] - 4, minlength=4).float() / int((y == key).sum())
        assert torch.allclose(share, torch.full((4,), 0.25), atol=0.05)


def test_seeded_and_leaves_global_rng_alone() -> None:
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = first_symbol_task(10, seed=5)
    after = torch.rand(1)
    assert torch.equal(before, after)
    b = first_symbol_task(10, seed=5)
    c = first_symbol_task(10, seed=6)
    assert torch.equal(a[0], b[0]) and not torch.equal(a[0], c[0])


def test_chance_accuracy() -> None:
    assert chance_accuracy(4) == 0.25
    with pytest.raises(ValueError, match="n_keys"):
        chance_accuracy(1)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"n_examples": 0}, "n_examples"), ({"n_examples": 5, "seq_len": 1}, "seq_len"),
     ({"n_examples": 5, "n_keys": 1}, "n_keys"), ({"n_examples": 5, "n_noise": -1}, "n_noise"),
     ({"n_examples": 2.5}, "n_examples")],
)
def test_bad_arguments(kwargs: dict, match: str) -> None:
    wrong_type = any(not isinstance(v, int) for v in kwargs.values())
    with pytest.raises(TypeError if wrong_type else ValueError, match=match):
        first_symbol_task(**kwargs)


def test_seed_must_be_int() -> None:
    with pytest.raises(TypeError, match="seed"):
        first_symbol_task(5, seed="0")
