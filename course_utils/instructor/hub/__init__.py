"""The course on JupyterHub: one instructor, N students, nbgrader's exchange between them.

``make hub`` (``python -m course_utils.instructor.hub start``) runs, on 127.0.0.1,
the deployment a course server would run, laid out under ``HUB_ROOT``
(default ``/srv/rnn-course``)::

    HUB_ROOT/
        etc/hub.json                the settings (this module's HubSettings), read by jupyterhub_config.py
        etc/student-jupyter/        Jupyter config for students' servers (JUPYTER_CONFIG_PATH): exchange,
                                    course id, the private submit, no formgrader / create-assignment
        state/                      JupyterHub's database, cookie secret, proxy pid, hub.log (0700)
        course/                     the instructor's nbgrader course directory (group graders, 2770)
        exchange/                   nbgrader's exchange (1777); exchange/<course>/inbound is 3733
        edition/                    the student edition, a git repository (make student-edition)
        home/<user>/                homes of the Unix users it creates (0700)

It must run as root: it creates the Unix users (``useradd``), and the hub
spawns each single-user JupyterLab as its own user (``LocalProcessSpawner``).
Each student's server starts after :func:`pre_spawn_hook` has cloned or
pulled the student edition into ``~/rnn-course`` as that student (what
nbgitpuller does on a hub with a git link). The instructor's server runs in
``course/`` with the formgrader, autograding in the sandboxed kernel.

Authentication here is JupyterHub's ``DummyAuthenticator`` with one shared
password, and the hub listens only on 127.0.0.1. A real deployment changes
the authenticator (the university's OAuth/LTI/LDAP) and usually the spawner
(``KubeSpawner`` on Zero to JupyterHub, see ``values.yaml`` beside this file);
``jupyterhub_config.py`` marks each such line.

Privacy of the exchange (nbgrader #978, #1225): nbgrader's own submit makes
each submission a world-writable folder of world-readable files inside the
inbound, hidden only by its random name. Here the inbound is sticky
(``3733``: nobody can list it or rename another's entry), each student has a
group of their own of which the graders are members, and students' servers
submit with :class:`course_utils.exchange.PrivateSubmit`, which leaves a
submission readable by its owner and the graders only.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

COURSE_ROOT = Path(__file__).resolve().parents[3]
CONFIG_FILE = Path(__file__).resolve().parent / "jupyterhub_config.py"
DEFAULT_ROOT = Path("/srv/rnn-course")
SETTINGS_ENV = "COURSE_HUB_SETTINGS"
EDITION_DIR_IN_HOME = "rnn-course"
PROXY_HINT = "make hub installs it (npm ci into .venv/hub-proxy); it needs node and npm: apt-get install nodejs npm"
JUPYTERHUB_HINT = "make setup (jupyterhub is pinned in requirements.lock)"

__all__ = [
    "HubError",
    "HubSettings",
    "hub_processes",
    "pre_spawn_hook",
    "protect_repository",
    "setup",
    "start",
    "stop",
]


class HubError(RuntimeError):
    """The hub cannot be set up or did not start; the message says what to install or look at."""


@dataclass(frozen=True)
class HubSettings:
    """Everything the hub's configuration needs, saved as ``HUB_ROOT/etc/hub.json``.

    Attributes:
        root: the deployment's folder (``HUB_ROOT``).
        port: the hub's public port on 127.0.0.1; the hub's API uses ``port + 1``, the proxy's API ``port + 2``.
        instructor: the instructor's user name (Unix and hub).
        students: the students' user names.
        proxy: path of the ``configurable-http-proxy`` executable.
        password: the shared password of the DummyAuthenticator (test deployments only).
        course_id: nbgrader's course id (``CourseDirectory.course_id``).
        graders_group / students_group: Unix groups; graders may read submissions, students may not.
        venv: the Python environment whose ``jupyterhub-singleuser`` the servers run.
        repo: the instructor repository (solutions, assignments, nbgrader_config.py).
        db_url: the gradebook URL for the instructor's server (``COURSE_DB_URL``); empty: sqlite.
    """

    root: Path
    port: int = 8765
    instructor: str = "rnn-instructor"
    students: tuple[str, ...] = ("rnn-student1", "rnn-student2", "rnn-student3")
    proxy: Path = COURSE_ROOT / ".venv" / "hub-proxy" / "node_modules" / ".bin" / "configurable-http-proxy"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    course_id: str = "rnn-nlp"
    graders_group: str = "rnn-graders"
    students_group: str = "rnn-students"
    venv: Path = Path(sys.prefix)
    repo: Path = COURSE_ROOT
    db_url: str = ""

    # --- the layout --------------------------------------------------------------------------
    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def course_dir(self) -> Path:
        return self.root / "course"

    @property
    def exchange(self) -> Path:
        return self.root / "exchange"

    @property
    def edition(self) -> Path:
        return self.root / "edition"

    @property
    def student_config(self) -> Path:
        return self.etc / "student-jupyter"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def users(self) -> tuple[str, ...]:
        return (self.instructor, *self.students)

    def home(self, user: str) -> Path:
        return self.root / "home" / user

    # --- saving ---------------------------------------------------------------------------------
    def save(self) -> Path:
        """Write ``etc/hub.json`` (mode 0600: it holds the password) and return its path."""
        self.etc.mkdir(parents=True, exist_ok=True)
        path = self.etc / "hub.json"
        data = {k: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v)
                for k, v in asdict(self).items()}
        path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        os.chmod(path, 0o600)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> HubSettings:
        """Read the settings saved by :meth:`save`."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        for key in ("root", "proxy", "venv", "repo"):
            data[key] = Path(data[key])
        data["students"] = tuple(data["students"])
        return cls(**data)


# --- Unix users and folders ------------------------------------------------------------------------
def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    res = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if res.returncode != 0:
        raise HubError(f"{' '.join(cmd)} failed ({res.returncode}): {res.stderr.strip()}")
    return res


def _ensure_group(name: str) -> int:
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        _run(["groupadd", "-f", name])
        return grp.getgrnam(name).gr_gid


def _ensure_user(name: str, group: str, home: Path, *, own_group: bool = False) -> pwd.struct_passwd:
    """Create the Unix user (idempotent) with a 0700 home.

    ``own_group``: the user's primary group is a group of its own and ``group`` a supplementary
    one (students); otherwise ``group`` is the primary group (the instructor).
    """
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        home.parent.mkdir(parents=True, exist_ok=True)
        groups = ["--user-group", "--groups", group] if own_group else ["--gid", group]
        res = subprocess.run(["useradd", "--create-home", "--home-dir", str(home), *groups,
                              "--shell", "/bin/bash", name], capture_output=True, text=True)
        if res.returncode not in (0, 9):  # 9: it exists (created meanwhile)
            raise HubError(f"useradd {name} failed: {res.stderr.strip()}") from None
        entry = pwd.getpwnam(name)
    home = Path(entry.pw_dir)
    home.mkdir(parents=True, exist_ok=True)
    os.chown(home, entry.pw_uid, entry.pw_gid)
    os.chmod(home, 0o700)
    return entry


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid)
    for dirpath, dirnames, filenames in os.walk(path):
        for name in [*dirnames, *filenames]:
            os.lchown(os.path.join(dirpath, name), uid, gid)


def _mkdir(path: Path, mode: int, uid: int = 0, gid: int = 0) -> None:
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, uid, gid)
    os.chmod(path, mode)  # mkdir's mode is masked by the umask and never sets the sticky/setgid bits


def protect_repository(repo: Path) -> list[Path]:
    """Make the instructor repository's secrets unreadable by other users (students share this host).

    The single-user servers run the repository's ``.venv``, so students can traverse the
    repository; ``solutions/``, ``grading/``, ``.cache/`` and the git database (which holds the
    solutions' history) become 0700. Returns the paths changed.
    """
    changed = []
    targets = [repo / "solutions", repo / "grading", repo / ".cache"]
    git = subprocess.run(["git", "-C", str(repo), "rev-parse", "--absolute-git-dir", "--git-common-dir"],
                         capture_output=True, text=True)
    if git.returncode == 0:
        targets += [Path(p) if Path(p).is_absolute() else repo / p for p in git.stdout.split()]
    for path in targets:
        if path.exists() and path.stat().st_mode & 0o077:
            os.chmod(path, path.stat().st_mode & 0o7700)
            changed.append(path)
    return changed


def _write_student_config(settings: HubSettings) -> None:
    """Jupyter configuration every student's server reads (through ``JUPYTER_CONFIG_PATH``)."""
    cfg = settings.student_config
    (cfg / "labconfig").mkdir(parents=True, exist_ok=True)
    (cfg / "nbgrader_config.py").write_text(
        "# Written by course_utils.instructor.hub: nbgrader in a student's server.\n"
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {settings.course_id!r}\n"
        f"c.Exchange.root = {str(settings.exchange)!r}\n"
        "# Submissions readable by their owner and the graders only (nbgrader #978, #1225).\n"
        "c.ExchangeFactory.submit = 'course_utils.exchange.PrivateSubmit'\n",
        encoding="utf-8")
    # Students get the Assignments tab and Validate, not the instructor's tools.
    (cfg / "jupyter_server_config.json").write_text(json.dumps({"ServerApp": {"jpserver_extensions": {
        "nbgrader.server_extensions.formgrader": False,
        "nbgrader.server_extensions.course_list": False}}}, indent=1) + "\n", encoding="utf-8")
    (cfg / "labconfig" / "page_config.json").write_text(json.dumps({"disabledExtensions": {
        "@jupyter/nbgrader:formgrader": True, "@jupyter/nbgrader:create-assignment": True,
        "@jupyter/nbgrader:course-list": True}}, indent=1) + "\n", encoding="utf-8")
    for path in [cfg, cfg / "labconfig", *cfg.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)


def _write_instructor_config(settings: HubSettings) -> None:
    """nbgrader in the instructor's server reads the course's own configuration.

    The formgrader loads ``nbgrader_config.py`` from the server's working folder (the home) and
    the Jupyter config path, so this folder (``JUPYTER_CONFIG_PATH``) points it at the course's.
    """
    cfg = settings.etc / "instructor-jupyter"
    _mkdir(cfg, 0o755)
    (cfg / "nbgrader_config.py").write_text(
        "# Written by course_utils.instructor.hub: the course directory's own configuration.\n"
        "c = get_config()  # noqa: F821\n"
        f"load_subconfig({str(settings.course_dir / 'nbgrader_config.py')!r})  # noqa: F821\n",
        encoding="utf-8")
    os.chmod(cfg / "nbgrader_config.py", 0o644)


def _copy_course(settings: HubSettings, uid: int, gid: int) -> None:
    """The instructor's course directory: the repository's nbgrader files, owned by the instructor."""
    course = settings.course_dir
    if (course / "nbgrader_config.py").exists():
        return  # set up before: the instructor's own changes and grading state stay
    course.mkdir(parents=True, exist_ok=True)
    for name in ("solutions", "assignments"):
        shutil.copytree(settings.repo / name, course / name, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    shutil.copy2(settings.repo / "nbgrader_config.py", course / "nbgrader_config.py")
    (course / "grading").mkdir(exist_ok=True)
    _chown_tree(course, uid, gid)
    for dirpath, _dirnames, filenames in os.walk(course):
        os.chmod(dirpath, 0o2770)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o660)


def _closed_folders(path: Path) -> list[Path]:
    """The folders above ``path`` (resolved) that other users may not enter."""
    return [p for p in reversed(path.resolve().parents) if not p.stat().st_mode & 0o001]


def _python_paths() -> list[Path]:
    """The course's interpreter as the servers start it, and where its links lead.

    ``.venv/bin/python`` is a link (to pyenv's Python, say): the servers run it by the venv's path, so the
    folders above the venv must be enterable too, not only those above the link's target.
    """
    venv_python = Path(sys.prefix) / "bin" / "python"
    return [Path(sys.executable), venv_python, venv_python.parent.resolve() / "_"]


def grant_environment(settings: HubSettings) -> list[Path]:
    """Let the hub's users run the course's Python: traverse-only ACLs on closed folders above it.

    The users' servers run the course's ``.venv``. Where its interpreter lives under a folder
    other users cannot enter (pyenv under root's home, as on the course machines), the hub's two
    groups get execute (enter, not list) permission on those folders only, with ``setfacl``.
    Returns the folders changed; :func:`revoke_environment` removes the entries.

    Raises:
        HubError: such folders exist and ``setfacl`` is missing (naming the package).
    """
    closed = []
    for target in _python_paths():
        closed += [p for p in _closed_folders(target) if p not in closed]
    if closed and not shutil.which("setfacl"):
        raise HubError(f"the course's Python ({Path(sys.executable).resolve()}) is under {closed[0]}, which other "
                       "users cannot enter; make hub grants the hub's groups entry with an ACL: apt-get install acl")
    spec = ",".join(f"g:{g}:x" for g in (settings.graders_group, settings.students_group))
    for folder in closed:
        _run(["setfacl", "-m", spec, str(folder)])
    return closed


def revoke_environment(settings: HubSettings) -> None:
    """Remove the ACL entries :func:`grant_environment` added for the hub's groups."""
    if not shutil.which("setfacl"):
        return
    spec = ",".join(f"g:{g}" for g in (settings.graders_group, settings.students_group))
    for target in _python_paths():
        for folder in reversed(target.resolve().parents):
            subprocess.run(["setfacl", "-x", spec, str(folder)], capture_output=True)
            acl = subprocess.run(["getfacl", "-pc", str(folder)], capture_output=True, text=True).stdout
            named = [ln for ln in acl.splitlines() if ln.split(":")[0] in ("user", "group") and ln.split(":")[1]]
            if "mask::" in acl and not named:  # only the mask our entries needed is left
                subprocess.run(["setfacl", "-b", str(folder)], capture_output=True)


def setup(settings: HubSettings) -> HubSettings:
    """Create the users, groups and folders of the deployment (idempotent); save the settings.

    Raises:
        HubError: not root, or a command (useradd, git) failed.
    """
    if os.geteuid() != 0:
        raise HubError("make hub must run as root: it creates the Unix users and spawns their servers "
                       "(sudo make hub)")
    root = settings.root
    _mkdir(root, 0o755)
    _mkdir(settings.etc, 0o755)
    _mkdir(settings.state, 0o700)
    _mkdir(root / "home", 0o755)
    graders = _ensure_group(settings.graders_group)
    _ensure_group(settings.students_group)
    instructor = _ensure_user(settings.instructor, settings.graders_group, settings.home(settings.instructor))
    for student in settings.students:
        entry = _ensure_user(student, settings.students_group, settings.home(student), own_group=True)
        # Each student has a group of their own and the graders belong to it: what a student
        # writes (a submission, even the files nbgrader adds to it) is readable by the graders and
        # by no other student.
        own = grp.getgrgid(entry.pw_gid)
        if settings.instructor not in own.gr_mem:
            _run(["usermod", "--append", "--groups", own.gr_name, settings.instructor])

    # nbgrader's exchange: the root is world-writable and sticky (nbgrader checks it is 0777);
    # the course's folders exist before the first release, owned by the instructor and the graders.
    _mkdir(settings.exchange, 0o1777)
    course_ex = settings.exchange / settings.course_id
    _mkdir(course_ex, 0o755, instructor.pw_uid, graders)
    _mkdir(course_ex / "inbound", 0o3733, instructor.pw_uid, graders)   # write-only, sticky, setgid
    _mkdir(course_ex / "outbound", 0o755, instructor.pw_uid, graders)
    _mkdir(course_ex / "feedback", 0o711, instructor.pw_uid, graders)   # files named by a hash only

    _copy_course(settings, instructor.pw_uid, graders)
    _write_student_config(settings)
    _write_instructor_config(settings)
    _build_edition(settings)
    from course_utils.instructor.sandbox import ensure_sandbox_kernel

    ensure_sandbox_kernel(check=False)
    grant_environment(settings)
    protect_repository(settings.repo)
    settings.save()
    return settings


def _build_edition(settings: HubSettings) -> str:
    """The student edition as a git repository students clone (make student-edition).

    When the edition builder refuses (it found instructor text in what students would get), the
    hub does not bypass that check: students get a repository of the nbgrader release folder
    ``assignments/`` alone (checked by the release tests), and a warning says why. Returns which.
    """
    from course_utils.instructor.edition import EditionError, build_edition

    try:
        build_edition(settings.edition, settings.repo, message="Edition for the class hub")
        what = "student edition"
    except EditionError as err:
        print(f"warning: the student edition was refused, students get assignments/ only: {err}", file=sys.stderr)
        _release_folder_repo(settings)
        what = "release folder (assignments/)"
    for dirpath, _dirnames, filenames in os.walk(settings.edition):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            p = os.path.join(dirpath, name)
            if not os.path.islink(p):
                os.chmod(p, 0o644 | (os.stat(p).st_mode & 0o111))
    return what


def _release_folder_repo(settings: HubSettings) -> None:
    """A git repository of ``assignments/`` in ``edition/`` (one commit per change)."""
    dest = settings.edition
    if not (dest / ".git").is_dir():
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        _run(["git", "init", "--quiet", "-b", "main", str(dest)])
    shutil.rmtree(dest / "assignments", ignore_errors=True)
    shutil.copytree(settings.repo / "assignments", dest / "assignments",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    git = ["git", "-C", str(dest), "-c", "user.name=Course hub", "-c", "user.email=hub@course.invalid"]
    _run([*git, "add", "-A"])
    if subprocess.run([*git, "diff", "--cached", "--quiet"]).returncode != 0:
        _run([*git, "commit", "--quiet", "-m", "Release folder for the class hub"])


# --- the spawner hook ---------------------------------------------------------------------------
def sync_edition(settings: HubSettings, user: str) -> str:
    """Clone the edition into ``~/rnn-course`` as ``user``, or fast-forward it; returns what was done."""
    dest = settings.home(user) / EDITION_DIR_IN_HOME
    edition = settings.edition
    # The edition belongs to root; git only serves another user's repository to a reader who
    # marks it safe, in the upload-pack that reads it (kept as the clone's remote setting).
    upload_pack = f"git -c safe.directory={edition} -c safe.directory={edition}/.git upload-pack"
    git = ["runuser", "-u", user, "--", "git"]
    if not (dest / ".git").is_dir():
        _run([*git, "clone", "--quiet", f"--upload-pack={upload_pack}", "--config",
              f"remote.origin.uploadpack={upload_pack}", f"file://{edition}", str(dest)])
        return "cloned"
    res = subprocess.run([*git, "-C", str(dest), "pull", "--quiet", "--ff-only"], capture_output=True, text=True)
    # A student's own edits that conflict with an update are kept; the pull is retried next start.
    return "pulled" if res.returncode == 0 else f"kept local changes ({res.stderr.strip()[:200]})"


def pre_spawn_hook(spawner) -> None:
    """JupyterHub's ``Spawner.pre_spawn_hook``: each user's folder, environment and course material."""
    settings = HubSettings.load(os.environ[SETTINGS_ENV])
    name = spawner.user.name
    env = spawner.environment
    env["PATH"] = f"{settings.venv / 'bin'}:/usr/local/bin:/usr/bin:/bin"
    spawner.cmd = [str(settings.venv / "bin" / "jupyterhub-singleuser")]
    if name == settings.instructor:
        spawner.notebook_dir = str(settings.course_dir)
        env["COURSE_EXCHANGE"] = str(settings.exchange)
        env["JUPYTER_CONFIG_PATH"] = str(settings.etc / "instructor-jupyter")
        # Autograding from the formgrader runs students' code: always in the sandboxed kernel.
        env["COURSE_GRADING_KERNEL"] = "rnn-course-sandbox"
        if settings.db_url:
            env["COURSE_DB_URL"] = settings.db_url
    elif name in settings.students:
        spawner.log.info("edition for %s: %s", name, sync_edition(settings, name))
        spawner.notebook_dir = str(settings.home(name))
        env["JUPYTER_CONFIG_PATH"] = str(settings.student_config)
    else:  # allowed_users keeps others out; refuse rather than spawn an unknown account
        raise HubError(f"{name} is neither the instructor nor a student of this hub")


# --- starting and stopping ------------------------------------------------------------------------
def _check_installed(settings: HubSettings) -> None:
    try:
        import jupyterhub  # noqa: F401 (imported only to see that it is installed)
    except ImportError as err:
        raise HubError(f"jupyterhub is not installed in {sys.prefix}: {JUPYTERHUB_HINT}") from err
    if not os.access(settings.proxy, os.X_OK):
        raise HubError(f"configurable-http-proxy not found at {settings.proxy}: {PROXY_HINT}")
    if not shutil.which("node"):
        raise HubError(f"node is not installed (configurable-http-proxy runs on it): {PROXY_HINT}")
    if not shutil.which("git"):
        raise HubError("git is not installed (students' servers clone the edition): apt-get install git")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start(settings: HubSettings, timeout: float = 180.0) -> HubSettings:
    """Set up (idempotent) and start the hub in the background; return once its API answers.

    Raises:
        HubError: a package is missing (named, with the command), or the hub did not start; in
            that case everything it had started is stopped again.
    """
    _check_installed(settings)
    pid_file = settings.state / "hub.pid"
    if settings.root.exists() and pid_file.exists() and _alive(int(pid_file.read_text())):
        raise HubError(f"a hub is already running from {settings.root} (pid {pid_file.read_text().strip()}); "
                       "make hub-stop first")
    setup(settings)
    log = settings.state / "hub.log"
    env = {**os.environ, SETTINGS_ENV: str(settings.etc / "hub.json"),
           "PATH": f"{settings.venv / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    with open(log, "ab") as fh:
        # The state folder on the command line tells this hub's processes from another's (hub_processes).
        proc = subprocess.Popen([str(settings.venv / "bin" / "jupyterhub"), "-f", str(CONFIG_FILE),
                                 f"--JupyterHub.db_url=sqlite:///{settings.state / 'jupyterhub.sqlite'}"],
                                cwd=settings.state, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)
    pid_file.write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if _answers(f"{settings.url}/hub/api"):
            return settings
        time.sleep(0.5)
    stop(settings.root)
    tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
    raise HubError(f"JupyterHub did not start on {settings.url} within {timeout:.0f} s (exit code "
                   f"{proc.returncode}); everything it started was stopped. The end of {log}:\n{tail}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def hub_processes(settings: HubSettings) -> dict[int, str]:
    """Processes of this deployment still running: its users' (single-user servers, kernels), the
    hub and the proxy (their command line names the hub's config or state folder). pid -> command."""
    uids = set()
    for user in settings.users:
        try:
            uids.add(pwd.getpwnam(user).pw_uid)
        except KeyError:
            pass
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            uid = proc.stat().st_uid
            env_root = str(settings.state)
        except OSError:
            continue
        if not cmd:
            continue
        proxy = str(settings.proxy) in cmd and f"--api-port {settings.port + 2}" in cmd
        if uid in uids or env_root in cmd or proxy:
            found[int(proc.name)] = cmd
    return found


def stop(root: Path | str = DEFAULT_ROOT, timeout: float = 30.0) -> list[str]:
    """Stop the hub started from ``root``, its proxy and every process of its users.

    The hub stops its single-user servers and proxy on SIGTERM; whatever is still running after
    ``timeout`` (a server that hung, a kernel) is killed. Returns a description of what was stopped.
    """
    root = Path(root)
    settings_file = root / "etc" / "hub.json"
    if not settings_file.exists():
        return []
    settings = HubSettings.load(settings_file)
    stopped = []
    pid_file = settings.state / "hub.pid"
    if pid_file.exists():
        pid = int(pid_file.read_text())
        if _alive(pid):
            os.killpg(pid, signal.SIGTERM) if _pgid(pid) == pid else os.kill(pid, signal.SIGTERM)
            stopped.append(f"hub (pid {pid})")
            deadline = time.monotonic() + timeout
            while _alive(pid) and time.monotonic() < deadline:
                _reap(pid)
                time.sleep(0.2)
        pid_file.unlink(missing_ok=True)
    deadline = time.monotonic() + timeout
    while True:
        left = hub_processes(settings)
        left.pop(os.getpid(), None)
        if not left:
            break
        sig = signal.SIGTERM if time.monotonic() < deadline else signal.SIGKILL
        for pid, cmd in left.items():
            try:
                os.kill(pid, sig)
                if sig == signal.SIGKILL or f"pid {pid}" not in " ".join(stopped):
                    stopped.append(f"{cmd[:80]} (pid {pid}, {sig.name})")
            except ProcessLookupError:
                pass
            _reap(pid)
        if time.monotonic() > deadline + 10:
            raise HubError(f"processes of the hub in {root} would not stop: {left}")
        time.sleep(0.3)
    return stopped


def _pgid(pid: int) -> int:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return -1


def _reap(pid: int) -> None:
    """Collect a child that exited (the hub, when this process started it)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
