"""A tiny generated corpus of sentences shaped like the slides' example.

"The fluffy gray cat meowed very loudly" has the pattern

    determiner  size  colour  animal  verb  intensifier  adverb

and every sentence here follows it, so all sentences have the same length
(no padding needed) and the only thing to learn is which words go together:
cats meow, purr or hiss; dogs bark, growl or howl; birds sing, chirp or tweet.
Lectures use it to train small RNN language models in seconds.

Its vocabulary is the slides' own and differs on purpose from :class:`course_utils.data.Vocab`:
a plain word list whose first two words are the tokens ``BOS`` and ``EOS`` (the slides write them
so, at ids 0 and 1), then every word in order of first appearance. It needs no PAD (every
sentence has the same length) and no UNK (the vocabulary is built from the sentences it
encodes), and a list is what lectures 03-05 index by hand (``vocab[i]``). The course's special
ids ``PAD_ID``/``SOS_ID``/``EOS_ID``/``UNK_ID`` are those of :mod:`course_utils.data.vocab`,
used by every padded data set; nothing here is one of them.

>>> sents = toy_sentences(3, seed=0)
>>> vocab = build_vocab(sents)
>>> ids = encode(sents, vocab)       # ids = [3, 9]: BOS w_1 .. w_7 EOS
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import torch

from course_utils._validate import require_int

__all__ = ["BOS", "EOS", "EXAMPLE_SENTENCE", "build_vocab", "encode", "entropy_per_token", "toy_sentences"]

BOS = "BOS"
EOS = "EOS"
EXAMPLE_SENTENCE = "The fluffy gray cat meowed very loudly"

_DETERMINERS = ["The", "A"]
_SIZES = ["fluffy", "small", "big", "wet"]
_COLOURS = ["gray", "black", "white", "brown"]
_VERBS = {
    "cat": ["meowed", "purred", "hissed"],
    "dog": ["barked", "growled", "howled"],
    "bird": ["sang", "chirped", "tweeted"],
}
_INTENSIFIERS = ["very", "quite"]
_ADVERBS = ["loudly", "softly", "quietly"]


def toy_sentences(n: int, seed: int = 0) -> list[list[str]]:
    """``n`` sentences of 7 words each, drawn with their own ``random.Random(seed)``.

    The first sentence is always the slides' example, split into words.

    Raises:
        ValueError: ``n`` is not a positive int.
    """
    require_int(n, "n", low=1)
    rng = random.Random(seed)
    sentences = [EXAMPLE_SENTENCE.split()]
    while len(sentences) < n:
        animal = rng.choice(sorted(_VERBS))
        sentences.append([
            rng.choice(_DETERMINERS), rng.choice(_SIZES), rng.choice(_COLOURS), animal,
            rng.choice(_VERBS[animal]), rng.choice(_INTENSIFIERS), rng.choice(_ADVERBS),
        ])
    return sentences


def entropy_per_token() -> float:
    """The best loss any model can reach on fresh sentences, in nats per predicted token.

    Each of the 7 words is a uniform choice (the verb's choice given the animal),
    and EOS always follows the adverb, so the entropy of a sentence is
    ``log(2 * 4 * 4 * 3 * 3 * 2 * 3)``; divided by the 8 predicted tokens
    (w_1..w_7 and EOS) it is the floor of the mean cross-entropy. (The first
    sentence, always the slides' example, is ignored.)
    """
    verb_choices = {len(v) for v in _VERBS.values()}
    if len(verb_choices) != 1:  # pragma: no cover - guards edits to the word lists
        raise RuntimeError("every animal must have the same number of verbs for this formula")
    choices = [len(_DETERMINERS), len(_SIZES), len(_COLOURS), len(_VERBS), verb_choices.pop(),
               len(_INTENSIFIERS), len(_ADVERBS)]
    return math.fsum(math.log(c) for c in choices) / (len(choices) + 1)


def build_vocab(sentences: Sequence[Sequence[str]]) -> list[str]:
    """Index -> word list: ``BOS``, ``EOS``, then every word in order of first appearance."""
    vocab = [BOS, EOS]
    seen = set(vocab)
    for sentence in sentences:
        if isinstance(sentence, str):
            raise TypeError("each sentence must be a list of words, not a string: use sentence.split()")
        for word in sentence:
            if word not in seen:
                seen.add(word)
                vocab.append(word)
    return vocab


def encode(sentences: Sequence[Sequence[str]], vocab: Sequence[str]) -> torch.Tensor:
    """Word ids with ``BOS`` in front and ``EOS`` at the end.

    Args:
        sentences: N sentences of equal length T (lists of words).
        vocab: index -> word, e.g. from :func:`build_vocab`.

    Returns:
        int64 tensor ``[N, T + 2]``. Inputs to a language model are ``ids[:, :-1]``,
        the words to predict are ``ids[:, 1:]``.

    Raises:
        ValueError: sentences of different lengths, or a word missing from ``vocab``.
    """
    if len(sentences) == 0:
        raise ValueError("no sentences to encode")
    lengths = {len(s) for s in sentences}
    if len(lengths) != 1:
        raise ValueError(f"all sentences must have the same length to stack them, got lengths {sorted(lengths)}")
    index = {word: i for i, word in enumerate(vocab)}
    rows = []
    for sentence in sentences:
        missing = [w for w in sentence if w not in index]
        if missing:
            raise ValueError(f"word {missing[0]!r} is not in the vocabulary; build it with build_vocab(sentences)")
        rows.append([index[BOS]] + [index[w] for w in sentence] + [index[EOS]])
    return torch.tensor(rows, dtype=torch.long)
