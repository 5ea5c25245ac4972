"""Tests for course_utils.widgets.translate (no browser, no training)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from course_utils.data.vocab import EOS_ID, Vocab
from course_utils.models.seq2seq import AttnDecoderRNN, Decoder, DecoderRNN, EncoderRNN, Seq2Seq
from course_utils.widgets.translate import (
    OUTPUT_CLASS,
    prepare_sentence,
    render_translation,
    translate_widget,
    translation_view,
)

SRC = Vocab(["she", "is", "tired", "."])  # ids 4-7
TRG = Vocab(["elle", "est", "fatiguée", "."])


class ZeroEncoder(nn.Module):
    def forward(self, src, src_lengths):
        return torch.zeros(src.shape[0], src.shape[1], 1), (torch.zeros(1, src.shape[0], 1),)


class ScriptDecoder(Decoder):
    """Emits ``elle est fatiguée . <eos>`` and attends to source position t (or uniformly after)."""

    def __init__(self, script=(4, 5, 6, 7, EOS_ID)):
        super().__init__()
        self.output_size = len(TRG)
        self.script = list(script)

    def forward_step(self, input, state, encoder_outputs, src_mask):
        step = int(state[0][0, 0, 0])
        logits = torch.full((input.shape[0], self.output_size), -10.0)
        logits[:, self.script[min(step, len(self.script) - 1)]] = 10.0
        weights = torch.zeros(src_mask.shape)
        weights[:, min(step, src_mask.shape[1] - 1)] = 1.0
        return logits, (state[0] + 1,), weights


def model(script=(4, 5, 6, 7, EOS_ID)) -> Seq2Seq:
    return Seq2Seq(ZeroEncoder(), ScriptDecoder(script))


def test_prepare_sentence_matches_training_format():
    assert prepare_sentence("She is TIRED") == ["she", "is", "tired", "."]
    assert prepare_sentence("she is tired!") == ["she", "is", "tired", "!"]
    assert prepare_sentence("   ") == []
    with pytest.raises(TypeError):
        prepare_sentence(None)


def test_view_translates_and_labels_attention():
    view = translation_view("She is tired.", model(), SRC, TRG, device="cpu")
    assert view["status"] == "ok"
    assert view["translation"] == "elle est fatiguée ."
    assert view["source"] == ["she", "is", "tired", ".", "<eos>"]
    assert view["target"] == ["elle", "est", "fatiguée", ".", "<eos>"]
    assert view["attention"][0] == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert len(view["attention"]) == 5
    page = render_translation(view)
    assert "elle est fatiguée ." in page and "<table>" in page and "fatiguée</th>" in page


def test_unknown_words_give_a_message_not_a_crash():
    view = translation_view("she is tierd", model(), SRC, TRG, device="cpu")
    assert view["status"] == "unknown"
    assert "'tierd'" in view["message"]
    assert view["unknown"]["tierd"] == ["tired"]
    page = render_translation(view)
    assert "did you mean tired?" in page


def test_empty_input_and_length_limit_messages():
    assert translation_view("", model(), SRC, TRG, device="cpu")["status"] == "empty"
    assert "Type an English sentence" in render_translation(translation_view(" ", model(), SRC, TRG, device="cpu"))
    endless = translation_view("she is", model(script=(4, 5, 4, 5, 4, 5)), SRC, TRG, device="cpu", max_len=3)
    assert endless["status"] == "ok" and "length limit" in endless["message"]


def test_model_without_attention_says_so():
    torch.manual_seed(0)
    plain = Seq2Seq(EncoderRNN(len(SRC), 4), DecoderRNN(4, len(TRG)))
    view = translation_view("she is tired", plain, SRC, TRG, device="cpu")
    assert view["attention"] is None
    assert "no attention" in render_translation(view)


def test_widget_updates_when_text_changes():
    torch.manual_seed(0)
    attn = Seq2Seq(EncoderRNN(len(SRC), 4), AttnDecoderRNN(4, len(TRG)))
    box = translate_widget(attn, SRC, TRG, device="cpu", text="she is tired")
    text, out = box.children
    assert OUTPUT_CLASS in out._dom_classes
    before = out.value
    text.value = "she is zzz"
    assert out.value != before and "zzz" in out.value
