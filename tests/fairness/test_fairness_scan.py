"""No false alarms: the integrity scan flags none of the fairness suite's correct answers.

The graded fairness runs (``test_fairness_0N.py``) switch the re-check off to stay within the suite's
time budget; this module covers the other half of the review, in-process and in seconds: each correct
case alone in an otherwise model submission, scanned as ``make grade`` scans it.
"""

from __future__ import annotations

import nbformat
import pytest
from fairness_cases import Student, load_cases

from course_utils.instructor.autograde import COURSE_ROOT
from course_utils.instructor.integrity import scan_notebook

ASSIGNMENTS = sorted(p.name for p in (COURSE_ROOT / "solutions").iterdir() if p.is_dir())
HONEST = [case for a in ASSIGNMENTS for case in load_cases(a) if case.expected == "full"]


def _read(folder: str, assignment: str) -> nbformat.NotebookNode:
    return nbformat.read(COURSE_ROOT / folder / assignment / f"{assignment}.ipynb", as_version=4)


def test_every_assignment_has_honest_cases() -> None:
    assert {c.assignment for c in HONEST} == set(ASSIGNMENTS)


@pytest.mark.parametrize("case", HONEST, ids=[f"{c.assignment[:2]}-{c.id}" for c in HONEST])
def test_a_correct_answer_is_not_flagged(case) -> None:
    nb = Student("honest", {case.question: case}).notebook(case.assignment)
    findings = scan_notebook(nb, _read("assignments", case.assignment), _read("solutions", case.assignment))
    assert not findings, f"{case.assignment} {case.id} ({case.why}) flagged: {findings}"
