"""The course book: the lectures with their committed outputs as a static HTML site (``make book``).

    python -m course_utils.instructor.book --out build/book     # then open build/book/index.html

Sphinx with MyST-NB and the book theme renders the notebooks without running them. Before that,
a staging copy of the lectures is prepared:

- each widget output is replaced by its saved state (slider values, the HTML it showed), under a
  line saying that the widget needs a running kernel; the notebooks' widget state is dropped so no
  widget JavaScript (which would come from a CDN) is needed;
- the start page lists the lectures in teaching order (their file names' numbers);
- MathJax 3 is copied from the ``django-static-mathjax`` package (a plain copy of the MathJax
  distribution) into the site's ``_static/``, so formulas are typeset with no network at all.
"""

from __future__ import annotations

import argparse
import html
import importlib.util
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

COURSE_ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
MATHJAX_SCRIPT = "tex-svg-full.js"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_NOTE = ("Interactive widget: it needs a running kernel. Open this lecture with <code>make lab</code> "
               "and run its cells to use it; shown here is its state when the notebook was saved.")


class BookError(RuntimeError):
    """The book cannot be built: what was expected and what was found."""


def _widget_html(model_id: str, state: dict[str, Any], depth: int = 0) -> str:
    """HTML for one saved widget model and its children (sliders as `name = value`, HTML as shown)."""
    model = state.get(model_id)
    if model is None or depth > 20:
        return ""
    s = model.get("state", {})
    name = model.get("model_name", "")
    desc = html.escape(str(s.get("description", "") or ""))
    children = [c[len("IPY_MODEL_"):] for c in s.get("children", []) if isinstance(c, str)]
    if children:
        inner = "".join(_widget_html(c, state, depth + 1) for c in children)
        direction = "row" if name == "HBoxModel" else "column"
        return f'<div style="display:flex; flex-direction:{direction}; gap:1em">{inner}</div>'
    if name in ("HTMLModel", "HTMLMathModel"):
        return f"<div>{s.get('value', '')}</div>"
    if name == "LabelModel":
        return f"<div>{html.escape(str(s.get('value', '')))}</div>"
    if name == "OutputModel":
        parts = []
        for out in s.get("outputs", []):
            data = out.get("data", {})
            if "text/html" in data:
                parts.append("".join(data["text/html"]) if isinstance(data["text/html"], list) else data["text/html"])
            elif "image/png" in data:
                parts.append(f'<img alt="widget output" src="data:image/png;base64,{data["image/png"]}"/>')
            elif "text/plain" in data or "text" in out:
                text = data.get("text/plain", out.get("text", ""))
                parts.append(f"<pre>{html.escape(''.join(text) if isinstance(text, list) else text)}</pre>")
        return "<div>" + "".join(parts) + "</div>"
    if "value" in s:
        value = s["value"]
        if name.endswith("DropdownModel") or name.endswith("ToggleButtonsModel") or name.endswith("SelectModel"):
            labels = s.get("_options_labels", [])
            index = s.get("index")
            value = labels[index] if isinstance(index, int) and 0 <= index < len(labels) else value
        label = f"{desc} = " if desc else ""
        return f'<div class="course-widget-control">{label}{html.escape(str(value))}</div>'
    if name == "ButtonModel":
        return f'<div class="course-widget-control">[{desc or html.escape(str(s.get("description", "button")))}]</div>'
    return ""


def static_widget_output(output: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """A display_data output showing a widget's saved state under the 'needs a running kernel' line."""
    model_id = output["data"][WIDGET_VIEW].get("model_id", "")
    body = _widget_html(model_id, state)
    if not body:
        text = output["data"].get("text/plain", "")
        body = f"<pre>{html.escape(''.join(text) if isinstance(text, list) else text)}</pre>"
    note = f'<p class="course-widget-note">{WIDGET_NOTE}</p>'
    return {"output_type": "display_data", "metadata": {},
            "data": {"text/html": f'<div class="course-widget">{note}{body}</div>'}}


def prepare_notebook(nb: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The notebook with every widget output replaced by its static state; returns (notebook, widgets replaced)."""
    state = nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    replaced = 0
    for cell in nb.get("cells", []):
        outputs = cell.get("outputs")
        if not outputs:
            continue
        new = []
        for out in outputs:
            if WIDGET_VIEW in out.get("data", {}):
                new.append(static_widget_output(out, state))
                replaced += 1
            else:
                new.append(out)
        cell["outputs"] = new
    nb.get("metadata", {}).pop("widgets", None)
    return nb, replaced


def _title(nb: dict[str, Any], fallback: str) -> str:
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def mathjax_dir() -> Path:
    """MathJax 3's browser components (``es5/``) as the ``django-static-mathjax`` package ships them.

    That package is only a copy of the MathJax distribution (no Django needed); the site loads
    ``tex-svg-full.js`` from it: TeX input with every extension and SVG output, so no web fonts.
    """
    spec = importlib.util.find_spec("mathjax")
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        es5 = Path(folder) / "static" / "mathjax" / "es5"
        if (es5 / MATHJAX_SCRIPT).is_file():
            return es5
    raise BookError(f"MathJax's {MATHJAX_SCRIPT} was not found (looked in {folders or 'no mathjax package'}): "
                    "install django-static-mathjax, it is in requirements.lock (`make setup`)")


def stage(src: Path, root: Path = COURSE_ROOT) -> list[str]:
    """Write the Sphinx source folder ``src``: conf.py, the start page, prepared lectures, figures, MathJax."""
    if src.exists():
        shutil.rmtree(src)
    (src / "_static").mkdir(parents=True)
    shutil.copy(HERE / "conf.py", src / "conf.py")
    shutil.copy(HERE / "course-book.css", src / "_static" / "course-book.css")
    # MathJax without what the SVG page never loads (speech engine, CHTML output and its fonts, node entry).
    skip = shutil.ignore_patterns("__pycache__", "sre", "chtml", "*chtml*.js", "node-main.js")
    shutil.copytree(mathjax_dir(), src / "_static" / "mathjax", ignore=skip)
    lectures = sorted((root / "lectures").glob("[0-9][0-9]_*.ipynb"))
    if not lectures:
        raise BookError(f"no lectures (NN_name.ipynb) under {root / 'lectures'}")
    (src / "lectures").mkdir()
    if (root / "lectures" / "figures").is_dir():
        shutil.copytree(root / "lectures" / "figures", src / "lectures" / "figures",
                        ignore=shutil.ignore_patterns("*.py", "src", "__pycache__"))
    entries = []
    for path in lectures:
        nb, _ = prepare_notebook(json.loads(path.read_text()))
        (src / "lectures" / path.name).write_text(json.dumps(nb))
        entries.append((f"lectures/{path.stem}", _title(nb, path.stem)))
    toc = "\n".join(doc for doc, _ in entries)
    listing = "\n".join(f"{i}. [{title}]({doc}.ipynb)" for i, (doc, title) in enumerate(entries, 1))
    (src / "index.md").write_text(
        "# Recurrent neural networks for NLP\n\n"
        "The course's lectures, in teaching order, as they were last run: every output and plot is the one "
        "the notebook computed. To run them, or to use the widgets, open the course with `make lab`.\n\n"
        f"{listing}\n\n```{{toctree}}\n:maxdepth: 1\n:caption: Lectures\n:hidden:\n\n{toc}\n```\n")
    return [doc for doc, _ in entries]


def build_book(out: Path | str, root: Path | str = COURSE_ROOT, workdir: Path | str | None = None) -> Path:
    """Build the site into ``out`` (its ``index.html`` is the start page); returns ``out``.

    Sphinx warnings (a broken cross-link, a missing image) fail the build.
    """
    out, root = Path(out).resolve(), Path(root).resolve()
    work = Path(workdir).resolve() if workdir else out.parent / (out.name + "-src")
    stage(work / "src", root)
    if out.exists():
        shutil.rmtree(out)
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going", "-E",
           "-d", str(work / "doctrees"), str(work / "src"), str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BookError(f"sphinx-build failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.instructor.book", description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(COURSE_ROOT / "build" / "book"), help="the site's folder")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        site = build_book(args.out)
    except BookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"book: {site / 'index.html'} ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
