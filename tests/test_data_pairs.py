import pytest
import torch
from data_helpers import ENG_FRA, closed_port_url, local_server, make_tutorial_zip, sha256

from course_utils.data import download as dl
from course_utils.data.pairs import (
    MAX_LENGTH,
    TATOEBA_ATTRIBUTION,
    build_vocabs,
    encode_pair,
    encode_sentence,
    generate_offline_pairs,
    load_pairs,
    normalize_string,
)
from course_utils.data.vocab import EOS_ID, SOS_ID, UNK_ID

# Checked by hand against French grammar: agreement in gender and number,
# irregular feminines/plurals, elision, ne ... pas, avoir idioms, no article
# before a profession, conjugation.
HAND_CHECKED = [
    ("she is tired .", "elle est fatiguée ."),
    ("they are small .", "ils sont petits ."),
    ("they are small .", "elles sont petites ."),
    ("we are not ready .", "nous ne sommes pas prêtes ."),
    ("we are not ready .", "nous ne sommes pas prêts ."),
    ("i am tired .", "je suis fatigué ."),
    ("i am tired .", "je suis fatiguée ."),
    ("he is not happy .", "il n' est pas heureux ."),
    ("my sisters are happy .", "mes sœurs sont heureuses ."),
    ("the woman is old .", "la femme est vieille ."),
    ("the men are old .", "les hommes sont vieux ."),
    ("the girls are beautiful .", "les filles sont belles ."),
    ("my brother is very kind .", "mon frère est très gentil ."),
    ("my mother is proud .", "ma mère est fière ."),
    ("the man is worried .", "l' homme est inquiet ."),
    ("the girl is worried .", "la fille est inquiète ."),
    ("i am hungry .", "j' ai faim ."),
    ("i am not hungry .", "je n' ai pas faim ."),
    ("they are very cold .", "elles ont très froid ."),
    ("we are afraid .", "nous avons peur ."),
    ("you are right .", "tu as raison ."),
    ("my parents are not wrong .", "mes parents n' ont pas tort ."),
    ("she is a student .", "elle est étudiante ."),
    ("he is not a doctor .", "il n' est pas médecin ."),
    ("the girls are cooks .", "les filles sont cuisinières ."),
    ("she is a singer .", "elle est chanteuse ."),
    ("we are canadian .", "nous sommes canadiennes ."),
    ("my sister is not french .", "ma sœur n' est pas française ."),
    ("i am listening .", "j' écoute ."),
    ("i am not listening .", "je n' écoute pas ."),
    ("we are eating .", "nous mangeons ."),
    ("they are writing .", "ils écrivent ."),
    ("he is reading .", "il lit ."),
    ("you are not sleeping .", "tu ne dors pas ."),
    ("the boys are not studying .", "les garçons n' étudient pas ."),
    ("i am late .", "je suis en retard ."),
    ("the women are married .", "les femmes sont mariées ."),
    ("you are not too lazy .", "tu n' es pas trop paresseuse ."),
]

NOT_IN_DATA = [
    ("she is tired .", "elle est fatigué ."),
    ("i am hungry .", "je suis faim ."),
    ("i am not hungry .", "je ne ai pas faim ."),
    ("he is a student .", "il est un étudiant ."),
    ("she is happy .", "elle est heureux ."),
]


@pytest.fixture(scope="module")
def offline():
    return load_pairs()


def test_hand_checked_pairs_are_generated():
    generated = {(en, fr) for en, fr, _ in generate_offline_pairs()}
    for pair in HAND_CHECKED:
        assert pair in generated, pair
    for pair in NOT_IN_DATA:
        assert pair not in generated, pair


def test_offline_size_and_determinism(offline):
    assert len(offline) >= 3000
    assert offline.sizes()["test"] >= 300
    again = load_pairs()
    assert again.train == offline.train and again.test == offline.test
    assert load_pairs(seed=1).test != offline.test


def test_test_split_holds_unseen_combinations(offline):
    groups = {(en, fr): g for en, fr, g in generate_offline_pairs()}
    train_groups = {groups[p] for p in offline.train}
    test_groups = {groups[p] for p in offline.test}
    val_groups = {groups[p] for p in offline.val}
    assert not train_groups & test_groups and not train_groups & val_groups
    assert not {en for en, _ in offline.train} & {en for en, _ in offline.test}
    # every subject and every predicate is still seen in training
    subjects = {g.split("|")[0] for g in groups.values()}
    predicates = {g.split("|")[1] for g in groups.values()}
    assert {g.split("|")[0] for g in train_groups} == subjects
    assert {g.split("|")[1] for g in train_groups} == predicates


def test_references_and_lengths(offline):
    for en, fr in offline.all_pairs:
        assert fr in offline.references[en]
        assert len(en.split()) + 1 <= MAX_LENGTH and len(fr.split()) + 1 <= MAX_LENGTH
        assert en == en.lower() and fr == fr.lower() and fr.endswith(" .")
    assert offline.references["we are not ready ."] == [
        "nous ne sommes pas prêtes .", "nous ne sommes pas prêts ."]
    assert offline.references["she is tired ."] == ["elle est fatiguée ."]


def test_vocabs_and_encoding(offline):
    src, tgt = build_vocabs(offline.train)
    assert "fatiguée" in tgt and "tired" in src
    x, y = encode_pair(("she is tired .", "elle est fatiguée ."), src, tgt)
    assert x.dtype == torch.long and x.shape == (5,) and x[-1] == EOS_ID
    assert tgt.decode(y) == ["elle", "est", "fatiguée", "."]
    assert encode_sentence("zorglub is here .", src, add_sos=True)[:2].tolist() == [SOS_ID, UNK_ID]
    with pytest.raises(ValueError, match="no pairs"):
        build_vocabs([])


def test_sentence_longer_than_limit():
    src, _ = build_vocabs([("a b", "c d")])
    encode_sentence(" ".join(["a"] * (MAX_LENGTH - 1)), src)  # fits with its EOS
    with pytest.raises(ValueError, match="max_length=10"):
        encode_sentence(" ".join(["a"] * MAX_LENGTH), src)
    with pytest.raises(ValueError, match="limit"):
        encode_pair(("a", "c d e f"), src, src, max_length=4)


def test_normalize_string_like_the_tutorial():
    assert normalize_string("I'm cold.") == "i m cold ."
    assert normalize_string("Je suis prête!") == "je suis prete !"
    assert normalize_string("  Ça va ?  ") == "ca va ?"
    assert normalize_string("C'est l'œuvre d'un « ami ».") == "c est l uvre d un ami ."


def test_tutorial_pairs_from_local_files(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    f = tmp_path / "eng-fra.txt"
    f.write_text(ENG_FRA, encoding="utf-8")
    data = load_pairs(f, fractions=(0.5, 0.25, 0.25))
    assert TATOEBA_ATTRIBUTION in capsys.readouterr().out
    got = sorted(data.all_pairs)
    # "Go." has no listed prefix; the long sentence is over MAX_LENGTH; the
    # three-column line is read by its first two columns.
    assert got == [
        ("i m cold .", "j ai froid ."),
        ("i m tired .", "je suis fatiguee ."),
        ("she is happy !", "elle est heureuse !"),
        ("they re ready .", "ils sont prets ."),
    ]
    z = tmp_path / "data.zip"
    z.write_bytes(make_tutorial_zip())
    assert sorted(load_pairs(z, fractions=(0.5, 0.25, 0.25)).all_pairs) == got


def test_tutorial_download_and_no_network(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(dl, "TUTORIAL_ZIP_URL", closed_port_url())
    with pytest.raises(dl.DownloadError, match="data.zip"):
        load_pairs("tutorial")
    body = make_tutorial_zip()
    with local_server({"/data.zip": (body, None)}) as (base, _):
        monkeypatch.setattr(dl, "TUTORIAL_ZIP_URL", base + "/data.zip")
        monkeypatch.setattr(dl, "TUTORIAL_ZIP_SHA256", sha256(body))
        assert len(load_pairs("tutorial", fractions=(0.5, 0.25, 0.25))) == 4


def test_bad_files_and_fractions(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    bad = tmp_path / "eng-fra.txt"
    bad.write_bytes("I'm cold.\tJ'ai froid é.\n".encode("latin-1"))
    with pytest.raises(ValueError, match="not valid UTF-8"):
        load_pairs(bad)
    bad.write_text("no tabs here\n")
    with pytest.raises(ValueError, match="no 'english<TAB>french' lines"):
        load_pairs(bad)
    z = tmp_path / "data.zip"
    z.write_bytes(make_tutorial_zip(eng_fra=None))
    with pytest.raises(dl.DataLayoutError, match="no eng-fra.txt"):
        load_pairs(z)
    with pytest.raises(ValueError, match="between 0 and 1"):
        load_pairs(fractions=(0.9, 0.1, 0.0))
