"""``python -m course_utils.instructor.hub {start,stop,status}`` (make hub, make hub-stop)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from course_utils.instructor.hub import DEFAULT_ROOT, HubError, HubSettings, hub_processes, start, stop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.instructor.hub", description=__doc__)
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="deployment folder (HUB_ROOT)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--students", type=int, default=3, help="number of student accounts")
    parser.add_argument("--prefix", default="rnn", help="user names: <prefix>-instructor, <prefix>-student<N>")
    parser.add_argument("--proxy", type=Path, help="configurable-http-proxy executable")
    parser.add_argument("--db-url", default="", help="gradebook URL for the instructor (default: $COURSE_DB_URL)")
    args = parser.parse_args(argv)
    try:
        if args.action == "start":
            import os

            kw = {"proxy": args.proxy} if args.proxy else {}
            settings = HubSettings(root=args.root, port=args.port, instructor=f"{args.prefix}-instructor",
                                   students=tuple(f"{args.prefix}-student{i + 1}" for i in range(args.students)),
                                   db_url=args.db_url or os.environ.get("COURSE_DB_URL", ""), **kw)
            saved = args.root / "etc" / "hub.json"
            if saved.exists():  # keep the password users were given
                old = HubSettings.load(saved)
                settings = HubSettings(**{**settings.__dict__, "password": old.password})
            t0 = time.perf_counter()
            start(settings)
            print(f"JupyterHub is running at {settings.url}/ (started in {time.perf_counter() - t0:.1f} s)")
            print(f"  instructor: {settings.instructor}  (formgrader in its own tab: "
                  f"{settings.url}/user/{settings.instructor}/formgrader)")
            print(f"  students:   {', '.join(settings.students)}")
            print(f"  password:   {settings.password}   (shared, DummyAuthenticator: 127.0.0.1 only)")
            print(f"  log:        {settings.state / 'hub.log'}; stop with: make hub-stop")
        elif args.action == "stop":
            stopped = stop(args.root)
            print("stopped: " + "; ".join(stopped) if stopped else "no hub was running")
        else:
            saved = args.root / "etc" / "hub.json"
            procs = hub_processes(HubSettings.load(saved)) if saved.exists() else {}
            for pid, cmd in sorted(procs.items()):
                print(f"{pid:>8}  {cmd[:120]}")
            print(f"{len(procs)} process(es) of the hub in {args.root}")
            return 0 if procs else 3
    except HubError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
