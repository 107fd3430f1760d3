"""Name normalisation, one function for listed names and queries: abbreviations, Chinese,
legal forms and their classes, titles, ordinals, scripts, bounded cost."""

from __future__ import annotations

import csv
import io

import pytest

from compliance.datafiles import data_file
from compliance.matching import cjk
from compliance.matching.abbreviations import abbreviations, legal_spellings
from compliance.matching.normalize import MAX_TOKENS, normalize_name


def tokens(name: str) -> tuple[str, ...]:
    return normalize_name(name).tokens


@pytest.mark.parametrize(
    ("short", "long"),
    [
        (
            "Semiconductor Manufacturing Intl Corp",
            "SEMICONDUCTOR MANUFACTURING INTERNATIONAL CORPORATION",
        ),
        ("SEMICONDUCTOR MFG INTL CORP", "Semiconductor Manufacturing International Corporation"),
        ("Harbin Inst of Tech", "Harbin Institute of Technology"),
        ("Natl Supercomputing Ctr Wuxi", "National Supercomputing Center Wuxi"),
        ("Beijing Inst. of Technology", "Beijing Institute of Technology"),
        ("Acme Int'l Hldgs", "ACME INTERNATIONAL HOLDINGS"),
        ("Smith Bros Mfg Co", "Smith Brothers Manufacturing Company"),
        ("Natl Acad of Sci Dept of Eng", "National Academy of Science Department of Engineering"),
        ("Elec Sys Svcs Grp", "Electronics Systems Services Group"),
        ("Huawei Techs", "HUAWEI TECHNOLOGIES CO., LTD."),
        ("Intl Univ Info Ctr", "International University Information Centre"),
    ],
)
def test_business_abbreviations_are_one_token_on_both_sides(short, long):
    assert tokens(short) == tokens(long)


def test_abbreviations_do_not_invent_agreement():
    # "Tech" is canonicalised, not matched loosely: two different names stay different.
    assert tokens("Tech Data") != tokens("Tech Mahindra")
    assert tokens("Alpha Tech") == ("alpha", "technology")
    # A person's name is read without business abbreviations ("Dev" is a given name).
    assert normalize_name("Dev Patel").as_person().tokens == ("dev", "patel")


def test_the_tables_are_well_formed():
    for name, key in (
        ("abbreviations.csv", "abbreviation"),
        ("legal_form_spellings.csv", "spelling"),
        ("chinese_terms.csv", "chinese"),
        ("korean_terms.csv", "korean"),
        ("descriptor_words.csv", "word"),
    ):
        rows = list(csv.DictReader(io.StringIO(data_file(name).read_text(encoding="utf-8"))))
        keys = [r[key].strip().lower() for r in rows]
        assert len(keys) == len(set(keys)), f"data/{name} has a repeated {key}"
    assert abbreviations()["intl"] == "international"
    assert legal_spellings()["compnay"] == "company"
    # An expansion is never itself expanded again: one step, one canonical form.
    table = abbreviations()
    assert not [v for v in table.values() if v in table and table[v] != v]


@pytest.mark.parametrize(
    ("chinese", "expected"),
    [
        ("华为技术有限公司", ("huawei", "technology")),
        ("華為技術有限公司", ("huawei", "technology")),  # traditional characters
        ("天津飞腾信息技术有限公司", ("tianjin", "feiteng", "information", "technology")),
        ("国家超级计算无锡中心", ("national", "supercomputing", "wuxi", "center")),
    ],
)
def test_chinese_names_become_the_english_form(chinese, expected):
    n = normalize_name(chinese)
    assert n.tokens == expected
    assert not n.latin
    assert {"CO", "LTD"} >= set(n.legal_forms)


def test_chinese_words_with_two_renderings_give_alternatives():
    forms = {f.tokens for f in normalize_name("哈尔滨工业大学").forms}
    assert ("harbin", "institute", "of", "technology") in forms
    assert ("harbin", "polytechnical", "university") in forms
    forms = {f.tokens for f in normalize_name("中国电子科技集团公司").forms}
    assert ("china", "electronics", "technology", "group") in forms
    assert len(normalize_name("中国电子科技集团公司第十四研究所").forms) <= cjk.MAX_FORMS + 1


def test_chinese_words_the_table_lacks_come_from_cc_cedict():
    # 安徽 (a place: pinyin), 长城 (the Great Wall), 军工 (a common word: its English gloss)
    forms = {f.tokens for f in normalize_name("安徽长城军工股份有限公司").forms}
    assert ("anhui", "great", "wall", "military", "industry") in forms
    assert ("anhui", "changcheng", "military", "industry") in forms
    # the cheapest split, not the longest first word: 发展 中心, not 发展中 心
    n = normalize_name("中国空气动力研究与发展中心")
    assert n.tokens == ("china", "aerodynamics", "research", "and", "development", "center")


def test_chinese_brand_names_and_their_pinyin():
    forms = {f.tokens for f in normalize_name("商汤集团有限公司").forms}
    assert ("sensetime", "group") in forms  # the English name the company uses
    assert ("shangtang", "group") in forms  # and its pinyin, as some lists write it


def test_chinese_person_names_read_family_name_first():
    forms = {f.tokens for f in normalize_name("赵光宗").forms}
    assert ("zhao", "guangzong") in forms


def test_chinese_ordinals_become_digits():
    n = normalize_name("中国电子科技集团公司第十四研究所")
    assert "fourteenth" in n.tokens
    assert tokens("CETC 14th Research Institute") == ("cetc", "fourteenth", "research", "institute")
    assert tokens("CETC 54th Research Institute")[1] == "54"


def test_names_without_han_never_load_the_chinese_tools():
    assert not cjk.has_han("Vladimir Putin") and not cjk.has_han("Владимир")
    assert cjk.has_han("华为") and not cjk.has_han("カザン火薬工場")  # kana: Japanese


@pytest.mark.parametrize(
    ("name", "rest", "classes"),
    [
        ("JOINT STOK COMPNAY ROMASHKA", ("romashka",), {"JSC"}),
        ("OBSHCHESTOV S OGRANICHENNOY OTVETSTVENNOSTYU ROMASHKA", ("romashka",), {"LLC"}),
        ("DJSC Factory Krasnoe Znamya", ("factory", "krasnoe", "znamya"), {"JSC"}),
        ("Grupo Acme s a de c v", ("grupo", "acme"), {"SACV"}),
        ("Grupo Acme S.A. de C.V.", ("grupo", "acme"), {"SACV"}),
        ("t e g limited", ("teg",), {"LTD"}),
        ("XYZ Company Limited Shanghai Branch", ("xyz", "shanghai", "branch"), {"CO", "LTD"}),
        ("Acme Pvt Ltd", ("acme",), {"PVT", "LTD"}),
    ],
)
def test_misspelt_spaced_and_inner_legal_forms(name, rest, classes):
    n = normalize_name(name)
    assert n.tokens == rest
    assert set(n.legal_forms) == classes


def test_legal_form_classes_tell_ag_from_gmbh():
    ag, gmbh = normalize_name("Siemens AG"), normalize_name("Siemens GmbH")
    assert ag.tokens == gmbh.tokens == ("siemens",)
    assert ag.legal_forms == ("AG",) and gmbh.legal_forms == ("GMBH",)
    assert set(normalize_name("OOO Romashka").legal_forms) == {"LLC"}
    assert set(normalize_name("Huawei Technologies Co., Ltd.").legal_forms) == {"CO", "LTD"}


def test_initials_are_not_joined_into_a_legal_form():
    assert tokens("B. V. OBNOSOV") == ("b", "v", "obnosov")


@pytest.mark.parametrize(
    ("name", "person", "titles"),
    [
        ("Dr. Ali Hassan", ("ali", "hassan"), ("dr",)),
        ("H.E. Mohammed bin Salman", ("mohammed", "bin", "salman"), ("he",)),
        ("Gen. Qasem Soleimani", ("qasem", "soleimani"), ("gen",)),
        ("Col. Muammar Gaddafi", ("muammar", "gaddafi"), ("col",)),
        ("Sheikh Mohammed Rashid", ("mohammed", "rashid"), ("sheikh",)),
        ("Prof Mrs Jane Doe", ("jane", "doe"), ("prof", "mrs")),
    ],
)
def test_titles_are_dropped_and_reported(name, person, titles):
    n = normalize_name(name)
    assert n.as_person().tokens == person
    assert n.titles == titles


def test_a_surname_that_looks_like_a_title_stays():
    assert normalize_name("He Jiankui").as_person().tokens == ("he", "jiankui")
    assert tokens("Gen Digital") == ("gen", "digital")  # only people lose "Gen."


@pytest.mark.parametrize("ordinal", ["2nd", "second", "II", "2"])
def test_ordinals_have_one_form(ordinal):
    assert tokens(f"{ordinal} Research Institute") == ("second", "research", "institute")


def test_roman_numeral_like_names_are_left_alone():
    assert tokens("Xi Jinping") == ("xi", "jinping")
    assert tokens("Li Wei") == ("li", "wei")


def test_other_scripts_transliterate_instead_of_vanishing():
    assert tokens("សម្តេច ហ៊ុន សែន")  # Khmer: rigour does not know it, anyascii does
    assert tokens("ລາວ") and tokens("አማርኛ")  # Lao, Ethiopic
    assert tokens("리창호")  # Hangul


@pytest.mark.parametrize("name", ["😀😀", "...", "—", "★ ☆"])
def test_names_without_letters_normalise_to_nothing(name):
    assert normalize_name(name).tokens == ()


def test_very_long_names_are_cut_and_say_so():
    n = normalize_name("alpha " * 2_000)
    assert len(n.tokens) <= MAX_TOKENS and n.truncated
    assert not normalize_name("Alpha Beta").truncated


def test_joined_and_split_forms_line_up():
    # The index joins neighbouring tokens ("abdul" + "rahman"); normalisation must produce
    # exactly the letters of the one-word spelling for that to meet.
    assert "".join(tokens("Abdul Rahman")) == tokens("Abdulrahman")[0]
    assert "".join(tokens("Abdul-Rahman")) == tokens("ABDULRAHMAN")[0]


def test_a_surname_written_first_is_not_a_title():
    n = normalize_name("SHEIKH, Umair Naeem")
    assert n.as_person().tokens == ("sheikh", "umair", "naeem") and n.titles == ()
    assert normalize_name("Sheikh Umair Naeem").as_person().tokens == ("umair", "naeem")


def test_cc_cedict_is_parsed_once_then_read_from_the_cache(tmp_path, monkeypatch):
    from compliance.matching import cedict

    monkeypatch.setenv("COMPLIANCE_CACHE", str(tmp_path))
    cedict._dictionary.cache_clear()
    try:
        parsed = cedict._dictionary()
        [saved] = tmp_path.glob("cedict-*.marshal")
        cedict._dictionary.cache_clear()
        assert cedict._dictionary() == parsed  # read back from the cache file
        assert cedict.lookup("遥感") == ("remote sensing",)
        saved.write_bytes(b"\x00 not marshal")  # a damaged file is parsed again
        cedict._dictionary.cache_clear()
        assert cedict._dictionary() == parsed
    finally:
        cedict._dictionary.cache_clear()


def test_hangul_names_of_the_uk_list_read_as_its_latin_names():
    """OFSI lists North Korean people in Hangul beside their Latin names: read by North Korea's
    romanisation, each Hangul name gives the words of a Latin name on the same entry."""
    from compliance.lists_update import fetch_files, parse_files
    from compliance.matching.korean import has_hangul
    from compliance.sources import all_sources
    from compliance.sources.http import FetchPolicy
    from tests.conftest import MIRROR

    source = all_sources()["gb_ofsi"]
    checked = 0
    for rec in parse_files(source, fetch_files(source, str(MIRROR), FetchPolicy())).records:
        hangul = [n.name for n in rec.names if has_hangul(n.name)]
        latin = {normalize_name(n.name).as_person().tokens for n in rec.names if n.name.isascii()}
        for name in hangul:
            forms = {f.as_person().tokens for f in normalize_name(name).forms}
            assert forms & latin, (name, sorted(latin), sorted(forms))
            checked += 1
    assert checked >= 3


@pytest.mark.parametrize(
    ("korean", "expected"),
    [
        ("김정은", ("kim", "jong", "un")),
        ("김 정은", ("kim", "jong", "un")),  # family name apart
        ("조선광선은행", ("korea", "kwangson", "bank")),
        ("단천상업은행", ("tanchon", "commercial", "bank")),
        ("남궁민수", ("namgung", "min", "su")),  # a two-syllable family name
    ],
)
def test_korean_names_read_as_north_korea_writes_them(korean, expected):
    assert normalize_name(korean).tokens == expected


def test_korean_family_names_have_the_souths_spellings_too():
    forms = {f.tokens for f in normalize_name("리창호").forms}
    assert {("ri", "chang", "ho"), ("lee", "chang", "ho")} <= forms
    assert normalize_name("박").tokens  # one syllable: read, not a person
    # the South writes the North's 리 as 이: the lists' RI is among the readings
    assert ("ri", "pyong", "chol") in {f.tokens for f in normalize_name("이병철").forms}
