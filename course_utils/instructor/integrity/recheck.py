"""The re-check: a second verdict that the student's code can neither see through nor replace.

nbgrader's verdict comes from inside the student's kernel, where a submission
can tamper with anything. The re-check computes its verdict *outside*, from
values that come out of two kernels:

1. **The student's kernel** runs the autograded notebook again (sandboxed, in
   an empty folder: no restored notebook, no hidden tests, no history) with
   every test cell rewritten: each ``check_close / check_equal / check_shape /
   check_that`` call and each ``assert`` becomes a probe that prints only the
   value the check is about (``got``). The expected values are not in the cell
   any more, literal or computed. The probe is defined afresh at the top of
   every test cell under a name drawn at random for this run, so a student cell
   cannot replace it beforehand.
2. **A trusted kernel** runs the instructor's solution with the same rewritten
   test cells, and its probes print the *expected* value of every check (and
   the check's tolerances), computed there by the test's own code, however the
   test computes it (a literal, a reference formula, a reference model).
3. **Outside**, the grader calls the real ``course_utils.checks`` function on
   (student's got, trusted expected) — the same function, with the same
   tolerances, that gave nbgrader's points, so the re-check is never stricter
   than the test. A test cell that nbgrader gave points to while one of its
   checks fails here is flagged.

Values travel as tagged JSON that keeps what the checks look at (array or
tensor, dtype, shape, Python float vs int). A value of any other type cannot
be re-checked and is skipped, not flagged.

What the re-check cannot decide, by design (the README's threat model):

* Checks whose expected value is computed from the student's own code (e.g.
  "padded vs alone", both from the student's model), or from random numbers
  drawn after the student's code ran: the trusted kernel's value would differ
  honestly. Those are compared with the expected value from the student's
  kernel instead, which catches a tampered check but not a tampered value.
* A test whose got value the student can compute without solving the task
  (a hard-coded answer to a visible test); only hidden tests guard that.
* ``check_that`` conditions are evaluated in the student's kernel.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import copy
import io
import json
import os
import secrets
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course_utils.instructor.integrity.cells import cell_source, grade_id, is_answer_cell, is_test_cell
from course_utils.instructor.integrity.scan import _bound_names, _import_bindings, _to_python
from course_utils.instructor.prestart import take_prestarted

__all__ = ["Check", "RecheckPlan", "compare", "decode", "notebook_imports", "plan_recheck", "probe_notebook",
           "recheck_submission", "trusted_expectations", "warm_modules"]

PROBE_MARK = "RNN-RECHECK"
_CHECKS = {  # function -> (index of got, keyword of got, index of expected, keyword of expected)
    "check_close": (1, "got", 2, "expected"),
    "check_equal": (1, "got", 2, "expected"),
    "check_shape": (1, "got", 2, "expected_shape"),
    "check_that": (1, "condition", None, None),
}
_DROPPED_KWARGS = {"hint", "got", "expected", "condition", "expected_shape", "name"}
# calls whose result depends on the random state the student's code left behind
_RNG_CALLS = {"rand", "randn", "randint", "randperm", "normal", "bernoulli", "multinomial", "rand_like",
              "randn_like", "randint_like", "random", "uniform", "choice", "shuffle", "permutation"}
_RNG_SAFE = {"default_rng", "RandomState", "Generator", "SeedSequence", "manual_seed", "seed", "PCG64"}


@dataclass
class Check:
    """One check of a test cell, as the re-check sees it."""

    cell: str  # grade_id of the test cell
    index: int  # probe number
    name: str  # the check's name (its first argument), for the report
    func: str  # check_close, check_equal, check_shape, check_that, or assert
    trusted: bool  # the expected value comes from the trusted kernel (else from the student's)


@dataclass
class RecheckPlan:
    """Rewritten test cells and what each probe number stands for."""

    student_cells: dict[str, str] = field(default_factory=dict)  # grade_id -> source for the student's kernel
    trusted_cells: dict[str, str] = field(default_factory=dict)  # grade_id -> source for the trusted kernel
    checks: list[Check] = field(default_factory=list)
    probe: str = ""  # the probe's name in this run

    def by_cell(self) -> dict[str, list[Check]]:
        out: dict[str, list[Check]] = {}
        for check in self.checks:
            out.setdefault(check.cell, []).append(check)
        return out


# --- which names hold values computed by the student's code ----------------------------
def _names_in(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _targets(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


class _Taint:
    """Names whose values depend on the student's code, followed statement by statement.

    Tainted: what the answer cells bind; whatever is computed from a tainted
    name; every argument of a call to a tainted function (it may be mutated);
    and the result of random draws and ``torch.nn`` constructors (they depend
    on the random state, which the student's code advances).
    """

    def __init__(self, answers: set[str], imports: Mapping[str, str]) -> None:
        self.names = set(answers)
        self.imports = dict(imports)
        self.seeded = False  # a seed was set in this cell and no student code has run since

    def new_cell(self) -> None:
        self.seeded = False

    def _rng(self, node: ast.AST) -> bool:
        if self.seeded:
            return False
        for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
            chain = [c for c in ast.walk(call.func) if isinstance(c, ast.Call)]
            if any((c.func.attr if isinstance(c.func, ast.Attribute) else getattr(c.func, "id", "")) in _RNG_SAFE
                   for c in chain):
                continue  # np.random.default_rng(1).normal(...): its own seeded generator
            func = call.func
            attr = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            dotted = ast.unparse(func)
            root = dotted.split(".")[0]
            target = self.imports.get(root, root) + dotted[len(root):]
            if attr in _RNG_SAFE:
                continue
            if attr in _RNG_CALLS and (target.startswith(("torch", "numpy.random", "random")) or attr.endswith("_")):
                return True
            if attr.endswith("_") and attr[:-1] in ("normal", "uniform", "random", "bernoulli", "exponential"):
                return True
            if target.startswith("torch.nn.") and attr[:1].isupper():
                return True
        return False

    def tainted(self, node: ast.AST | None) -> bool:
        return node is not None and (bool(_names_in(node) & self.names) or self._rng(node))

    def statement(self, stmt: ast.stmt) -> None:
        for _ in range(2):  # twice: a loop body feeds itself
            self._visit(stmt)
        calls = [n for n in ast.walk(stmt) if isinstance(n, ast.Call)]
        if any(self.tainted(c.func) for c in calls):
            self.seeded = False  # the student's code may draw random numbers
        elif any((c.func.attr if isinstance(c.func, ast.Attribute) else getattr(c.func, "id", ""))
                 in ("manual_seed", "seed") for c in calls):
            self.seeded = True

    def _visit(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if self.tainted(stmt):
                self.names.add(stmt.name)
            return
        for call in (n for n in ast.walk(stmt) if isinstance(n, ast.Call)):
            if self.tainted(call.func):  # the student's function may change the objects it is given
                for arg in [*call.args, *(k.value for k in call.keywords)]:
                    root = _root(arg)
                    if root is not None and root not in self.imports:
                        self.names.add(root)
                root = _root(call.func.value) if isinstance(call.func, ast.Attribute) else None
                if root is not None and root not in self.imports:
                    self.names.add(root)
        if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            value = stmt.value
            tgts = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if self.tainted(value) or (isinstance(stmt, ast.AugAssign) and self.tainted(stmt.target)):
                for t in tgts:
                    self.names |= _targets(t) | ({_root(t)} - {None})  # type: ignore[operator]
        elif isinstance(stmt, (ast.For, ast.AsyncFor)):
            if self.tainted(stmt.iter):
                self.names |= _targets(stmt.target)
            for s in stmt.body + stmt.orelse:
                self._visit(s)
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                if item.optional_vars is not None and self.tainted(item.context_expr):
                    self.names |= _targets(item.optional_vars)
            for s in stmt.body:
                self._visit(s)
        elif isinstance(stmt, (ast.If, ast.While)):
            for s in stmt.body + stmt.orelse:
                self._visit(s)
        elif isinstance(stmt, ast.Try):
            for s in stmt.body + stmt.orelse + stmt.finalbody + [x for h in stmt.handlers for x in h.body]:
                self._visit(s)
        for walrus in (n for n in ast.walk(stmt) if isinstance(n, ast.NamedExpr)):
            if self.tainted(walrus.value):
                self.names.add(walrus.target.id)


def _root(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


# --- rewriting the test cells ---------------------------------------------------------------
def _probe_source(probe: str) -> str:
    """The probe's definition, put at the top of every rewritten test cell (both kernels).

    It prints one line ``RNN-RECHECK {"i": index, "got": ..., "exp": ..., "kw": ...}``
    with tagged values; only the standard library is imported by name.
    """
    return f'''def {probe}(_i, _got=None, _exp=None, _kw=None, _which=(True, False, False)):
    import base64 as _b64, json as _json, sys as _sys
    def _enc(v, d=0):
        np = _sys.modules.get("numpy"); torch = _sys.modules.get("torch")
        if d > 8:
            return {{"t": "opaque", "type": "too deep"}}
        if v is None or type(v) in (bool, int, float, str):
            return {{"t": type(v).__name__, "v": v}}
        if torch is not None and isinstance(v, torch.Tensor):
            t = v.detach().cpu()
            dt = str(t.dtype).replace("torch.", "")
            if t.dtype == torch.bfloat16:
                t = t.float()
            return {{"t": "tensor", "dtype": dt, "v": _enc(t.numpy(), d + 1)}}
        if np is not None and isinstance(v, (np.ndarray, np.generic)) and v.dtype.kind in "biufc":
            a = np.asarray(v)  # a NumPy scalar stays 0-d (np.ascontiguousarray would make it shape (1,))
            a = np.ascontiguousarray(a) if a.ndim else a
            if a.nbytes > 8 * 2**20:
                return {{"t": "opaque", "type": "too large"}}
            return {{"t": "ndarray" if isinstance(v, np.ndarray) else "npscalar", "dtype": a.dtype.str,
                    "shape": list(a.shape), "b64": _b64.b64encode(a.tobytes()).decode()}}
        if type(v) in (list, tuple):
            return {{"t": type(v).__name__, "v": [_enc(x, d + 1) for x in v[:100000]]}}
        if type(v) is dict:
            return {{"t": "dict", "v": [[_enc(k, d + 1), _enc(x, d + 1)] for k, x in list(v.items())[:10000]]}}
        return {{"t": "opaque", "type": type(v).__name__}}
    rec = {{"i": _i}}
    for key, value, wanted in (("got", _got, _which[0]), ("exp", _exp, _which[1]), ("kw", _kw, _which[2])):
        if wanted:
            try:
                rec[key] = _enc(value)
            except Exception as exc:
                rec[key] = {{"t": "opaque", "type": type(exc).__name__}}
    _sys.stdout.write("{PROBE_MARK} " + _json.dumps(rec) + "\\n")
    _sys.stdout.flush()
'''


def _check_call(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call):
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        return name if name in _CHECKS else None
    return None


_PLAN_CACHE: dict[str, RecheckPlan] = {}
_PLACEHOLDER = f"_rnn_recheck_placeholder_{secrets.token_hex(8)}"


def plan_recheck(source_nb: Mapping, *, probe: str | None = None) -> RecheckPlan:
    """Rewrite every test cell of the instructor's notebook for both kernels (see the module docstring).

    The rewriting is done once per source notebook and process (a worker grades many submissions
    of one assignment); every call gets its own probe name, drawn at random, all the same.
    """
    fresh = probe or f"_rnn_recheck_{secrets.token_hex(8)}"
    key = json.dumps(source_nb, sort_keys=True, default=str)
    template = _PLAN_CACHE.get(key)
    if template is None:
        template = _PLAN_CACHE[key] = _build_plan(source_nb, _PLACEHOLDER)
    return RecheckPlan(
        student_cells={g: src.replace(_PLACEHOLDER, fresh) for g, src in template.student_cells.items()},
        trusted_cells={g: src.replace(_PLACEHOLDER, fresh) for g, src in template.trusted_cells.items()},
        checks=list(template.checks), probe=fresh)


def _build_plan(source_nb: Mapping, probe: str) -> RecheckPlan:
    plan = RecheckPlan(probe=probe)
    cells = source_nb.get("cells", []) if isinstance(source_nb, Mapping) else []
    cells = [c for c in cells if isinstance(c, Mapping)] if isinstance(cells, list) else []
    answers: set[str] = set()
    imports: dict[str, str] = {}
    trees: list[tuple[Any, ast.Module | None]] = []
    for cell in cells:
        try:
            tree = ast.parse(_to_python(cell_source(cell))) if cell.get("cell_type") == "code" else None
        except (SyntaxError, RecursionError, ValueError):
            tree = None
        trees.append((cell, tree))
        if tree is not None:
            imports.update(_import_bindings(tree))
            if is_answer_cell(cell):
                answers |= {n for n, node in _bound_names(tree).items()
                            if not isinstance(node, (ast.Import, ast.ImportFrom))}
    taint = _Taint(answers, imports)
    counter = 0
    for cell, tree in trees:
        if tree is None or is_answer_cell(cell):
            continue
        taint.new_cell()
        if not is_test_cell(cell):
            for stmt in tree.body:
                taint.statement(stmt)
            continue
        gid = grade_id(cell)
        student_tree, trusted_tree = copy.deepcopy(tree), copy.deepcopy(tree)
        found: list[tuple[ast.AST, ast.AST, Check, ast.AST | None, ast.AST | None, ast.AST]] = []

        def rewrite(student_node: ast.AST, trusted_node: ast.AST, orig: ast.AST, gid: str = gid,
                    found: list = found) -> None:
            nonlocal counter
            # names a compound statement binds for its body (loop variables, `with ... as x`) are
            # tainted before the body's checks are read
            if isinstance(orig, (ast.For, ast.AsyncFor)) and taint.tainted(orig.iter):
                taint.names |= _targets(orig.target)
            if isinstance(orig, (ast.With, ast.AsyncWith)):
                for item in orig.items:
                    if item.optional_vars is not None and taint.tainted(item.context_expr):
                        taint.names |= _targets(item.optional_vars)
            # walk the three copies in step; rewrite checks bottom-up
            for field_name, value in ast.iter_fields(orig):
                s_val, t_val = getattr(student_node, field_name), getattr(trusted_node, field_name)
                if isinstance(value, list):
                    for i, item in enumerate(value):
                        if isinstance(item, ast.AST):
                            rewrite(s_val[i], t_val[i], item)
                elif isinstance(value, ast.AST):
                    rewrite(s_val, t_val, value)
            if isinstance(orig, ast.stmt):
                taint.statement(orig)  # in source order: taint seen by the checks after it
            func = _check_call(orig)
            if func is None and not isinstance(orig, ast.Assert):
                return
            if isinstance(orig, ast.Assert):
                got, exp, kws = orig.test, None, {}
                name, func = ast.unparse(orig.test)[:80], "assert"
            else:
                gi, gk, ei, ek = _CHECKS[func]
                kw = {k.arg: k.value for k in orig.keywords if k.arg}
                got = orig.args[gi] if len(orig.args) > gi else kw.get(gk)
                exp = (orig.args[ei] if ei is not None and len(orig.args) > ei else kw.get(ek or "")) if ei else None
                kws = {k: v for k, v in kw.items() if k not in _DROPPED_KWARGS}
                first = orig.args[0] if orig.args else kw.get("name")
                literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
                name = first.value if literal else f"check {counter}"
                if got is None:
                    return
            trusted = exp is not None and not taint.tainted(exp)
            check = Check(gid, counter, str(name), func, trusted)
            found.append((student_node, trusted_node, check, got, exp, ast.Dict(
                keys=[ast.Constant(k) for k in kws], values=list(kws.values()))))
            counter += 1

        rewrite(student_tree, trusted_tree, tree)
        for student_node, trusted_node, check, got, exp, kw_dict in found:
            plan.checks.append(check)
            s_args = [ast.Constant(check.index), got]
            which_s = [True, False, False]
            if exp is not None and not check.trusted:
                s_args.append(exp)  # computed from the student's own values: from their kernel
                which_s[1] = True
            t_args = [ast.Constant(check.index), got, exp or ast.Constant(None), kw_dict]
            _replace(student_node, _probe_call(plan.probe, s_args, which_s))
            _replace(trusted_node, _probe_call(plan.probe, t_args, [False, True, True]))
        header = _probe_source(plan.probe)
        plan.student_cells[gid] = header + ast.unparse(ast.fix_missing_locations(student_tree))
        plan.trusted_cells[gid] = header + ast.unparse(ast.fix_missing_locations(trusted_tree))
    return plan


def _probe_call(probe: str, args: list[ast.AST], which: list[bool]) -> ast.Call:
    return ast.Call(func=ast.Name(probe, ast.Load()), args=list(args),
                    keywords=[ast.keyword("_which", ast.Constant(tuple(which)))])


def _replace(node: ast.AST, call: ast.Call) -> None:
    """Turn a check call or an ``assert`` (in place) into the probe call."""
    if isinstance(node, ast.Assert):
        node.__class__ = ast.Expr  # type: ignore[assignment]
        for f in ("test", "msg"):
            if hasattr(node, f):
                delattr(node, f)
        node.value = call  # type: ignore[attr-defined]
        return
    node.func, node.args, node.keywords = call.func, call.args, call.keywords  # type: ignore[attr-defined]


def probe_notebook(nb: Mapping, cells: Mapping[str, str], *, skip: set[int] = frozenset()) -> dict:  # type: ignore[assignment]
    """A copy of ``nb`` with its test cells replaced by ``cells`` (grade_id -> source), outputs cleared.

    Cells whose index is in ``skip`` (they timed out in grading) become ``pass``.
    A test cell the plan does not know becomes ``pass`` too. The cells after the
    last test cell in ``cells`` are left out: no probe follows them, so what they
    do cannot change a value the re-check reads (04's training demo is one).
    """
    out = {k: copy.deepcopy(v) for k, v in nb.items() if k != "cells"}
    nb_cells = nb.get("cells", [])
    nb_cells = nb_cells if isinstance(nb_cells, list) else []
    last = max((i for i, c in enumerate(nb_cells) if isinstance(c, Mapping) and is_test_cell(c)
                and grade_id(c) in cells), default=-1)
    new_cells = []
    for index, cell in enumerate(nb_cells[: last + 1]):
        if not isinstance(cell, Mapping):
            continue
        cell = copy.deepcopy(dict(cell))
        cell["source"] = cell_source(cell)
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
            if is_test_cell(cell):
                cell["source"] = cells.get(grade_id(cell), "pass")
            elif index in skip:
                cell["source"] = "pass"
        new_cells.append(cell)
    out["cells"] = new_cells
    return out


# --- values in and out ---------------------------------------------------------------------
def decode(value: Any) -> Any:
    """A tagged value printed by the probe -> the Python object (NumPy array, tensor...).

    Raises ValueError for an opaque value."""
    import numpy as np

    if not isinstance(value, Mapping) or "t" not in value:
        raise ValueError("not a tagged value")
    t = value["t"]
    if t in ("NoneType", "bool", "int", "float", "str"):
        v = value.get("v")
        expected_type = {"NoneType": type(None), "bool": bool, "int": int, "float": float, "str": str}[t]
        if not isinstance(v, expected_type) and not (t == "float" and isinstance(v, int)):
            raise ValueError(f"a {t} that is not one")
        return float(v) if t == "float" else v
    if t in ("ndarray", "npscalar"):
        dtype = np.dtype(value["dtype"])
        if dtype.kind not in "biufc":
            raise ValueError("not a numeric dtype")
        arr = np.frombuffer(base64.b64decode(value["b64"]), dtype=dtype).reshape(value["shape"]).copy()
        return arr if t == "ndarray" else arr[()]
    if t == "tensor":
        import torch

        arr = decode(value["v"])
        tensor = torch.from_numpy(np.asarray(arr))
        dtype = getattr(torch, str(value.get("dtype", "")), None)
        return tensor.to(dtype) if isinstance(dtype, torch.dtype) else tensor
    if t in ("list", "tuple"):
        items = [decode(x) for x in value["v"]]
        return items if t == "list" else tuple(items)
    if t == "dict":
        return {decode(k): decode(v) for k, v in value["v"]}
    raise ValueError(f"a value of type {value.get('type', t)} cannot be re-checked")


def _emissions(nb: Mapping) -> dict[int, list[dict]]:
    """Probe records per probe number, in the order they were printed."""
    out: dict[int, list[dict]] = {}
    cells = nb.get("cells", []) if isinstance(nb, Mapping) else []
    for cell in cells if isinstance(cells, list) else []:
        outputs = cell.get("outputs", []) if isinstance(cell, Mapping) else []
        for output in outputs if isinstance(outputs, list) else []:
            if (not isinstance(output, Mapping) or output.get("output_type") != "stream"
                    or output.get("name") != "stdout"):
                continue
            for line in str(output.get("text", "")).splitlines():
                if not line.startswith(PROBE_MARK + " "):
                    continue
                try:
                    rec = json.loads(line[len(PROBE_MARK) + 1:])
                    if isinstance(rec, dict):
                        out.setdefault(int(rec["i"]), []).append(rec)
                except (ValueError, KeyError, TypeError, RecursionError):
                    continue
    return out


def compare(check: Check, got: Any, expected: Any, kwargs: Mapping[str, Any]) -> str | None:
    """Run the real check outside the kernel; the failure message's first line, or None when it passes.

    Raises:
        ValueError: the check cannot be evaluated here (an unexpected error, not a failure).
    """
    from course_utils import checks

    with contextlib.redirect_stdout(io.StringIO()):
        try:
            if check.func == "assert":
                if not got:
                    return "the assertion is false"
                return None
            if check.func == "check_that":
                checks.check_that(check.name, bool(got), expected="", got="")
            elif check.func == "check_shape":
                checks.check_shape(check.name, got, expected)
            elif check.func == "check_equal":
                checks.check_equal(check.name, got, expected)
            else:
                allowed = {k: v for k, v in kwargs.items() if k in ("rtol", "atol", "check_dtype")}
                checks.check_close(check.name, got, expected, **allowed)
        except AssertionError as exc:
            return str(exc).splitlines()[0] if str(exc) else "the check failed"
        except Exception as exc:
            raise ValueError(f"{type(exc).__name__}: {exc}") from exc
    return None


# --- running the kernels ----------------------------------------------------------------------
def notebook_imports(source_nb: Mapping) -> tuple[str, ...]:
    """Modules the locked cells of the instructor's notebook import (``import torch``, ``from x.y import z``)."""
    found: dict[str, None] = {}
    cells = source_nb.get("cells", []) if isinstance(source_nb, Mapping) else []
    for cell in cells if isinstance(cells, list) else []:
        if not isinstance(cell, Mapping) or cell.get("cell_type") != "code" or is_answer_cell(cell):
            continue
        try:
            tree = ast.parse(_to_python(cell_source(cell)))
        except (SyntaxError, RecursionError, ValueError):
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                found.update((alias.name, None) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found[node.module] = None
    return tuple(found)


def warm_modules(source_nb: Mapping, *, whole_notebook: bool = False) -> tuple[str, ...]:
    """What a kernel started ahead for this notebook loads: :func:`notebook_imports`, and ``torch._dynamo``.

    torch imports ``torch._dynamo`` (about a second) when the first optimizer is
    made; it is loaded ahead when a cell the run executes uses ``torch.optim``:
    a cell up to the last test cell (the re-check's run), or any cell with
    ``whole_notebook`` (nbgrader's run).
    """
    modules = notebook_imports(source_nb)
    cells = source_nb.get("cells", []) if isinstance(source_nb, Mapping) else []
    cells = [c for c in (cells if isinstance(cells, list) else []) if isinstance(c, Mapping)]
    last = len(cells) - 1 if whole_notebook else max((i for i, c in enumerate(cells) if is_test_cell(c)), default=-1)
    if "torch" in modules and any(c.get("cell_type") == "code" and "optim" in cell_source(c)
                                  for c in cells[: last + 1]):
        modules += ("torch._dynamo",)
    return modules


def _execute(nb: dict, *, kernel_name: str, timeout: int, budget_s: float | None,
             env: Mapping[str, str] | None, prestarted: bool = False) -> tuple[dict, str | None]:
    """Execute ``nb`` in a fresh kernel in an empty folder; (executed notebook, why it stopped early or None).

    With ``prestarted``, a kernel started ahead for the re-check
    (:func:`course_utils.instructor.prestart.prestart_kernel`) is used when one matches.
    """
    import nbformat
    from nbclient import NotebookClient

    node = nbformat.from_dict(nb)
    stopped: str | None = None
    ready = take_prestarted(kernel_name, env, purpose="recheck") if prestarted else None
    with contextlib.ExitStack() as stack:
        if ready is not None:
            stack.callback(ready.close)
            empty = ready.folder
        else:
            empty = stack.enter_context(tempfile.TemporaryDirectory(prefix="rnn-recheck-"))
        client = NotebookClient(node, kernel_name=kernel_name, timeout=timeout, allow_errors=True,
                                interrupt_on_timeout=True, record_timing=False,
                                shutdown_kernel="immediate",  # every value is read: no need to wait for its exit
                                resources={"metadata": {"path": empty}},
                                **({"km": ready.km} if ready is not None else {}))
        deadline = time.monotonic() + budget_s if budget_s else None
        full_env = {**os.environ, **(env or {})}
        try:
            with client.setup_kernel(env=full_env, cwd=empty):
                for index, cell in enumerate(node.cells):
                    if deadline is not None and time.monotonic() > deadline:
                        stopped = f"the re-check ran out of its time budget ({budget_s:.0f} s)"
                        break
                    if cell.cell_type != "code":
                        continue
                    if deadline is not None:
                        client.timeout = max(1, int(min(timeout, deadline - time.monotonic() + 1)))
                    client.execute_cell(cell, index)
        except Exception as exc:  # a dead kernel, a kernel that never started: what was printed counts
            stopped = f"the re-check kernel stopped ({type(exc).__name__})"
    return node, stopped


_TRUSTED_CACHE: dict[tuple[str, str], tuple[dict[int, list[dict]], str | None]] = {}


def trusted_expectations(source_nb: Mapping, plan: RecheckPlan, *, kernel_name: str, timeout: int,
                         env: Mapping[str, str] | None = None) -> tuple[dict[int, list[dict]], str | None]:
    """Run the instructor's solution with the trusted probes; (records per probe, problem or None). Cached."""
    key = (json.dumps(source_nb, sort_keys=True, default=str), kernel_name)
    if key not in _TRUSTED_CACHE:
        nb = probe_notebook(source_nb, plan.trusted_cells)
        for cell in nb["cells"]:  # the instructor's answers, without nbgrader's markers
            if cell.get("cell_type") == "code" and is_answer_cell(cell):
                cell["source"] = "\n".join(line for line in cell_source(cell).splitlines()
                                           if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)
        executed, stopped = _execute(nb, kernel_name=kernel_name, timeout=timeout, budget_s=None, env=env)
        _TRUSTED_CACHE[key] = (_emissions(executed), stopped)
    return _TRUSTED_CACHE[key]


def earned_points(graded_nb: Mapping) -> tuple[dict[str, float], set[int]]:
    """Points nbgrader gave each test cell (grade_id -> points), and the indices of cells that timed out."""
    import nbformat
    from nbgrader import utils as nbutils

    earned: dict[str, float] = {}
    timed_out: set[int] = set()
    cells = graded_nb.get("cells", []) if isinstance(graded_nb, Mapping) else []
    for index, cell in enumerate(cells if isinstance(cells, list) else []):
        if is_test_cell(cell):
            try:
                score, _ = nbutils.determine_grade(nbformat.from_dict(cell))
            except Exception:
                score = 0
            earned[grade_id(cell)] = float(score or 0)
        elif isinstance(cell, Mapping) and cell.get("cell_type") == "code":
            outputs = cell.get("outputs", [])
            if any(isinstance(o, Mapping) and o.get("ename") == "CellTimeoutError"
                   for o in (outputs if isinstance(outputs, list) else [])):
                timed_out.add(index)  # grading interrupted it: the re-check does not wait for it again
    return earned, timed_out


def recheck_submission(
    graded_nb: Mapping,
    source_nb: Mapping,
    *,
    kernel_name: str = "rnn-course-sandbox",
    timeout: int = 60,
    budget_s: float | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[list[str], list[str]]:
    """Re-check one autograded notebook; ``(flags, problems)``.

    ``flags``: a test cell nbgrader gave points to whose checks fail (or never
    ran) when re-checked outside the kernel. ``problems``: what could not be
    re-checked and why (a value of an unknown type, the time budget), for
    ``problems.csv``; those are not accusations.
    """
    earned, timed_out = earned_points(graded_nb)
    plan = plan_recheck(source_nb)
    to_confirm = {gid for gid, pts in earned.items() if pts > 0} & set(plan.by_cell())
    if not to_confirm:
        return [], []
    trusted, trusted_problem = trusted_expectations(source_nb, plan, kernel_name=kernel_name, timeout=timeout, env=env)
    problems = ([f"the instructor's solution did not finish its re-check run ({trusted_problem})"]
                if trusted_problem else [])
    executed, stopped = _execute(probe_notebook(graded_nb, plan.student_cells, skip=timed_out),
                                 kernel_name=kernel_name, timeout=timeout, budget_s=budget_s, env=env,
                                 prestarted=True)
    student = _emissions(executed)
    flags: list[str] = []
    for gid, checks in plan.by_cell().items():
        if gid not in to_confirm:
            continue
        flagged_before = len(flags)
        for check in checks:
            if len(flags) > flagged_before:
                break  # one reason per test cell is enough for the instructor
            got_recs = student.get(check.index, [])
            exp_recs = trusted.get(check.index, []) if check.trusted else got_recs
            if check.trusted and not exp_recs:
                problems.append(f"{gid}: {check.name!r} could not be re-checked "
                                "(the instructor's run printed no value)")
                continue
            if not got_recs:
                if not trusted.get(check.index) and not trusted_problem:
                    continue  # the solution never reaches it either (a check under a condition): no evidence
                if stopped and "time budget" in stopped:
                    problems.append(f"{gid}: {check.name!r} was not re-checked: {stopped}")
                else:
                    flags.append(f"{gid}: nbgrader gave points, but the check {check.name!r} never ran when "
                                 "re-checked outside the kernel")
                continue
            kw_recs = trusted.get(check.index, [])
            for j, got_rec in enumerate(got_recs[: max(len(exp_recs), 1)]):
                try:
                    got = decode(got_rec.get("got"))
                    exp_rec = exp_recs[j] if j < len(exp_recs) else None
                    expected = decode(exp_rec["exp"]) if exp_rec is not None and "exp" in exp_rec else None
                    kwargs = decode(kw_recs[j]["kw"]) if j < len(kw_recs) and "kw" in kw_recs[j] else {}
                    if check.func in ("check_close", "check_equal", "check_shape") and exp_rec is None:
                        raise ValueError("no expected value")
                    message = compare(check, got, expected, kwargs if isinstance(kwargs, dict) else {})
                except (ValueError, KeyError, TypeError, IndexError) as exc:
                    problems.append(f"{gid}: {check.name!r} could not be re-checked ({exc})")
                    break
                if message is not None:
                    flags.append(f"{gid}: nbgrader gave points, but {check.name!r} fails when re-checked outside "
                                 f"the kernel: {message} (score forged?)")
                    break
    return flags, problems


def read_notebook(path: str | os.PathLike) -> dict | None:
    """A notebook file as a dict, or None when it cannot be read as JSON."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8", errors="strict"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None
