"""Choose the probability the model gives each true token; watch the loss move.

The sequence loss of a language model is built from one number per token, the
probability ``p_i`` the model gave the word that really came next:

    sum of logs          Σ_i log p_i
    loss (mean NLL)      -(1/N) Σ_i log p_i
    perplexity           exp(loss)

Natural logarithms throughout (what ``torch.log`` and ``nn.CrossEntropyLoss`` use).

* :func:`token_loss_summary` (pure) computes those three numbers and the
  per-token ``-log p_i``.
* :func:`render_token_loss` (pure) turns them into an HTML table.
* :func:`token_loss_widget` gives one log-scale slider per token (CSS class
  ``cu-loss-slider``) and an HTML output with the CSS class ``cu-loss-output``.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

__all__ = ["OUTPUT_CLASS", "SLIDER_CLASS", "token_loss_summary", "render_token_loss", "token_loss_widget"]

OUTPUT_CLASS = "cu-loss-output"
SLIDER_CLASS = "cu-loss-slider"


def _check(tokens: Sequence[str], probs: Sequence[float]) -> tuple[list[str], list[float]]:
    if isinstance(tokens, str) or not all(isinstance(tok, str) for tok in tokens):
        raise TypeError("tokens must be a list of strings, one per predicted token, e.g. ['The', 'fluffy', ..., 'EOS']")
    tokens = list(tokens)
    if hasattr(probs, "tolist"):  # NumPy array or torch tensor
        probs = probs.tolist()
    try:
        probs = [float(p) for p in probs]
    except (TypeError, ValueError) as exc:
        raise TypeError(f"probs must be a sequence of numbers, got {type(probs).__name__}") from exc
    if len(tokens) != len(probs):
        raise ValueError(f"need one probability per token: got {len(tokens)} tokens and {len(probs)} probabilities")
    if not tokens:
        raise ValueError("tokens is empty: the loss of an empty sequence is undefined")
    bad = [(tok, p) for tok, p in zip(tokens, probs) if not (0.0 < p <= 1.0)]
    if bad:
        tok, p = bad[0]
        raise ValueError(
            f"probabilities must lie in (0, 1]; token {tok!r} has p = {p}. "
            "A probability of 0 makes -log p infinite: smooth it or clip it to a small positive value"
        )
    return tokens, probs


def token_loss_summary(tokens: Sequence[str], probs: Sequence[float]) -> dict[str, Any]:
    """Sequence loss from the per-token probabilities of the true words (pure).

    Args:
        tokens: the N predicted tokens (strings), e.g. ``w_1..w_T`` then ``EOS``.
        probs: N probabilities in (0, 1]; ``probs[i]`` is p(tokens[i] | history).

    Returns:
        ``{"tokens", "probs", "nll" (list of -log p_i), "sum_log" (Σ log p_i),
        "mean_nll" (-sum_log / N), "perplexity" (exp(mean_nll)), "n" (N)}``.
    """
    tokens, probs = _check(tokens, probs)
    logs = [math.log(p) for p in probs]
    sum_log = math.fsum(logs)
    mean_nll = -sum_log / len(probs)
    return {
        "tokens": tokens,
        "probs": probs,
        "nll": [-v for v in logs],
        "sum_log": sum_log,
        "mean_nll": mean_nll,
        "perplexity": math.exp(mean_nll),
        "n": len(probs),
    }


def render_token_loss(tokens: Sequence[str], probs: Sequence[float]) -> str:
    """HTML table: one row per token (p, -log p and a bar), then the totals.

    Same arguments as :func:`token_loss_summary`; numbers rounded to 4 decimals.
    """
    s = token_loss_summary(tokens, probs)
    biggest = max(s["nll"]) or 1.0
    rows = []
    for tok, p, nll in zip(s["tokens"], s["probs"], s["nll"]):
        bar = f"<div style='background:#c44e52;height:10px;width:{150 * nll / biggest:.1f}px'></div>"
        rows.append(
            f"<tr><td style='padding:2px 6px'>{html.escape(tok)}</td><td style='padding:2px 6px'>{p:.4f}</td>"
            f"<td style='padding:2px 6px'>{nll:.4f}</td><td>{bar}</td></tr>"
        )
    return (
        "<div><table><tr><th>token</th><th>p</th><th>-log p</th><th></th></tr>"
        + "".join(rows)
        + "</table>"
        + f"<p>sum of logs = {s['sum_log']:.4f} &nbsp;|&nbsp; loss = -sum/N = {s['mean_nll']:.4f} "
        + f"(N = {s['n']}) &nbsp;|&nbsp; perplexity = exp(loss) = {s['perplexity']:.4f}</p></div>"
    )


def token_loss_widget(tokens: Sequence[str], probs: Sequence[float], min_prob: float = 1e-4):
    """One log-scale slider per token and a live loss table (class ``cu-loss-output``).

    Args:
        tokens: the N predicted tokens.
        probs: the starting probabilities, each in [min_prob, 1].
        min_prob: the smallest probability a slider reaches (default 1e-4).

    Returns:
        ``ipywidgets.VBox([sliders_box, output])``; ``sliders_box.children`` are
        the ``FloatLogSlider`` s in token order, ``output`` is the ``HTML`` view.
    """
    import ipywidgets as widgets

    tokens, probs = _check(tokens, probs)
    if not 0.0 < min_prob < 1.0:
        raise ValueError(f"min_prob must be in (0, 1), got {min_prob}")
    low = math.log10(min_prob)
    sliders = [
        widgets.FloatLogSlider(
            value=max(p, min_prob), base=10, min=low, max=0.0, step=0.01,
            description=f"p({tok})", readout_format=".4f",
            style={"description_width": "initial"},
        )
        for tok, p in zip(tokens, probs)
    ]
    for slider in sliders:
        slider.add_class(SLIDER_CLASS)
    out = widgets.HTML(value=render_token_loss(tokens, [s.value for s in sliders]))
    out.add_class(OUTPUT_CLASS)

    def _update(_change: dict) -> None:
        out.value = render_token_loss(tokens, [s.value for s in sliders])

    for slider in sliders:
        slider.observe(_update, names="value")
    return widgets.VBox([widgets.VBox(sliders), out])
