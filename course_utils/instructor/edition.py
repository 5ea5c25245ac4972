"""Build the student edition of the course: a separate git repository students clone and pull.

The instructor repository (this one) holds the solutions, the hidden tests and the grading
machinery; students get a clean copy of what they need and nothing else::

    python -m course_utils.instructor.edition build DEST     # make student-edition DEST=...
    python -m course_utils.instructor.edition wheel --out dist   # make wheel

What goes in (everything else stays out):

- ``lectures/`` (with their figures) and ``assignments/`` (the released student versions);
- ``course_utils/`` without ``course_utils/instructor/``;
- the tests of those modules (``tests/test_<module>*.py`` for a student-side module, the helpers
  they import and ``tests/conftest.py``), never a test that names ``course_utils.instructor``;
- ``requirements.lock`` and ``environment.yml`` as they are; a student ``README.md``, ``Makefile``,
  ``.gitignore`` from the templates in ``edition_templates/`` and a ``pyproject.toml`` derived
  from the instructor's (same dependencies, the package without ``course_utils.instructor``,
  the version read from ``course_utils.__version__``).

``DEST`` is a git repository that the builder owns: each build that changes anything adds exactly
one commit (none when nothing changed), so students update with ``git pull`` (or nbgitpuller) and
keep their own work.
"""

from __future__ import annotations

import argparse
import ast
import base64
import binascii
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

COURSE_ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = Path(__file__).resolve().parent / "edition_templates"
INSTRUCTOR_PACKAGE = "course_utils/instructor"
# Copied from the instructor repository as they are.
COPIED_FILES = ("requirements.lock", "environment.yml")
COPIED_TREES = ("lectures", "assignments", "course_utils")
# Benchmark scripts go in (lecture 06 points to one) unless they measure grading.
BENCH_DIR = "benchmarks"
GRADING_WORDS = ("course_utils.instructor", "sandbox", "nbgrader", "autograde")
# Written from the templates (README.md is filled in with the lecture and assignment lists).
TEMPLATE_FILES = {"Makefile": "Makefile", "gitignore": ".gitignore"}
# Never copied, wherever they appear.
SKIPPED_PARTS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache"}
SKIPPED_SUFFIXES = (".pyc", ".pyo")
# The edition's local git configuration marks a repository this builder created (never overwrite another).
MARKER_KEY = "course.edition"
AUTHOR = ("Course edition", "edition@course.invalid")


class EditionError(RuntimeError):
    """The edition cannot be built: what was expected and what was found."""


@dataclass(frozen=True)
class EditionResult:
    """One build: where, which commit it added (None when nothing changed), and its size."""

    dest: Path
    commit: str | None
    files: int
    size_bytes: int


# --- what goes in ---------------------------------------------------------------------------------

def _candidate_files(root: Path) -> list[str]:
    """Files of the instructor repository that git tracks or would track (ignored ones left out)."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=root, check=True, capture_output=True, env=_git_env()).stdout
        names = {n for n in out.decode().split("\0") if n}
    except (subprocess.CalledProcessError, FileNotFoundError):
        names = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    return sorted(n for n in names if (root / n).is_file() and not _skipped(n))


def _skipped(rel: str) -> bool:
    parts = PurePosixPath(rel).parts
    return bool(SKIPPED_PARTS.intersection(parts)) or rel.endswith(SKIPPED_SUFFIXES)


def is_instructor_path(rel: str) -> bool:
    """True for anything under ``course_utils/instructor/``."""
    return rel == INSTRUCTOR_PACKAGE or rel.startswith(INSTRUCTOR_PACKAGE + "/")


def student_modules(root: Path) -> set[str]:
    """Top-level module and subpackage names of the student-side ``course_utils`` (``data``, ``checks``...)."""
    names = set()
    for p in (root / "course_utils").iterdir():
        if p.name == "instructor" or p.name.startswith(("_", ".")):
            continue
        if p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists()):
            names.add(p.stem)
    return names


def _imports(source: str) -> set[str]:
    """Top-level names of every module a Python source imports."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _names_instructor(source: str) -> bool:
    return "course_utils.instructor" in source or "course_utils import instructor" in source


def student_tests(root: Path, candidates: list[str]) -> list[str]:
    """The tests that go with the student-side modules, the local helpers they import, and conftest.py.

    A test file ``tests/test_<name>[_...].py`` goes in when ``<name>`` is a student-side module of
    course_utils (or ``lectures``: the tests of the lectures themselves) and the file never names
    ``course_utils.instructor``. Helpers are the ``tests/<module>.py`` files those tests import, and
    the pytest plugins pyproject.toml loads (``-p tests.<module>``), transitively.
    """
    modules = student_modules(root) | {"lectures"}
    tests_dir = {PurePosixPath(c).name: c for c in candidates if PurePosixPath(c).parent == PurePosixPath("tests")}
    chosen: set[str] = set()
    for name, rel in tests_dir.items():
        m = re.fullmatch(r"test_([a-z0-9]+)(?:_.*)?\.py", name)
        if m and m.group(1) in modules and not _names_instructor((root / rel).read_text()):
            chosen.add(rel)
    if "conftest.py" in tests_dir and not _names_instructor((root / tests_dir["conftest.py"]).read_text()):
        chosen.add(tests_dir["conftest.py"])
    plugins = re.findall(r"-p\s+tests\.(\w+)", (root / "pyproject.toml").read_text())
    for plugin in plugins:
        rel = tests_dir.get(plugin + ".py")
        if rel is None:
            raise EditionError(f"pyproject.toml loads the pytest plugin tests.{plugin}, "
                               f"but tests/{plugin}.py is missing")
        chosen.add(rel)
    queue = sorted(chosen)
    while queue:
        rel = queue.pop()
        for module in _imports((root / rel).read_text()):
            helper = tests_dir.get(module.split(".")[0] + ".py")
            if helper and helper not in chosen and not _names_instructor((root / helper).read_text()):
                chosen.add(helper)
                queue.append(helper)
    return sorted(chosen)


def student_benchmarks(root: Path, candidates: list[str]) -> list[str]:
    """``benchmarks/bench_*.py`` scripts that measure no grading, and their ``tests/test_benchmarks_*.py``."""
    chosen = []
    for rel in candidates:
        path = PurePosixPath(rel)
        if path.parent == PurePosixPath(BENCH_DIR) and re.fullmatch(r"bench_\w+\.py", path.name):
            text = (root / rel).read_text()
            if not any(word in text for word in GRADING_WORDS):
                chosen.append(rel)
                test = f"tests/test_benchmarks_{path.stem[len('bench_'):]}.py"
                if test in candidates and not _names_instructor((root / test).read_text()):
                    chosen.append(test)
    return sorted(chosen)


def _notebook_title(path: Path) -> str:
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            for line in src.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return path.stem


def _points(path: Path) -> float:
    nb = json.loads(path.read_text())
    return sum(float(c.get("metadata", {}).get("nbgrader", {}).get("points", 0) or 0) for c in nb["cells"])


def _version(root: Path) -> str:
    text = (root / "course_utils" / "__init__.py").read_text()
    m = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', text, re.M)
    if not m:
        raise EditionError("course_utils/__init__.py has no __version__ = '...' line; "
                           "the wheel's version comes from it")
    return m.group(1)


def course_map(root: Path) -> str:
    """The instructor README's "## Course map" section (reading times, order), its maintainers' comment left out."""
    readme = (root / "README.md").read_text() if (root / "README.md").is_file() else ""
    m = re.search(r"^## Course map\n.*?(?=^## )", readme, re.S | re.M)
    if not m:
        return ""
    return re.sub(r"<!--.*?-->\n*", "", m.group(0), flags=re.S).rstrip() + "\n"


def student_readme(root: Path) -> str:
    """The student README: the template with the version and the lecture and assignment lists filled in."""
    lectures = sorted((root / "lectures").glob("*.ipynb"))
    assignments = sorted((root / "assignments").glob("*/*.ipynb"))
    lecture_rows = "\n".join(f"| `lectures/{p.name}` | {_notebook_title(p)} |" for p in lectures)
    assignment_rows = "\n".join(
        f"| `assignments/{p.parent.name}/{p.name}` | {_notebook_title(p)} | {_points(p):g} |" for p in assignments)
    text = (TEMPLATES / "README.md").read_text()
    return (text.replace("{{version}}", _version(root))
                .replace("{{course_map}}", course_map(root))
                .replace("{{lectures}}", lecture_rows)
                .replace("{{assignments}}", assignment_rows))


def student_pyproject(root: Path) -> str:
    """The instructor's pyproject.toml with the student package: no instructor subpackage, version from the code."""
    text = (root / "pyproject.toml").read_text()
    edits = [
        (r'^version = "[^"]*"\n', 'dynamic = ["version"]\n'),
        (r'^description = .*\n',
         'description = "Shared library of the RNN-for-NLP course notebooks: data, models, training, plots, '
         'widgets and the assignment checks (student edition)."\n'),
        (r'^include = \["course_utils\*"\]\n',
         'include = ["course_utils*"]\n\n[tool.setuptools.dynamic]\nversion = { attr = "course_utils.__version__" }\n'),
    ]
    for pattern, replacement in edits:
        text, n = re.subn(pattern, replacement, text, count=1, flags=re.M)
        if n != 1:
            raise EditionError(f"pyproject.toml: expected one line matching {pattern!r} "
                               "to rewrite for the students, found none")
    return text


def edition_files(root: Path | str = COURSE_ROOT) -> dict[str, bytes]:
    """Every file of the student edition: relative POSIX path -> content."""
    root = Path(root).resolve()
    candidates = _candidate_files(root)
    files: dict[str, bytes] = {}
    for rel in candidates:
        top = PurePosixPath(rel).parts[0]
        if (top in COPIED_TREES and not is_instructor_path(rel)) or rel in COPIED_FILES:
            files[rel] = (root / rel).read_bytes()
    for rel in student_tests(root, candidates) + student_benchmarks(root, candidates):
        files[rel] = (root / rel).read_bytes()
    for template, rel in TEMPLATE_FILES.items():
        files[rel] = (TEMPLATES / template).read_bytes()
    files["README.md"] = student_readme(root).encode()
    files["pyproject.toml"] = student_pyproject(root).encode()
    missing = [rel for rel in ("lectures", "assignments", "course_utils/__init__.py") if not any(
        f == rel or f.startswith(rel + "/") for f in files)]
    if missing:
        raise EditionError(f"the edition would have no {missing}: is {root} the course repository?")
    return files


# --- proof that nothing leaks --------------------------------------------------------------------

SECRET_REGIONS = (("### BEGIN SOLUTION", "### END SOLUTION"), ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"))
# Text that must never reach a student, whatever the line around it.
FORBIDDEN_TEXT = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
                  "course_utils.instructor", "course_utils/instructor", "import instructor")
# A secret line shorter than this is no evidence of a leak: `return loss.item()`, `model.eval()`,
# `for t in range(T):`, `caches = []` occur in any PyTorch or NumPy program (the lectures and
# course_utils are full of them), and alone they give no answer away; the longer lines of the same
# answers are still forbidden.
MIN_SECRET_CHARS = 24
# Cells with this tag (answer keys, rubrics) stay in solutions/: release removes them whole.
INSTRUCTOR_NOTES_TAG = "instructor-notes"
# Secret lines that are allowed in the edition, each with the reason (reviewed by hand; the leak
# test fails when one is no longer needed, so the list stays minimal).
SHARED_LINES = {
    "optimizer = torch.optim.Adam(model.parameters(), lr=lr)":
        "the standard optimizer line, taught in lectures 01 and 09; assignment 03 grades the training "
        "step and the accuracy reached, not this line",
    # Lectures 03 and 05 write the RNN step and BPTT in assignment 02's notation; these bookkeeping
    # lines are what the assignment's own docstrings state (the cache tuple, the returned gradients,
    # zero accumulators), not the gradient formulas the assignment grades.
    "cache = (w, h_prev, h, W, U)": "the cache tuple assignment 02's docstring spells out; built in lectures 03 and 05",
    "return dw, dh_prev, dW, dU": "the return values assignment 02's docstring lists; lecture 05's backward step",
    "return dw_seq, dh_next, dW, dU":
        "the four gradients lecture 05's BPTT returns; assignment 02's docstring lists the same four",
    "dW, dU = np.zeros_like(W), np.zeros_like(U)": "zero gradient accumulators, in lecture 05's BPTT",
    "top = torch.topk(probs, k)":
        "torch's own top-k call, which course_utils.models.charrnn's prediction helper for lecture 06 "
        "also uses; that no answer may delegate to the course's helper is graded by the hidden tests",
    # The output layer is S in every model (issue 19), so its line is the same in the lectures, the
    # library and the assignments' answers; the prose of each question names the layer and its sizes.
    "self.S = nn.Linear(hidden_size, n_classes)":
        "assignment 03's output layer, spelled out in Q2's prose; lecture 06's classifier has the same line",
    "self.S = nn.Linear(hidden_size, vocab_size)":
        "assignment 04's decoder output layer (Q2's prose and hint: hidden_size -> vocab_size); the language "
        "models of course_utils.models (chargen, simple_rnn) have the same line",
}


@dataclass(frozen=True)
class Leak:
    """One forbidden text found: in which file (and where inside a notebook), and why it is forbidden."""

    path: str
    where: str
    text: str
    why: str

    def __str__(self) -> str:
        return f"{self.path} [{self.where}]: {self.text!r} ({self.why})"


def secret_lines(root: Path | str = COURSE_ROOT) -> dict[str, str]:
    """Every line a student must not see, from ``solutions/`` itself: stripped line -> where it comes from.

    A secret line is one inside a solution region (``### BEGIN SOLUTION`` ... ``### END SOLUTION``),
    a hidden-test region, a written model answer (a markdown cell nbgrader marks as solution) or an
    answer key (a cell tagged ``instructor-notes``),
    unless (a) the same line also stands outside those regions in a solution notebook (the public
    part nbgrader releases anyway: signatures, docstrings, the visible checks), (b) it is shorter
    than MIN_SECRET_CHARS, or (c) it is one of SHARED_LINES.
    """
    root = Path(root)
    secret: dict[str, str] = {}
    public: set[str] = set()
    notebooks = sorted((root / "solutions").glob("*/*.ipynb"))
    if not notebooks:
        raise EditionError(f"no solution notebooks under {root / 'solutions'}: cannot build the list of secret lines")
    for nb_path in notebooks:
        rel = nb_path.relative_to(root).as_posix()
        for cell in json.loads(nb_path.read_text())["cells"]:
            source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            lines = [line.strip() for line in source.split("\n")]
            if cell["cell_type"] == "markdown" and cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
                for line in lines:
                    secret.setdefault(line, f"{rel}, written answer")
                continue
            if INSTRUCTOR_NOTES_TAG in cell.get("metadata", {}).get("tags", []):
                for line in lines:
                    secret.setdefault(line, f"{rel}, answer key")
                continue
            end = None
            for line in lines:
                start = next((e for s, e in SECRET_REGIONS if line.startswith(s)), None)
                if start:
                    end = start
                elif end and line.startswith(end):
                    end = None
                elif end:
                    kind = "solution" if "SOLUTION" in end else "hidden tests"
                    secret.setdefault(line, f"{rel}, {kind}")
                else:
                    public.add(line)
    return {line: origin for line, origin in secret.items()
            if len(line) >= MIN_SECRET_CHARS and line not in public and line not in SHARED_LINES}


def instructor_fingerprints(root: Path | str = COURSE_ROOT) -> dict[str, str]:
    """SHA-256 of every file of ``course_utils/instructor/`` -> its path (a copy under another name is found too).

    The edition templates are left out: they are the student files by design.
    """
    base = Path(root) / INSTRUCTOR_PACKAGE
    return {hashlib.sha256(p.read_bytes()).hexdigest(): p.relative_to(root).as_posix()
            for p in sorted(base.rglob("*")) if p.is_file() and not _skipped(p.name)
            and TEMPLATES.name not in p.relative_to(base).parts}


_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]{16,}")


def _notebook_texts(node: object, where: str = "") -> list[tuple[str, str]]:
    """(JSON path, text) for every string of a notebook, lists of lines joined, base64 data decoded too."""
    out: list[tuple[str, str]] = []
    if isinstance(node, str):
        out.append((where, node))
        if _BASE64.fullmatch(node):
            try:
                out.append((where + " (decoded)", base64.b64decode(node, validate=False).decode("utf-8", "replace")))
            except (binascii.Error, ValueError):
                pass
    elif isinstance(node, list):
        if node and all(isinstance(x, str) for x in node):
            out.extend(_notebook_texts("".join(node), where))
        else:
            for i, x in enumerate(node):
                out.extend(_notebook_texts(x, f"{where}[{i}]"))
    elif isinstance(node, dict):
        for key, value in node.items():
            out.extend(_notebook_texts(value, f"{where}.{key}" if where else str(key)))
    return out


def scan_content(path: str, data: bytes, secrets: dict[str, str],
                 fingerprints: dict[str, str] | None = None) -> list[Leak]:
    """Forbidden text in one file's content: text, binary, notebooks (sources, outputs, metadata, attachments)."""
    leaks: list[Leak] = []
    if is_instructor_path(path):
        leaks.append(Leak(path, "path", path, "an instructor-only module"))
    if fingerprints and hashlib.sha256(data).hexdigest() in fingerprints:
        leaks.append(Leak(path, "content", "", f"a copy of {fingerprints[hashlib.sha256(data).hexdigest()]}"))
    texts: list[tuple[str, str]]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None:
        texts = [("bytes", data.decode("latin-1"))]
    else:
        texts = [("text", text)]
        if path.endswith(".ipynb") or text.lstrip().startswith("{"):
            try:
                texts += _notebook_texts(json.loads(text))
            except ValueError:
                pass
    # One pass over all of the file's text finds the candidates; only those are then located.
    everything = "\n".join(blob for _, blob in texts)
    found = [(needle, "instructor-only text") for needle in FORBIDDEN_TEXT if needle in everything]
    found += [(line, f"from {origin}") for line, origin in secrets.items() if line in everything]
    for where, blob in texts:
        leaks.extend(Leak(path, where, needle, why) for needle, why in found if needle in blob)
    return leaks


def scan_files(files: dict[str, bytes], root: Path | str = COURSE_ROOT) -> list[Leak]:
    """Every leak in a set of edition files (relative path -> content)."""
    secrets, fingerprints = secret_lines(root), instructor_fingerprints(root)
    return [leak for rel, data in sorted(files.items()) for leak in scan_content(rel, data, secrets, fingerprints)]


def _git_blobs(repo: Path) -> dict[str, bytes]:
    """Every blob in a repository's object store (all of its history): 'git:<sha>' -> content."""
    listing = _git(repo, "cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objecttype)")
    shas = [line.split()[0] for line in listing.splitlines() if line.endswith(" blob")]
    proc = subprocess.run(["git", "cat-file", "--batch"], cwd=repo, input="\n".join(shas).encode() + b"\n",
                          capture_output=True, check=True, env=_git_env())
    blobs, out, pos = {}, proc.stdout, 0
    for sha in shas:
        header_end = out.index(b"\n", pos)
        size = int(out[pos:header_end].split()[2])
        blobs[f"git:{sha}"] = out[header_end + 1: header_end + 1 + size]
        pos = header_end + 1 + size + 1
    return blobs


def scan_tree(tree: Path | str, root: Path | str = COURSE_ROOT) -> list[Leak]:
    """Every leak in a built edition folder: each file on disk, and each blob of its git history."""
    tree = Path(tree)
    files = {p.relative_to(tree).as_posix(): p.read_bytes() for p in sorted(tree.rglob("*"))
             if p.is_file() and ".git" not in p.relative_to(tree).parts}
    if (tree / ".git").exists():
        seen = {hashlib.sha256(data).digest() for data in files.values()}
        files.update({name: data for name, data in _git_blobs(tree).items()
                      if hashlib.sha256(data).digest() not in seen})
    return scan_files(files, root)


# --- writing it -----------------------------------------------------------------------------------

def _git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_AUTHOR_NAME=AUTHOR[0], GIT_AUTHOR_EMAIL=AUTHOR[1],
               GIT_COMMITTER_NAME=AUTHOR[0], GIT_COMMITTER_EMAIL=AUTHOR[1])
    return env


def _git(cwd: Path, *args: str, stdin: bytes | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, env=_git_env())
    if proc.returncode != 0:
        raise EditionError(f"git {' '.join(args)} failed in {cwd}: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout.decode(errors="replace")


def _source_description(root: Path) -> str:
    try:
        head = _git(root, "rev-parse", "--short", "HEAD").strip()
        dirty = _git(root, "status", "--porcelain", "--untracked-files=no").strip()
    except EditionError:
        return "a copy that is not a git repository"
    return f"instructor commit {head}" + (" with uncommitted changes" if dirty else "")


def write_tree(files: dict[str, bytes], dest: Path) -> None:
    """Write ``files`` under ``dest`` (a plain folder; existing files with the same content are left alone)."""
    for rel, data in files.items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.is_file() or target.read_bytes() != data:
            target.write_bytes(data)


def _prepare_repository(dest: Path) -> None:
    if (dest / ".git").exists():
        marked = subprocess.run(["git", "config", "--local", "--get", MARKER_KEY], cwd=dest,
                                capture_output=True, env=_git_env()).stdout.decode().strip()
        if marked != "true":
            raise EditionError(f"{dest} is a git repository that this builder did not create "
                               f"(no `{MARKER_KEY}` in its .git/config); choose another DEST")
        return
    if dest.exists() and any(dest.iterdir()):
        raise EditionError(f"{dest} exists, is not empty and is not an edition repository; "
                           "choose an empty or new folder")
    dest.mkdir(parents=True, exist_ok=True)
    _git(dest, "init", "--quiet", "--initial-branch=main")
    _git(dest, "config", "--local", MARKER_KEY, "true")


def build_edition(dest: Path | str, root: Path | str = COURSE_ROOT, message: str | None = None) -> EditionResult:
    """Build or update the student edition in the git repository ``dest``.

    Files the edition no longer has are removed, new and changed ones written, and the result is
    committed as one commit; when nothing changed no commit is made (``commit`` is None).
    Untracked files in ``dest`` (a ``.venv`` of a test run, say) are left alone.
    """
    root, dest = Path(root).resolve(), Path(dest).resolve()
    if dest == root or root in dest.parents:
        raise EditionError(f"DEST {dest} is inside the instructor repository {root}; choose a folder outside it")
    files = edition_files(root)
    leaks = scan_files(files, root)
    if leaks:
        shown = "\n  ".join(str(leak) for leak in leaks[:20])
        raise EditionError(f"the edition would leak {len(leaks)} forbidden text(s); nothing was written:\n  {shown}")
    _prepare_repository(dest)
    tracked = {n for n in _git(dest, "ls-files", "-z").split("\0") if n}
    for rel in sorted(tracked - files.keys()):
        (dest / rel).unlink(missing_ok=True)
        parent = (dest / rel).parent
        while parent != dest and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    write_tree(files, dest)
    _git(dest, "add", "--all", "--force", "--pathspec-from-file=-", "--pathspec-file-nul",
         stdin="\0".join(sorted(files)).encode())
    _git(dest, "add", "--update")
    commit = None
    if _git(dest, "status", "--porcelain", "--untracked-files=no").strip():
        version = _version(root)
        text = message or f"Student edition {version}"
        _git(dest, "commit", "--quiet", "-m", text, "-m", f"Built from {_source_description(root)}.")
        commit = _git(dest, "rev-parse", "HEAD").strip()
    size = sum(len(data) for data in files.values())
    return EditionResult(dest=dest, commit=commit, files=len(files), size_bytes=size)


def build_wheel(out_dir: Path | str, root: Path | str = COURSE_ROOT) -> Path:
    """Build the wheel of the student-side ``course_utils`` into ``out_dir``; returns its path.

    It is built from the edition's own files in a temporary folder (so it cannot contain
    ``course_utils.instructor``), with ``pip wheel --no-deps --no-build-isolation``.
    """
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {rel: data for rel, data in edition_files(root).items()
             if rel.startswith("course_utils/") or rel in ("pyproject.toml", "README.md")}
    with tempfile.TemporaryDirectory(prefix="course-wheel-") as tmp:
        src = Path(tmp) / "src"
        write_tree(files, src)
        before = set(out_dir.glob("*.whl"))
        proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                               "--disable-pip-version-check", "--wheel-dir", str(out_dir), str(src)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise EditionError(f"pip wheel failed:\n{proc.stdout}\n{proc.stderr}")
    version = _version(Path(root))
    wheel = out_dir / f"course_utils-{version}-py3-none-any.whl"
    if not wheel.exists():
        wrote = sorted(p.name for p in set(out_dir.glob("*.whl")) - before)
        raise EditionError(f"pip wheel did not write {wheel.name}; it wrote {wrote}")
    return wheel


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m course_utils.instructor.edition",
                                     description="Build the student edition of the course, or the student wheel.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build or update the student edition (a git repository) in DEST")
    b.add_argument("dest")
    b.add_argument("--message", "-m", help="the commit message (default: 'Student edition <version>')")
    w = sub.add_parser("wheel", help="build the wheel of the student-side course_utils")
    w.add_argument("--out", default=str(COURSE_ROOT / "dist"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "build":
            result = build_edition(args.dest, message=args.message)
            what = f"new commit {result.commit[:10]}" if result.commit else "nothing changed, no commit"
            size = result.size_bytes / 2**20
            print(f"student edition in {result.dest}: {result.files} files, {size:.1f} MiB; {what}")
        else:
            print(f"wheel: {build_wheel(args.out)}")
    except EditionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
