"""The sandboxed autograde kernel: install it, describe its limits.

Autograding runs every student's notebook, i.e. untrusted code. The grader
runs it in a Jupyter kernel named ``rnn-course-sandbox`` whose launcher
(:mod:`course_utils.instructor.sandbox_launcher`) starts ``ipykernel`` under
bubblewrap (``bwrap``):

* the file system is empty except, read-only, the system libraries, the Python
  environment and the course's package (``course_utils``); ``solutions/``, the
  gradebook, ``grading/`` (every other student), the rest of the course and the
  instructor's home do not exist in there;
* the submission's own folder appears at its usual path as a size-limited
  in-memory copy (writable, discarded afterwards), ``/tmp`` likewise;
* no network (own network namespace with only a loopback interface), own PID,
  IPC and UTS namespaces;
* rlimits on address space, processes, file size, CPU time and open files; a
  wall-time limit and an output cap enforced from outside.

nbgrader itself, which writes the gradebook, stays outside. Use::

    from course_utils.instructor.sandbox import ensure_sandbox_kernel
    kernel_name = ensure_sandbox_kernel()      # "rnn-course-sandbox"
    # c.ExecutePreprocessor.kernel_name = kernel_name   (nbgrader config)

Limits come from :class:`SandboxLimits`; each can be overridden by an
environment variable ``RNN_SANDBOX_<FIELD>`` (e.g. ``RNN_SANDBOX_WALL_S=600``)
in the environment of the grading command.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path

from course_utils._files import atomic_path
from course_utils.instructor import sandbox_launcher as launcher
from course_utils.instructor.sandbox_launcher import SandboxLimits, find_bwrap

KERNEL_NAME = "rnn-course-sandbox"
DISPLAY_NAME = "RNN course (sandboxed autograder)"

__all__ = [
    "DISPLAY_NAME",
    "KERNEL_NAME",
    "SandboxLimits",
    "SandboxUnavailable",
    "ensure_sandbox_kernel",
    "find_bwrap",
    "sandbox_features",
    "sandbox_status",
    "select_grading_kernel",
]


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces on this machine."""


def sandbox_status() -> tuple[bool, str]:
    """Whether a sandbox can be started here, and why not.

    Runs ``bwrap`` once with the namespaces the launcher uses.
    """
    import subprocess

    bwrap = find_bwrap()
    if bwrap is None:
        return False, "bubblewrap (bwrap) is not installed; apt-get install bubblewrap"
    argv = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
            "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"]
    if os.geteuid() != 0:
        argv += ["--unshare-user", "--disable-userns"]
    argv += ["--", "/bin/true"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"bwrap could not run: {exc}"
    if done.returncode != 0:
        return False, (f"bwrap cannot create namespaces here ({done.stderr.strip()}); "
                       "unprivileged user namespaces may be disabled (sysctl "
                       "kernel.unprivileged_userns_clone / user.max_user_namespaces)")
    features = sandbox_features()
    extras = "; ".join(f"{name}: {state}" for name, state in features.items())
    return True, f"bubblewrap at {bwrap}; {extras}"


def sandbox_features() -> dict[str, str]:
    """Which of the optional hard limits the sandbox applies on this machine, and why not.

    ``{"cgroup v2 memory/process cap": "...", "seccomp filter": "..."}``; each value starts with
    ``active`` or ``off``. Neither is applied by the launcher today: the per-process rlimits, the
    PID namespace and the size-limited tmpfs are what bounds a submission (see the README).
    """
    out: dict[str, str] = {}
    controllers = Path("/sys/fs/cgroup/cgroup.controllers")
    if not controllers.is_file():
        out["cgroup v2 memory/process cap"] = ("off (this machine mounts cgroup v1, or no cgroup at "
                                                "/sys/fs/cgroup; per-process rlimits apply instead)")
    else:
        have = set(controllers.read_text().split())
        missing = {"memory", "pids"} - have
        out["cgroup v2 memory/process cap"] = (
            f"off (cgroup v2 without the {', '.join(sorted(missing))} controller)" if missing else
            "off (cgroup v2 is available here, but the launcher does not create a cgroup per submission yet)")
    try:
        import seccomp  # noqa: F401  (libseccomp's own Python binding, Debian's python3-seccomp)

        out["seccomp filter"] = "off (libseccomp's binding is installed, but the launcher does not load a filter yet)"
    except ImportError:
        out["seccomp filter"] = ("off (no Python binding of libseccomp in this environment to build the filter "
                                 "bwrap --seccomp loads)")
    return out


def kernel_dir(prefix: str | None = None) -> Path:
    """Folder of the sandbox kernelspec inside the environment ``prefix`` (default: this venv)."""
    return Path(prefix or sys.prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME


def kernelspec() -> dict:
    """The kernel.json contents: the launcher, interrupts by message, no encryption."""
    python = os.path.join(sys.prefix, "bin", "python")
    if not os.path.exists(python):
        python = sys.executable
    # run by path, not with -m: importing the course_utils package would import torch (seconds)
    return {
        "argv": [python, "-I", "-Xfrozen_modules=off", os.path.abspath(launcher.__file__),
                 "-f", "{connection_file}"],
        "display_name": DISPLAY_NAME,
        "language": "python",
        # the launcher ignores SIGINT: the kernel is interrupted over its control channel
        "interrupt_mode": "message",
        "metadata": {"rnn_course_sandbox": True},
    }


def ensure_sandbox_kernel(prefix: str | None = None, *, check: bool = True) -> str:
    """Install (idempotently) the ``rnn-course-sandbox`` kernelspec; return its name.

    Args:
        prefix: environment to install into (default ``sys.prefix``, the venv,
            i.e. ``<prefix>/share/jupyter/kernels/rnn-course-sandbox``).
        check: raise :class:`SandboxUnavailable` when bwrap cannot run here.

    Returns:
        The kernel name to give nbgrader (``ExecutePreprocessor.kernel_name``).
    """
    if check:
        ok, why = sandbox_status()
        if not ok:
            raise SandboxUnavailable(why)
    folder = kernel_dir(prefix)
    folder.mkdir(parents=True, exist_ok=True)
    spec_file = folder / "kernel.json"
    text = json.dumps(kernelspec(), indent=1) + "\n"
    if not spec_file.exists() or spec_file.read_text() != text:
        with atomic_path(spec_file) as tmp:
            tmp.write_text(text)
            tmp.chmod(0o644)  # readable as a kernelspec written by hand is (mkstemp makes it 0600)
    return KERNEL_NAME


def select_grading_kernel(sandbox: bool = True, *, fallback: str = "rnn-course") -> str:
    """Kernel name for autograding: the sandbox, or (explicitly, with a warning) the plain one.

    Hook for ``autograde.grade(sandbox=...)``: ``kernel = select_grading_kernel(sandbox)``.
    """
    if sandbox:
        return ensure_sandbox_kernel()
    warnings.warn(
        "Autograding WITHOUT the sandbox: student code runs with your rights and can read "
        "solutions/, other submissions and the gradebook, and forge its grade.",
        RuntimeWarning,
        stacklevel=2,
    )
    return fallback
