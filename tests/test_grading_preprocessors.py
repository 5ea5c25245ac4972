"""The autograde preprocessors of course_utils.instructor.preprocessors, on small synthetic notebooks."""

from __future__ import annotations

import nbformat
import pytest
from nbgrader.utils import determine_grade

from course_utils.instructor.preprocessors import GradingExecute, NeutralizeStderr


def _code(source: str, *, grade_id: str | None = None, grade: bool = False, solution: bool = False, points: float = 1):
    cell = nbformat.v4.new_code_cell(source)
    if grade_id:
        meta = {"grade": grade, "grade_id": grade_id, "locked": grade, "schema_version": 3, "solution": solution,
                "task": False}
        if grade:
            meta["points"] = points
        cell.metadata["nbgrader"] = meta
    return cell


def _stream(name: str, text: str):
    return nbformat.v4.new_output("stream", name=name, text=text)


def test_neutralize_stderr_relabels_test_cell_stderr_and_keeps_errors():
    test = _code("check()", grade_id="q1_test", grade=True, points=2)
    test.outputs = [_stream("stdout", "✓ ok\n"), _stream("stderr", "UserWarning: careful\n")]
    failing = _code("check()", grade_id="q2_test", grade=True, points=1)
    failing.outputs = [_stream("stderr", "50%|#####     |\n"),
                       nbformat.v4.new_output("error", ename="AssertionError", evalue="✗", traceback=[])]
    answer = _code("def f(): pass", grade_id="q1", solution=True)
    answer.outputs = [_stream("stderr", "noise\n")]
    nb = nbformat.v4.new_notebook(cells=[answer, test, failing])
    assert determine_grade(test)[0] == 0, "nbgrader's own rule: stderr in a test cell scores 0"

    NeutralizeStderr().preprocess(nb, {})

    assert [o["name"] for o in test.outputs] == ["stdout", "stdout"]
    assert test.outputs[1]["text"] == "UserWarning: careful\n", "the text stays visible in the feedback"
    assert determine_grade(test) == (2, 2)
    assert determine_grade(failing) == (0, 1), "a failing check still scores 0"
    assert answer.outputs[0]["name"] == "stderr", "answer cells are not touched"


@pytest.mark.slow
def test_grading_execute_limits_timeouts_output_and_survives_a_dead_kernel():
    nb = nbformat.v4.new_notebook(cells=[
        _code("import resource\nprint(resource.getrlimit(resource.RLIMIT_DATA)[0] // 2**20)"),
        _code("import time\ntime.sleep(30)"),
        _code("print('still running')"),
        _code("for i in range(100_000):\n    print('line', i)"),
        _code("import os\nos._exit(3)"),
        _code("print('never')", grade_id="q9_test", grade=True),
    ])
    nb.metadata["kernelspec"] = {"name": "rnn-course", "display_name": "x", "language": "python"}
    ex = GradingExecute(assignment_timeouts={"hw": 2}, memory_limit_mb=1536, max_output_chars=2_000)
    ex.preprocess(nb, {"nbgrader": {"assignment": "hw"}, "metadata": {"path": "."}})
    limit, sleep, after, flood, crash, later = nb.cells

    assert limit.outputs[0]["text"].strip() == "1536"
    assert sleep.outputs[-1]["ename"] == "CellTimeoutError"  # the per-assignment 2 s, not Execute.timeout
    assert after.outputs[0]["text"] == "still running\n"
    flood_text = "".join(o.get("text", "") for o in flood.outputs)
    assert len(flood_text) < 2_200 and "output capped by the grader" in flood_text
    assert crash.outputs[-1]["ename"] == "KernelDied"
    assert later.outputs[0]["ename"] == "CellNotRun" and determine_grade(later)[0] == 0


@pytest.mark.slow
def test_grading_execute_kills_a_kernel_that_ignores_the_interrupt():
    nb = nbformat.v4.new_notebook(cells=[
        _code("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"),
        _code("print('next')"),
        _code("print('and the next')"),
    ])
    nb.metadata["kernelspec"] = {"name": "rnn-course", "display_name": "x", "language": "python"}
    ex = GradingExecute(timeout_override=2, interrupt_grace=2.0)
    ex.preprocess(nb, {"nbgrader": {"assignment": "hw"}, "metadata": {"path": "."}})
    stuck, nxt, last = nb.cells
    assert stuck.outputs[-1]["ename"] == "CellTimeoutError"
    assert nxt.outputs[0]["ename"] == "CellNotRun" and "shut down" in nxt.outputs[0]["evalue"]
    assert last.outputs[0]["ename"] == "CellNotRun"
