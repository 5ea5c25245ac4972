"""One safe path for every way of autograding: ``make grade``, ``nbgrader autograde``, the formgrader.

The formgrader's *Autograde* button and a plain ``nbgrader autograde`` in the
course directory read ``nbgrader_config.py`` and nothing else, so the
configuration itself makes them safe:

* :func:`default_grading_kernel` names the sandboxed kernel
  (``rnn-course-sandbox``, installed on the way) unless the instructor chose
  another kernel explicitly (``COURSE_GRADING_KERNEL``);
* :class:`RequireSandbox`, the first autograde preprocessor, refuses to run a
  submission when that kernel is not the sandbox, or when bubblewrap cannot run
  on this machine, with a message saying why and how to opt out
  (``COURSE_GRADING_UNSAFE=1``, ``COURSE_GRADING_KERNEL=<kernel>``, or
  ``--RequireSandbox.allow_unsandboxed=True``), instead of running untrusted
  code unsandboxed;
* :class:`IntegrityReview`, the last one, runs the integrity review
  (:mod:`course_utils.instructor.integrity`: the static scan and the re-run
  whose expected values never enter the student's kernel) on the notebook just
  graded, marks it *flagged* in the gradebook (the formgrader shows the flag),
  keeps the reasons in the notebook's metadata and in
  ``grading/reports/<assignment>/<student>.json``, and logs them.

``make grade`` runs the same review itself after each submission (one re-run,
not two), so it switches :class:`IntegrityReview` off for its own nbgrader calls.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Unicode

__all__ = ["UNSAFE_ENV", "IntegrityReview", "RequireSandbox", "SandboxRefused", "default_grading_kernel",
           "opted_out"]

UNSAFE_ENV = "COURSE_GRADING_UNSAFE"
KERNEL_ENV = "COURSE_GRADING_KERNEL"
_TRUE = ("1", "true", "yes", "on")


class SandboxRefused(RuntimeError):
    """Autograding would run untrusted code outside the sandbox, and nobody opted out."""


def sandbox_kernel_name() -> str:
    from course_utils.instructor.sandbox import KERNEL_NAME

    return KERNEL_NAME


def opted_out(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the instructor explicitly chose to grade without the sandbox.

    ``COURSE_GRADING_UNSAFE=1``, or ``COURSE_GRADING_KERNEL`` naming a kernel
    other than the sandbox.
    """
    env = os.environ if environ is None else environ
    if env.get(UNSAFE_ENV, "").strip().lower() in _TRUE:
        return True
    chosen = env.get(KERNEL_ENV, "").strip()
    return bool(chosen) and chosen != sandbox_kernel_name()


def default_grading_kernel(environ: Mapping[str, str] | None = None) -> str:
    """The kernel ``nbgrader autograde`` and the formgrader run: the sandbox unless chosen otherwise.

    Installs the sandbox's kernelspec (idempotent, no check: when bubblewrap
    cannot run, :class:`RequireSandbox` says so at grading time, and the rest
    of nbgrader, manual grading included, keeps working).
    """
    env = os.environ if environ is None else environ
    chosen = env.get(KERNEL_ENV, "").strip()
    if chosen:
        return chosen
    if env.get(UNSAFE_ENV, "").strip().lower() in _TRUE:
        return "rnn-course"
    from course_utils.instructor.sandbox import KERNEL_NAME, ensure_sandbox_kernel

    try:
        return ensure_sandbox_kernel(check=False)
    except OSError:  # a read-only environment: the kernelspec must have been installed already
        return KERNEL_NAME


def _configured_kernel(config: Any) -> str:
    for section in ("GradingExecute", "Execute", "ExecutePreprocessor"):
        if section in config and "kernel_name" in config[section]:
            return str(config[section]["kernel_name"])
    return ""


class RequireSandbox(NbGraderPreprocessor):
    """First autograde step: stop unless the submission will run in a working sandbox, or the instructor opted out."""

    allow_unsandboxed = Bool(
        False, help="Grade in a kernel that is not the sandbox (trusted code only). Also set by "
                    "COURSE_GRADING_UNSAFE=1 or an explicit COURSE_GRADING_KERNEL.").tag(config=True)

    def preprocess(self, nb: Any, resources: dict) -> tuple[Any, dict]:
        kernel = _configured_kernel(self.config) or nb.metadata.get("kernelspec", {}).get("name", "")
        who = "/".join(str(resources.get("nbgrader", {}).get(k, "?")) for k in ("student", "assignment"))
        allowed = self.allow_unsandboxed or opted_out()
        if kernel != sandbox_kernel_name():
            if not allowed:
                raise SandboxRefused(
                    f"refusing to autograde {who} in kernel {kernel!r}, which is not the grading sandbox "
                    f"({sandbox_kernel_name()!r}): the submission would run with your files and network. "
                    f"Grade untrusted work in the sandbox (the default), or opt out explicitly with "
                    f"{UNSAFE_ENV}=1 (trusted code only).")
            self.log.warning("autograding %s WITHOUT the sandbox (kernel %r), as chosen", who, kernel)
            return nb, resources
        from course_utils.instructor.sandbox import sandbox_status

        ok, why = sandbox_status()
        if not ok:
            raise SandboxRefused(
                f"refusing to autograde {who}: the grading sandbox cannot run on this machine ({why}). "
                f"Install bubblewrap (apt-get install bubblewrap) or grade where it runs; to grade trusted "
                f"code without it, opt out explicitly with {UNSAFE_ENV}=1.")
        self._keep_notebooks_only(resources)
        return nb, resources

    def _keep_notebooks_only(self, resources: dict) -> None:
        """The formgrader's path: nbgrader copied the submission (links followed) before this step.

        ``make grade`` quarantines a submission's links and extra files before
        nbgrader sees them; the formgrader's Autograde button does not go
        through it, so here, before the kernel starts, the submission folder is
        quarantined the same way and the kernel's folder keeps only notebooks
        and the instructor's own files. The reasons reach the integrity review.
        """
        from course_utils.instructor.integrity.quarantine import clear_kernel_folder, sanitize_submission

        info = resources.get("nbgrader", {})
        assignment, student = info.get("assignment"), info.get("student")
        folder = resources.get("metadata", {}).get("path")
        if not (assignment and student and folder):
            return
        root = Path(self.config.get("CourseDirectory", {}).get("root") or os.getcwd())
        reasons = sanitize_submission(root, str(student), str(assignment))
        source = root / "solutions" / str(assignment)
        masters = {p.relative_to(source).as_posix() for p in source.rglob("*")
                   if p.is_file() and p.suffix != ".ipynb"} if source.is_dir() else set()
        removed = clear_kernel_folder(folder, masters)
        if removed and not reasons:
            reasons = [f"the kernel's folder held {', '.join(removed[:10])}, not submitted as a notebook; removed"]
        if reasons:
            resources.setdefault("course", {}).setdefault("quarantined", []).extend(reasons)
            for reason in reasons:
                self.log.warning("quarantine: %s: %s", "/".join(map(str, (student, assignment))), reason)


class IntegrityReview(NbGraderPreprocessor):
    """Last autograde step: the integrity review of the notebook just graded; flag it in the gradebook."""

    enabled = Bool(True, help="Run the review (make grade runs it itself and turns this off).").tag(config=True)
    course_root = Unicode("", help="The course directory (solutions/ and assignments/ are read there).").tag(
        config=True)
    verify = Unicode("", help="Re-run mode: all, flagged or none (default RNN_INTEGRITY_VERIFY, else all).").tag(
        config=True)

    def preprocess(self, nb: Any, resources: dict) -> tuple[Any, dict]:
        if not self.enabled:
            return nb, resources
        import nbformat

        from course_utils.instructor import integrity

        info = resources.get("nbgrader", {})
        assignment, student, name = info.get("assignment"), info.get("student"), info.get("notebook")
        root = Path(self.course_root or os.getcwd())
        release_path = root / "assignments" / str(assignment) / f"{name}.ipynb"
        source_path = root / "solutions" / str(assignment) / f"{name}.ipynb"
        release_nb = json.loads(release_path.read_text(encoding="utf-8")) if release_path.is_file() else {"cells": []}
        reasons = list(dict.fromkeys(resources.get("course", {}).get("quarantined", [])))
        reasons += [f"{name}.ipynb: {finding}" for finding in integrity.scan_notebook(nb, release_nb)]
        mode = (self.verify or os.environ.get("RNN_INTEGRITY_VERIFY") or "all").lower()
        if source_path.is_file() and (mode == "all" or (mode == "flagged" and reasons)):
            source = json.loads(source_path.read_text(encoding="utf-8"))
            folder = Path(resources.get("metadata", {}).get("path") or tempfile.gettempdir())
            fd, tmp = tempfile.mkstemp(prefix=".integrity-", suffix=".ipynb", dir=folder)
            os.close(fd)
            try:
                nbformat.write(nb, tmp)
                kernel = _configured_kernel(self.config) or sandbox_kernel_name()
                reasons += [f"{name}.ipynb: {r}" for r in integrity.verify_checks(tmp, source, kernel_name=kernel)]
            finally:
                os.unlink(tmp)
        nb.metadata.setdefault("course", {})["integrity_flags"] = reasons
        db_url = info.get("db_url")
        if db_url and assignment and student:
            from nbgrader.api import Gradebook

            with Gradebook(db_url) as gb:
                snb = gb.find_submission_notebook(name, assignment, student)
                snb.flagged = bool(reasons)
                gb.db.commit()
        report = root / "grading" / "reports" / str(assignment) / f"{student}.json"
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps({"assignment": assignment, "student": student, "flags": reasons,
                                      "via": "nbgrader autograde"}, indent=1) + "\n", encoding="utf-8")
        for reason in reasons:
            self.log.warning("integrity: %s/%s flagged: %s", student, assignment, reason)
        return nb, resources
