"""Unit tests for course_utils.checks: the helpers every assignment test calls."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils.checks import check_close, check_equal, check_shape, check_that, substitute


def test_check_close_passes_and_prints_ok_line(capsys):
    assert check_close("sigmoid(0)", 0.5000000001, 0.5) is None  # None: nbgrader must not see a score
    assert capsys.readouterr().out == "✓ sigmoid(0) OK\n"


def test_check_close_accepts_numpy_scalars_and_one_element_tensors(capsys):
    check_close("a", np.float32(0.25), 0.25)
    check_close("b", torch.tensor(2.0), 2)
    check_close("c", np.array(3.0), 3.0)
    assert capsys.readouterr().out.count("OK") == 3


def test_check_close_reports_expected_got_largest_difference_and_hint():
    with pytest.raises(AssertionError) as err:
        check_close("softmax(z)", np.array([0.2, 0.3, 0.5]), np.array([0.2, 0.3, 0.4]), hint="normalise")
    msg = str(err.value)
    assert msg.startswith("✗ softmax(z): 1 of 3 values differ")
    assert "largest difference 0.1 at index (2,)" in msg
    assert "expected: [0.2000 0.3000 0.4000]" in msg
    assert "got:      [0.2000 0.3000 0.5000]" in msg
    assert msg.rstrip().endswith("hint: normalise")


def test_check_close_checks_type_before_values():
    with pytest.raises(AssertionError, match=r"expected a numpy.ndarray, got torch.Tensor .*\.numpy\(\)"):
        check_close("x", torch.zeros(3), np.zeros(3))
    with pytest.raises(AssertionError, match="expected a torch.Tensor, got numpy.ndarray"):
        check_close("x", np.zeros(3), torch.zeros(3))
    with pytest.raises(AssertionError, match=r"forget to `return`"):
        check_close("x", None, np.zeros(3))
    with pytest.raises(AssertionError, match=r"expected a number, got str"):
        check_close("x", "0.5", 0.5)


def test_check_close_checks_shape_and_optionally_dtype():
    with pytest.raises(AssertionError, match=r"wrong shape: expected \(2, 3\), got \(3, 2\)"):
        check_close("h", np.zeros((3, 2)), np.zeros((2, 3)))
    with pytest.raises(AssertionError, match="wrong dtype: expected torch.float64, got torch.float32"):
        check_close("h", torch.zeros(2), torch.zeros(2, dtype=torch.float64), check_dtype=True)
    check_close("h", torch.zeros(2), torch.zeros(2, dtype=torch.float64))  # values equal, dtype not checked


def test_check_close_flags_nan():
    with pytest.raises(AssertionError, match="contains NaN"):
        check_close("loss", np.array([np.nan, 1.0]), np.array([0.0, 1.0]))
    with pytest.raises(AssertionError, match="is NaN"):
        check_close("loss", float("nan"), 1.0)


def test_check_close_respects_tolerances():
    check_close("x", 1.001, 1.0, rtol=1e-2)
    with pytest.raises(AssertionError, match=r"differs by 0.001"):
        check_close("x", 1.001, 1.0)
    check_close("x", np.array([1e-9]), np.array([0.0]), atol=1e-8)


def test_check_close_moves_tensors_to_cpu():
    got = torch.tensor([1.0, 2.0], requires_grad=True) * 1  # non-leaf with grad: must be detached
    check_close("t", got, torch.tensor([1.0, 2.0]))
    if torch.cuda.is_available():  # on a GPU machine also compare across devices
        check_close("t", got.cuda(), torch.tensor([1.0, 2.0]))


def test_check_equal_on_nested_values_names_first_difference(capsys):
    check_equal("tokens", [1, 2, 3], [1, 2, 3])
    check_equal("classes", {"a": (1, "x")}, {"a": (1, "x")})
    check_equal("ids", torch.tensor([1, 2]), torch.tensor([1, 2]))
    assert capsys.readouterr().out.count("OK") == 3
    with pytest.raises(AssertionError, match=r"\[1\]: expected 2, got 5"):
        check_equal("tokens", [1, 5, 3], [1, 2, 3])
    with pytest.raises(AssertionError, match=r"expected length 3, got 2"):
        check_equal("tokens", [1, 2], [1, 2, 3])
    with pytest.raises(AssertionError, match=r"1 element\(s\) differ, first at index \(1,\)"):
        check_equal("ids", np.array([1, 9]), np.array([1, 2]))
    with pytest.raises(AssertionError, match=r"expected torch.Tensor"):
        check_equal("ids", np.array([1, 2]), torch.tensor([1, 2]))
    with pytest.raises(AssertionError, match=r"missing \['b'\]"):
        check_equal("d", {"a": 1}, {"a": 1, "b": 2})


def test_check_shape_with_wildcards():
    check_shape("h", torch.zeros(4, 7, 3), (4, None, 3))
    with pytest.raises(AssertionError, match=r"expected \(4, any, 2\), got \(4, 7, 3\)"):
        check_shape("h", torch.zeros(4, 7, 3), (4, None, 2))
    with pytest.raises(AssertionError, match=r"expected an array or tensor"):
        check_shape("h", [1, 2], (2,))


def test_check_that_reports_descriptions():
    check_that("changed", True, expected="a change", got="a change")
    with pytest.raises(AssertionError) as err:
        check_that("params changed", False, expected="different weights", got="the same weights",
                   hint="call optimizer.step()")
    assert "expected: different weights" in str(err.value) and "hint: call optimizer.step()" in str(err.value)
    with pytest.raises(TypeError):
        check_that("x", "yes", expected="", got="")  # type: ignore[arg-type]  (the wrong type is the test)


def test_substitute_replaces_and_restores_names():
    namespace = {"f": 1}
    with substitute(namespace, f=2, g=3):
        assert namespace == {"f": 2, "g": 3}
    assert namespace == {"f": 1}
    with pytest.raises(RuntimeError):
        with substitute(namespace, f=5):
            raise RuntimeError("boom")
    assert namespace == {"f": 1}
    with pytest.raises(TypeError):
        with substitute([], f=1):  # type: ignore[arg-type]  (the wrong type is the test)
            pass


# --- failures read well in JupyterLab ------------------------------------------------------------


def test_a_failed_check_is_an_assertion_error_that_renders_as_its_message_and_line():
    from course_utils.checks import CheckFailed

    with pytest.raises(AssertionError) as err:
        check_close("softmax(z)", np.array([0.5, 0.5]), np.array([0.2, 0.8]), hint="exponentiate first")
    assert isinstance(err.value, CheckFailed)
    assert err.value.__cause__ is None and err.value.__suppress_context__
    rendered = err.value._render_traceback_()  # what IPython shows instead of a traceback
    assert rendered[0].startswith("\x1b[0;31mAssertionError\x1b[0m: ✗ softmax(z): 2 of 2 values differ")
    assert "hint: exponentiate first" in rendered[0]
    assert len(rendered) == 2 and "check_close(\"softmax(z)\"" in rendered[1], rendered
    assert "checks.py" not in "\n".join(rendered)


@pytest.mark.slow
def test_in_a_real_kernel_the_message_comes_first_and_alone():
    """Run a failing check in the course kernel: the error's traceback is the message plus one line."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="rnn-course")
    try:
        kc.execute_interactive("from course_utils.checks import check_close", timeout=120)
        errors = []
        def keep_errors(msg: dict) -> None:
            if msg["msg_type"] == "error":
                errors.append(msg["content"])

        kc.execute_interactive("check_close('sigmoid(0.0)', 0.3, 0.5, hint='σ(0) = 1 / (1 + e^0)')", timeout=60,
                               output_hook=keep_errors)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert len(errors) == 1
    error = errors[0]
    assert error["ename"] == "CheckFailed"
    shown = "\n".join(error["traceback"])
    assert shown.index("✗ sigmoid(0.0)") < shown.index("hint: σ(0)"), shown
    assert "checks.py" not in shown and "Traceback" not in shown and len(error["traceback"]) <= 2, shown


def test_check_equal_compares_dtypes_of_arrays_and_tensors():
    check_equal("ids", torch.tensor([1, 2]), torch.tensor([1, 2], dtype=torch.long))
    for dtype in (torch.float32, torch.int32):
        with pytest.raises(AssertionError, match=f"expected dtype torch.int64, got {dtype}"):
            check_equal("ids", torch.tensor([1, 2], dtype=dtype), torch.tensor([1, 2]))
    with pytest.raises(AssertionError, match="expected dtype int64, got float64"):
        check_equal("ids", np.array([1.0, 2.0]), np.array([1, 2]))


# --- helpers for what the assignments' tests check ---------------------------------------------------


def test_overflow_is_an_error_cannot_be_silenced_from_inside_and_restores_numpy():
    from course_utils.checks import overflow_is_an_error

    def silenced(z):
        with np.errstate(over="ignore", all="ignore"):
            return 1.0 / (1.0 + np.exp(-z))

    def seterr_silenced(z):
        old = np.seterr(all="ignore")
        try:
            return 1.0 / (1.0 + np.exp(-z))
        finally:
            np.seterr(**old)

    def avoided(z):
        return 0.5 * (1.0 + np.tanh(0.5 * z))

    before_errstate, before = np.errstate, np.geterr()
    with overflow_is_an_error():
        for fn in (silenced, seterr_silenced):
            with pytest.raises(FloatingPointError):
                fn(np.array([-1000.0]))
        assert avoided(np.array([-1000.0]))[0] == 0.0
    assert np.errstate is before_errstate and np.geterr() == before
    assert silenced(np.array([-1000.0]))[0] == 0.0  # outside, the function's own errstate works again


def test_watch_device_moves_sees_to_and_device_arguments():
    from course_utils.checks import watch_device_moves

    (x, y, z), moved = watch_device_moves(torch.tensor([1, 2]), torch.tensor([3]), torch.tensor([4.0]))
    assert moved() == [False, False, False]
    x2 = x.to(torch.device("cpu"))
    y.to(device="cpu")
    assert moved() == [True, True, False]
    assert torch.equal(x2 + 1, torch.tensor([2, 3]))  # values unchanged, usable as usual
    with pytest.raises(TypeError, match="expected tensors"):
        watch_device_moves([1, 2])


def test_course_versions_unavailable_switches_off_functions_aliases_classes_and_restores():
    from course_utils.checks import course_versions_unavailable
    from course_utils.models import charrnn
    from course_utils.models.decoding import greedy_decode as alias
    from course_utils.models.seq2seq import EncoderRNN

    class Subclass(EncoderRNN):
        pass

    paths = ("course_utils.models.decoding.greedy_decode", "course_utils.models.seq2seq.EncoderRNN",
             "course_utils.models.charrnn.predict_topk")
    with course_versions_unavailable(*paths):
        for call in (lambda: alias(None, None, 3), lambda: EncoderRNN(5, 4), lambda: Subclass(5, 4),
                     lambda: charrnn.predict_topk(None, "x", None, ["a"])):
            with pytest.raises(RuntimeError, match="course's own implementation"):
                call()
    assert isinstance(Subclass(5, 4), EncoderRNN)  # restored
    with pytest.raises(ValueError):  # the real function again: it validates its arguments
        charrnn.predict_topk(None, "", None, ["a"])
    with pytest.raises(ImportError, match="cannot import"):
        with course_versions_unavailable("course_utils.no_such_module.f"):
            pass


@pytest.mark.slow  # a fresh interpreter
def test_course_versions_unavailable_waits_for_a_module_not_imported_yet():
    """A NumPy kernel never loads torch for the switch: the module is switched off when first imported."""
    code = """
import sys
from course_utils.checks import course_versions_unavailable
assert "course_utils.models.chargen" not in sys.modules and "torch" not in sys.modules
with course_versions_unavailable("course_utils.models.chargen.sample"):
    assert "torch" not in sys.modules
    from course_utils.models.chargen import sample
    try:
        sample(None, None, None)
    except RuntimeError as exc:
        assert "course's own implementation" in str(exc), exc
    else:
        raise SystemExit("not switched off")
import course_utils.models.chargen as chargen
import inspect
assert inspect.unwrap(chargen.sample).__code__.co_name == "sample"  # restored on exit
assert not any(type(f).__name__ == "_SwitchOffOnImport" for f in sys.meta_path)
print("ok")
"""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]
