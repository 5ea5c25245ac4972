"""Overhead of the grading sandbox per submission.

Builds a throw-away copy of the course (the real assignment 01 when it exists,
else the toy assignment of ``tests/attacks/course.py``), submits N copies of
the solution, and autogrades them with nbgrader twice per round: with the
plain kernel (``rnn-course``) and with the sandboxed one
(``rnn-course-sandbox``), alternating the order between rounds. Reports the
seconds per submission of each and their difference, plus the bare cost of
starting, using and stopping one kernel of each kind through jupyter_client.

    .venv/bin/python benchmarks/bench_sandbox.py [--submissions 4] [--rounds 2] [--json out.json]

The issue's target: the sandbox adds less than 2 s per submission.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from attacks.course import make_course  # noqa: E402 (tests/ goes on sys.path first)

from course_utils.instructor.sandbox import (  # noqa: E402 (after the sys.path line, with the import above)
    KERNEL_NAME,
    ensure_sandbox_kernel,
    select_grading_kernel,
)


def kernel_roundtrip(kernel: str, cwd: Path, repeats: int) -> list[float]:
    """Seconds to start a kernel, run one trivial cell and shut it down."""
    import subprocess

    from jupyter_client.manager import start_new_kernel

    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        km, kc = start_new_kernel(kernel_name=kernel, cwd=str(cwd), startup_timeout=120,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        kc.execute_interactive("1 + 1", timeout=60, output_hook=lambda msg: None)
        km.shutdown_kernel()
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--kernel-repeats", type=int, default=5)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()

    ensure_sandbox_kernel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        plain = select_grading_kernel(False)
    with tempfile.TemporaryDirectory() as tmp:
        course = make_course(Path(tmp))
        for i in range(args.submissions):
            course.submit(f"student{i:03d}", course.honest_notebook())
        per_sub: dict[str, list[float]] = {plain: [], KERNEL_NAME: []}
        for r in range(args.rounds):
            order = [plain, KERNEL_NAME] if r % 2 == 0 else [KERNEL_NAME, plain]
            for kernel in order:
                t0 = time.perf_counter()
                run = course.autograde(kernel=kernel)
                elapsed = time.perf_counter() - t0
                scores = course.scores()
                if run.returncode != 0 or any(s != course.max_score() for s in scores.values()):
                    raise SystemExit(f"grading with {kernel} failed: {scores}\n{run.stderr[-3000:]}")
                per_sub[kernel].append(elapsed / args.submissions)
                print(f"round {r}: {kernel:20s} {elapsed / args.submissions:6.2f} s/submission", flush=True)
        folder = course.autograded_path("student000").parent
        bare = {k: kernel_roundtrip(k, folder, args.kernel_repeats) for k in (plain, KERNEL_NAME)}

    result = {
        "assignment": course.assignment,
        "submissions": args.submissions,
        "rounds": args.rounds,
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg(),
        "seconds_per_submission": {k: statistics.median(v) for k, v in per_sub.items()},
        "kernel_roundtrip_s": {k: statistics.median(v) for k, v in bare.items()},
    }
    result["overhead_per_submission_s"] = (
        result["seconds_per_submission"][KERNEL_NAME] - result["seconds_per_submission"][plain])
    result["overhead_kernel_roundtrip_s"] = (
        result["kernel_roundtrip_s"][KERNEL_NAME] - result["kernel_roundtrip_s"][plain])
    print(json.dumps(result, indent=1))
    verdict = "OK" if result["overhead_per_submission_s"] < 2.0 else "OVER the 2 s target"
    print(f"sandbox overhead: {result['overhead_per_submission_s']:+.2f} s per submission ({verdict})")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    if result["overhead_per_submission_s"] >= 2.0:
        raise SystemExit(1)  # make bench: a missed target is a failure


if __name__ == "__main__":
    main()
