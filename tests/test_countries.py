"""Country names and codes as the lists write them -> ISO 3166-1 alpha-2 (compliance.countries).

The alias table data/country_aliases.csv holds what pycountry does not know; every alias in it is
checked here, as are the documented rules (codes, parenthetical and inverted official names,
historic countries, 'NA' is not Namibia) and every country string the real OFAC files use.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pycountry
import pytest

from compliance.countries import country_name, to_iso2
from compliance.datafiles import data_file
from tests.conftest import MIRROR

# How the official lists write countries pycountry's own names miss.
ALIASES = [
    ("Burma", "MM"),
    ("Macau", "MO"),
    ("Macao", "MO"),
    ("Türkiye", "TR"),
    ("Turkiye", "TR"),
    ("Turkey", "TR"),
    ("Korea, North", "KP"),
    ("Korea North", "KP"),
    ("North Korea", "KP"),
    ("DPRK", "KP"),
    ("Democratic People's Republic of Korea", "KP"),
    ("Korea, South", "KR"),
    ("South Korea", "KR"),
    ("Korea", "KR"),
    ("Republic of Korea", "KR"),
    ("Iran", "IR"),
    ("Iran (Islamic Republic of)", "IR"),
    ("Ivory Coast", "CI"),
    ("Cote d'Ivoire", "CI"),
    ("Cote d Ivoire", "CI"),
    ("Côte d'Ivoire", "CI"),
    ("Russia", "RU"),
    ("Syria", "SY"),
    ("Laos", "LA"),
    ("Vietnam", "VN"),
    ("Palestine", "PS"),
    ("Palestinian", "PS"),
    ("West Bank", "PS"),
    ("Gaza", "PS"),
    ("Kosovo", "XK"),
    ("XK", "XK"),
    ("Czech Republic", "CZ"),
    ("Swaziland", "SZ"),
    ("Congo, Democratic Republic of the", "CD"),
    ("Democratic Republic of the Congo", "CD"),
    ("Congo (Democratic Republic)", "CD"),
    ("Congo (Democratic Republic of the)", "CD"),
    ("Congo, Democratic Republic", "CD"),
    ("Congo, The Democratic Republic of the", "CD"),
    ("Congo (Kinshasa)", "CD"),
    ("DRC", "CD"),
    ("Congo (Brazzaville)", "CG"),
    ("Congo", "CG"),
    ("Republic of the Congo", "CG"),
    ("Taiwan", "TW"),
    ("Venezuela", "VE"),
    ("Bolivia", "BO"),
    ("Tanzania", "TZ"),
    ("Moldova", "MD"),
    ("Hong Kong", "HK"),
    ("China", "CN"),
    ("People's Republic of China", "CN"),
    ("Isle of Man", "IM"),
    ("Brunei", "BN"),
    ("Cape Verde", "CV"),
    ("Micronesia", "FM"),
    ("Vatican", "VA"),
    ("The Bahamas", "BS"),
    ("Bahamas, The", "BS"),
    ("The Gambia", "GM"),
    ("Gambia, The", "GM"),
    ("Netherlands Antilles", "AN"),
    ("United Kingdom", "GB"),
    ("UK", "GB"),
    ("Great Britain", "GB"),
    ("United States", "US"),
    ("USA", "US"),
    ("United States of America", "US"),
    ("UAE", "AE"),
    ("Crimea", "UA"),
    ("Region: Crimea", "UA"),
    ("Macedonia", "MK"),
    ("British Virgin Islands", "VG"),
    ("Virgin Islands, British", "VG"),
    ("St. Kitts and Nevis", "KN"),
    ("Saint Kitts and Nevis", "KN"),
    ("St. Vincent and the Grenadines", "VC"),
    ("St. Lucia", "LC"),
    ("Sao Tome and Principe", "ST"),
    ("Timor-Leste", "TL"),
    ("East Timor", "TL"),
    ("Soviet Union", "SU"),
    ("USSR", "SU"),
    ("Yugoslavia", "YU"),
    ("Serbia and Montenegro", "CS"),
]

RULES = [
    # codes, any case and spacing; a trailing full stop
    ("ir", "IR"),
    (" IRN ", "IR"),
    ("rus", "RU"),
    ("SU", "SU"),
    ("YU", "YU"),
    ("ZZ", None),  # not a country code
    ("XYZ", None),
    ("Iran.", "IR"),
    ("  north   korea ", "KP"),
    # pycountry's name, official name and common name
    ("Germany", "DE"),
    ("Federal Republic of Germany", "DE"),
    ("Bolivia, Plurinational State of", "BO"),
    ("Russian Federation", "RU"),
    # parenthetical and inverted official names
    ("North Macedonia, The Republic of", "MK"),
    ("Man, Isle of", "IM"),
    ("Venezuela (Bolivarian Republic of)", "VE"),
    ("Korea (Democratic People's Republic of)", "KR"),  # the part before "(" decides
    # historic countries pycountry records by name
    ("Czechoslovakia, Czechoslovak Socialist Republic", "CS"),
    ("German Democratic Republic", "DD"),
    ("Dahomey", "DY"),
    ("East Germany", None),
    # 'NA' is "not known" far more often than Namibia; the name still works
    ("NA", None),
    ("n.a.", None),
    ("Namibia", "NA"),
    ("NAM", "NA"),
    # nothing to map
    ("", None),
    ("   ", None),
    (None, None),
    ("-0-", None),
    ("undetermined", None),
    ("Atlantis", None),
]


@pytest.mark.parametrize(("text", "code"), ALIASES, ids=[a[0] for a in ALIASES])
def test_alias(text: str, code: str) -> None:
    assert to_iso2(text) == code
    assert to_iso2(text.upper()) == code


@pytest.mark.parametrize(("text", "code"), RULES, ids=[repr(r[0]) for r in RULES])
def test_rule(text: str | None, code: str | None) -> None:
    assert to_iso2(text) == code


def test_every_pycountry_country_round_trips() -> None:
    """Including names that end in a full stop ("Virgin Islands, U.S.")."""
    for c in pycountry.countries:
        if c.alpha_2 == "NA":
            continue
        assert to_iso2(c.alpha_2) == c.alpha_2, c
        assert to_iso2(c.alpha_2.lower()) == c.alpha_2, c
        assert to_iso2(c.alpha_3) == c.alpha_2, c
        assert to_iso2(c.name) == c.alpha_2, c
        assert country_name(c.alpha_2) == c.name
        assert country_name(c.alpha_2.lower()) == c.name


def test_country_name() -> None:
    assert country_name("IR") == "Iran, Islamic Republic of"
    assert country_name("XK") == "XK"  # not in ISO 3166-1: the code as given
    assert country_name("su") == "SU"
    assert country_name(None) is None and country_name("") is None


def test_alias_table_is_well_formed_and_every_row_is_honoured() -> None:
    with data_file("country_aliases.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and set(rows[0]) >= {"alias", "iso2"}
    for row in rows:
        assert to_iso2(row["alias"]) == row["iso2"], row
        assert len(row["iso2"]) == 2 and row["iso2"].isupper()
    known = {r["alias"].lower() for r in rows}
    # the table holds only what pycountry lacks: no row repeats a pycountry name
    for c in pycountry.countries:
        assert c.name.lower() not in known, c.name


def _country_column(path: Path) -> set[str]:
    with path.open(encoding="latin-1", newline="") as fh:
        return {row[4].strip() for row in csv.reader(fh) if len(row) > 4}


def test_every_country_the_real_ofac_files_name_is_mapped() -> None:
    written = _country_column(MIRROR / "us_ofac_sdn" / "add.csv")
    written |= _country_column(MIRROR / "us_ofac_cons" / "cons_add.csv")
    assert len(written) > 150
    not_countries = {"-0-", "undetermined"}
    unmapped = {
        w
        for w in written - not_countries
        if to_iso2(w) is None and not (w.startswith("Region: ") and w != "Region: Crimea")
    }
    assert not unmapped
    for w in written - not_countries:
        code = to_iso2(w)
        if code is not None:
            historic = {"XK", "SU", "YU", "AN", "CS"}
            assert pycountry.countries.get(alpha_2=code) or code in historic, w
