"""Start an IPython kernel inside a bubblewrap sandbox (the autograde kernel).

The kernelspec installed by :func:`course_utils.instructor.sandbox.ensure_sandbox_kernel`
runs this file by path, ``python -I .../sandbox_launcher.py -f {connection_file}``
(by path, so that starting it does not import the ``course_utils`` package and torch).
nbgrader (through jupyter_client) starts it with the working directory set to the
folder of the notebook being autograded. The launcher has two halves:

*outer* (this process, outside the sandbox, trusted)
    Reads the connection file jupyter_client wrote, starts ``bwrap`` with a
    private mount, PID, network, IPC and UTS namespace, and relays the five
    kernel channels between jupyter_client (TCP on 127.0.0.1, in the host's
    network namespace) and the sandboxed kernel (ZeroMQ ``ipc`` sockets in a
    small tmpfs that only the sandbox has; the relay reaches them through
    ``/proc/<pid>/root``, once, after checking they are sockets, and never
    reconnects). The relay counts the bytes the kernel sends and kills the
    sandbox when they pass the output cap; a timer kills it after the
    wall-time limit; the kernel's own stdout/stderr are capped too. A watcher
    kills it as soon as the process that started the launcher (nbgrader, a
    Dask worker) is gone, even when that process was SIGKILLed and could not
    ask for a shutdown.

*inner* (``--inner``, first code to run inside the sandbox, still trusted)
    Copies the submission folder (except notebooks) into its size-limited tmpfs, sets the
    rlimits, drops from root to an unused uid when the grader runs as root (so
    that ``RLIMIT_NPROC`` applies and no capability is left), and ``exec``s
    ``ipykernel``.

Nothing on the host's disk is writable from inside: the submission folder is
an in-memory copy, so whatever the kernel writes vanishes with it, and the
notebook nbgrader saves is built from the kernel's messages, not read back
from the folder.

Limits are read from ``RNN_SANDBOX_*`` environment variables (see
:class:`SandboxLimits`). Only the standard library and pyzmq are imported here.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

# The inner half must not import anything heavy: it runs before every kernel.
INNER_RUN = "/run/rnn-kernel"  # tmpfs holding the kernel's ipc sockets
INNER_CONNECTION = "/run/rnn-connection.json"  # read-only copy for the inner half
INNER_SOURCE = "/run/rnn-submission"  # read-only view of the real submission folder
INNER_HOME = "/tmp/home"
# When the grader runs as root, each sandbox runs as its own unused uid
# (SANDBOX_UID_BASE + the launcher's pid): RLIMIT_NPROC is counted per uid, so
# one submission's fork bomb cannot starve another sandbox running meanwhile.
SANDBOX_UID_BASE = 2_000_000
# channel name -> ipc "port" number used inside the sandbox
CHANNELS = {"shell": 1, "iopub": 2, "stdin": 3, "control": 4, "hb": 5}


def _log(msg: str) -> None:
    try:
        print(f"[rnn-sandbox] {msg}", file=sys.stderr, flush=True)
    except (OSError, ValueError):  # the grader that read our stderr is gone: what follows must still run
        pass


@dataclasses.dataclass(frozen=True)
class SandboxLimits:
    """Resource bounds for one sandboxed kernel (one submitted notebook).

    Attributes:
        wall_s: seconds the kernel may live in total; then it is killed.
        cpu_s: CPU seconds per process (``RLIMIT_CPU``).
        memory_mib: address space per process (``RLIMIT_AS``), MiB.
        nproc: processes + threads (``RLIMIT_NPROC``; see the README for root).
        fsize_mib: largest file a process may write (``RLIMIT_FSIZE``), MiB.
        nofile: open file descriptors (``RLIMIT_NOFILE``).
        workdir_mib / tmp_mib / shm_mib: sizes of the in-memory submission
            folder, ``/tmp`` and ``/dev/shm`` (bounds everything written to "disk").
        output_mib: bytes the kernel may send to the grader (all channels);
            past it the kernel is killed.
        stdio_kib: raw stdout/stderr of the kernel process shown in the
            grader's log; the rest is dropped.
        threads: OMP/MKL thread count inside the sandbox.
    """

    wall_s: int = 1800
    cpu_s: int = 1800
    memory_mib: int = 4096
    nproc: int = 96
    fsize_mib: int = 64
    nofile: int = 1024
    workdir_mib: int = 256
    tmp_mib: int = 256
    shm_mib: int = 64
    output_mib: int = 32
    stdio_kib: int = 64
    threads: int = 4

    @classmethod
    def from_env(cls, environ: dict | None = None) -> SandboxLimits:
        """Defaults, overridden by ``RNN_SANDBOX_<FIELD>`` variables (integers)."""
        environ = os.environ if environ is None else environ
        values = {}
        for field in dataclasses.fields(cls):
            raw = environ.get(f"RNN_SANDBOX_{field.name.upper()}")
            if raw is None:
                continue
            try:
                values[field.name] = int(raw)
            except ValueError:
                raise ValueError(
                    f"RNN_SANDBOX_{field.name.upper()} must be an integer, got {raw!r}"
                ) from None
            if values[field.name] <= 0:
                raise ValueError(f"RNN_SANDBOX_{field.name.upper()} must be positive, got {raw!r}")
        return cls(**values)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def find_bwrap() -> str | None:
    """Path of the ``bwrap`` executable, or None when bubblewrap is not installed."""
    return os.environ.get("RNN_SANDBOX_BWRAP") or shutil.which("bwrap") or (
        "/usr/bin/bwrap" if os.path.exists("/usr/bin/bwrap") else None
    )


# ----------------------------------------------------------------------------
# bwrap command line
# ----------------------------------------------------------------------------
_SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]
_ETC_FILES = [
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/alternatives",
    "/etc/localtime",
    "/etc/nsswitch.conf",
    "/etc/passwd",
    "/etc/group",
    "/etc/mime.types",
]
_PASS_ENV_PREFIXES = ("LANG", "LC_", "TZ", "COURSE_", "PYTHONHASHSEED", "TQDM_")


def readonly_paths(extra: list[str] | None = None) -> list[str]:
    """Host paths the sandbox sees read-only: Python, the venv, the course code.

    Returns absolute, existing, de-duplicated paths (system directories and
    ``/etc`` files are handled separately by :func:`bwrap_argv`).
    """
    import importlib.util

    paths: list[str] = []
    for p in (sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable))):
        paths.append(os.path.realpath(p))
        if os.path.abspath(p) != os.path.realpath(p):
            paths.append(os.path.abspath(p))
    # the course's own package(s), wherever they are installed from
    for name in os.environ.get("RNN_SANDBOX_PACKAGES", "course_utils").split(","):
        spec = importlib.util.find_spec(name.strip())
        if spec is not None and spec.submodule_search_locations:
            paths.extend(os.path.realpath(p) for p in spec.submodule_search_locations)
    for p in extra or []:
        paths.append(os.path.realpath(p))
    for p in os.environ.get("RNN_SANDBOX_RO_PATHS", "").split(os.pathsep):
        if p:
            paths.append(os.path.realpath(p))
    if os.environ.get("COURSE_DATA_DIR"):  # the course's data cache, read-only
        paths.append(os.path.realpath(os.environ["COURSE_DATA_DIR"]))
    out: list[str] = []
    for p in paths:
        if os.path.exists(p) and p not in out and p != "/":
            out.append(p)
    return out


def bwrap_argv(
    *,
    bwrap: str,
    workdir: str,
    limits: dict,
    info_fd: int,
    conn_fd: int,
    root: bool,
    extra_ro: list[str] | None = None,
    kernel_args: list[str] | None = None,
) -> list[str]:
    """The ``bwrap`` command line that runs the inner half for ``workdir``."""
    mib = 1024 * 1024
    argv = [bwrap, "--die-with-parent", "--new-session"]
    argv += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if not root:
        # unprivileged bwrap always needs a user namespace; forbid nested ones
        argv += ["--unshare-user", "--disable-userns"]
    argv += ["--hostname", "sandbox"]
    binds: list[str] = []  # targets whose contents come from the host
    created: set[str] = set()  # directories made by --dir, tmpfs mount points

    def mount(*opts: str, dest: str) -> None:
        # bwrap would create missing parents 0700 (untraversable after the drop
        # to an unprivileged uid): create them 0755 first, unless a host bind provides them
        parents = []
        parent = os.path.dirname(dest)
        while parent not in ("/", ""):
            parents.append(parent)
            parent = os.path.dirname(parent)
        for d in reversed(parents):
            if d in created or any(d == b or d.startswith(b.rstrip("/") + "/") for b in binds):
                continue
            argv.extend(["--perms", "0755", "--dir", d])
            created.add(d)
        argv.extend(opts)
        if "--tmpfs" in opts or "--dir" in opts:
            created.add(dest)
        else:
            binds.append(dest)

    for d in _SYSTEM_DIRS:
        if os.path.islink(d):
            mount("--symlink", os.readlink(d), d, dest=d)
        elif os.path.isdir(d):
            mount("--ro-bind", d, d, dest=d)
    for f in _ETC_FILES:
        if os.path.exists(f):
            mount("--ro-bind", f, f, dest=f)
    mount("--dev", "/dev", dest="/dev")
    mount("--proc", "/proc", dest="/proc")
    mount("--perms", "1777", "--size", str(limits["tmp_mib"] * mib), "--tmpfs", "/tmp", dest="/tmp")
    mount("--perms", "1777", "--size", str(limits["shm_mib"] * mib), "--tmpfs", "/dev/shm",
          dest="/dev/shm")
    mount("--perms", "0755", "--size", str(1 * mib), "--tmpfs", INNER_RUN, dest=INNER_RUN)
    for p in readonly_paths(extra_ro):
        if not any(p == b or p.startswith(b.rstrip("/") + "/") for b in binds):  # e.g. /usr already
            mount("--ro-bind", p, p, dest=p)
    # the submission: a read-only view of the real folder, and a size-limited
    # tmpfs at the real path that the inner half fills with a copy
    mount("--ro-bind", workdir, INNER_SOURCE, dest=INNER_SOURCE)
    mount("--perms", "0755", "--size", str(limits["workdir_mib"] * mib), "--tmpfs", workdir,
          dest=workdir)
    argv += ["--perms", "0444", "--ro-bind-data", str(conn_fd), INNER_CONNECTION]
    argv += ["--chdir", "/", "--info-fd", str(info_fd)]
    argv += ["--clearenv"]
    for key, value in sandbox_env(limits).items():
        argv += ["--setenv", key, value]
    argv += ["--", _inner_python(), "-I", "-Xfrozen_modules=off", os.path.abspath(__file__)]
    argv += ["--inner", "--workdir", workdir, "--limits", json.dumps(limits),
             "--uid", str(SANDBOX_UID_BASE + os.getpid() if root else os.getuid()), *(kernel_args or [])]
    return argv


def _inner_python() -> str:
    """The interpreter of this venv, by the path that keeps ``sys.prefix`` the venv."""
    exe = os.path.join(sys.prefix, "bin", "python")
    return exe if os.path.exists(exe) else sys.executable


def sandbox_env(limits: dict) -> dict[str, str]:
    """The whole environment of the sandboxed kernel (nothing else leaks in)."""
    # the grader's own choice (e.g. OMP_NUM_THREADS=1, one kernel per core) wins
    threads = os.environ.get("OMP_NUM_THREADS") or str(max(1, min(int(limits["threads"]), os.cpu_count() or 1)))
    env = {
        "PATH": f"{sys.prefix}/bin:/usr/local/bin:/usr/bin:/bin",
        "HOME": INNER_HOME,
        "TMPDIR": "/tmp",
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "PYTHONSAFEPATH": "1",  # the kernel's folder is not on sys.path: imports come from the course's environment
        "MPLCONFIGDIR": f"{INNER_HOME}/.config/matplotlib",
        "IPYTHONDIR": f"{INNER_HOME}/.ipython",
        "JUPYTER_CONFIG_DIR": f"{INNER_HOME}/.jupyter",
        "JUPYTER_RUNTIME_DIR": f"{INNER_HOME}/.local/share/jupyter/runtime",
        "XDG_CACHE_HOME": f"{INNER_HOME}/.cache",
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": os.environ.get("MKL_NUM_THREADS") or threads,
        "OPENBLAS_NUM_THREADS": threads,
        "MALLOC_ARENA_MAX": "2",
        "COURSE_DEVICE": "cpu",
        "CUDA_VISIBLE_DEVICES": "",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "RNN_SANDBOXED": "1",
    }
    for key, value in os.environ.items():
        if key.startswith(_PASS_ENV_PREFIXES) and key not in env:
            env[key] = value
    env["COURSE_DEVICE"] = "cpu"  # no GPU device nodes inside
    return env


# ----------------------------------------------------------------------------
# outer half
# ----------------------------------------------------------------------------
class Relay(threading.Thread):
    """Relay the kernel channels: TCP for jupyter_client, ipc to the sandbox.

    Counts every byte the kernel sends; past ``cap_bytes`` it calls
    ``on_overflow(reason)`` (which kills the sandbox) and stops relaying. When a
    kernel-side connection drops (the kernel exits, or a single message was over
    the cap) it calls ``on_overflow(None)`` and stops.
    """

    def __init__(self, conn: dict, inner_prefix: str, cap_bytes: int, on_overflow) -> None:
        super().__init__(daemon=True, name="rnn-sandbox-relay")
        import zmq

        self.zmq = zmq
        self.ctx = zmq.Context()
        self.cap = cap_bytes
        self.sent = 0
        self.on_overflow = on_overflow
        self.pairs: dict = {}
        ident = secrets.token_bytes(8)
        kinds = {
            "shell": (zmq.ROUTER, zmq.DEALER),
            "control": (zmq.ROUTER, zmq.DEALER),
            "stdin": (zmq.ROUTER, zmq.DEALER),
            "hb": (zmq.ROUTER, zmq.DEALER),
            "iopub": (zmq.XPUB, zmq.XSUB),
        }
        ip = conn.get("ip", "127.0.0.1")
        for name, (front_kind, back_kind) in kinds.items():
            front = self.ctx.socket(front_kind)
            front.linger = 0
            front.bind(f"tcp://{ip}:{conn[name + '_port']}")
            back = self.ctx.socket(back_kind)
            back.linger = 0
            back.setsockopt(zmq.MAXMSGSIZE, cap_bytes)
            back.setsockopt(zmq.RECONNECT_IVL, -1)  # connect once (see _wait_for_sockets)
            if name in ("shell", "stdin"):
                back.setsockopt(zmq.IDENTITY, ident)  # stdin requests route by shell identity
            back.connect(f"ipc://{inner_prefix}-{CHANNELS[name]}")
            self.pairs[front] = back
            self.pairs[back] = front
        self.backs = {self.pairs[f] for f in list(self.pairs) if f.socket_type in (zmq.ROUTER, zmq.XPUB)}
        # A message over MAXMSGSIZE makes ZeroMQ drop the connection, and the relay never
        # reconnects: watch for that, or the grader would wait on a silent kernel.
        self.monitors = [back.get_monitor_socket(zmq.EVENT_DISCONNECTED) for back in self.backs]

    def run(self) -> None:
        zmq = self.zmq
        poller = zmq.Poller()
        for sock in list(self.pairs) + self.monitors:
            poller.register(sock, zmq.POLLIN)
        closing_at = None
        try:
            while True:
                if closing_at is not None and time.monotonic() > closing_at:
                    self.on_overflow(None)  # the launcher decides: exiting, or cut off
                    return
                for sock, _ in poller.poll(100 if closing_at is not None else None):
                    if sock in self.monitors:
                        sock.recv_multipart()
                        if closing_at is None:  # forward what is still queued (shutdown_reply) first
                            closing_at = time.monotonic() + 0.3
                        continue
                    frames = sock.recv_multipart(copy=False)
                    if sock in self.backs:
                        self.sent += sum(len(f.buffer) for f in frames)
                        if self.sent > self.cap:
                            self.on_overflow(f"the kernel sent more than {self.cap} bytes of output")
                            return
                    self.pairs[sock].send_multipart(frames, copy=False)
        except zmq.ContextTerminated:
            return
        except Exception as exc:  # the relay must never take the launcher down silently
            _log(f"relay stopped: {exc!r}")


def _drain(stream, cap: int) -> None:
    """Copy the kernel's raw stdout/stderr to ours, up to ``cap`` bytes; drop the rest."""
    written = 0
    out = sys.stderr.buffer
    while True:
        chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
        if not chunk:
            return
        if written < cap:
            part = chunk[: cap - written]
            written += len(part)
            try:
                out.write(part)
                out.flush()
            except Exception:
                pass
            if written >= cap:
                try:
                    out.write(b"\n[rnn-sandbox] kernel stdout/stderr truncated\n")
                    out.flush()
                except Exception:
                    pass


def _wait_for_sockets(prefix: str, proc: subprocess.Popen, timeout: float) -> bool:
    """Wait until the kernel has bound all five ipc sockets (and they are sockets).

    The relay connects once, before any student code has run, and never
    reconnects: a submission that later replaced a socket file with a symbolic
    link could otherwise point the relay (running with the grader's rights)
    at a socket of the host.
    """
    import stat as _stat

    deadline = time.monotonic() + timeout
    paths = [f"{prefix}-{n}" for n in CHANNELS.values()]
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if all(_stat.S_ISSOCK(os.lstat(p).st_mode) for p in paths):
                return True
        except OSError:
            pass
        time.sleep(0.01)
    return False


# How often the launcher checks that the process that started it still exists (seconds).
PARENT_POLL_S = 0.5


def watch_parent(parent_pid: int, on_gone, stop: threading.Event, interval: float = PARENT_POLL_S) -> None:
    """Call ``on_gone(reason)`` once the launcher's parent ``parent_pid`` has died; return then or on ``stop``.

    A dead parent's children are re-parented (to init or a subreaper), so ``os.getppid()``
    changes. Polling it, rather than ``PR_SET_PDEATHSIG``, is not fooled by the death of the
    parent's *thread* that started the kernel (a thread pool in nbgrader or a Dask worker).
    """
    while not stop.wait(interval):
        if os.getppid() != parent_pid:
            on_gone(f"the process that started the kernel (pid {parent_pid}) is gone")
            return


def run_outer(connection_file: str, extra_ro: list[str], kernel_args: list[str]) -> int:
    parent_pid = os.getppid()  # first: the parent may die while the sandbox starts
    limits = SandboxLimits.from_env().as_dict()
    bwrap = find_bwrap()
    if bwrap is None:
        _log("bubblewrap (bwrap) is not installed: cannot start the sandboxed kernel. "
             "Install it (apt-get install bubblewrap) or grade with the sandbox off.")
        return 3
    conn = json.loads(Path(connection_file).read_text())
    if conn.get("transport", "tcp") != "tcp":
        _log(f"expected a tcp connection file from jupyter_client, got {conn.get('transport')!r}")
        return 3
    if conn.get("curve_secretkey"):
        _log("CurveZMQ-encrypted connections are not supported by the sandbox relay")
        return 3
    workdir = os.path.realpath(os.getcwd())
    inner_conn = {
        "transport": "ipc",
        "ip": f"{INNER_RUN}/k",
        "key": conn.get("key", ""),
        "signature_scheme": conn.get("signature_scheme", "hmac-sha256"),
        "kernel_name": conn.get("kernel_name", ""),
    }
    for name, port in CHANNELS.items():
        inner_conn[f"{name}_port"] = port
    root = os.geteuid() == 0

    info_r, info_w = os.pipe()
    conn_r, conn_w = os.pipe()
    os.write(conn_w, json.dumps(inner_conn).encode())
    os.close(conn_w)
    argv = bwrap_argv(bwrap=bwrap, workdir=workdir, limits=limits, info_fd=info_w,
                      conn_fd=conn_r, root=root, extra_ro=extra_ro,
                      kernel_args=kernel_args)
    proc = subprocess.Popen(
        argv,
        pass_fds=(info_w, conn_r),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,  # ipykernel's banner; student output goes over iopub
        stderr=subprocess.PIPE,
        cwd="/",
    )
    os.close(info_w)
    os.close(conn_r)
    threading.Thread(target=_drain, args=(proc.stderr, limits["stdio_kib"] * 1024), daemon=True).start()

    killed = threading.Event()

    def kill(reason: str | None) -> None:
        if not killed.is_set():
            killed.set()
            if reason:
                _log(f"killing the sandboxed kernel: {reason}")
        try:
            proc.kill()  # bwrap --die-with-parent / PID namespace take the rest down
        except ProcessLookupError:
            pass

    # SIGTERM from jupyter_client: stop the sandbox, then exit
    signal.signal(signal.SIGTERM, lambda *_: kill(None))
    # no SIGTERM comes when the grader is SIGKILLed (a Dask worker killed alone): notice it
    threading.Thread(target=watch_parent, args=(parent_pid, kill, killed), daemon=True,
                     name="rnn-sandbox-parent").start()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # interrupts go as messages (interrupt_mode)

    with os.fdopen(info_r, "rb") as info:
        raw = info.read()  # bwrap closes it once the sandbox is set up
    try:
        child = json.loads(raw.decode() or "{}")["child-pid"]
    except (ValueError, KeyError):
        proc.wait()
        _log(f"bwrap failed to start the sandbox (exit {proc.returncode})")
        return proc.returncode or 3
    inner_prefix = f"/proc/{child}/root{INNER_RUN}/k"
    if not _wait_for_sockets(inner_prefix, proc, timeout=120.0):
        kill("the kernel did not open its sockets")
        proc.wait()
        return 3
    def relay_stopped(reason: str | None) -> None:
        if reason:  # over the output cap
            kill(reason)
            return
        # a kernel channel dropped: fine if the kernel is exiting, else it sent an oversized message
        try:
            proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            kill("the kernel sent a message larger than the output cap")

    relay = Relay(conn, inner_prefix, limits["output_mib"] * 1024 * 1024, relay_stopped)
    relay.start()
    timer = threading.Timer(limits["wall_s"], kill, args=(f"wall-time limit of {limits['wall_s']} s",))
    timer.daemon = True
    timer.start()
    rc = proc.wait()
    timer.cancel()
    sys.stderr.flush()
    os._exit(rc if rc >= 0 else 128 - rc)


# ----------------------------------------------------------------------------
# inner half (inside the sandbox, before any student code)
# ----------------------------------------------------------------------------
def is_copied(entry: os.DirEntry) -> bool:
    """Whether the sandbox copies this entry of the kernel's folder: not a link, a notebook or a dot-file.

    A link could point anywhere; notebooks hold the hidden tests.
    """
    return not (entry.is_symlink() or entry.name.endswith(".ipynb") or entry.name.startswith("."))


def _copy_submission(src: str, dst: str) -> None:
    """Copy what the student submitted into the kernel's folder, except notebooks.

    The folder nbgrader starts the kernel in holds the notebook it restored,
    hidden tests and expected values included; the kernel gets its cells over
    the kernel protocol and has no use for the file. (Everything else that was
    not a notebook was quarantined before grading.)
    """
    for entry in os.scandir(src):
        target = os.path.join(dst, entry.name)
        if not is_copied(entry):
            continue
        if entry.is_dir():
            shutil.copytree(entry.path, target, symlinks=False, ignore_dangling_symlinks=True,
                            dirs_exist_ok=True)
        elif entry.is_file():
            shutil.copy2(entry.path, target)


def _chown_tree(path: str, uid: int, gid: int) -> None:
    os.chown(path, uid, gid)
    for base, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(base, name), uid, gid)


def run_inner(workdir: str, limits: dict, uid: int, kernel_args: list[str]) -> None:
    import resource

    _copy_submission(INNER_SOURCE, workdir)
    home = Path(INNER_HOME)
    for sub in (".config/matplotlib", ".ipython", ".jupyter", ".cache", ".local/share/jupyter/runtime"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    conn_path = f"{INNER_RUN}/connection.json"
    shutil.copyfile(INNER_CONNECTION, conn_path)
    root = os.geteuid() == 0
    if root:
        for path in (workdir, INNER_HOME, INNER_RUN):
            _chown_tree(path, uid, uid)
    try:  # under memory pressure, the kernel goes first
        Path("/proc/self/oom_score_adj").write_text("1000")
    except OSError:
        pass
    mib = 1024 * 1024
    for name, value in (
        ("RLIMIT_AS", limits["memory_mib"] * mib),
        ("RLIMIT_NPROC", limits["nproc"]),
        ("RLIMIT_FSIZE", limits["fsize_mib"] * mib),
        ("RLIMIT_CPU", limits["cpu_s"]),
        ("RLIMIT_NOFILE", limits["nofile"]),
        ("RLIMIT_CORE", 0),
    ):
        resource.setrlimit(getattr(resource, name), (value, value))
    if root:
        # RLIMIT_NPROC does not bind root: become an unused uid (this drops every capability)
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    os.chdir(workdir)
    python = _inner_python()
    argv = [python, "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", conn_path,
            "--HistoryManager.hist_file=:memory:", "--IPKernelApp.ignore_cwd=True", *kernel_args]
    os.execv(python, argv)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-f", dest="connection_file", help="jupyter connection file")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--limits", help=argparse.SUPPRESS)
    parser.add_argument("--uid", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--ro", action="append", default=[], help="extra read-only host path")
    args, rest = parser.parse_known_args(argv)
    if args.inner:
        run_inner(args.workdir, json.loads(args.limits), args.uid, rest)
        return 0  # not reached: exec
    if not args.connection_file:
        parser.error("-f CONNECTION_FILE is required")
    return run_outer(args.connection_file, args.ro, rest)


if __name__ == "__main__":
    sys.exit(main())
