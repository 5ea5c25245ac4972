"""Generate names from a language-conditioned character model: pick a language,
type the first letters, move the temperature.

Two layers, so the logic is testable without a browser:

* :func:`generate_names` (pure) draws ``n`` names with a seeded generator, so the
  same controls always show the same names;
* :func:`render_generated` (pure) turns the controls into an HTML string: the
  names, or a readable message when the start letters cannot be used;
* :func:`generate_widget` wires a language ``Dropdown``, a start-letters ``Text``,
  a temperature ``FloatSlider`` and a "draw again" ``Button`` to an ``HTML``
  output that carries the CSS class ``cu-generate-output`` (the text box and the
  slider carry ``cu-generate-start`` and ``cu-generate-temperature``, for browser tests).

>>> from course_utils.widgets.generate import generate_widget
>>> generate_widget(model, vocab, names.languages)   # doctest: +SKIP
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import torch

from course_utils._validate import require_int
from course_utils.models.chargen import CharGenerator, sample

__all__ = [
    "OUTPUT_CLASS", "START_CLASS", "TEMPERATURE_CLASS", "generate_names", "generate_widget", "render_generated",
]

OUTPUT_CLASS = "cu-generate-output"
START_CLASS = "cu-generate-start"  # the start-letters text box
TEMPERATURE_CLASS = "cu-generate-temperature"  # the temperature slider


def _check_model(model: Any, languages: Sequence[str]) -> list[str]:
    if not isinstance(model, CharGenerator):
        raise TypeError(f"model must be a course_utils.models.chargen.CharGenerator, got {type(model).__name__}")
    if isinstance(languages, str) or not all(isinstance(lang, str) for lang in languages):
        raise TypeError("languages must be a list of language names, in label order (e.g. names.languages)")
    languages = list(languages)
    if model.n_categories != len(languages):
        raise ValueError(
            f"the model is conditioned on {model.n_categories} categories but {len(languages)} "
            "languages were given; pass the languages the model was trained with"
        )
    return languages


def generate_names(
    model: CharGenerator,
    vocab: Any,
    languages: Sequence[str],
    language: str,
    start: str = "",
    temperature: float = 0.8,
    *,
    n: int = 5,
    top_k: int | None = None,
    seed: int = 0,
    max_len: int = 20,
) -> list[str]:
    """Draw ``n`` names in ``language`` beginning with ``start`` (pure, repeatable).

    Args:
        model: a trained, language-conditioned :class:`CharGenerator`.
        vocab: its character vocabulary.
        languages: language names in label order.
        language: one of ``languages``.
        start: first letters, given to the model rather than sampled.
        temperature: 0 (greedy: all ``n`` names equal) and up.
        n: how many names.
        top_k: sample only among the ``k`` most likely characters.
        seed: seed of the random draws; the same arguments give the same names.
        max_len: longest name, in characters.

    Raises:
        ValueError: unknown language, letters outside the vocabulary, bad temperature.
    """
    languages = _check_model(model, languages)
    if language not in languages:
        raise ValueError(f"unknown language {language!r}; choose one of: {', '.join(languages)}")
    if not isinstance(start, str):
        raise TypeError(f"start must be a string, got {type(start).__name__}")
    unknown = sorted({ch for ch in start if ch not in vocab})
    if unknown:
        raise ValueError(f"the model has never seen {', '.join(map(repr, unknown))}: use letters, space or .,;'")
    require_int(n, "n", low=1)
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(seed)
    category = languages.index(language)
    return [
        sample(model, vocab, start, category=category, temperature=temperature, top_k=top_k,
               max_len=max_len, generator=generator)
        for _ in range(n)
    ]


def render_generated(
    model: CharGenerator,
    vocab: Any,
    languages: Sequence[str],
    language: str,
    start: str = "",
    temperature: float = 0.8,
    *,
    n: int = 5,
    top_k: int | None = None,
    seed: int = 0,
) -> str:
    """HTML for the widget: a header naming the settings, then one name per line.

    A ``ValueError`` from :func:`generate_names` (e.g. a digit in the start letters)
    becomes a message in the HTML instead of an exception, so typing never breaks
    the widget.
    """
    header = (
        f"<b>{html.escape(language)}</b>, start <code>{html.escape(repr(start))}</code>, "
        f"temperature {temperature:.2f}" + (f", top-k {top_k}" if top_k else "")
    )
    try:
        names = generate_names(model, vocab, languages, language, start, temperature,
                               n=n, top_k=top_k, seed=seed)
    except ValueError as err:
        return f"<div><p>{header}</p><p style='color:#c44e52'>{html.escape(str(err))}</p></div>"
    items = "".join(f"<li><code>{html.escape(name)}</code></li>" for name in names)
    return f"<div><p>{header}</p><ol>{items}</ol></div>"


def generate_widget(
    model: CharGenerator,
    vocab: Any,
    languages: Sequence[str],
    *,
    language: str | None = None,
    start: str = "",
    temperature: float = 0.8,
    n: int = 5,
    top_k: int | None = None,
    seed: int = 0,
):
    """Language, start letters and temperature controls over freshly generated names.

    Returns:
        ``ipywidgets.VBox([controls, output])``; ``controls.children`` are the
        language ``Dropdown``, the start ``Text``, the temperature ``FloatSlider``
        and the "draw again" ``Button`` (which moves the seed on); ``output`` is
        the ``HTML`` view with CSS class ``cu-generate-output``.
    """
    import ipywidgets as widgets

    languages = _check_model(model, languages)
    language = languages[0] if language is None else language
    if language not in languages:
        raise ValueError(f"unknown language {language!r}; choose one of: {', '.join(languages)}")
    pick = widgets.Dropdown(options=languages, value=language, description="language")
    letters = widgets.Text(value=start, description="start", placeholder="first letters",
                           continuous_update=True)
    temp = widgets.FloatSlider(value=temperature, min=0.0, max=2.0, step=0.05,
                               description="temperature", readout_format=".2f",
                               style={"description_width": "initial"})
    letters.add_class(START_CLASS)
    temp.add_class(TEMPERATURE_CLASS)
    again = widgets.Button(description="draw again")
    state = {"seed": seed}
    out = widgets.HTML()
    out.add_class(OUTPUT_CLASS)

    def _update(_change: Any = None) -> None:
        out.value = render_generated(model, vocab, languages, pick.value, letters.value, temp.value,
                                     n=n, top_k=top_k, seed=state["seed"])

    def _redraw(_button: Any) -> None:
        state["seed"] += 1
        _update()

    for control in (pick, letters, temp):
        control.observe(_update, names="value")
    again.on_click(_redraw)
    _update()
    return widgets.VBox([widgets.HBox([pick, letters, temp, again]), out])
