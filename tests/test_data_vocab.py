import pytest
import torch

from course_utils.data.vocab import (
    EOS_ID,
    PAD_ID,
    SOS_ID,
    SPECIAL_TOKENS,
    UNK_ID,
    Vocab,
)


def test_special_ids_are_fixed_and_pad_differs_from_sos():
    assert (PAD_ID, SOS_ID, EOS_ID, UNK_ID) == (0, 1, 2, 3)
    v = Vocab()
    assert v.itos == ["<pad>", "<sos>", "<eos>", "<unk>"] == list(SPECIAL_TOKENS)
    assert len(v) == 4 and PAD_ID != SOS_ID


def test_build_orders_by_frequency_then_token():
    v = Vocab.build([["b", "a", "c"], ["c", "b"], ["c", "d"]])
    # c:3, b:2, then a and d (1 each) alphabetically
    assert v.itos[4:] == ["c", "b", "a", "d"]
    assert v.stoi["c"] == 4 and v.stoi["d"] == 7
    assert Vocab.build([["d", "c"], ["b", "c", "a"], ["c", "b"]]) == v  # same counts, other order


def test_min_freq_and_max_size():
    seqs = [["a", "a", "b", "c"], ["a", "b"]]
    assert Vocab.build(seqs, min_freq=2).itos[4:] == ["a", "b"]
    assert Vocab.build(seqs, max_size=1).itos[4:] == ["a"]
    with pytest.raises(ValueError, match="min_freq"):
        Vocab.build(seqs, min_freq=0)


def test_encode_decode_round_trip_and_unknown():
    v = Vocab.build([["i", "am", "cold", "."]])
    ids = v.encode(["i", "am", "hot", "."], add_sos=True, add_eos=True)
    assert ids[0] == SOS_ID and ids[-1] == EOS_ID and ids[3] == UNK_ID
    assert len(ids) == 6
    assert v.decode(ids) == ["i", "am", "<unk>", "."]
    assert v.decode(ids, strip_specials=False)[0] == "<sos>"
    assert v.decode(v.encode("i am cold .".split())) == ["i", "am", "cold", "."]


def test_decode_tensor_pad_and_stop_at_eos():
    v = Vocab.build([["x", "y"]])
    ids = torch.tensor([v.stoi["x"], EOS_ID, v.stoi["y"], PAD_ID])
    assert v.decode(ids) == ["x", "y"]
    assert v.decode(ids, stop_at_eos=True) == ["x"]
    with pytest.raises(ValueError, match="outside this vocabulary"):
        v.decode([99])


def test_char_vocab_and_contains():
    v = Vocab.from_chars("hello")
    assert v.itos[4:] == ["e", "h", "l", "o"]
    assert "l" in v and "z" not in v and "<pad>" in v
    assert "".join(v.decode(v.encode("hole"))) == "hole"
    assert Vocab.from_chars(["ab", "ca"]).itos[4:] == ["a", "b", "c"]


def test_bad_input_errors():
    with pytest.raises(TypeError, match="from_chars"):
        Vocab.build("a string")
    with pytest.raises(TypeError, match="must be str"):
        Vocab([1, 2])
    assert "Vocab(size=" in repr(Vocab.build([["a"]]))
