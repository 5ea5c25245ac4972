"""The committed student versions (assignments/) are fresh and give nothing away."""

from __future__ import annotations

import filecmp
import re

import nbformat
import pytest

from course_utils.instructor.autograde import COURSE_ROOT, assignment_ids, load_course_config, make_course_copy, release

ASSIGNMENTS = assignment_ids()
SECRET_REGIONS = [("### BEGIN SOLUTION", "### END SOLUTION"), ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")]


def _nb(folder: str, assignment: str) -> nbformat.NotebookNode:
    return nbformat.read(COURSE_ROOT / folder / assignment / f"{assignment}.ipynb", as_version=4)


def _secret_and_public_lines(nb: nbformat.NotebookNode) -> tuple[set[str], set[str]]:
    """Lines inside solution / hidden-test regions (and written model answers), and all other lines."""
    secret, public = set(), set()
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        lines = [line.strip() for line in cell.source.split("\n")]
        notes = "instructor-notes" in cell.get("metadata", {}).get("tags", [])
        if (cell.cell_type == "markdown" and meta.get("solution")) or notes:
            secret.update(lines)  # written model answers, rubrics, and answer keys (cells release removes)
            continue
        inside = None
        for line in lines:
            begin = next((end for start, end in SECRET_REGIONS if line.startswith(start)), None)
            if begin:
                inside = begin
            elif inside and line.startswith(inside):
                inside = None
            elif inside:
                secret.add(line)
            else:
                public.add(line)
    return secret, public


@pytest.mark.slow
def test_committed_release_matches_a_fresh_one(tmp_path):
    course = make_course_copy(tmp_path / "course")
    fresh = release(course, release_directory="fresh")
    assert fresh, "nothing was released"
    for assignment in ASSIGNMENTS:
        new, committed = course / "fresh" / assignment, COURSE_ROOT / "assignments" / assignment
        names = sorted(p.name for p in new.iterdir())
        assert committed.is_dir() and sorted(p.name for p in committed.iterdir()) == names, (
            f"assignments/{assignment} has other files than a fresh release: run `make release`")
        match, mismatch, errors = filecmp.cmpfiles(new, committed, names, shallow=False)
        assert not mismatch and not errors, (
            f"assignments/{assignment} is stale ({mismatch + errors} differ from solutions/): "
            "run `make release` and commit")


def test_every_assignment_is_released():
    released = sorted(p.name for p in (COURSE_ROOT / "assignments").iterdir() if p.is_dir())
    sources = sorted(p.name for p in (COURSE_ROOT / "solutions").iterdir() if p.is_dir())
    assert released == sorted(ASSIGNMENTS) == sources


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_contains_no_solution_or_hidden_test_text(assignment):
    secret: set[str] = set()
    public: set[str] = set()
    for other in ASSIGNMENTS:
        s, p = _secret_and_public_lines(_nb("solutions", other))
        secret |= s
        public |= p
    # lines that only a solution or a hidden test contains (not a bare `return h` also in a docstring)
    distinctive = {line for line in secret - public if len(line) >= 12 and not line.startswith("#")}
    assert distinctive, "no solution text found: are the solution regions marked?"
    files = [p for p in (COURSE_ROOT / "assignments").rglob("*") if p.is_file()]
    for path in files:
        if path.suffix == ".ipynb":
            nb = nbformat.read(path, as_version=4)
            text_lines = {line.strip() for cell in nb.cells for line in cell.source.split("\n")}
            raw = "\n".join(cell.source for cell in nb.cells)
        else:
            raw = path.read_text(encoding="utf-8", errors="replace")
            text_lines = {line.strip() for line in raw.split("\n")}
        leaked = sorted(distinctive & text_lines)
        assert not leaked, f"{path.relative_to(COURSE_ROOT)} contains solution or hidden-test lines: {leaked[:5]}"
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "_ref_"):
            assert marker not in raw, f"{path.relative_to(COURSE_ROOT)} contains {marker!r}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_is_a_clean_student_notebook(assignment):
    nb = _nb("assignments", assignment)
    assert nb.metadata["kernelspec"]["name"] == "rnn-course"
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "the release must carry no outputs"
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            assert "raise NotImplementedError()" in cell.source
        if meta.get("solution") and cell.cell_type == "markdown":
            assert cell.source.strip() == "YOUR ANSWER HERE"
        if meta.get("grade") and not meta.get("solution"):
            assert meta.get("locked") and cell.metadata.get("editable") is False, "test cells must be read-only"
    intro = "\n".join(c.source for c in nb.cells[:2] if c.cell_type == "markdown")
    assert re.search(r"Points: \d+ in total", intro) and "✓" in intro and "hidden checks" in intro, (
        "the introduction must state the total and explain how to run the checks")
    timeout = load_course_config()["ASSIGNMENTS"][assignment]["timeout"]
    assert f"at most **{timeout} seconds**" in intro, "the intro must state the time limit nbgrader_config.py sets"
