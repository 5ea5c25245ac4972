"""Unit tests of course_utils.instructor.integrity (no kernel, no sandbox: seconds).

The end-to-end proof (attack submissions graded in the sandbox) is in
``test_grading_attacks.py``.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from attacks.builders import attacks, by_point
from attacks.course import toy_source_notebook

from course_utils.instructor import integrity

# --- static scan ---------------------------------------------------------------------


def _release(source: dict) -> dict:
    """The student version of a source notebook: answers replaced by stubs."""
    rel = json.loads(json.dumps(source))
    for cell in rel["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            cell["source"] = cell["source"].split("### BEGIN SOLUTION")[0] + "raise NotImplementedError()"
    return rel


@pytest.fixture(scope="module")
def toy() -> tuple[dict, dict]:
    source = json.loads(json.dumps(toy_source_notebook()))
    return source, _release(source)


def _scan(code: str, release: dict) -> list[str]:
    protected, imports = integrity.protected_names(release)
    return [reason for _, reason in integrity.scan_code(code, protected=protected, known_imports=imports)]


def test_honest_answers_are_not_flagged(toy) -> None:
    source, release = toy
    assert integrity.scan_notebook(source, release) == []
    honest = [
        "def sigmoid(x):\n    x = np.asarray(x, dtype=np.float64)\n    return 1 / (1 + np.exp(-x))",
        "import numpy as np\ndef softmax(z):\n    e = np.exp(z - z.max(axis=-1, keepdims=True))\n    return e / e.sum(-1, keepdims=True)",
        "class Net:\n    def __init__(self, n):\n        self.W = np.zeros((n, n))\n    def __len__(self):\n        return 1",
        "losses = [float(-np.log(p)) for p in (0.5, 0.25)]\nprint(f'{sum(losses):.3f}')",
        "%matplotlib inline\nimport math\nvalue = math.exp(1.0)",
        "%%time\nvalue = np.exp(2.0)",
    ]
    for code in honest:
        assert _scan(code, release) == [], code


@pytest.mark.parametrize("code, reason", [
    ("check_close = lambda *a, **k: None", "rebinds 'check_close'"),
    ("AssertionError = Exception", "rebinds 'AssertionError', a Python builtin"),
    ("np.allclose = lambda *a, **k: True", "monkeypatches np.allclose"),
    ("import numpy.testing as t\nt.assert_allclose = print", "monkeypatches t.assert_allclose"),
    ("m = np\nm.allclose = print", "uses the module 'np' as a value"),
    ("get_ipython().input_transformers_post.append(f)", "get_ipython"),
    ("import sys\nsys.modules['x'] = None", "sys.modules"),
    ("from sys import modules", "imports sys.modules"),
    ("import builtins", "patches Python's builtins"),
    ("__builtins__.print = None", "uses __builtins__"),
    ("exec('x = 1')", "exec"),
    ("f = getattr(np, 'all' + 'close')", "computed name"),
    ("import os\nos._exit(0)", "os._exit"),
    ("exit()", "ends the kernel"),
    ("import importlib\nimportlib.reload(np)", "import machinery"),
    ("x = (lambda: 0).__code__", "dunder attribute __code__"),
    ("class A:\n    def __eq__(self, o):\n        return True", "defines A.__eq__"),
    ("class A(np.ndarray):\n    pass", "subclasses np.ndarray"),
    ("import course_utils.checks as c\nc.check_close = print", "monkeypatches c.check_close"),
    ("open('01_forward_and_loss.ipynb', 'w')", "names a notebook file"),
    ("!cat /etc/passwd", "runs a shell command"),
    ("%load_ext my_hooks", "uses the IPython magic %load_ext"),
    ("%%time\nimport builtins", "patches Python's builtins"),
    ("def f():\n    global check_close\n    check_close = print", "rebinds 'check_close' from inside a function"),
])
def test_tampering_constructs_are_flagged(toy, code: str, reason: str) -> None:
    _, release = toy
    reasons = _scan(code, release)
    assert any(reason in r for r in reasons), f"{code!r} gave {reasons}"


def test_every_tampering_attack_is_flagged_statically(toy) -> None:
    _, release = toy
    tamper = by_point(attacks(course="/c", assignment="toy", honest="h", home_secret="/s", env_secret="e",
                              port=1, host_ip="127.0.0.1", answer_names=("sigmoid", "softmax")), "tamper")
    assert len(tamper) >= 10
    for attack in tamper:
        assert _scan(attack.code, release), f"{attack.name} was not flagged"


def test_locked_cells_are_not_scanned(toy) -> None:
    source, release = toy
    nb = json.loads(json.dumps(source))
    nb["cells"][1]["source"] = "import builtins  # a locked cell: nbgrader restores it"
    assert integrity.scan_notebook(nb, release) == []
    nb["cells"].append({"cell_type": "code", "metadata": {}, "source": "import builtins", "outputs": []})
    findings = integrity.scan_notebook(nb, release)
    assert findings and findings[0].cell == f"cell {len(nb['cells']) - 1}"


# --- sanitizing submissions -----------------------------------------------------------------
def test_sanitize_moves_links_fifos_and_huge_files_to_quarantine(tmp_path: Path) -> None:
    secret = tmp_path / "solutions" / "a1" / "a1.ipynb"
    secret.parent.mkdir(parents=True)
    secret.write_text("{}")
    alice = tmp_path / "grading" / "submitted" / "alice" / "a1"
    alice.mkdir(parents=True)
    (alice / "a1.ipynb").write_text("{}")
    (alice / "data.txt").write_text("fine")
    (alice / "answers.json").symlink_to(secret)
    (alice / "sub").mkdir()
    (alice / "sub" / "link").symlink_to("/etc/passwd")
    os.mkfifo(alice / "pipe")
    (alice / "huge.bin").write_bytes(b"x" * 2048)
    mallory = tmp_path / "grading" / "submitted" / "mallory" / "a1"
    mallory.mkdir(parents=True)
    (mallory / "a1.ipynb").symlink_to(secret)

    found = integrity.sanitize_submissions(tmp_path, max_file_bytes=1024)
    assert sorted(os.listdir(alice)) == ["a1.ipynb"], "only the notebook stays"
    assert not (mallory / "a1.ipynb").exists() and not (mallory / "a1.ipynb").is_symlink()
    text = " ".join(found[("alice", "a1")])
    assert "symbolic link answers.json" in text and "pipe" in text and "huge.bin" in text
    assert "data.txt, which is not a notebook" in text and "folder sub/" in text
    assert "symbolic link a1.ipynb" in " ".join(found[("mallory", "a1")])
    quarantined = tmp_path / "grading" / "quarantine" / "alice" / "a1" / "answers.json"
    assert quarantined.is_symlink() and os.readlink(quarantined) == str(secret)
    assert secret.read_text() == "{}", "the link target must never be touched"
    assert integrity.sanitize_submissions(tmp_path) == {}, "a second pass finds nothing"


# --- the report ---------------------------------------------------------------------------
def test_flag_column_is_added_to_grades_csv(tmp_path: Path) -> None:
    path = tmp_path / "grades.csv"
    path.write_text("assignment,student_id,score\na1,alice,5\na1,bob,5\na2,bob,3\n")
    integrity.add_flag_column(path, {("bob", "a1"): ["rebinds 'check_close'", "uses exec"]})
    rows = list(csv.DictReader(path.open()))
    assert [r["flagged"] for r in rows] == ["", "rebinds 'check_close' | uses exec", ""]
    integrity.add_flag_column(path, {})  # refreshing replaces the column, never duplicates it
    assert list(csv.DictReader(path.open()))[1]["flagged"] == ""
    assert path.read_text().splitlines()[0] == "assignment,student_id,score,flagged"
    integrity.write_report(tmp_path / "integrity.json", {("bob", "a1"): ["x"], ("alice", "a1"): []})
    assert json.loads((tmp_path / "integrity.json").read_text()) == {"bob/a1": ["x"]}
