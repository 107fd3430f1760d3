"""README's sources table names every source the code registers, with the official URL the code
fetches, and the decision a sure hit on it makes as the source's policy declares it."""

from __future__ import annotations

from pathlib import Path

import pytest

from compliance.sources import all_sources, ecfr

README = Path(__file__).resolve().parent.parent / "README.md"


def source_rows() -> dict[str, list[str]]:
    """`key` -> the cells of its row in the sources table."""
    text = README.read_text(encoding="utf-8")
    start = text.index("| source key |")
    rows: dict[str, list[str]] = {}
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0].strip("`")] = cells
    return rows


LISTS = all_sources()  # as registered when the tests are collected: the built-in lists
ALL = {*LISTS, ecfr.KEY}  # and the regulation texts


def test_every_registered_source_has_a_row_and_nothing_else_does() -> None:
    assert set(source_rows()) == ALL


@pytest.mark.parametrize("key", sorted(ALL))
def test_row_gives_the_official_url_format_and_meaning(key: str) -> None:
    _key, _who, urls, file_format, meaning, _mirror = source_rows()[key]
    files = ecfr.SOURCE.files if key == ecfr.KEY else LISTS[key].files
    first = files[0].url
    assert first.split("?")[0] in urls, f"{key}: README gives {urls!r}, the code fetches {first}"
    assert file_format, f"{key}: no format"
    if key == ecfr.KEY:
        assert "no hits" in meaning
        return
    policy = LISTS[key].policy
    decisions = {s.decision for s in policy.sub_lists} or {policy.decision}
    for decision in decisions:
        assert decision in meaning, f"{key}: {meaning!r} does not say {decision}"
