"""Grading throughput: the serial pipeline against the Dask engine, and seconds per submission.

Three measurements, all in one run so that their ratios are fair on a shared machine:

1. **Where the seconds go**: the pieces a graded submission pays for, each
   timed alone: starting Python with nbgrader (paid once per nbgrader command),
   ``import torch``, ``course_utils.setup()`` (paid by every kernel: the
   graded run and the integrity re-run), and a sandboxed kernel's start, one
   cell and stop.
2. **Throughput** on assignment 01: ``--submissions`` submissions (half the
   instructor's solution, half the bad-submission matrix of
   tests/test_grading_bad_submissions.py) graded twice, in two copies of the
   course: by the serial pipeline (``make grade SCHEDULER=serial``: one
   ``nbgrader autograde`` for the class, then the integrity review) and by the
   Dask engine with ``--workers`` workers (``make grade``), canary and
   LocalCluster start included. Submissions per minute for each, their ratio
   (target >= 1.7 with 2 workers), and a check that every score and every
   integrity flag of the parallel run equals the serial run's.
3. **Seconds per submission** for each assignment (``--assignments``): the
   Dask engine's task time (autograde in the sandbox + integrity review +
   feedback) for ``--per-assignment`` copies of the solution graded one after
   another by one worker, median, against the targets (NumPy assignments 01,
   02 <= 3 s; PyTorch ones <= 8 s), with its phases. A worker starts the next
   submission's grading kernel while it re-checks one, so the first task of
   an assignment starts its own and the median is the steady state; that
   overlap uses a second core. So the same copies are also graded with
   ``--workers`` workers, every core busy: that median task time is the cost
   of a submission when no core is free (``loaded_seconds``), and the one the
   class model uses.

    .venv/bin/python benchmarks/bench_grading.py [--submissions 40] [--workers 2] [--json out.json]

The exit status is non-zero when a target is missed or a score differs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

TARGETS = {"01_forward_and_loss": 3.0, "02_bptt": 3.0, "03_pytorch_rnn": 8.0, "04_seq2seq": 8.0}
A01 = "01_forward_and_loss"


def timed(argv: list[str], repeats: int = 3) -> float:
    """Median seconds of running ``argv`` to completion."""
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def costs(repeats: int) -> dict[str, float]:
    py = sys.executable
    from course_utils.instructor.sandbox import ensure_sandbox_kernel

    kernel = ensure_sandbox_kernel()
    result = {
        "python_start_s": timed([py, "-c", "pass"], repeats),
        "nbgrader_start_s": timed([py, "-m", "nbgrader", "--version"], repeats),
        "import_torch_s": timed([py, "-c", "import torch"], repeats),
        "setup_before_s": timed([py, "-c", "import torch; torch.use_deterministic_algorithms(True, warn_only=True)"],
                                repeats),
        "setup_now_s": timed([py, "-c", "import course_utils; course_utils.setup(0, verbose=False)"], repeats),
        # assignments 01 and 02: NumPy only, torch never loaded (their checks included)
        "setup_numpy_only_s": timed([py, "-c", "import course_utils, course_utils.checks; "
                                     "course_utils.setup(0, verbose=False, numpy_only=True)"], repeats),
    }
    from jupyter_client.manager import start_new_kernel

    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeats):
            t0 = time.perf_counter()
            km, kc = start_new_kernel(kernel_name=kernel, cwd=tmp, startup_timeout=300,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            kc.execute_interactive("1 + 1", timeout=120, output_hook=lambda msg: None)
            km.shutdown_kernel()
            rounds.append(time.perf_counter() - t0)
    result["sandbox_kernel_roundtrip_s"] = statistics.median(rounds)
    return result


def submissions(n: int) -> dict[str, object]:
    """n submissions of assignment 01: even ones the solution, odd ones the bad-submission matrix in turn."""
    from test_grading_bad_submissions import BAD_SUBMISSIONS

    from course_utils.instructor.autograde import solution_submission

    bad = [(name, sub) for name, (sub, _) in BAD_SUBMISSIONS.items() if name != "control"]
    out: dict[str, object] = {}
    for i in range(n):
        if i % 2 == 0:
            out[f"s{i:03d}-honest"] = solution_submission(A01)
        else:
            name, sub = bad[(i // 2) % len(bad)]
            out[f"s{i:03d}-{name}"] = sub
    return out


def fill(course: Path, assignment: str, subs: dict[str, object]) -> None:
    from course_utils.instructor.autograde import GRADING_DIR, _write_submission

    for student, sub in subs.items():
        _write_submission(course / GRADING_DIR / "submitted" / student / assignment, assignment, sub)


def flags_of(course: Path) -> dict[str, list[str]]:
    path = course / "grading" / "integrity.json"
    return json.loads(path.read_text()) if path.exists() else {}


def throughput(n: int, workers: int, tmp: Path) -> dict[str, object]:
    from course_utils.instructor.autograde import grade, make_course_copy
    from course_utils.instructor.parallel import grade_class

    subs = submissions(n)
    serial_course = make_course_copy(tmp / "serial")
    parallel_course = make_course_copy(tmp / "parallel")
    fill(serial_course, A01, subs)
    fill(parallel_course, A01, subs)

    t0 = time.perf_counter()
    serial = grade(True, course_dir=serial_course, assignments=[A01])
    serial_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    par = grade_class(True, course_dir=parallel_course, assignments=[A01], n_workers=workers)
    parallel_s = time.perf_counter() - t0

    serial_scores = {s: r.score for s, r in serial.results[A01].items()}
    parallel_scores = {s: r.score for (_, s), r in par.results.items()}
    differ = {s: (serial_scores.get(s), parallel_scores.get(s)) for s in subs
              if serial_scores.get(s) != parallel_scores.get(s)}
    f_serial, f_par = flags_of(serial_course), flags_of(parallel_course)
    flag_differ = sorted(k for k in set(f_serial) | set(f_par) if bool(f_serial.get(k)) != bool(f_par.get(k)))
    return {
        "submissions": n, "workers": workers,
        "serial_s": serial_s, "parallel_s": parallel_s,
        "serial_per_min": 60 * n / serial_s, "parallel_per_min": 60 * n / parallel_s,
        "ratio": serial_s / parallel_s,
        "scores_differ": differ, "flags_differ": flag_differ,
        "task_seconds_median": statistics.median(r.seconds for r in par.results.values()),
    }


def manual_points(result) -> float:
    """Points of the cells graded by hand (assignment 04's written answer): no score until a person grades them."""
    return sum(float(g.get("max_score", 0.0)) for nb in result.notebooks.values() for g in nb["grades"].values()
               if g["needs_manual_grade"] and g["auto_score"] is None and g["manual_score"] is None)


def per_assignment(assignments: list[str], k: int, tmp: Path, workers: int = 2) -> dict[str, dict[str, object]]:
    from course_utils.instructor.autograde import GradingError, make_course_copy, solution_submission
    from course_utils.instructor.parallel import grade_class

    out: dict[str, dict[str, object]] = {}
    reports = {}
    for n_workers in (1, workers):
        course = make_course_copy(tmp / f"per-assignment-{n_workers}")
        for a in assignments:
            fill(course, a, {f"p{i}": solution_submission(a) for i in range(k)})
        try:
            reports[n_workers] = grade_class(True, course_dir=course, assignments=assignments, n_workers=n_workers)
        except GradingError as exc:  # the canary lost points: no figure, and say why
            print(f"per-assignment run stopped: {exc}", flush=True)
            return {a: {"seconds": float("inf"), "target": TARGETS.get(a), "phases": {}, "full_marks": False,
                        "canary_seconds": None, "error": str(exc)[:2000]} for a in assignments}
    for a in assignments:
        rs = [r for (aa, _), r in reports[1].results.items() if aa == a]
        loaded = [r for (aa, _), r in reports[workers].results.items() if aa == a]
        # full marks: graded, no problem, every point but the hand-graded ones (a run nbgrader could not
        # finish leaves its cells waiting for a hand grade: those do not count as such)
        short = [r for r in rs + loaded if not (r.graded and not r.problems
                                                and r.score == r.max_score - manual_points(r))]
        for r in short:
            print(f"{a} {r.student} did not get full marks: {r.score:g} / {r.max_score:g}, problems {r.problems};"
                  f" the end of its log:\n{r.log[-4000:]}", flush=True)
        full = not short
        phases = {p: statistics.median(r.phases.get(p, 0.0) for r in rs) for p in rs[0].phases}
        out[a] = {"seconds": statistics.median(r.seconds for r in rs), "target": TARGETS.get(a), "phases": phases,
                  "full_marks": full, "canary_seconds": reports[1].canary[a].seconds,
                  "task_seconds": [round(r.seconds, 2) for r in sorted(rs, key=lambda r: r.student)],
                  "loaded_seconds": statistics.median(r.seconds for r in loaded), "loaded_workers": workers}
    return out


def projection(per_submission_s: dict[str, float], fixed_s: float,
               students: tuple[int, ...] = (300, 1000), machines: tuple[int, ...] = (1, 4, 16),
               cores: int = 16) -> list[dict[str, float]]:
    """Hours to grade a class: every student hands in every assignment.

    Model: wall = fixed + (students x sum of per-submission seconds) / (machines x cores), with the
    per-submission seconds measured here with every core busy (each task's seconds then include
    what the other cores' tasks cost it), and ``fixed`` the run's own cost (cluster start, canary,
    export) measured here too.
    """
    work = sum(per_submission_s.values())
    rows = []
    for n in students:
        for m in machines:
            wall = fixed_s + n * work / (m * cores)
            rows.append({"students": n, "machines": m, "cores": m * cores, "hours": wall / 3600,
                         "core_hours": n * work / 3600})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--per-assignment", type=int, default=5)
    parser.add_argument("--assignments", nargs="*", default=list(TARGETS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)

    result: dict[str, object] = {"cpu_count": os.cpu_count(), "load_average_start": os.getloadavg()}
    result["costs"] = costs(args.repeats)
    print(json.dumps(result, indent=1), flush=True)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_throughput:
            result["throughput"] = tp = throughput(args.submissions, args.workers, Path(tmp))
            print(json.dumps(tp, indent=1), flush=True)
            if tp["scores_differ"] or tp["flags_differ"]:
                print(f"DIFFERENT scores/flags between serial and parallel: {tp['scores_differ']} {tp['flags_differ']}")
                ok = False
            if tp["ratio"] < 1.7:
                print(f"throughput ratio {tp['ratio']:.2f} < 1.7")
                ok = False
        if args.assignments:
            result["per_assignment"] = pa = per_assignment(args.assignments, args.per_assignment, Path(tmp),
                                                           args.workers)
            for a, fig in pa.items():
                verdict = "OK" if fig["seconds"] <= fig["target"] else "OVER"
                print(f"{a}: {fig['seconds']:.2f} s per submission (target {fig['target']} s, {verdict}); "
                      f"phases {json.dumps({k: round(v, 2) for k, v in fig['phases'].items()})}; "
                      f"{fig.get('loaded_seconds', float('nan')):.2f} s with every core busy", flush=True)
                ok = ok and fig["seconds"] <= fig["target"] and fig["full_marks"]
    if "per_assignment" in result and "throughput" in result:
        tp, pa = result["throughput"], result["per_assignment"]
        fixed = max(0.0, tp["parallel_s"] - tp["submissions"] * tp["task_seconds_median"] / tp["workers"])
        per_student = sum(f["loaded_seconds"] for f in pa.values())
        rows = projection({a: f["loaded_seconds"] for a, f in pa.items()}, fixed)
        result["projection"] = {"per_student_s": per_student, "fixed_s": fixed, "rows": rows}
        print(f"\nclass model ({len(pa)} assignments, {per_student:.1f} s per student with every core busy, "
              f"fixed {fixed:.0f} s):")
        print("| students | machines of 16 cores | wall time | core-hours |\n|---|---|---|---|")
        for r in rows:
            print(f"| {r['students']} | {r['machines']} | {r['hours'] * 60:.0f} min | {r['core_hours']:.1f} |")
    result["load_average_end"] = os.getloadavg()
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in ("costs",)}, indent=1, default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
