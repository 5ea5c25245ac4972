"""Kernels started ahead of time: a fresh kernel, warmed with trusted imports, used once.

Starting the sandboxed kernel and importing torch take about three seconds,
and a grading task needs two kernels (nbgrader's run and the re-check's). A
kernel started here holds nothing of any submission: it starts in a fresh
folder (empty, or holding the instructor's own files of the assignment),
imports the modules the instructor's notebook imports without binding a name
or keeping history, and serves one notebook run; then it is shut down and its
folder removed.

Two purposes use it:

* ``"recheck"``: started while nbgrader grades a submission, taken by that
  submission's re-check (:mod:`course_utils.instructor.integrity.recheck`);
* ``"autograde"``: started while a submission is re-checked, taken by the next
  submission's grading run on the same worker (``GradingExecute.prestarted``).
  It is taken only while it is younger than ``max_age_s``, so the sandbox's
  wall-time limit, which counts from the kernel's start, is never cut short.

The module keeps the kernels of this process in one list; :func:`discard_prestarted`
shuts down those nobody took (``make grade`` calls it on every worker at the end).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["PrestartedKernel", "discard_prestarted", "kernel_folder_files", "prestart_kernel", "prestarted",
           "prestarted_for", "take_prestarted"]


def _env_key(env: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    """The whole environment a kernel started now would get: this process's, with ``env`` over it."""
    return tuple(sorted({**os.environ, **(env or {})}.items()))


class PrestartedKernel:
    """One kernel being started (or started) in a background thread, for one later notebook run.

    Args:
        kernel_name: the kernelspec (e.g. the grading sandbox's).
        env: environment entries over this process's (None: this process's).
        modules: modules to import once the kernel is up (``("torch", "course_utils.checks")``).
        purpose: who may take it (``"recheck"`` or ``"autograde"``).
        files: relative path -> bytes written into its folder before it starts.
        start_kwargs: passed on to ``AsyncKernelManager.start_kernel`` (``extra_arguments``,
            ``preexec_fn``), as the run that takes it would have passed them.
    """

    def __init__(self, kernel_name: str, env: Mapping[str, str] | None = None, modules: tuple[str, ...] = (), *,
                 purpose: str = "recheck", files: Mapping[str, bytes] | None = None,
                 start_kwargs: Mapping[str, Any] | None = None) -> None:
        import threading

        self.kernel_name, self.env_key, self.modules, self.purpose = kernel_name, _env_key(env), modules, purpose
        self.files_key = tuple(sorted((files or {}).items()))
        self.folder = tempfile.mkdtemp(prefix=f"rnn-{purpose}-")
        for rel, data in (files or {}).items():
            path = Path(self.folder, rel)
            if not path.resolve().is_relative_to(Path(self.folder).resolve()):
                raise ValueError(f"a prestarted kernel's file must stay in its folder, got {rel!r}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        self.km: Any = None
        self.error: BaseException | None = None
        self.started_at = time.monotonic()
        self._start_kwargs = dict(start_kwargs or {})
        self._thread = threading.Thread(target=self._start, args=({**os.environ, **(env or {})},), daemon=True,
                                        name=f"rnn-prestart-{purpose}")
        self._thread.start()

    @property
    def age_s(self) -> float:
        """Seconds since the kernel's start was requested."""
        return time.monotonic() - self.started_at

    def matches(self, kernel_name: str, env: Mapping[str, str] | None = None, *, purpose: str = "recheck",
                modules: tuple[str, ...] | None = None, files: Mapping[str, bytes] | None = None) -> bool:
        """Whether this kernel is what a run with these settings would start now (``None``: any).

        The environment is compared whole (the sandbox's limits are read from it when it starts).
        """
        return (self.kernel_name == kernel_name and self.env_key == _env_key(env) and self.purpose == purpose
                and (modules is None or tuple(modules) == self.modules)
                and (files is None or tuple(sorted(files.items())) == self.files_key))

    def _start(self, full_env: dict[str, str]) -> None:
        import asyncio

        try:
            asyncio.run(self._async_start(full_env))
        except BaseException as exc:  # the run then starts its own kernel
            self.error = exc

    async def _async_start(self, full_env: dict[str, str]) -> None:
        # nbclient drives the kernel with asyncio (interrupts on timeout included), so the manager is
        # the asynchronous one it would create itself
        from jupyter_client import AsyncKernelManager

        km = AsyncKernelManager(kernel_name=self.kernel_name)
        await km.start_kernel(cwd=self.folder, env=full_env, **self._start_kwargs)
        self.km = km
        if not self.modules:
            return
        # load the modules the instructor's notebook imports (torch...): no name bound, no history kept
        code = ("import importlib as _il\n"
                f"for _m in {list(self.modules)!r}:\n"
                "    try:\n        _il.import_module(_m)\n    except Exception:\n        pass\n"
                "del _il, _m\n")
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=120)
            await kc.execute_interactive(code, store_history=False, silent=True, timeout=120,
                                         output_hook=lambda msg: None)
        finally:
            kc.stop_channels()

    def take(self) -> Any:
        """The started kernel manager, or None when it could not start (waits for the start to finish)."""
        self._thread.join()
        return self.km

    def responds(self, timeout: float = 10.0) -> bool:
        """Whether the kernel started without error and answers a ``kernel_info`` request within ``timeout`` s.

        A run given a kernel that died while it waited fails at once; one given a kernel that
        stopped answering waits out nbclient's start-up limit (60 s) first. Either way the
        submission lost its grade.
        """
        import threading

        km = self.take()
        if km is None or self.error is not None:
            return False
        answered: list[bool] = []

        def ask() -> None:  # in a thread of its own: no event loop of the caller's is touched
            kc = km.blocking_client()
            try:
                kc.start_channels()
                kc.wait_for_ready(timeout=timeout)
                answered.append(True)
            except Exception as exc:  # any failure means: do not use this kernel
                self.error = exc
            finally:
                with contextlib.suppress(Exception):
                    kc.stop_channels()

        asker = threading.Thread(target=ask, daemon=True, name="rnn-prestart-check")
        asker.start()
        asker.join(timeout + 5)
        return bool(answered)

    def close(self) -> None:
        """Shut the kernel down (now: its outputs, if any, were read) and remove its folder."""
        import asyncio
        import shutil
        import threading

        self._thread.join()
        km, self.km = self.km, None
        if km is not None and km.has_kernel:
            def stop() -> None:
                with contextlib.suppress(Exception):
                    asyncio.run(km.shutdown_kernel(now=True))

            stopper = threading.Thread(target=stop, daemon=True)  # no event loop of the caller's is touched
            stopper.start()
            stopper.join(timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)


_PRESTARTED: list[PrestartedKernel] = []


def prestarted() -> list[PrestartedKernel]:
    """The kernels of this process started ahead and not taken yet (a copy)."""
    return list(_PRESTARTED)


def prestarted_for(purpose: str) -> bool:
    """Whether a kernel of ``purpose`` was started ahead and is not taken yet."""
    return any(k.purpose == purpose for k in _PRESTARTED)


def prestart_kernel(kernel_name: str, env: Mapping[str, str] | None = None, modules: tuple[str, ...] = (), *,
                    purpose: str = "recheck", files: Mapping[str, bytes] | None = None,
                    start_kwargs: Mapping[str, Any] | None = None) -> PrestartedKernel:
    """Start a kernel now, in the background; the next run of ``purpose`` with the same kernel takes it.

    ``modules`` are imported in it once it is up, so the run does not wait for
    torch to load; a student's code finds them loaded, as after its own imports.
    """
    kernel = PrestartedKernel(kernel_name, env, modules, purpose=purpose, files=files, start_kwargs=start_kwargs)
    _PRESTARTED.append(kernel)
    return kernel


def take_prestarted(kernel_name: str, env: Mapping[str, str] | None = None, *, purpose: str = "recheck",
                    files: Mapping[str, bytes] | None = None, max_age_s: float | None = None,
                    log: Callable[[str], None] | None = None) -> PrestartedKernel | None:
    """A started kernel of ``purpose`` for ``kernel_name``, removed from the list; None when there is none.

    With ``files``, only a kernel whose folder holds exactly those files. One
    older than ``max_age_s``, one that failed to start or to load its modules, and
    one that does not answer (:meth:`PrestartedKernel.responds`) are shut down and not
    returned: the run then starts its own kernel. ``log`` is told why a kernel was refused.
    """
    for kernel in list(_PRESTARTED):
        if kernel.matches(kernel_name, env, purpose=purpose, files=files):
            _PRESTARTED.remove(kernel)
            if max_age_s is not None and kernel.age_s > max_age_s:
                why = f"it waited {kernel.age_s:.0f} s (at most {max_age_s:.0f} s)"
            elif not kernel.responds():
                err = kernel.error
                why = f"it does not answer ({type(err).__name__}: {err})" if err else "it did not start"
            else:
                return kernel
            if log is not None:
                log(f"not using the {purpose} kernel started ahead: {why}; starting a new one")
            kernel.close()
    return None


def discard_prestarted(purpose: str | None = None, *,
                       keep: Callable[[PrestartedKernel], bool] | None = None) -> int:
    """Shut down the kernels nobody took (of ``purpose``, or all), except those ``keep`` accepts; how many."""
    gone = [k for k in _PRESTARTED if (purpose is None or k.purpose == purpose) and not (keep and keep(k))]
    for kernel in gone:
        _PRESTARTED.remove(kernel)
        kernel.close()
    return len(gone)


def kernel_folder_files(folder: str | os.PathLike) -> dict[str, bytes] | None:
    """What the sandbox copies from ``folder`` into a kernel's folder, as relative path -> bytes.

    The sandbox launcher copies every entry but notebooks, links and dot-files.
    A folder holding a subfolder gives None (not compared): a run there starts
    its own kernel.
    """
    from course_utils.instructor.sandbox_launcher import is_copied

    found: dict[str, bytes] = {}
    for entry in os.scandir(folder):
        if not is_copied(entry):
            continue
        if entry.is_dir():
            return None
        if entry.is_file():
            found[entry.name] = Path(entry.path).read_bytes()
    return found


atexit.register(discard_prestarted)  # a worker that ends stops the kernel it started for a next task
