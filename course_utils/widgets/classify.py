"""A text box that classifies the name the student types (top languages with probabilities).

>>> classify_widget(model, vocab, languages)      # in a notebook: type a name, watch the bars

The work is split in two so it can be tested without a browser:

* :func:`classify_html` is a pure function ``text -> HTML`` (what the output area shows);
* :func:`classify_widget` builds the ipywidgets (``Text`` box with CSS class ``cu-classify-input``,
  ``HTML`` output with class ``cu-classify-output``) and wires one to the other.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from course_utils.data.names import fold_name
from course_utils.models.charrnn import predict_topk

__all__ = ["INPUT_CLASS", "OUTPUT_CLASS", "classify_html", "classify_widget", "split_known"]

INPUT_CLASS = "cu-classify-input"
OUTPUT_CLASS = "cu-classify-output"


def split_known(text: str, vocab: Any) -> tuple[str, list[str]]:
    """Fold as the data was folded, then separate what the model can read from what it cannot.

    Folding is :func:`course_utils.data.fold_name`, the one the names data went through
    (``ł -> l``, ``ß -> ss``, Cyrillic ``Иванов -> Ivanov``, accents dropped, first letter
    capitalised).

    Args:
        text: what was typed (surrounding spaces are stripped).
        vocab: a character :class:`course_utils.data.Vocab` (supports ``char in vocab``).

    Returns:
        ``(known, unknown)``: the folded text without the characters the model never saw, and
        the distinct typed characters that were dropped (nothing survives folding them, or what
        survives is not in ``vocab``), in order of first appearance.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    text = text.strip()
    folded = fold_name(text)
    known = " ".join("".join(c for c in folded if c in vocab).split())
    unknown: list[str] = []
    for c in text:
        if c.isspace() or c in unknown:
            continue
        as_letters = fold_name(c)
        if not as_letters or any(ch not in vocab for ch in as_letters):
            unknown.append(c)
    return known, unknown


def classify_html(
    text: str,
    model: nn.Module,
    vocab: Any,
    languages: Sequence[str],
    k: int = 3,
    device: torch.device | str | None = None,
) -> str:
    """The HTML the widget shows for ``text``: the ``k`` most likely languages as bars.

    The name is folded as the training names were (:func:`course_utils.data.fold_name`: ``é -> e``,
    ``ł -> l``, Cyrillic transliterated); when that changes it, the note says what the model read.
    Characters with no form in the training names (digits, ``-``, ...) are left out and named in
    a note, so the student knows the prediction ignores them; if nothing known is left, only the
    note is shown.

    Returns:
        an HTML fragment (a ``<div>``); ``text`` is escaped wherever it appears.
    """
    known, unknown = split_known(text, vocab)
    parts: list[str] = []
    if unknown:
        shown = " ".join(f"<code>{html.escape(c)}</code>" for c in unknown)
        parts.append(
            f"<p class='cu-classify-note'>Unknown characters ignored (not in the training names): {shown}. "
            "The model only knows the letters of its training names; try plain ASCII letters.</p>"
        )
    if known and known != " ".join(text.split()):
        parts.append(f"<p class='cu-classify-note'>Read as <b>{html.escape(known)}</b>, folded to the "
                     "letters of the training names.</p>")
    if not known:
        if not unknown:
            parts.append("<p>Type a name (e.g. <code>Nakamura</code>) to see the model's guesses.</p>")
        return "<div>" + "".join(parts) + "</div>"
    ranked = predict_topk(model, known, vocab, languages, k=k, device=device)
    rows = []
    for language, p in ranked:
        width = max(1, round(100 * p))
        rows.append(
            "<tr>"
            f"<td style='padding-right:8px'>{html.escape(language)}</td>"
            f"<td style='width:160px'><div style='background:#4a90d9;height:12px;width:{width}%'></div></td>"
            f"<td style='padding-left:8px;font-family:monospace'>{p:.3f}</td>"
            "</tr>"
        )
    parts.insert(0, f"<p><b>{html.escape(known)}</b>: top {len(ranked)} languages</p>")
    parts.insert(1, "<table>" + "".join(rows) + "</table>")
    return "<div>" + "".join(parts) + "</div>"


def classify_widget(
    model: nn.Module,
    vocab: Any,
    languages: Sequence[str],
    k: int = 3,
    value: str = "Nakamura",
    device: torch.device | str | None = None,
) -> Any:
    """A ``Text`` box and an ``HTML`` area that updates as the student types.

    Returns:
        an ``ipywidgets.VBox``; ``box.children == (text, output)``.
    """
    import ipywidgets as widgets

    text = widgets.Text(value=value, description="Name:", placeholder="type a surname",
                        continuous_update=True)
    text.add_class(INPUT_CLASS)
    output = widgets.HTML(value=classify_html(value, model, vocab, languages, k=k, device=device))
    output.add_class(OUTPUT_CLASS)

    def _update(change: dict) -> None:
        output.value = classify_html(change["new"], model, vocab, languages, k=k, device=device)

    text.observe(_update, names="value")
    return widgets.VBox([text, output])
