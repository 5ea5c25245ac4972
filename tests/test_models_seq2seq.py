"""Tests for course_utils.models.seq2seq: shapes, PAD handling, teacher forcing, learning."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from course_utils.data.vocab import EOS_ID, PAD_ID, SOS_ID
from course_utils.models import count_parameters
from course_utils.models.seq2seq import (
    AttnDecoderRNN,
    ContextDecoderGRU,
    Decoder,
    DecoderRNN,
    EncoderRNN,
    LSTMDecoder,
    LSTMEncoder,
    Seq2Seq,
    lengths_from_padding,
    reverse_padded,
    seq2seq_step,
    sequence_loss,
    token_nll,
)

V_SRC, V_TRG = 13, 11


def make_models() -> dict[str, Seq2Seq]:
    torch.manual_seed(0)
    return {
        "gru": Seq2Seq(EncoderRNN(V_SRC, 16), DecoderRNN(16, V_TRG)),
        "attention": Seq2Seq(EncoderRNN(V_SRC, 16), AttnDecoderRNN(16, V_TRG)),
        "lstm": Seq2Seq(LSTMEncoder(V_SRC, 8, 16, num_layers=2), LSTMDecoder(V_TRG, 8, 16, num_layers=2)),
        "lstm_reversed": Seq2Seq(LSTMEncoder(V_SRC, 8, 16, num_layers=2, reverse_source=True),
                                 LSTMDecoder(V_TRG, 8, 16, num_layers=2)),
        "cho": Seq2Seq(EncoderRNN(V_SRC, 16, embedding_dim=8), ContextDecoderGRU(V_TRG, 8, 16)),
    }


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    src = torch.tensor([[4, 5, 6, 7, EOS_ID], [8, 9, EOS_ID, PAD_ID, PAD_ID], [10, 11, 12, EOS_ID, PAD_ID]])
    tgt = torch.tensor([[4, 5, 6, EOS_ID], [7, EOS_ID, PAD_ID, PAD_ID], [8, 9, EOS_ID, PAD_ID]])
    return src, tgt


def test_special_ids_are_distinct_and_pad_is_zero():
    assert PAD_ID == 0
    assert len({PAD_ID, SOS_ID, EOS_ID}) == 3


@pytest.mark.parametrize("name", ["gru", "attention", "lstm", "lstm_reversed", "cho"])
def test_forward_shapes_and_loss(name):
    model = make_models()[name]
    src, tgt = batch()
    logits = model(src, tgt)
    assert logits.shape == (3, 4, V_TRG)
    loss = sequence_loss(logits, tgt)
    assert torch.isfinite(loss)
    # an untrained model is close to uniform: loss near log(V)
    assert abs(loss.item() - torch.log(torch.tensor(float(V_TRG))).item()) < 1.0


@pytest.mark.parametrize("name", ["gru", "attention", "lstm", "lstm_reversed", "cho"])
def test_padding_does_not_change_a_sentence(name):
    """A sentence decoded alone or inside a padded batch gets the same scores (packing + masks)."""
    model = make_models()[name].eval()
    src, tgt = batch()
    alone = model(src[1:2, :3], tgt[1:2, :2])
    padded = model(src, tgt)[1:2, :2]
    torch.testing.assert_close(alone, padded, atol=1e-5, rtol=1e-5)


def test_attention_ignores_pad_and_sums_to_one():
    model = make_models()["attention"].eval()
    src, _ = batch()
    enc = model.encode(src)
    input = torch.full((3,), SOS_ID)
    _, _, weights = model.decoder.forward_step(input, enc.state, enc.outputs, enc.src_mask)
    assert weights.shape == (3, 5)
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(3))
    assert weights[1, 3:].abs().max() == 0 and weights[2, 4] == 0


def test_encoder_outputs_are_zero_at_pad_and_hidden_is_last_real_step():
    torch.manual_seed(0)
    enc = EncoderRNN(V_SRC, 6, dropout=0.0)
    src, _ = batch()
    outputs, (hidden,) = enc(src, lengths_from_padding(src))
    assert outputs.shape == (3, 5, 6) and hidden.shape == (1, 3, 6)
    assert outputs[1, 3:].abs().max() == 0
    torch.testing.assert_close(hidden[0, 1], outputs[1, 2])


def test_reverse_padded_keeps_padding_at_the_end():
    src, _ = batch()
    rev = reverse_padded(src, lengths_from_padding(src))
    assert rev.tolist() == [[EOS_ID, 7, 6, 5, 4], [EOS_ID, 9, 8, PAD_ID, PAD_ID], [EOS_ID, 12, 11, 10, PAD_ID]]
    assert torch.equal(reverse_padded(rev, lengths_from_padding(rev)), src)


def test_reversed_encoder_reads_the_sentence_backwards():
    torch.manual_seed(0)
    enc = LSTMEncoder(V_SRC, 4, 6, num_layers=1, dropout=0.0, reverse_source=True)
    src = torch.tensor([[4, 5, 6, EOS_ID]])
    _, (h_rev, _) = enc(src, torch.tensor([4]))
    enc.reverse_source = False
    _, (h_fwd, _) = enc(src.flip(1), torch.tensor([4]))
    torch.testing.assert_close(h_rev, h_fwd)


def test_loss_ignores_pad_positions():
    src, tgt = batch()
    logits = torch.randn(3, 4, V_TRG, requires_grad=True)
    loss = sequence_loss(logits, tgt)
    loss.backward()
    assert logits.grad[tgt == PAD_ID].abs().max() == 0
    changed = logits.detach().clone()
    changed[tgt == PAD_ID] = 100.0
    assert sequence_loss(changed, tgt).item() == pytest.approx(loss.item())


class RecordingDecoder(Decoder):
    """Always predicts token 9; records what it was fed."""

    def __init__(self):
        super().__init__()
        self.output_size = V_TRG
        self.inputs: list[list[int]] = []

    def forward_step(self, input, state, encoder_outputs, src_mask):
        self.inputs.append(input.tolist())
        logits = torch.full((input.shape[0], V_TRG), -5.0)
        logits[:, 9] = 5.0
        return logits, state, None


@pytest.mark.parametrize("ratio, expected", [
    (1.0, [[SOS_ID] * 3, [4, 7, 8], [5, EOS_ID, 9], [6, PAD_ID, EOS_ID]]),
    (0.0, [[SOS_ID] * 3, [9, 9, 9], [9, 9, 9], [9, 9, 9]]),
])
def test_teacher_forcing_ratio_chooses_the_next_input(ratio, expected):
    decoder = RecordingDecoder()
    model = Seq2Seq(EncoderRNN(V_SRC, 4), decoder, teacher_forcing_ratio=ratio)
    src, tgt = batch()
    model.train()
    model(src, tgt)
    assert decoder.inputs == expected


def test_teacher_forcing_half_mixes_and_eval_defaults_to_full():
    decoder = RecordingDecoder()
    model = Seq2Seq(EncoderRNN(V_SRC, 4), decoder, teacher_forcing_ratio=0.5)
    src = torch.full((400, 3), 4)
    tgt = torch.full((400, 3), 5)
    torch.manual_seed(0)
    model.train()
    model(src, tgt)
    fed_truth = torch.tensor(decoder.inputs[1:]) == 5
    assert 0.4 < fed_truth.float().mean().item() < 0.6
    decoder.inputs.clear()
    model.eval()
    model(src, tgt)
    assert all(v == 5 for row in decoder.inputs[1:] for v in row)


def test_bad_inputs_give_clear_errors():
    model = make_models()["gru"]
    src, tgt = batch()
    with pytest.raises(ValueError, match="batch dimension"):
        model(src[0], tgt)
    with pytest.raises(ValueError, match="same number of sentences"):
        model(src, tgt[:2])
    with pytest.raises(ValueError, match="teacher_forcing_ratio"):
        Seq2Seq(EncoderRNN(V_SRC, 4), DecoderRNN(4, V_TRG), teacher_forcing_ratio=1.5)
    with pytest.raises(TypeError, match="Decoder"):
        Seq2Seq(EncoderRNN(V_SRC, 4), nn.Linear(2, 2))
    with pytest.raises(ValueError, match="only of PAD"):
        lengths_from_padding(torch.zeros(2, 3, dtype=torch.long))


def test_count_parameters_matches_hand_count():
    model = Seq2Seq(EncoderRNN(5, 3), DecoderRNN(3, 4))
    gru = 3 * (3 * 3 + 3 * 3 + 3 + 3)  # three gates: W, U, two biases
    expected = (5 * 3 + gru) + (4 * 3 + gru + 3 * 4 + 4)
    assert count_parameters(model) == expected


def test_attention_model_learns_to_reverse():
    """Sixty steps on a reversal task: the held-out loss must fall well below chance."""
    torch.manual_seed(0)
    vocab = 10
    model = Seq2Seq(EncoderRNN(vocab, 24, dropout=0.0), AttnDecoderRNN(24, vocab, dropout=0.0))
    opt = torch.optim.Adam(model.parameters(), lr=0.02)

    def sample(n):
        body = torch.randint(4, vocab, (n, 4))
        eos = torch.full((n, 1), EOS_ID)
        return torch.cat((body, eos), 1), torch.cat((body.flip(1), eos), 1)

    for _ in range(60):
        src, tgt = sample(16)
        logits, targets = seq2seq_step(model, (src, lengths_from_padding(src), tgt), torch.device("cpu"))
        loss = nn.functional.cross_entropy(logits, targets, ignore_index=PAD_ID)
        opt.zero_grad()
        loss.backward()
        opt.step()
    src, tgt = sample(64)
    nll = token_nll(model, [(src, lengths_from_padding(src), tgt)], "cpu")
    chance = torch.log(torch.tensor(float(vocab - 4))).item()  # uniform over the 6 real tokens
    assert nll < 0.5 * chance, f"held-out NLL {nll:.3f} is not below half of chance ({chance:.3f})"

