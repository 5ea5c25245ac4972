import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence
from torch.utils.data import DataLoader

from course_utils.data.batching import (
    BucketBatchSampler,
    LabelledBatch,
    PairBatch,
    pad_collate,
    pad_sequences,
)
from course_utils.data.vocab import PAD_ID


def test_pad_collate_labels():
    batch = [(torch.tensor([5, 6, 7]), 2), (torch.tensor([8]), 0), ([9, 10], 1)]
    x, lengths, y = pad_collate(batch)
    assert x.shape == (3, 3) and x.dtype == torch.long
    assert x.tolist() == [[5, 6, 7], [8, PAD_ID, PAD_ID], [9, 10, PAD_ID]]
    assert lengths.tolist() == [3, 1, 2]
    assert lengths.dtype == torch.int64 and lengths.device.type == "cpu"
    assert y.tolist() == [2, 0, 1] and y.dtype == torch.long
    assert isinstance(pad_collate(batch), LabelledBatch)


def test_lengths_work_with_pack_padded_sequence():
    x, lengths, _ = pad_collate([([1, 2, 3], 0), ([4], 1)])
    emb = torch.nn.Embedding(10, 4)(x)  # [batch, max len, 4]
    packed = pack_padded_sequence(emb, lengths, batch_first=True, enforce_sorted=False)
    assert packed.data.shape == (4, 4)


def test_pad_collate_pairs_and_bare_sequences():
    out = pad_collate([([1, 2], [3, 4, 5]), ([6], [7])])
    assert isinstance(out, PairBatch)
    assert out.inputs.tolist() == [[1, 2], [6, 0]]
    assert out.targets.tolist() == [[3, 4, 5], [7, 0, 0]]
    assert out.target_lengths.tolist() == [3, 1]
    x, lengths = pad_collate([[1, 2, 3], [4]])
    assert x.tolist() == [[1, 2, 3], [4, 0, 0]] and lengths.tolist() == [3, 1]


def test_time_major_and_custom_pad():
    x, _ = pad_sequences([[1, 2, 3], [4]], pad_id=9, batch_first=False)
    assert x.shape == (3, 2) and x[:, 1].tolist() == [4, 9, 9]


def test_pad_collate_bad_input():
    with pytest.raises(ValueError, match="empty batch"):
        pad_collate([])
    with pytest.raises(ValueError, match="empty sequence"):
        pad_collate([([], 0)])
    with pytest.raises(TypeError, match="integers"):
        pad_collate([(torch.tensor([0.5, 1.0]), 0)])
    with pytest.raises(ValueError, match="1-D"):
        pad_collate([(torch.zeros(2, 2, dtype=torch.long), 0)])
    with pytest.raises(ValueError, match="tuple of 3"):
        pad_collate([([1], [2], 3)])


def test_bucket_sampler_covers_everything_once_with_similar_lengths():
    lengths = [1, 9, 2, 8, 3, 7, 4, 6, 5, 5, 1, 9]
    sampler = BucketBatchSampler(lengths, batch_size=4, seed=0)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 3
    assert sorted(i for b in batches for i in b) == list(range(12))
    spreads = [max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches]
    assert max(spreads) <= 3  # unsorted, a batch could span 1..9


def test_bucket_sampler_is_reproducible_and_changes_per_epoch():
    lengths = [i % 7 for i in range(100)]
    a = BucketBatchSampler(lengths, batch_size=8, seed=5)
    b = BucketBatchSampler(lengths, batch_size=8, seed=5)
    first_a, second_a = list(a), list(a)
    assert first_a == list(b)
    assert first_a != second_a
    b.set_epoch(1)
    assert list(b) == second_a


def test_bucket_sampler_no_shuffle_and_drop_last():
    lengths = [3, 1, 2, 1, 3]
    s = BucketBatchSampler(lengths, batch_size=2, shuffle=False)
    assert list(s) == [[1, 3], [2, 0], [4]] == list(s)
    d = BucketBatchSampler(lengths, batch_size=2, shuffle=False, drop_last=True)
    assert len(d) == 2 and list(d) == [[1, 3], [2, 0]]
    with pytest.raises(ValueError, match="batch_size"):
        BucketBatchSampler(lengths, batch_size=0)
    with pytest.raises(ValueError, match="at least one"):
        BucketBatchSampler([], batch_size=2)


def test_with_dataloader():
    data = [(torch.arange(1, n + 1), n % 2) for n in range(1, 21)]
    sampler = BucketBatchSampler([len(s) for s, _ in data], batch_size=5)
    loader = DataLoader(data, batch_sampler=sampler, collate_fn=pad_collate)
    seen = 0
    for x, lengths, y in loader:
        assert x.shape == (len(y), int(lengths.max()))
        seen += len(y)
    assert seen == 20
