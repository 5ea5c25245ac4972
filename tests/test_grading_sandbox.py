"""The sandboxed autograde kernel: configuration, what the kernel can see, full marks inside it.

The attack matrix is in ``test_grading_attacks.py``; the overhead per submission is
measured in ``benchmarks/bench_sandbox.py``. Tests that start a sandbox skip when
bubblewrap cannot run here, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from attacks.builders import attacks
from attacks.course import TEST_LIMITS, TEST_OVERRIDES, ensure_kernel, make_course, require_sandbox

from course_utils.instructor import sandbox, sandbox_launcher
from course_utils.instructor.sandbox import KERNEL_NAME, SandboxLimits, SandboxUnavailable


# --- configuration (no sandbox needed) ------------------------------------------------
def test_limits_from_env_overrides_and_rejects_bad_values() -> None:
    limits = SandboxLimits.from_env({"RNN_SANDBOX_WALL_S": "60", "RNN_SANDBOX_MEMORY_MIB": "1024"})
    assert (limits.wall_s, limits.memory_mib) == (60, 1024)
    assert limits.nproc == SandboxLimits().nproc
    with pytest.raises(ValueError, match="RNN_SANDBOX_NPROC must be an integer"):
        SandboxLimits.from_env({"RNN_SANDBOX_NPROC": "many"})
    with pytest.raises(ValueError, match="positive"):
        SandboxLimits.from_env({"RNN_SANDBOX_WALL_S": "0"})


def test_kernelspec_is_installed_idempotently(tmp_path: Path) -> None:
    name = sandbox.ensure_sandbox_kernel(prefix=str(tmp_path), check=False)
    spec_file = tmp_path / "share" / "jupyter" / "kernels" / KERNEL_NAME / "kernel.json"
    first = spec_file.read_text()
    assert sandbox.ensure_sandbox_kernel(prefix=str(tmp_path), check=False) == name == KERNEL_NAME
    assert spec_file.read_text() == first
    spec = json.loads(first)
    assert spec["argv"][-2:] == ["-f", "{connection_file}"]
    assert spec["argv"][-3] == os.path.abspath(sandbox_launcher.__file__)
    assert spec["interrupt_mode"] == "message"
    assert "-I" in spec["argv"], "the launcher runs isolated from PYTHONPATH and the user site"


def test_launcher_does_not_import_torch() -> None:
    """The launcher starts before every submission: it must stay cheap (no course_utils package import)."""
    code = ("import runpy, sys; sys.argv = ['x', '--help']\n"
            f"try:\n    runpy.run_path({sandbox_launcher.__file__!r}, run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'numpy', 'course_utils')))")
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout + done.stderr


def test_bwrap_command_exposes_only_code_environment_and_submission(tmp_path: Path) -> None:
    course = tmp_path / "course"
    workdir = course / "grading" / "autograded" / "alice" / "01"
    workdir.mkdir(parents=True)
    (course / "solutions").mkdir()
    limits = SandboxLimits().as_dict()
    argv = sandbox_launcher.bwrap_argv(bwrap="/usr/bin/bwrap", workdir=str(workdir), limits=limits,
                                       info_fd=5, conn_fd=6, root=True)
    binds = {argv[i + 2]: argv[i + 1] for i, a in enumerate(argv) if a in ("--ro-bind", "--bind")}
    assert "--bind" not in argv, "nothing on the host may be mounted writable"
    for flag in ("--unshare-net", "--unshare-pid", "--unshare-ipc", "--die-with-parent", "--new-session",
                 "--clearenv"):
        assert flag in argv
    assert sys.prefix in binds and os.path.realpath(sys.base_prefix) in binds
    import course_utils

    assert os.path.dirname(os.path.realpath(course_utils.__file__)) in binds
    assert binds[sandbox_launcher.INNER_SOURCE] == str(workdir)
    for secret in (course, course / "solutions", course / "grading", Path.home()):
        assert str(secret) not in binds, f"{secret} must not be visible in the sandbox"
    # the submission folder is a size-limited tmpfs at its own path
    i = next(i for i, a in enumerate(argv) if a == str(workdir) and argv[i - 1] == "--tmpfs")
    assert argv[i - 3] == "--size"
    env = {argv[i + 1]: argv[i + 2] for i, a in enumerate(argv) if a == "--setenv"}
    assert env["COURSE_DEVICE"] == "cpu" and env["HOME"].startswith("/tmp")
    assert "--unshare-user" not in argv  # root: the inner half drops to an unused uid instead
    user_argv = sandbox_launcher.bwrap_argv(bwrap="/usr/bin/bwrap", workdir=str(workdir), limits=limits,
                                            info_fd=5, conn_fd=6, root=False)
    assert "--unshare-user" in user_argv and "--disable-userns" in user_argv


def test_missing_bwrap_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RNN_SANDBOX_BWRAP", "/nonexistent/bwrap")
    ok, why = sandbox.sandbox_status()
    assert not ok and "bwrap" in why
    with pytest.raises(SandboxUnavailable):
        sandbox.ensure_sandbox_kernel()


def test_turning_the_sandbox_off_warns() -> None:
    with pytest.warns(RuntimeWarning, match="WITHOUT the sandbox"):
        assert sandbox.select_grading_kernel(False) == "rnn-course"


def test_ci_turns_a_missing_sandbox_into_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    from attacks import course as course_mod

    monkeypatch.setattr(sandbox, "sandbox_status", lambda: (False, "no bwrap (test)"))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        course_mod.require_sandbox()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="no bwrap"):
        course_mod.require_sandbox()


# --- inside the sandbox ---------------------------------------------------------------
def _run_in_kernel(cwd: Path, code: str, env: dict | None = None) -> dict:
    """Run ``code`` (which prints one JSON line) in the sandboxed kernel started in ``cwd``."""
    from jupyter_client.manager import start_new_kernel

    old = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        km, kc = start_new_kernel(kernel_name=KERNEL_NAME, cwd=str(cwd), startup_timeout=120)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    try:
        out: list[str] = []
        kc.execute_interactive(code, timeout=120, output_hook=lambda m: out.append(
            m["content"].get("text", "") if m["msg_type"] == "stream" else ""))
    finally:
        km.shutdown_kernel(now=True)
    return json.loads("".join(out).strip().splitlines()[-1])


@pytest.mark.slow
def test_kernel_sees_only_its_own_folder(tmp_path: Path) -> None:
    require_sandbox()
    ensure_kernel()
    course = tmp_path / "course"
    sub = course / "grading" / "autograded" / "alice" / "a1"
    sub.mkdir(parents=True)
    (sub / "data.txt").write_text("mine")
    (course / "solutions").mkdir()
    (course / "solutions" / "answer.txt").write_text("secret")
    code = r'''
import json, os, socket
def can(f):
    try:
        f(); return True
    except Exception as e:
        return type(e).__name__
res = {
    "cwd": os.getcwd(), "uid": os.getuid(), "files": sorted(os.listdir(".")),
    "data": open("data.txt").read(),
    "write_own": can(lambda: open("new.txt", "w").write("x")),
    "solutions": can(lambda: os.listdir(%r)),
    "course_listing": sorted(os.listdir(%r)),
    "venv_write": can(lambda: open(os.path.join(os.__file__ + "_x"), "w")),
    "root_write": can(lambda: open("/pwned", "w")),
    "net": can(lambda: socket.create_connection(("127.0.0.1", 22), timeout=2)),
    "home": os.environ["HOME"], "sandboxed": os.environ.get("RNN_SANDBOXED"),
    "nproc_visible": len([p for p in os.listdir("/proc") if p.isdigit()]),
}
print(json.dumps(res))
''' % (str(course / "solutions"), str(course))  # noqa: UP031 (%r: the kernel code's own braces stay as they are)
    res = _run_in_kernel(sub, code, env={"GRADER_TOKEN": "xyz"})
    assert res["cwd"] == str(sub.resolve())
    assert res["files"] == ["data.txt"] and res["data"] == "mine"
    assert res["write_own"] is True
    assert res["solutions"] == "FileNotFoundError"
    assert res["course_listing"] == ["grading"], "only the path down to its own folder exists"
    assert res["venv_write"] in ("OSError", "PermissionError")
    assert res["root_write"] in ("OSError", "PermissionError")
    assert res["net"] in ("ConnectionRefusedError", "OSError")
    assert res["sandboxed"] == "1"
    if os.geteuid() == 0:
        assert res["uid"] >= sandbox_launcher.SANDBOX_UID_BASE, "root must drop to an unprivileged uid"
    assert res["nproc_visible"] < 10, "the kernel must not see the host's processes"
    assert not (sub / "new.txt").exists(), "writes inside the sandbox must not reach the host's disk"


@pytest.mark.slow
def test_solution_scores_full_marks_sandboxed_and_attack_is_real_without_it(tmp_path: Path) -> None:
    """Full marks in the sandbox; the read-solutions attack gets 0 in it and full marks without it."""
    require_sandbox()
    ensure_kernel()
    course = make_course(tmp_path, overrides=TEST_OVERRIDES)
    steal = next(a for a in attacks(course=str(course.root), assignment=course.assignment, honest="a_honest",
                                    home_secret="/nonexistent", env_secret="-", port=1, host_ip="127.0.0.1")
                 if a.name == "read_solutions")
    course.submit("a_honest", course.honest_notebook())
    course.submit("thief", course.attack_notebook(steal.code, everywhere=True))
    run = course.autograde(kernel=KERNEL_NAME, env=TEST_LIMITS)
    scores = course.scores()
    assert scores["a_honest"] == course.max_score(), run.stderr[-3000:]
    assert scores["thief"] == 0.0
    assert "SUCCEEDED" not in course.outputs_text("thief")
    # control: the same attack, graded without the sandbox, steals full marks
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        plain = sandbox.select_grading_kernel(False)
    course.autograde(kernel=plain, student="thief")
    assert course.scores()["thief"] == course.max_score(), (
        "control failed: the read-solutions attack should succeed without the sandbox")
    assert "ATTACK read solutions/: SUCCEEDED" in course.outputs_text("thief")


def test_sandbox_status_says_which_hard_limits_apply() -> None:
    features = sandbox.sandbox_features()
    assert set(features) == {"cgroup v2 memory/process cap", "seccomp filter"}
    assert all(state.startswith(("active", "off (")) for state in features.values()), features
    if not Path("/sys/fs/cgroup/cgroup.controllers").is_file():
        assert "cgroup v1" in features["cgroup v2 memory/process cap"]


# --- the grader dies: the sandbox goes with it ------------------------------------------------
_GRADER = '''
import sys, time
from jupyter_client.manager import start_new_kernel
km, kc = start_new_kernel(kernel_name=sys.argv[1], cwd=sys.argv[2], startup_timeout=120)
print(km.provisioner.process.pid, flush=True)   # the launcher
time.sleep(600)
'''


def _children(pid: int) -> list[int]:
    kids = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            kids += [int(p) for p in task.read_text().split()]
        except OSError:
            pass
    return kids


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (host pids)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += _children(p)
    return out


def _running(pids: list[int]) -> list[str]:
    """Those of ``pids`` that still run (a zombie has exited), with their command lines."""
    alive = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")[:120].decode(errors="replace")
        except (OSError, IndexError):
            continue
        if state != "Z":
            alive.append(f"{pid} {cmd}")
    return alive



_WATCHER = """
import os, runpy, sys, threading
watch_parent = runpy.run_path(sys.argv[1])["watch_parent"]
parent = os.getppid()
print("watching", flush=True)
watch_parent(parent, lambda reason: open(sys.argv[2], "w").write(reason), threading.Event(), 0.05)
"""
_MIDDLE = """
import subprocess, sys, time
watcher = subprocess.Popen([sys.executable, "-I", "-c", sys.argv[1], *sys.argv[2:]], stdout=subprocess.PIPE, text=True)
watcher.stdout.readline()
print(watcher.pid, flush=True)
time.sleep(600)
"""


def test_watch_parent_reports_a_killed_parent_once(tmp_path: Path) -> None:
    """``watch_parent`` in a process whose parent is SIGKILLed: it calls back with the parent's pid, then returns."""
    import signal
    import time

    done = tmp_path / "gone.txt"
    middle = subprocess.Popen([sys.executable, "-I", "-c", _MIDDLE, _WATCHER, sandbox_launcher.__file__, str(done)],
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    watcher = int(middle.stdout.readline())
    try:
        time.sleep(0.3)
        assert not done.exists(), "the watcher reported a parent that is alive"
        os.kill(middle.pid, signal.SIGKILL)
        middle.wait(timeout=10)
        deadline = time.monotonic() + 10
        while not (done.exists() and not _running([watcher])) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert done.exists(), "the watcher did not notice its parent's death"
        assert done.read_text() == f"the process that started the kernel (pid {middle.pid}) is gone"
        assert _running([watcher]) == [], "watch_parent did not return after reporting"
    finally:
        for line in _running([middle.pid, watcher]):
            os.kill(int(line.split()[0]), signal.SIGKILL)
        middle.wait(timeout=10)

@pytest.mark.slow
def test_launcher_stops_its_sandbox_when_the_grader_is_killed(tmp_path: Path) -> None:
    """A grader (a Dask worker, nbgrader) SIGKILLed alone: its sandbox launcher and kernel end within seconds.

    The launcher's wall-time limit is set far beyond the wait, so only noticing the dead parent can end it.
    """
    import signal
    import time

    require_sandbox()
    ensure_kernel()
    env = {**os.environ, "RNN_SANDBOX_WALL_S": "600"}
    grader = subprocess.Popen([sys.executable, "-c", _GRADER, KERNEL_NAME, str(tmp_path)], env=env,
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    tree: list[int] = []
    try:
        line = grader.stdout.readline()  # start_new_kernel gives up after 120 s
        assert line.strip().isdigit(), f"the grader did not start a sandboxed kernel (its stderr is above): {line!r}"
        launcher = int(line)
        tree = _tree(launcher)
        assert any("ipykernel_launcher" in line for line in _running(tree)), (
            f"no kernel under the launcher: {_running(tree)}")
        os.kill(grader.pid, signal.SIGKILL)  # the grader alone, not its process group
        grader.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _running(tree) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _running(tree) == [], f"still running 10 s after the grader died: {_running(tree)}"
    finally:
        for line in _running([grader.pid, *tree]):  # only what still runs: no pid of someone else's
            try:
                os.kill(int(line.split()[0]), signal.SIGKILL)
            except OSError:
                pass
        grader.wait(timeout=10)
