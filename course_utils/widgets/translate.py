"""Type an English sentence, read the model's French and see where it looked.

* :func:`prepare_sentence` (pure) lower-cases and tokenises what was typed the way
  the training pairs are written (``"She is tired"`` -> ``"she is tired ."``).
* :func:`translation_view` (pure given a model) returns a dict with the translation,
  the attention matrix and a message; words outside the source vocabulary give a
  ``status == "unknown"`` view with a clear message (and close matches), not a crash.
* :func:`render_translation` (pure) turns a view into HTML: the translation and an
  attention heatmap table whose rows are the French tokens and columns the English ones.
* :func:`translate_widget` builds a text box and an HTML output with the CSS class
  ``cu-translate-output`` that updates as the text changes.
"""

from __future__ import annotations

import difflib
import html
import re
from typing import Any

import torch

from course_utils.data.vocab import EOS_TOKEN, Vocab
from course_utils.models.decoding import decode_sentences
from course_utils.models.seq2seq import Seq2Seq

__all__ = ["OUTPUT_CLASS", "prepare_sentence", "render_translation", "translate_widget", "translation_view"]

OUTPUT_CLASS = "cu-translate-output"


def prepare_sentence(text: str) -> list[str]:
    """Tokens of ``text`` written like the training sentences.

    Lower case; ``. ! ?`` split off as tokens; a final ``.`` added when the text
    does not end with ``. ! ?`` (every training sentence ends with one).
    Returns ``[]`` for blank text.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    text = re.sub(r"([.!?])", r" \1 ", text.lower())
    tokens = text.split()
    if tokens and tokens[-1] not in (".", "!", "?"):
        tokens.append(".")
    return tokens


def translation_view(
    text: str,
    model: Seq2Seq,
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    *,
    device: torch.device | str,
    beam_width: int = 1,
    max_len: int = 20,
) -> dict[str, Any]:
    """Translate ``text`` and describe the result.

    Returns a dict with:
        ``status``: ``"ok"``, ``"empty"`` (nothing typed) or ``"unknown"`` (out-of-vocabulary words);
        ``message``: one sentence for the reader;
        ``source``: the source tokens the model read (with ``<eos>``);
        ``target``: the generated tokens (with ``<eos>`` if produced);
        ``translation``: the French sentence (specials removed), ``""`` unless ok;
        ``attention``: ``[len(target)][len(source)]`` nested lists of floats, or None;
        ``unknown``: the unknown words, each with up to 3 close known words.
    """
    tokens = prepare_sentence(text)
    view: dict[str, Any] = {"status": "ok", "message": "", "source": [], "target": [], "translation": "",
                            "attention": None, "unknown": {}}
    if not tokens:
        view.update(status="empty", message="Type an English sentence, for example: she is tired .")
        return view
    unknown = [t for t in dict.fromkeys(tokens) if t not in src_vocab]
    if unknown:
        known = [w for w in src_vocab.itos[4:]]
        view["unknown"] = {w: difflib.get_close_matches(w, known, n=3) for w in unknown}
        words = ", ".join(repr(w) for w in unknown)
        view.update(
            status="unknown",
            message=f"Not in the model's vocabulary: {words}. The model only knows the {len(known)} English "
            "words of its training sentences; try another word.",
        )
        return view
    [result] = decode_sentences(model, [tokens], src_vocab, device=device, beam_width=beam_width, max_len=max_len)
    target = [tgt_vocab.itos[i] for i in result.tokens]
    view.update(
        source=tokens + [EOS_TOKEN],
        target=target,
        translation=" ".join(tgt_vocab.decode(result.tokens, stop_at_eos=True)),
        attention=None if result.attention is None else [[round(float(a), 4) for a in row] for row in result.attention],
        message="" if result.finished else f"The decoder hit the length limit ({max_len} tokens) before <eos>.",
    )
    return view


def render_translation(view: dict[str, Any]) -> str:
    """HTML for a :func:`translation_view` result: message or translation plus attention table."""
    esc = html.escape
    if view["status"] == "empty":
        return f"<div><p><i>{esc(view['message'])}</i></p></div>"
    if view["status"] == "unknown":
        hints = "".join(
            f"<li><b>{esc(w)}</b>: " + (f"did you mean {', '.join(esc(m) for m in matches)}?" if matches
                                        else "no close word in the vocabulary") + "</li>"
            for w, matches in view["unknown"].items()
        )
        return f"<div><p style='color:#b03a2e'>{esc(view['message'])}</p><ul>{hints}</ul></div>"
    parts = [
        f"<p>English: <code>{esc(' '.join(view['source']))}</code></p>",
        f"<p>French: <b>{esc(view['translation'])}</b></p>",
    ]
    if view["message"]:
        parts.append(f"<p style='color:#b03a2e'>{esc(view['message'])}</p>")
    attention = view["attention"]
    if attention is None:
        parts.append("<p><i>This model has no attention to show.</i></p>")
    else:
        cell = "padding:2px 6px;text-align:center"
        header = "".join(f"<th style='{cell}'>{esc(s)}</th>" for s in view["source"])
        rows = []
        for tok, row in zip(view["target"], attention):
            cells = "".join(
                f"<td style='{cell};background:rgba(31,119,180,{a:.3f});color:{'white' if a > 0.5 else 'black'}'>"
                f"{a:.2f}</td>"
                for a in row
            )
            rows.append(f"<tr><th style='{cell}'>{esc(tok)}</th>{cells}</tr>")
        parts.append(
            "<p>Attention (row: French token produced; column: English token; each row sums to 1):</p>"
            f"<table><tr><th></th>{header}</tr>{''.join(rows)}</table>"
        )
    return "<div>" + "".join(parts) + "</div>"


def translate_widget(
    model: Seq2Seq,
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    *,
    device: torch.device | str,
    text: str = "she is very tired .",
    beam_width: int = 1,
    max_len: int = 20,
):
    """A text box and a live translation (HTML output with class ``cu-translate-output``).

    Returns:
        ``ipywidgets.VBox([text_box, output])``.
    """
    import ipywidgets as widgets

    box = widgets.Text(value=text, description="English:", placeholder="she is tired .",
                       layout=widgets.Layout(width="420px"))

    def show(value: str) -> str:
        return render_translation(translation_view(value, model, src_vocab, tgt_vocab, device=device,
                                                   beam_width=beam_width, max_len=max_len))

    out = widgets.HTML(value=show(text))
    out.add_class(OUTPUT_CLASS)

    def _update(change: dict) -> None:
        out.value = show(change["new"])

    box.observe(_update, names="value")
    return widgets.VBox([box, out])
