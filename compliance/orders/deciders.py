"""Deciders for order checks: the options of a check, and a Decider holding everything a process
needs to decide lines (the screener, loaded once per process and list versions; the chip
rules; the accepted matches)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from compliance.orders.accept import load_acceptances
from compliance.orders.decide import Decider, ScoreThresholds
from compliance.orders.embargoes import load_embargoes
from compliance.store.db import get_engine, register_models

# The tables an order check writes or reads besides the store's: its own and the rules' texts.
TABLES = ("compliance.orders.models", "compliance.rules.models")


@dataclass
class CheckOptions:
    db_url: str
    mapping: dict[str, str] = field(default_factory=dict)
    thresholds: ScoreThresholds = field(default_factory=ScoreThresholds)
    on_date: date | None = None
    lists: list[str] | None = None
    workers: int = 1
    chunk: int = 200


def make_decider(opts: CheckOptions) -> Decider:
    """Everything a worker needs: the screener (loaded once), the chip rules, acceptances."""
    from compliance.screening import Query

    register_models(*TABLES)  # a library entry point: the database may be new
    engine = get_engine(opts.db_url)
    screener = _screener(opts.db_url, engine, opts.lists)
    review = opts.thresholds.review

    def screen(name: str, country: str) -> list[Any]:
        return list(
            screener.screen(
                Query(name, country=country or None), threshold=review, limit=10
            ).matches
        )

    from compliance.rules.catalog import UnknownModelError
    from compliance.rules.chips import classify_model
    from compliance.rules.license import determine_license
    from compliance.rules.regstore import current_sections

    def item_key(item: str) -> str:
        try:
            return f"model:{classify_model(item).model}"
        except Exception:
            return item.lower()

    # The rules read the country groups from the database only once the eCFR text is scraped;
    # until then they use their fallback, and a query per call would be wasted.
    scraped = "740 Supp. 1" in current_sections(engine)

    return Decider(
        screen,
        determine_license,
        UnknownModelError,
        thresholds=opts.thresholds,
        accepted=load_acceptances(engine),
        on_date=opts.on_date,
        mapping=opts.mapping,
        embargoes=load_embargoes(engine),
        license_kwargs={"engine": engine if scraped else None},
        item_key=item_key,
    )


_SCREENER: tuple[tuple[Any, ...], Any] | None = None


def use_screener(db_url: str, lists: list[str] | None, index_key: str, screener: Any) -> None:
    """Have this process's deciders use `screener` (already loaded, for the lists of
    `index_key`) instead of building another: the API shares its warm index so."""
    global _SCREENER
    _SCREENER = ((db_url, tuple(lists or ()), index_key), screener)


def _screener(db_url: str, engine: Any, lists: list[str] | None) -> Any:
    """One Screener per process, reused while the lists it indexes are unchanged."""
    global _SCREENER
    from compliance.matching.index import cache_key
    from compliance.screening import Screener

    key = (db_url, tuple(lists or ()), cache_key(engine)[0])
    if _SCREENER is None or _SCREENER[0] != key:
        _SCREENER = None  # free the old index before building the next
        _SCREENER = (key, Screener.load(engine, lists=lists))
    return _SCREENER[1]
