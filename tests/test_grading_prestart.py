"""Kernels started ahead (course_utils.instructor.prestart): what may be taken, and that nothing stays running.

A kernel started ahead must be exactly what the run that takes it would have
started (kernel, environment, the files of its folder), young enough for the
sandbox's wall-time limit, used once and shut down.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from course_utils.instructor import prestart

KERNEL = "rnn-course"


@pytest.fixture(autouse=True)
def _no_kernel_left():
    from attacks.course import ensure_kernel

    ensure_kernel()
    prestart.discard_prestarted()
    yield
    assert prestart.discard_prestarted() == 0, "a test left a kernel started ahead"


def _pid(km) -> int:
    return km.provisioner.process.pid


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_kernel_folder_files_are_what_the_sandbox_copies(tmp_path: Path) -> None:
    (tmp_path / "a.ipynb").write_text("{}")  # notebooks hold the hidden tests: never copied
    (tmp_path / ".hidden").write_text("x")
    (tmp_path / "data.csv").write_text("1,2\n")
    (tmp_path / "link").symlink_to(tmp_path / "data.csv")
    assert prestart.kernel_folder_files(tmp_path) == {"data.csv": b"1,2\n"}
    (tmp_path / "sub").mkdir()
    assert prestart.kernel_folder_files(tmp_path) is None  # not compared: the run starts its own kernel


def test_only_a_matching_young_kernel_is_taken_and_the_rest_is_shut_down(monkeypatch) -> None:
    other = prestart.prestart_kernel(KERNEL, purpose="recheck")
    old = prestart.prestart_kernel(KERNEL, purpose="autograde", files={"data.csv": b"1"})
    assert prestart.take_prestarted(KERNEL, purpose="autograde", files={}) is None  # its folder differs
    assert prestart.take_prestarted("no-such-kernel", purpose="autograde") is None
    pid = _pid(old.take())
    assert (Path(old.folder) / "data.csv").read_bytes() == b"1"
    assert prestart.take_prestarted(KERNEL, purpose="autograde", max_age_s=0.0) is None  # too old: stopped
    assert not _alive(pid) and not Path(old.folder).exists()
    assert prestart.prestarted() == [other]

    monkeypatch.setenv("RNN_SANDBOX_WALL_S", "7")  # the environment changed since it started: not that kernel
    assert prestart.take_prestarted(KERNEL, purpose="recheck") is None
    monkeypatch.undo()
    taken = prestart.take_prestarted(KERNEL, purpose="recheck")
    pid = _pid(taken.km)
    assert taken is other and _alive(pid) and prestart.prestarted() == []
    taken.close()
    assert not _alive(pid) and not Path(taken.folder).exists()

    keep = prestart.prestart_kernel(KERNEL, purpose="autograde")
    drop = prestart.prestart_kernel(KERNEL, purpose="recheck")
    pid = _pid(drop.take())
    assert prestart.discard_prestarted("autograde", keep=lambda k: k is keep) == 0
    assert prestart.discard_prestarted("recheck") == 1 and prestart.prestarted() == [keep]
    assert not _alive(pid)
    assert prestart.discard_prestarted() == 1


def _grade(folder: Path, prestarted: bool) -> nbformat.NotebookNode:
    from traitlets.config import Config

    from course_utils.instructor.preprocessors import GradingExecute

    cfg = Config()
    cfg.GradingExecute.kernel_name = KERNEL
    cfg.GradingExecute.prestarted = prestarted
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os, sys\nprint(os.getcwd(), 'json' in sys.modules, len(In))")])
    out, _ = GradingExecute(config=cfg).preprocess(nb, {"metadata": {"path": str(folder)}})
    return out


def test_grading_takes_a_kernel_started_ahead_only_when_its_folder_matches(tmp_path: Path) -> None:
    """The grading run takes the kernel (modules loaded, no input history), then stops it and removes its folder."""
    warm = prestart.prestart_kernel(KERNEL, modules=("json",), purpose="autograde")
    pid = _pid(warm.take())
    (tmp_path / "sub.ipynb").write_text("{}")  # the notebook being graded is not part of the kernel's folder
    text = _grade(tmp_path, prestarted=False).cells[0].outputs[0]["text"]
    assert text.split()[0] == str(tmp_path) and prestart.prestarted() == [warm]  # off: not taken

    text = _grade(tmp_path, prestarted=True).cells[0].outputs[0]["text"]
    folder, loaded, history = text.split()
    assert folder == os.path.realpath(warm.folder) and loaded == "True" and history == "2", text
    assert prestart.prestarted() == [] and not _alive(pid) and not Path(warm.folder).exists()

    other = prestart.prestart_kernel(KERNEL, purpose="autograde")
    (tmp_path / "data.csv").write_text("the instructor's file")  # a folder the kernel started ahead does not have
    text = _grade(tmp_path, prestarted=True).cells[0].outputs[0]["text"]
    assert text.split()[0] == str(tmp_path) and prestart.prestarted() == [other]
    assert prestart.discard_prestarted() == 1


def test_a_kernel_that_died_while_it_waited_is_not_taken(tmp_path: Path) -> None:
    """A dead kernel started ahead is refused with a reason; the run grades in a kernel of its own."""
    import signal

    dead = prestart.prestart_kernel(KERNEL, modules=("json",), purpose="autograde")
    pid = _pid(dead.take())
    assert dead.responds()
    os.kill(pid, signal.SIGKILL)
    said: list[str] = []
    assert prestart.take_prestarted(KERNEL, purpose="autograde", log=said.append) is None
    assert prestart.prestarted() == [] and not Path(dead.folder).exists()
    assert len(said) == 1 and "does not answer" in said[0], said

    dead = prestart.prestart_kernel(KERNEL, purpose="autograde")
    os.kill(_pid(dead.take()), signal.SIGKILL)
    (tmp_path / "sub.ipynb").write_text("{}")
    text = _grade(tmp_path, prestarted=True).cells[0].outputs[0]["text"]  # graded in a kernel of its own
    assert text.split()[0] == str(tmp_path) and prestart.prestarted() == []
