"""Student content made safe to render in the instructor's browser (feedback HTML and the formgrader).

nbconvert renders a notebook's markdown cells and HTML outputs as they are,
and embeds JavaScript outputs as scripts: a submission whose markdown cell
holds ``<script>`` would run, with the instructor's session, when the
formgrader shows it. :class:`SanitizeStudentContent` runs in ``nbgrader
autograde`` (so the autograded notebook, which the formgrader renders, is
already clean) and again in ``nbgrader generate_feedback``:

* markdown cells and ``text/markdown`` outputs that contain raw HTML or a
  ``javascript:``/``vbscript:``/``data:`` URL are rendered to HTML with
  nbconvert's own markdown renderer and cleaned with bleach; markdown without
  them is left exactly as written;
* ``text/html`` outputs are cleaned with bleach: an allowlist of formatting
  tags (tables included, for DataFrames), no ``<script>``/``<style>``, no
  event handlers, no ``style``, links only to ``http``/``https``/``mailto``,
  images only from inline ``data:image/png|jpeg|gif`` (so that opening the page
  makes no request anywhere);
* JavaScript, SVG and widget outputs are replaced by a short text note, raw
  cells lose their format (nbconvert would paste raw HTML into the page),
  attachments other than PNG/JPEG/GIF are dropped, and the notebook's
  ``widgets`` and ``title`` metadata go.

Locked cells (the instructor's own) are left alone.
"""

from __future__ import annotations

import re
from typing import Any

import bleach
from nbformat.notebooknode import NotebookNode
from nbgrader import utils as nbutils
from nbgrader.preprocessors import NbGraderPreprocessor

__all__ = ["ALLOWED_TAGS", "SanitizeStudentContent", "clean_html", "clean_markdown"]

ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p", "pre", "q", "s",
    "samp", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "u", "ul", "var",
})
ALLOWED_ATTRIBUTES = {
    "a": ["href", "title"],
    "img": ["src", "alt", "title", "width", "height"],
    "td": ["colspan", "rowspan", "align"],
    "th": ["colspan", "rowspan", "align"],
    "table": ["border"],
    "ol": ["start"],
}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
_INLINE_IMAGE = re.compile(r"data:image/(png|jpeg|gif);base64,[A-Za-z0-9+/=\s]*\Z")
_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b.*?(</\1\s*>|\Z)", re.IGNORECASE | re.DOTALL)
_RISKY_MARKDOWN = re.compile(r"<\s*[A-Za-z!/?]|(?i:(?:java|vb)script|data|file)\s*:|&#|&[a-z]+;", re.IGNORECASE)
_DROPPED_MIMES = ("application/javascript", "text/javascript", "application/x-javascript", "image/svg+xml",
                  "application/vnd.jupyter.widget-view+json", "application/vnd.jupyter.widget-state+json")
_SAFE_ATTACHMENTS = ("image/png", "image/jpeg", "image/gif")
NOTE = "[{what} removed by the grader: it could run code in the instructor's browser]"


def _attribute_ok(tag: str, name: str, value: str) -> bool:
    if tag == "img" and name == "src":
        return bool(_INLINE_IMAGE.match(value)) or value.startswith("attachment:")
    if tag == "a" and name == "href":
        scheme = value.split(":", 1)[0].strip().lower() if ":" in value.split("/", 1)[0] else ""
        return scheme in ALLOWED_PROTOCOLS or scheme == "" and not value.strip().lower().startswith("//")
    return name in ALLOWED_ATTRIBUTES.get(tag, [])


def clean_html(html: str) -> str:
    """``html`` with only the allowlisted tags and attributes; scripts, styles and handlers gone."""
    html = _SCRIPT_OR_STYLE.sub("", html)
    return bleach.clean(html, tags=ALLOWED_TAGS, attributes=_attribute_ok, protocols=ALLOWED_PROTOCOLS,
                        strip=True, strip_comments=True)


def clean_markdown(source: str) -> str:
    """Markdown unchanged when it holds no raw HTML and no risky URL; else its rendering, cleaned."""
    if not _RISKY_MARKDOWN.search(source):
        return source
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    try:
        html = markdown2html_mistune(source)
    except Exception:  # a renderer failure must not let the raw source through
        return bleach.clean(source, tags=set(), strip=True)
    # One HTML block without blank lines: markdown is not parsed again inside it when the page renders it.
    cleaned = re.sub(r"\n\s*\n", "\n", clean_html(html)).strip()
    return f'<div class="rnn-sanitized">\n{cleaned}\n</div>'


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


class SanitizeStudentContent(NbGraderPreprocessor):
    """Clean what students wrote or produced before nbconvert turns it into HTML (see module docstring)."""

    def preprocess(self, nb: NotebookNode, resources: Any):
        for key in ("widgets", "title"):
            nb.metadata.pop(key, None)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell: NotebookNode, resources: Any, cell_index: int):
        locked = nbutils.is_locked(cell) and not nbutils.is_solution(cell)
        if cell.cell_type == "raw":
            for key in ("format", "raw_mimetype"):
                cell.metadata.pop(key, None)
        if cell.cell_type == "markdown" and not locked:
            cell.source = clean_markdown(_text(cell.source))
        if "attachments" in cell:
            for name, bundle in list(cell.attachments.items()):
                kept = {m: v for m, v in bundle.items() if m in _SAFE_ATTACHMENTS}
                if kept:
                    cell.attachments[name] = kept
                else:
                    del cell.attachments[name]
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = output.get("data")
            if not isinstance(data, dict):
                continue
            for mime in list(data):
                if mime in _DROPPED_MIMES or mime.endswith(("javascript", "+html")):
                    del data[mime]
                    data.setdefault("text/plain", NOTE.format(what=f"a {mime} output"))
                elif mime == "text/html":
                    data[mime] = clean_html(_text(data[mime]))
                elif mime == "text/markdown":
                    data["text/html"] = clean_markdown(_text(data.pop(mime)))
            if not data:
                data["text/plain"] = NOTE.format(what="an output")
        return cell, resources
