"""Course data: surnames, sentence pairs, a character corpus, and text tooling.

Every loader takes ``source="offline"`` (the default, no network needed),
the name of the real dataset (``"tutorial"``, ``"tinyshakespeare"``), or a
path to a local copy, and returns the same type whatever the source::

    from course_utils.data import load_names, load_pairs, load_char_corpus
    names = load_names()            # NamesDataset: .languages, .train/.val/.test
    pairs = load_pairs()            # PairsDataset: (english, french) pairs
    corpus = load_char_corpus()     # CharCorpus: .train_text, .val_text, .vocab

Modules: ``vocab`` (Vocab and the special ids PAD/SOS/EOS/UNK: their only
definition), ``splits`` (seeded, stratified splits), ``batching`` (pad_collate,
BucketBatchSampler), ``loaders`` (batched loaders over the names), ``text``
(accent folding), ``names``, ``pairs``, ``corpus``, ``longrange`` (the
remember-the-first-symbol task) and ``download`` (verified downloads into the
cache folder: ``COURSE_DATA_DIR``, else ``$XDG_CACHE_HOME/rnn-course``, else
``~/.cache/rnn-course``).
"""

from course_utils.data.batching import (
    BucketBatchSampler,
    LabelledBatch,
    PairBatch,
    pad_collate,
    pad_sequences,
)
from course_utils.data.corpus import CharCorpus, load_char_corpus
from course_utils.data.download import (
    DataLayoutError,
    DownloadError,
    cache_dir,
    download_file,
    fetch_tutorial_data,
)
from course_utils.data.loaders import EncodedNames, NameLoaders, encode_names, make_name_loaders, split_examples
from course_utils.data.names import (
    ALL_LETTERS,
    N_LETTERS,
    NamesDataset,
    fold_name,
    load_names,
    names_vocab,
    unicode_to_ascii,
)
from course_utils.data.pairs import (
    ENG_PREFIXES,
    MAX_LENGTH,
    PairsDataset,
    build_vocabs,
    encode_pair,
    encode_sentence,
    load_pairs,
    normalize_string,
)
from course_utils.data.splits import stratified_split, train_val_test_split
from course_utils.data.text import strip_accents
from course_utils.data.vocab import (
    EOS_ID,
    EOS_TOKEN,
    PAD_ID,
    PAD_TOKEN,
    SOS_ID,
    SOS_TOKEN,
    UNK_ID,
    UNK_TOKEN,
    Vocab,
)

__all__ = [
    "ALL_LETTERS",
    "ENG_PREFIXES",
    "EOS_ID",
    "EOS_TOKEN",
    "MAX_LENGTH",
    "N_LETTERS",
    "PAD_ID",
    "PAD_TOKEN",
    "SOS_ID",
    "SOS_TOKEN",
    "UNK_ID",
    "UNK_TOKEN",
    "BucketBatchSampler",
    "CharCorpus",
    "DataLayoutError",
    "DownloadError",
    "EncodedNames",
    "LabelledBatch",
    "NameLoaders",
    "NamesDataset",
    "PairBatch",
    "PairsDataset",
    "Vocab",
    "build_vocabs",
    "cache_dir",
    "download_file",
    "encode_names",
    "encode_pair",
    "encode_sentence",
    "fetch_tutorial_data",
    "strip_accents",
    "load_char_corpus",
    "load_names",
    "load_pairs",
    "fold_name",
    "make_name_loaders",
    "names_vocab",
    "normalize_string",
    "pad_collate",
    "pad_sequences",
    "split_examples",
    "stratified_split",
    "train_val_test_split",
    "unicode_to_ascii",
]
