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
        "import numpy as np\ndef softmax(z):\n    e = np.exp(z - z.max(axis=-1, keepdims=True))\n"
        "    return e / e.sum(-1, keepdims=True)",
        "class Net:\n    def __init__(self, n):\n        self.W = np.zeros((n, n))\n"
        "    def __len__(self):\n        return 1",
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


# --- issue 17: constructs the first scan missed; issue 18: honest code it flagged ------------------
@pytest.mark.parametrize("code, reason", [
    ("%time get_ipython().input_transformers_post.append(f)", "get_ipython"),
    ("%timeit -n 1 -r 1 exec('x')", "exec"),
    ("%%time\nget_ipython().ast_transformers.append(t)", "get_ipython"),
    ("import pkgutil\nf = pkgutil.resolve_name('builtins:setattr')", "pkgutil"),
    ("import pydoc\npydoc.locate('builtins.exec')", "pydoc"),
    ("import operator\nf = operator.attrgetter('allclose')", "operator.attrgetter"),
    ("import functools\nfunctools.reduce(getattr, ['a'], np)", "getattr around as a value"),
    ("list(map(setattr, [np], ['allclose'], [print]))", "setattr around as a value"),
    ("t = np.testing\nt.assert_allclose = print", "monkeypatches t.assert_allclose"),
    ("globals()['check_close'] = print", "rebinds a name through globals()"),
    ("g = globals()\ng['check_close'] = print", "hands it out"),
    ("vars(np)['allclose'] = print", "rebinds a name through vars()"),
    ("import sys\nsys.stdout = None", "replaces sys.stdout"),
    ("import sys\nsys.path.insert(0, '.')", "sys.path"),
    ("import linecache\nprint(linecache.cache)", "linecache"),
    ("import sys\nprint(sys.last_traceback)", "sys.last_traceback"),
    ("import traceback\ntraceback.extract_stack()", "traceback.extract_stack"),
    ("import types\nf = types.FunctionType(c, {})", "types.FunctionType"),
])
def test_constructs_missed_before_are_flagged(toy, code: str, reason: str) -> None:
    _, release = toy
    reasons = _scan(code, release)
    assert any(reason in r for r in reasons), f"{code!r} gave {reasons}"


def _scan_real(code: str, assignment: str = "01_forward_and_loss") -> list[str]:
    root = Path(__file__).resolve().parents[1]
    release = json.loads((root / "assignments" / assignment / f"{assignment}.ipynb").read_text())
    source = json.loads((root / "solutions" / assignment / f"{assignment}.ipynb").read_text())
    protected, imports = integrity.protected_names(release, source)
    return [reason for _, reason in integrity.scan_code(code, protected=protected, known_imports=imports)]


@pytest.mark.parametrize("code", [
    "for x in range(3):\n    p = x * 2\nloss = 0.0\nrng = np.random.default_rng(0)",  # names locked cells also bind
    "input = [1, 2]\nsum = 0\nfor v in input:\n    sum += v",  # builtins no test uses
    "print(sorted(globals())[:3])\nif 'sigmoid' in globals():\n    print(globals()['sigmoid'])",  # reading globals()
    "%timeit -n 3 np.exp(np.ones(3))",
    "%time y = np.tanh(np.ones(3))",
    "import matplotlib.pyplot as plt\nplt.rcParams['figure.figsize'] = (4, 3)",
    "import sys\nprint('progress', file=sys.stdout)\nsys.stdout.flush()",
    "def sigmoid(z):\n    return 1 / (1 + np.exp(-z))",  # 01: the student's own answer helper
    "import types\nconfig = types.SimpleNamespace(lr=0.1)",
    "from course_utils.checks import check_close\ncheck_close('mine', 1.0, 1.0)",  # using the checks is fine
    "import torch\ntorch.backends.cudnn.deterministic = True",
    "from tqdm.auto import tqdm\nfor i in tqdm(range(3)):\n    pass",
    "import warnings\nwarnings.filterwarnings('ignore')",
])
def test_honest_code_from_issue_18_is_not_flagged(code: str) -> None:
    assert _scan_real(code) == [], code


def test_a_students_own_helper_named_like_a_given_one_is_not_flagged() -> None:
    # 02 gives sigmoid (scipy's expit) in a locked cell; the answers use it, so a student may write their own
    assert _scan_real("def sigmoid(a):\n    return 1 / (1 + np.exp(-a))", "02_bptt") == []
    # ... but not the test cells' stand-ins, nor the checks, nor the modules
    assert _scan_real("check_close = print", "02_bptt")
    assert _scan_real("np = None", "02_bptt")


# --- the review never fails as a whole --------------------------------------------------------
def test_review_flags_unreadable_and_parser_hostile_notebooks(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    course = tmp_path / "course"
    for folder in ("assignments", "solutions"):
        (course / folder / "01_forward_and_loss").mkdir(parents=True)
        src = root / folder / "01_forward_and_loss" / "01_forward_and_loss.ipynb"
        (course / folder / "01_forward_and_loss" / src.name).write_bytes(src.read_bytes())
    release = json.loads((course / "assignments" / "01_forward_and_loss" / "01_forward_and_loss.ipynb").read_text())
    bomb = json.loads(json.dumps(release))
    answer = next(c for c in bomb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("solution"))
    answer["source"] = "x = " + "+".join(["a"] * 5000)
    cases = {"bomb": json.dumps(bomb), "not_json": "{", "cells_not_list": '{"cells": 3}', "honest": json.dumps(release)}
    for student, text in cases.items():
        folder = course / "grading" / "submitted" / student / "01_forward_and_loss"
        folder.mkdir(parents=True)
        (folder / "01_forward_and_loss.ipynb").write_text(text)
    flags = integrity.review(course, ["01_forward_and_loss"], verify="none")
    assert "could not be scanned (RecursionError)" in " ".join(flags[("bomb", "01_forward_and_loss")])
    assert "no list of cells" in " ".join(flags[("cells_not_list", "01_forward_and_loss")])
    assert ("honest", "01_forward_and_loss") not in flags
    grades = tmp_path / "grades.csv"
    integrity.add_flag_column(grades, flags)  # no grades file at all: the column, and the flagged rows
    text = grades.read_text()
    assert text.splitlines()[0].endswith("flagged") and "bomb" in text


# --- the re-check's plan and its values (false alarms found by the fairness suite) ---------------


def _notebook(*cells: tuple[str, str, dict]) -> dict:
    out = []
    for kind, source, nbgrader in cells:
        out.append({"cell_type": kind, "source": source, "metadata": {"nbgrader": nbgrader}, "outputs": [],
                    "execution_count": None})
    return {"cells": out, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


ANSWER = {"grade": False, "solution": True, "grade_id": "q1_answer", "locked": False}
TEST = {"grade": True, "solution": False, "grade_id": "q1_test", "points": 1, "locked": True}


def test_a_check_in_a_loop_over_the_students_values_compares_with_their_own_values() -> None:
    """`for name, value in [("h", h)]: check_close(..., cache[i], value)`: `value` is the student's h.

    The loop variable used to be read before the loop was seen, so the check took the instructor's h
    as expected and flagged an einsum answer 5.6e-17 away from it as forged (assignment 02, Q1).
    """
    from course_utils.instructor.integrity import recheck

    nb = _notebook(("code", "def step(w):\n    h = w * 2\n    return h, (w, h)", ANSWER),
                   ("code", "h, cache = step(w)\nfor i, (name, value) in enumerate([('w', w), ('h', h)]):\n"
                            "    check_close(f'cache[{i}]', cache[i], value, rtol=0, atol=0)\n"
                            "check_close('h', h, 2 * base)", TEST))
    plan = recheck.plan_recheck(nb)
    by_name = {c.name: c for c in plan.checks}
    loop_check = next(c for c in plan.checks if c.name.startswith("check"))
    assert not loop_check.trusted, plan.checks  # expected value from the student's kernel
    assert by_name["h"].trusted  # 2 * base does not depend on the student's code: from the trusted kernel


def test_a_numpy_scalar_travels_as_a_scalar() -> None:
    """np.float64 expected values used to arrive as arrays of shape (1,), and a float answer was flagged."""
    import contextlib
    import io

    import numpy as np

    from course_utils.instructor.integrity import recheck

    namespace: dict = {}
    exec(recheck._probe_source("probe"), namespace)  # the probe's own source, as both kernels run it
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        namespace["probe"](0, 1.5, np.float64(0.25), {}, _which=(True, True, False))
        namespace["probe"](1, np.zeros((2, 3)), np.int32(7), {}, _which=(True, True, False))
    records = [json.loads(line.split(" ", 1)[1]) for line in out.getvalue().splitlines()]
    got, exp = recheck.decode(records[0]["got"]), recheck.decode(records[0]["exp"])
    assert type(got) is float and isinstance(exp, np.float64) and np.shape(exp) == ()
    check = recheck.Check("q1_test", 0, "s", "check_close", True)
    assert recheck.compare(check, got, exp, {}) is not None  # 1.5 vs .25
    assert recheck.compare(check, 0.25, exp, {}) is None
    assert recheck.decode(records[1]["got"]).shape == (2, 3)
    assert isinstance(recheck.decode(records[1]["exp"]), np.int32)


def test_clear_kernel_folder_keeps_notebooks_and_the_instructors_files(tmp_path: Path) -> None:
    """The formgrader's path: what nbgrader copied from a submission (links followed) leaves the kernel's folder."""
    from course_utils.instructor.integrity.quarantine import clear_kernel_folder

    secret = tmp_path / "solutions.ipynb"
    secret.write_text("answers")
    folder = tmp_path / "autograded"
    (folder / "pkg").mkdir(parents=True)
    (folder / "data").mkdir()
    (folder / "a.ipynb").write_text("{}")
    (folder / "numpy.py").write_text("raise SystemExit")
    (folder / "pkg" / "__init__.py").write_text("")
    (folder / "data" / "table.csv").write_text("1,2")  # the instructor's own file (from solutions/)
    (folder / "timestamp.txt").write_text("2026-12-01 10:00:00")
    (folder / "submission_secret.txt").write_text("f00d")  # release_feedback needs it
    (folder / "stolen.ipynb").symlink_to(secret)
    removed = clear_kernel_folder(folder, keep={"data/table.csv"})
    assert removed == ["numpy.py", "pkg", "pkg/__init__.py", "stolen.ipynb"]
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == [
        "a.ipynb", "data", "data/table.csv", "submission_secret.txt", "timestamp.txt"]
    assert secret.read_text() == "answers"  # a link is unlinked, never followed


def test_the_recheck_runs_no_cell_after_the_last_test_cell() -> None:
    """Cells after the last test cell cannot change a value the re-check reads: it leaves them out.

    Assignment 04 ends with a training demo (3.9 s) that the re-check used to run a second time.
    """
    from course_utils.instructor.integrity import recheck

    demo = {"grade": False, "solution": False, "grade_id": "demo", "locked": True}
    nb = _notebook(("code", "def f(x):\n    return 2 * x", ANSWER),
                   ("code", "check_close('f', f(1), 2)", TEST),
                   ("code", "import time\ntime.sleep(5)", demo),
                   ("markdown", "the end", {}))
    plan = recheck.plan_recheck(nb)
    probed = recheck.probe_notebook(nb, plan.student_cells)
    assert [c["metadata"]["nbgrader"].get("grade_id") for c in probed["cells"]] == ["q1_answer", "q1_test"]
    assert "check_close" not in probed["cells"][1]["source"]  # the test cell itself is rewritten
    moved = _notebook(("code", "check_close('f', f(1), 2)", TEST), ("code", "def f(x):\n    return 2 * x", ANSWER))
    assert len(recheck.probe_notebook(moved, plan.student_cells)["cells"]) == 1  # nothing after the test
    assert recheck.probe_notebook(nb, {})["cells"] == []  # no test cell known to the plan: nothing to run


def test_kernels_started_ahead_load_what_the_notebook_imports_and_the_optimizers_dynamo() -> None:
    """torch imports torch._dynamo (about 1 s) at the first optimizer: loaded ahead only when a run makes one."""
    from course_utils.instructor.integrity import recheck

    setup = {"grade": False, "solution": False, "grade_id": "setup", "locked": True}
    demo = {"grade": False, "solution": False, "grade_id": "demo", "locked": True}
    nb = _notebook(("code", "import torch\nfrom course_utils.checks import check_close", setup),
                   ("code", "def f(x):\n    return 2 * x", ANSWER),
                   ("code", "check_close('f', f(1), 2)", TEST),
                   ("code", "opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)])", demo))
    assert recheck.warm_modules(nb) == ("torch", "course_utils.checks")  # the re-check stops at the test
    assert recheck.warm_modules(nb, whole_notebook=True) == ("torch", "course_utils.checks", "torch._dynamo")
    numpy_only = _notebook(("code", "import numpy as np\n# torch.optim is not used here", setup))
    assert recheck.warm_modules(numpy_only, whole_notebook=True) == ("numpy",)
