"""The static scan: flag student code that can change how the grader's tests run.

nbgrader looks only at whether a test cell raised. A submission can forge
that inside the one Python process that runs both its cells and the tests:
redefine ``check_close``, monkeypatch NumPy, hook IPython's ``run_cell``. The
scan reads every cell the student wrote (answer cells and added cells; locked
cells are restored by nbgrader) and flags the constructs that reach the
grading machinery:

* dynamic code (``exec``, ``eval``, ``compile``, ``__import__``, computed
  ``getattr``/``setattr``), including inside the arguments of line magics;
* the interpreter and the kernel (``get_ipython``, ``sys.modules``, frames,
  ``gc``, ``ctypes``, ``inspect``, ``linecache``, dunder attributes) and code
  reached through the standard library's resolvers (``operator.attrgetter``,
  ``importlib``, ``pkgutil.resolve_name``...);
* monkeypatching a module the tests rely on (NumPy, torch, ``course_utils``,
  builtins, ``sys``), also through an alias, ``globals()[...] = ``, or
  ``vars(module)``;
* rebinding what the tests rely on: the checking functions, the modules'
  names, the test cells' stand-ins, a builtin the test cells call;
* ending the kernel, overriding comparison dunders, subclassing value types,
  writing notebook files.

What it deliberately does NOT flag, because honest code does it every day
(issue 18's list): a loop or scratch variable that a locked cell also binds
(``x``, ``p``, ``loss``, ``rng``), a builtin that no test uses (``input``,
``sum``), reading ``globals()``, ``%timeit``/``%time`` (their code is
scanned), settings of plotting libraries (``plt.rcParams[...] = ...``), using
``sys.stdout``, and a student's own version of a helper the answers use
(``sigmoid``). The re-check (:mod:`.recheck`) covers the values those could
change.

A flag is a request for review, not a zero.
"""

from __future__ import annotations

import ast
import builtins
import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from course_utils.instructor.integrity.cells import (
    cell_source,
    grade_id,
    is_answer_cell,
    is_locked_cell,
    is_student_cell,
    is_test_cell,
)

__all__ = ["Finding", "protected_names", "scan_code", "scan_notebook", "student_cells"]

# --- what the static scan looks for -----------------------------------------------
# Builtins that reach code or namespaces by name: flagged when called, and when passed around
# as values (``map(setattr, ...)``, ``functools.reduce(getattr, ...)``).
_DYNAMIC_CALLS = {
    "exec": "runs code built at run time (exec)",
    "eval": "runs code built at run time (eval)",
    "compile": "compiles code at run time (compile)",
    "__import__": "imports through __import__",
    "setattr": "sets attributes by name (setattr)",
    "delattr": "deletes attributes (delattr)",
    "get_ipython": "reaches the IPython shell that runs the tests (get_ipython)",
    "exit": "ends the kernel (exit)",
    "quit": "ends the kernel (quit)",
    "breakpoint": "enters the debugger (breakpoint)",
    "__build_class__": "builds classes by hand",
}
# Namespace dictionaries: reading them is ordinary; writing through them rebinds any name.
_NAMESPACE_CALLS = {"globals", "locals", "vars"}
_NAMESPACE_READS = {"get", "keys", "items", "values", "copy", "__contains__", "__getitem__"}
_READING_CALLS = {"sorted", "list", "len", "set", "tuple", "print", "repr", "str", "iter", "any", "all", "enumerate"}
_FLAGGED_MODULES = {
    "builtins": "patches Python's builtins",
    "importlib": "drives the import machinery",
    "imp": "drives the import machinery",
    "pkgutil": "resolves objects by name (pkgutil)",
    "pydoc": "resolves objects by name (pydoc.locate)",
    "zipimport": "drives the import machinery",
    "copyreg": "changes how objects are rebuilt (copyreg)",
    "ctypes": "uses ctypes (raw memory access)",
    "gc": "walks live objects (gc)",
    "inspect": "inspects frames and live objects",
    "linecache": "reads the source of the cells that ran (linecache)",
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
    "nbformat": "reads or writes notebook files",
    "nbgrader": "reaches the grader",
    "resource": "changes resource limits",
}
# module -> attributes whose use (read or call) is flagged
_FLAGGED_ATTRS = {
    "sys": {"modules", "meta_path", "path_hooks", "path_importer_cache", "settrace", "setprofile", "exit",
            "_getframe", "_current_frames", "addaudithook", "call_tracing", "setrecursionlimit",
            "set_asyncgen_hooks", "last_traceback", "last_value", "last_type", "last_exc", "path",
            "builtin_module_names", "_clear_type_cache", "monitoring"},
    "os": {"_exit", "kill", "killpg", "abort", "fork", "forkpty", "system", "popen", "execv", "execve",
           "execl", "execle", "execlp", "execlpe", "execvp", "execvpe", "spawnl", "spawnv", "spawnve",
           "posix_spawn", "posix_spawnp", "setsid", "setpgid", "dup2", "write"},
    "operator": {"attrgetter", "methodcaller"},
    "types": {"FunctionType", "CodeType", "ModuleType", "LambdaType", "MethodType", "new_class", "CellType",
              "FrameType", "TracebackType"},
    "traceback": {"extract_stack", "format_stack", "print_stack", "walk_stack", "StackSummary", "walk_tb"},
}
# module -> attributes that are flagged only when assigned (reading sys.stdout is ordinary)
_STORE_ATTRS = {"sys": {"stdout", "stderr", "stdin", "__stdout__", "__stderr__", "excepthook",
                        "displayhook", "breakpointhook", "unraisablehook"}}
# modules whose objects the tests and the checks use: assigning into them is monkeypatching
_GUARDED_MODULES = {"numpy", "torch", "course_utils", "builtins", "sys", "math", "scipy", "IPython",
                    "ipykernel", "nbgrader", "traitlets", "operator", "functools", "contextlib", "types"}
# configuration that lives in a guarded module and is set by ordinary code
_STORE_OK_PREFIXES = ("torch.backends.",)
# dunder attributes whose use is ordinary in student code
_DUNDER_OK = {"__init__", "__name__", "__doc__", "__version__", "__len__", "__getitem__", "__iter__",
              "__repr__", "__str__", "__next__", "__post_init__", "__qualname__", "__call__", "__module__"}
# dunder methods a student class may define
_DUNDER_DEF_OK = {"__init__", "__repr__", "__str__", "__len__", "__getitem__", "__iter__", "__next__",
                  "__post_init__", "__enter__", "__exit__", "__call__", "__contains__", "__setitem__"}
# base classes whose subclasses can lie about values
_VALUE_BASES = {"ndarray", "Tensor", "float", "int", "complex", "list", "tuple", "dict", "str", "bool",
                "float64", "float32", "generic", "number", "Parameter", "matrix", "Exception",
                "BaseException", "AssertionError", "module", "ModuleType"}
# line/cell magics that cannot change how other cells run; the code of time/timeit is scanned
_SAFE_MAGICS = {"matplotlib", "time", "timeit", "precision", "pprint", "who", "whos", "pinfo", "pinfo2", "psearch"}
_CODE_MAGICS = {"time", "timeit"}
_BUILTIN_NAMES = {n for n in dir(builtins) if not n.startswith("_")}
# builtins protected even when no test cell names them: what the grader's own code paths use
_ALWAYS_PROTECTED_BUILTINS = {"AssertionError", "Exception", "BaseException", "isinstance", "len", "float",
                              "bool", "type", "abs", "all", "any", "hasattr", "print", "KeyboardInterrupt",
                              "SystemExit", "NotImplementedError"}
# the names course_utils.checks exports are the grader's, whatever cell imports them
_CHECK_NAMES = {"check_close", "check_equal", "check_shape", "check_that", "substitute"}


@dataclass(frozen=True)
class Finding:
    """One reason to look at a submission: where (cell) and why."""

    cell: str  # grade_id, or "cell <index>" for a cell the student added
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.cell}, line {self.line}: {self.reason}"



# --- the scan ---------------------------------------------------------------------------
_IPYTHON_SYNTAX = re.compile(r"^\s*[%!]|[?]\s*$|^\s*[?]|=\s*[%!]", re.MULTILINE)
_TRANSFORMER = None
MAX_SCANNED_CHARS = 100_000  # no honest answer cell comes close; bigger ones are flagged unread


def _to_python(source: str) -> str:
    """IPython cell source -> plain Python (magics become get_ipython() calls)."""
    global _TRANSFORMER
    if not _IPYTHON_SYNTAX.search(source):
        return source  # plain Python: nothing to transform
    try:
        if _TRANSFORMER is None:
            from IPython.core.inputtransformer2 import TransformerManager

            _TRANSFORMER = TransformerManager()
        return _TRANSFORMER.transform_cell(source)
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


def _dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a chain of attributes on a name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def _resolve(node: ast.AST, imports: Mapping[str, str]) -> str | None:
    """What an attribute chain on an imported name refers to: ``np.testing`` -> ``numpy.testing``."""
    dotted = _dotted(node)
    if dotted is None:
        return None
    root, _, rest = dotted.partition(".")
    if root not in imports:
        return None
    return imports[root] + ("." + rest if rest else "")


def _top(target: str | None) -> str:
    return (target or "").split(".")[0]


def _is_namespace_call(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in _NAMESPACE_CALLS)


def _aliases(tree: ast.AST, imports: Mapping[str, str]) -> dict[str, str]:
    """Names assigned an attribute chain of an import (``t = np.testing``): aliases, like imports."""
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            target = _resolve(node.value, {**imports, **out})
            if target is not None:
                out[node.targets[0].id] = target
    return out


def _magic_code(magic: str, line: str) -> str:
    """The Python code of ``%time``/``%timeit`` arguments (``%timeit -n 3 -r 1 f(x)`` -> ``f(x)``)."""
    words = line.split()
    i = 0
    while i < len(words) and words[i].startswith("-"):
        i += 2 if magic == "timeit" and words[i] in ("-n", "-r", "-p") else 1
    return " ".join(words[i:])


def scan_code(
    source: str,
    *,
    protected: Mapping[str, str] | None = None,
    known_imports: Mapping[str, str] | None = None,
    _depth: int = 0,
) -> list[tuple[int, str]]:
    """Static scan of one cell the student wrote.

    Args:
        source: the cell's source (IPython syntax allowed).
        protected: top-level names the tests rely on -> what they are (an
            import path, "builtin", or "a name set by a locked cell"); rebinding
            one is flagged unless it is the same import.
        known_imports: names already bound to imports (or aliases of imported
            objects) by earlier cells, so ``np.allclose = ...`` is recognised when
            ``np`` came from a locked cell.

    Returns:
        ``[(line, reason), ...]``, sorted, de-duplicated. Source that does not
        parse gives ``[]``: it cannot run either.

    Raises:
        RecursionError: never; a cell nested too deeply for the parser is
            reported as one finding (it could not be checked).
    """
    protected = dict(protected or {})
    if len(source) > MAX_SCANNED_CHARS:
        return [(1, f"the cell could not be scanned (it has {len(source)} characters, the scan reads at most "
                    f"{MAX_SCANNED_CHARS}); review it by hand")]
    try:
        tree = ast.parse(_to_python(source))
    except SyntaxError:
        return []
    except (RecursionError, MemoryError, ValueError) as exc:  # e.g. 10,000 nested brackets, NUL bytes
        return [(1, f"the cell could not be scanned ({type(exc).__name__}); review it by hand")]
    imports = {**(known_imports or {}), **_import_bindings(tree)}
    imports.update(_aliases(tree, imports))
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
                kind = "a Python builtin the tests use" if what == "builtin" else f"the tests' {what}"
                flag(node, f"rebinds {name!r}, {kind}")

    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node

    # IPython magics arrive as get_ipython().run_line_magic(name, line): harmless ones pass
    # (their code is scanned like any code), the others are flagged by name
    allowed_shell: set[int] = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Call) and isinstance(node.func.value.func, ast.Name)
                and node.func.value.func.id == "get_ipython"):
            method = node.func.attr
            args = [a.value if isinstance(a, ast.Constant) else None for a in node.args]
            magic = args[0] if args else None
            if method in ("run_line_magic", "run_cell_magic") and magic in _SAFE_MAGICS:
                allowed_shell.add(id(node.func.value.func))
                code = []
                if method == "run_line_magic" and magic in _CODE_MAGICS and len(args) >= 2:
                    code.append(_magic_code(magic, str(args[1] or "")))
                if method == "run_cell_magic":
                    if magic in _CODE_MAGICS and len(args) >= 2:
                        code.append(_magic_code(magic, str(args[1] or "")))
                    if len(args) >= 3:
                        code.append(str(args[2] or ""))
                for text in code:
                    if _depth < 5:
                        for line, reason in scan_code(text, protected=protected, known_imports=imports,
                                                      _depth=_depth + 1):
                            found.add((node.lineno + max(line - 1, 0), reason))
                if any(a is None for a in args[1:]):  # built at run time: cannot be read here
                    flag(node, f"passes computed code to the magic %{magic}")
            elif method in ("run_line_magic", "run_cell_magic"):
                flag(node, f"uses the IPython magic %{magic}")
            elif method in ("system", "getoutput"):
                flag(node, "runs a shell command (!)")

    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            if isinstance(node, ast.ImportFrom) and node.module in _FLAGGED_ATTRS:
                for alias in node.names:
                    if alias.name in _FLAGGED_ATTRS[node.module] or alias.name == "*":
                        flag(node, f"imports {node.module}.{alias.name}")
            for mod in names:
                for flagged, reason in _FLAGGED_MODULES.items():
                    if reason and (mod == flagged or mod.startswith(flagged + ".")):
                        flag(node, f"imports {mod}: {reason}")
        elif isinstance(node, ast.Name):
            parent = parents.get(node)
            called = isinstance(parent, ast.Call) and parent.func is node
            if node.id in _DYNAMIC_CALLS and isinstance(node.ctx, ast.Load) and id(node) not in allowed_shell:
                flag(node, _DYNAMIC_CALLS[node.id] if called else
                     f"passes {node.id} around as a value ({_DYNAMIC_CALLS[node.id]})")
            if node.id == "getattr" and not called:
                flag(node, "passes getattr around as a value (attributes by computed name)")
            if node.id in _NAMESPACE_CALLS and isinstance(node.ctx, ast.Load) and not called:
                flag(node, f"passes {node.id} around as a value (it reaches a namespace dictionary)")
            if node.id in ("__builtins__", "__loader__", "__spec__"):
                flag(node, f"uses {node.id}")
            # a module object used as a value (aliasing, passing it around) can be patched elsewhere
            if node.id in modules and isinstance(node.ctx, ast.Load) and _top(imports.get(node.id)) in _GUARDED_MODULES:
                if not (isinstance(parent, ast.Attribute) and parent.value is node):
                    flag(node, f"uses the module {node.id!r} as a value (aliasing or passing a module)")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "getattr":
                if len(node.args) >= 2 and not isinstance(node.args[1], ast.Constant):
                    flag(node, "reads attributes by computed name (getattr)")
            if _is_namespace_call(node):
                parent = parents.get(node)
                reading = (
                    (isinstance(parent, ast.Subscript) and parent.value is node and isinstance(parent.ctx, ast.Load))
                    or (isinstance(parent, ast.Compare) and node in parent.comparators)
                    or (isinstance(parent, ast.Attribute) and parent.attr in _NAMESPACE_READS
                        and isinstance(parents.get(parent), ast.Call))
                    or (isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name)
                        and parent.func.id in _READING_CALLS and node in parent.args)
                )
                arg_ok = not node.args or all(isinstance(a, ast.Name) and a.id not in modules for a in node.args)
                if not (reading and arg_ok):
                    flag(node, f"writes through {func.id}() or hands it out (it can rebind any name the tests use)")
        elif isinstance(node, ast.Attribute):
            attr = node.attr
            if attr.startswith("__") and attr.endswith("__") and attr not in _DUNDER_OK:
                flag(node, f"uses the dunder attribute {attr}")
            target = _resolve(node.value, imports) or ""
            top = _top(target)
            module_attrs = _FLAGGED_ATTRS.get(target, set()) if "." not in target else set()
            if attr in module_attrs:
                flag(node, f"uses {target}.{attr}")
            if attr in _STORE_ATTRS.get(target, set()) and isinstance(node.ctx, (ast.Store, ast.Del)):
                flag(node, f"replaces {target}.{attr}")
            if attr in ("f_globals", "f_locals", "f_back", "f_code", "gi_frame", "tb_frame", "cr_frame",
                        "tb_next", "ag_frame"):
                flag(node, f"walks interpreter frames ({attr})")
            if isinstance(node.ctx, (ast.Store, ast.Del)):
                path = _resolve(node, imports) or ""
                if top in _GUARDED_MODULES and not path.startswith(_STORE_OK_PREFIXES):
                    flag(node, f"monkeypatches {ast.unparse(node)} (assigns into {top}, which the tests use)")
                elif _root_call(node) is not None:
                    flag(node, f"monkeypatches {ast.unparse(node)} (an object reached by a call)")
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, (ast.Store, ast.Del)):
            path = _resolve(node.value, imports) or ""
            root = _root_call(node)
            if _top(path) in _GUARDED_MODULES and not path.startswith(_STORE_OK_PREFIXES):
                flag(node, f"monkeypatches {ast.unparse(node.value)}[...] (assigns into {_top(path)})")
            elif root is not None and _is_namespace_call(root):
                flag(node, f"rebinds a name through {root.func.id}()")  # type: ignore[attr-defined]
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


def _root_call(node: ast.AST) -> ast.Call | None:
    """The call at the root of an attribute/subscript chain (``globals()['x'].y``), if any."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node if isinstance(node, ast.Call) else None


_SUBMODULES = {"testing", "linalg", "random", "nn", "functional", "optim", "utils", "data", "instructor",
               "checks", "pyplot", "path", "fft", "ma", "autograd", "cuda", "special"}


def _looks_like_module(target: str) -> bool:
    """``import x`` binds a module; ``from x import y`` does when y is a known submodule name."""
    last = target.rsplit(".", 1)[-1]
    return "." not in target or last in _SUBMODULES


def student_cells(nb: Mapping) -> list[tuple[str, str]]:
    """``[(label, source)]`` of the code cells a student controls: answer cells and added cells.

    Locked cells (tests, given code) are skipped: nbgrader restores them from
    the gradebook before running anything.
    """
    cells = nb.get("cells", []) if isinstance(nb, Mapping) else []
    return [(grade_id(cell, index), cell_source(cell))
            for index, cell in enumerate(cells if isinstance(cells, list) else [])
            if is_student_cell(cell)]


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(_to_python(source))
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return None


def _loaded_names(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def protected_names(release_nb: Mapping, source_nb: Mapping | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """What the tests rely on, from the released notebook (and the instructor's, when given).

    Returns ``(protected, imports)``:

    * ``protected``: the names rebinding which can change a test's verdict ->
      what they are. Those are the modules the locked cells import (``np``,
      ``torch``), the checking functions, the functions and classes locked
      cells define or import that the test cells call but the answers do not
      (stand-ins such as a recording decoder), and the builtins the test cells
      call (plus a few the checks need). NOT protected: names a locked cell
      merely assigns (``x``, ``loss``, ``rng``: scratch data), helpers the
      answers themselves use (a student may write their own ``sigmoid``), the
      names the answers are meant to define, and builtins no test uses.
    * ``imports``: the names locked cells bind by import -> what they import.
    """
    protected: dict[str, str] = {}
    imports: dict[str, str] = {}
    answers_bind: set[str] = set()
    answers_use: set[str] = set()
    tests_use: set[str] = set()
    given: dict[str, str] = {}  # def/class/import in locked cells -> what
    cells = release_nb.get("cells", []) if isinstance(release_nb, Mapping) else []
    for cell in cells if isinstance(cells, list) else []:
        if not isinstance(cell, Mapping) or cell.get("cell_type") != "code":
            continue
        tree = _parse(cell_source(cell))
        if tree is None:
            continue
        if is_locked_cell(cell):
            cell_imports = _import_bindings(tree)
            imports.update(cell_imports)
            for name, node in _bound_names(tree).items():
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    given[name] = "name set by a locked cell"
                elif isinstance(node, (ast.Import, ast.ImportFrom)) and name in cell_imports:
                    given[name] = cell_imports[name]
            if is_test_cell(cell):
                tests_use |= _loaded_names(tree)
        elif is_answer_cell(cell):
            answers_bind |= set(_bound_names(tree))
    src_cells = source_nb.get("cells", []) if isinstance(source_nb, Mapping) else []
    for cell in src_cells if isinstance(src_cells, list) else []:
        if isinstance(cell, Mapping) and cell.get("cell_type") == "code" and is_answer_cell(cell):
            tree = _parse(cell_source(cell))
            if tree is not None:
                answers_bind |= set(_bound_names(tree))
                answers_use |= _loaded_names(tree)
    for name, what in given.items():
        is_module = name in imports and _looks_like_module(imports[name])
        if is_module or name in _CHECK_NAMES or what.endswith(tuple("." + n for n in _CHECK_NAMES)):
            protected[name] = what
        elif name in tests_use and name not in answers_use:
            protected[name] = what
    for name in (tests_use & _BUILTIN_NAMES) | _ALWAYS_PROTECTED_BUILTINS:
        protected.setdefault(name, "builtin")
    for name in answers_bind:
        if name not in _CHECK_NAMES and not (name in imports and _looks_like_module(imports[name])):
            protected.pop(name, None)
    return protected, imports


@functools.lru_cache(maxsize=16)
def _protected_for(release_json: str, source_json: str) -> tuple[dict[str, str], dict[str, str]]:
    return protected_names(json.loads(release_json), json.loads(source_json))


def scan_notebook(nb: Mapping, release_nb: Mapping, source_nb: Mapping | None = None) -> list[Finding]:
    """Findings for every student-controlled cell of ``nb`` (see :func:`scan_code`), in cell order."""
    protected, imports = _protected_for(json.dumps(release_nb, sort_keys=True, default=str),
                                        json.dumps(source_nb, sort_keys=True, default=str))
    protected, imports = dict(protected), dict(imports)
    findings = []
    for label, source in student_cells(nb):
        for line, reason in scan_code(source, protected=protected, known_imports=imports):
            findings.append(Finding(label, line, reason))
        tree = _parse(source)
        if tree is not None:  # names this cell imports or aliases are known to the next cells
            imports.update(_import_bindings(tree))
            imports.update(_aliases(tree, imports))
    return findings
