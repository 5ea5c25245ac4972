"""Nothing secret reaches the student edition, and the scan that proves it finds a planted line.

The forbidden lines come from solutions/ itself (course_utils.instructor.edition.secret_lines):
every line of a solution region, of a hidden-test region and of a written model answer, less the
lines nbgrader releases anyway, lines too short to be evidence and a short reviewed list of shared
idioms. A new assignment is covered without touching this test.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from course_utils.instructor import edition
from course_utils.instructor.edition import EditionError, build_edition, scan_tree, secret_lines

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow  # a build and a scan of every file: seconds


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("leaks") / "edition"
    assert build_edition(dest).commit
    return dest


@pytest.fixture
def copy(built: Path, tmp_path: Path) -> Path:
    """A copy of the built edition (with its .git) to plant things in."""
    target = tmp_path / "planted"
    shutil.copytree(built, target)
    return target


@pytest.fixture(scope="module")
def secrets() -> dict[str, str]:
    return secret_lines()


def _pick(secrets: dict[str, str], kind: str) -> str:
    """A secret line of one kind (solution / hidden tests), the same every run."""
    return sorted(line for line, origin in secrets.items() if origin.endswith(kind))[0]


def test_secret_lines_cover_every_assignment(secrets: dict[str, str]) -> None:
    for nb in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        rel = nb.relative_to(ROOT).as_posix()
        kinds = {origin.split(", ")[1] for origin in secrets.values() if origin.startswith(rel + ",")}
        assert {"solution", "hidden tests"} <= kinds, f"{rel}: no forbidden lines of kind {kinds}"
    # The rules leave real answers in: a multi-token line of each assignment's solution regions.
    assert len(secrets) > 100, len(secrets)


def test_the_edition_leaks_nothing(built: Path) -> None:
    leaks = scan_tree(built)
    assert not leaks, "\n".join(map(str, leaks))


def test_every_shared_line_is_still_needed(built: Path) -> None:
    """Each exemption is a real secret line that the edition really contains (else remove it from SHARED_LINES)."""
    everything = "\n".join(p.read_text(errors="replace") for p in built.rglob("*")
                           if p.is_file() and ".git" not in p.parts)
    regions = set()
    for nb in (ROOT / "solutions").glob("*/*.ipynb"):
        inside = False
        for cell in json.loads(nb.read_text())["cells"]:
            for line in "".join(cell["source"]).split("\n"):
                s = line.strip()
                if s.startswith(("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS")):
                    inside = True
                elif s.startswith(("### END SOLUTION", "### END HIDDEN TESTS")):
                    inside = False
                elif inside:
                    regions.add(s)
    for line in edition.SHARED_LINES:
        assert line in regions, f"SHARED_LINES has {line!r}, which is no longer in any solution region"
        assert line in everything, f"SHARED_LINES has {line!r}, which the edition no longer contains"


def test_a_line_planted_in_a_notebook_output_is_found(copy: Path, secrets: dict[str, str]) -> None:
    line = _pick(secrets, "solution")
    lecture = copy / "lectures" / "02_forward_propagation.ipynb"
    nb = json.loads(lecture.read_text())
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
    cell.setdefault("outputs", []).append({"output_type": "stream", "name": "stdout",
                                           "text": [f"result: {line}\n"]})
    lecture.write_text(json.dumps(nb, indent=1))
    leaks = scan_tree(copy)
    assert any(leak.path == "lectures/02_forward_propagation.ipynb" and "outputs" in leak.where
               and leak.text == line for leak in leaks), leaks


def test_lines_planted_in_metadata_and_attachments_are_found(copy: Path, secrets: dict[str, str]) -> None:
    hidden = _pick(secrets, "hidden tests")
    solution = sorted(line for line, origin in secrets.items() if origin.endswith("solution"))[-1]
    assignment = copy / "assignments" / "03_pytorch_rnn" / "03_pytorch_rnn.ipynb"
    nb = json.loads(assignment.read_text())
    nb["metadata"]["notes"] = {"left over": hidden}
    md = next(c for c in nb["cells"] if c["cell_type"] == "markdown")
    md["attachments"] = {"note.txt": {"text/plain": base64.b64encode(solution.encode()).decode()}}
    assignment.write_text(json.dumps(nb, indent=1))
    leaks = [leak for leak in scan_tree(copy) if leak.path.startswith("assignments/")]
    assert any(leak.text == hidden and "metadata" in leak.where for leak in leaks), leaks
    assert any(leak.text == solution and "attachments" in leak.where and "decoded" in leak.where
               for leak in leaks), leaks


def test_a_line_planted_in_a_python_file_is_found(copy: Path, secrets: dict[str, str]) -> None:
    line = _pick(secrets, "hidden tests")
    module = copy / "course_utils" / "gradcheck.py"
    module.write_text(module.read_text() + f"\n\ndef _helper():\n    {line}\n")
    leaks = scan_tree(copy)
    assert any(leak.path == "course_utils/gradcheck.py" and leak.text == line for leak in leaks), leaks


def test_an_instructor_module_and_the_history_are_scanned(copy: Path) -> None:
    # An instructor module copied under another name, and an import of the instructor package.
    shutil.copy(ROOT / "course_utils" / "instructor" / "sandbox.py", copy / "course_utils" / "helpers.py")
    (copy / "tests" / "test_extra.py").write_text("from course_utils.instructor import autograde\n")
    leaks = scan_tree(copy)
    assert any(leak.path == "course_utils/helpers.py" and "course_utils/instructor/sandbox.py" in leak.why
               for leak in leaks), leaks
    assert any(leak.path == "tests/test_extra.py" and leak.text == "course_utils.instructor" for leak in leaks), leaks
    # A secret committed once and deleted again is still in the repository students clone.
    clean = copy.parent / "history"
    shutil.copytree(copy.parent / "planted", clean)
    (clean / "course_utils" / "helpers.py").unlink()
    (clean / "tests" / "test_extra.py").unlink()
    line = sorted(secret_lines())[0]
    (clean / "notes.md").write_text(line + "\n")
    ident = ["-c", "user.name=x", "-c", "user.email=x@example.invalid"]
    subprocess.run(["git", *ident, "add", "notes.md"], cwd=clean, check=True)
    subprocess.run(["git", *ident, "commit", "-qm", "oops"], cwd=clean, check=True)
    subprocess.run(["git", *ident, "rm", "-q", "notes.md"], cwd=clean, check=True)
    subprocess.run(["git", *ident, "commit", "-qm", "undo"], cwd=clean, check=True)
    leaks = scan_tree(clean)
    assert [leak.text for leak in leaks] == [line] and leaks[0].path.startswith("git:"), leaks


def test_the_build_refuses_to_publish_a_leak(tmp_path: Path) -> None:
    """A solution line pasted into a lecture of the instructor's repository stops the build before DEST is touched."""
    course = tmp_path / "course"
    for rel in edition._candidate_files(ROOT):
        (course / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, course / rel)
    line = _pick(secret_lines(course), "solution")
    lecture = course / "lectures" / "01_from_ngrams_to_rnns.ipynb"
    nb = json.loads(lecture.read_text())
    nb["cells"].append({"cell_type": "code", "execution_count": None, "id": "pasted", "metadata": {},
                        "outputs": [], "source": [line]})
    lecture.write_text(json.dumps(nb, indent=1))
    with pytest.raises(EditionError, match="would leak") as info:
        build_edition(tmp_path / "dest", root=course)
    assert "lectures/01_from_ngrams_to_rnns.ipynb" in str(info.value)
    assert not (tmp_path / "dest").exists()
