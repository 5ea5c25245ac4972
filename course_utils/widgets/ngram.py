"""Pick the two context words of a trigram model, see its next-word distribution.

Used by lecture 01 ("From n-grams to RNNs"). The widget does not know about any
particular model: it takes a ``predict(u, v)`` function that returns the
distribution ``p(w | u, v)`` as a ``{word: probability}`` mapping.

* :func:`top_k` and :func:`format_distribution` — pure, testable without a browser;
* :func:`ngram_widget` — two ``Dropdown`` controls (CSS class ``cu-ngram-dropdown``)
  and an ``ipywidgets.HTML`` output (CSS class ``cu-ngram-output``).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from course_utils._validate import require_int

__all__ = ["top_k", "format_distribution", "ngram_widget"]

Predict = Callable[[str, str], Mapping[str, float]]


def top_k(dist: Mapping[str, float], k: int = 5) -> list[tuple[str, float]]:
    """The ``k`` most probable words, most probable first (ties broken alphabetically).

    Args:
        dist: ``{word: probability}``; probabilities must be finite and >= 0.
        k: how many words to keep (>= 1); fewer come back if ``dist`` is smaller.

    Raises:
        TypeError: ``dist`` is not a mapping.
        TypeError: ``k`` is not an int.
        ValueError: ``k < 1`` or a probability is negative or not finite.
    """
    if not isinstance(dist, Mapping):
        raise TypeError(f"dist must be a mapping {{word: probability}}, got {type(dist).__name__}")
    require_int(k, "k", low=1)
    for word, p in dist.items():
        p = float(p)
        if not math.isfinite(p) or p < 0:
            raise ValueError(f"probability of {word!r} must be finite and >= 0, got {p}")
    return sorted(((w, float(p)) for w, p in dist.items()), key=lambda wp: (-wp[1], wp[0]))[:k]


def format_distribution(context: Sequence[str], dist: Mapping[str, float], k: int = 5, digits: int = 3) -> str:
    """HTML for ``p(w | context)``: the context, then one bar per top-``k`` word.

    Args:
        context: the context words, e.g. ``("fluffy", "gray")``.
        dist: ``{word: probability}`` for the next word.
        k: number of words to show.
        digits: decimals for the probabilities.

    Returns:
        An HTML string, e.g. containing ``p(w | fluffy gray)`` and ``cat 0.912``.
    """
    shown = top_k(dist, k)
    ctx = html.escape(" ".join(context))
    rows = []
    for word, p in shown:
        width = max(1, round(200 * p))
        rows.append(
            f"<tr><td style='padding-right:8px'>{html.escape(word)}</td>"
            f"<td><div style='background:#4c72b0;height:12px;width:{width}px'></div></td>"
            f"<td style='padding-left:8px'>{p:.{digits}f}</td></tr>"
        )
    rest = 1.0 - sum(p for _, p in shown)
    return (
        f"<div style='font-family: monospace'><b>p(w | {ctx})</b>, top {len(shown)} of {len(dist)} words"
        f"<table>{''.join(rows)}</table>"
        f"all other words together: {max(rest, 0.0):.{digits}f}</div>"
    )


def ngram_widget(predict: Predict, vocab: Sequence[str], context: tuple[str, str] | None = None, k: int = 6) -> Any:
    """Two dropdowns for the context ``(w_{i-2}, w_{i-1})`` and the model's next-word distribution.

    Args:
        predict: ``predict(u, v) -> {word: p(word | u, v)}``.
        vocab: the words the dropdowns offer (in display order).
        context: the starting context; defaults to the first two words of ``vocab``.
        k: number of words to show.

    Returns:
        An ``ipywidgets.VBox`` with attributes ``dropdowns`` (the two
        ``Dropdown`` widgets) and ``output`` (the ``HTML`` widget, CSS class
        ``cu-ngram-output``).
    """
    import ipywidgets as widgets

    if not callable(predict):
        raise TypeError(f"predict must be a function predict(u, v) -> {{word: prob}}, got {type(predict).__name__}")
    vocab = list(vocab)
    if len(vocab) < 1:
        raise ValueError("vocab is empty; pass the list of words the dropdowns should offer")
    if context is None:
        context = (vocab[0], vocab[min(1, len(vocab) - 1)])
    for word in context:
        if word not in vocab:
            raise ValueError(f"context word {word!r} is not in vocab; pick one of {vocab[:10]}...")

    dropdowns = []
    for label, word in zip(("w_{i-2}", "w_{i-1}"), context):
        dd = widgets.Dropdown(options=vocab, value=word, description=label)
        dd.add_class("cu-ngram-dropdown")
        dropdowns.append(dd)
    output = widgets.HTML()
    output.add_class("cu-ngram-output")

    def refresh(_change: Any = None) -> None:
        u, v = dropdowns[0].value, dropdowns[1].value
        output.value = format_distribution((u, v), predict(u, v), k=k)

    for dd in dropdowns:
        dd.observe(refresh, names="value")
    refresh()
    box = widgets.VBox([widgets.HBox(dropdowns), output])
    box.dropdowns = dropdowns
    box.output = output
    return box
