"""What a screening asks: the party (name plus optional type, country, birth date, identifier),
checked as a user gives it; a value that cannot be used is a ScreeningError saying what to give."""

from __future__ import annotations

import re
from dataclasses import dataclass

from compliance.matching.normalize import NormName
from compliance.sources import all_sources

DEFAULT_THRESHOLD = 85.0
ALGORITHMS = ("default", "ofac")
MAX_NAME_LENGTH = 1000  # characters: longer is not a name (bounded cost per row)


class ScreeningError(ValueError):
    pass


@dataclass
class Query:
    name: str
    type: str | None = None
    country: str | None = None
    dob: str | None = None
    id: str | None = None


_TYPE_ALIASES = {
    "individual": "person",
    "entity": "organization",
    "org": "organization",
    "company": "organization",
    "ship": "vessel",
}


def _type_aliases() -> dict[str, str]:
    """Type words users may give: ours, and each list's own (CSL "Individual", "Entity")."""
    words = dict(_TYPE_ALIASES)
    for source in all_sources().values():
        words.update(source.policy.vocabulary.types)
    return words


def check_type(value: str | None) -> str | None:
    if not value:
        return None
    v = value.strip().lower()
    v = _type_aliases().get(v, v)
    if v not in ("person", "organization", "vessel", "aircraft"):
        raise ScreeningError(
            f"unknown type {value!r}; use person, organization, vessel or aircraft"
        )
    return v


def check_country(value: str | None) -> str | None:
    if not value or not value.strip():
        return None
    from compliance.countries import to_iso2  # pycountry: only when a country is given

    code = to_iso2(value)
    if code is None and value.strip().upper() == "NA":
        code = "NA"  # asked for, it is Namibia's code; in a list's column it means "n/a"
    if code is None:
        raise ScreeningError(f"unknown country {value!r}; use an ISO code such as RU or a name")
    return code


def check_dob(value: str | None) -> tuple[int | None, str | None]:
    if not value or not value.strip():
        return None, None
    v = value.strip()
    m = re.fullmatch(r"(\d{4})(?:-(\d{2})-(\d{2}))?", v)
    if not m or not 1850 <= int(m.group(1)) <= 2100:
        raise ScreeningError(f"date of birth {value!r} is not YYYY or YYYY-MM-DD")
    return int(m.group(1)), (v if m.group(2) else None)


def check_name(raw: str | None, norm: NormName, what: str = "the name") -> None:
    """A name that leaves nothing to compare once normalised is an error saying what to give:
    empty, only a legal form, or no letters or digits at all."""
    if norm.tokens:
        return
    if norm.legal_forms:
        raise ScreeningError(f"{raw!r} is only a legal form; give the name of the party")
    text = raw or ""
    if text.strip():
        raise ScreeningError(
            f"{what} {text[:80]!r} has no letters or digits after normalisation; "
            "give the name in letters"
        )
    raise ScreeningError(f"{what} is empty; give the name of the party")
