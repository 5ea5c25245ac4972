"""A script-carrying submission opened in Chromium, as feedback and as the formgrader shows it (issue 17, finding 4).

The submission's markdown cell and outputs carry every way we know to run code in
the instructor's browser: ``<script>``, an ``onerror`` handler, a ``javascript:``
link clicked by the test, an SVG ``onload``, a JavaScript output, a ``fetch`` to the
formgrader's API. Each page is rendered by the exporter nbgrader uses (the
feedback's default HTML template; the formgrader's ``formgrade`` template, as its
server extension configures it) from the notebook after
:class:`~course_utils.instructor.sanitize.SanitizeStudentContent`, opened from a
file in headless Chromium with every network request recorded and refused, and
checked: nothing the student wrote ran (``window.RNN_ATTACK_RAN`` unset) and the
page asked for nothing a blank notebook's page does not (so no request reached
the formgrader's API, which is the only way a page changes a grade or writes a
file). A control renders the same notebook unsanitised and must show the attack
running, so the check can fail.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from chromium import CHROMIUM_ARGS, find_chromium

from course_utils.instructor.sanitize import SanitizeStudentContent

pytestmark = pytest.mark.slow

MARKDOWN = ('<script>window.RNN_ATTACK_RAN = "script"; fetch("/formgrader/api/grade/1", {method: "PUT"})</script>\n'
            '<img src="x" onerror="window.RNN_ATTACK_RAN = \'onerror\'">\n'
            '<a id="bad-link" href="javascript:void(window.RNN_ATTACK_RAN=\'link\')">click</a>\n'
            '<svg><image href="x" onerror="window.RNN_ATTACK_RAN=\'svg\'"/></svg>\n'
            '[md link](javascript:void(window.RNN_ATTACK_RAN="md")) <iframe src="https://example.invalid/"></iframe>')



def _submission() -> nbformat.NotebookNode:
    out = [
        nbformat.v4.new_output("display_data", data={
            "text/html": '<b id="rnn-ok">kept</b><script>window.RNN_ATTACK_RAN = "html output"</script>'
                         '<img src="https://example.invalid/beacon.png">',
            "text/plain": "<HTML>"}),
        nbformat.v4.new_output("display_data", data={"application/javascript": 'window.RNN_ATTACK_RAN = "js output"'}),
        nbformat.v4.new_output("display_data", data={
            "image/svg+xml": '<svg xmlns="http://www.w3.org/2000/svg" onload="window.RNN_ATTACK_RAN=\'svg out\'"/>'}),
    ]
    cells = [nbformat.v4.new_markdown_cell(MARKDOWN, metadata={"nbgrader": {
                 "solution": True, "grade": True, "grade_id": "written", "points": 2, "locked": False,
                 "schema_version": 3, "task": False}}),
             nbformat.v4.new_code_cell("x = 1", outputs=out)]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _render(nb: nbformat.NotebookNode, *, formgrader: bool, sanitize: bool) -> str:
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    nb = nbformat.from_dict(nb)
    if sanitize:
        nb, _ = SanitizeStudentContent().preprocess(nb, {})
    if formgrader:  # what nbgrader's formgrader extension configures for the submission view
        from nbgrader.server_extensions.formgrader import handlers

        config = Config()
        config.HTMLExporter.template_name = "formgrade"
        config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
        exporter = HTMLExporter(config=config)
        resources = {"base_url": "/", "mathjax_url": "", "last_name": "S", "first_name": "S", "index": 0,
                     "total": 1, "notebook_id": "n", "assignment_id": "a", "student": "s", "submission_id": "1",
                     "notebook_path": "n.ipynb"}
        html, _ = exporter.from_notebook_node(nb, resources=resources)
    else:
        html, _ = HTMLExporter().from_notebook_node(nb)
    return html


@pytest.fixture(scope="module")
def browser():  # Playwright's Browser
    executable = find_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _open(browser, html: str, path: Path) -> tuple[object, list[str]]:
    """Open ``html`` from a file, refuse every network request; (what RNN_ATTACK_RAN is, the URLs asked for)."""
    path.write_text(html, encoding="utf-8")
    page = browser.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url) if request.url != path.as_uri() else None)
    page.route("http://**/*", lambda route: route.abort())  # nothing leaves the machine
    page.route("https://**/*", lambda route: route.abort())
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_timeout(500)
    before = page.evaluate("window.RNN_ATTACK_RAN || null")
    for link in page.query_selector_all("a"):
        href = (link.get_attribute("href") or "").strip().lower()
        if href.startswith("javascript:") or link.get_attribute("id") == "bad-link":
            link.click(timeout=2000)
    page.wait_for_timeout(300)
    ran = before or page.evaluate("window.RNN_ATTACK_RAN || null")
    page.close()
    return ran, requested


@pytest.mark.parametrize("view", ["feedback", "formgrader"])
def test_a_script_carrying_submission_runs_nothing(browser, tmp_path: Path, view: str) -> None:
    formgrader = view == "formgrader"
    blank = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("nothing here")])
    _, baseline = _open(browser, _render(blank, formgrader=formgrader, sanitize=True), tmp_path / "blank.html")
    # control: unsanitised, the attack runs (the harness can see it)
    ran, _ = _open(browser, _render(_submission(), formgrader=formgrader, sanitize=False), tmp_path / "raw.html")
    assert ran, f"the control did not run the attack in the {view} page: the check could not fail"
    html = _render(_submission(), formgrader=formgrader, sanitize=True)
    assert "<b>kept</b>" in html, "the harmless part of the HTML output was lost"
    ran, requested = _open(browser, html, tmp_path / "clean.html")
    assert ran is None, f"student code ran in the {view} page: {ran}"
    extra = sorted(set(requested) - set(baseline))
    assert extra == [], f"the {view} page asked for more than a blank notebook's page: {extra}"
    assert not any("formgrader/api" in url for url in requested)
