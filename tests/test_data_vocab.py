"""Tests for course_utils.data.vocab: the vocabulary, and the single definition of the special ids."""

import ast
import json
import re
from pathlib import Path

import pytest
import torch

import course_utils.data.vocab as vocab_module
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


# --------------------------------------------------------------------------- one definition of the special ids
# The special ids are defined once, in course_utils/data/vocab.py. This scan of the library, the
# tests, the benchmarks and the notebooks' code fails when anything else defines one again, gives
# one another name, imports one from elsewhere, or writes a padding id as a bare number.

ROOT = Path(__file__).resolve().parent.parent
SPECIAL_IDS = {"PAD_ID", "SOS_ID", "EOS_ID", "UNK_ID"}
# names a special id (or its token) could be given again: PAD, SOS_ID, UNSEEN_ID, BOS_TOKEN, ...
SPECIAL_NAME = re.compile(r"^(PAD|SOS|BOS|EOS|UNK|UNSEEN|START|STOP)(_(ID|IDX|INDEX|TOKEN))?$")
# keyword arguments whose value is a padding id: it must be PAD_ID, not a number
PAD_KEYWORDS = {"padding_idx", "ignore_index", "padding_value", "pad_id"}
HOME = "course_utils/data/vocab.py"
# Allowed elsewhere: a bare BOS/EOS/... bound to a string, a word of a plain word list in the slides'
# notation (the toy corpus of lectures 03-05, lecture 01's n-grams): a token, not an id, and never
# one of Vocab's tokens (those are *_TOKEN, defined in vocab.py only).
# Notebook code the lecture owners are still to change (the test fails when an entry is stale):
PENDING: dict[str, list[str]] = {}


def _is_word_token(name: str, value: ast.AST | None) -> bool:
    return ("_" not in name and isinstance(value, ast.Constant) and isinstance(value.value, str))


def _sources() -> list[tuple[str, str]]:
    """``(path relative to the repository, Python source)`` of every module and notebook code cell."""
    out = []
    for folder in ("course_utils", "tests", "benchmarks"):
        out += [(str(p.relative_to(ROOT)), p.read_text()) for p in sorted((ROOT / folder).rglob("*.py"))]
    for folder in ("lectures", "assignments", "solutions"):
        for nb in sorted((ROOT / folder).rglob("*.ipynb")):
            cells = json.loads(nb.read_text())["cells"]
            code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
            # IPython magics and shell escapes are not Python: blank them out, keep the line numbers
            code = [re.sub(r"(?m)^\s*[%!].*$", "", c) for c in code]
            out.append((str(nb.relative_to(ROOT)), "\n".join(code)))
    return out


def _targets(node: ast.AST) -> list[ast.Name]:
    if isinstance(node, ast.Name):
        return [node]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [n for elt in node.elts for n in _targets(elt)]
    return []


def special_id_violations(path: str, source: str) -> list[str]:
    """What in ``source`` breaks the single definition of the special ids (empty: nothing)."""
    found = []
    for node in ast.walk(ast.parse(source, filename=path)):
        where = f"{path}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and path != HOME:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            values = node.value.elts if isinstance(node.value, (ast.Tuple, ast.List)) else [node.value]
            names = [n for t in targets for n in _targets(t)]
            pairs = zip(names, values) if len(names) == len(values) else ((n, None) for n in names)
            for name, value in pairs:
                if SPECIAL_NAME.match(name.id) and not _is_word_token(name.id, value):
                    found.append(f"{where}: assigns {name.id}; import the special ids from course_utils.data.vocab")
            # an alias is the bare id on the right: ``PAD = PAD_ID``, ``fill, start = PAD_ID, SOS_ID``
            aliased = {v.id for v in values if isinstance(v, ast.Name) and v.id in SPECIAL_IDS}
            if aliased and all(isinstance(v, ast.Name) for v in values):
                found.append(f"{where}: gives {sorted(aliased)} another name; use them under their own")
        elif isinstance(node, ast.ImportFrom):
            names = {a.name for a in node.names} & SPECIAL_IDS
            if names and node.module not in ("course_utils.data.vocab", "course_utils.data"):
                found.append(f"{where}: imports {sorted(names)} from {node.module}; their module is "
                             "course_utils.data.vocab (course_utils.data re-exports them)")
        elif isinstance(node, ast.keyword) and node.arg in PAD_KEYWORDS:
            # a bare 0-3 is a special id typed as a number (other numbers: a test of a custom pad id)
            if isinstance(node.value, ast.Constant) and node.value.value in (0, 1, 2, 3):
                found.append(f"{where}: {node.arg}={node.value.value}; write PAD_ID")
        elif isinstance(node, ast.Name) and node.id in ("UNSEEN_ID",):
            found.append(f"{where}: uses the retired name {node.id}")
    return found


def test_special_ids_are_defined_once_and_imported_from_their_module() -> None:
    sources = _sources()
    assert any(p == HOME for p, _ in sources) and len(sources) > 20  # the scan sees the repository
    violations = []
    for path, src in sources:
        found = special_id_violations(path, src)
        pending = PENDING.get(path, [])
        for what in pending:
            assert any(v.endswith(what) for v in found), f"{path} no longer has {what!r}: remove it from PENDING"
        violations += [v for v in found if not any(v.endswith(what) for what in pending)]
    assert violations == [], "\n".join(violations)
    assert (vocab_module.PAD_ID, vocab_module.SOS_ID, vocab_module.EOS_ID, vocab_module.UNK_ID) == (0, 1, 2, 3)


@pytest.mark.parametrize(("code", "what"), [
    ("PAD_ID = 0", "assigns PAD_ID"),
    ("UNSEEN_ID = 0", "assigns UNSEEN_ID"),
    ("PAD_TOKEN = '<pad>'", "assigns PAD_TOKEN"),
    ("EOS = 2", "assigns EOS"),
    ("from course_utils.data.vocab import PAD_ID\nPAD = PAD_ID", "assigns PAD"),
    ("from course_utils.data.vocab import PAD_ID, SOS_ID\nfill, start = PAD_ID, SOS_ID", "another name"),
    ("from course_utils.models.seq2seq import PAD_ID", "imports ['PAD_ID'] from course_utils.models.seq2seq"),
    ("import torch\ntorch.nn.Embedding(10, 4, padding_idx=0)", "padding_idx=0; write PAD_ID"),
    ("x = UNSEEN_ID + 1", "retired name UNSEEN_ID"),
])
def test_the_scan_catches_each_kind_of_violation(code: str, what: str) -> None:
    found = special_id_violations("course_utils/models/example.py", code)
    assert len(found) >= 1 and any(what in v for v in found), found


def test_the_scan_allows_the_one_definition_and_its_users() -> None:
    assert special_id_violations(HOME, "PAD_ID, SOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3") == []
    assert special_id_violations("course_utils/toy_corpus.py", 'BOS = "BOS"\nBOS, EOS = "<s>", "</s>"') == []
    ok = ("from course_utils.data.vocab import PAD_ID\nfrom course_utils.data import EOS_ID\n"
          "import torch\ntorch.nn.Embedding(10, 4, padding_idx=PAD_ID)\nkeep = targets != PAD_ID")
    assert special_id_violations("course_utils/models/example.py", ok) == []
