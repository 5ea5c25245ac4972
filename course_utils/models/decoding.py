"""Turning a trained :class:`~course_utils.models.seq2seq.Seq2Seq` into translations.

* :func:`greedy_decode`: at every step feed back the single most likely token.
* :func:`beam_search`: keep the ``beam_width`` most likely partial translations
  (scored by the sum of their log-probabilities) and extend all of them.
  With ``beam_width=1`` it is exactly greedy decoding.

Both stop a sentence when it produces EOS, or after ``max_len`` generated tokens,
and both return one :class:`Translation` per source sentence, with the attention
weights when the decoder has attention. :func:`translate_sentences` goes from
strings to strings with the vocabularies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from course_utils._validate import require_int
from course_utils.data.batching import pad_sequences
from course_utils.data.vocab import EOS_ID, SOS_ID, Vocab
from course_utils.models.seq2seq import Seq2Seq, _check_ids, lengths_from_padding

__all__ = ["Translation", "beam_search", "decode_sentences", "greedy_decode", "translate_sentences"]


@dataclass
class Translation:
    """One decoded sentence.

    Attributes:
        tokens: the generated ids; ends with ``EOS_ID`` unless the length limit stopped it.
        score: sum of the log-probabilities of ``tokens`` (natural log).
        attention: ``[len(tokens), this sentence's src length]`` weights (row ``t``: where
            the decoder looked while producing ``tokens[t]``; padding columns are cut off),
            or None for decoders without attention.
    """

    tokens: list[int]
    score: float
    attention: torch.Tensor | None = None

    @property
    def finished(self) -> bool:
        """True when the sentence ended with EOS (False: cut by the length limit)."""
        return bool(self.tokens) and self.tokens[-1] == EOS_ID


def _check_decode_args(model: Seq2Seq, src: torch.Tensor, max_len: int) -> None:
    if not isinstance(model, Seq2Seq):
        raise TypeError(f"model must be a course_utils.models.seq2seq.Seq2Seq, got {type(model).__name__}")
    _check_ids(src, "src")
    require_int(max_len, "max_len", low=1)


@torch.no_grad()
def greedy_decode(
    model: Seq2Seq,
    src: torch.Tensor,
    src_lengths: torch.Tensor | None = None,
    *,
    max_len: int = 20,
) -> list[Translation]:
    """Decode a batch by always feeding back the arg-max token.

    Args:
        model: a trained :class:`Seq2Seq` (put in eval mode here, restored afterwards).
        src: ``[batch, src len]`` source ids padded with PAD.
        src_lengths: ``[batch]`` true lengths (default: count non-PAD ids).
        max_len: the most tokens generated per sentence, EOS included.

    Returns:
        One :class:`Translation` per row of ``src``.
    """
    _check_decode_args(model, src, max_len)
    if src_lengths is None:
        src_lengths = lengths_from_padding(src)
    was_training = model.training
    model.eval()
    try:
        enc = model.encode(src, src_lengths)
        batch = src.shape[0]
        state = enc.state
        input = torch.full((batch,), SOS_ID, dtype=torch.long, device=src.device)
        # input = [batch]
        tokens, scores, attentions = [], [], []
        done = torch.zeros(batch, dtype=torch.bool, device=src.device)
        for _ in range(max_len):
            logits, state, weights = model.decoder.forward_step(input, state, enc.outputs, enc.src_mask)
            # logits = [batch, tgt vocab]; weights = [batch, src len] or None
            log_probs = torch.log_softmax(logits.double(), dim=1)
            score, input = log_probs.max(dim=1)
            # score = input = [batch]
            tokens.append(input)
            scores.append(score)
            if weights is not None:
                attentions.append(weights)
            done |= input == EOS_ID
            if done.all():
                break
    finally:
        model.train(was_training)
    all_tokens = torch.stack(tokens, dim=1).cpu()  # [batch, steps]
    all_scores = torch.stack(scores, dim=1).cpu()  # [batch, steps]
    all_attn = torch.stack(attentions, dim=1).cpu() if attentions else None  # [batch, steps, src len]
    results = []
    for b in range(batch):
        row = all_tokens[b].tolist()
        n = row.index(EOS_ID) + 1 if EOS_ID in row else len(row)
        results.append(Translation(
            tokens=row[:n],
            score=float(all_scores[b, :n].sum()),
            attention=all_attn[b, :n, : int(src_lengths[b])] if all_attn is not None else None,
        ))
    return results


@torch.no_grad()
def beam_search(
    model: Seq2Seq,
    src: torch.Tensor,
    src_lengths: torch.Tensor | None = None,
    *,
    beam_width: int = 5,
    max_len: int = 20,
    length_penalty: float = 0.0,
) -> list[Translation]:
    """Decode each sentence with a beam of ``beam_width`` hypotheses.

    At every step each live hypothesis is extended by every token; of all
    extensions the ``beam_width - (number finished)`` best by summed log-probability
    are kept. An extension ending in EOS is finished and leaves the beam, so the beam
    shrinks until every slot holds a finished sentence, or ``max_len`` steps are done
    (then the live hypotheses compete too).

    The winner maximises ``score / len(tokens) ** length_penalty``: ``0`` (default)
    is the plain sum of log-probabilities, which favours short outputs; about ``1``
    compares average log-probability per token.

    Args:
        model, src, src_lengths, max_len: as :func:`greedy_decode`.
        beam_width: hypotheses kept per sentence (1 gives greedy decoding).
        length_penalty: exponent of the length normalisation (>= 0).

    Returns:
        One :class:`Translation` per row of ``src``; ``score`` is the summed log-probability.
    """
    _check_decode_args(model, src, max_len)
    require_int(beam_width, "beam_width", low=1)
    if not length_penalty >= 0:
        raise ValueError(f"length_penalty must be >= 0, got {length_penalty!r}")
    if src_lengths is None:
        src_lengths = lengths_from_padding(src)
    was_training = model.training
    model.eval()
    try:
        return [
            _beam_one(model, src[b : b + 1], src_lengths[b : b + 1], beam_width, max_len, length_penalty)
            for b in range(src.shape[0])
        ]
    finally:
        model.train(was_training)


def _beam_one(
    model: Seq2Seq, src: torch.Tensor, src_lengths: torch.Tensor, k: int, max_len: int, alpha: float
) -> Translation:
    # src = [1, src len]
    device = src.device
    enc = model.encode(src, src_lengths)
    outputs, mask, state = enc.outputs, enc.src_mask, enc.state
    # outputs = [1, src len, hid dim]; the beam is a batch of live hypotheses
    input = torch.full((1,), SOS_ID, dtype=torch.long, device=device)
    scores = torch.zeros(1, dtype=torch.float64, device=device)           # [beam]
    tokens = torch.zeros(1, 0, dtype=torch.long, device=device)           # [beam, steps]
    attn: torch.Tensor | None = None                                      # [beam, steps, src len]
    finished: list[Translation] = []
    for _ in range(max_len):
        beam = input.shape[0]
        logits, state, weights = model.decoder.forward_step(
            input, state, outputs.expand(beam, -1, -1), mask.expand(beam, -1)
        )
        # logits = [beam, tgt vocab]; weights = [beam, src len] or None
        vocab = logits.shape[1]
        candidates = scores[:, None] + torch.log_softmax(logits.double(), dim=1)
        # candidates = [beam, tgt vocab]: score of every one-token extension
        n_keep = k - len(finished)
        top_scores, flat = candidates.flatten().topk(min(n_keep, candidates.numel()))
        origin, token = flat // vocab, flat % vocab
        # origin = token = [n_keep]: which hypothesis each survivor extends, and with what
        tokens = torch.cat((tokens[origin], token[:, None]), dim=1)
        if weights is not None:
            step_attn = weights[origin][:, None, :]
            attn = step_attn if attn is None else torch.cat((attn[origin], step_attn), dim=1)
        state = tuple(s.index_select(1, origin) for s in state)
        ended = token == EOS_ID
        for i in torch.nonzero(ended).flatten().tolist():
            finished.append(Translation(tokens[i].tolist(), float(top_scores[i]),
                                        attn[i].cpu() if attn is not None else None))
        alive = ~ended
        if not alive.any() or len(finished) >= k:
            break
        keep = torch.nonzero(alive).flatten()
        tokens, scores, input = tokens[keep], top_scores[keep], token[keep]
        attn = attn[keep] if attn is not None else None
        state = tuple(s.index_select(1, keep) for s in state)
    else:  # length limit reached: the live hypotheses compete with the finished ones
        for i in range(tokens.shape[0]):
            finished.append(Translation(tokens[i].tolist(), float(scores[i]),
                                        attn[i].cpu() if attn is not None else None))
    best = max(finished, key=lambda h: h.score / len(h.tokens) ** alpha)
    if best.attention is not None:
        best.attention = best.attention[:, : int(src_lengths[0])]
    return best


def translate_sentences(
    model: Seq2Seq,
    sentences: Sequence[str] | Sequence[Sequence[str]],
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    *,
    device: torch.device | str,
    beam_width: int = 1,
    max_len: int = 20,
    batch_size: int = 256,
) -> list[str]:
    """Translate sentences (space-separated token strings or token lists) into strings.

    Unknown source words become UNK. ``beam_width=1`` uses :func:`greedy_decode`,
    larger widths :func:`beam_search`. The output is the target tokens joined by
    spaces, EOS and padding removed.
    """
    return [
        " ".join(tgt_vocab.decode(t.tokens, stop_at_eos=True))
        for t in decode_sentences(model, sentences, src_vocab, device=device, beam_width=beam_width,
                                  max_len=max_len, batch_size=batch_size)
    ]


def decode_sentences(
    model: Seq2Seq,
    sentences: Sequence[str] | Sequence[Sequence[str]],
    src_vocab: Vocab,
    *,
    device: torch.device | str,
    beam_width: int = 1,
    max_len: int = 20,
    batch_size: int = 256,
) -> list[Translation]:
    """Like :func:`translate_sentences` but returns the :class:`Translation` objects (ids, score, attention)."""
    if isinstance(sentences, str):
        raise TypeError("sentences must be a list of sentences; wrap a single sentence in a list")
    token_lists = [s.split() if isinstance(s, str) else list(s) for s in sentences]
    if any(len(t) == 0 for t in token_lists):
        raise ValueError("every sentence needs at least one token; got an empty sentence")
    results: list[Translation] = []
    for start in range(0, len(token_lists), batch_size):
        chunk = [src_vocab.encode(t, add_eos=True) for t in token_lists[start : start + batch_size]]
        src, _ = pad_sequences(chunk)
        # src = [chunk, src len], padded with PAD_ID
        src = src.to(device)
        if beam_width == 1:
            results.extend(greedy_decode(model, src, max_len=max_len))
        else:
            results.extend(beam_search(model, src, beam_width=beam_width, max_len=max_len))
    return results

