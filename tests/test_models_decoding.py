"""Tests for course_utils.models.decoding: greedy decoding and beam search.

Most tests use a hand-built decoder whose next-token log-probabilities depend
only on the previous token (a fixed table), so every expected output and score
can be worked out by hand.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from course_utils.data.vocab import EOS_ID, SOS_ID, Vocab
from course_utils.models.decoding import (
    Translation,
    beam_search,
    decode_sentences,
    greedy_decode,
    translate_sentences,
)
from course_utils.models.seq2seq import (
    AttnDecoderRNN,
    ContextDecoderGRU,
    Decoder,
    DecoderRNN,
    EncoderRNN,
    LSTMDecoder,
    LSTMEncoder,
    Seq2Seq,
)

V = 8  # ids 0-3 are the specials, 4-7 ordinary tokens


class ZeroEncoder(nn.Module):
    """Encoder stub: zero outputs [batch, src len, 1] and a zero state [1, batch, 1]."""

    def forward(self, src, src_lengths):
        batch, src_len = src.shape
        return torch.zeros(batch, src_len, 1), (torch.zeros(1, batch, 1),)


class TableDecoder(Decoder):
    """Next-token probabilities ``table[previous token]``; uniform attention over real source tokens."""

    def __init__(self, table: dict[int, dict[int, float]], attention: bool = False):
        super().__init__()
        self.output_size = V
        log_p = torch.full((V, V), -1e9)
        for prev, row in table.items():
            assert abs(sum(row.values()) - 1) < 1e-9
            for tok, p in row.items():
                log_p[prev, tok] = math.log(p)
        self.log_p = log_p
        self.attention = attention
        self.calls = 0

    def forward_step(self, input, state, encoder_outputs, src_mask):
        self.calls += 1
        weights = src_mask.float() / src_mask.sum(1, keepdim=True) if self.attention else None
        return self.log_p[input], state, weights


def fake_model(table, attention=False) -> Seq2Seq:
    return Seq2Seq(ZeroEncoder(), TableDecoder(table, attention))


SRC = torch.tensor([[4, 5, 6, EOS_ID]])

CHAIN = {SOS_ID: {4: 0.9, 5: 0.1}, 4: {5: 0.8, 6: 0.2}, 5: {EOS_ID: 0.7, 4: 0.3}, 6: {EOS_ID: 1.0}}
LOOP = {SOS_ID: {4: 1.0}, 4: {5: 0.6, 6: 0.4}, 5: {4: 0.9, EOS_ID: 0.1}, 6: {4: 1.0}}
# Greedy takes 4 (0.6) then faces a flat choice: 4 5 EOS has p = 0.6 * 0.3 = 0.18.
# Beam search also keeps 5 and finds 5 EOS with p = 0.4.
TRAP = {
    SOS_ID: {4: 0.6, 5: 0.4},
    4: {4: 0.2, 5: 0.3, 6: 0.25, 7: 0.25},
    5: {EOS_ID: 1.0},
    6: {EOS_ID: 1.0},
    7: {EOS_ID: 1.0},
}


def test_greedy_stops_at_eos_with_exact_score():
    [t] = greedy_decode(fake_model(CHAIN), SRC, max_len=10)
    assert t.tokens == [4, 5, EOS_ID]
    assert t.finished
    assert t.score == pytest.approx(math.log(0.9 * 0.8 * 0.7), abs=1e-6)
    assert t.attention is None


def test_greedy_stops_at_length_limit():
    [t] = greedy_decode(fake_model(LOOP), SRC, max_len=5)
    assert t.tokens == [4, 5, 4, 5, 4]
    assert not t.finished


def test_greedy_batch_stops_each_sentence_at_its_own_eos():
    model = fake_model(CHAIN)
    src = torch.tensor([[4, 5, EOS_ID], [6, EOS_ID, 0]])
    results = greedy_decode(model, src, max_len=10)
    assert [r.tokens for r in results] == [[4, 5, EOS_ID], [4, 5, EOS_ID]]
    assert model.decoder.calls == 3  # stopped once every sentence had its EOS


def test_beam_width_one_equals_greedy_on_fake_decoder():
    for table, max_len in ((CHAIN, 10), (LOOP, 5), (TRAP, 10)):
        [g] = greedy_decode(fake_model(table), SRC, max_len=max_len)
        [b] = beam_search(fake_model(table), SRC, beam_width=1, max_len=max_len)
        assert b.tokens == g.tokens
        assert b.score == pytest.approx(g.score, abs=1e-9)


def test_beam_search_finds_the_better_sentence_greedy_misses():
    [g] = greedy_decode(fake_model(TRAP), SRC, max_len=10)
    [b] = beam_search(fake_model(TRAP), SRC, beam_width=2, max_len=10)
    assert g.tokens == [4, 5, EOS_ID] and g.score == pytest.approx(math.log(0.6 * 0.3), abs=1e-6)
    assert b.tokens == [5, EOS_ID]
    assert b.score == pytest.approx(math.log(0.4), abs=1e-6)


def test_beam_search_stops_at_eos_and_at_length_limit():
    [b] = beam_search(fake_model(CHAIN), SRC, beam_width=3, max_len=10)
    assert b.tokens == [4, 5, EOS_ID] and b.finished
    [b] = beam_search(fake_model({SOS_ID: {4: 1.0}, 4: {4: 0.5, 5: 0.5}, 5: {4: 0.5, 5: 0.5}}), SRC,
                      beam_width=3, max_len=4)
    assert len(b.tokens) == 4 and not b.finished


def test_length_penalty_prefers_the_longer_confident_sentence():
    # EOS at once: p = 0.4 (log -0.92); 4 5 6 EOS: p = 0.6 * 0.8 * 0.8 = 0.384 (log -0.96, per token -0.24)
    table = {SOS_ID: {EOS_ID: 0.4, 4: 0.6}, 4: {5: 0.8, EOS_ID: 0.2}, 5: {6: 0.8, EOS_ID: 0.2},
             6: {EOS_ID: 1.0}}
    [plain] = beam_search(fake_model(table), SRC, beam_width=3, max_len=10)
    [normalised] = beam_search(fake_model(table), SRC, beam_width=3, max_len=10, length_penalty=1.0)
    assert plain.tokens == [EOS_ID]
    assert normalised.tokens == [4, 5, 6, EOS_ID]


def test_attention_rows_follow_the_tokens():
    model = fake_model(CHAIN, attention=True)
    src = torch.tensor([[4, 5, 6, EOS_ID], [4, EOS_ID, 0, 0]])
    for result in (greedy_decode(model, src), beam_search(model, src, beam_width=2)):
        a0, a1 = result[0].attention, result[1].attention
        assert a0.shape == (3, 4) and a1.shape == (3, 2)  # padding columns cut off
        torch.testing.assert_close(a1, torch.tensor([[0.5, 0.5]] * 3))


def make_real_models():
    torch.manual_seed(0)
    return [
        Seq2Seq(EncoderRNN(V, 12), DecoderRNN(12, V)),
        Seq2Seq(EncoderRNN(V, 12), AttnDecoderRNN(12, V)),
        Seq2Seq(LSTMEncoder(V, 6, 12, 2), LSTMDecoder(V, 6, 12, 2)),
        Seq2Seq(EncoderRNN(V, 12, embedding_dim=6), ContextDecoderGRU(V, 6, 12)),
    ]


def test_beam_width_one_equals_greedy_on_real_models():
    src = torch.tensor([[4, 5, 6, EOS_ID], [7, EOS_ID, 0, 0], [5, 5, EOS_ID, 0]])
    for model in make_real_models():
        greedy = greedy_decode(model, src, max_len=6)
        beam = beam_search(model, src, beam_width=1, max_len=6)
        for g, b in zip(greedy, beam):
            assert g.tokens == b.tokens
            assert b.score == pytest.approx(g.score, abs=1e-4)
        assert model.training  # decoding restores the mode it found


def test_wider_beam_never_scores_worse_when_all_finish():
    src = torch.tensor([[4, 5, 6, EOS_ID]])
    table = {SOS_ID: {4: 0.5, 5: 0.5}, 4: {EOS_ID: 0.5, 6: 0.5}, 5: {EOS_ID: 0.9, 7: 0.1},
             6: {EOS_ID: 1.0}, 7: {EOS_ID: 1.0}}
    scores = [beam_search(fake_model(table), src, beam_width=k)[0].score for k in (1, 2, 3)]
    assert scores[0] <= scores[1] + 1e-12 <= scores[2] + 2e-12


def test_translate_sentences_uses_the_vocabularies():
    src_vocab = Vocab(["a", "b", "c", "d"])  # ids 4-7
    tgt_vocab = Vocab(["w", "x", "y", "z"])
    model = fake_model(CHAIN)
    assert translate_sentences(model, ["a b", "zzz"], src_vocab, tgt_vocab, device="cpu") == ["w x", "w x"]
    assert translate_sentences(model, ["a b"], src_vocab, tgt_vocab, device="cpu", beam_width=3) == ["w x"]
    [t] = decode_sentences(model, [["a", "b"]], src_vocab, device="cpu")
    assert isinstance(t, Translation) and t.tokens == [4, 5, EOS_ID]


def test_bad_arguments_are_reported():
    model = fake_model(CHAIN)
    with pytest.raises(ValueError, match="beam_width"):
        beam_search(model, SRC, beam_width=0)
    with pytest.raises(ValueError, match="max_len"):
        greedy_decode(model, SRC, max_len=0)
    with pytest.raises(TypeError, match="Seq2Seq"):
        greedy_decode(nn.Linear(2, 2), SRC)
    with pytest.raises(ValueError, match="batch dimension"):
        greedy_decode(model, SRC[0])
    with pytest.raises(TypeError, match="list of sentences"):
        translate_sentences(model, "a b", Vocab(["a"]), Vocab(["w"]), device="cpu")
