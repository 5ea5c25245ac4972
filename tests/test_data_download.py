"""Downloads against a local HTTP server on 127.0.0.1 (never the network)."""

import zipfile
from pathlib import Path

import pytest
from data_helpers import closed_port_url, local_server, make_tutorial_zip, sha256

from course_utils.data import download as dl


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("COURSE_DATA_DIR", str(root))
    return root


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_cache_dir_env_xdg_and_home(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "a"))
    assert dl.cache_dir() == tmp_path / "a" and (tmp_path / "a").is_dir()
    monkeypatch.delenv("COURSE_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert dl.cache_dir() == tmp_path / "xdg" / "rnn-course"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert dl.cache_dir() == tmp_path / "home" / ".cache" / "rnn-course"


def test_good_download_is_verified_and_reused(cache):
    body = make_tutorial_zip()
    with local_server({"/data.zip": (body, None)}) as (base, hits):
        path = dl.download_file(base + "/data.zip", cache / "data.zip", sha256(body))
        assert path.read_bytes() == body
        dl.download_file(base + "/data.zip", cache / "data.zip", sha256(body))
        assert hits == ["/data.zip"]  # the second call used the cached copy
    assert leftovers(cache) == ["data.zip"]


def test_truncated_download_leaves_nothing(cache):
    body = make_tutorial_zip()
    routes = {"/cut.zip": (body[: len(body) // 2], len(body)), "/data.zip": (body, None)}
    with local_server(routes) as (base, _):
        with pytest.raises(dl.DownloadError, match="cut short") as err:
            dl.download_file(base + "/cut.zip", cache / "data.zip", sha256(body))
        assert "data.zip" in str(err.value)
        assert leftovers(cache) == []
        # the next call starts clean and succeeds
        dl.download_file(base + "/data.zip", cache / "data.zip", sha256(body))
    assert leftovers(cache) == ["data.zip"]


def test_checksum_mismatch_leaves_nothing(cache):
    body = make_tutorial_zip()
    wrong = make_tutorial_zip(names={"French": "Other\n"})
    with local_server({"/data.zip": (wrong, None)}) as (base, _):
        with pytest.raises(dl.DownloadError, match="SHA-256") as err:
            dl.download_file(base + "/data.zip", cache / "data.zip", sha256(body))
    assert sha256(body) in str(err.value) and "by hand" in str(err.value)
    assert leftovers(cache) == []


def test_no_network_error_says_where_to_put_data_zip(cache, monkeypatch):
    monkeypatch.setattr(dl, "TUTORIAL_ZIP_URL", closed_port_url())
    with pytest.raises(dl.DownloadError) as err:
        dl.fetch_tutorial_data()
    msg = str(err.value)
    assert "could not download" in msg and "by hand" in msg
    assert str(cache / "data.zip") in msg and dl.TUTORIAL_ZIP_URL in msg
    assert leftovers(cache) == []


def test_wrong_file_already_in_cache_is_reported(cache):
    cache.mkdir(parents=True)
    (cache / "data.zip").write_bytes(b"not the zip")
    with pytest.raises(dl.DownloadError, match="Delete it"):
        dl.download_file(closed_port_url(), cache / "data.zip", "0" * 64)


def test_fetch_tutorial_data_downloads_verifies_extracts(cache, monkeypatch):
    body = make_tutorial_zip()
    with local_server({"/data.zip": (body, None)}) as (base, hits):
        monkeypatch.setattr(dl, "TUTORIAL_ZIP_URL", base + "/data.zip")
        monkeypatch.setattr(dl, "TUTORIAL_ZIP_SHA256", sha256(body))
        folder = dl.fetch_tutorial_data()
        assert sorted(p.name for p in (folder / "names").iterdir()) == [
            "French.txt", "German.txt", "Polish.txt"]
        assert (folder / "eng-fra.txt").is_file()
        assert dl.fetch_tutorial_data() == folder and hits == ["/data.zip"]


def test_zip_without_expected_layout(cache, tmp_path):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("something/else.txt", "hello")
    with pytest.raises(dl.DataLayoutError, match="names/<Language>.txt"):
        dl.resolve_tutorial_source(bad)
    notzip = tmp_path / "data.zip"
    notzip.write_bytes(b"plain bytes")
    with pytest.raises(dl.DataLayoutError, match="not a zip"):
        dl.resolve_tutorial_source(notzip)
    with pytest.raises(dl.DataLayoutError, match="neither names/"):
        dl.resolve_tutorial_source(tmp_path / "cache")
    assert not any(p.name.startswith(".") for p in cache.iterdir())


def test_missing_path_and_local_zip_and_folder(cache, tmp_path):
    with pytest.raises(FileNotFoundError, match="'offline', 'tutorial'"):
        dl.resolve_tutorial_source(tmp_path / "nowhere.zip")
    z = tmp_path / "data.zip"
    z.write_bytes(make_tutorial_zip())
    folder = dl.resolve_tutorial_source(z)
    assert (folder / "names" / "French.txt").is_file()
    # the unpacked zip's root (with data/ inside) is accepted too
    with zipfile.ZipFile(z) as zf:
        zf.extractall(tmp_path / "unpacked")
    assert dl.resolve_tutorial_source(tmp_path / "unpacked") == tmp_path / "unpacked" / "data"
