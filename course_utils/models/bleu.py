"""Deprecated home of :func:`course_utils.metrics.corpus_bleu`; import it from ``course_utils.metrics``.

Kept only while lecture 09 imports ``corpus_bleu`` from here; it is the same function.
"""

from course_utils.metrics import TOKENIZERS, corpus_bleu

__all__ = ["TOKENIZERS", "corpus_bleu"]
