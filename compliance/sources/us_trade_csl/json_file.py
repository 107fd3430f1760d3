"""consolidated.json: the CSL's fields as {"results": [...]}, addresses and ids as objects; read
into the same rows as the CSV, so both give the same entities."""

from __future__ import annotations

import json
from typing import Any

from compliance.countries import to_iso2
from compliance.sources.base import Address, EntityRecord, ParsedList, ParseError
from compliance.sources.text import decode_text, iso_date
from compliance.sources.us_trade_csl.cells import clean, parse_address, parse_csv_id, split
from compliance.sources.us_trade_csl.rows import (
    COLUMNS,
    JSON_FILE,
    KEY,
    LIST_FIELDS,
    finish,
    row_record,
)


def _json_text(item: dict[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if value is None or isinstance(value, str | int | float):
        return clean(value)
    raise ParseError(
        f"{where}: {key} is a {type(value).__name__}, expected text", source=KEY, file=JSON_FILE
    )


def _json_list(item: dict[str, Any], key: str, where: str) -> list[Any]:
    value = item.get(key)
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return split(value)
    if isinstance(value, list):
        return value
    raise ParseError(
        f"{where}: {key} is a {type(value).__name__}, expected a list", source=KEY, file=JSON_FILE
    )


def _json_address(a: Any, where: str) -> Address:
    if isinstance(a, str):
        return parse_address(a)
    if not isinstance(a, dict):
        raise ParseError(f"{where}: an address is a {type(a).__name__}", source=KEY, file=JSON_FILE)
    part = {
        k: _json_text(a, k, where) or None
        for k in ("address", "city", "state", "postal_code", "country")
    }
    country = part["country"]
    return Address(
        full=", ".join(p for p in part.values() if p),
        street=part["address"],
        city=part["city"],
        state=part["state"],
        postal_code=part["postal_code"],
        country=country,
        country_code=to_iso2(country),
    )


def _json_id(i: Any, where: str) -> dict[str, str | None]:
    if isinstance(i, str):
        return parse_csv_id(i)
    if not isinstance(i, dict):
        raise ParseError(f"{where}: an id is a {type(i).__name__}", source=KEY, file=JSON_FILE)
    out: dict[str, str | None] = {
        k: _json_text(i, k, where) or None for k in ("type", "number", "country")
    }
    out["issue_date"] = iso_date(_json_text(i, "issue_date", where))
    out["expiration_date"] = iso_date(_json_text(i, "expiration_date", where))
    out["date"] = None
    return out


def parse_json(content: bytes) -> ParsedList:
    text = decode_text(content, JSON_FILE, KEY)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"not valid JSON: {exc.msg}", source=KEY, file=JSON_FILE, line=exc.lineno
        ) from None
    results = doc.get("results") if isinstance(doc, dict) else doc
    if not isinstance(results, list):
        raise ParseError(
            'expected {"results": [...]} or a list of entries', source=KEY, file=JSON_FILE
        )
    records: list[EntityRecord] = []
    warnings: list[str] = []
    for n, item in enumerate(results):
        where = f"results[{n}]"
        if not isinstance(item, dict):
            raise ParseError(f"{where} is not an object", source=KEY, file=JSON_FILE)
        row: dict[str, Any] = {
            k: _json_text(item, k, where)
            for k in COLUMNS
            if k not in LIST_FIELDS and k not in ("addresses", "ids")
        }
        row["_id"] = row["_id"] or _json_text(item, "id", where)
        for k in LIST_FIELDS:
            values = _json_list(item, k, where)
            if any(not isinstance(v, str) for v in values):
                raise ParseError(f"{where}: {k} holds a non-text value", source=KEY, file=JSON_FILE)
            # aliases are re-joined so the CSV's clean-up ("; and ", "a.k.a.") applies alike
            row[k] = (
                ["; ".join(values)] if k == "alt_names" else [c for v in values for c in split(v)]
            )
        row["addresses"] = [_json_address(a, where) for a in _json_list(item, "addresses", where)]
        row["ids"] = [_json_id(i, where) for i in _json_list(item, "ids", where)]
        for k in ("_id", "source", "name"):
            if not row[k]:
                raise ParseError(
                    f"{where} has no {k if k != '_id' else 'id'}", source=KEY, file=JSON_FILE
                )
        raw = {k: v for k, v in item.items()}
        raw.setdefault("start_date", row["start_date"])
        records.append(row_record(row, raw, f"{JSON_FILE} {where}", warnings))
    return finish(records, len(results), warnings)
