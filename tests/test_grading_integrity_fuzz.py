"""Fuzz the integrity review with malformed submissions (issue 17, finding 5): it never crashes.

1,200 generated cases, deterministic (one seed), reviewed in-process by the same
functions ``make grade`` calls after nbgrader: the notebook scan
(:func:`integrity.review_notebook`), the re-check's planning and value decoding,
the quarantine, the HTML sanitiser, the hidden-test redaction and the
``flagged`` column. Every case must come out reviewed or flagged with a reason;
no exception may escape. The end-to-end cases (a parser bomb, invalid UTF-8,
a deeply nested notebook, wrong types, graded by nbgrader in the sandbox) are
in ``test_grading_attacks.py``'s round-two run.

The figures (cases, flagged, crashes, seconds) are printed: run with ``-s``.
"""

from __future__ import annotations

import copy
import csv
import json
import random
import time
from pathlib import Path

import nbformat
import pytest

from course_utils.instructor import integrity
from course_utils.instructor.integrity import recheck
from course_utils.instructor.preprocessors import RedactHiddenTests
from course_utils.instructor.sanitize import SanitizeStudentContent, clean_html, clean_markdown

REPO = Path(__file__).resolve().parents[1]
A = "01_forward_and_loss"
CASES = 1200
SEED = 17


def _base() -> tuple[dict, dict, dict]:
    release = json.loads((REPO / "assignments" / A / f"{A}.ipynb").read_text(encoding="utf-8"))
    source = json.loads((REPO / "solutions" / A / f"{A}.ipynb").read_text(encoding="utf-8"))
    honest = copy.deepcopy(release)
    answers = {c["metadata"]["nbgrader"]["grade_id"]: c["source"] for c in source["cells"]
               if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    for cell in honest["cells"]:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in answers and cell["metadata"]["nbgrader"].get("solution"):
            cell["source"] = answers[gid]
    return release, source, honest


_JUNK = [None, 0, -1, 3.5, True, "", "x", [], {}, [1, 2], {"a": 1}, "\x00", "\ud800", 10**30, float("nan")]
_SOURCES = [
    lambda r: "x = " + "+".join(["a"] * r.randint(3_000, 8_000)),  # RecursionError in the parser
    lambda r: "(" * r.randint(150, 400) + ")" * 10,  # too many nested parentheses
    lambda r: "x = " + "-" * r.randint(10_000, 60_000) + "1",  # MemoryError in the parser
    lambda r: "\x00" * r.randint(1, 5) + "import os",
    lambda r: "def f(:\n  pass",
    lambda r: "%" + "".join(r.choice("abc%!?;(") for _ in range(r.randint(1, 40))),
    lambda r: "%time " + "(" * 300,
    lambda r: "%%time\n" + "[" * r.randint(100, 300),
    lambda r: "!" + "x" * r.randint(1, 100),
    lambda r: "y" * r.randint(1, 3) + " = 1\n" * r.randint(1, 5000),  # a long cell
    lambda r: "# " + "z" * r.randint(100_001, 300_000),  # a huge cell
    lambda r: "s = '" + "\\u" + "'",
    lambda r: "import " + ".".join(["a"] * r.randint(1, 3000)),
    lambda r: "lambda: " * r.randint(100, 3000) + "0",
    lambda r: "globals()" + "[0]" * r.randint(1, 2000) + " = 1",
    lambda r: "getattr(" * 100 + "x" + ")" * 100,
]


def _mutate(rng: random.Random, base: dict) -> dict | bytes | str:
    """One malformed submission: a notebook dict with wrong parts, or raw file contents."""
    kind = rng.randrange(12)
    nb = copy.deepcopy(base)
    cells = nb["cells"]
    i = rng.randrange(len(cells))
    if kind == 0:  # raw bytes: invalid UTF-8, truncated JSON, binary noise
        raw = json.dumps(nb).encode()
        choice = rng.randrange(3)
        if choice == 0:
            return raw[: rng.randrange(len(raw))]
        if choice == 1:
            return raw.replace(b'"cells"', b'"cells\xff\xfe"', 1)
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 2000)))
    if kind == 1:  # deeply nested JSON
        depth = rng.randint(1_000, 100_000)
        return '{"cells": [{"cell_type": "code", "metadata": ' + "[" * depth + "]" * depth + ', "source": "x"}]}'
    if kind == 2:  # wrong top-level types
        nb["cells"] = rng.choice(_JUNK)
        return nb
    if kind == 3:  # a cell that is not a dict
        cells[i] = rng.choice(_JUNK)
        return nb
    if kind == 4:  # wrong source types
        cells[i]["source"] = rng.choice([*_JUNK, [1, None, "x"], ["a", ["b"]]])
        return nb
    if kind == 5:  # wrong metadata types
        cells[i]["metadata"] = rng.choice(_JUNK)
        return nb
    if kind == 6:  # wrong nbgrader metadata
        cells[i].setdefault("metadata", {})["nbgrader"] = {
            k: rng.choice(_JUNK) for k in rng.sample(["grade", "solution", "locked", "grade_id", "points"], 3)}
        return nb
    if kind == 7:  # missing metadata or cell_type
        for key in rng.sample(["metadata", "cell_type", "source", "outputs"], rng.randint(1, 3)):
            if isinstance(cells[i], dict):
                cells[i].pop(key, None)
        return nb
    if kind == 8:  # unknown cell type
        cells[i]["cell_type"] = rng.choice(["raw", "heading", "", "code ", None, 7])
        return nb
    if kind == 9:  # a parser-hostile or huge answer cell
        answer = [c for c in cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")]
        rng.choice(answer)["source"] = rng.choice(_SOURCES)(rng)
        return nb
    if kind == 10:  # a student-added cell with hostile source
        cells.insert(rng.randrange(len(cells) + 1), {"cell_type": "code", "metadata": {}, "outputs": [],
                                                    "source": rng.choice(_SOURCES)(rng)})
        return nb
    # outputs of the wrong shape
    cells[i]["outputs"] = rng.choice([*_JUNK, [{"output_type": "stream"}], [{"data": [1]}], [None]])
    return nb


def _review_one(path: Path, release: dict, source: dict) -> list[str]:
    return integrity.review_notebook(path, release, source)


@pytest.mark.slow  # reviews hundreds of generated notebooks: ~20 s
def test_fuzz_the_review_with_malformed_notebooks(tmp_path: Path) -> None:
    release, source, honest = _base()
    rng = random.Random(SEED)
    plan = recheck.plan_recheck(source)
    crashes: list[str] = []
    flagged = reviewed = 0
    start = time.perf_counter()
    for n in range(CASES):
        case = _mutate(rng, honest)
        path = tmp_path / f"{A}.ipynb"
        if isinstance(case, bytes):
            path.write_bytes(case)
        elif isinstance(case, str):
            path.write_text(case, encoding="utf-8")
        else:
            path.write_text(json.dumps(case, allow_nan=True), encoding="utf-8", errors="surrogatepass")
        try:
            reasons = _review_one(path, release, source)
            assert isinstance(reasons, list) and all(isinstance(r, str) for r in reasons)
            # the re-check's side: planning the submission's probes and reading its records never fails
            # the re-check's side: what it reads from the submission (points, probes, printed records)
            nb = recheck.read_notebook(path)
            if isinstance(nb, dict):
                recheck.earned_points(nb)
                recheck.probe_notebook(nb, plan.student_cells)
                recheck._emissions(nb)
        except Exception as exc:  # counting crashes is the point
            import traceback

            where = traceback.format_tb(exc.__traceback__)[-1][:200]
            crashes.append(f"case {n}: {type(exc).__name__}: {str(exc)[:120]} at {where}")
            continue
        reviewed += 1
        flagged += bool(reasons)
    seconds = time.perf_counter() - start
    print(f"\nFUZZ: {CASES} cases, {reviewed} reviewed, {flagged} flagged, {len(crashes)} crashes, {seconds:.1f} s")
    assert crashes == [], crashes[:10]
    assert reviewed == CASES
    assert flagged > CASES // 10, "the hostile cells should be flagged as not reviewable"


def test_fuzz_probe_records_and_values(tmp_path: Path) -> None:
    """Whatever a submission prints in the probe's format, decoding raises ValueError or gives a value."""
    rng = random.Random(SEED + 1)
    bad = 0
    for _ in range(500):
        value = rng.choice([*_JUNK, {"t": rng.choice(["ndarray", "tensor", "list", "dict", "float", "x"])},
                            {"t": "ndarray", "dtype": rng.choice(["<f8", "O", "|S3", "bogus"]), "shape": [2],
                             "b64": rng.choice(["AAAA", "!!", ""])},
                            {"t": "list", "v": [{"t": "int", "v": "no"}]}, {"t": "float", "v": "1"}])
        try:
            recheck.decode(value)
        except (ValueError, KeyError, TypeError):
            bad += 1
    assert bad > 0
    records = ['{"i": 1}', "{", '{"i": "x"}', "[]", '{"i": 1, "got": 1}']
    lines = ["RNN-RECHECK " + rng.choice(records) for _ in range(200)]
    nb = {"cells": [{"outputs": [{"output_type": "stream", "name": "stdout", "text": "\n".join(lines)}]}]}
    recheck._emissions(nb)


def test_fuzz_sanitiser_and_redaction() -> None:
    """Random HTML/markdown never carries a script tag or an event handler through the sanitiser."""
    rng = random.Random(SEED + 2)
    pieces = ["<script>", "</script>", "<img src=x onerror=alert(1)>", "<a href='javascript:x'>", "<svg onload=x>",
              "<b>", "</b>", "**", "$a<b$", "&lt;", "<!--", "-->", "<style>", "[l](javascript:x)", "\x00", "<",
              "<iframe src=//x>", "<p onclick=x>"]
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    for _ in range(300):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        # what the page shows: the cleaned HTML, and the cleaned markdown as nbconvert renders it
        for page in (clean_html(text), markdown2html_mistune(clean_markdown(text))):
            low = page.lower()
            assert "<script" not in low and "onerror=" not in low and "onload=" not in low, (text, page)
            assert "<iframe" not in low and "<svg" not in low and "<style" not in low, (text, page)
            assert 'href="javascript' not in low and "href='javascript" not in low, (text, page)
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("<script>x()</script>"),
        nbformat.v4.new_code_cell("x", outputs=[nbformat.v4.new_output(
            "display_data", data={"application/javascript": "x()", "text/html": "<script>y()</script><b>ok</b>"})]),
    ])
    nb, _ = SanitizeStudentContent().preprocess(nb, {})
    assert "<script" not in json.dumps(nb)
    test = nbformat.v4.new_code_cell("a\n### BEGIN HIDDEN TESTS\nsecret_value_check(12345)\n### END HIDDEN TESTS",
                                     metadata={"nbgrader": {"grade": True, "solution": False, "grade_id": "t"}},
                                     outputs=[nbformat.v4.new_output("stream", text="leak: secret_value_check(12345)")])
    nb, _ = RedactHiddenTests().preprocess(nbformat.v4.new_notebook(cells=[test]), {})
    assert "secret_value_check" not in nb.cells[0].outputs[0]["text"]


def test_the_flag_column_survives_any_grades_file(tmp_path: Path) -> None:
    rng = random.Random(SEED + 3)
    for n in range(100):
        path = tmp_path / f"grades{n}.csv"
        choice = rng.randrange(4)
        if choice == 0:
            path.write_bytes(bytes(rng.randrange(256) for _ in range(rng.randint(0, 300))))
        elif choice == 1:
            path.write_text("")
        elif choice == 2:
            path.write_text("student_id,assignment,score\n" + "a,b\n" * rng.randint(0, 5) + "x,y,1,2,3\n")
        integrity.add_flag_column(path, {("a", "b"): ["r"], "x": ["s"]})
        with path.open(newline="", encoding="utf-8") as fh:
            header = next(csv.reader(fh))
        assert "flagged" in header


@pytest.mark.parametrize("layout", ["fifo", "link", "deep", "many"])
def test_quarantine_survives_odd_folders(tmp_path: Path, layout: str) -> None:
    import os

    folder = tmp_path / "grading" / "submitted" / "s" / A
    folder.mkdir(parents=True)
    (folder / f"{A}.ipynb").write_text("{}")
    if layout == "fifo":
        os.mkfifo(folder / "pipe")
    elif layout == "link":
        (folder / "loop").symlink_to(folder / "loop")
    elif layout == "deep":
        deep = folder
        for _ in range(200):
            deep = deep / "d"
        deep.mkdir(parents=True)
    else:
        for k in range(2000):
            (folder / f"f{k}.py").write_text("x")
    found = integrity.sanitize_submissions(tmp_path)
    assert sorted(os.listdir(folder)) == [f"{A}.ipynb"]
    assert found[("s", A)]
