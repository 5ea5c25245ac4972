"""The student wheel of course_utils: versioned from the package, no instructor code, runs a lecture.

It is installed into a fresh environment that sees the main .venv's third-party packages but not its
course_utils (tests/edition_env.py says how), and one lecture is executed against it.
"""

from __future__ import annotations

import json
import sysconfig
import zipfile
from pathlib import Path

import pytest
from edition_env import install_kernel, make_overlay_env, run

import course_utils
from course_utils.instructor.edition import build_wheel

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
LECTURE = ROOT / "lectures" / "02_forward_propagation.ipynb"


def _editable_hook() -> list[str]:
    """The main .venv's editable-install files of course_utils (they must survive the test)."""
    site = Path(sysconfig.get_paths()["purelib"])
    return sorted(p.name for p in site.glob("__editable__*course_utils*"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("dist"))


def test_the_wheel_holds_the_student_package_only(wheel: Path) -> None:
    assert wheel.name == f"course_utils-{course_utils.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        metadata = zf.read(f"course_utils-{course_utils.__version__}.dist-info/METADATA").decode()
    assert not [n for n in names if n.startswith("course_utils/instructor")], "the wheel ships instructor code"
    student = {p.relative_to(ROOT).as_posix() for p in (ROOT / "course_utils").rglob("*.py")
               if "instructor" not in p.parts}
    assert student <= set(names), student - set(names)
    assert f"Version: {course_utils.__version__}" in metadata
    for dep in ("torch==2.13.0", "numpy>=1.26", "ipywidgets<9,>=8"):
        assert f"Requires-Dist: {dep}" in metadata, dep


def test_the_wheel_installs_into_a_fresh_env_and_runs_a_lecture(wheel: Path, tmp_path: Path) -> None:
    python = make_overlay_env(tmp_path / "env")
    # Before the install course_utils is not importable there: the environment hides the main one.
    before = run(python, "-c", "import course_utils", cwd=tmp_path)
    assert before.returncode != 0 and "No module named 'course_utils'" in before.stderr, before.stderr
    editable_hook = _editable_hook()
    # --ignore-installed: pip sees the main .venv's course-utils metadata and must neither skip nor uninstall it.
    install = run(python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--ignore-installed",
                  "--disable-pip-version-check", str(wheel), cwd=tmp_path)
    assert install.returncode == 0, install.stdout + install.stderr
    where = run(python, "-c", "import course_utils, importlib.util as u; print(course_utils.__file__); "
                "print(u.find_spec('course_utils.instructor'))", cwd=tmp_path)
    assert where.returncode == 0, where.stderr
    path, spec = where.stdout.split()
    assert path.startswith(str(tmp_path / "env")) and spec == "None", where.stdout
    install_kernel(python)

    nb = json.loads(LECTURE.read_text())
    nb["cells"].append({"cell_type": "code", "execution_count": None, "id": "which-course-utils", "metadata": {},
                        "outputs": [], "source": ["import course_utils; print(course_utils.__file__)"]})
    (tmp_path / "lecture.ipynb").write_text(json.dumps(nb))
    executed = run(python, "-m", "nbconvert", "--to", "notebook", "--execute", "--output", "executed.ipynb",
                   "--ExecutePreprocessor.kernel_name=rnn-course", "--ExecutePreprocessor.timeout=600",
                   "lecture.ipynb", cwd=tmp_path, COURSE_THREADS="1")
    assert executed.returncode == 0, executed.stderr[-3000:]
    out = json.loads((tmp_path / "executed.ipynb").read_text())
    errors = [o for c in out["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert not errors, errors
    last = "".join(out["cells"][-1]["outputs"][0]["text"]).strip()
    assert last.startswith(str(tmp_path / "env")), f"the lecture ran against {last}, not the wheel"
    # The main .venv's editable install is untouched.
    assert _editable_hook() == editable_hook and editable_hook
