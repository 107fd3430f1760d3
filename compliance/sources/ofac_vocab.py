"""OFAC's vocabulary, shared by the CSV (`ofac_csv`) and XML (`ofac_xml`) parsers: entity types,
alias kinds, the non-SDN lists a program puts an entry on, identifier and feature labels, dates,
and the `; `-separated facts (birth dates, passports, nationality, weak aliases...) that the
legacy formats carry inside the free-text Remarks.
"""

from __future__ import annotations

import re

from compliance.countries import to_iso2
from compliance.sources.base import EntityRecord, Identifier, Name
from compliance.sources.text import iso_date

# sdn.csv / XML type words -> EntityRecord.entity_type (the CSV leaves organisations as -0-)
ENTITY_TYPES = {"": "organization", "entity": "organization", "individual": "person",
                "vessel": "vessel", "aircraft": "aircraft"}  # fmt: skip
ALIAS_KINDS = {"aka": "aka", "fka": "fka", "nka": "nka", "a.k.a.": "aka", "f.k.a.": "fka",
               "n.k.a.": "nka"}  # fmt: skip

# Non-SDN lists named by a program that belongs to exactly one of them (the legacy formats do not
# say which list an entry is on); other non-SDN programs are on the Menu-Based Sanctions List.
NON_SDN_LISTS = {
    "UKRAINE-EO13662": "Sectoral Sanctions Identifications List",
    "NS-PLC": "Non-SDN Palestinian Legislative Council List",
    "CMIC-EO13959": "Non-SDN CMIC List",
    "561-Related": "CAPTA List",
    "FSE-IR": "FSE List",
    "FSE-SY": "FSE List",
}
NS_MBS = "Non-SDN Menu-Based Sanctions List"

# OFAC's identifier types (SDN.XML idType values and their Remarks spellings). Longest first, so
# "Diplomatic Passport" wins over "Passport".
_ID_TYPE_NAMES = (
    "Passport", "Diplomatic Passport", "British National Overseas Passport",
    "Stateless Person Passport", "Passport Booklet", "Passport Booklet:", "Passport No.:",
    "National ID No.", "National ID No.:", "Tax ID No.", "Registration Number",
    "Registration ID", "Cedula No.", "C.U.R.P.", "C.U.R.P. #", "R.F.C.", "R.F.C. #", "RFC",
    "NIT #", "RUC #", "RIF #", "Government Gazette Number",
    "Aircraft Manufacturer's Serial Number (MSN)", "Identification Number",
    "Business Registration Number", "Folio Mercantil No.", "Company Number",
    "Commercial Registry Number", "MMSI", "Aircraft Tail Number", "ISIN",
    "Aircraft Construction Number (also called L/N or S/N or F/N)",
    "Unified Social Credit Code (USCC)", "United Social Credit Code Certificate (USCCC)",
    "Matricula Mercantil No", "V.A.T. Number", "License", "C.R. No.", "Legal Entity Number",
    "SWIFT/BIC", "D.N.I.", "D-U-N-S Number", "Economic Register Number (CBLS)",
    "Trade License No.", "Electoral Registry No.", "Chamber of Commerce Number",
    "Driver's License No.", "Business Registration Document #", "BIK (RU)",
    "Birth Certificate Number", "Public Registration Number", "Italian Fiscal Code",
    "Italian Fiscal Code:", "Personal ID Card", "Central Registration System Number",
    "Credencial electoral", "National Foreign ID Number",
    "Cartilla de Servicio Militar Nacional",
    "Istanbul Chamber of Comm. No.", "Business Number", "UK Company Number", "US FEIN",
    "Enterprise Number", "Chinese Commercial Code", "SSN", "Residency Number", "I.F.E.",
    "Registered Charity No.", "C.U.I.", "C.U.I.T.", "C.U.I.P.", "Branch Unit Number",
    "Dubai Chamber of Commerce Membership No.", "LE Number",
    "Certificate of Incorporation Number", "Turkish Identification Number",
    "Numero de Identidad", "Citizen's Card Number", "RTN", "Kenyan ID No.",
    "Travel Document Number", "Permit Number", "Aircraft Mode S Transponder Code",
    "VisaNumberID", "File Number", "SRE Permit No.", "Tazkira National ID Card",
    "Aircraft Serial Identification", "Immigration No.", "C.I.F.", "N.I.F.", "N.I.E.",
    "Refugee ID Card", "Romanian C.R.", "Afghan Money Service Provider License Number",
    "Pilot License Number", "Vessel Registration Identification",
    "Numero Unico de Identificacao Tributaria (NUIT)", "UAE Identification", "Serial No.",
    "Public Security and Immigration No.", "Bosnian Personal ID No.",
    "Moroccan Personal ID No.", "Stateless Person ID Card", "CNP (Personal Numerical Code)",
    "Romanian Permanent Resident CAN", "Romanian Tax Registration", "Fiscal Code",
    "Paraguayan tax identification number", "International Maritime Organization No.",
    "MSB Registration Number", "Seafarer's Identification Document", "Tourism License No.",
    "Military Registration Number", "Trademark number", "C.I.N.", "RSIN",
    "Registration Certificate Number (Dubai)", "Previous Aircraft Tail Number",
    "Russian State Individual Business Registration Number Pattern (OGRNIP)",
    "Tarjeta Profesional", "Digital Currency Address",
)  # fmt: skip
ID_TYPES = sorted(_ID_TYPE_NAMES, key=len, reverse=True)
_ID_PREFIX = re.compile("|".join(re.escape(t) for t in ID_TYPES) + "(?= )")
_ID_KEYS = {t.lower().rstrip(":") for t in ID_TYPES}

# Remarks items that are facts but not identifiers: kept in `fields["features"]` by label.
_FEATURE_NAMES = (
    "Additional Sanctions Information -", "Secondary sanctions risk:",
    "Transactions Prohibited For Persons Owned or Controlled By U.S. Financial Institutions:",
    "Organization Established Date", "Organization Type:", "Target Type",
    "Nationality of Registration", "CAATSA Section 235 Information:", "Issuer Name",
    "Equity Ticker", "Aircraft Operator", "Aircraft Model", "Aircraft Manufacture Date",
    "Former Vessel Flag", "Other Vessel Flag", "Other Vessel Call Sign", "Other Vessel Type",
    "Vessel Year of Build", "IFCA Determination -",
    "Purchase/Sales For Divestment Date (CMIC)", "Listing Date (CMIC)", "Effective Date (CMIC)",
)  # fmt: skip
FEATURE_TYPES = sorted(_FEATURE_NAMES, key=len, reverse=True)
_FEATURE_PREFIX = re.compile("|".join(re.escape(t) for t in FEATURE_TYPES) + "(?= )")
_FEATURE_PATTERNS = (
    re.compile(r"^((?:Listing|Effective) Date \([^)]*\):?) (.+)$"),
    re.compile(r"^(Executive Order \d+ [^:]*?(?: -|:|information:?|Information:?))\s*(.+)$"),
)
_LIST_FIELDS = {  # OFAC label (lower case) -> fields key holding a list of values
    "pob": "places_of_birth", "place of birth": "places_of_birth",
    "gender": "gender", "website": "websites", "email address": "emails", "email": "emails",
    "phone number": "phones", "phone": "phones", "telephone": "phones", "alt. telephone": "phones",
    "fax": "fax", "alt. fax": "fax", "linked to": "linked_to", "title": "titles",
}  # fmt: skip
# Enhanced XML vessel features -> the same keys the CSV columns use
_VESSEL_FEATURES = {"vessel call sign": "call_sign", "vessel type": "vessel_type",
                    "vessel flag": "vessel_flag", "vessel owner": "vessel_owner",
                    "vessel tonnage": "tonnage",
                    "vessel gross registered tonnage": "gross_registered_tonnage"}  # fmt: skip
# Remarks items filed by their leading label (longest first: "Email Address" before "Email")
_LIST_PREFIXES = ("Email Address", "Phone Number", "Linked To:", "Alt. Telephone:", "Alt. Fax:",
                  "nationality", "Telephone", "citizen", "Website", "Gender", "Email", "PHONE",
                  "DOB", "POB", "Fax", "FAX")  # fmt: skip
_LIST_PREFIX = re.compile("|".join(re.escape(p) for p in _LIST_PREFIXES) + "(?= )")
_ID_TAIL = re.compile(r"\s+(?=(?:issued|expires|expired)\b)")
_TRAILING_COUNTRY = re.compile(r"^(.+?)\s*\(([^()]+)\)$")
_WEAK_ALIAS = re.compile(r"^([afn])\.k\.a\.,?\s+'(.+)'$", re.IGNORECASE)
_RANGE = re.compile(r"^(.+?)\s+to\s+(.+)$|^(\d{4})\s*-\s*(\d{4})$")


def country_code(text: str | None) -> str | None:
    """ISO alpha-2 for a country as OFAC writes it ("Korea, North", "Region: Gaza")."""
    if not text:
        return None
    code = to_iso2(text)
    if code is None and text.lower().startswith("region:"):
        code = to_iso2(text.split(":", 1)[1])
    if code is None and ", " in text:  # "Man, Isle of", "North Macedonia, The Republic of"
        head, tail = text.split(", ", 1)
        code = to_iso2(f"{tail} {head}") or to_iso2(head)
    return code


_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_OFAC_DATE = re.compile(r"^(?:(\d{1,2}) )?(?:([A-Za-z]{3}) )?(\d{4})$")


def ofac_date(text: str) -> str | None:
    """'07 Oct 1952' / 'Oct 1952' / '1952' (OFAC's date styles) as ISO; else `iso_date`."""
    m = _OFAC_DATE.match(text.strip())
    if m and (m.group(2) or not m.group(1)):
        day, mon, year = m.group(1), m.group(2), m.group(3)
        month = _MONTHS.get(mon.lower()) if mon else None
        if mon and month is None:
            return None
        if day and month:
            return iso_date(text) if int(day) > 28 else f"{year}-{month:02d}-{int(day):02d}"
        return f"{year}-{month:02d}" if month else year
    return iso_date(text)


def parse_dob(text: str) -> list[str]:
    """Birth dates as ISO strings. A range ("1951 to 1953", "01 Jan 1961 to 31 Dec 1962")
    becomes every year it spans (up to 15), so that a query year inside it can match."""
    v = re.sub(r"^(?:circa|approximately)\s+", "", text.strip(), flags=re.IGNORECASE)
    m = _RANGE.match(v)
    if m:
        a = ofac_date(m.group(1) or m.group(3))
        b = ofac_date(m.group(2) or m.group(4))
        if a and b and 0 <= int(b[:4]) - int(a[:4]) <= 15:
            return [str(y) for y in range(int(a[:4]), int(b[:4]) + 1)]
        return [d for d in (a, b) if d]
    d = ofac_date(v)
    return [d] if d else []


def append_field(rec: EntityRecord, key: str, value: str) -> None:
    values = rec.fields.setdefault(key, [])
    if value not in values:
        values.append(value)


def add_country(rec: EntityRecord, code: str | None) -> None:
    if code and code not in rec.countries:
        rec.countries.append(code)


def add_identifier(
    rec: EntityRecord, id_type: str, number: str, country: str | None, note: str | None
) -> None:
    if not number:
        return  # e.g. "Passport issued in Sarajevo": nothing to match on; Remarks keep it
    code = country_code(country) if country else None
    ident = Identifier(id_type, number, code or country or None, note or None)
    if ident not in rec.identifiers:
        rec.identifiers.append(ident)


def add_fact(
    rec: EntityRecord,
    label: str,
    value: str,
    *,
    country: str | None = None,
    note: str | None = None,
    default: str = "feature",
) -> None:
    """File one OFAC fact (an idList item, an Enhanced XML feature or a Remarks item) under its
    EntityRecord attribute. `default` decides for labels OFAC invented after this was written:
    "id" (an XML idList item) or "feature"."""
    label = label.strip()
    value = value.strip()
    key = label.lower().rstrip(":").strip()
    if not value:
        return
    if key in ("dob", "birthdate", "date of birth"):
        for d in parse_dob(value):
            if d not in rec.dates_of_birth:
                rec.dates_of_birth.append(d)
    elif key in (
        "nationality",
        "nationality country",
        "citizen",
        "citizenship",
        "citizenship country",
    ):
        code = country_code(value)
        append_field(rec, "citizenship" if key.startswith("citizen") else "nationality", value)
        if code and code not in rec.nationalities:
            rec.nationalities.append(code)
        add_country(rec, code)
    elif key in _LIST_FIELDS:
        append_field(rec, _LIST_FIELDS[key], value)
    elif key in _VESSEL_FEATURES:
        rec.fields[_VESSEL_FEATURES[key]] = value
        if key == "vessel flag":
            add_country(rec, country_code(value))
    elif _is_id_label(key) or (default == "id" and not _is_feature_label(label)):
        add_identifier(rec, label.rstrip(":").strip(), value, country, note)
    else:
        if key == "nationality of registration":
            add_country(rec, country_code(value))
        rec.fields.setdefault("features", {}).setdefault(label, [])
        if value not in rec.fields["features"][label]:
            rec.fields["features"][label].append(value)


def _is_id_label(key: str) -> bool:
    return key in _ID_KEYS or key.startswith("digital currency address")


def _is_feature_label(label: str) -> bool:
    return label in FEATURE_TYPES or any(p.match(f"{label} x") for p in _FEATURE_PATTERNS)


def split_id(rest: str) -> tuple[str, str | None, str | None]:
    """'A1234 (Iran) issued 2001 expires 2011' -> ('A1234', 'Iran', 'issued 2001 expires 2011')."""
    parts = _ID_TAIL.split(rest, maxsplit=1)
    number, note = parts[0].strip(), (parts[1].strip() if len(parts) > 1 else None)
    country = None
    m = _TRAILING_COUNTRY.match(number)
    if m:
        number, country = m.group(1).strip(), m.group(2).strip()
    return number.rstrip(","), country, note


def apply_remarks(rec: EntityRecord, remarks: str) -> None:
    """Parse the `; `-separated Remarks items into the record (the text stays in `remarks`)."""
    for item in re.split(r";\s*", remarks.strip().rstrip(".")):
        item = item.strip()
        if item.lower().startswith("alt. "):
            item = item[5:].strip()
        if not item:
            continue
        m = _WEAK_ALIAS.match(item)
        if m:
            add_name(rec, Name(m.group(2).strip(), "weak_aka", quality="weak"))
            continue
        m = _LIST_PREFIX.match(item)
        if m:
            add_fact(rec, m.group(0), item[m.end() :])
            continue
        if item.startswith("Digital Currency Address - "):
            label, _, value = item.rpartition(" ")
            add_fact(rec, label, value)
            continue
        m = _ID_PREFIX.match(item)
        if m:
            number, country, note = split_id(item[m.end() :])
            add_identifier(rec, m.group(0).rstrip(":"), number, country, note)
            continue
        m = _FEATURE_PREFIX.match(item)
        if m:
            add_fact(rec, m.group(0), item[m.end() :])
            continue
        m2 = next((m for p in _FEATURE_PATTERNS if (m := p.match(item))), None)
        if m2:
            add_fact(rec, m2.group(1), m2.group(2))
            continue
        append_field(rec, "other_information", item)


def add_name(rec: EntityRecord, name: Name) -> None:
    if name.name and not any(n.name == name.name for n in rec.names):
        rec.names.append(name)


def split_programs(text: str) -> list[str]:
    """'IRAN] [SDGT' -> ['IRAN', 'SDGT'] (the CSV's join of several programs)."""
    return [p.strip(" []") for p in text.split("] [") if p.strip(" []")]


def non_sdn_lists(programs: list[str]) -> list[str]:
    lists = list(dict.fromkeys(NON_SDN_LISTS[p] for p in programs if p in NON_SDN_LISTS))
    return lists or [NS_MBS]
