"""Command line for the instructor: ``python -m course_utils.instructor {release,grade,zip-collect}``.

    python -m course_utils.instructor release                  # make release
    python -m course_utils.instructor grade                    # make grade (sandboxed, in parallel on Dask)
    python -m course_utils.instructor grade --scheduler tcp://host:8786   # make grade SCHEDULER=tcp://host:8786
    python -m course_utils.instructor grade --serial           # one nbgrader autograde per assignment, no Dask
    python -m course_utils.instructor grade --no-sandbox       # make grade SANDBOX=0 (warns)
    python -m course_utils.instructor grade --assignment 02_bptt --force --timeout 60
    python -m course_utils.instructor zip-collect 01_forward_and_loss

``SANDBOX=0`` in the environment has the same effect as ``--no-sandbox``.
"""

from __future__ import annotations

import argparse
import os
import sys

from course_utils.instructor.autograde import COURSE_ROOT, GradingError, collect_zips, grade, release


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m course_utils.instructor", description=__doc__.split("\n")[0])
    parser.add_argument("--course-dir", default=str(COURSE_ROOT),
                        help="the course directory (default: this repository)")
    sub = parser.add_subparsers(dest="command", required=True)

    rel = sub.add_parser("release",
                         help="generate the student versions into assignments/ (nbgrader generate_assignment)")
    rel.add_argument("--assignment", action="append", help="only this assignment (repeatable)")

    gr = sub.add_parser("grade", help="autograde grading/submitted/, write feedback and grading/grades.csv")
    gr.add_argument("--assignment", action="append", help="only this assignment (repeatable)")
    gr.add_argument("--no-sandbox", action="store_true",
                    help="run submissions in the ordinary course kernel (unsafe: only for trusted code)")
    gr.add_argument("--force", action="store_true", help="re-grade submissions that were already autograded")
    gr.add_argument("--timeout", type=int, help="per-cell timeout in seconds, overriding the configured ones")
    gr.add_argument("--no-feedback", action="store_true", help="skip generating the HTML feedback")
    gr.add_argument("--scheduler", default=os.environ.get("SCHEDULER") or None,
                    help="address of an existing Dask scheduler (default: a local cluster, one worker per core)")
    gr.add_argument("--workers", type=int, help="workers of the local cluster (default: one per core)")
    gr.add_argument("--serial", action="store_true",
                    help="grade with one nbgrader autograde per assignment in this process (no Dask, no canary)")
    gr.add_argument("--no-canary", action="store_true",
                    help="skip grading the instructor's solution first (it stops the run when it loses points)")

    zc = sub.add_parser("zip-collect",
                        help="move LMS downloads from grading/downloads/<a>/archive/ into grading/submitted/")
    zc.add_argument("assignment")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "release":
            for path in release(args.course_dir, args.assignment):
                print(f"released {path}")
        elif args.command == "grade":
            sandbox = not args.no_sandbox and os.environ.get("SANDBOX", "1").strip().lower() not in ("0", "false", "no")
            if args.serial or (args.scheduler or "").lower() == "serial":
                report = grade(sandbox, course_dir=args.course_dir, assignments=args.assignment,
                               timeout=args.timeout, force=args.force, feedback=not args.no_feedback)
                return 0 if report.results or report.grades_csv.exists() else 1
            from course_utils.instructor.parallel import grade_class

            try:
                done = grade_class(sandbox, course_dir=args.course_dir, assignments=args.assignment,
                                   scheduler=args.scheduler, n_workers=args.workers, timeout=args.timeout,
                                   force=args.force, feedback=not args.no_feedback, canary=not args.no_canary)
            except KeyboardInterrupt:
                return 130
            return 0 if not done.failed else 1
        elif args.command == "zip-collect":
            print(collect_zips(args.assignment, args.course_dir).summary())
    except GradingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
