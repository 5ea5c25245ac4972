"""Encoder–decoder (sequence to sequence) models for translation, batched and PAD-aware.

Four models, one interface, so that training, greedy decoding, beam search and
BLEU treat them all alike:

==========================  =========================  ==================================
model                        encoder                    decoder
==========================  =========================  ==================================
the slides' tutorial         :class:`EncoderRNN` (GRU)  :class:`DecoderRNN`
tutorial with attention      :class:`EncoderRNN`        :class:`AttnDecoderRNN` (Bahdanau)
Sutskever et al. (2014)      :class:`LSTMEncoder`       :class:`LSTMDecoder` (multi-layer)
Cho et al. (2014)            :class:`EncoderRNN`        :class:`ContextDecoderGRU`
==========================  =========================  ==================================

:class:`Seq2Seq` glues an encoder to a decoder and runs the decoding loop of
the slides with a *teacher-forcing ratio*.

Conventions (all tensors are batch first, as in the tutorial's ``batch_first=True``):

* ``src = [batch, src len]``: source ids, padded at the end with ``PAD_ID``.
* ``tgt = [batch, tgt len]``: target ids ending with ``EOS_ID`` and padded with
  ``PAD_ID``, *without* a leading SOS: the decoder starts every sentence from
  ``SOS_ID`` itself, as the slides' ``DecoderRNN`` does.
* ``logits = [batch, tgt len, tgt vocab]``: step ``t`` predicts ``tgt[:, t]``,
  so the loss is ``nn.CrossEntropyLoss(ignore_index=PAD_ID)(logits.flatten(0, 1), tgt.flatten())``.
  Models return raw scores; ``CrossEntropyLoss`` is ``log_softmax`` + ``NLLLoss`` in one step.
* A decoder *state* is a tuple of tensors, each ``[n layers, batch, hid dim]``
  (batch on dimension 1), so beam search can reorder any decoder's state the same way.

PAD (0) is distinct from SOS (1): the tutorial pads with SOS's id, which makes
"start of sentence" and "nothing here" the same token, so the loss cannot skip
padding without also skipping real starts, and the encoder reads padding as if
it were a sentence start.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from course_utils.data.vocab import PAD_ID, SOS_ID

__all__ = [
    "AttnDecoderRNN",
    "BahdanauAttention",
    "ContextDecoderGRU",
    "Decoder",
    "DecoderRNN",
    "EncoderRNN",
    "Encoded",
    "LSTMDecoder",
    "LSTMEncoder",
    "Seq2Seq",
    "lengths_from_padding",
    "reverse_padded",
    "seq2seq_step",
    "sequence_loss",
    "token_nll",
]

State = tuple[torch.Tensor, ...]


def _check_ids(x: object, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of token ids [batch, len], got {type(x).__name__}")
    if x.dim() != 2 or x.dtype != torch.long:
        raise ValueError(
            f"{name} must be a 2-D int64 tensor [batch, len] of token ids, got shape {tuple(x.shape)} "
            f"and dtype {x.dtype}; a single sentence needs a batch dimension: ids.unsqueeze(0)"
        )
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)}): need at least one sentence of one token")
    return x


def lengths_from_padding(src: torch.Tensor) -> torch.Tensor:
    """Length of every row of ``src = [batch, src len]``: the number of non-PAD ids.

    Returns an int64 tensor ``[batch]`` on the CPU (what ``pack_padded_sequence`` wants).
    """
    src = _check_ids(src, "src")
    lengths = (src != PAD_ID).sum(dim=1).cpu()
    if (lengths == 0).any():
        raise ValueError("src has a row made only of PAD: every sentence needs at least one real token")
    return lengths


def reverse_padded(src: torch.Tensor, src_lengths: torch.Tensor) -> torch.Tensor:
    """Reverse the first ``src_lengths[b]`` ids of every row of ``src = [batch, src len]``; PAD stays at the end.

    ``[[4, 5, 6, 2], [7, 2, 0, 0]]`` with lengths ``[4, 2]`` becomes ``[[2, 6, 5, 4], [2, 7, 0, 0]]``.
    """
    positions = torch.arange(src.shape[1], device=src.device)[None, :]
    # positions = [1, src len]
    lengths = src_lengths.to(src.device)[:, None]
    # lengths = [batch, 1]
    index = torch.where(positions < lengths, lengths - 1 - positions, positions)
    # index = [batch, src len]
    return src.gather(1, index)


def sequence_loss(logits: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the real (non-PAD) target tokens.

    Args:
        logits: ``[batch, tgt len, tgt vocab]`` raw scores from :meth:`Seq2Seq.forward`.
        tgt: ``[batch, tgt len]`` target ids padded with ``PAD_ID``.
    """
    if logits.dim() != 3 or logits.shape[:2] != tgt.shape:
        raise ValueError(
            f"logits must be [batch, tgt len, vocab] matching tgt [batch, tgt len]; "
            f"got {tuple(logits.shape)} and {tuple(tgt.shape)}"
        )
    return nn.functional.cross_entropy(logits.flatten(0, 1), tgt.flatten(), ignore_index=PAD_ID)


# --------------------------------------------------------------------------- encoders


class EncoderRNN(nn.Module):
    """The slides' encoder: embedding, dropout, one GRU layer.

    Args:
        input_size: source vocabulary size.
        hidden_size: GRU hidden size (and embedding size unless ``embedding_dim`` is given).
        dropout: dropout on the embeddings.
        embedding_dim: embedding size; default ``hidden_size`` as in the tutorial.

    ``forward(src, src_lengths)`` returns ``(outputs, hidden)``:
    ``outputs = [batch, src len, hid dim]`` (zeros at PAD positions) and
    ``hidden = [1, batch, hid dim]``, the state after each sentence's *last real*
    token (the sequence is packed, so padding never reaches the GRU).
    """

    def __init__(self, input_size: int, hidden_size: int, dropout: float = 0.1, embedding_dim: int | None = None):
        super().__init__()
        embedding_dim = embedding_dim or hidden_size
        self.hidden_size = hidden_size
        self.embedding = nn.Embedding(input_size, embedding_dim, padding_idx=PAD_ID)
        self.gru = nn.GRU(embedding_dim, hidden_size, batch_first=True)
        self.dropout = nn.Dropout(dropout)

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor) -> tuple[torch.Tensor, State]:
        # src = [batch, src len]
        embedded = self.dropout(self.embedding(src))
        # embedded = [batch, src len, emb dim]
        packed = pack_padded_sequence(embedded, src_lengths.cpu(), batch_first=True, enforce_sorted=False)
        packed_outputs, hidden = self.gru(packed)
        outputs, _ = pad_packed_sequence(packed_outputs, batch_first=True, total_length=src.shape[1])
        # outputs = [batch, src len, hid dim]; hidden = [1, batch, hid dim]
        return outputs, (hidden,)


class LSTMEncoder(nn.Module):
    """Sutskever et al. (2014): a multi-layer LSTM encoder.

    Args:
        input_size: source vocabulary size.
        embedding_dim: embedding size.
        hidden_size: LSTM hidden size.
        num_layers: stacked LSTM layers.
        dropout: dropout on embeddings and between LSTM layers.
        reverse_source: read every sentence backwards (its real tokens; padding stays at
            the end), Sutskever et al.'s trick: the first source words end up close to
            the first target words they help predict.

    ``forward`` returns ``(outputs, (hidden, cell))`` with ``outputs = [batch, src len, hid dim]``
    and ``hidden = cell = [n layers, batch, hid dim]``.
    """

    def __init__(self, input_size: int, embedding_dim: int, hidden_size: int, num_layers: int = 2,
                 dropout: float = 0.1, reverse_source: bool = False):
        super().__init__()
        self.hidden_size, self.num_layers, self.reverse_source = hidden_size, num_layers, reverse_source
        self.embedding = nn.Embedding(input_size, embedding_dim, padding_idx=PAD_ID)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, num_layers, batch_first=True,
                            dropout=dropout if num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor) -> tuple[torch.Tensor, State]:
        # src = [batch, src len]
        if self.reverse_source:
            src = reverse_padded(src, src_lengths)
        embedded = self.dropout(self.embedding(src))
        # embedded = [batch, src len, emb dim]
        packed = pack_padded_sequence(embedded, src_lengths.cpu(), batch_first=True, enforce_sorted=False)
        packed_outputs, (hidden, cell) = self.lstm(packed)
        outputs, _ = pad_packed_sequence(packed_outputs, batch_first=True, total_length=src.shape[1])
        # outputs = [batch, src len, hid dim]; hidden = cell = [n layers, batch, hid dim]
        return outputs, (hidden, cell)


# --------------------------------------------------------------------------- decoders


class Decoder(nn.Module):
    """What every decoder provides (one time step at a time, for training and decoding alike).

    * ``output_size``: target vocabulary size.
    * ``init_state(encoder_outputs, encoder_state) -> state``
    * ``forward_step(input, state, encoder_outputs, src_mask) -> (logits, state, attention)``
      with ``input = [batch]`` ids, ``logits = [batch, tgt vocab]`` and
      ``attention = [batch, src len]`` (``None`` for decoders without attention).
    """

    output_size: int

    def init_state(self, encoder_outputs: torch.Tensor, encoder_state: State) -> State:
        return encoder_state

    def forward_step(
        self, input: torch.Tensor, state: State, encoder_outputs: torch.Tensor, src_mask: torch.Tensor
    ) -> tuple[torch.Tensor, State, torch.Tensor | None]:
        # An abstract method: every concrete decoder below overrides it.
        raise NotImplementedError(
            f"{type(self).__name__} must define forward_step(input, state, encoder_outputs, src_mask)")


class DecoderRNN(Decoder):
    """The slides' decoder: embedding, ReLU, one GRU layer, a linear layer to the vocabulary.

    Its first hidden state is the encoder's last one: the whole source sentence
    has to squeeze through that single vector ``[1, batch, hid dim]``.
    """

    def __init__(self, hidden_size: int, output_size: int, dropout: float = 0.1):
        super().__init__()
        self.output_size = output_size
        self.embedding = nn.Embedding(output_size, hidden_size, padding_idx=PAD_ID)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
        self.S = nn.Linear(hidden_size, output_size)
        self.dropout = nn.Dropout(dropout)

    def forward_step(self, input, state, encoder_outputs, src_mask):
        # input = [batch]; state = ([1, batch, hid dim],)
        embedded = torch.relu(self.dropout(self.embedding(input.unsqueeze(1))))
        # embedded = [batch, 1, hid dim]
        output, hidden = self.gru(embedded, state[0])
        # output = [batch, 1, hid dim]; hidden = [1, batch, hid dim]
        logits = self.S(output.squeeze(1))
        # logits = [batch, tgt vocab]
        return logits, (hidden,), None


class BahdanauAttention(nn.Module):
    """Additive attention (Bahdanau et al., 2015), as in the tutorial's ``AttnDecoderRNN``.

    ``score(s, h_j) = v^T tanh(W s + U h_j)`` for the decoder state ``s`` (the query)
    and every encoder output ``h_j`` (the keys); PAD positions get score ``-inf``,
    a softmax over the source turns the scores into weights ``a_j``, and the
    context is ``Σ_j a_j h_j``.
    """

    def __init__(self, hidden_size: int):
        super().__init__()
        self.W = nn.Linear(hidden_size, hidden_size)  # applied to the query s
        self.U = nn.Linear(hidden_size, hidden_size)  # applied to the keys h_j
        self.v = nn.Linear(hidden_size, 1)

    def forward(
        self, query: torch.Tensor, keys: torch.Tensor, src_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # query = [batch, 1, hid dim]; keys = [batch, src len, hid dim]; src_mask = [batch, src len]
        scores = self.v(torch.tanh(self.W(query) + self.U(keys))).squeeze(2)
        # scores = [batch, src len]
        scores = scores.masked_fill(~src_mask, float("-inf"))
        weights = torch.softmax(scores, dim=1)
        # weights = [batch, src len], each row sums to 1 over the real tokens
        context = torch.bmm(weights.unsqueeze(1), keys)
        # context = [batch, 1, hid dim]
        return context, weights


class AttnDecoderRNN(Decoder):
    """The tutorial's ``AttnDecoderRNN``: at every step the GRU reads ``[embedding; context]``.

    The context is recomputed at each step by :class:`BahdanauAttention` from the
    previous hidden state, so the decoder can look back at any source word.
    ``forward_step`` returns the attention weights ``[batch, src len]``.
    """

    def __init__(self, hidden_size: int, output_size: int, dropout: float = 0.1):
        super().__init__()
        self.output_size = output_size
        self.embedding = nn.Embedding(output_size, hidden_size, padding_idx=PAD_ID)
        self.attention = BahdanauAttention(hidden_size)
        self.gru = nn.GRU(2 * hidden_size, hidden_size, batch_first=True)
        self.S = nn.Linear(hidden_size, output_size)
        self.dropout = nn.Dropout(dropout)

    def forward_step(self, input, state, encoder_outputs, src_mask):
        # input = [batch]; state = ([1, batch, hid dim],); encoder_outputs = [batch, src len, hid dim]
        embedded = self.dropout(self.embedding(input.unsqueeze(1)))
        # embedded = [batch, 1, hid dim]
        query = state[0].permute(1, 0, 2)
        # query = [batch, 1, hid dim]
        context, weights = self.attention(query, encoder_outputs, src_mask)
        # context = [batch, 1, hid dim]; weights = [batch, src len]
        output, hidden = self.gru(torch.cat((embedded, context), dim=2), state[0])
        # output = [batch, 1, hid dim]; hidden = [1, batch, hid dim]
        logits = self.S(output.squeeze(1))
        # logits = [batch, tgt vocab]
        return logits, (hidden,), weights


class LSTMDecoder(Decoder):
    """Sutskever et al. (2014): a multi-layer LSTM decoder started from the encoder's ``(hidden, cell)``."""

    def __init__(
        self, output_size: int, embedding_dim: int, hidden_size: int, num_layers: int = 2, dropout: float = 0.1
    ) -> None:
        super().__init__()
        self.output_size = output_size
        self.embedding = nn.Embedding(output_size, embedding_dim, padding_idx=PAD_ID)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, num_layers, batch_first=True,
                            dropout=dropout if num_layers > 1 else 0.0)
        self.S = nn.Linear(hidden_size, output_size)
        self.dropout = nn.Dropout(dropout)

    def forward_step(self, input, state, encoder_outputs, src_mask):
        # input = [batch]; state = (hidden, cell), each [n layers, batch, hid dim]
        embedded = self.dropout(self.embedding(input.unsqueeze(1)))
        # embedded = [batch, 1, emb dim]
        output, (hidden, cell) = self.lstm(embedded, state)
        # output = [batch, 1, hid dim]
        logits = self.S(output.squeeze(1))
        # logits = [batch, tgt vocab]
        return logits, (hidden, cell), None


class ContextDecoderGRU(Decoder):
    """Cho et al. (2014): a GRU decoder that sees the context vector ``c`` at every step.

    ``c`` is the encoder's final hidden state. It starts the decoder, is fed to the
    GRU with every input embedding, and goes straight into the output layer with
    the embedding and the new hidden state: ``logits = S([e(y_{t-1}); s_t; c])``.
    The state is ``(hidden, context)``, both ``[1, batch, hid dim]``.
    """

    def __init__(self, output_size: int, embedding_dim: int, hidden_size: int, dropout: float = 0.1):
        super().__init__()
        self.output_size = output_size
        self.embedding = nn.Embedding(output_size, embedding_dim, padding_idx=PAD_ID)
        self.gru = nn.GRU(embedding_dim + hidden_size, hidden_size, batch_first=True)
        self.S = nn.Linear(embedding_dim + 2 * hidden_size, output_size)
        self.dropout = nn.Dropout(dropout)

    def init_state(self, encoder_outputs, encoder_state):
        context = encoder_state[0]
        # context = [1, batch, hid dim]: the decoder starts from it and keeps it
        return (context, context)

    def forward_step(self, input, state, encoder_outputs, src_mask):
        hidden, context = state
        # hidden = context = [1, batch, hid dim]
        embedded = self.dropout(self.embedding(input.unsqueeze(1)))
        # embedded = [batch, 1, emb dim]
        context_b = context.permute(1, 0, 2)
        # context_b = [batch, 1, hid dim]
        output, hidden = self.gru(torch.cat((embedded, context_b), dim=2), hidden)
        # output = [batch, 1, hid dim]; hidden = [1, batch, hid dim]
        logits = self.S(torch.cat((embedded, output, context_b), dim=2).squeeze(1))
        # logits = [batch, tgt vocab]
        return logits, (hidden, context), None


# --------------------------------------------------------------------------- the whole model


@dataclass
class Encoded:
    """What the encoder hands the decoder for one batch.

    Attributes:
        outputs: ``[batch, src len, hid dim]`` encoder outputs (the attention's keys).
        state: the decoder's initial state (tuple of ``[n layers, batch, hid dim]``).
        src_mask: ``[batch, src len]`` bool, True at real tokens, False at PAD.
    """

    outputs: torch.Tensor
    state: State
    src_mask: torch.Tensor


class Seq2Seq(nn.Module):
    """An encoder, a decoder and the decoding loop of the slides.

    Args:
        encoder: :class:`EncoderRNN` or :class:`LSTMEncoder` (anything returning ``(outputs, state)``).
        decoder: a :class:`Decoder`.
        teacher_forcing_ratio: during training, the probability that the next decoder
            input is the true previous token rather than the model's own prediction.
            1.0 always feeds the truth (the tutorial's teacher forcing), 0.0 always
            feeds back the prediction. The coin is tossed per sentence and per step.
    """

    def __init__(self, encoder: nn.Module, decoder: Decoder, *, teacher_forcing_ratio: float = 1.0):
        super().__init__()
        if not isinstance(decoder, Decoder):
            raise TypeError(f"decoder must be a course_utils.models.seq2seq.Decoder, got {type(decoder).__name__}")
        self.encoder, self.decoder = encoder, decoder
        self.teacher_forcing_ratio = _check_ratio(teacher_forcing_ratio)

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor | None = None) -> Encoded:
        """Run the encoder on ``src = [batch, src len]`` (lengths default to the non-PAD counts)."""
        src = _check_ids(src, "src")
        if src_lengths is None:
            src_lengths = lengths_from_padding(src)
        outputs, encoder_state = self.encoder(src, src_lengths)
        # outputs = [batch, src len, hid dim]
        src_mask = torch.arange(src.shape[1], device=src.device)[None, :] < src_lengths.to(src.device)[:, None]
        # src_mask = [batch, src len]
        return Encoded(outputs, self.decoder.init_state(outputs, encoder_state), src_mask)

    def forward(
        self,
        src: torch.Tensor,
        tgt: torch.Tensor,
        src_lengths: torch.Tensor | None = None,
        teacher_forcing_ratio: float | None = None,
    ) -> torch.Tensor:
        """Scores for every target position.

        Args:
            src: ``[batch, src len]`` source ids padded with PAD.
            tgt: ``[batch, tgt len]`` target ids ending in EOS, padded with PAD, no SOS.
            src_lengths: ``[batch]`` true source lengths (default: count non-PAD ids).
            teacher_forcing_ratio: overrides the model's ratio (evaluation uses 1.0 for the
                held-out loss; in ``eval()`` mode the default is 1.0).

        Returns:
            ``logits = [batch, tgt len, tgt vocab]``; step ``t`` predicts ``tgt[:, t]``.
        """
        src, tgt = _check_ids(src, "src"), _check_ids(tgt, "tgt")
        if tgt.shape[0] != src.shape[0]:
            raise ValueError(
                f"src and tgt must hold the same number of sentences, got {src.shape[0]} and {tgt.shape[0]}")
        if teacher_forcing_ratio is None:
            teacher_forcing_ratio = self.teacher_forcing_ratio if self.training else 1.0
        ratio = _check_ratio(teacher_forcing_ratio)
        enc = self.encode(src, src_lengths)
        batch, tgt_len = tgt.shape
        state = enc.state
        input = torch.full((batch,), SOS_ID, dtype=torch.long, device=tgt.device)
        # input = [batch]: every sentence starts from SOS
        all_logits = []
        for t in range(tgt_len):
            logits, state, _ = self.decoder.forward_step(input, state, enc.outputs, enc.src_mask)
            # logits = [batch, tgt vocab]
            all_logits.append(logits)
            if ratio == 1.0:
                input = tgt[:, t]
            else:
                predicted = logits.argmax(dim=1).detach()
                if ratio == 0.0:
                    input = predicted
                else:
                    teacher = torch.rand(batch, device=tgt.device) < ratio
                    input = torch.where(teacher, tgt[:, t], predicted)
        # stacked = [batch, tgt len, tgt vocab]
        return torch.stack(all_logits, dim=1)


def _check_ratio(ratio: float) -> float:
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0.0 <= ratio <= 1.0:
        raise ValueError(f"teacher_forcing_ratio must be a number in [0, 1], got {ratio!r}")
    return float(ratio)


# --------------------------------------------------------------------------- training helpers


def seq2seq_step(model: Seq2Seq, batch, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """``step_fn`` for :func:`course_utils.training.train` on :class:`~course_utils.data.PairBatch` batches.

    Runs ``model(src, tgt, src_lengths)`` and returns
    ``(logits = [batch * tgt len, tgt vocab], targets = [batch * tgt len])``, ready for
    ``nn.CrossEntropyLoss(ignore_index=PAD_ID)``.
    """
    src, src_lengths, tgt = batch[0].to(device), batch[1], batch[2].to(device)
    # src = [batch, src len]; tgt = [batch, tgt len]
    logits = model(src, tgt, src_lengths)
    # logits = [batch, tgt len, tgt vocab]
    return logits.flatten(0, 1), tgt.flatten()


@torch.no_grad()
def token_nll(model: Seq2Seq, loader, device: torch.device | str, *, teacher_forcing_ratio: float = 1.0) -> float:
    """Mean negative log-likelihood per real target token, in eval mode.

    Unlike a mean of batch means, every non-PAD token counts once, so the value
    does not depend on batch size or padding; ``exp`` of it is the perplexity.

    Args:
        model: the model to score.
        loader: yields ``(src, src_lengths, tgt, ...)`` batches (:class:`~course_utils.data.PairBatch`).
        device: where the model lives.
        teacher_forcing_ratio: 1.0 (default) feeds the true previous token, the usual
            held-out loss; 0.0 feeds the model's own previous prediction and scores the
            true token anyway, which shows how much the model suffers from its own mistakes.
    """
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        for batch in loader:
            src, src_lengths, tgt = batch[0].to(device), batch[1], batch[2].to(device)
            logits = model(src, tgt, src_lengths, teacher_forcing_ratio=teacher_forcing_ratio)
            # logits = [batch, tgt len, tgt vocab]
            total += float(nn.functional.cross_entropy(
                logits.flatten(0, 1).double(), tgt.flatten(), ignore_index=PAD_ID, reduction="sum"))
            count += int((tgt != PAD_ID).sum())
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("token_nll got no target tokens: is the loader empty?")
    return total / count
