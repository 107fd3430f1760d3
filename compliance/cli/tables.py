"""Tables and labels for every command's human output.

On a terminal a table is drawn with rich: cells wrap to the screen, decisions are coloured.
Piped or redirected, it is plain text: padded columns, one row per line, no ANSI codes, nothing
cut. Machine formats (--format json/jsonl/csv) never come through here.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import typer

ELLIPSIS = "…"
REASON_WIDTH = 300  # characters of a reason shown in a summary table

DECISION_STYLES = {
    "BLOCK": "bold red",
    "LICENSE_REQUIRED": "bold yellow",
    "REVIEW": "cyan",
    "CLEAR": "green",
    "ERROR": "bold magenta",
}


@dataclass(frozen=True)
class Col:
    header: str
    wrap: bool = True  # False: identifiers, dates, numbers stay on one line
    right: bool = False
    decision: bool = False  # cells are decisions: shown as labels, coloured on a terminal


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(file=sys.stderr if stderr else sys.stdout, highlight=False, soft_wrap=False)


def on_terminal() -> bool:
    """True when stdout is a terminal (or FORCE_COLOR asks for one): rich tables and colour."""
    return bool(_console().is_terminal)


def decision_label(decision: str) -> str:
    return decision.replace("_", " ")


def shorten(text: str, width: int = REASON_WIDTH) -> str:
    """`text` cut at a word boundary to at most `width` characters, ending in an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    cut = text[: width - 1]
    space = cut.rfind(" ")
    if space > width // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.(") + ELLIPSIS


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def print_table(
    columns: Sequence[Col | str], rows: Sequence[Sequence[Any]], title: str | None = None
) -> None:
    cols = [c if isinstance(c, Col) else Col(c) for c in columns]
    cells = [[_cell(v) for v in r] for r in rows]
    for r in cells:
        for i, c in enumerate(cols):
            if c.decision:
                r[i] = decision_label(r[i])
    if on_terminal():
        _rich_table(cols, cells, title)
    else:
        _plain_table(cols, cells, title)


def _rich_table(cols: list[Col], cells: list[list[str]], title: str | None) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    # a column empty in every row only takes room from the others
    keep = [i for i in range(len(cols)) if not cells or any(r[i] for r in cells)]
    table = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left", show_edge=False,
                  pad_edge=False, header_style="bold")  # fmt: skip
    for i in keep:
        c = cols[i]
        longest = max([len(c.header)] + [len(r[i]) for r in cells])
        table.add_column(
            c.header,
            no_wrap=not c.wrap,
            overflow="fold",
            justify="right" if c.right else "left",
            min_width=min(longest, 18) if c.wrap else None,
        )
    for r in cells:
        table.add_row(
            *(
                Text(r[i], style=DECISION_STYLES.get(r[i].replace(" ", "_"), ""))
                if cols[i].decision else Text(r[i])
                for i in keep
            )
        )  # fmt: skip
    _console().print(table)


def _plain_table(cols: list[Col], cells: list[list[str]], title: str | None) -> None:
    if title:
        typer.echo(title)
    split = [[v.split("\n") for v in r] for r in cells]  # a cell may hold several lines
    widths = [
        max([len(c.header)] + [len(part) for r in split for part in r[i]])
        for i, c in enumerate(cols)
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if c.right else v.ljust(w)
            for c, v, w in zip(cols, values, widths, strict=True)
        ]
        return "  ".join(parts).rstrip()

    typer.echo(line([c.header for c in cols]))
    rule = [*widths[:-1], max(len(cols[-1].header), min(widths[-1], 40))] if widths else []
    typer.echo("  ".join("-" * w for w in rule))  # a long last column: a short rule
    for r in split:
        for k in range(max(len(parts) for parts in r)):
            typer.echo(line([parts[k] if k < len(parts) else "" for parts in r]))


def echo_decision(decision: str, text: str, *, err: bool = False) -> None:
    """A line whose decision word is coloured on a terminal."""
    style = DECISION_STYLES.get(decision)
    if style and on_terminal() and not err:
        from rich.text import Text

        line = Text(text)
        label = decision_label(decision)
        start = text.find(label)
        if start >= 0:
            line.stylize(style, start, start + len(label))
        else:
            line.stylize(style)
        _console().print(line)
    else:
        typer.echo(text, err=err)


# ---- labels: the same words for the same things in every command ------------------------------

NOT_STATED = "not stated by the source"


def list_date_cell(data_date: Any) -> str:
    return str(data_date) if data_date else "not stated"


def fetched(fetched_at: Any) -> str:
    """When this tool downloaded the files ("2026-12-04 21:02 UTC")."""
    if not fetched_at:
        return ""
    text = fetched_at.isoformat() if hasattr(fetched_at, "isoformat") else str(fetched_at)
    text = text.replace("T", " ")
    if text.endswith("+00:00"):
        text = text[: -len("+00:00")]
        return text[:16] + " UTC"
    return text[:16]


def sha256_short(digest: Any, n: int = 12) -> str:
    return str(digest)[:n] if digest else ""


def snapshot_line(snap: dict[str, Any]) -> str:
    """`list date 2025-04-10, fetched 2026-12-04 21:03 UTC, sha256 33856c1ed6f0` for a snapshot."""
    date = snap.get("data_date")
    parts = [f"list date {date}" if date else f"list date: {NOT_STATED}"]
    if snap.get("fetched_at"):
        parts.append(f"fetched {fetched(snap['fetched_at'])}")
    if snap.get("sha256"):
        parts.append(f"sha256 {sha256_short(snap['sha256'], 16)}")
    return ", ".join(parts)


def display_list(match: Any) -> str:
    """The list(s) a match is on, as an officer names them ("CSL · Entity List"): the name its
    source's policy gives (`Match.list_name`), else the publisher's list names, else the key."""
    name = getattr(match, "list_name", None)
    if name:
        return str(name)
    lists = getattr(match, "lists", None) or []
    return "; ".join(dict.fromkeys(lists)) or str(getattr(match, "source", ""))
