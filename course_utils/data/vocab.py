"""A vocabulary: tokens <-> integer ids, with fixed special ids.

Every vocabulary in the course starts with the same four special tokens, so
their ids never change between datasets or runs::

    PAD_ID = 0  "<pad>"  fills the end of short sequences in a padded batch
    SOS_ID = 1  "<sos>"  start of sequence, the decoder's first input
    EOS_ID = 2  "<eos>"  end of sequence
    UNK_ID = 3  "<unk>"  any token the vocabulary has not seen

Padding has its own id, distinct from SOS (the PyTorch tutorial uses 0 for
both), so a loss can ignore padding with ``ignore_index=PAD_ID`` without also
ignoring real start symbols.

A token is any string: a word for sentence pairs, a single character for
names and the character corpus (``Vocab.from_chars``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

PAD_ID, SOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3
PAD_TOKEN, SOS_TOKEN, EOS_TOKEN, UNK_TOKEN = "<pad>", "<sos>", "<eos>", "<unk>"
SPECIAL_TOKENS: tuple[str, ...] = (PAD_TOKEN, SOS_TOKEN, EOS_TOKEN, UNK_TOKEN)

__all__ = [
    "EOS_ID",
    "EOS_TOKEN",
    "PAD_ID",
    "PAD_TOKEN",
    "SOS_ID",
    "SOS_TOKEN",
    "SPECIAL_TOKENS",
    "UNK_ID",
    "UNK_TOKEN",
    "Vocab",
]


class Vocab:
    """Map tokens to ids and back; ids 0-3 are always PAD, SOS, EOS, UNK.

    Build one with :meth:`build` (from token sequences, most frequent first)
    or :meth:`from_chars` (one token per character, sorted).

    Attributes:
        itos: list of tokens; ``itos[i]`` is the token with id ``i``.
        stoi: dict token -> id, the inverse of ``itos``.
    """

    def __init__(self, tokens: Iterable[str] = ()) -> None:
        """Create a vocabulary holding the specials followed by ``tokens``.

        Args:
            tokens: the ordinary tokens, in the id order wanted (ids start at
                4). Duplicates and tokens equal to a special are skipped.
        """
        self.itos: list[str] = list(SPECIAL_TOKENS)
        self.stoi: dict[str, int] = {tok: i for i, tok in enumerate(self.itos)}
        for tok in tokens:
            if not isinstance(tok, str):
                raise TypeError(f"Vocab tokens must be str, got {type(tok).__name__}: {tok!r}")
            if tok not in self.stoi:
                self.stoi[tok] = len(self.itos)
                self.itos.append(tok)

    # -- construction ---------------------------------------------------------
    @classmethod
    def build(
        cls,
        token_sequences: Iterable[Iterable[str]],
        min_freq: int = 1,
        max_size: int | None = None,
    ) -> Vocab:
        """Count tokens and keep the frequent ones, in a deterministic order.

        Tokens are ordered by frequency (most frequent first), ties broken by
        the token itself, so the same data always gives the same ids.

        Args:
            token_sequences: e.g. ``[["i", "am", "cold", "."], ...]``. A plain
                string counts as a sequence of characters.
            min_freq: tokens seen fewer times are left out (they encode to UNK).
            max_size: keep at most this many ordinary tokens (specials excluded).
        """
        if isinstance(token_sequences, str):
            raise TypeError(
                "Vocab.build expects a list of token sequences, got one string; "
                "wrap it in a list, or use Vocab.from_chars(text) for characters"
            )
        if min_freq < 1:
            raise ValueError(f"min_freq must be >= 1, got {min_freq}")
        counts: Counter[str] = Counter()
        for seq in token_sequences:
            counts.update(seq)
        kept = sorted(
            (tok for tok, c in counts.items() if c >= min_freq and tok not in SPECIAL_TOKENS),
            key=lambda tok: (-counts[tok], tok),
        )
        if max_size is not None:
            kept = kept[:max_size]
        return cls(kept)

    @classmethod
    def from_chars(cls, text: str | Iterable[str]) -> Vocab:
        """A character vocabulary: every distinct character of ``text``, sorted.

        Example: ``Vocab.from_chars("hello")`` has ids 4.. for ``e h l o``.
        """
        chars = set()
        for piece in text if not isinstance(text, str) else [text]:
            chars.update(piece)
        return cls(sorted(chars))

    # -- container protocol ---------------------------------------------------
    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: object) -> bool:
        return token in self.stoi

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.itos == other.itos

    def __repr__(self) -> str:
        preview = ", ".join(repr(t) for t in self.itos[4:12])
        more = ", ..." if len(self.itos) > 12 else ""
        return f"Vocab(size={len(self)}, tokens=[{preview}{more}])"

    # -- encode / decode ------------------------------------------------------
    def encode(
        self, tokens: Iterable[str], add_sos: bool = False, add_eos: bool = False
    ) -> list[int]:
        """Turn tokens into ids; unknown tokens become ``UNK_ID``.

        Args:
            tokens: a token list (``"i am cold .".split()``) or, for a
                character vocabulary, a string.
            add_sos: put ``SOS_ID`` in front.
            add_eos: append ``EOS_ID``.
        Returns:
            list of ints of length ``len(tokens) + add_sos + add_eos``.
        """
        ids = [SOS_ID] if add_sos else []
        ids.extend(self.stoi.get(tok, UNK_ID) for tok in tokens)
        if add_eos:
            ids.append(EOS_ID)
        return ids

    def decode(
        self, ids: Iterable[int], strip_specials: bool = True, stop_at_eos: bool = False
    ) -> list[str]:
        """Turn ids back into tokens.

        Args:
            ids: ints, or a 1-D tensor / array of them.
            strip_specials: leave out PAD, SOS and EOS (UNK stays as ``"<unk>"``
                because it stands for a real token).
            stop_at_eos: ignore everything from the first EOS on (useful for a
                decoder's output, which goes on after EOS).
        Returns:
            list of tokens; ``"".join(...)`` it for characters, ``" ".join`` for words.
        """
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        out: list[str] = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self.itos):
                raise ValueError(f"id {i} is outside this vocabulary (size {len(self)})")
            if i == EOS_ID and stop_at_eos:
                break
            if strip_specials and i in (PAD_ID, SOS_ID, EOS_ID):
                continue
            out.append(self.itos[i])
        return out
