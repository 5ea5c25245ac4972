"""The import boundary: nothing students import depends on course_utils.instructor.

- Statically: no Python file or notebook code cell outside the instructor side imports
  ``course_utils.instructor`` (``import``, ``from ... import``, ``importlib.import_module`` or
  ``__import__`` with that name). The instructor side is the package itself, nbgrader_config.py,
  and the tests and benchmarks that the student edition leaves out (they test the instructor code).
- At run time: every student-side module of course_utils imports with ``course_utils.instructor``
  made unimportable (a meta-path hook that refuses it), in a fresh interpreter.
  tests/test_edition_runs.py does the same inside a built edition, where the package is absent.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from course_utils.instructor import edition

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "course_utils.instructor"


def _instructor_imports(source: str) -> list[str]:
    """The statements of ``source`` that import course_utils.instructor (or a module in it)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        # IPython syntax (%magic, !shell) in a notebook cell: keep the Python lines.
        kept = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
        tree = ast.parse(kept)
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                names = [node.args[0].value]
        if any(n == PACKAGE or n.startswith(PACKAGE + ".") for n in names):
            found.append(f"line {node.lineno}: {ast.unparse(node)[:80]}")
    return found


def _sources(rel: str) -> list[tuple[str, str]]:
    path = ROOT / rel
    if rel.endswith(".py"):
        return [(rel, path.read_text())]
    nb = json.loads(path.read_text())
    return [(f"{rel} cell {i}", "".join(c["source"])) for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"]


def test_the_detector_finds_every_form_of_import() -> None:
    for line in ("import course_utils.instructor", "from course_utils.instructor import autograde",
                 "from course_utils import instructor", "import course_utils.instructor.sandbox as s",
                 "importlib.import_module('course_utils.instructor.edition')", "__import__('course_utils.instructor')"):
        assert _instructor_imports(line), line
    assert not _instructor_imports("import course_utils.checks\nfrom course_utils import models")


def test_nothing_on_the_student_side_imports_the_instructor_package() -> None:
    files = edition._candidate_files(ROOT)
    shipped = set(edition.edition_files(ROOT))
    instructor_side = {rel for rel in files if edition.is_instructor_path(rel)} | {"nbgrader_config.py"}
    # Tests and benchmarks the edition leaves out test the instructor code; they may import it.
    instructor_side |= {rel for rel in files if rel.startswith(("tests/", "benchmarks/")) and rel not in shipped}
    checked, offenders = 0, []
    for rel in files:
        if rel in instructor_side or not rel.endswith((".py", ".ipynb")):
            continue
        for where, source in _sources(rel):
            checked += 1
            offenders += [f"{where}: {hit}" for hit in _instructor_imports(source)]
    assert checked > 100, checked
    assert not offenders, "\n".join(offenders)
    # Solutions run in the students' kernel when graded: they are on the student side too.
    assert any(rel.startswith("solutions/") for rel in files if rel not in instructor_side)


@pytest.mark.slow  # imports every student module in a fresh interpreter
def test_every_student_module_imports_with_the_instructor_package_blocked() -> None:
    script = f"""
import importlib, importlib.abc, pkgutil, sys

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == {PACKAGE!r} or name.startswith({PACKAGE!r} + "."):
            raise ModuleNotFoundError(f"blocked: {{name}}", name=name)
        return None

sys.meta_path.insert(0, Refuse())
import course_utils
names = [m.name for m in pkgutil.walk_packages(course_utils.__path__, "course_utils.")
         if not (m.name == {PACKAGE!r} or m.name.startswith({PACKAGE!r} + "."))]
for name in names:
    importlib.import_module(name)
assert not [m for m in sys.modules if m.startswith({PACKAGE!r})]
print(len(names))
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert int(result.stdout.split()[-1]) >= 20, result.stdout
