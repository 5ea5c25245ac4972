from collections import Counter

import pytest

from course_utils.data.splits import check_fractions, stratified_split, train_val_test_split


def test_split_sizes_cover_and_disjoint():
    items = list(range(100))
    train, val, test = train_val_test_split(items, seed=0)
    assert (len(train), len(val), len(test)) == (80, 10, 10)
    assert sorted(train + val + test) == items


def test_same_seed_same_split_other_seed_differs():
    items = [f"x{i}" for i in range(50)]
    assert train_val_test_split(items, seed=3) == train_val_test_split(items, seed=3)
    assert train_val_test_split(items, seed=3) != train_val_test_split(items, seed=4)


def test_stratified_keeps_label_proportions():
    labels = ["a"] * 60 + ["b"] * 30 + ["c"] * 10
    items = list(range(100))
    train, val, test = train_val_test_split(items, labels=labels, seed=1)
    lab = dict(zip(items, labels))
    assert Counter(lab[i] for i in train) == {"a": 48, "b": 24, "c": 8}
    assert Counter(lab[i] for i in val) == {"a": 6, "b": 3, "c": 1}
    assert Counter(lab[i] for i in test) == {"a": 6, "b": 3, "c": 1}
    assert stratified_split(items, labels, seed=1) == (train, val, test)


def test_two_fractions():
    train, val = train_val_test_split(list(range(10)), fractions=(0.9, 0.1))
    assert len(train) == 9 and len(val) == 1


@pytest.mark.parametrize(
    "fractions", [(0.0, 0.5, 0.5), (1.0, 0.5, -0.5), (1.2, -0.1, -0.1), (0.5, 0.5, 0.0), (0.8, 0.1)]
)
def test_fraction_outside_open_interval_or_bad_sum(fractions):
    with pytest.raises(ValueError, match="fraction"):
        train_val_test_split(list(range(10)), fractions=fractions)


def test_bad_fraction_shapes_and_label_length():
    with pytest.raises(ValueError, match="2 .* or 3"):
        check_fractions((0.5, 0.2, 0.2, 0.1))
    with pytest.raises(ValueError, match="sequence"):
        check_fractions(0.8)
    with pytest.raises(ValueError, match="labels has 2 entries"):
        train_val_test_split([1, 2, 3], labels=[0, 1])
