"""Bad submissions of assignment 01 (the cheapest to grade), all graded in ONE nbgrader call.

Each is graded without stopping the others, and its outcome is asserted: the points it
keeps, the points it loses, and what the grade report says about it. A correct submission
graded in the same run is the control.
"""

from __future__ import annotations

import copy
import time

import nbformat
import pytest

from course_utils.instructor.autograde import (
    grade_submissions,
    make_course_copy,
    solution_submission,
)

pytestmark = pytest.mark.slow

A = "01_forward_and_loss"
TOTAL = 10.0
POINTS = {"q1": 2.0, "q2": 3.0, "q3": 2.0, "q4": 2.0, "q5": 1.0}


def _solution_source(grade_id: str) -> str:
    nb = solution_submission(A)
    return next(c.source for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)


def _with(overrides: dict[str, str]) -> nbformat.NotebookNode:
    return solution_submission(A, overrides=overrides)


def _edit_cells(edit) -> nbformat.NotebookNode:
    nb = solution_submission(A)
    edit(nb)
    return nb


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)


def _delete(grade_id):
    def edit(nb):
        nb.cells = [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") != grade_id]
    return edit


def _points(grade_id, points):
    def edit(nb):
        _cell(nb, grade_id).metadata["nbgrader"]["points"] = points
    return edit


def _to_markdown(grade_id):
    def edit(nb):
        cell = _cell(nb, grade_id)
        new = nbformat.v4.new_markdown_cell(cell.source, metadata=copy.deepcopy(cell.metadata))
        new.id = cell.id
        nb.cells[nb.cells.index(cell)] = new
    return edit


def _prepend(code):
    def edit(nb):
        cell = nbformat.v4.new_code_cell(code)
        cell.id = "student-extra"
        nb.cells.insert(0, cell)
    return edit


def _edited_test_and_wrong_sigmoid(nb):
    _cell(nb, "q1_test_values").source = "assert True"
    _cell(nb, "q1_test_stable").source = "assert True"
    _cell(nb, "q1_sigmoid").source = "def sigmoid(z):\n    return 0.5 + 0 * np.asarray(z, dtype=float)\n"


NOISY_ANSWERS = {
    # a correct answer that warns and draws progress bars on stderr every time a test calls it
    "q4_token_losses": _solution_source("q4_token_losses").replace(
        "def token_losses(prob_tables, sentence):",
        "import sys, warnings\nfrom tqdm.auto import tqdm\n\ndef token_losses(prob_tables, sentence):\n"
        "    warnings.warn('token_losses: this is only a warning')\n"
        "    for _ in tqdm(range(3), file=sys.stderr):\n        pass\n"
        "    print('progress 100%', file=sys.stderr)",
    ),
}

BAD_SUBMISSIONS = {
    "control": (solution_submission(A), TOTAL),
    # an answer that never returns: only its question's test times out
    "infinite-loop": (_with({"q5_perplexity": "def perplexity(losses):\n    while True:\n        pass\n"}),
                      TOTAL - POINTS["q5"]),
    # an exception in the first cell: the rest of the notebook still runs
    "exception-at-top": (_edit_cells(_prepend("raise RuntimeError('a student error at the top')")), TOTAL),
    # the kernel exits in Q3's answer cell: Q1 and Q2 were graded, everything after is 0
    "kernel-crash": (_with({"q3_softmax": "import os\nos._exit(1)\n"}), POINTS["q1"] + POINTS["q2"]),
    # grows memory until the kernel's memory limit turns it into a MemoryError in Q4
    "memory-blowup": (_with({"q4_token_losses": "def token_losses(prob_tables, sentence):\n    hog = []\n"
                                                "    while True:\n        hog.append(np.ones(10**8))\n"}),
                      TOTAL - POINTS["q4"]),
    # test cells deleted: they come back and are graded
    "deleted-test-cells": (
        _edit_cells(lambda nb: (_delete("q2_test_output")(nb), _delete("q5_test_perplexity")(nb))), TOTAL),
    # tests edited to `assert True` with a wrong sigmoid: restored by checksum, Q1 still fails
    "edited-test-cells": (_edit_cells(_edited_test_and_wrong_sigmoid), TOTAL - POINTS["q1"]),
    # points raised in the metadata: restored, the maximum stays 10
    "changed-points": (_edit_cells(_points("q5_test_perplexity", 100)), TOTAL),
    # a test cell turned into markdown: turned back into code and run
    "changed-cell-type": (_edit_cells(_to_markdown("q4_test_losses")), TOTAL),
    # not a notebook at all
    "invalid-json": (b'{"cells": [ this is not json', 0.0),
    # a folder without the notebook
    "missing-notebook": (None, 0.0),
    # a million lines of output from a correct answer
    "output-flood": (_with({"q3_softmax": "for i in range(300_000):\n    print('flood', i)\n"
                                         + _solution_source("q3_softmax")}), TOTAL),
    # warnings and progress bars on stderr from a correct answer
    "stderr-noise": (_with(NOISY_ANSWERS), TOTAL),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = make_course_copy(tmp_path_factory.mktemp("bad") / "course")
    start = time.perf_counter()
    # A 2 GiB memory limit keeps the blow-up test gentle on small CI machines.
    results = grade_submissions(course, A, {s: sub for s, (sub, _) in BAD_SUBMISSIONS.items()},
                                extra_args=["--GradingExecute.memory_limit_mb=2048"])
    print(f"\nbad-submission matrix: {len(BAD_SUBMISSIONS)} submissions graded in {time.perf_counter() - start:.0f} s")
    return results


@pytest.mark.parametrize("student", list(BAD_SUBMISSIONS))
def test_bad_submission_gets_the_expected_score(graded, student):
    result = graded[student]
    expected = BAD_SUBMISSIONS[student][1]
    assert result.max_score == TOTAL, "a submission cannot change the maximum"
    assert result.score == expected, (
        f"{student}: {result.score} instead of {expected}; problems: {result.problems}\n"
        + "\n".join(f"{g}: {c.score}/{c.max_score} {result.outputs(g)[-300:]}" for g, c in result.cells.items())
    )


def test_control_is_clean(graded):
    assert graded["control"].graded and graded["control"].problems == []


def test_infinite_loop_is_stopped_by_the_time_limit(graded):
    result = graded["infinite-loop"]
    assert "CellTimeoutError" in result.outputs("q5_test_perplexity")
    assert any("time limit" in p for p in result.problems)


def test_kernel_crash_is_reported_and_later_cells_not_run(graded):
    result = graded["kernel-crash"]
    assert result.graded
    assert any("kernel died" in p for p in result.problems)
    assert "CellNotRun" in result.outputs("q5_test_perplexity")


def test_memory_blowup_ends_in_memory_error(graded):
    assert "MemoryError" in graded["memory-blowup"].outputs("q4_test_losses")


def test_restored_cells_are_really_restored(graded):
    nb = nbformat.read(graded["deleted-test-cells"].autograded_path, as_version=4)
    restored = _cell(nb, "q2_test_output")
    assert "was missing from the submission" in restored.source and "two_layer_forward" in restored.source
    edited = nbformat.read(graded["edited-test-cells"].autograded_path, as_version=4)
    assert "check_close" in _cell(edited, "q1_test_values").source
    assert "✗ sigmoid" in graded["edited-test-cells"].outputs("q1_test_values")
    typed = nbformat.read(graded["changed-cell-type"].autograded_path, as_version=4)
    assert _cell(typed, "q4_test_losses").cell_type == "code"


def test_unreadable_and_missing_notebooks_are_flagged(graded):
    for student in ("invalid-json", "missing-notebook"):
        result = graded[student]
        assert not result.graded and result.score == 0
        assert any("could not grade" in p for p in result.problems)
    assert any("was not submitted" in p for p in graded["missing-notebook"].problems)


def test_output_flood_is_capped(graded):
    path = graded["output-flood"].autograded_path
    assert path.stat().st_size < 500_000, "the flood should be capped"
    flood = _cell(nbformat.read(path, as_version=4), "q3_softmax")
    text = "".join(o.get("text", "") for o in flood.outputs)
    assert "flood 0" in text and "flood 299999" not in text
    assert "Output truncated" in text or "output capped by the grader" in text


def test_stderr_from_a_correct_answer_costs_nothing(graded):
    text = graded["stderr-noise"].outputs("q4_test_losses")
    assert "only a warning" in text and "progress 100%" in text  # still visible in the feedback
