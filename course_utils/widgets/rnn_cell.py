"""Step through an unrolled RNN one time step at a time.

The notebook computes the whole unrolled pass first (every hidden state ``h_t``
and every next-word distribution ``ŵ_{t+1} = softmax(S h_t)``); the widget only
shows it, one step per slider position::

    >>> from course_utils.widgets.rnn_cell import rnn_cell_widget
    >>> rnn_cell_widget(tokens, hidden, probs, vocab)   # doctest: +SKIP

Two layers, so the logic is testable without a browser:

* :func:`rnn_step_summary` (pure) picks out what step ``t`` shows: the words
  read so far, ``h_t`` and the ``top_k`` most likely next words.
* :func:`render_rnn_step` (pure) turns that summary into an HTML string.
* :func:`rnn_cell_widget` wires an ``IntSlider`` (CSS class ``cu-rnn-slider``) to
  an ``HTML`` output that carries the CSS class ``cu-rnn-output``.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import numpy as np

from course_utils._validate import require_int

__all__ = ["OUTPUT_CLASS", "SLIDER_CLASS", "rnn_step_summary", "render_rnn_step", "rnn_cell_widget"]

OUTPUT_CLASS = "cu-rnn-output"
SLIDER_CLASS = "cu-rnn-slider"


def _as_2d_array(name: str, value: Any) -> np.ndarray:
    """Turn a NumPy array, torch tensor or nested list into a float (T, K) array."""
    if hasattr(value, "detach"):  # a torch tensor, possibly on the GPU
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}") from exc
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must have shape (T, ...) with 2 dimensions, got shape {arr.shape}; "
            "for a batch of one, index it first, e.g. hidden[0]"
        )
    return arr


def _check_inputs(
    tokens: Sequence[str], hidden: Any, probs: Any, vocab: Sequence[str]
) -> tuple[list[str], np.ndarray, np.ndarray, list[str]]:
    if isinstance(tokens, str) or not all(isinstance(tok, str) for tok in tokens):
        raise TypeError("tokens must be a list of strings (the input words w_1..w_T), e.g. sentence.split()")
    if isinstance(vocab, str) or not all(isinstance(word, str) for word in vocab):
        raise TypeError("vocab must be a list of strings, one per row of S (index -> word)")
    tokens, vocab = list(tokens), list(vocab)
    h = _as_2d_array("hidden", hidden)
    p = _as_2d_array("probs", probs)
    if len(tokens) == 0:
        raise ValueError("tokens is empty: give at least one input word")
    if h.shape[0] != len(tokens) or p.shape[0] != len(tokens):
        raise ValueError(
            f"need one hidden state and one distribution per token: {len(tokens)} tokens, "
            f"hidden has {h.shape[0]} rows, probs has {p.shape[0]} rows"
        )
    if p.shape[1] != len(vocab):
        raise ValueError(f"probs has {p.shape[1]} columns but vocab has {len(vocab)} words; they must match")
    if np.any(p < 0) or not np.allclose(p.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError("each row of probs must be a distribution (non-negative, summing to 1): apply softmax first")
    return tokens, h, p, vocab


def rnn_step_summary(
    tokens: Sequence[str],
    hidden: Any,
    probs: Any,
    vocab: Sequence[str],
    t: int,
    top_k: int = 5,
    targets: Sequence[str | None] | None = None,
) -> dict[str, Any]:
    """What the widget shows at time step ``t`` (pure: no widgets, no printing).

    Args:
        tokens: the T input words ``w_1..w_T`` (strings).
        hidden: hidden states, shape ``(T, H)``; row ``t-1`` is ``h_t``.
        probs: next-word distributions, shape ``(T, V)``; row ``t-1`` is
            ``ŵ_{t+1} = softmax(S h_t)``.
        vocab: the V words, ``vocab[k]`` is the word of column ``k``.
        t: time step, 1-based, ``1 <= t <= T``.
        top_k: how many of the most likely next words to list.
        targets: the T words that really came next (``targets[t-1]`` follows
            ``tokens[t-1]``, e.g. ``tokens[1:] + ["EOS"]``); default
            ``tokens[1:] + [None]`` (nothing known after the last input).

    Returns:
        ``{"t", "read" (tokens w_1..w_t), "input" (w_t), "h" (list of H floats),
        "top" (list of (word, prob) pairs, most likely first), "target"
        (w_{t+1} or None at the last step), "target_prob" (its probability or None)}``.
    """
    tokens, h, p, vocab = _check_inputs(tokens, hidden, probs, vocab)
    n_steps = len(tokens)
    require_int(t, "t (the time step, 1 .. the number of tokens)", low=1, high=n_steps)
    require_int(top_k, "top_k", low=1)
    row = p[t - 1]
    order = np.argsort(-row, kind="stable")[: min(int(top_k), len(vocab))]
    if targets is None:
        targets = tokens[1:] + [None]
    targets = list(targets)
    if len(targets) != n_steps:
        raise ValueError(f"targets must have one entry per token ({n_steps}), got {len(targets)}")
    target = targets[t - 1]
    target_prob = None
    if target is not None and target in vocab:
        target_prob = float(row[vocab.index(target)])
    return {
        "t": int(t),
        "read": tokens[:t],
        "input": tokens[t - 1],
        "h": [float(v) for v in h[t - 1]],
        "top": [(vocab[k], float(row[k])) for k in order],
        "target": target,
        "target_prob": target_prob,
    }


def render_rnn_step(
    tokens: Sequence[str],
    hidden: Any,
    probs: Any,
    vocab: Sequence[str],
    t: int,
    top_k: int = 5,
    targets: Sequence[str | None] | None = None,
) -> str:
    """HTML for time step ``t``: the words read, ``h_t`` and the top next words.

    Same arguments as :func:`rnn_step_summary`. Values are rounded to 3
    decimals; each probability gets a bar whose width is proportional to it.
    """
    s = rnn_step_summary(tokens, hidden, probs, vocab, t, top_k, targets)
    esc = html.escape
    read = " ".join(esc(w) for w in s["read"][:-1])
    read = (read + " " if read else "") + f"<b>{esc(s['input'])}</b>"
    h_cells = "".join(f"<td style='padding:2px 6px'>{v:.3f}</td>" for v in s["h"])
    rows = []
    for word, prob in s["top"]:
        mark = " &larr; actual next word" if word == s["target"] else ""
        bar = f"<div style='background:#4c72b0;height:10px;width:{200 * prob:.1f}px'></div>"
        rows.append(
            f"<tr><td style='padding:2px 6px'>{esc(word)}</td>"
            f"<td style='padding:2px 6px'>{prob:.3f}</td><td>{bar}</td><td>{mark}</td></tr>"
        )
    if s["target"] is None:
        target_line = "last step: nothing left to predict"
    elif s["target_prob"] is None:
        target_line = f"actual next word: {esc(s['target'])} (not in the vocabulary)"
    else:
        target_line = f"actual next word: {esc(s['target'])}, p = {s['target_prob']:.3f}"
    return (
        f"<div><p>t = {s['t']}: read &nbsp;{read}</p>"
        f"<p>h<sub>{s['t']}</sub> = </p><table><tr>{h_cells}</tr></table>"
        f"<p>next-word distribution softmax(S h<sub>{s['t']}</sub>), top {len(s['top'])}:</p>"
        f"<table>{''.join(rows)}</table><p>{target_line}</p></div>"
    )


def rnn_cell_widget(
    tokens: Sequence[str],
    hidden: Any,
    probs: Any,
    vocab: Sequence[str],
    top_k: int = 5,
    targets: Sequence[str | None] | None = None,
):
    """A slider over t and an HTML view of step t (class ``cu-rnn-output``).

    Args: as :func:`rnn_step_summary` (without ``t``).

    Returns:
        An ``ipywidgets.VBox`` holding the ``IntSlider`` (``.children[0]``) and
        the ``HTML`` output (``.children[1]``). It runs in a kernel without a
        front end too; there it just is not drawn.
    """
    import ipywidgets as widgets

    tokens, h, p, vocab = _check_inputs(tokens, hidden, probs, vocab)
    slider = widgets.IntSlider(value=1, min=1, max=len(tokens), step=1, description="time t",
                               continuous_update=True)
    slider.add_class(SLIDER_CLASS)
    rnn_step_summary(tokens, h, p, vocab, 1, top_k, targets)  # check targets before drawing
    out = widgets.HTML(value=render_rnn_step(tokens, h, p, vocab, 1, top_k, targets))
    out.add_class(OUTPUT_CLASS)

    def _update(change: dict) -> None:
        out.value = render_rnn_step(tokens, h, p, vocab, int(change["new"]), top_k, targets)

    slider.observe(_update, names="value")
    return widgets.VBox([slider, out])
