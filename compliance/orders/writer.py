"""Result writers: every input column, then the decision, its reasons and the list dates.

CSV and XLSX cells that a spreadsheet would run as a formula (starting with = + - @ TAB CR)
are prefixed with a quote, so a hostile order file cannot smuggle a formula into the report.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from compliance.orders.reasons import LineResult, PartyReason, Reason
from compliance.policy import LICENSE_REQUIRED

OUTPUT_FORMATS = ("csv", "jsonl", "xlsx")
ADDED = ("line", "decision", "reasons", "lists_as_of")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 (and so XLSX) cannot hold.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class ResultWriter(Protocol):
    def write(self, result: LineResult) -> None: ...
    def close(self) -> None: ...


def escape_formula(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def output_format(path: str | Path, fmt: str | None = None) -> str:
    if fmt:
        if fmt not in OUTPUT_FORMATS:
            raise ValueError(f"unknown output format {fmt!r}; use {', '.join(OUTPUT_FORMATS)}")
        return fmt
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix in ("ndjson",):
        return "jsonl"
    if suffix not in OUTPUT_FORMATS:
        raise ValueError(
            f"cannot tell the output format from {Path(path).name!r}; "
            f"use a .csv, .jsonl or .xlsx name or --output-format"
        )
    return suffix


def output_columns(input_columns: Sequence[str]) -> list[str]:
    """Input columns, then ours; ours get a `check_` prefix if the input already uses the name."""
    taken = set(input_columns)
    return [*input_columns, *[c if c not in taken else f"check_{c}" for c in ADDED]]


@dataclass
class MergedReason:
    """Reasons of one line that say the same thing, as one: the text names every role and entry
    it applies to; `count` says how many reasons it stands for."""

    decision: str
    text: str
    count: int
    entries: list[str]


def merge_reasons(reasons: Sequence[Reason]) -> list[MergedReason]:
    """The reasons of one line with each text once, naming every match it applies to.

    A party matching three entries of one listing, or the same party as customer and end user,
    gives reasons that differ only in the role and the entry id: they become one reason whose
    text names every role and entry ("customer, end_user 'X' matches L:1, L:2 ..."). A license
    requirement already quoted in full by an earlier reason of the line is not quoted again:
    "license requirement and policy as for L:1"."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for r in reasons:
        role = r.role if isinstance(r, PartyReason) else None
        party = r.party if isinstance(r, PartyReason) else None
        entry = r.entry if isinstance(r, PartyReason) else None
        who = f"{role} {party!r}" if role and party is not None else None
        template = r.text
        if who and who in template:
            template = template.replace(who, "\0WHO", 1)
        if entry and entry in template:
            template = template.replace(entry, "\0ENTRY", 1)
        m = merged.setdefault(
            (template, str(party)),
            {"decision": r.decision, "template": template, "party": party, "roles": [],
             "entries": [], "count": 0, "requirement": _requirement(r)},
        )  # fmt: skip
        m["count"] += 1
        if role and role not in m["roles"]:
            m["roles"].append(role)
        if entry and entry not in m["entries"]:
            m["entries"].append(entry)
    out = []
    quoted: dict[str, str] = {}  # a license requirement's text -> the entries first quoting it
    for m in merged.values():
        text = m["template"]
        if "\0WHO" in text:
            text = text.replace("\0WHO", f"{', '.join(m['roles'])} {m['party']!r}")
        entries = ", ".join(m["entries"])
        if "\0ENTRY" in text:
            text = text.replace("\0ENTRY", entries)
        if m["requirement"]:
            if m["requirement"] in quoted:
                text = text.replace(
                    m["requirement"],
                    f"license requirement and policy as for {quoted[m['requirement']]}",
                    1,
                )
            else:
                quoted[m["requirement"]] = entries
        out.append(MergedReason(m["decision"], text, m["count"], m["entries"]))
    return out


def _requirement(r: Reason) -> str:
    """The license requirement and review policy as a reason's text quotes them, if it does."""
    if isinstance(r, PartyReason) and r.decision == LICENSE_REQUIRED:
        quote = (
            f"license requirement: {r.license_requirement or 'n/a'}"
            f"; review policy: {r.license_policy or 'n/a'}"
        )
        return quote if quote in r.text else ""
    return ""


def reasons_text(reasons: Sequence[Reason]) -> str:
    """The reasons of a line as one cell: each text once (see merge_reasons), in full."""
    return " | ".join(r.text for r in merge_reasons(reasons))


def lists_as_of_text(lists_as_of: dict[str, str | None]) -> str:
    return "; ".join(f"{k} {v or 'undated'}" for k, v in sorted(lists_as_of.items()))


def _row(result: LineResult, columns: Sequence[str], as_of: str) -> list[str]:
    cells = [result.values.get(c, "") for c in columns]
    return [*cells, str(result.line), result.decision, reasons_text(result.reasons), as_of]


class CsvWriter:
    def __init__(self, path: Path, columns: Sequence[str], lists_as_of: dict[str, str | None]):
        self._f: IO[str] = path.open("w", encoding="utf-8", newline="")
        self._w = csv.writer(self._f)
        self._cols = list(columns)
        self._as_of = lists_as_of_text(lists_as_of)
        self._w.writerow([escape_formula(c) for c in output_columns(columns)])

    def write(self, result: LineResult) -> None:
        self._w.writerow([escape_formula(c) for c in _row(result, self._cols, self._as_of)])

    def close(self) -> None:
        self._f.close()


class JsonlWriter:
    """One object per line: the input columns as keys, then line, decision, reasons (a list of
    objects), lists_as_of (source -> date). Values are kept verbatim: JSON is not a spreadsheet."""

    def __init__(self, path: Path, columns: Sequence[str], lists_as_of: dict[str, str | None]):
        self._f: IO[str] = path.open("w", encoding="utf-8")
        self._cols = list(columns)
        self._names = output_columns(columns)[len(columns) :]
        self._as_of = dict(sorted(lists_as_of.items()))

    def write(self, result: LineResult) -> None:
        obj: dict[str, Any] = {c: result.values.get(c, "") for c in self._cols}
        for name, value in zip(
            self._names,
            (result.line, result.decision, result.reasons_dicts(), self._as_of),
            strict=True,
        ):
            obj[name] = value
        self._f.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")

    def close(self) -> None:
        self._f.close()


class XlsxWriter:
    def __init__(self, path: Path, columns: Sequence[str], lists_as_of: dict[str, str | None]):
        from openpyxl import Workbook

        self._path = path
        self._wb = Workbook(write_only=True)
        self._ws = self._wb.create_sheet("decisions")
        self._cols = list(columns)
        self._as_of = lists_as_of_text(lists_as_of)
        self._ws.append([self._cell(c) for c in output_columns(columns)])

    @staticmethod
    def _cell(text: str) -> str:
        # 32,767 characters is Excel's cell limit
        return escape_formula(_XML_ILLEGAL.sub("\ufffd", text))[:32767]

    def write(self, result: LineResult) -> None:
        self._ws.append([self._cell(c) for c in _row(result, self._cols, self._as_of)])

    def close(self) -> None:
        self._wb.save(self._path)


def open_writer(
    path: str | Path,
    columns: Sequence[str],
    lists_as_of: dict[str, str | None],
    fmt: str | None = None,
) -> ResultWriter:
    p = Path(path)
    kind = output_format(p, fmt)
    writers: dict[str, Callable[..., ResultWriter]] = {
        "csv": CsvWriter, "jsonl": JsonlWriter, "xlsx": XlsxWriter
    }  # fmt: skip
    return writers[kind](p, columns, lists_as_of)
