"""Metrics, in one module: accuracy, confusion matrix, macro-F1 (scikit-learn), corpus BLEU (sacrebleu).

The counting is done by the maintained libraries; what this module adds is the course's
conventions and errors that say what was expected:

* class ids are ints in ``[0, n_classes)``; arrays, lists and tensors (on any device) all work;
* a confusion matrix always has ``n_classes`` rows and columns, also for classes that never occur;
* BLEU is on sacrebleu's 0-100 scale, on already tokenised sentences by default.

>>> accuracy(logits, y)                          # logits [batch, n_classes], y [batch]
>>> confusion_matrix(y_true, y_pred, n_classes)  # [n_classes, n_classes] int64
>>> macro_f1(y_true, y_pred, n_classes)          # float in [0, 1]
>>> corpus_bleu(hypotheses, references)          # float in [0, 100]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from course_utils._validate import require_int

__all__ = ["TOKENIZERS", "accuracy", "confusion_matrix", "corpus_bleu", "macro_f1"]


def accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Fraction of rows whose arg-max over the last dim equals the target.

    The ``metrics={"accuracy": accuracy}`` of :func:`course_utils.training.train`: it takes the
    model's raw scores, so it works batch by batch during training.

    Args:
        outputs: scores ``[batch, n_classes]``.
        targets: class ids ``[batch]``.
    """
    if outputs.dim() != 2 or targets.dim() != 1 or outputs.shape[0] != targets.shape[0]:
        raise ValueError(
            f"accuracy expects outputs [batch, n_classes] and targets [batch], "
            f"got {tuple(outputs.shape)} and {tuple(targets.shape)}"
        )
    return (outputs.argmax(dim=-1) == targets).float().mean().item()


def _labels(y_true: Any, y_pred: Any, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Both label vectors as int64 NumPy arrays, checked: 1-D, equal length, ids in range."""
    require_int(n_classes, "n_classes", low=1)
    t = np.asarray(y_true.cpu() if isinstance(y_true, torch.Tensor) else y_true)
    p = np.asarray(y_pred.cpu() if isinstance(y_pred, torch.Tensor) else y_pred)
    if t.ndim != 1 or t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must be 1-D of equal length, got shapes {t.shape} and {p.shape}")
    if t.size == 0:
        raise ValueError("y_true is empty: nothing to score")
    for name, arr in (("y_true", t), ("y_pred", p)):
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"{name} must hold integer class ids, got dtype {arr.dtype}")
        if arr.min() < 0 or arr.max() >= n_classes:
            raise ValueError(f"{name} ids must be in [0, {n_classes}), got range [{arr.min()}, {arr.max()}]")
    return t.astype(np.int64), p.astype(np.int64)


def confusion_matrix(y_true: Any, y_pred: Any, n_classes: int) -> np.ndarray:
    """Counts ``cm[i, j]`` = examples of true class ``i`` predicted as ``j``.

    Args:
        y_true, y_pred: class ids ``[n]`` (arrays, lists or tensors).
        n_classes: number of classes (rows/columns, even for classes that never occur).

    Returns:
        ``[n_classes, n_classes]`` int64 array.
    """
    from sklearn.metrics import confusion_matrix as sk_confusion_matrix  # here: seconds to import

    t, p = _labels(y_true, y_pred, n_classes)
    return sk_confusion_matrix(t, p, labels=np.arange(n_classes)).astype(np.int64)


def macro_f1(y_true: Any, y_pred: Any, n_classes: int) -> float:
    """Unweighted mean over classes of ``F1 = 2 P R / (P + R)`` (scikit-learn's macro F1).

    Every class counts the same however many examples it has, so a model that ignores the
    small classes scores low even when its accuracy is high. The mean runs over the classes
    that occur in ``y_true`` or ``y_pred`` (scikit-learn's default); a class with no correct
    prediction has F1 = 0.
    """
    from sklearn.metrics import f1_score  # here: seconds to import, and most users never call it

    t, p = _labels(y_true, y_pred, n_classes)
    return float(f1_score(t, p, average="macro", zero_division=0.0))


TOKENIZERS = ("none", "13a")


def corpus_bleu(
    hypotheses: Sequence[str],
    references: Sequence[str] | Sequence[Sequence[str]],
    *,
    tokenize: str = "none",
) -> float:
    """Corpus BLEU (0-100) of ``hypotheses`` against their references, computed by sacrebleu.

    BLEU compares n-grams (n = 1..4) of the system's translations with those of the references,
    pooled over the whole corpus, and multiplies their geometric mean precision by a brevity
    penalty. Always score held-out pairs: BLEU on training pairs measures memory, not translation.

    Tokenisation: the course's sentences are already tokenised (lower case, one space between
    tokens, punctuation split off, as the tutorial normalises its pairs), so the default is
    sacrebleu's ``tokenize="none"``: BLEU counts exactly the tokens the model produced.
    ``"13a"`` (sacrebleu's default, the WMT standard) re-tokenises raw text; use it to compare
    with published scores. On tokenised text the two differ only where 13a would split a token
    further (e.g. an apostrophe inside a word).

    Args:
        hypotheses: system translations, one string per sentence.
        references: same length as ``hypotheses``; each entry is one reference string, or a
            list of every correct translation of that sentence (the offline pairs give two when
            English hides the gender: ``we are ready .`` -> ``nous sommes prêts .`` /
            ``nous sommes prêtes .``). Sentences may have different numbers of references.
        tokenize: ``"none"`` (default) or ``"13a"``.

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
    import sacrebleu  # here, so importing the metrics module stays cheap

    # sacrebleu wants reference *streams*: stream k holds every sentence's k-th reference (None if it has fewer)
    n_streams = max(len(refs) for refs in ref_lists)
    streams = [[refs[k] if k < len(refs) else None for refs in ref_lists] for k in range(n_streams)]
    return float(sacrebleu.corpus_bleu(list(hypotheses), streams, tokenize=tokenize, force=True).score)
