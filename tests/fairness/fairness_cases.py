"""The fairness suite's machinery: alternative answers, batched into synthetic students, graded for real.

A *case* is one answer to one question, kept in ``tests/fairness/cases/<assignment>.yaml``::

    - id: sigmoid-tanh-identity          # unique within the assignment
      cell: q1_sigmoid                   # the answer cell it replaces (its qN prefix is the question)
      expected: full                     # full: every test cell of the question earns all its points
      why: σ(z) = (1 + tanh(z/2)) / 2 never overflows
      code: |
        def sigmoid(z):
            ...

``expected: loses`` means the question's test cells score 0 (``loses: [q1_test_stable]`` names the
cells that must score 0 when the answer is wrong in one part only; the question's other cells must
then keep their points). Every other question of the same submission must keep full marks, so a case
also proves that a wrong answer costs only its own question.

Grading one student costs seconds (a kernel runs the whole notebook), so cases are batched: synthetic
student ``s<i>`` carries the i-th case of every question, correct or wrong (the model solution where a
question has fewer cases). One call of the
instructor's grading driver (:func:`course_utils.instructor.autograde.grade`, sandboxed, as
``make grade`` runs it) grades them all in a throw-away course copy.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

from course_utils.instructor.autograde import (
    COURSE_ROOT,
    SubmissionResult,
    grade,
    make_course_copy,
    solution_submission,
)

CASES_DIR = Path(__file__).resolve().parent / "cases"
EXPECTED = ("full", "loses")


@dataclass(frozen=True)
class Case:
    """One alternative answer to one question, and what it must earn."""

    id: str
    assignment: str
    cell: str
    expected: str
    code: str
    why: str = ""
    loses: tuple[str, ...] = ()

    @property
    def question(self) -> str:
        return self.cell.split("_")[0]


def load_cases(assignment: str) -> list[Case]:
    """The cases of one assignment, validated (unknown keys, duplicate ids and bad values fail loudly)."""
    path = CASES_DIR / f"{assignment}.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    cases, seen = [], set()
    allowed = {"id", "cell", "expected", "code", "why", "loses"}
    for entry in raw:
        unknown = set(entry) - allowed
        if unknown or not {"id", "cell", "expected", "code"} <= set(entry):
            raise ValueError(f"{path.name}: case {entry.get('id')!r} has keys {sorted(entry)}; "
                             f"allowed {sorted(allowed)}")
        if entry["expected"] not in EXPECTED:
            raise ValueError(f"{path.name}: case {entry['id']!r}: expected must be one of {EXPECTED}")
        if entry["id"] in seen:
            raise ValueError(f"{path.name}: duplicate case id {entry['id']!r}")
        seen.add(entry["id"])
        cases.append(Case(entry["id"], assignment, entry["cell"], entry["expected"], entry["code"],
                          entry.get("why", ""), tuple(entry.get("loses", ()))))
    return cases


def graded_cells(assignment: str) -> dict[str, float]:
    """Autograded test cell id -> points, from the instructor version."""
    nb = nbformat.read(COURSE_ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"]) for c in nb.cells
            if c.get("metadata", {}).get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution")}


@dataclass
class Student:
    """A synthetic student: which case (if any) answers each question."""

    name: str
    cases: dict[str, Case] = field(default_factory=dict)  # question -> case

    def notebook(self, assignment: str) -> nbformat.NotebookNode:
        return solution_submission(assignment, overrides={c.cell: c.code for c in self.cases.values()})

    def expected_cell_scores(self, cells: dict[str, float]) -> dict[str, float]:
        """What every test cell must score: full points, or 0 where this student's case must lose."""
        expected = dict(cells)
        for case in self.cases.values():
            if case.expected == "loses":
                lost = case.loses or tuple(g for g in cells if g.split("_")[0] == case.question)
                for g in lost:
                    expected[g] = 0.0
        return expected


def batch_students(cases: list[Case]) -> list[Student]:
    """Student ``s<i>`` answers every question with that question's i-th case (correct or wrong).

    Questions are independent (each test cell checks one question on its own), so one submission
    can carry a correct answer to one question next to a wrong answer to another; the number of
    submissions is the largest number of cases of any one question.
    """
    by_question: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        by_question[case.question].append(case)
    students = []
    for i in range(max((len(v) for v in by_question.values()), default=0)):
        student = Student(f"s{i:02d}")
        for question, alternatives in by_question.items():
            if i < len(alternatives):
                student.cases[question] = alternatives[i]
        students.append(student)
    return students


@dataclass
class Graded:
    """The outcome of grading every case of one assignment."""

    assignment: str
    students: list[Student]
    results: dict[str, SubmissionResult]
    flags: dict[str, list[str]]
    seconds: float

    def student_of(self, case: Case) -> Student:
        return next(s for s in self.students if s.cases.get(case.question) == case)

    def problems(self, student: Student) -> list[str]:
        """Every test cell of this student that did not score what it must (empty: all as expected)."""
        cells = graded_cells(self.assignment)
        result = self.results[student.name]
        out = []
        for gid, want in student.expected_cell_scores(cells).items():
            got = result.cells[gid].score if gid in result.cells else None
            if got != want:
                case = student.cases.get(gid.split("_")[0])
                label = f"case {case.id!r} ({case.expected})" if case else "the model solution"
                out.append(f"{gid}: scored {got}, expected {want:g} for {label}\n    output: "
                           + result.outputs(gid)[-700:].replace("\n", "\n    "))
        return out

    def case_problems(self, case: Case) -> list[str]:
        """The test cells of this case's question that did not score what the case must."""
        return [p for p in self.problems(self.student_of(case)) if p.split("_")[0] == case.question]


def grade_cases(assignment: str, workdir: Path, cases: list[Case] | None = None) -> Graded:
    """Grade every case of ``assignment`` with the instructor's driver, sandboxed, in a course copy."""
    import time

    cases = load_cases(assignment) if cases is None else cases
    students = batch_students(cases)
    course = make_course_copy(workdir / "course")
    for student in students:
        folder = course / "grading" / "submitted" / student.name / assignment
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(student.notebook(assignment), str(folder / f"{assignment}.ipynb"))
    start = time.perf_counter()
    # the whole integrity review, re-check included, as `make grade` runs it: an honest answer must not be flagged
    report = grade(sandbox=True, course_dir=course, assignments=[assignment], feedback=False)
    seconds = time.perf_counter() - start
    flags: dict[str, list[str]] = {}
    report_path = course / "grading" / "integrity.json"
    if report_path.is_file():
        data = json.loads(report_path.read_text(encoding="utf-8"))
        for key, reasons in (data.items() if isinstance(data, dict) else []):
            if reasons:
                flags[str(key)] = reasons
    return Graded(assignment, students, report.results.get(assignment, {}), flags, seconds)


def suite(assignment: str):
    """The fixture and tests of one assignment's fairness module (each test file calls this once).

    Returns ``(graded, test_case, test_model_answers_keep_full_marks, test_correct_answers_are_not_flagged)``
    to bind at module level.
    """
    import pytest

    cases = load_cases(assignment)

    @pytest.fixture(scope="module")
    def graded(tmp_path_factory) -> Graded:
        from attacks.course import require_sandbox

        require_sandbox()
        result = grade_cases(assignment, tmp_path_factory.mktemp(f"fair-{assignment[:2]}"), cases)
        n_ok = sum(c.expected == "full" for c in cases)
        print(f"\n{assignment}: {n_ok} correct and {len(cases) - n_ok} wrong cases in {len(result.students)} "
              f"submissions, graded in {result.seconds:.0f} s")
        for key, reasons in sorted(result.flags.items()):
            print(f"  integrity flags for {key}: {reasons}")
        return result

    @pytest.mark.parametrize("case", cases, ids=[c.id for c in cases])
    def test_case(graded: Graded, case: Case) -> None:
        problems = graded.case_problems(case)
        assert not problems, f"{assignment} {case.id} ({case.why}):\n" + "\n".join(problems)

    def test_model_answers_keep_full_marks(graded: Graded) -> None:
        """In every synthetic student, the questions answered by the model solution keep full marks."""
        problems = []
        for student in graded.students:
            result = graded.results[student.name]
            assert result.graded, f"{student.name}: {result.problems}"
            problems += [f"{student.name} {p}" for p in graded.problems(student)
                         if p.split("_")[0] not in student.cases]
        assert not problems, "\n".join(problems)

    def test_correct_answers_are_not_flagged(graded: Graded) -> None:
        """The whole integrity review (static scan and re-check) raises no alarm on a correct answer.

        A flag may only name a question this student answered with a wrong case; a flag on a question
        answered correctly (a case or the model solution), or one that names no question, is a false alarm.
        """
        import re

        false_alarms = []
        for student in graded.students:
            wrong = {q for q, case in student.cases.items() if case.expected == "loses"}
            for reason in graded.flags.get(f"{student.name}/{assignment}", []):
                named = set(re.findall(r"\b(q\d+)_", reason))
                if not named or not named <= wrong:
                    labels = [f"{student.cases[q].id!r}" if q in student.cases else f"{q} (model solution)"
                              for q in sorted(named)]
                    false_alarms.append(f"{student.name} [{', '.join(labels) or 'no question named'}]: {reason}")
        assert not false_alarms, "\n".join(false_alarms)

    return graded, test_case, test_model_answers_keep_full_marks, test_correct_answers_are_not_flagged
