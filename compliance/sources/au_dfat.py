"""Australia, DFAT Consolidated List (autonomous and UN sanctions), regulation8_consolidated.xlsx.

One sheet; row 1 is the header (`Reference, Name of Individual or Entity, Type, Name Type,
Date of Birth, Place of Birth, Citizenship, Address, Additional Information, Listing
Information, Committees, Control Date`, then empty columns), read by name. One row per name:
`Reference` is a number for the primary name and the number plus a letter ("2a", "2b", even
"34c1") for each alias, so every row whose Reference starts with the same number is one
listing, whose id is that number. `Name Type` is "Primary Name", "aka", "Original Script",
"Formerly known as"..., in any case and with stray spaces.

Dates of birth, citizenships and addresses are free text ("a) 12/05/1961 b) Approximately
1958", "Russian and Ukrainian"); what can be read is read (numbers are day first, as
Australia writes them), the text is kept in `fields`. The list date is the newest Control
Date. The workbook is streamed and never evaluated, with the same size limits as ConList.xlsx.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from rigour.territories import lookup_territory

from compliance.countries import to_iso2
from compliance.policy import BLOCK, ListPolicy
from compliance.sources.base import (
    Address,
    EntityRecord,
    Identifier,
    Name,
    ParsedList,
    ParseError,
    Source,
    SourceFile,
)
from compliance.sources.scripts import detect_script

KEY = "au_dfat"
FILE = "regulation8_consolidated.xlsx"
LIST_NAME = "DFAT Consolidated List"
MAX_ROWS = 1_000_000
MAX_UNPACKED = 500_000_000
HEADER = (
    "Reference", "Name of Individual or Entity", "Type", "Name Type", "Date of Birth",
    "Place of Birth", "Citizenship", "Address", "Additional Information",
    "Listing Information", "Committees", "Control Date",
)  # fmt: skip
REQUIRED = HEADER[:4]
TYPES = {"individual": "person", "entity": "organization"}
NAME_KINDS = {
    "primary name": "primary",
    "aka": "aka",
    "original script": "original_script",
    "formerly known as": "fka",
    "previously listed as": "fka",
}
_EMPTY = {"", "na", "n/a", "none", "-", "unknown"}
_IMO = re.compile(r"\bIMO(?:\s+(?:number|no\.?))?\s*:?\s*(\d{7})\b", re.IGNORECASE)
_REFERENCE = re.compile(r"(\d{1,12})(\S*)")
MAX_RANGE_YEARS = 10  # a wider "Between 1950 and 1970" keeps only its two ends

# --- dates of birth -----------------------------------------------------------------------

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
_MON = (
    r"\b(?P<{0}>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il|l)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t|tember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_YEAR = r"(?<!\d)(?:18|19|20)\d{2}(?!\d)"
_NUMERIC = (
    rf"(?<!\d)(?P<nd>\d{{1,2}})\s?[/.]\s?(?P<nm>\d{{1,2}})\s?[/.]\s?(?P<ny>{_YEAR}|\d{{2}}(?!\d))"
)
_TEXTUAL = (
    rf"(?<!\d)(?P<td>\d{{1,2}})(?:\.|st|nd|rd|th)?[\s-]*{_MON.format('tm')}[\s,-]*"
    rf"(?P<ty>{_YEAR}|\d{{2}}(?!\d))"
)
_DATES = re.compile(
    "|".join(
        (
            rf"(?P<iso>{_YEAR})-(?P<im>\d{{2}})-(?P<id>\d{{2}})",
            _NUMERIC,  # day first, as Australia writes dates
            _TEXTUAL,  # "12 Apr. 1982", "23-Apr-68", "12. Jul 1960"
            rf"{_MON.format('um')}\s+(?P<ud>\d{{1,2}}),?\s+(?P<uy>{_YEAR})",  # "April 9, 1960"
            rf"{_MON.format('mm')},?\s+(?P<my>{_YEAR})",
            rf"(?<![\d/])(?P<pm>\d{{1,2}})/(?P<py>{_YEAR})",  # "03/1965"
            rf"(?P<ra>{_YEAR})\s*(?:-|–|to|and)\s*(?P<rb>{_YEAR})",
            rf"(?P<y>{_YEAR})",
        )
    ),
    re.IGNORECASE,
)


def _year(text: str) -> int:
    y = int(text)
    return y if y >= 100 else (2000 + y if y < 30 else 1900 + y)  # two digits: "07/04/62"


def _day(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def _found(m: re.Match[str]) -> list[str]:
    g = m.groupdict()
    if g["iso"]:
        return [d] if (d := _day(int(g["iso"]), int(g["im"]), int(g["id"]))) else []
    if g["nd"]:
        day, month = int(g["nd"]), int(g["nm"])
        if month > 12 >= day:  # month first: only when the day cannot be a month
            day, month = month, day
        return [d] if (d := _day(_year(g["ny"]), month, day)) else []
    for d_key, m_key, y_key in (("td", "tm", "ty"), ("ud", "um", "uy")):
        if g[m_key]:
            month = _MONTHS[g[m_key][:3].lower()]
            return [d] if (d := _day(_year(g[y_key]), month, int(g[d_key]))) else []
    if g["mm"]:
        return [f"{int(g['my']):04d}-{_MONTHS[g['mm'][:3].lower()]:02d}"]
    if g["pm"]:
        return [f"{g['py']}-{int(g['pm']):02d}"] if 1 <= int(g["pm"]) <= 12 else [g["py"]]
    if g["ra"]:
        lo, hi = sorted((int(g["ra"]), int(g["rb"])))
        years = range(lo, hi + 1) if hi - lo <= MAX_RANGE_YEARS else (lo, hi)
        return [str(y) for y in years]
    return [g["y"]]


@lru_cache(maxsize=8192)
def birth_dates(text: str) -> tuple[str, ...]:
    """Every date a free-text Date of Birth states, ISO ('YYYY-MM-DD', 'YYYY-MM' or 'YYYY'):
    'a) 12/05/1961 b) 23-Apr-68', 'Between 1955 and 1958' (each year), 'Approximately 1963'.
    A Hijri date (year 1402) is no Gregorian year and is skipped."""
    text = re.sub(r"\d{1,2}/\d{1,2}/\d{4}\s*\(Hijri[^)]*\)", " ", text)
    out: list[str] = []
    for m in _DATES.finditer(text):
        out.extend(d for d in _found(m) if d not in out)
    return tuple(out)


def _cell_dates(value: Any) -> tuple[str, ...]:
    if isinstance(value, datetime | date):
        return (value.strftime("%Y-%m-%d"),)
    if isinstance(value, int | float) and 1850 <= value <= 2100:
        return (str(int(value)),)
    return birth_dates(_clean(value))


# --- countries ----------------------------------------------------------------------------

# Where rigour's table of names and demonyms maps a spelling elsewhere, or lacks it.
_COUNTRY_FIXES = {
    "mauritian": "MU",
    "belarussian": "BY",
    "türkiyish": "TR",
    "turkiyish": "TR",
    "united kingdom of great britain": "GB",
}
_ENUMERATOR = re.compile(r"(?:^|\s)\(?[a-z]\)\s*")
_SEPARATORS = re.compile(r"\s*(?:;|,|/|\n|\band\b)\s*")


@lru_cache(maxsize=4096)
def country_code(text: str) -> str | None:
    """ISO alpha-2 for a country name or demonym ('Iran', 'Iranian', 'USSR (until 1991)')."""
    text = re.sub(r"\([^)]*\)", " ", text)
    text = re.sub(r"^(?:possibly|formerly)\s+", "", " ".join(text.split()), flags=re.I)
    key = text.strip(" .;,").lower()
    if key in _EMPTY:
        return None
    if key in _COUNTRY_FIXES:
        return _COUNTRY_FIXES[key]
    code = to_iso2(key)
    if code is None and len(key) > 3:  # demonyms; not 2-3 letters, which rigour reads as codes
        found = lookup_territory(key)
        code = found.code.upper() if found and len(found.code) == 2 else None
    return code


def enumerated(text: str) -> list[str]:
    """'a) Jordan b) United States' -> ['Jordan', 'United States']; other text -> [text]."""
    parts = [p.strip(" ;,") for p in _ENUMERATOR.split(text)]
    return [p for p in parts if p and p.lower() not in _EMPTY]


def citizenships(text: str) -> tuple[list[str], list[str]]:
    """(ISO codes, parts not understood) of a Citizenship cell: 'Russian and Ukrainian',
    'a) Pakistani b) Saudi Arabian', 'Malian / Mauritanian', 'Somalia;\\nKenya'."""
    codes: list[str] = []
    unknown: list[str] = []
    for item in enumerated(text):
        code = country_code(item)
        parts = [code] if code else [country_code(p) for p in _SEPARATORS.split(item) if p]
        if parts and all(parts):
            codes.extend(c for c in parts if c and c not in codes)
        else:
            unknown.append(item)
    return codes, unknown


def _place_country(text: str) -> str | None:
    """The country a place or address names, looked for from its end: 'Tehran, Iran' -> IR,
    'St. Petersburg, Russia, 197022, PO Box 128' -> RU."""
    parts = re.sub(r"\([^)]*\)", " ", text).rstrip(" .;,").split(",")
    for part in reversed(parts):
        code = country_code(part)
        if code:
            return code
    return None


# --- the workbook -------------------------------------------------------------------------


def _clean(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    return " ".join(str(value).split())


def _open_sheet(content: bytes) -> Any:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            unpacked = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile as exc:
        raise ParseError(f"not an XLSX workbook: {exc}", source=KEY, file=FILE) from None
    if unpacked > MAX_UNPACKED:
        raise ParseError(
            f"unpacks to {unpacked:,} bytes, over the {MAX_UNPACKED:,}-byte cap; refused as unsafe",
            source=KEY,
            file=FILE,
        )
    try:
        import openpyxl  # only a list update reads the workbook

        wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged package
        raise ParseError(
            f"not a readable XLSX workbook ({exc.__class__.__name__}: {exc})", source=KEY, file=FILE
        ) from None
    if not wb.worksheets:
        raise ParseError("workbook has no sheet", source=KEY, file=FILE)
    ws = wb.worksheets[0]
    claimed = ws.max_row
    if claimed is not None and claimed > MAX_ROWS:
        raise ParseError(
            f"sheet {ws.title!r} claims {claimed:,} rows, over the {MAX_ROWS:,}-row cap; refused",
            source=KEY,
            file=FILE,
        )
    ws.reset_dimensions()  # stream every row, counted against MAX_ROWS, whatever it claims
    return ws


def _columns(header: tuple[Any, ...], warnings: list[str]) -> dict[str, int]:
    """Column index of each known header name (matched ignoring case and spaces)."""
    found = {_clean(h).lower(): i for i, h in reversed(list(enumerate(header))) if _clean(h)}
    columns = {name: found[name.lower()] for name in HEADER if name.lower() in found}
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        got = [_clean(h) for h in header[:4]]
        raise ParseError(
            f"row 1 is not the DFAT Consolidated List header: no {', '.join(missing)} column "
            f"(got {got}...)",
            source=KEY,
            file=FILE,
            line=1,
        )
    for name in HEADER:
        if name not in columns:
            warnings.append(f"{FILE}: no {name!r} column; left empty")
    return columns


def _rows(ws: Any, warnings: list[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None) or ()
    columns = _columns(tuple(header), warnings)
    width = max(columns.values()) + 1
    for line, values in enumerate(rows, start=2):
        if line > MAX_ROWS:
            raise ParseError(
                f"has more than {MAX_ROWS:,} rows; refused", source=KEY, file=FILE, line=line
            )
        values = values[:width]
        if not any(_clean(v) for v in values):
            continue  # blank rows (the real file ends with some)
        yield line, {name: _at(values, columns.get(name)) for name in HEADER}


def _at(values: tuple[Any, ...], i: int | None) -> Any:
    return values[i] if i is not None and i < len(values) else None


# --- one listing --------------------------------------------------------------------------


class _Listing:
    def __init__(self, ref: str) -> None:
        self.ref = ref
        self.rows: list[tuple[int, dict[str, Any]]] = []
        self.primary: tuple[int, dict[str, Any]] | None = None  # the bare-number row
        self.unknown_kinds: list[tuple[int, str]] = []

    def add(self, line: int, suffix: str, row: dict[str, Any]) -> None:
        self.rows.append((line, row))
        if not suffix and self.primary is None:
            self.primary = (line, row)

    def record(self, warnings: list[str]) -> EntityRecord:
        text = {k: _distinct(self._cells(k)) for k in HEADER}
        first = self._primary_row(warnings)
        primary, names = self._names(first)
        for line, value in self.unknown_kinds:
            warnings.append(f"{FILE} line {line}: unknown Name Type {value!r}; read as aka")
        type_text = _clean(first["Type"])
        kind = self._kind(type_text, warnings)
        dates = self._birth_dates(warnings)
        nationalities = self._nationalities(text["Citizenship"], warnings)
        places = [p for v in text["Place of Birth"] for p in enumerated(v)]
        addresses = [
            Address(full=a, country=a.rsplit(",", 1)[-1].strip(), country_code=_place_country(a))
            for v in text["Address"]
            for a in enumerated(v)
        ]
        countries = list(nationalities)
        for code in [a.country_code for a in addresses] + [_place_country(p) for p in places]:
            if code and code not in countries:
                countries.append(code)
        control = [d for _, r in self.rows if (d := _control_date(r["Control Date"]))]
        return EntityRecord(
            source_id=self.ref,
            entity_type=kind,
            name=primary,
            names=names,
            programs=text["Committees"],
            lists=[LIST_NAME],
            addresses=addresses,
            identifiers=[
                Identifier("IMO", n)
                for n in dict.fromkeys(_IMO.findall(" ".join(text["Additional Information"])))
            ],
            dates_of_birth=dates,
            nationalities=nationalities,
            countries=countries,
            remarks="\n".join(text["Additional Information"]) or None,
            fields={
                "type": type_text or None,
                "committees": text["Committees"],
                "listing_information": text["Listing Information"],
                "additional_information": text["Additional Information"],
                "date_of_birth": text["Date of Birth"],
                "places_of_birth": places,
                "citizenship": text["Citizenship"],
                "control_date": max(control, default=None),
            },
            raw={"rows": [{k: _clean(v) for k, v in r.items() if _clean(v)} for _, r in self.rows]},
        )

    def _kind(self, type_text: str, warnings: list[str]) -> str:
        kind = TYPES.get(type_text.lower(), "unknown")
        others = {_clean(r["Type"]).lower() for _, r in self.rows} - {"", type_text.lower()}
        if others or kind == "unknown":
            warnings.append(
                f"{FILE}: Reference {self.ref} has Type {type_text!r}"
                + (f" (other rows: {', '.join(sorted(others))})" if others else "")
            )
        return kind

    def _birth_dates(self, warnings: list[str]) -> list[str]:
        dates: list[str] = []
        unread: list[str] = []
        for _, r in self.rows:
            found = _cell_dates(r["Date of Birth"])
            raw = _clean(r["Date of Birth"])
            if not found and raw.lower() not in _EMPTY and raw not in unread:
                unread.append(raw)
                warnings.append(f"{FILE}: Reference {self.ref}: no date in Date of Birth {raw!r}")
            dates.extend(d for d in found if d not in dates)
        return dates

    def _nationalities(self, values: list[str], warnings: list[str]) -> list[str]:
        out: list[str] = []
        for value in values:
            codes, unknown = citizenships(value)
            out.extend(c for c in codes if c not in out)
            for part in unknown:
                warnings.append(f"{FILE}: Reference {self.ref}: citizenship {part!r} not read")
        return out

    def _cells(self, column: str) -> list[str]:
        return [_clean(r[column]) for _, r in self.rows]

    def _primary_row(self, warnings: list[str]) -> dict[str, Any]:
        """The bare-number row; failing that the first row typed Primary Name, or the first."""
        typed = [r for _, r in self.rows if _name_kind(r["Name Type"]) == "primary"]
        if self.primary is not None:
            return self.primary[1]
        warnings.append(f"{FILE}: Reference {self.ref} has no row without a letter")
        return (typed or [self.rows[0][1]])[0]

    def _names(self, first: dict[str, Any]) -> tuple[str, list[Name]]:
        primary = _clean(first["Name of Individual or Entity"])
        names, seen = [Name(primary, "primary")], {primary.casefold()}
        for line, r in self.rows:
            name = _clean(r["Name of Individual or Entity"])
            if name.casefold() in seen:
                continue
            seen.add(name.casefold())
            kind = _name_kind(r["Name Type"])
            if kind is None:
                self.unknown_kinds.append((line, _clean(r["Name Type"])))
            script = detect_script(name)
            if script not in (None, "Latin"):
                kind = "original_script"
            elif kind in ("original_script", "primary", None):
                kind = "aka"  # a Latin "original script", or a second primary name
            names.append(Name(name, kind, script=script if kind == "original_script" else None))
        return primary, names


def _name_kind(value: Any) -> str | None:
    return NAME_KINDS.get(_clean(value).lower())


def _distinct(values: list[str]) -> list[str]:
    out: list[str] = []
    for v in values:
        if v and v.lower() not in _EMPTY and v not in out:
            out.append(v)
    return out


def _control_date(value: Any) -> str | None:
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    found = birth_dates(_clean(value)) if value is not None else ()
    return found[0] if found and len(found[0]) == 10 else None


def parse(files: Mapping[str, bytes]) -> ParsedList:
    ws = _open_sheet(files[FILE])
    warnings: list[str] = []
    listings: dict[str, _Listing] = {}
    rows_read = 0
    for line, row in _rows(ws, warnings):
        rows_read += 1
        m = _REFERENCE.fullmatch(_clean(row["Reference"]))
        if not m:
            raise ParseError(
                f"Reference {_clean(row['Reference'])!r} is not a number (or number and letter)",
                source=KEY,
                file=FILE,
                line=line,
            )
        if not _clean(row["Name of Individual or Entity"]):
            raise ParseError(
                f"Reference {m.group(0)} has no name", source=KEY, file=FILE, line=line
            )
        ref = str(int(m.group(1)))
        listings.setdefault(ref, _Listing(ref)).add(line, m.group(2), row)
    records = [listing.record(warnings) for listing in listings.values()]
    dates = [d for r in records if (d := r.fields["control_date"])]
    return ParsedList(
        records, data_date=max(dates, default=None), warnings=warnings, rows_read=rows_read
    )


SOURCE = Source(
    key=KEY,
    title="Australia DFAT Consolidated List (autonomous and UN sanctions)",
    publisher="Australian Government, Department of Foreign Affairs and Trade (DFAT)",
    files=(
        SourceFile(
            FILE,
            "https://www.dfat.gov.au/sites/default/files/regulation8_consolidated.xlsx",
            "xlsx",
            max_bytes=100_000_000,
        ),
    ),
    parse=parse,
    homepage="https://www.dfat.gov.au/international-relations/security/sanctions/consolidated-list",
    policy=ListPolicy(
        display="Australia DFAT Consolidated List",
        category="sanctions",
        decision=BLOCK,
        rank=65,
        why="using or dealing with a listed person's assets, or making assets "
        "available to them, is "
        "a criminal offence (Autonomous Sanctions Regulations 2011, UN Charter regulations)",
    ),
)
