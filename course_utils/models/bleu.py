"""Corpus BLEU from sacrebleu, the maintained reference implementation.

BLEU compares n-grams (n = 1..4) of the system's translations with those of
reference translations, pooled over the whole corpus, and multiplies their
geometric mean precision by a brevity penalty. It is reported on a 0-100 scale.

Tokenisation: the course's sentences are already tokenised (lower case, one
space between tokens, punctuation split off, the way the tutorial normalises
its pairs), so the default here is sacrebleu's ``tokenize="none"``: BLEU counts
exactly the tokens the model produced. ``"13a"`` (sacrebleu's default, the WMT
standard) re-tokenises raw text; use it to compare with published scores on
untokenised text. On already tokenised text the two differ only where 13a would
split a token further (e.g. an apostrophe inside a word).

Always score held-out pairs: BLEU on training pairs measures memory, not translation.
"""

from __future__ import annotations

from typing import Sequence

import sacrebleu

__all__ = ["TOKENIZERS", "corpus_bleu"]

TOKENIZERS = ("none", "13a")


def corpus_bleu(
    hypotheses: Sequence[str],
    references: Sequence[str] | Sequence[Sequence[str]],
    *,
    tokenize: str = "none",
) -> float:
    """Corpus BLEU (0-100) of ``hypotheses`` against their references.

    Args:
        hypotheses: system translations, one string per sentence.
        references: same length as ``hypotheses``; each entry is one reference
            string, or a list of every correct translation of that sentence (the
            offline pairs give two when English hides the gender: ``we are ready .``
            -> ``nous sommes prêts .`` / ``nous sommes prêtes .``). Sentences may
            have different numbers of references.
        tokenize: ``"none"`` (default: the strings are already space-tokenised)
            or ``"13a"`` (sacrebleu's standard tokeniser for raw text).

    Returns:
        BLEU as a float in [0, 100].
    """
    if isinstance(hypotheses, str) or not all(isinstance(h, str) for h in hypotheses):
        raise TypeError(f"hypotheses must be a list of strings (one sentence each), got {type(hypotheses).__name__}")
    if isinstance(references, str):
        raise TypeError("references must be a list with one entry per hypothesis, got a single string")
    ref_lists = [[r] if isinstance(r, str) else list(r) for r in references]
    if any(not refs or not all(isinstance(r, str) for r in refs) for refs in ref_lists):
        raise TypeError("each reference must be a string or a non-empty list of strings")
    if len(hypotheses) != len(ref_lists):
        raise ValueError(
            f"need references for every hypothesis: got {len(hypotheses)} hypotheses and {len(ref_lists)} references"
        )
    if not hypotheses:
        raise ValueError("cannot score an empty corpus: pass at least one sentence")
    if tokenize not in TOKENIZERS:
        raise ValueError(f"tokenize must be one of {TOKENIZERS}, got {tokenize!r}")
    # sacrebleu wants reference *streams*: stream k holds every sentence's k-th reference (None if it has fewer)
    n_streams = max(len(refs) for refs in ref_lists)
    streams = [[refs[k] if k < len(refs) else None for refs in ref_lists] for k in range(n_streams)]
    return float(sacrebleu.corpus_bleu(list(hypotheses), streams, tokenize=tokenize, force=True).score)
