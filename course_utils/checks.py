"""Checks that assignment tests call: helpful failures, one ✓ line on success.

Every check either prints ``✓ <name> OK`` and returns ``None``, or raises
``AssertionError`` with a message a student can act on: what was expected,
what came, where they differ, and a hint::

    >>> check_close("sigmoid(0)", sigmoid(0.0), 0.5)
    ✓ sigmoid(0) OK

    AssertionError: ✗ softmax(z): 2 of 3 values differ (rtol=1e-06, atol=1e-08)
      expected: [0.0900 0.2447 0.6652]
      got:      [0.3333 0.3333 0.3333]
      largest difference 0.3319 at index (2,)
      hint: exponentiate before normalising

Arrays and tensors are compared on the CPU in float64, so a tensor on a GPU
is fine. The checks return ``None`` on purpose: nbgrader reads a number left
as a test cell's last value as partial credit.

A failing check raises :class:`CheckFailed`, an ``AssertionError`` that IPython
(JupyterLab, nbgrader's feedback) shows as its message alone and the line of the
test cell that raised it, instead of a traceback through this module.

Helpers for what a test cell needs besides comparing values:
:func:`overflow_is_an_error` (floating-point overflow stays an error even if
the code under test calls ``np.errstate``), :func:`watch_device_moves` (did the
code move a batch to the model's device?) and
:func:`course_versions_unavailable` (the course's own implementation of what a
question asks cannot be called while the check runs).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import inspect
import math
import os
import sys
import types
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any

import numpy as np

from course_utils._validate import is_array, is_tensor

if TYPE_CHECKING:
    import torch

__all__ = [
    "CheckFailed",
    "check_close",
    "check_equal",
    "check_shape",
    "check_that",
    "course_versions_unavailable",
    "overflow_is_an_error",
    "substitute",
    "watch_device_moves",
]

_THIS_FILE = os.path.normcase(os.path.abspath(__file__))


class CheckFailed(AssertionError):
    """A failed check: its message says what was expected, what came and what to try.

    In IPython the message is shown alone, followed by the line of the test cell
    that failed (``_render_traceback_``), not a traceback through this module.
    """

    def _render_traceback_(self) -> list[str]:
        lines = [f"\x1b[0;31mAssertionError\x1b[0m: {self}"]
        where = _test_line(self.__traceback__)
        if where:
            lines.append(f"\x1b[2m(the check at {where})\x1b[0m")
        return lines


def _test_line(tb: types.TracebackType | None) -> str | None:
    """'line N: <source>' of the last frame outside this module (the test cell's call)."""
    found = None
    while tb is not None:
        code = tb.tb_frame.f_code
        if os.path.normcase(os.path.abspath(code.co_filename)) != _THIS_FILE:
            found = tb
        tb = tb.tb_next
    if found is None:
        return None
    import linecache

    source = linecache.getline(found.tb_frame.f_code.co_filename, found.tb_lineno).strip()
    return f"line {found.tb_lineno}: {source}" if source else f"line {found.tb_lineno}"



def _kind(x: Any) -> str:
    if is_tensor(x):
        return f"torch.Tensor of shape {tuple(x.shape)}, dtype {x.dtype}, device {x.device.type}"
    if isinstance(x, np.ndarray):
        return f"numpy.ndarray of shape {x.shape}, dtype {x.dtype}"
    if x is None:
        return "None (did the function forget to `return`?)"
    return type(x).__name__


def _fmt(x: Any) -> str:
    if is_tensor(x):
        x = x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        if x.dtype.kind in "fc":
            return np.array2string(x, precision=4, threshold=24, edgeitems=3, floatmode="fixed", suppress_small=True)
        return np.array2string(x, threshold=24, edgeitems=3)
    if isinstance(x, float):
        return f"{x:.6g}"
    text = repr(x)
    return text if len(text) <= 300 else text[:300] + " ..."


def _fail(name: str, problem: str, *, expected: Any = None, got: Any = None, hint: str | None = None,
          show: bool = True) -> None:
    lines = [f"✗ {name}: {problem}"]
    if show:
        lines.append(f"  expected: {_fmt(expected)}")
        lines.append(f"  got:      {_fmt(got)}")
    if hint:
        lines.append(f"  hint: {hint}")
    raise CheckFailed("\n".join(lines)) from None


def _ok(name: str) -> None:
    print(f"✓ {name} OK")


def _is_number(x: Any) -> bool:
    return isinstance(x, (Real, np.number)) and not isinstance(x, (bool, np.bool_))


def _as_scalar(x: Any) -> float | None:
    """A float from a number, a 0-d/1-element array or tensor; None when ``x`` is not one."""
    if _is_number(x):
        return float(x)
    if is_tensor(x) and x.numel() == 1 and not x.dtype.is_complex:
        return float(x.detach().cpu().reshape(()).item())
    if isinstance(x, np.ndarray) and x.size == 1 and x.dtype.kind in "iuf":
        return float(x.reshape(()))
    return None


def _to_float64(x: np.ndarray | torch.Tensor) -> np.ndarray:
    if is_tensor(x):
        x = x.detach().cpu()
        if x.dtype == sys.modules["torch"].bfloat16:
            x = x.float()
        x = x.numpy()
    return np.asarray(x, dtype=np.float64)


def _check_array_type(name: str, got: Any, expected: np.ndarray | torch.Tensor, hint: str | None) -> None:
    if is_tensor(expected) and not is_tensor(got):
        _fail(name, f"expected a torch.Tensor, got {_kind(got)}", hint=hint or "build the result with torch operations",
              show=False)
    if isinstance(expected, np.ndarray) and not isinstance(got, np.ndarray):
        extra = " (call .detach().cpu().numpy() on it)" if is_tensor(got) else ""
        _fail(name, f"expected a numpy.ndarray, got {_kind(got)}{extra}", hint=hint, show=False)
    if tuple(got.shape) != tuple(expected.shape):
        _fail(
            name,
            f"wrong shape: expected {tuple(expected.shape)}, got {tuple(got.shape)}",
            hint=hint or "check which axis you sum/stack over and whether you kept the batch dimension",
            show=False,
        )


def check_close(
    name: str,
    got: Any,
    expected: Any,
    *,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    check_dtype: bool = False,
    hint: str | None = None,
) -> None:
    """Check that ``got`` equals ``expected`` within ``|got - expected| <= atol + rtol * |expected|``.

    Args:
        name: what is being checked, shown in the message (e.g. ``"softmax(z)"``).
        got: the student's value: a number, NumPy array or torch tensor (any device).
        expected: the reference. A number accepts any real number or a
            one-element array/tensor; an array requires an array and a tensor a
            tensor, of the same shape.
        rtol, atol: relative and absolute tolerance.
        check_dtype: also require the exact dtype of ``expected``.
        hint: one line on what to try when the check fails.

    Raises:
        AssertionError: with expected, got, the largest difference and the hint.
    """
    __tracebackhide__ = True  # pytest: show the test's line, not this one
    if is_array(expected):
        _check_array_type(name, got, expected, hint)
        if check_dtype and got.dtype != expected.dtype:
            _fail(name, f"wrong dtype: expected {expected.dtype}, got {got.dtype}", hint=hint, show=False)
        if is_tensor(got) and (got.is_complex() or got.dtype == sys.modules["torch"].bool):
            _fail(name, f"expected real numbers, got {_kind(got)}", hint=hint, show=False)
        g, e = _to_float64(got), _to_float64(expected)
        if np.isnan(g).any() and not np.isnan(e).any():
            _fail(name, "the result contains NaN", expected=expected, got=got,
                  hint=hint or "look for 0/0, log(0) or exp overflow")
        close = np.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
        if not close.all():
            diff = np.where(np.isnan(g) | np.isnan(e), np.inf, np.abs(g - e))
            where = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
            _fail(
                name,
                f"{int((~close).sum())} of {close.size} values differ (rtol={rtol:g}, atol={atol:g}); "
                f"largest difference {float(diff.max()):.4g} at index {tuple(int(i) for i in where)}",
                expected=expected,
                got=got,
                hint=hint,
            )
        _ok(name)
        return
    if not _is_number(expected):
        raise TypeError(f"check_close: expected must be a number, array or tensor, got {_kind(expected)}")
    value = _as_scalar(got)
    if value is None:
        _fail(name, f"expected a number, got {_kind(got)}", hint=hint, show=False)
    e = float(expected)
    if math.isnan(value) and not math.isnan(e):
        _fail(name, "the result is NaN", expected=e, got=value, hint=hint or "look for 0/0, log(0) or exp overflow")
    if not math.isclose(value, e, rel_tol=rtol, abs_tol=atol) and not (math.isnan(value) and math.isnan(e)):
        _fail(
            name,
            f"differs by {abs(value - e):.4g} (rtol={rtol:g}, atol={atol:g})",
            expected=e,
            got=value,
            hint=hint,
        )
    _ok(name)


def _first_difference(got: Any, expected: Any, path: str = "") -> str | None:
    """Where two (nested) values first differ, as a readable path; None if equal."""
    if is_array(expected):
        if type(got) is not type(expected):
            return f"{path or 'value'}: expected {_kind(expected)}, got {_kind(got)}"
        if tuple(got.shape) != tuple(expected.shape):
            return f"{path or 'value'}: expected shape {tuple(expected.shape)}, got {tuple(got.shape)}"
        if got.dtype != expected.dtype:
            return f"{path or 'value'}: expected dtype {expected.dtype}, got {got.dtype}"
        g = got.detach().cpu().numpy() if is_tensor(got) else got
        e = expected.detach().cpu().numpy() if is_tensor(expected) else expected
        if not np.array_equal(g, e):
            idx = np.argwhere(g != e)
            first = tuple(int(i) for i in idx[0]) if len(idx) else ()
            return f"{path or 'value'}: {len(idx)} element(s) differ, first at index {first}"
        return None
    if isinstance(expected, Mapping):
        if not isinstance(got, Mapping):
            return f"{path or 'value'}: expected a mapping, got {_kind(got)}"
        missing = [k for k in expected if k not in got]
        extra = [k for k in got if k not in expected]
        if missing or extra:
            return f"{path or 'value'}: keys differ (missing {missing}, unexpected {extra})"
        for k in expected:
            where = _first_difference(got[k], expected[k], f"{path}[{k!r}]")
            if where:
                return where
        return None
    if isinstance(expected, (list, tuple)):
        if not isinstance(got, (list, tuple)):
            return f"{path or 'value'}: expected a {type(expected).__name__}, got {_kind(got)}"
        if len(got) != len(expected):
            return f"{path or 'value'}: expected length {len(expected)}, got {len(got)}"
        for i, (g, e) in enumerate(zip(got, expected)):
            where = _first_difference(g, e, f"{path}[{i}]")
            if where:
                return where
        return None
    if _is_number(expected) and _is_number(got):
        return None if got == expected else f"{path or 'value'}: expected {expected!r}, got {got!r}"
    if type(got) is not type(expected) and not (isinstance(expected, str) and isinstance(got, str)):
        return f"{path or 'value'}: expected {_kind(expected)}, got {_kind(got)}"
    return None if got == expected else f"{path or 'value'}: expected {expected!r}, got {got!r}"


def check_equal(name: str, got: Any, expected: Any, *, hint: str | None = None) -> None:
    """Check exact equality: numbers, strings, (nested) lists/tuples/dicts, integer arrays or tensors.

    Arrays and tensors must have the same type, shape and dtype and equal elements
    (ids as float32 or int32 are not the int64 ids ``nn.Embedding`` expects).
    Use :func:`check_close` for floating-point results.

    Raises:
        AssertionError: naming the first place where ``got`` and ``expected`` differ.
    """
    __tracebackhide__ = True  # pytest: show the test's line, not this one
    where = _first_difference(got, expected)
    if where:
        _fail(name, f"not equal ({where})", expected=expected, got=got, hint=hint)
    _ok(name)


def check_shape(name: str, got: Any, expected_shape: Sequence[int | None], *, hint: str | None = None) -> None:
    """Check that an array/tensor has ``expected_shape`` (``None`` matches any size on that axis).

    Raises:
        AssertionError: when ``got`` is not an array/tensor or its shape differs.
    """
    __tracebackhide__ = True  # pytest: show the test's line, not this one
    if not is_array(got):
        _fail(name, f"expected an array or tensor of shape {tuple(expected_shape)}, got {_kind(got)}", hint=hint,
              show=False)
    shape = tuple(got.shape)
    want = tuple(expected_shape)
    if len(shape) != len(want) or any(w is not None and s != w for s, w in zip(shape, want)):
        pretty = "(" + ", ".join("any" if w is None else str(w) for w in want) + ("," if len(want) == 1 else "") + ")"
        _fail(name, f"wrong shape: expected {pretty}, got {shape}", hint=hint, show=False)
    _ok(name)


def check_that(name: str, condition: bool, *, expected: str, got: str, hint: str | None = None) -> None:
    """Check a property that is not a plain comparison, e.g. "parameters changed after a step".

    Args:
        name: what is being checked.
        condition: the outcome of the property.
        expected, got: descriptions shown when it fails.
        hint: what to try.
    """
    __tracebackhide__ = True  # pytest: show the test's line, not this one
    if not isinstance(condition, (bool, np.bool_)) and not (isinstance(condition, Integral)):
        raise TypeError(f"check_that: condition must be a bool, got {_kind(condition)}")
    if not condition:
        lines = [f"✗ {name}", f"  expected: {expected}", f"  got:      {got}"]
        if hint:
            lines.append(f"  hint: {hint}")
        raise CheckFailed("\n".join(lines)) from None
    _ok(name)


@contextlib.contextmanager
def substitute(namespace: MutableMapping[str, Any], **replacements: Any) -> Iterator[None]:
    """Temporarily replace names in ``namespace`` (usually ``globals()``), restoring them after.

    Tests use it to check one function on its own: a student's ``rnn_forward``
    calls ``rnn_step_forward`` by name, so replacing that name with a stand-in
    tests the loop without depending on the step.

    >>> with substitute(globals(), rnn_step_forward=fake_step):
    ...     h, cache = rnn_forward(x, h0, W, U)
    """
    if not isinstance(namespace, MutableMapping):
        raise TypeError(f"substitute: namespace must be a dict such as globals(), got {_kind(namespace)}")
    missing = object()
    saved = {key: namespace.get(key, missing) for key in replacements}
    namespace.update(replacements)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is missing:
                namespace.pop(key, None)
            else:
                namespace[key] = value


@contextlib.contextmanager
def overflow_is_an_error() -> Iterator[None]:
    """``np.errstate(over="raise", invalid="raise")`` that the code under test cannot switch off.

    A function that avoids an overflow passes; one that silences it with its own
    ``np.errstate(over="ignore")`` or ``np.seterr(...)`` does not: while this
    context is active, both keep overflow and invalid operations an error
    (``FloatingPointError``). Other categories (underflow, divide) stay as the code sets them.

    >>> with overflow_is_an_error():
    ...     big = sigmoid(np.array([-1000.0, 1000.0]))
    """
    real_errstate, real_seterr = np.errstate, np.seterr
    strict = {"over": "raise", "invalid": "raise"}

    class _StrictErrstate(real_errstate):  # type: ignore[misc, valid-type]
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**{**kwargs, **strict})

    def _strict_seterr(**kwargs: Any) -> dict[str, str]:
        return real_seterr(**{**kwargs, **strict})

    np.errstate, np.seterr = _StrictErrstate, _strict_seterr  # type: ignore[misc, assignment]
    try:
        with real_errstate(**strict):
            yield
    finally:
        np.errstate, np.seterr = real_errstate, real_seterr  # type: ignore[misc]


_MOVE_SPY: type | None = None


def _move_spy_class() -> type:
    """The tensor subclass behind :func:`watch_device_moves`, built on first use (torch is loaded lazily)."""
    global _MOVE_SPY
    if _MOVE_SPY is None:
        import torch

        class _MoveSpy(torch.Tensor):
            """A tensor that notes when it is moved (``.to(...)``, ``.cuda()``, or a ``device=`` argument)."""

            _spy_moved: bool

            @classmethod
            def __torch_function__(cls, func: Any, types: Any, args: Sequence[Any] = (), kwargs: Any = None) -> Any:
                kwargs = kwargs or {}
                name = getattr(func, "__name__", "")
                if name in ("to", "cuda") or "device" in kwargs:
                    for arg in list(args) + list(kwargs.values()):
                        if isinstance(arg, cls):
                            arg._spy_moved = True
                with torch._C.DisableTorchFunctionSubclass():
                    return func(*args, **kwargs)

        _MOVE_SPY = _MoveSpy
    return _MOVE_SPY


def watch_device_moves(*tensors: torch.Tensor) -> tuple[list[torch.Tensor], Callable[[], list[bool]]]:
    """Copies of ``tensors`` that remember whether the code under test moved them to a device.

    On a CPU-only machine a batch that is never moved to the model's device
    still works; this is how a test sees the move anyway. Anything computed
    from a watched tensor is an ordinary tensor.

    Returns:
        the watched tensors (same values, dtype and device), and a function that
        returns, for each, whether it was moved (``.to(...)``, ``.cuda()`` or a
        ``device=`` argument).

    >>> (x, y), moved = watch_device_moves(inputs, labels)
    >>> train_step(model, (x, lengths, y), optimizer, loss_fn)
    >>> all(moved())
    """
    watched = []
    for t in tensors:
        if not is_tensor(t):
            raise TypeError(f"watch_device_moves: expected tensors, got {_kind(t)}")
        spy = t.detach().clone().as_subclass(_move_spy_class())
        spy._spy_moved = False
        watched.append(spy)
    return watched, lambda: [bool(w._spy_moved) for w in watched]


_BLOCKED_MESSAGE = (
    "{name} is the course's own implementation of what this question asks you to write; it cannot be "
    "used in an answer (the grading checks run with it switched off). Write it yourself."
)


def _resolve(path: str) -> Any:
    """The object named by a dotted path such as ``course_utils.models.decoding.greedy_decode``."""
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            break
        return obj
    raise ImportError(f"course_versions_unavailable: cannot import {path!r}")


def _functions_of(path: str) -> list[types.FunctionType]:
    """The Python functions behind a path: a function (unwrapped), or every function a class defines."""
    obj = _resolve(path)
    if isinstance(obj, type):
        found = []
        for klass in obj.__mro__:
            if klass.__module__.split(".")[0] != "course_utils":
                continue
            for value in vars(klass).values():
                value = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
                if isinstance(value, types.FunctionType):
                    found.append(inspect.unwrap(value))
        return found
    fn = inspect.unwrap(obj)
    if not isinstance(fn, types.FunctionType):
        raise TypeError(f"course_versions_unavailable: {path} is {_kind(obj)}, not a function or class")
    return [fn]


def _blocker(fn: types.FunctionType, name: str) -> types.CodeType:
    """Code that raises at once, with the same free variables as ``fn`` (so it can replace fn.__code__)."""
    free = fn.__code__.co_freevars
    message = _BLOCKED_MESSAGE.format(name=name)
    source = "def _outer():\n" + "".join(f"    {v} = None\n" for v in free)
    source += "    def _blocked(*args, **kwargs):\n" + "".join(f"        {v}\n" for v in free)
    source += f"        raise RuntimeError({message!r})\n    return _blocked\n"
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<{name} switched off>", "exec"), namespace)
    code = namespace["_outer"]().__code__
    assert code.co_freevars == free, (code.co_freevars, free)
    return code


def _loaded(path: str) -> bool:
    """Whether the module that defines ``path`` is imported already (its object resolves from sys.modules)."""
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):
        module = sys.modules.get(".".join(parts[:i]))
        if module is None:
            continue
        obj: Any = module
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        return True
    return False


def _defined_in_a_module_file(path: str) -> bool:
    """Whether some prefix of ``path`` names a module file of the course_utils package (nothing is imported)."""
    from pathlib import Path

    folder = Path(__file__).resolve().parent
    for part in path.split(".")[1:]:
        if (folder / f"{part}.py").is_file():
            return True
        if not (folder / part / "__init__.py").is_file():
            return False
        folder = folder / part
    return False


class _SwitchOffOnImport(importlib.abc.MetaPathFinder):
    """Switches a course function off the moment its module is first imported.

    :func:`course_versions_unavailable` does not import a module that is not
    loaded yet (``course_utils.models`` would load torch, seconds in a NumPy
    assignment's kernel); this finder waits for the first import of it instead.
    """

    def __init__(self, pending: list[str], switch_off: Callable[[str], None]) -> None:
        self.pending, self.switch_off = pending, switch_off

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if not any(p == fullname or p.startswith(fullname + ".") for p in self.pending):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        hook = self

        class _Loader(importlib.abc.Loader):
            def create_module(self, spec: Any) -> Any:
                return loader.create_module(spec)

            def exec_module(self, module: Any) -> None:
                loader.exec_module(module)
                for pending_path in [p for p in hook.pending if _loaded(p)]:
                    hook.pending.remove(pending_path)
                    hook.switch_off(pending_path)

        spec.loader = _Loader()
        return spec


@contextlib.contextmanager
def course_versions_unavailable(*paths: str) -> Iterator[None]:
    """Make the course's own implementations unusable while a check runs.

    An assignment question must not be answerable by calling the library's
    version of the same thing (``return course_utils.models.decoding.greedy_decode(...)``).
    Inside this context every named function, and every method of every named
    class, raises ``RuntimeError`` instead. Their code objects are replaced, so
    aliases made at import time (``from ... import greedy_decode as g``) and
    subclasses are switched off too; everything is restored on exit. A module
    not imported yet is not imported here: its functions are switched off when
    the code under test first imports it.

    Args:
        paths: dotted paths, e.g. ``"course_utils.models.charrnn.predict_topk"``
            or a class ``"course_utils.models.seq2seq.EncoderRNN"``.
    """
    saved: list[tuple[types.FunctionType, types.CodeType]] = []

    def switch_off(path: str) -> None:
        for fn in _functions_of(path):
            if any(fn is done for done, _ in saved):
                continue
            saved.append((fn, fn.__code__))
            fn.__code__ = _blocker(fn, path)

    pending = []
    for path in paths:
        if not isinstance(path, str) or not path.startswith("course_utils."):
            raise ValueError(f"course_versions_unavailable: expected a dotted path in course_utils, got {path!r}")
        if _loaded(path):
            switch_off(path)
        elif _defined_in_a_module_file(path):
            pending.append(path)
        else:
            raise ImportError(f"course_versions_unavailable: cannot import {path!r}")
    finder = _SwitchOffOnImport(pending, switch_off) if pending else None
    if finder is not None:
        sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        if finder is not None and finder in sys.meta_path:
            sys.meta_path.remove(finder)
        for fn, code in reversed(saved):
            fn.__code__ = code
