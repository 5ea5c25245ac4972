"""The course book (`make book`) in a real browser with the network cut off.

The site is built once (course_utils.instructor.book, the committed outputs, nothing executed),
served from 127.0.0.1 by a server the test starts and stops, and every page is opened in Debian's
Chromium driven by Playwright. Every request that is not for that server is aborted and recorded.
Each page must render; formulas must be typeset by the site's own MathJax (its output elements present,
no raw TeX left in the text); every image must load; every link inside the site must lead to a
page (and anchor) that exists; widgets show their saved state with the line saying they need a
kernel; the table of contents lists the lectures in teaching order.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import re
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import pytest
from chromium import CHROMIUM_ARGS, find_chromium

from course_utils.instructor.book import WIDGET_NOTE, build_book

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "tests" / "screenshots"
LECTURES = sorted((ROOT / "lectures").glob("[0-9][0-9]_*.ipynb"))
# Raw TeX a failed typesetting would leave in the page's prose.
RAW_TEX = re.compile(r"\$[^$\s][^$\n]{0,200}\$|\\\(|\\\[|\\frac|\\sigma|\\sum")



@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_book(tmp_path_factory.mktemp("book") / "site")


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on a free 127.0.0.1 port; yields the base URL; always stops the server."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_the_site_has_every_lecture_in_teaching_order(site: Path) -> None:
    pages = [site / "lectures" / f"{nb.stem}.html" for nb in LECTURES]
    assert LECTURES and all(p.is_file() for p in pages), [p for p in pages if not p.is_file()]
    index = (site / "index.html").read_text()
    positions = [index.find(f'lectures/{nb.stem}.html"') for nb in LECTURES]
    assert -1 not in positions and positions == sorted(positions), positions
    # Nothing on any page asks the network for anything: no script, style or font from elsewhere.
    for page in site.rglob("*.html"):
        if "_static" in page.parts:
            continue
        text = page.read_text()
        external = re.findall(r'<(?:script|link|img|iframe)[^>]+(?:src|href)="(https?:)?//[^"]*"', text)
        assert not external, (page.name, external[:3])


def test_every_page_renders_offline_with_math_images_and_links(site: Path) -> None:
    executable = find_chromium()
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    # The site's pages (the theme's template snippets under _static/ are not pages).
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html") if "_static" not in p.parts)
    blocked: list[str] = []
    failed: list[str] = []
    problems: list[str] = []
    ids: dict[str, set[str]] = {}
    links: list[tuple[str, str]] = []
    with serve(site) as base, tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(profile, executable_path=executable, headless=True,
                                                        args=CHROMIUM_ARGS, viewport={"width": 1300, "height": 900})

        def route(r):  # Playwright's Route
            url = r.request.url
            if url.startswith((base, "data:", "blob:", "about:")):
                return r.continue_()
            blocked.append(url)
            return r.abort()

        try:
            context.route("**/*", route)
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.on("response",
                    lambda resp: failed.append(f"{resp.status} {resp.url}") if resp.status >= 400 else None)
            page.on("requestfailed",
                    lambda req: failed.append(f"failed {req.url}") if req.url.startswith(base) else None)
            for rel in pages:
                url = urljoin(base, rel)
                response = page.goto(url, wait_until="load")
                assert response is not None and response.ok, f"{rel}: {response and response.status}"
                title = page.title()
                article = page.locator("#main-content, main").first
                if not title or not article.count() or not article.inner_text().strip():
                    problems.append(f"{rel}: empty page (title {title!r})")
                n_math = page.locator("span.math, div.math").count()
                if n_math:
                    page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise")
                    page.evaluate("() => MathJax.startup.promise.then(() => true)")
                    n_typeset = page.locator("mjx-container[jax='SVG'] svg").count()
                    errors = page.locator("mjx-merror, [data-mjx-error]").count()
                    if n_typeset < n_math or errors:
                        problems.append(f"{rel}: {n_math} formulas, {n_typeset} typeset, {errors} errors")
                prose = page.evaluate(
                    """() => { const main = document.querySelector('#main-content, main') || document.body;
                               const a = main.cloneNode(true);
                               a.querySelectorAll('pre, code, script, mjx-container, mjx-assistive-mml,'
                                 + ' .cell_output, .highlight').forEach(e => e.remove());
                               return a.innerText; }""")
                raw = RAW_TEX.findall(prose)
                if raw:
                    problems.append(f"{rel}: raw TeX in the text: {raw[:3]}")
                broken = page.evaluate(
                    """() => Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)
                              .map(i => i.getAttribute('src'))""")
                if broken:
                    problems.append(f"{rel}: images that did not load: {broken[:3]}")
                ids[url] = set(page.evaluate("() => Array.from(document.querySelectorAll('[id]')).map(e => e.id)"))
                links += [(url, href) for href in page.evaluate(
                    "() => Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")]
                if rel.startswith("lectures/"):
                    if page.locator("div.course-widget").count():
                        note = page.locator("p.course-widget-note").first.inner_text()
                        if "needs a running kernel" not in note:
                            problems.append(f"{rel}: a widget without its note: {note!r}")
                    page.screenshot(path=str(SHOTS / f"book-{Path(rel).stem}.png"))
        finally:
            context.close()
    # Links inside the site lead to a page that exists, and to an anchor on it that exists.
    dead = []
    for source, href in links:
        if not href.startswith(base):
            continue
        target, fragment = urldefrag(href)
        path = urlparse(target).path.lstrip("/")
        if path == "" or path.endswith("/"):
            path += "index.html"
        if not (site / path).is_file():
            dead.append(f"{source} -> {href}")
        elif fragment and target in ids and fragment not in ids[target]:
            dead.append(f"{source} -> {href} (no #{fragment})")
    assert not blocked, f"the site asked the network for: {sorted(set(blocked))[:5]}"
    assert not failed, failed[:5]
    assert not dead, dead[:10]
    assert not problems, "\n".join(problems)
    # Cross-links between lectures became links between pages.
    lecture_links = {(Path(urlparse(s).path).stem, Path(urlparse(h).path).stem) for s, h in links
                     if "/lectures/" in urlparse(s).path and "/lectures/" in urlparse(h).path and h.startswith(base)}
    assert ("05_training_and_bptt", "08_lstm_gru") in lecture_links, sorted(lecture_links)[:10]


def test_widgets_show_their_saved_state(site: Path) -> None:
    page = (site / "lectures" / "02_forward_propagation.html").read_text()
    assert WIDGET_NOTE.split(":")[0] in page
    # The forward-propagation widget's saved sliders and the table it printed, as saved.
    assert "w1 = 0.15" in page and "out_o1" in page
    assert "application/vnd.jupyter.widget-view+json" not in page
