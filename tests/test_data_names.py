import json
import zipfile

import pytest
from data_helpers import closed_port_url, local_server, make_tutorial_zip, sha256

from course_utils.data import download as dl
from course_utils.data import names as nm
from course_utils.data.names import ALL_LETTERS, load_names, names_vocab, unicode_to_ascii


@pytest.fixture(scope="module")
def offline_cache(tmp_path_factory):
    root = tmp_path_factory.mktemp("names-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COURSE_DATA_DIR", str(root))
        yield root


@pytest.fixture(scope="module")
def offline(offline_cache):
    return load_names()


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_unicode_to_ascii_is_the_tutorials():
    assert unicode_to_ascii("Ślusàrski") == "Slusarski"
    assert unicode_to_ascii("Lefèvre") == "Lefevre"
    assert unicode_to_ascii("O'Néal-Smith") == "O'NealSmith"  # '-' is not an allowed letter
    assert unicode_to_ascii("Michałowski") == "Michaowski"  # no decomposition: dropped
    assert len(ALL_LETTERS) == 57


def test_offline_folding_transliterates_other_scripts():
    assert nm._fold_name("Смирнов") == "Smirnov"
    assert nm._fold_name("Παπαδόπουλος") == "Papadopoylos"
    assert nm._fold_name("김") == "Gim"
    assert nm._fold_name("Michałowski") == "Michalowski"
    assert nm._fold_name("  Ó  Briain ") == "O Briain"


def test_fold_name_is_public_and_total():
    from course_utils.data import fold_name

    assert fold_name is nm.fold_name
    assert fold_name("Иванов") == "Ivanov" and fold_name("Straße") == "Strasse"
    assert fold_name("R2-D2") == "RD" and fold_name("123") == ""
    assert set(fold_name("Dvořák Ślusàrski O'Brien")) <= set(nm.ALL_LETTERS)
    with pytest.raises(TypeError, match="str"):
        fold_name(None)


def test_offline_languages_and_sizes(offline):
    counts = offline.counts()
    assert len(offline.languages) >= 14
    assert offline.languages == sorted(offline.languages)
    for lang in ["English", "French", "German", "Italian", "Spanish", "Dutch", "Portuguese",
                 "Czech", "Polish", "Irish", "Chinese", "Japanese", "Korean", "Russian",
                 "Greek", "Arabic"]:
        assert counts[lang] >= 40, (lang, counts[lang])
        assert counts[lang] <= nm.MAX_NAMES_PER_LANGUAGE
    assert sum(counts.values()) == len(offline.names) == len(offline.labels)


def test_offline_names_are_clean_unique_and_single_labelled(offline):
    allowed = set(ALL_LETTERS)
    assert all(n and set(n) <= allowed for n in offline.names)
    lowered = [n.lower() for n in offline.names]
    assert len(set(lowered)) == len(lowered)  # no name twice, not even in two languages
    assert offline.names_for("Russian")[:1] and "Smirnov" in offline.names_for("Russian")
    assert "Sato" in offline.names_for("Japanese")


def _faker_lists() -> dict[str, set[str]]:
    """Every language's folded Faker names, lower-cased (the test's own reading of the sources)."""
    import importlib

    lists: dict[str, set[str]] = {}
    for lang, sources in nm.FAKER_SURNAME_SOURCES.items():
        lists[lang] = set()
        for locale, attr in sources:
            provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
            lists[lang] |= {nm._fold_name(str(n)).lower() for n in getattr(provider, attr)}
    return lists


def test_offline_leaves_out_names_of_several_languages(offline):
    lists = _faker_lists()
    floor_langs = set()
    for name, label in zip(offline.names, offline.labels):
        lang = offline.languages[label]
        listed = {la for la, names in lists.items() if name.lower() in names}
        assert lang in listed, (name, lang, listed)
        if listed != {lang}:  # a shared name survives only in a language under the floor without it
            own = sum(1 for n in lists[lang] if sum(n in names for names in lists.values()) == 1)
            assert own < nm.MIN_NAMES_PER_LANGUAGE, (name, lang, listed, own)
            floor_langs.add(lang)
    assert floor_langs == {"Korean"}  # Faker's Korean list shares Han, Song, Yang ... with Chinese
    assert "Han" in offline.names_for("Korean") and "Han" not in offline.names_for("Chinese")
    for name in ["Martinez", "Perez", "Bos", "Ali"]:  # in the lists of two or more languages
        assert name not in offline.names, name


def test_offline_is_deterministic_and_cached(offline, offline_cache):
    files = list(offline_cache.glob("names-offline-*.json"))
    assert len(files) == 1
    assert json.loads(files[0].read_text()) == nm._build_offline()  # cache == a fresh build
    again = load_names()
    assert again.names == offline.names and again.labels == offline.labels
    assert again.train == offline.train and again.test == offline.test


def test_damaged_cache_is_rebuilt(cache):
    small = nm._build_offline()
    cache.mkdir(parents=True)
    path = cache / f"names-offline-v{nm._OFFLINE_FORMAT}-faker{nm._faker_version()}.json"
    path.write_text("{not json")
    assert nm._offline_groups() == small
    assert json.loads(path.read_text()) == small


def test_split_is_stratified_and_disjoint(offline):
    train, val, test = offline.train, offline.val, offline.test
    assert len(train) + len(val) + len(test) == len(offline)
    assert not ({n for n, _ in train} & {n for n, _ in test})
    for lab, lang in enumerate(offline.languages):
        n = offline.counts()[lang]
        n_test = sum(1 for _, label in test if label == lab)
        assert abs(n_test - 0.1 * n) <= 1
    assert offline.split(seed=1) != offline.split(seed=0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        offline.split(fractions=(1.0, 0.0, 0.0))


def test_unknown_language_and_subset(offline):
    with pytest.raises(ValueError, match="unknown language 'Klingon'.*English"):
        offline.label_of("Klingon")
    with pytest.raises(ValueError, match="unknown language"):
        load_names(languages=["French", "Klingon"])
    sub = load_names(languages=["Russian", "English"])
    assert sub.languages == ["English", "Russian"] and set(sub.labels) == {0, 1}


def test_names_vocab_encodes_every_name(offline):
    v = names_vocab()
    assert len(v) == 4 + len(ALL_LETTERS)
    assert all(3 not in v.encode(n) for n in offline.names[:500])  # no UNK


def test_tutorial_from_local_zip_and_folder(cache, tmp_path):
    z = tmp_path / "data.zip"
    z.write_bytes(make_tutorial_zip())
    data = load_names(z)
    assert data.languages == ["French", "German", "Polish"]
    assert data.names_for("German") == ["Muller", "Schmidt", "Schroder"]  # folded, deduplicated
    assert "Slusarski" in data.names_for("Polish") and "Lefevre" in data.names_for("French")
    with zipfile.ZipFile(z) as zf:
        zf.extractall(tmp_path / "unpacked")
    assert load_names(tmp_path / "unpacked").names == data.names
    assert load_names(tmp_path / "unpacked" / "data").names == data.names


def test_tutorial_download_via_local_server(cache, monkeypatch):
    body = make_tutorial_zip()
    with local_server({"/data.zip": (body, None)}) as (base, _):
        monkeypatch.setattr(dl, "TUTORIAL_ZIP_URL", base + "/data.zip")
        monkeypatch.setattr(dl, "TUTORIAL_ZIP_SHA256", sha256(body))
        data = load_names("tutorial")
    assert data.source == "tutorial" and len(data.languages) == 3


def test_tutorial_without_network_fails_loudly(cache, monkeypatch):
    monkeypatch.setattr(dl, "TUTORIAL_ZIP_URL", closed_port_url())
    with pytest.raises(dl.DownloadError, match="by hand"):
        load_names("tutorial")
    assert not (cache / "data.zip").exists()


def test_empty_or_non_utf8_names_file(cache, tmp_path):
    folder = tmp_path / "d"
    (folder / "names").mkdir(parents=True)
    (folder / "names" / "French.txt").write_text("Martin\n", encoding="utf-8")
    (folder / "names" / "Empty.txt").write_text("\n  \n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"Empty\.txt holds no names"):
        load_names(folder)
    (folder / "names" / "Empty.txt").write_bytes("Müller\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"Empty\.txt is not valid UTF-8"):
        load_names(folder)


def test_zip_without_names_layout(cache, tmp_path):
    z = tmp_path / "data.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("data/eng-fra.txt", "Go.\tVa !\n")
    with pytest.raises(dl.DataLayoutError, match="data.zip"):
        load_names(z)
    (tmp_path / "only_pairs" ).mkdir()
    (tmp_path / "only_pairs" / "eng-fra.txt").write_text("Go.\tVa !\n")
    with pytest.raises(dl.DataLayoutError, match="no <Language>.txt"):
        load_names(tmp_path / "only_pairs")
