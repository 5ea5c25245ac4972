"""One name for one thing: the names issue 19 retired appear nowhere in the course's own code.

Scanned: every ``.py`` file under ``course_utils/``, ``lectures/``, ``tests/`` and ``benchmarks/``
(this file excepted: it has to name what it looks for) and every cell of the lecture notebooks and of
the assignments (``solutions/``, the instructor's notebooks, and ``assignments/``, their release): the
skeletons, prose and tests the course gives students use the same names. What a student names their
own layers in an answer is still theirs: no test reads those names.

The renames (old -> new):

* hyper-parameters: ``emb_dim`` -> ``embedding_dim``, ``hidden_dim`` -> ``hidden_size`` (simple_rnn);
  ``embedding_size`` -> ``embedding_dim``, ``n_layers`` -> ``num_layers``, ``dropout_p`` -> ``dropout``
  (seq2seq);
* the output layer ``fc`` / ``out`` -> ``S``, the slides' letter, in every model;
* assignment 03: ``NameRNN``'s ``embed_dim`` and the ``HPARAMS`` key ``"embed_dim"`` -> ``embedding_dim``,
  ``self.out`` -> ``self.S``; assignment 04: ``emb_dim`` / ``hid_dim`` -> ``embedding_dim`` /
  ``hidden_size``, ``self.out`` -> ``self.S`` (the encoder's and decoders' arguments);
* the target side ``trg`` -> ``tgt`` (as in the data and assignment 04);
* the decoding limit of ``chargen.sample`` and ``generate_names``: ``max_length`` -> ``max_len``
  (``data.pairs``' ``max_length`` is another thing, the tutorial's sentence filter, and stays);
* the widget's ``fold_accents`` -> ``course_utils.data.fold_name``;
* retired homes: ``models.bleu`` and ``models.longrange`` (now ``metrics`` and ``data.longrange``),
  the re-exports of the loaders and metrics from ``models.charrnn``, ``chargen.encode_names``
  (``encode_lm_examples``), ``seq2seq.count_parameters`` (``models.count_parameters``) and
  ``training.accuracy`` (``metrics.accuracy``).
"""

from __future__ import annotations

import ast
import importlib
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
THIS = Path(__file__).resolve()

# Identifiers that mean nothing in the course any more, as regexes with word boundaries.
RETIRED = {
    r"\bemb_dim\b": "embedding_dim",
    r"\bembed_dim\b": "embedding_dim",
    r"\bhid_dim\b": "hidden_size",
    r"\bhidden_dim\b": "hidden_size",
    r"\bembedding_size\b": "embedding_dim",
    r"\bn_layers\b": "num_layers",
    r"\bdropout_p\b": "dropout",
    r"\btrg\w*": "tgt",
    r"\bfold_accents\b": "course_utils.data.fold_name",
    r"\bcourse_utils\.models\.(bleu|longrange)\b": "course_utils.metrics / course_utils.data.longrange",
}
# Names that moved: importing them from their old module is the retired use.
MOVED = {
    "course_utils.models.charrnn": {"make_name_loaders", "NameLoaders", "encode_names", "confusion_matrix",
                                    "macro_f1"},
    "course_utils.models.chargen": {"encode_names"},
    "course_utils.models.seq2seq": {"count_parameters"},
    "course_utils.training": {"accuracy"},
    "course_utils.models": {"bleu", "longrange"},
}
LIMIT_FUNCTIONS = {"sample", "generate_names"}  # their decoding limit is max_len
OUTPUT_LAYER = {"fc", "out"}  # a model's output layer is S


def _sources() -> list[tuple[str, str, str]]:
    """``(path, kind, text)``: kind is ``"py"`` (Python source) or ``"md"`` (notebook prose)."""
    out = []
    for folder in ("course_utils", "lectures", "tests", "benchmarks"):
        for p in sorted((ROOT / folder).rglob("*.py")):
            if p.resolve() != THIS:
                out.append((str(p.relative_to(ROOT)), "py", p.read_text(encoding="utf-8")))
    notebooks = [*(ROOT / "lectures").glob("*.ipynb"), *(ROOT / "solutions").glob("*/*.ipynb"),
                 *(ROOT / "assignments").glob("*/*.ipynb")]
    for nb in sorted(notebooks):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
        code = [re.sub(r"(?m)^\s*[%!].*$", "", c) for c in code]  # magics are not Python
        prose = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
        out.append((str(nb.relative_to(ROOT)), "py", "\n".join(code)))
        out.append((str(nb.relative_to(ROOT)), "md", "\n".join(prose)))
    return out


def _called_name(func: ast.AST) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def retired_uses(path: str, text: str, kind: str = "py") -> list[str]:
    """What in ``text`` uses a retired name (empty: nothing), as ``path:line: what; use ...``."""
    found = []
    for pattern, new in RETIRED.items():
        for m in re.finditer(pattern, text):
            line = text.count("\n", 0, m.start()) + 1
            found.append(f"{path}:{line}: {m.group(0)}; use {new}")
    if kind != "py":
        return found
    for node in ast.walk(ast.parse(text, filename=path)):
        where = f"{path}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.ImportFrom) and node.module in MOVED:
            for name in sorted({a.name for a in node.names} & MOVED[node.module]):
                found.append(f"{where}: imports {name} from {node.module}, its old home")
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name in ("course_utils.models.bleu", "course_utils.models.longrange"):
                    found.append(f"{where}: imports {a.name}, a retired module")
        elif isinstance(node, ast.Call) and _called_name(node.func) in LIMIT_FUNCTIONS:
            if any(k.arg == "max_length" for k in node.keywords):
                found.append(f"{where}: {_called_name(node.func)}(max_length=...); use max_len")
        elif isinstance(node, ast.FunctionDef) and node.name in LIMIT_FUNCTIONS:
            if "max_length" in {a.arg for a in node.args.args + node.args.kwonlyargs}:
                found.append(f"{where}: def {node.name}(max_length); use max_len")
        elif (isinstance(node, ast.Attribute) and node.attr in OUTPUT_LAYER
              and isinstance(node.value, ast.Name) and node.value.id in ("self", "model")):
            found.append(f"{where}: {node.value.id}.{node.attr}; the output layer is S")
    return found


def test_no_retired_name_is_left() -> None:
    sources = _sources()
    paths = {p for p, _, _ in sources}
    # the scan sees the library, the lectures, the tests and the benchmarks
    assert {"course_utils/models/seq2seq.py", "lectures/09_seq2seq_translation.ipynb",
            "tests/test_models_seq2seq.py", "benchmarks/bench_charrnn.py",
            "solutions/03_pytorch_rnn/03_pytorch_rnn.ipynb", "assignments/04_seq2seq/04_seq2seq.ipynb"} <= paths
    found = [v for path, kind, text in sources for v in retired_uses(path, text, kind)]
    assert found == [], "\n".join(found)


@pytest.mark.parametrize(("code", "what"), [
    ("model = RNNLanguageModel(10, emb_dim=8, hidden_size=4)", "emb_dim; use embedding_dim"),
    ("def f(hidden_dim): pass", "hidden_dim"),
    ('HPARAMS = {"embed_dim": 32, "hidden_size": 64}', "embed_dim; use embedding_dim"),
    ("def __init__(self, vocab_size, embedding_dim, hid_dim): pass", "hid_dim; use hidden_size"),
    ("LSTMEncoder(5, embedding_size=4, hidden_size=8)", "embedding_size"),
    ("enc = LSTMEncoder(5, 4, 8, n_layers=2)", "n_layers"),
    ("dec = DecoderRNN(8, 5, dropout_p=0.1)", "dropout_p"),
    ("logits = model(src, trg)", "trg; use tgt"),
    ("print(len(trg_vocab))", "trg_vocab; use tgt"),
    ("folded = fold_accents(name)", "fold_accents"),
    ("from course_utils.models.bleu import corpus_bleu", "course_utils.models.bleu"),
    ("import course_utils.models.longrange", "retired module"),
    ("from course_utils.models import bleu", "imports bleu from course_utils.models"),
    ("from course_utils.models.charrnn import (CharRNNClassifier,\n    macro_f1)", "imports macro_f1"),
    ("from course_utils.models.chargen import encode_names", "imports encode_names"),
    ("from course_utils.models.seq2seq import count_parameters", "imports count_parameters"),
    ("from course_utils.training import accuracy, train", "imports accuracy"),
    ("text = sample(model, vocab, 'A', max_length=20)", "sample(max_length=...)"),
    ("names = w.generate_names(m, v, langs, 'English', max_length=5)", "generate_names(max_length=...)"),
    ("def sample(model, *, max_length=20): pass", "def sample(max_length)"),
    ("self.fc = nn.Linear(4, 2)", "self.fc"),
    ("y = model.out(h)", "model.out"),
])
def test_the_scan_catches_each_retired_name(code: str, what: str) -> None:
    found = retired_uses("course_utils/example.py", code)
    assert any(what in v for v in found), found


def test_the_scan_allows_the_current_names() -> None:
    ok = ("from course_utils.data.loaders import encode_names, make_name_loaders\n"
          "from course_utils.metrics import accuracy, corpus_bleu\n"
          "from course_utils.models import count_parameters\n"
          "from course_utils.data.longrange import first_symbol_task\n"
          "enc = LSTMEncoder(5, embedding_dim=4, hidden_size=8, num_layers=2, dropout=0.1)\n"
          "logits = model(src, tgt)\nself.S = nn.Linear(4, 2)\ny = model.S(h)\n"
          "text = sample(model, vocab, 'A', max_len=20)\n"
          "pair = encode_pair(p, src_vocab, tgt_vocab, max_length=10)\n"  # the sentence filter, not a limit
          "out = capsys.readouterr().out\n")
    assert retired_uses("course_utils/example.py", ok) == []
    assert retired_uses("lectures/example.ipynb", "the `target` side, `tgt`", kind="md") == []


@pytest.mark.parametrize(("module", "name"), [
    ("course_utils.models.charrnn", "make_name_loaders"),
    ("course_utils.models.charrnn", "confusion_matrix"),
    ("course_utils.models.charrnn", "macro_f1"),
    ("course_utils.models.chargen", "encode_names"),
    ("course_utils.models.seq2seq", "count_parameters"),
    ("course_utils.training", "accuracy"),
    ("course_utils.widgets.classify", "fold_accents"),
])
def test_the_old_aliases_are_gone(module: str, name: str) -> None:
    assert not hasattr(importlib.import_module(module), name)


@pytest.mark.parametrize("module", ["course_utils.models.bleu", "course_utils.models.longrange"])
def test_the_retired_modules_are_gone(module: str) -> None:
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(module)


def test_every_model_names_its_output_layer_S() -> None:
    from torch import nn

    from course_utils.models.chargen import CharGenerator
    from course_utils.models.charrnn import CharRNNClassifier
    from course_utils.models.ngram_classifier import CharNgramClassifier
    from course_utils.models.seq2seq import AttnDecoderRNN, ContextDecoderGRU, DecoderRNN, LSTMDecoder
    from course_utils.models.simple_rnn import RNNLanguageModel

    models = [CharRNNClassifier(10, 3), CharNgramClassifier(10, 3), RNNLanguageModel(10, 4, 6),
              CharGenerator(10, hidden_size=6), DecoderRNN(6, 10), AttnDecoderRNN(6, 10), LSTMDecoder(10, 4, 6),
              ContextDecoderGRU(10, 4, 6)]
    for model in models:
        children = dict(model.named_children())
        assert isinstance(children.get("S"), nn.Linear), (type(model).__name__, sorted(children))
        assert not OUTPUT_LAYER & set(children), (type(model).__name__, sorted(children))
