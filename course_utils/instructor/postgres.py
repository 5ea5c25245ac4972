"""A PostgreSQL server for the gradebook when several graders work at once.

nbgrader's default gradebook is one sqlite file, fine for one instructor but not
for several formgrader users writing at the same time (nbgrader's FAQ). This
module runs Debian's PostgreSQL server (package ``postgresql``) as a private
cluster of the course:

* its data folder is ``.cache/postgres/data`` of the repository (git-ignored);
* it listens only on 127.0.0.1, on a private port (default 54329), with
  password authentication (scram-sha-256) for one role ``course``;
* the gradebook's URL, ``postgresql+psycopg://course:<password>@127.0.0.1:<port>/gradebook``,
  is printed by ``start`` and by ``url``; nbgrader reads it from **one place**,
  the environment variable ``COURSE_DB_URL`` (see ``nbgrader_config.py``).
  Without it the gradebook stays ``grading/gradebook.db`` (sqlite).

Use::

    make postgres                     # start (idempotent); prints the export line
    export COURSE_DB_URL=...          # as printed; make grade / the formgrader now use it
    make postgres-stop

or from Python :func:`start` / :func:`stop` (the tests do). PostgreSQL refuses
to run as root; as root the server runs as the ``postgres`` user the Debian
package creates.
"""

from __future__ import annotations

import argparse
import os
import pwd
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BASE = REPO_ROOT / ".cache" / "postgres"
DEFAULT_PORT = 54329
ROLE = "course"
DATABASE = "gradebook"
INSTALL_HINT = "apt-get install postgresql  (Debian/Ubuntu; .ci/run installs it in CI)"
PSYCOPG_HINT = "make setup  (psycopg is pinned in requirements.lock)"

__all__ = ["PostgresServer", "PostgresUnavailable", "find_bindir", "start", "stop", "status"]


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server is not installed, or did not start; the message says what to do."""


@dataclass(frozen=True)
class PostgresServer:
    """A running course cluster.

    Attributes:
        base: the folder holding ``data/`` (the cluster), ``run/`` (its socket), ``server.log``
            and ``password`` (mode 0600).
        port: TCP port on 127.0.0.1.
        db_url: the SQLAlchemy URL of the gradebook database, for ``COURSE_DB_URL``.
    """

    base: Path
    port: int
    db_url: str


def find_bindir() -> Path:
    """The folder of ``pg_ctl``/``initdb``: the newest ``/usr/lib/postgresql/<v>/bin``, else ``$PATH``.

    Raises:
        PostgresUnavailable: naming the package to install when neither has ``pg_ctl``.
    """
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
                        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if candidates:
        return candidates[-1].parent
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    raise PostgresUnavailable(f"the PostgreSQL server (pg_ctl, initdb) is not installed; "
                              f"install it with: {INSTALL_HINT}")


def _server_user() -> str | None:
    """The user the server runs as: ``postgres`` when we are root (PostgreSQL refuses root), else us."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError as err:
        raise PostgresUnavailable(f"running as root but there is no 'postgres' user; "
                                  f"install the server: {INSTALL_HINT}") from err
    return "postgres"


def _run(cmd: list[str], user: str | None, **kw) -> subprocess.CompletedProcess:
    if user is not None:
        cmd = ["runuser", "-u", user, "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def _chown(path: Path, user: str | None) -> None:
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _url(password: str, port: int) -> str:
    return f"postgresql+psycopg://{ROLE}:{password}@127.0.0.1:{port}/{DATABASE}"


def status(base: Path | str = DEFAULT_BASE) -> bool:
    """True when the cluster in ``base`` is running (``pg_ctl status``)."""
    data = Path(base) / "data"
    if not (data / "PG_VERSION").is_file():
        return False
    res = _run([str(find_bindir() / "pg_ctl"), "status", "-D", str(data)], _server_user())
    return res.returncode == 0


def start(base: Path | str = DEFAULT_BASE, port: int = DEFAULT_PORT, timeout: float = 60.0) -> PostgresServer:
    """Create the cluster on first use, start it on 127.0.0.1:``port`` and return its URL.

    Idempotent: a running cluster is left as it is. On any failure the server is
    stopped again before the error is raised, so nothing half-started remains.

    Raises:
        PostgresUnavailable: the server is not installed, or did not start (with its log's end).
    """
    bindir = find_bindir()
    user = _server_user()
    base = Path(base)
    data, run_dir, log = base / "data", base / "run", base / "server.log"
    base.mkdir(parents=True, exist_ok=True)
    os.chmod(base, 0o755)
    pw_file = base / "password"
    if not (data / "PG_VERSION").is_file():
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(mode=0o700)
        _chown(data, user)
        password = secrets.token_urlsafe(24)
        pw_file.write_text(password + "\n", encoding="utf-8")
        os.chmod(pw_file, 0o600)
        # initdb reads the superuser's password from a file the server's user can read; it is
        # removed right after. Only TCP on 127.0.0.1 with a password is allowed (no 'trust').
        init_pw = base / ".initdb-password"
        init_pw.write_text(password + "\n", encoding="utf-8")
        os.chmod(init_pw, 0o600)
        _chown(init_pw, user)
        try:
            res = _run([str(bindir / "initdb"), "-D", str(data), "-U", ROLE, "--auth=scram-sha-256",
                        f"--pwfile={init_pw}", "-E", "UTF8", "--locale=C"], user)
        finally:
            init_pw.unlink(missing_ok=True)
        if res.returncode != 0:
            shutil.rmtree(data, ignore_errors=True)
            raise PostgresUnavailable(f"initdb failed in {data}:\n{res.stderr.strip()[-2000:]}")
    password = pw_file.read_text(encoding="utf-8").strip()
    server = PostgresServer(base, port, _url(password, port))
    if status(base):
        return server
    run_dir.mkdir(exist_ok=True)
    _chown(run_dir, user)
    if not log.exists():
        log.touch()
    _chown(log, user)
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {run_dir}"
    res = _run([str(bindir / "pg_ctl"), "start", "-w", "-t", str(int(timeout)), "-D", str(data),
                "-l", str(log), "-o", options], user)
    if res.returncode != 0:
        stop(base)
        tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise PostgresUnavailable(f"PostgreSQL did not start on 127.0.0.1:{port} (is the port taken?); "
                                  f"nothing was left running. Its log {log} ends with:\n{tail}")
    try:
        _ensure_database(bindir, run_dir, port, password, user)
    except Exception:
        stop(base)
        raise
    return server


def _ensure_database(bindir: Path, run_dir: Path, port: int, password: str, user: str | None) -> None:
    env = {**os.environ, "PGPASSWORD": password}
    psql = [str(bindir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", ROLE, "-d", "postgres", "-tAc"]
    exists = subprocess.run([*psql, f"SELECT 1 FROM pg_database WHERE datname='{DATABASE}'"],
                            capture_output=True, text=True, env=env)
    if exists.returncode != 0:
        raise PostgresUnavailable(f"cannot connect to the new cluster on port {port}: {exists.stderr.strip()}")
    if exists.stdout.strip() != "1":
        made = subprocess.run([*psql, f"CREATE DATABASE {DATABASE}"], capture_output=True, text=True, env=env)
        if made.returncode != 0:
            raise PostgresUnavailable(f"could not create database {DATABASE}: {made.stderr.strip()}")


def stop(base: Path | str = DEFAULT_BASE, timeout: float = 60.0) -> bool:
    """Stop the cluster in ``base`` (fast shutdown). Returns True if one was running."""
    data = Path(base) / "data"
    if not (data / "postmaster.pid").exists():
        return False
    res = _run([str(find_bindir() / "pg_ctl"), "stop", "-w", "-t", str(int(timeout)), "-m", "fast", "-D", str(data)],
               _server_user())
    if res.returncode != 0 and (data / "postmaster.pid").exists():
        raise PostgresUnavailable(f"pg_ctl stop failed: {res.stderr.strip()}")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.instructor.postgres",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["start", "stop", "status", "url"])
    parser.add_argument("--base", type=Path, default=DEFAULT_BASE, help="cluster folder (default .cache/postgres)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    try:
        if args.action == "start":
            server = start(args.base, args.port)
            print(f"PostgreSQL gradebook running on 127.0.0.1:{server.port} (data in {server.base / 'data'})")
            print("Use it for make grade and the formgrader with:")
            print(f"  export COURSE_DB_URL='{server.db_url}'")
        elif args.action == "stop":
            print("PostgreSQL stopped" if stop(args.base) else "PostgreSQL was not running")
        elif args.action == "status":
            running = status(args.base)
            print("running" if running else "not running")
            return 0 if running else 3
        else:
            pw = (args.base / "password").read_text(encoding="utf-8").strip()
            print(_url(pw, args.port))
    except PostgresUnavailable as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
