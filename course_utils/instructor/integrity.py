"""Grade integrity: flag submissions that try to forge their score.

The sandbox (:mod:`course_utils.instructor.sandbox`) stops a submission from
reading the hidden tests, touching other files, reaching the network or
exhausting the machine. What it cannot stop is tampering *inside the one
Python process* that runs both the student's cells and the grader's test
cells: a submission can redefine ``check_close``, monkeypatch NumPy, hook
IPython's ``run_cell`` so that failing tests print nothing, and so on. nbgrader
only looks at whether a test cell produced an error, so such a notebook would
score full marks. This module detects it, outside the kernel, and flags the
submission for the instructor with the reason. Three layers:

1. :func:`sanitize_submissions` (before grading, outside the sandbox): a
   submission folder may only hold regular files. Symbolic links (``a.ipynb ->
   ../../../solutions/...`` would make nbgrader itself read the instructor's
   notebook), FIFOs, devices and oversized files are moved to
   ``grading/quarantine/`` and flagged.

2. :func:`scan_code` / :func:`review_assignment` (after grading): a static
   scan of every cell the student wrote (answer cells and added cells; locked
   cells are restored by nbgrader). It flags the constructs that can change how
   *other* code runs - dynamic code (``exec``, ``eval``, ``compile``,
   ``__import__``, non-literal ``getattr``/``setattr``), introspection and
   interpreter hooks (``get_ipython``, ``sys.modules``, ``builtins``, ``gc``,
   ``ctypes``, ``inspect``, frames, dunder attributes), monkeypatching
   (assigning to an attribute of a module, using a module object as a value),
   rebinding a name the tests rely on (``check_close``, ``np``, builtins such
   as ``AssertionError``), ending the kernel (``sys.exit``, ``os._exit``,
   ``exit()``), overriding comparison dunders (``__eq__``, ``__array__``...),
   subclassing NumPy/torch/number types, and writing notebook files. The
   solutions to this course's assignments need none of these; a flag is a
   request for review, not a zero.

3. :func:`verify_checks` (optional, after grading): a second verdict whose
   expected values never enter the student's kernel. Every
   ``check_close(name, got, <literal expected>)`` call in a test cell is
   rewritten to print ``got`` instead, the literal is removed from the cell,
   the notebook is executed again in a fresh sandboxed kernel, and the printed
   values are compared here, outside, against the literals. A submission
   whose test cell earned points from nbgrader while its values do not match
   is flagged: its kernel cannot have produced those values without computing
   them (the expected values were nowhere in it), so the points came from
   tampering.

:func:`add_flag_column` writes the result as a ``flagged`` column of
``grades.csv``.
"""

from __future__ import annotations

import ast
import builtins
import csv
import json
import os
import shutil
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "Finding",
    "add_flag_column",
    "review",
    "review_assignment",
    "sanitize_submissions",
    "scan_code",
    "scan_notebook",
    "student_cells",
    "verify_checks",
    "write_report",
]

MAX_SUBMITTED_FILE_BYTES = 50 * 1024 * 1024

# --- what the static scan looks for -----------------------------------------------
_DYNAMIC_CALLS = {
    "exec": "runs code built at run time (exec)",
    "eval": "runs code built at run time (eval)",
    "compile": "compiles code at run time (compile)",
    "__import__": "imports through __import__",
    "globals": "reaches the notebook's global namespace (globals())",
    "locals": "reaches a namespace dictionary (locals())",
    "vars": "reaches a namespace dictionary (vars())",
    "setattr": "sets attributes by name (setattr)",
    "delattr": "deletes attributes (delattr)",
    "get_ipython": "reaches the IPython shell that runs the tests (get_ipython)",
    "exit": "ends the kernel (exit)",
    "quit": "ends the kernel (quit)",
    "breakpoint": "enters the debugger (breakpoint)",
    "__build_class__": "builds classes by hand",
}
_FLAGGED_MODULES = {
    "builtins": "patches Python's builtins",
    "sys": None,  # only some attributes (below)
    "importlib": "drives the import machinery",
    "imp": "drives the import machinery",
    "ctypes": "uses ctypes (raw memory access)",
    "gc": "walks live objects (gc)",
    "inspect": "inspects frames and live objects",
    "IPython": "reaches IPython's machinery",
    "ipykernel": "reaches the kernel's machinery",
    "traitlets": "reaches the kernel's configuration",
    "jupyter_client": "talks the kernel protocol",
    "zmq": "talks the kernel protocol",
    "signal": "installs signal handlers",
    "atexit": "registers exit handlers",
    "unittest": "uses unittest.mock-style patching",
    "mock": "uses mock patching",
    "pickle": "unpickles (can run arbitrary code)",
    "marshal": "loads code objects (marshal)",
    "dill": "unpickles (can run arbitrary code)",
    "types": "builds functions or code objects by hand (types)",
    "code": "runs an interactive interpreter (code)",
    "codeop": "compiles code at run time",
    "runpy": "runs code from elsewhere (runpy)",
    "subprocess": "starts processes",
    "socket": "opens network sockets",
    "pty": "starts processes",
    "threading": "starts threads that keep running after the cell",
    "_thread": "starts threads that keep running after the cell",
    "multiprocessing": "starts processes",
    "course_utils.instructor": "imports the instructor's grading code",
    "course_utils.checks": "imports the grader's checking helpers",
    "nbformat": "reads or writes notebook files",
    "nbgrader": "reaches the grader",
    "resource": "changes resource limits",
    "faulthandler": None,
}
_SYS_ATTRS = {
    "modules", "meta_path", "path_hooks", "path_importer_cache", "settrace", "setprofile",
    "excepthook", "displayhook", "exit", "_getframe", "_current_frames", "stdout", "stderr",
    "__stdout__", "__stderr__", "addaudithook", "breakpointhook", "setrecursionlimit",
    "set_asyncgen_hooks", "unraisablehook", "call_tracing", "builtin_module_names",
}
_OS_ATTRS = {
    "_exit", "kill", "killpg", "abort", "fork", "forkpty", "system", "popen", "execv", "execve",
    "execl", "execle", "execlp", "execlpe", "execvp", "execvpe", "spawnl", "spawnv", "spawnve",
    "posix_spawn", "posix_spawnp", "setsid", "setpgid", "dup2", "write", "environ",
}
# dunder attributes whose use is ordinary in student code
_DUNDER_OK = {"__init__", "__name__", "__doc__", "__version__", "__len__", "__getitem__", "__iter__",
              "__repr__", "__str__", "__next__", "__post_init__", "__qualname__"}
# dunder methods a student class may define
_DUNDER_DEF_OK = {"__init__", "__repr__", "__str__", "__len__", "__getitem__", "__iter__", "__next__",
                  "__post_init__", "__enter__", "__exit__"}
# base classes whose subclasses can lie about values
_VALUE_BASES = {"ndarray", "Tensor", "float", "int", "complex", "list", "tuple", "dict", "str", "bool",
                "float64", "float32", "generic", "number", "Parameter", "matrix", "Exception",
                "BaseException", "AssertionError", "module", "ModuleType"}
# line/cell magics that cannot change how other cells run
_SAFE_MAGICS = {"matplotlib", "time", "timeit", "precision", "pprint", "who", "whos", "pinfo", "pinfo2", "psearch"}
_BUILTIN_NAMES = {n for n in dir(builtins) if not n.startswith("_")} | {"__import__", "__builtins__"}


@dataclass(frozen=True)
class Finding:
    """One reason to look at a submission: where (cell) and why."""

    cell: str  # grade_id, or "cell <index>" for a cell the student added
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.cell}, line {self.line}: {self.reason}"


# --- 1. sanitizing submission folders ---------------------------------------------------------
def sanitize_submissions(
    course_root: str | os.PathLike,
    *,
    submitted: str = "grading/submitted",
    quarantine: str = "grading/quarantine",
    max_file_bytes: int = MAX_SUBMITTED_FILE_BYTES,
) -> dict[tuple[str, str], list[str]]:
    """Move everything but regular files and folders out of the submissions; report it.

    nbgrader (outside the sandbox) copies a submission's files with
    ``shutil.copy``, which follows symbolic links: a submitted link to
    ``solutions/...`` or the gradebook would be read with the grader's rights.
    FIFOs and device files would hang or misbehave the copy, and huge files
    fill the disk. Each such entry goes to ``<quarantine>/<student>/<assignment>/``
    (links are recreated there as links, never followed).

    Returns:
        ``{(student, assignment): [reason, ...]}`` for every submission touched.
    """
    root = Path(course_root)
    base = root / submitted
    findings: dict[tuple[str, str], list[str]] = {}
    if not base.is_dir():
        return findings
    for student_dir in sorted(base.iterdir()):
        if student_dir.is_symlink() or not student_dir.is_dir():
            _quarantine(student_dir, root / quarantine / "_top")
            findings.setdefault((student_dir.name, "*"), []).append(
                f"{student_dir.name} is not a plain folder; moved to quarantine")
            continue
        for assignment_dir in sorted(student_dir.iterdir()):
            key = (student_dir.name, assignment_dir.name)
            dest = root / quarantine / student_dir.name / assignment_dir.name
            if assignment_dir.is_symlink() or not assignment_dir.is_dir():
                findings.setdefault(key, []).append(_describe(assignment_dir, assignment_dir.parent))
                _quarantine(assignment_dir, dest.parent)
                continue
            for path in _walk_no_follow(assignment_dir):
                reason = _bad_entry(path, assignment_dir, max_file_bytes)
                if reason:
                    findings.setdefault(key, []).append(reason)
                    _quarantine(path, dest / path.relative_to(assignment_dir).parent)
    return findings


def _walk_no_follow(folder: Path) -> list[Path]:
    out = []
    for base, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            out.append(Path(base) / name)
    return out


def _describe(path: Path, base: Path) -> str:
    rel = path.relative_to(base) if path.is_relative_to(base) else path
    if path.is_symlink():
        return f"submitted a symbolic link {rel} -> {os.readlink(path)}; moved to quarantine"
    return f"submitted {rel}, which is not a regular file; moved to quarantine"


def _bad_entry(path: Path, base: Path, max_bytes: int) -> str | None:
    st = path.lstat()
    if stat.S_ISLNK(st.st_mode):
        return _describe(path, base)
    if stat.S_ISDIR(st.st_mode):
        return None
    if not stat.S_ISREG(st.st_mode):
        return _describe(path, base)
    if st.st_size > max_bytes:
        return f"submitted {path.relative_to(base)} of {st.st_size} bytes (limit {max_bytes}); moved to quarantine"
    if st.st_nlink > 1:
        return f"submitted {path.relative_to(base)}, a hard link to another file; moved to quarantine"
    return None


def _quarantine(path: Path, dest_dir: Path) -> None:
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / path.name
    if target.exists() or target.is_symlink():
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink()
    os.rename(path, target)  # same file system: moves links as links, never follows them


# --- 2. static scan ---------------------------------------------------------------------------
def _to_python(source: str) -> str:
    """IPython cell source -> plain Python (magics become get_ipython() calls)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # IPython missing or a transform error: scan the text as it is
        return source


def _import_bindings(tree: ast.AST) -> dict[str, str]:
    """Top-level names bound by imports -> what they import (``numpy``, ``numpy.testing``...)."""
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                out[alias.asname or top] = alias.name if alias.asname else top
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                out[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return out


def _bound_names(tree: ast.Module) -> dict[str, ast.AST]:
    """Names a cell binds at module level (what later cells, e.g. the tests, would see)."""
    out: dict[str, ast.AST] = {}

    def targets(node: ast.AST) -> Iterable[ast.Name]:
        if isinstance(node, ast.Name):
            yield node
        elif isinstance(node, (ast.Tuple, ast.List)):
            for elt in node.elts:
                yield from targets(elt)
        elif isinstance(node, ast.Starred):
            yield from targets(node.value)

    def visit(stmts: list[ast.stmt]) -> None:
        for node in stmts:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                out[node.name] = node
            elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                tgts = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in tgts:
                    for name in targets(t):
                        out[name.id] = node
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                for name in targets(node.target):
                    out[name.id] = node
                visit(node.body + node.orelse)
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if item.optional_vars is not None:
                        for name in targets(item.optional_vars):
                            out[name.id] = node
                visit(node.body)
            elif isinstance(node, (ast.If, ast.While)):
                visit(node.body + node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body + node.orelse + node.finalbody)
                for handler in node.handlers:
                    if handler.name:
                        out[handler.name] = handler
                    visit(handler.body)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    name = alias.asname or alias.name.split(".")[0]
                    out[name] = node
    visit(tree.body)
    # walrus at any depth binds in the enclosing (module) scope of a comprehension
    for node in ast.walk(tree):
        if isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name):
            out.setdefault(node.target.id, node)
    return out


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _module_of(name: str | None, imports: Mapping[str, str]) -> str | None:
    return imports.get(name) if name else None


def scan_code(
    source: str,
    *,
    protected: Mapping[str, str] | None = None,
    known_imports: Mapping[str, str] | None = None,
) -> list[tuple[int, str]]:
    """Static scan of one cell the student wrote.

    Args:
        source: the cell's source (IPython syntax allowed).
        protected: top-level names the tests rely on -> what they are (an
            import path, or "builtin"); rebinding one is flagged unless it is
            the same import.
        known_imports: names already bound to imports by earlier cells (so
            ``np.allclose = ...`` is recognised when ``np`` came from a locked cell).

    Returns:
        ``[(line, reason), ...]``, sorted, de-duplicated.
    """
    protected = dict(protected or {})
    code = _to_python(source)
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []  # it cannot run either: nothing to forge with
    imports = {**(known_imports or {}), **_import_bindings(tree)}
    modules = {name for name, target in imports.items() if _looks_like_module(target)}

    found: set[tuple[int, str]] = set()

    def flag(node: ast.AST, reason: str) -> None:
        found.add((getattr(node, "lineno", 0), reason))

    # rebinding names the tests use
    for name, node in _bound_names(tree).items():
        if name in protected:
            what = protected[name]
            same_import = isinstance(node, (ast.Import, ast.ImportFrom)) and imports.get(name) == what
            if not same_import:
                kind = "a Python builtin" if what == "builtin" else f"the tests' {what}"
                flag(node, f"rebinds {name!r}, {kind}")

    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node

    # IPython magics arrive as get_ipython().run_line_magic(name, ...): harmless ones pass,
    # the body of an allowed cell magic (%%time) is scanned like any code
    allowed_shell: set[int] = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Call) and isinstance(node.func.value.func, ast.Name)
                and node.func.value.func.id == "get_ipython"):
            method = node.func.attr
            magic = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
            if method in ("run_line_magic", "run_cell_magic") and magic in _SAFE_MAGICS:
                allowed_shell.add(id(node.func.value.func))
                if method == "run_cell_magic" and len(node.args) >= 3 and isinstance(node.args[2], ast.Constant):
                    for line, reason in scan_code(str(node.args[2].value), protected=protected,
                                                  known_imports=imports):
                        found.add((node.lineno + line, reason))
            elif method in ("run_line_magic", "run_cell_magic"):
                found.add((node.lineno, f"uses the IPython magic %{magic}"))
            elif method in ("system", "getoutput"):
                found.add((node.lineno, "runs a shell command (!)"))

    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            if isinstance(node, ast.ImportFrom) and node.module in ("os", "sys"):
                for alias in node.names:
                    attrs = _OS_ATTRS if node.module == "os" else _SYS_ATTRS
                    if alias.name in attrs or alias.name == "*":
                        flag(node, f"imports {node.module}.{alias.name}")
            for mod in names:
                for flagged, reason in _FLAGGED_MODULES.items():
                    if reason and (mod == flagged or mod.startswith(flagged + ".")):
                        flag(node, f"imports {mod}: {reason}")
        elif isinstance(node, ast.Name):
            if node.id in _DYNAMIC_CALLS and isinstance(node.ctx, ast.Load) and id(node) not in allowed_shell:
                flag(node, _DYNAMIC_CALLS[node.id])
            if node.id in ("__builtins__", "__loader__", "__spec__"):
                flag(node, f"uses {node.id}")
            # a module object used as a value (aliasing, passing it around) can be patched elsewhere
            if node.id in modules and isinstance(node.ctx, ast.Load):
                parent = parents.get(node)
                if not (isinstance(parent, ast.Attribute) and parent.value is node):
                    flag(node, f"uses the module {node.id!r} as a value (aliasing or passing a module)")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr":
            if len(node.args) >= 2 and not isinstance(node.args[1], ast.Constant):
                flag(node, "reads attributes by computed name (getattr)")
        elif isinstance(node, ast.Attribute):
            attr = node.attr
            if attr.startswith("__") and attr.endswith("__") and attr not in _DUNDER_OK:
                flag(node, f"uses the dunder attribute {attr}")
            root = _root_name(node)
            target = _module_of(root, imports) or ""
            if (target == "sys" or target.startswith("sys.")) and attr in _SYS_ATTRS:
                flag(node, f"uses sys.{attr}")
            if (target == "os" or target.startswith("os.")) and attr in _OS_ATTRS:
                flag(node, f"uses os.{attr}")
            if attr in ("f_globals", "f_locals", "f_back", "gi_frame", "tb_frame", "cr_frame"):
                flag(node, f"walks interpreter frames ({attr})")
            if isinstance(node.ctx, (ast.Store, ast.Del)) and root in imports:
                flag(node, f"monkeypatches {ast.unparse(node)} (assigns to an attribute of an imported object)")
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, (ast.Store, ast.Del)):
            root = _root_name(node)
            if root in imports:
                flag(node, f"monkeypatches {ast.unparse(node.value)}[...] (an imported object)")
        elif isinstance(node, ast.ClassDef):
            for base in node.bases:
                base_name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
                if base_name in _VALUE_BASES:
                    flag(node, f"subclasses {ast.unparse(base)} (a value type whose behaviour the tests rely on)")
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    if item.name.startswith("__") and item.name.endswith("__") and item.name not in _DUNDER_DEF_OK:
                        flag(item, f"defines {node.name}.{item.name}, which changes how the tests compare values")
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            for name in node.names:
                if name in protected:
                    flag(node, f"rebinds {name!r} from inside a function (global)")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value.endswith(".ipynb"):
                flag(node, "names a notebook file (writing fake outputs?)")
    return sorted(found)


_SUBMODULES = {"testing", "linalg", "random", "nn", "functional", "optim", "utils", "data", "instructor",
               "checks", "pyplot", "path", "fft", "ma", "autograd", "cuda"}


def _looks_like_module(target: str) -> bool:
    """``import x`` binds a module; ``from x import y`` does when y is a known submodule name."""
    last = target.rsplit(".", 1)[-1]
    return "." not in target or last in _SUBMODULES


def student_cells(nb: Mapping) -> list[tuple[str, str]]:
    """``[(label, source)]`` of the code cells a student controls: answer cells and added cells.

    Locked cells (tests, given code) are skipped: nbgrader restores them from
    the gradebook before running anything.
    """
    out = []
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("locked") or (meta.get("grade") and not meta.get("solution")):
            continue
        label = meta.get("grade_id") or f"cell {index}"
        source = cell.get("source", "")
        out.append((label, "".join(source) if isinstance(source, list) else source))
    return out


def protected_names(release_nb: Mapping) -> tuple[dict[str, str], dict[str, str]]:
    """What the tests rely on, from the released notebook.

    Returns ``(protected, imports)``: names bound by locked cells (and every
    builtin) -> what they are; and the names locked cells bind by import.
    Names the answer cells are meant to define (``def sigmoid``) are not protected.
    """
    protected: dict[str, str] = {name: "builtin" for name in _BUILTIN_NAMES}
    imports: dict[str, str] = {}
    answers: set[str] = set()
    for cell in release_nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        try:
            tree = ast.parse(_to_python(source))
        except SyntaxError:
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("locked") or (meta.get("grade") and not meta.get("solution")):
            cell_imports = _import_bindings(tree)
            imports.update(cell_imports)
            for name in _bound_names(tree):
                protected[name] = cell_imports.get(name, "name set by a locked cell")
            # names the tests call but the release leaves to the student are answers
        elif meta.get("solution"):
            answers.update(_bound_names(tree))
    for name in answers:
        protected.pop(name, None)
    return protected, imports


def scan_notebook(nb: Mapping, release_nb: Mapping) -> list[Finding]:
    """Findings for every student-controlled cell of ``nb`` (see :func:`scan_code`)."""
    protected, imports = protected_names(release_nb)
    findings = []
    for label, source in student_cells(nb):
        for line, reason in scan_code(source, protected=protected, known_imports=imports):
            findings.append(Finding(label, line, reason))
    return findings


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def review_assignment(
    course_root: str | os.PathLike,
    assignment: str,
    *,
    release: str = "assignments",
    submitted: str = "grading/submitted",
    autograded: str = "grading/autograded",
) -> dict[str, list[str]]:
    """Static-scan every submission of ``assignment``; ``{student: [reason, ...]}`` (flagged only).

    Reads the autograded notebook when there is one (what actually ran), else
    the submitted one.
    """
    root = Path(course_root)
    flags: dict[str, list[str]] = {}
    release_dir = root / release / assignment
    base = root / submitted
    if not base.is_dir():
        return flags
    for student_dir in sorted(p for p in base.iterdir() if p.is_dir() and not p.is_symlink()):
        student = student_dir.name
        sub = student_dir / assignment
        if not sub.is_dir():
            continue
        for nb_path in sorted(sub.glob("*.ipynb")):
            if nb_path.is_symlink():
                continue
            release_nb = _read_json(release_dir / nb_path.name) or {"cells": []}
            graded = root / autograded / student / assignment / nb_path.name
            nb = _read_json(graded) or _read_json(nb_path)
            if nb is None:
                continue
            for finding in scan_notebook(nb, release_nb):
                flags.setdefault(student, []).append(f"{nb_path.name}: {finding}")
    return flags


# --- 3. a verdict the kernel cannot see -----------------------------------------------------
_CHECK_FUNCS = {"check_close"}
PROBE_MARK = "RNN-VERIFY"


@dataclass
class _Expectation:
    cell: str
    index: int
    name: str
    expected: Any
    rtol: float
    atol: float


@dataclass
class ProbePlan:
    """Rewritten test cells (no expected values in them) and the values kept outside."""

    cells: dict[str, str] = field(default_factory=dict)  # grade_id -> probe source
    expectations: list[_Expectation] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)  # "grade_id: check" whose expected value is computed


def _literal_value(node: ast.AST) -> Any:
    """A literal, or np.array/torch.tensor/float of a literal; raises ValueError otherwise."""
    if isinstance(node, ast.Call):
        if not node.args or any(k.arg != "dtype" for k in node.keywords):
            raise ValueError(ast.unparse(node))
        func = ast.unparse(node.func)
        if func in {"np.array", "numpy.array", "np.asarray", "torch.tensor", "float", "np.float64"}:
            return ast.literal_eval(node.args[0])
        raise ValueError(func)
    return ast.literal_eval(node)


def plan_probes(source_nb: Mapping) -> ProbePlan:
    """Rewrite every test cell of the instructor's notebook for :func:`verify_checks`.

    A ``check_close(name, got, expected, rtol=..., atol=...)`` whose ``expected``
    is a literal (or ``np.array(literal)``, or a name assigned such a literal
    in the same cell and used nowhere else) becomes
    ``__rnn_verify__(index, got)``; the literal stays outside. Checks whose
    expected value is computed in the cell (a reference formula) are left as
    they are and listed in ``unverified``.
    """
    plan = ProbePlan()
    counter = 0
    for cell in source_nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        grade_id = meta.get("grade_id", "")
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        source = "\n".join(line for line in source.splitlines()
                           if line.strip() not in ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"))
        try:
            tree = ast.parse(_to_python(source))
        except SyntaxError:
            continue
        literal_names: dict[str, tuple[ast.stmt, Any]] = {}
        for stmt in tree.body:
            if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                    and isinstance(stmt.targets[0], ast.Name)):
                try:
                    literal_names[stmt.targets[0].id] = (stmt, _literal_value(stmt.value))
                except (ValueError, SyntaxError, TypeError):
                    pass
        loads: dict[str, int] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                loads[node.id] = loads.get(node.id, 0) + 1
        drop: set[int] = set()

        class Rewriter(ast.NodeTransformer):
            def visit_Call(self, node: ast.Call) -> ast.AST:
                nonlocal counter
                self.generic_visit(node)
                fname = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if fname not in _CHECK_FUNCS:
                    return node
                args = list(node.args)
                kwargs = {k.arg: k.value for k in node.keywords}
                exp_node = args[2] if len(args) >= 3 else kwargs.get("expected")
                got_node = args[1] if len(args) >= 2 else kwargs.get("got")
                name_node = args[0] if args else kwargs.get("name")
                if exp_node is None or got_node is None:
                    return node
                try:
                    name = ast.literal_eval(name_node) if name_node is not None else f"check {counter}"
                except (ValueError, SyntaxError):
                    name = f"check {counter}"
                try:
                    if (isinstance(exp_node, ast.Name) and exp_node.id in literal_names
                            and loads.get(exp_node.id) == 1):
                        stmt, expected = literal_names[exp_node.id]
                        drop.add(id(stmt))
                    else:
                        expected = _literal_value(exp_node)
                    rtol = ast.literal_eval(kwargs["rtol"]) if "rtol" in kwargs else 1e-6
                    atol = ast.literal_eval(kwargs["atol"]) if "atol" in kwargs else 1e-8
                except (ValueError, SyntaxError, TypeError):
                    # computed expected values stay in the cell and run as usual (not verified here)
                    plan.unverified.append(f"{grade_id}: {name}")
                    return node
                plan.expectations.append(_Expectation(grade_id, counter, str(name), expected, rtol, atol))
                call = ast.Call(func=ast.Name("__rnn_verify__", ast.Load()),
                                args=[ast.Constant(counter), got_node], keywords=[])
                counter += 1
                return call

        new_tree = Rewriter().visit(tree)
        new_tree.body = [s for s in new_tree.body if id(s) not in drop]
        ast.fix_missing_locations(new_tree)
        plan.cells[grade_id] = ast.unparse(new_tree)
    return plan


_VERIFY_PRELUDE = f'''
def __rnn_verify__(index, got):
    import json as _json
    import numpy as _np
    try:
        if hasattr(got, "detach"):
            got = got.detach().cpu().numpy()
        value = _np.asarray(got, dtype=_np.float64).tolist()
    except Exception as exc:
        value = repr(exc)
    import sys as _sys
    # one write, so the line cannot be split between two output messages
    _sys.stdout.write("{PROBE_MARK} " + _json.dumps({{"index": index, "got": value}}) + "\\n")
    _sys.stdout.flush()
'''


def probe_notebook(nb: Mapping, plan: ProbePlan) -> dict:
    """The student's notebook with the test cells replaced by the plan's probe cells."""
    import copy

    out = copy.deepcopy(dict(nb))
    cells = []
    inserted = False
    for cell in out.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "code" and not inserted:
            cells.append({"cell_type": "code", "metadata": {}, "source": _VERIFY_PRELUDE,
                          "outputs": [], "execution_count": None})
            inserted = True
        if cell.get("cell_type") == "code" and meta.get("grade") and not meta.get("solution"):
            cell = {**cell, "source": plan.cells.get(meta.get("grade_id", ""), "pass"), "outputs": []}
        cells.append(cell)
    out["cells"] = cells
    return out


def _compare(got: Any, exp: _Expectation) -> bool:
    import numpy as np

    try:
        g = np.asarray(got, dtype=np.float64)
        e = np.asarray(exp.expected, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    if g.shape != e.shape:
        return False
    return bool(np.all(np.abs(g - e) <= exp.atol + exp.rtol * np.abs(e)))


def verify_checks(
    graded_nb_path: str | os.PathLike,
    source_nb: Mapping,
    *,
    kernel_name: str = "rnn-course-sandbox",
    timeout: int = 60,
    env: Mapping[str, str] | None = None,
) -> list[str]:
    """Second verdict for one autograded notebook; returns reasons to flag it (empty: consistent).

    Runs the student's cells with probe test cells (see :func:`plan_probes`)
    in a fresh ``kernel_name`` kernel, and flags every test cell that
    nbgrader gave points to although a value it checks is wrong or missing.
    """
    import nbformat
    from nbclient import NotebookClient

    from nbgrader import utils as nbutils

    graded = nbformat.read(str(graded_nb_path), as_version=4)
    plan = plan_probes(source_nb)
    earned: dict[str, float] = {}
    for cell in graded.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution") and cell.cell_type == "code":
            score, _ = nbutils.determine_grade(cell)
            earned[meta.get("grade_id", "")] = float(score or 0)
    if not any(earned.get(exp.cell, 0) > 0 for exp in plan.expectations):
        return []  # no points on a verifiable check: nothing to confirm, no extra run
    probe = nbformat.from_dict(probe_notebook(graded, plan))
    client = NotebookClient(probe, kernel_name=kernel_name, timeout=timeout, allow_errors=True,
                            resources={"metadata": {"path": str(Path(graded_nb_path).parent)}})
    try:
        client.execute(env={**os.environ, **(env or {})})
    except Exception:  # a dead kernel or a timeout: whatever was printed so far counts
        pass
    got: dict[int, Any] = {}
    for cell in probe.cells:
        text = "".join(out.get("text", "") for out in cell.get("outputs", [])
                       if out.get("output_type") == "stream" and out.get("name") == "stdout")
        for line in text.splitlines():
            if line.startswith(PROBE_MARK + " "):
                try:
                    rec = json.loads(line[len(PROBE_MARK) + 1:])
                    got.setdefault(int(rec["index"]), rec["got"])
                except (ValueError, KeyError, TypeError):
                    pass
    reasons = []
    for exp in plan.expectations:
        if earned.get(exp.cell, 0) <= 0:
            continue
        if exp.index not in got:
            reasons.append(f"{exp.cell}: nbgrader gave points, but the check {exp.name!r} "
                           "never ran when re-run without the expected values")
        elif not _compare(got[exp.index], exp):
            reasons.append(f"{exp.cell}: nbgrader gave points, but {exp.name!r} is wrong when "
                           "re-checked outside the kernel (score forged?)")
    return reasons


# --- one call for the grading run ---------------------------------------------------------------
def review(
    course_dir: str | os.PathLike,
    assignments: Iterable[str],
    *,
    kernel_name: str = "rnn-course-sandbox",
    sanitized: Mapping[tuple[str, str], Iterable[str]] | None = None,
    verify: str | None = None,
    timeout: int = 120,
    env: Mapping[str, str] | None = None,
) -> dict[tuple[str, str], list[str]]:
    """Everything to flag after ``nbgrader autograde``: ``{(student, assignment): [reason, ...]}``.

    Args:
        course_dir: the course directory.
        assignments: assignment ids that were graded.
        kernel_name: kernel for the verification runs (the sandbox, normally).
        sanitized: what :func:`sanitize_submissions` moved out before grading.
        verify: ``"all"`` (re-run every submission that earned points on a
            verifiable check, one more execution each), ``"flagged"`` (only
            those the static scan flagged), or ``"none"``. Default: the
            environment variable ``RNN_INTEGRITY_VERIFY``, else ``"all"``.
        timeout: per-cell timeout of a verification run.
        env: extra environment for the verification kernels (e.g. ``RNN_SANDBOX_*`` limits).
    """
    verify = (verify or os.environ.get("RNN_INTEGRITY_VERIFY") or "all").lower()
    if verify not in ("all", "flagged", "none"):
        raise ValueError(f"verify must be 'all', 'flagged' or 'none', got {verify!r}")
    root = Path(course_dir)
    flags: dict[tuple[str, str], list[str]] = {}
    for key, reasons in (sanitized or {}).items():
        flags.setdefault(tuple(key), []).extend(reasons)  # type: ignore[arg-type]
    for assignment in assignments:
        for student, reasons in review_assignment(root, assignment).items():
            flags.setdefault((student, assignment), []).extend(reasons)
        if verify == "none":
            continue
        for source_path in sorted((root / "solutions" / assignment).glob("*.ipynb")):
            source = _read_json(source_path)
            if source is None or not plan_probes(source).expectations:
                continue  # nothing to verify: no extra run
            for graded in sorted((root / "grading" / "autograded").glob(f"*/{assignment}/{source_path.name}")):
                student = graded.parent.parent.name
                if verify == "flagged" and not flags.get((student, assignment)):
                    continue
                reasons = verify_checks(graded, source, kernel_name=kernel_name, timeout=timeout, env=env)
                if reasons:
                    flags.setdefault((student, assignment), []).extend(
                        f"{source_path.name}: {r}" for r in reasons)
    return {k: v for k, v in flags.items() if v}


# --- reporting -------------------------------------------------------------------------------
def add_flag_column(grades_csv: str | os.PathLike, flags: Mapping[Any, Iterable[str]]) -> None:
    """Add (or refresh) a ``flagged`` column in nbgrader's ``grades.csv``.

    ``flags`` maps a student id, or ``(student, assignment)``, to reasons; the
    column holds the reasons joined by `` | `` (empty when nothing was found).
    """
    path = Path(grades_csv)
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
        fieldnames = list(rows[0].keys()) if rows else []
    if not rows:
        with path.open(newline="", encoding="utf-8") as fh:
            header = fh.readline().strip()
        fieldnames = header.split(",") if header else ["student_id"]
    if "flagged" not in fieldnames:
        fieldnames.append("flagged")
    for row in rows:
        student = row.get("student_id", "")
        assignment = row.get("assignment", "")
        reasons = [*flags.get((student, assignment), []), *flags.get(student, [])]  # type: ignore[call-overload]
        row["flagged"] = " | ".join(dict.fromkeys(reasons))
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(rows)


def write_report(path: str | os.PathLike, flags: Mapping[Any, Iterable[str]]) -> None:
    """Write the flags as JSON (``grading/integrity.json``) for the instructor."""
    data = {("/".join(k) if isinstance(k, tuple) else k): list(v) for k, v in flags.items() if v}
    Path(path).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
