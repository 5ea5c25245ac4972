"""Tests for course_utils.data.text (accent folding)."""

from __future__ import annotations

import pytest

from course_utils.data import normalize_string, unicode_to_ascii
from course_utils.data.text import strip_accents


@pytest.mark.parametrize(("text", "folded"), [
    ("Ślusàrski", "Slusarski"),
    ("prête", "prete"),
    ("Müller", "Muller"),
    ("Gauß łódź", "Gauß łodz"),  # no decomposition: kept for the caller to decide
    ("Nakamura", "Nakamura"),
    ("", ""),
])
def test_strip_accents(text: str, folded: str) -> None:
    assert strip_accents(text) == folded


def test_the_data_sets_fold_with_it() -> None:
    # names keep only the tutorial's letters after folding; pairs also lower-case and split punctuation
    assert unicode_to_ascii("Gauß Łódź") == "Gau odz"  # ß and Ł have no decomposition: dropped
    assert normalize_string("Je suis prête!") == "je suis prete !"


def test_strip_accents_rejects_non_strings() -> None:
    with pytest.raises(TypeError, match="expects a str, got int"):
        strip_accents(3)  # the wrong type is the point of the test
