"""Fixture builders for the course_utils.data tests: zips and a local HTTP server.

Nothing here touches the network: the server listens on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import io
import socket
import threading
import zipfile
from collections.abc import Iterator

NAMES = {
    "French": "Dubois\nLefèvre\nMartin\n",
    "German": "Müller\nSchmidt\nSchröder\nSchmidt\n",  # duplicate on purpose
    "Polish": "Ślusàrski\nNowak\n",
}
ENG_FRA = (
    "Go.\tVa !\n"
    "I'm cold.\tJ'ai froid.\n"
    "I'm tired.\tJe suis fatiguée.\tCC-BY 2.0 (France) Attribution: tatoeba.org #1 (a) & #2 (b)\n"
    "She is happy!\tElle est heureuse !\n"
    "He is a very very very very very very tall man.\tC'est un homme très très très très grand.\n"
    "They're ready.\tIls sont prêts.\n"
)


def make_tutorial_zip(names: dict[str, str] | None = None, eng_fra: str | None = ENG_FRA,
                      prefix: str = "data/") -> bytes:
    """Bytes of a zip laid out like the tutorial's data.zip."""
    names = NAMES if names is None else names
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for lang, text in names.items():
            zf.writestr(f"{prefix}names/{lang}.txt", text.encode("utf-8"))
        if eng_fra is not None:
            zf.writestr(f"{prefix}eng-fra.txt", eng_fra.encode("utf-8"))
    return buf.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, tuple[bytes, int | None]] = {}
    hits: list[str] = []

    def do_GET(self) -> None:  # http.server calls this name
        self.hits.append(self.path)
        if self.path not in self.routes:
            self.send_error(404)
            return
        body, declared = self.routes[self.path]
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body) if declared is None else declared))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args) -> None:  # keep test output quiet
        pass


@contextlib.contextmanager
def local_server(routes: dict[str, tuple[bytes, int | None]]) -> Iterator[tuple[str, list[str]]]:
    """Serve ``{path: (body, declared Content-Length or None)}`` on 127.0.0.1.

    A declared length larger than the body simulates a download cut short.
    Yields ``(base_url, hits)``; ``hits`` records the requested paths.
    """
    handler = type("Handler", (_Handler,), {"routes": dict(routes), "hits": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler.hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port_url(path: str = "/data.zip") -> str:
    """A URL on 127.0.0.1 where nothing listens: behaves like no network."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"
