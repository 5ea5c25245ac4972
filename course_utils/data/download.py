"""Verified downloads into the course's cache folder.

Where files go (first that applies):

1. the folder named by the environment variable ``COURSE_DATA_DIR``;
2. ``$XDG_CACHE_HOME/rnn-course``;
3. ``~/.cache/rnn-course``.

A download is written to a hidden temporary file in that folder and renamed
to its final name only after its size and SHA-256 checksum are right, so a
cut connection or a wrong file never leaves anything behind: the next call
starts clean.

URLs and checksums are module attributes (``TUTORIAL_ZIP_URL``,
``TUTORIAL_ZIP_SHA256``, ``TINYSHAKESPEARE_URL``, ``TINYSHAKESPEARE_SHA256``)
read at call time, so tests can point them at a local server.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from course_utils._files import atomic_path

__all__ = [
    "TINYSHAKESPEARE_SHA256",
    "TINYSHAKESPEARE_URL",
    "TUTORIAL_ZIP_SHA256",
    "TUTORIAL_ZIP_URL",
    "DataLayoutError",
    "DownloadError",
    "cache_dir",
    "download_file",
    "extract_tutorial_zip",
    "fetch_tutorial_data",
    "resolve_tutorial_source",
    "sha256_file",
]

TUTORIAL_ZIP_URL = "https://download.pytorch.org/tutorial/data.zip"
TUTORIAL_ZIP_SHA256 = "fb317e80248faeb62dc25ef3390ae24ca34b94e276bbc5141fd8862c2200bff5"
TINYSHAKESPEARE_URL = (
    "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
)
TINYSHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"

#: seconds to wait for the server before giving up
TIMEOUT_S = 30.0


class DownloadError(RuntimeError):
    """A download failed (no network, cut short, wrong checksum)."""


class DataLayoutError(ValueError):
    """A zip or folder does not have the layout of the tutorial's data.zip."""


def cache_dir() -> Path:
    """The folder where downloaded and built data are kept (created if missing)."""
    env = os.environ.get("COURSE_DATA_DIR")
    if env:
        path = Path(env).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
        path = base / "rnn-course"
    path.mkdir(parents=True, exist_ok=True)
    return path


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _manual_hint(url: str, dest: Path) -> str:
    return (
        f"To work offline, download {url} by hand (on any machine with a browser), "
        f"then copy it to {dest} -- or pass its path as source='/path/to/{dest.name}'."
    )


def download_file(url: str, dest: str | os.PathLike, sha256: str, *, timeout: float | None = None) -> Path:
    """Download ``url`` to ``dest`` unless a verified copy is already there.

    Args:
        url: what to fetch (``http(s)://`` or ``file://``).
        dest: final path of the file.
        sha256: the expected hex checksum.
        timeout: seconds to wait for the server (default ``TIMEOUT_S``).
    Returns:
        ``dest`` as a Path, holding a file whose checksum is ``sha256``.
    Raises:
        DownloadError: no network, download cut short, or checksum mismatch.
            Nothing is left at ``dest`` or in a temporary file.
    """
    dest = Path(dest)
    expected = sha256.lower()
    if dest.exists():
        if sha256_file(dest) == expected:
            return dest
        raise DownloadError(
            f"{dest} exists but its SHA-256 checksum is not the expected {expected}: "
            f"it is not the right file, or it is damaged. Delete it and try again. "
            + _manual_hint(url, dest)
        )
    with atomic_path(dest) as tmp:
        h = hashlib.sha256()
        received = 0
        try:
            with tmp.open("wb") as out, urllib.request.urlopen(
                url, timeout=TIMEOUT_S if timeout is None else timeout
            ) as resp:
                declared = resp.headers.get("Content-Length")
                while True:
                    block = resp.read(1 << 16)
                    if not block:
                        break
                    out.write(block)
                    h.update(block)
                    received += len(block)
        except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
            if isinstance(err, http.client.IncompleteRead):
                why = f"the download was cut short after {received} bytes"
            else:
                why = f"could not download it ({err})"
            raise DownloadError(
                f"{dest.name}: {why}. Check the network connection and try again. "
                + _manual_hint(url, dest)
            ) from err
        if declared is not None and received != int(declared):
            raise DownloadError(
                f"{dest.name}: the download was cut short ({received} of {declared} bytes). "
                "Try again. " + _manual_hint(url, dest)
            )
        got = h.hexdigest()
        if got != expected:
            raise DownloadError(
                f"{dest.name} downloaded from {url} has SHA-256 {got}, expected {expected}: "
                "the file is damaged or has changed; nothing was kept. Try again. "
                + _manual_hint(url, dest)
            )
    return dest


# -- the tutorial's data.zip ---------------------------------------------------

def _zip_layout(zf: zipfile.ZipFile, where: str) -> tuple[str, list[str]]:
    """Find the folder prefix holding ``names/*.txt`` and the names files in it."""
    names_files = [
        m for m in zf.namelist()
        if m.endswith(".txt") and m.rsplit("/", 2)[-2:-1] == ["names"] and not m.startswith("__MACOSX")
    ]
    if not names_files:
        raise DataLayoutError(
            f"{where} has no names/<Language>.txt files; expected the layout of the PyTorch "
            "tutorial's data.zip (data/names/*.txt and data/eng-fra.txt). Re-download data.zip "
            f"from {TUTORIAL_ZIP_URL}."
        )
    first = names_files[0]
    prefix = first[: len(first) - len("names/" + first.rsplit("/", 1)[-1])]
    return prefix, sorted(m for m in names_files if m.startswith(prefix + "names/"))


def extract_tutorial_zip(zip_path: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Extract the parts of data.zip the course uses into ``target``.

    The result is ``target/names/<Language>.txt`` and, if present,
    ``target/eng-fra.txt``. Extraction goes to a temporary folder that is
    renamed at the end, so a failure leaves nothing half-written.

    Raises:
        DataLayoutError: not a zip file, or no ``names/*.txt`` inside.
    """
    zip_path, target = Path(zip_path), Path(target)
    try:
        zf = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile as err:
        raise DataLayoutError(
            f"{zip_path} is not a valid zip file. Re-download data.zip from {TUTORIAL_ZIP_URL}."
        ) from err
    with zf:
        prefix, names_files = _zip_layout(zf, str(zip_path))
        with atomic_path(target, folder=True) as tmp:
            (tmp / "names").mkdir()
            for member in names_files:
                (tmp / "names" / member.rsplit("/", 1)[-1]).write_bytes(zf.read(member))
            if prefix + "eng-fra.txt" in zf.namelist():
                (tmp / "eng-fra.txt").write_bytes(zf.read(prefix + "eng-fra.txt"))
    return target


def fetch_tutorial_data(url: str | None = None, sha256: str | None = None) -> Path:
    """Download (if needed), verify and extract the tutorial's data.zip.

    Returns:
        the folder ``<cache>/tutorial-data`` with ``names/*.txt`` and ``eng-fra.txt``.
    Raises:
        DownloadError: no network etc.; the message says where to put a
            hand-downloaded data.zip.
    """
    url = TUTORIAL_ZIP_URL if url is None else url
    sha256 = TUTORIAL_ZIP_SHA256 if sha256 is None else sha256
    root = cache_dir()
    target = root / "tutorial-data"
    stamp = target / ".sha256"
    if stamp.exists() and stamp.read_text().strip() == sha256.lower():
        return target
    zip_path = download_file(url, root / "data.zip", sha256)
    extract_tutorial_zip(zip_path, target)
    stamp.write_text(sha256.lower() + "\n")
    return target


def resolve_tutorial_source(source: str | os.PathLike) -> Path:
    """Turn ``"tutorial"`` or a path to data.zip / a folder into a data folder.

    The folder returned holds ``names/`` (and ``eng-fra.txt`` when the zip has
    it). A local zip is extracted into the cache under a name derived from its
    checksum; a folder may be the extracted zip's root or its ``data/`` folder.
    """
    if isinstance(source, str) and source == "tutorial":
        return fetch_tutorial_data()
    path = Path(source).expanduser()
    if not path.exists():
        raise FileNotFoundError(
            f"source={str(source)!r} is neither 'offline', 'tutorial' nor an existing path. "
            f"Give the path of the tutorial's data.zip (from {TUTORIAL_ZIP_URL}) or of the folder "
            "it unpacks to."
        )
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise DataLayoutError(
                f"{path} is a file but not a zip; expected the tutorial's data.zip or a folder "
                "containing names/<Language>.txt"
            )
        target = cache_dir() / f"tutorial-data-{sha256_file(path)[:16]}"
        if not (target / "names").is_dir():
            extract_tutorial_zip(path, target)
        return target
    for cand in (path, path / "data"):
        if (cand / "names").is_dir() or (cand / "eng-fra.txt").is_file():
            return cand
    raise DataLayoutError(
        f"folder {path} has neither names/ nor data/names/ nor eng-fra.txt; expected the layout of "
        f"the tutorial's data.zip ({TUTORIAL_ZIP_URL}) after unpacking"
    )
