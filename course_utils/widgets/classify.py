"""A text box that classifies the name the student types (top languages with probabilities).

>>> classify_widget(model, vocab, languages)      # in a notebook: type a name, watch the bars

The work is split in two so it can be tested without a browser:

* :func:`classify_html` is a pure function ``text -> HTML`` (what the output area shows);
* :func:`classify_widget` builds the ipywidgets (``Text`` box with CSS class ``cu-classify-input``,
  ``HTML`` output with class ``cu-classify-output``) and wires one to the other.
"""

from __future__ import annotations

import html
import unicodedata
from typing import Any, Sequence

import torch
from torch import nn

from course_utils.models.charrnn import predict_topk

__all__ = ["INPUT_CLASS", "OUTPUT_CLASS", "classify_html", "classify_widget", "fold_accents", "split_known"]

INPUT_CLASS = "cu-classify-input"
OUTPUT_CLASS = "cu-classify-output"


def fold_accents(text: str) -> str:
    """Drop accents the way the names data was prepared (``"Müller" -> "Muller"``).

    Unicode NFD splits ``ü`` into ``u`` plus a combining mark; the marks are removed.
    """
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def split_known(text: str, vocab: Any) -> tuple[str, list[str]]:
    """Fold accents, then separate the characters the model knows from those it has never seen.

    Args:
        text: what was typed (surrounding spaces are stripped).
        vocab: a character :class:`course_utils.data.Vocab` (supports ``char in vocab``).

    Returns:
        ``(known, unknown)``: the folded text without its unknown characters, and the distinct
        unknown characters in order of first appearance.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    text = fold_accents(text.strip())
    known = " ".join("".join(c for c in text if c in vocab).split())
    unknown: list[str] = []
    for c in text:
        if c not in vocab and c not in unknown:
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

    Accents are folded as in the training data (``é -> e``). Characters the model never saw in
    training (digits, ``ß``, Cyrillic letters, ...) are left out and named in a note, so the student knows the prediction ignores them; if nothing
    known is left, only the note is shown.

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
