"""The lectures' test plumbing stays out of the student's view and still catches a change.

- No code cell of a lecture holds an ``NBVAL`` marker line or an ``assert`` statement: output checks
  are the ``nbval-check-output`` cell tag, claims are statements in ``metadata["course"]["checks"]``
  (run by the plugin ``tests/nbval_checks.py``).
- In a copy of a small notebook built here, changing a taught number (a tagged cell's output) or
  breaking a prose claim (a metadata check) makes ``pytest --nbval-lax`` fail, while the unchanged
  copy passes; executing the broken-claim copy as a student does (nbclient, no pytest) raises nothing.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbval_checks import cell_checks

ROOT = Path(__file__).resolve().parent.parent
LECTURES = sorted((ROOT / "lectures").glob("[0-9][0-9]_*.ipynb"))
KERNEL = "rnn-course"


def _code_cells(path: Path) -> list[tuple[int, nbformat.NotebookNode]]:
    nb = nbformat.read(path, as_version=4)
    return [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def _asserts(source: str) -> list[int]:
    """Line numbers of ``assert`` statements in a cell (IPython magics and shell lines left out)."""
    lines = [ln if not ln.lstrip().startswith(("%", "!")) else "" for ln in source.splitlines()]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return [n for n, ln in enumerate(lines, 1) if ln.lstrip().startswith("assert ")]
    return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Assert)]


MY_LECTURES = [p for p in LECTURES if p.name[:2] in {"01", "02", "03", "04", "05"}]


@pytest.mark.parametrize("path", MY_LECTURES, ids=lambda p: p.stem)
def test_no_test_plumbing_in_the_cells_students_read(path: Path) -> None:
    found = []
    for i, cell in _code_cells(path):
        if "NBVAL" in cell.source:
            found.append(f"cell {i}: NBVAL marker line (use the cell tag nbval-check-output)")
        for line in _asserts(cell.source):
            found.append(f"cell {i}, line {line}: assert (move it to metadata course.checks)")
    assert not found, f"{path.name}:\n" + "\n".join(found)


@pytest.mark.parametrize("path", MY_LECTURES, ids=lambda p: p.stem)
def test_lecture_keeps_its_taught_numbers_and_claims_checked(path: Path) -> None:
    cells = [c for _, c in _code_cells(path)]
    tagged = [c for c in cells if "nbval-check-output" in c.metadata.get("tags", [])]
    checks = [s for c in cells for s in cell_checks(c)]
    assert tagged, f"{path.name}: no cell is tagged nbval-check-output, so no taught number is checked"
    assert checks, f"{path.name}: no claim checks in metadata course.checks"
    for statement in checks:
        compile(statement, f"{path.name} check", "exec")  # a typo in a check fails here, not silently


def _notebook(taught: int, claimed: int) -> nbformat.NotebookNode:
    """A two-cell lecture: a taught number (output-checked) and a prose claim (metadata check)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "RNN course (Python 3)", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("Three squared is nine, and nine is more than five."),
        nbformat.v4.new_code_cell(f"x = {taught}\nprint(x * x)", metadata={"tags": ["nbval-check-output"]}),
        nbformat.v4.new_code_cell(f"y = x * x - {claimed}\ny",
                                  metadata={"course": {"checks": ["assert y > 0, 'nine is more than five'"]}}),
    ]
    return nb


@pytest.fixture(scope="module")
def nbval_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """Run nbval once over three copies: as written, a taught number changed, a claim broken."""
    folder = tmp_path_factory.mktemp("checks")
    reference = _notebook(taught=3, claimed=5)
    NotebookClient(reference, kernel_name=KERNEL, timeout=60).execute()  # committed outputs: 9, then 4
    copies = {"unchanged": reference}
    number = nbformat.from_dict(reference)   # the code now computes 16, the committed output says 9
    number.cells[1].source = number.cells[1].source.replace("x = 3", "x = 4")
    copies["number_changed"] = number
    claim = nbformat.from_dict(reference)    # same outputs checked, but 9 - 10 > 0 no longer holds
    claim.cells[2].source = claim.cells[2].source.replace("- 5", "- 10")
    copies["claim_broken"] = claim
    for name, nb in copies.items():
        nbformat.write(nb, folder / f"{name}.ipynb")
    report = folder / "report.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-p", "tests.nbval_checks", "-p", "no:cacheprovider",
                    "--nbval-lax", "--nbval-kernel-name", KERNEL, f"--junitxml={report}", "-q",
                    *(str(folder / f"{n}.ipynb") for n in copies)],
                   cwd=ROOT, capture_output=True, text=True, timeout=300)
    results: dict[str, dict[str, str]] = {n: {} for n in copies}
    for case in ET.parse(report).iter("testcase"):
        notebook = next(n for n in copies if n in (case.get("classname", "") + (case.get("file") or "")))
        failure = case.find("failure")
        message = "passed" if failure is None else failure.get("message", "") + (failure.text or "")
        results[notebook][case.get("name", "")] = message
    return results


@pytest.mark.slow  # runs nbval on three notebook copies in a pytest subprocess
def test_unchanged_copy_passes(nbval_results: dict[str, dict[str, str]]) -> None:
    assert nbval_results["unchanged"] == {"Cell 0": "passed", "Cell 1": "passed"}


@pytest.mark.slow  # runs nbval on three notebook copies in a pytest subprocess
def test_changed_taught_number_fails(nbval_results: dict[str, dict[str, str]]) -> None:
    assert nbval_results["number_changed"]["Cell 1"] == "passed"
    assert "outputs differ" in nbval_results["number_changed"]["Cell 0"]


@pytest.mark.slow  # runs nbval on three notebook copies in a pytest subprocess
def test_broken_prose_claim_fails(nbval_results: dict[str, dict[str, str]]) -> None:
    assert nbval_results["claim_broken"]["Cell 0"] == "passed"
    failure = nbval_results["claim_broken"]["Cell 1"]
    assert "nine is more than five" in failure and "course.checks" in failure


@pytest.mark.slow  # starts a kernel
def test_a_student_running_the_lecture_never_meets_a_check(tmp_path: Path) -> None:
    nb = _notebook(taught=3, claimed=10)          # the claim does not hold for this "exploration"
    NotebookClient(nb, kernel_name=KERNEL, timeout=60).execute()   # raises on any cell error
    assert nb.cells[2].outputs[0]["data"]["text/plain"] == "-1"
