import re

import pytest
import torch
from data_helpers import closed_port_url, local_server, sha256

from course_utils.data import download as dl
from course_utils.data.corpus import load_char_corpus, offline_text


@pytest.fixture(scope="module")
def corpus():
    return load_char_corpus()


def test_offline_corpus_is_big_plain_english(corpus):
    text = corpus.train_text + corpus.val_text
    assert len(text) >= 200_000
    assert text.isascii()
    assert len(re.findall(r"\bthe\b", text)) > 2000  # English prose, not code
    assert ">>>" not in text and "::=" not in text
    assert text == offline_text()  # deterministic


def test_split_is_90_10_at_a_line_break(corpus):
    n = len(corpus)
    assert abs(len(corpus.val_text) / n - 0.1) < 0.01
    assert corpus.train_text.endswith("\n")


def test_vocab_sorted_and_round_trip(corpus):
    chars = corpus.vocab.itos[4:]
    assert chars == sorted(chars) and "e" in corpus.vocab
    ids = corpus.encode("Hello, world.\n")
    assert ids.dtype == torch.long and ids.shape == (14,)
    assert corpus.decode(ids) == "Hello, world.\n"
    assert corpus.decode(corpus.encode("é")) == "<unk>"


def test_local_text_file(tmp_path):
    f = tmp_path / "input.txt"
    f.write_text("First Citizen:\nBefore we proceed any further, hear me speak.\n" * 50)
    c = load_char_corpus(f)
    assert c.source == str(f) and len(c) == len(f.read_text())
    assert c.vocab.itos[4] == "\n"


def test_bad_sources(tmp_path):
    with pytest.raises(FileNotFoundError, match="tinyshakespeare"):
        load_char_corpus(tmp_path / "missing.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    with pytest.raises(ValueError, match="empty"):
        load_char_corpus(empty)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9\n".encode("latin-1"))
    with pytest.raises(ValueError, match="not valid UTF-8"):
        load_char_corpus(latin)
    with pytest.raises(ValueError, match="val_fraction"):
        load_char_corpus(val_fraction=1.0)


def test_tinyshakespeare_download_via_local_server(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    body = ("ROMEO:\nBut soft, what light through yonder window breaks?\n" * 40).encode()
    with local_server({"/input.txt": (body, None)}) as (base, _):
        monkeypatch.setattr(dl, "TINYSHAKESPEARE_URL", base + "/input.txt")
        monkeypatch.setattr(dl, "TINYSHAKESPEARE_SHA256", sha256(body))
        c = load_char_corpus("tinyshakespeare")
    assert c.source == "tinyshakespeare" and c.train_text.startswith("ROMEO:")
    assert (tmp_path / "cache" / "tinyshakespeare.txt").read_bytes() == body


def test_tinyshakespeare_without_network(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    with pytest.raises(dl.DownloadError, match="by hand"):
        load_char_corpus("tinyshakespeare", url=closed_port_url("/input.txt"))
    assert list((tmp_path / "cache").iterdir()) == []
