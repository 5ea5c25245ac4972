"""Surnames by language, for character-level classification and generation.

``load_names(source)`` returns a :class:`NamesDataset` whatever the source:

- ``"offline"`` (default): built at first use from the surname lists that the
  Faker package ships (MIT licence), each language from one or more Faker
  locales of that language (``FAKER_SURNAME_SOURCES``: German from de_DE,
  de_AT and de_CH, ...), then cached on disk. Non-Latin scripts (Russian,
  Greek, Arabic, Korean) are transliterated to ASCII with ``anyascii``;
  Chinese and Japanese use Faker's own romanized lists. Accents are folded as
  the tutorial does. A name listed under several languages (``Martinez`` is
  in Faker's Spanish and French lists, ``Bos`` in the Dutch, German and Polish
  ones) has no single right answer, so it is left out, with one exception: a
  language that would fall under ``MIN_NAMES_PER_LANGUAGE`` without its shared
  names keeps them (Korean shares ``Han``, ``Song``, ``Yang`` ... with Chinese
  and would drop from 44 to 36), and they leave the other languages instead.
  No name carries two labels. Every language keeps at most
  ``MAX_NAMES_PER_LANGUAGE`` names (picked by a fixed hash, so the same on
  every machine).
- ``"tutorial"``: ``data/names/<Language>.txt`` from the PyTorch tutorial's
  data.zip (downloaded into the cache and verified).
- a path: the tutorial's data.zip, or a folder with ``names/*.txt`` (or
  ``data/names/*.txt``) in it. Tutorial names are accent-folded as in the
  tutorial and de-duplicated within a language; names shared between
  languages are left as they are.

Languages are sorted, and a label is an index into that sorted list, so
labels never change between runs.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import string
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from course_utils._files import atomic_path
from course_utils.data import download as _download
from course_utils.data.splits import train_val_test_split
from course_utils.data.text import strip_accents
from course_utils.data.vocab import Vocab

__all__ = [
    "ALL_LETTERS",
    "FAKER_SURNAME_SOURCES",
    "MAX_NAMES_PER_LANGUAGE",
    "MIN_NAMES_PER_LANGUAGE",
    "N_LETTERS",
    "NamesDataset",
    "load_names",
    "fold_name",
    "names_vocab",
    "unicode_to_ascii",
]

#: The characters a name may contain after folding (57 characters, as in the tutorial).
ALL_LETTERS: str = string.ascii_letters + " .,;'"
N_LETTERS: int = len(ALL_LETTERS)
_ALLOWED = frozenset(ALL_LETTERS)

#: Cap on names per language in the offline set (keeps the classes balanced).
MAX_NAMES_PER_LANGUAGE = 1000

#: Floor on names per language in the offline set; a language that would fall under it keeps
#: the names it shares with other languages.
MIN_NAMES_PER_LANGUAGE = 40

#: Language -> list of (Faker locale, attribute of its person Provider).
FAKER_SURNAME_SOURCES: dict[str, list[tuple[str, str]]] = {
    "Arabic": [("ar_AA", "last_names")],
    "Chinese": [("zh_CN", "last_romanized_names"), ("zh_TW", "last_romanized_names")],
    "Czech": [("cs_CZ", "last_names")],
    "Dutch": [("nl_NL", "last_names"), ("nl_BE", "last_names")],
    "English": [("en_GB", "last_names")],
    "French": [("fr_FR", "last_names"), ("fr_CA", "last_names")],
    "German": [("de_DE", "last_names"), ("de_AT", "last_names"), ("de_CH", "last_names")],
    "Greek": [("el_GR", "last_names")],
    "Irish": [("ga_IE", "last_names")],
    "Italian": [("it_IT", "last_names")],
    "Japanese": [("ja_JP", "last_romanized_names")],
    "Korean": [("ko_KR", "last_names")],
    "Polish": [("pl_PL", "male_last_names"), ("pl_PL", "unisex_last_names")],
    "Portuguese": [("pt_PT", "last_names"), ("pt_BR", "last_names")],
    "Russian": [("ru_RU", "last_names")],
    "Spanish": [("es_ES", "last_names"), ("es_MX", "last_names")],
}

_OFFLINE_FORMAT = 3  # bump when the offline recipe changes, to rebuild caches


def unicode_to_ascii(s: str) -> str:
    """Fold accents and keep only the characters of ``ALL_LETTERS``.

    Exactly the tutorial's ``unicodeToAscii``: decompose (NFD), drop the
    combining marks, drop every character not in ``ALL_LETTERS``.
    ``unicode_to_ascii("Ślusàrski") == "Slusarski"``; a letter with no
    decomposition, such as ``ł``, is dropped.
    """
    return "".join(c for c in strip_accents(s) if c in _ALLOWED)


def fold_name(raw: str) -> str:
    """Fold a name the way the offline names were prepared: transliterate, then fold accents.

    Characters that NFD folding keeps are folded as the tutorial does;
    anything else (Cyrillic, Greek, Hangul, Arabic, ``ł``, ``ß``) goes through
    ``anyascii`` first. Whitespace is collapsed and the first letter
    capitalised (``anyascii`` gives lower case for Arabic). What is left is
    made of ``ALL_LETTERS`` only: ``fold_name("Michałowski") == "Michalowski"``,
    ``fold_name("Иванов") == "Ivanov"``, ``fold_name("R2-D2") == "RD"``.

    Args:
        raw: a name in any script.

    Returns:
        the folded name (possibly empty, when nothing in ``raw`` can be written
        with ``ALL_LETTERS``).
    """
    if not isinstance(raw, str):
        raise TypeError(f"fold_name expects a str, got {type(raw).__name__}")
    from anyascii import anyascii

    out = [ch if ch in _ALLOWED or ch.isspace() else anyascii(ch) for ch in strip_accents(raw)]
    name = " ".join(unicode_to_ascii("".join(out)).split())
    for i, ch in enumerate(name):
        if ch.isalpha():
            return name[:i] + ch.upper() + name[i + 1 :]
    return name


_fold_name = fold_name  # the name this function had before it was public


def names_vocab() -> Vocab:
    """The character vocabulary for names: specials, then ``ALL_LETTERS`` sorted."""
    return Vocab.from_chars(ALL_LETTERS)


@dataclass
class NamesDataset:
    """Surnames with their language.

    Attributes:
        languages: sorted language names; a label is an index into this list.
        names: all names, grouped by language, sorted within each language.
        labels: ``labels[i]`` is the language index of ``names[i]``.
        source: where the data came from (``"offline"``, ``"tutorial"``, a path).
    """

    languages: list[str]
    names: list[str]
    labels: list[int]
    source: str = "offline"
    _default_split: tuple[list[tuple[str, int]], ...] | None = field(
        default=None, repr=False, compare=False
    )

    def __len__(self) -> int:
        return len(self.names)

    @property
    def n_languages(self) -> int:
        return len(self.languages)

    def label_of(self, language: str) -> int:
        """The label (index) of ``language``; ValueError naming the choices if unknown."""
        try:
            return self.languages.index(language)
        except ValueError:
            raise ValueError(
                f"unknown language {language!r}; this dataset has: {', '.join(self.languages)}"
            ) from None

    def names_for(self, language: str) -> list[str]:
        """All names of one language."""
        lab = self.label_of(language)
        return [n for n, label in zip(self.names, self.labels) if label == lab]

    def counts(self) -> dict[str, int]:
        """Number of names per language, in label order."""
        out = {lang: 0 for lang in self.languages}
        for lab in self.labels:
            out[self.languages[lab]] += 1
        return out

    def examples(self) -> list[tuple[str, int]]:
        """All ``(name, label)`` pairs."""
        return list(zip(self.names, self.labels))

    def split(
        self, seed: int = 0, fractions: tuple[float, ...] = (0.8, 0.1, 0.1)
    ) -> tuple[list[tuple[str, int]], ...]:
        """Stratified train / val / test lists of ``(name, label)``."""
        return train_val_test_split(self.examples(), fractions=fractions, seed=seed, labels=self.labels)

    def _splits(self) -> tuple[list[tuple[str, int]], ...]:
        if self._default_split is None:
            self._default_split = self.split()
        return self._default_split

    @property
    def train(self) -> list[tuple[str, int]]:
        """80 % of each language (``split(seed=0)``)."""
        return self._splits()[0]

    @property
    def val(self) -> list[tuple[str, int]]:
        """10 % of each language (``split(seed=0)``)."""
        return self._splits()[1]

    @property
    def test(self) -> list[tuple[str, int]]:
        """10 % of each language (``split(seed=0)``), never seen in training."""
        return self._splits()[2]

    def subset(self, languages: list[str]) -> NamesDataset:
        """Only the given languages (relabelled 0..k-1 in sorted order)."""
        keep = sorted(set(languages))
        for lang in keep:
            self.label_of(lang)
        by_lang = {lang: self.names_for(lang) for lang in keep}
        return _from_groups(by_lang, self.source)


def _from_groups(by_lang: dict[str, list[str]], source: str) -> NamesDataset:
    languages = sorted(by_lang)
    names: list[str] = []
    labels: list[int] = []
    for lab, lang in enumerate(languages):
        for n in sorted(by_lang[lang]):
            names.append(n)
            labels.append(lab)
    return NamesDataset(languages=languages, names=names, labels=labels, source=source)


# -- offline: Faker ------------------------------------------------------------

def _faker_version() -> str:
    import faker

    return getattr(faker, "VERSION", "unknown")


def _build_offline() -> dict[str, list[str]]:
    """Build {language: sorted names} from Faker; pure function of Faker's version."""
    raw: dict[str, dict[str, str]] = {}  # language -> {lower-case name: first spelling, sorted}
    for lang, sources in FAKER_SURNAME_SOURCES.items():
        got: set[str] = set()
        for locale, attr in sources:
            provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
            for name in getattr(provider, attr):  # tuples, lists, or dicts of weights
                folded = fold_name(str(name))
                if folded.upper() == folded and len(folded) > 1:  # "CHEN" -> "Chen"
                    folded = folded.title()
                if any(c.isalpha() for c in folded):
                    got.add(folded)
        spelling: dict[str, str] = {}
        for n in sorted(got):  # case-only duplicates within a language: keep the first sorted
            spelling.setdefault(n.lower(), n)
        raw[lang] = spelling
    # A name (compared case-insensitively) listed under several languages is left out,
    # except by a language that needs its shared names to reach the floor.
    languages_of = Counter(key for spelling in raw.values() for key in spelling)
    own = {lang: [k for k in spelling if languages_of[k] == 1] for lang, spelling in raw.items()}
    needy = sorted(lang for lang in raw if len(own[lang]) < MIN_NAMES_PER_LANGUAGE)
    claimed: dict[str, str] = {}
    for lang in needy:  # alphabetical, so a name two needy languages share goes to the first
        for key in raw[lang]:
            if languages_of[key] > 1:
                claimed.setdefault(key, lang)
    result: dict[str, list[str]] = {}
    for lang, spelling in raw.items():
        keys = own[lang] + [k for k in spelling if claimed.get(k) == lang]
        unique = sorted(spelling[k] for k in keys)
        if len(unique) > MAX_NAMES_PER_LANGUAGE:
            by_hash = sorted(unique, key=lambda n: hashlib.sha256(n.encode()).hexdigest())
            unique = sorted(by_hash[:MAX_NAMES_PER_LANGUAGE])
        result[lang] = unique
    return result


def _offline_groups() -> dict[str, list[str]]:
    path = _download.cache_dir() / f"names-offline-v{_OFFLINE_FORMAT}-faker{_faker_version()}.json"
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and all(isinstance(v, list) for v in data.values()):
                return data
        except (ValueError, OSError):
            pass  # a damaged cache is rebuilt below
    groups = _build_offline()
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(groups, indent=0, sort_keys=True), encoding="utf-8")
    return groups


# -- tutorial files ------------------------------------------------------------

def read_names_file(path: str | os.PathLike) -> list[str]:
    """Read one ``<Language>.txt``: UTF-8, one name per line, folded, de-duplicated.

    Raises:
        ValueError: the file is not UTF-8, or holds no names.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(
            f"{path} is not valid UTF-8 (byte {err.start}); the tutorial's names files are UTF-8. "
            "Re-save it as UTF-8, or re-download data.zip."
        ) from None
    seen: set[str] = set()
    names = []
    for line in text.splitlines():
        n = unicode_to_ascii(line.strip())
        if n and n not in seen:
            seen.add(n)
            names.append(n)
    if not names:
        raise ValueError(
            f"{path} holds no names (it is empty, or nothing is left after accent folding); "
            "expected one name per line. Re-download data.zip or remove the file."
        )
    return names


def _tutorial_groups(folder: Path) -> dict[str, list[str]]:
    names_dir = folder / "names"
    files = sorted(names_dir.glob("*.txt")) if names_dir.is_dir() else []
    if not files:
        raise _download.DataLayoutError(
            f"{names_dir} has no <Language>.txt files; expected the layout of the tutorial's "
            f"data.zip ({_download.TUTORIAL_ZIP_URL})"
        )
    return {f.stem: read_names_file(f) for f in files}


def load_names(
    source: str | os.PathLike = "offline", languages: list[str] | None = None
) -> NamesDataset:
    """Load surnames by language.

    Args:
        source: ``"offline"`` (Faker, default), ``"tutorial"`` (download the
            tutorial's data.zip into the cache), or a path to data.zip or to a
            folder containing ``names/*.txt``.
        languages: keep only these languages (ValueError if one is unknown).
    Returns:
        a :class:`NamesDataset`; ``.train``, ``.val``, ``.test`` hold
        ``(name, label)`` pairs from a fixed stratified 80/10/10 split.
    """
    if isinstance(source, str) and source == "offline":
        groups = _offline_groups()
        label = "offline"
    else:
        folder = _download.resolve_tutorial_source(source)
        groups = _tutorial_groups(folder)
        label = "tutorial" if source == "tutorial" else str(source)
    data = _from_groups(groups, label)
    if languages is not None:
        data = data.subset(list(languages))
    return data
