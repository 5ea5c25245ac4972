"""A character corpus for character-level language models.

``load_char_corpus(source)`` returns a :class:`CharCorpus` with
``.train_text``, ``.val_text`` (the last 10 %), a character ``.vocab`` and
``encode`` / ``decode``.

Sources
-------
``"offline"`` (default)
    The English prose of the Python Language Reference and library
    documentation that ships with every CPython installation, in the standard
    library module ``pydoc_data.topics`` (the text ``help("if")`` shows;
    PSF licence). Only prose paragraphs are kept: headings, grammar rules,
    code examples and tables are dropped, typographic quotes and dashes
    become ASCII. The result (about 220 KB, 98 distinct characters, with Python 3.11) is the same on
    every machine with the same Python minor version.
``"tinyshakespeare"``
    Karpathy's Tiny Shakespeare (``input.txt`` of char-rnn, about 1.1 MB),
    downloaded into the course cache and checked against its SHA-256.
a path
    Any UTF-8 text file, e.g. a hand-copied ``input.txt``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from course_utils.data import download as _download
from course_utils.data.vocab import Vocab

__all__ = ["CharCorpus", "load_char_corpus", "offline_text"]

_ASCII_MAP = {
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
    "\u2013": "-", "\u2014": "--", "\u2026": "...", "\u00a0": " ",
}


def _is_prose(par: list[str]) -> bool:
    first = par[0]
    if len(first) - len(first.lstrip()) > 2:  # code, grammar, indented examples
        return False
    text = " ".join(line.strip() for line in par)
    if re.fullmatch(r"[*=\-+|^~ ]+", par[-1].strip() or "*"):  # headings, table rules
        return False
    if ">>>" in text or "::=" in text or text.startswith(("+", "|", "*")):
        return False
    words = re.findall(r"[A-Za-z]+", text)
    return len(words) >= 8 and len(" ".join(words)) > 0.7 * len(text)


def offline_text() -> str:
    """The offline corpus: prose paragraphs from ``pydoc_data.topics``, ASCII only.

    Topics are taken in sorted order; paragraphs are separated by a blank
    line, lines keep their original wrapping (about 70 characters).
    """
    from pydoc_data.topics import topics

    paragraphs: list[str] = []
    for key in sorted(topics):
        text = topics[key]
        for ch, rep in _ASCII_MAP.items():
            text = text.replace(ch, rep)
        text = text.encode("ascii", "ignore").decode("ascii")
        for block in re.split(r"\n\s*\n", text):
            lines = [line.rstrip() for line in block.split("\n") if line.strip()]
            if lines and _is_prose(lines):
                paragraphs.append("\n".join(line.strip() for line in lines))
    return "\n\n".join(paragraphs) + "\n"


@dataclass
class CharCorpus:
    """A text split into training and validation parts, with a character vocabulary.

    Attributes:
        train_text: the first 90 % of the text (cut at a line break).
        val_text: the rest.
        vocab: ``Vocab.from_chars`` of the whole text (specials 0-3, then the
            characters sorted).
        source: ``"offline"``, ``"tinyshakespeare"`` or the path.
    """

    train_text: str
    val_text: str
    vocab: Vocab
    source: str = "offline"

    def __len__(self) -> int:
        return len(self.train_text) + len(self.val_text)

    def encode(self, text: str) -> torch.Tensor:
        """LongTensor [len(text)] of character ids (unknown characters -> UNK)."""
        return torch.tensor(self.vocab.encode(text), dtype=torch.long)

    def decode(self, ids) -> str:
        """Characters of ``ids`` (list or 1-D tensor) joined into a string."""
        return "".join(self.vocab.decode(ids))


def _split_text(text: str, val_fraction: float) -> tuple[str, str]:
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be strictly between 0 and 1, got {val_fraction}")
    cut = int(len(text) * (1.0 - val_fraction))
    nl = text.rfind("\n", 0, cut)
    if nl > 0.5 * cut:  # cut at a line break when one is near
        cut = nl + 1
    return text[:cut], text[cut:]


def _read_text(path: Path) -> str:
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not valid UTF-8 (byte {err.start}); save it as UTF-8") from None
    if not text.strip():
        raise ValueError(f"{path} is empty; expected a text file to train on")
    return text


def load_char_corpus(
    source: str | os.PathLike = "offline",
    val_fraction: float = 0.1,
    url: str | None = None,
    sha256: str | None = None,
) -> CharCorpus:
    """Load a character corpus, split 90/10 into train and validation text.

    Args:
        source: ``"offline"``, ``"tinyshakespeare"`` (download) or a path to a
            UTF-8 text file.
        val_fraction: share of the text (at the end) kept for validation.
        url, sha256: override the Tiny Shakespeare address / checksum.
    """
    if isinstance(source, str) and source == "offline":
        text, label = offline_text(), "offline"
    elif isinstance(source, str) and source == "tinyshakespeare":
        path = _download.download_file(
            url or _download.TINYSHAKESPEARE_URL,
            _download.cache_dir() / "tinyshakespeare.txt",
            sha256 or _download.TINYSHAKESPEARE_SHA256,
        )
        text, label = _read_text(path), "tinyshakespeare"
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"source={str(source)!r} is neither 'offline', 'tinyshakespeare' nor an existing "
                f"text file. Download {_download.TINYSHAKESPEARE_URL} by hand and pass its path."
            )
        text, label = _read_text(path), str(source)
    train, val = _split_text(text, val_fraction)
    return CharCorpus(train, val, Vocab.from_chars(text), label)
