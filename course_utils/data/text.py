"""Text helpers shared by the data sets: accent stripping.

>>> strip_accents("Ślusàrski, prête, Müller")
'Slusarski, prete, Muller'
"""

from __future__ import annotations

import unicodedata

__all__ = ["strip_accents"]


def strip_accents(text: str) -> str:
    """Drop the accents: decompose (Unicode NFD) and leave out the combining marks.

    ``é`` becomes ``e`` and ``ü`` becomes ``u``; a letter that has no decomposition (``ł``,
    ``ß``, Cyrillic) is kept as it is, so callers decide what to do with it (the names data set
    drops or transliterates it, :func:`course_utils.data.fold_name`; the sentence pairs replace
    it by a space). Every accent folding of the course goes through this one function.

    Args:
        text: any string.
    Returns:
        the folded string (it may be shorter than ``text``, never longer).
    """
    if not isinstance(text, str):
        raise TypeError(f"strip_accents expects a str, got {type(text).__name__}")
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
