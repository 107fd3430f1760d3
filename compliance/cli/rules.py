"""`compliance classify`, `compliance license` and `compliance rules` (US chip export rules).

Exit codes: 0 done (classify; license: no license needed; rules: thresholds verified), 1 license
required, 2 bad input, unknown model, or encoded thresholds that no longer match the scraped
regulation text, 3 (rules) thresholds not verified: no scraped 3A090 text, or it does not state
every threshold.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer

from compliance.cli.common import DbOption, OutputFormat, engine_for, fail, guarded, print_json
from compliance.cli.tables import (
    Col,
    echo_decision,
    fetched,
    print_table,
    sha256_short,
    shorten,
)
from compliance.rules.catalog import UnknownModelError
from compliance.rules.chips import Classification, classify_model, classify_spec
from compliance.rules.country_groups import load_groups
from compliance.rules.dated import load_dated
from compliance.rules.license import LicenseInputError, determine_license
from compliance.rules.regstore import current_sections, latest_changes
from compliance.rules.thresholds import ENCODED, check_text
from compliance.sources import ecfr, federal_register
from compliance.store.status import current_meta

LICENSE_REASON_WIDTH = 900  # a license reason is the answer itself: shortened only when huge
FormatOption = Annotated[OutputFormat, typer.Option("--format", help="table or json")]


def _guard_thresholds(db: str | None) -> None:
    """Refuse to classify when the stored 3A090 text states other thresholds than the code."""
    engine = engine_for(db)
    row = current_sections(engine).get("3A090")
    if row is None:
        return
    check = check_text(row.text)
    if not check.ok:
        fail(
            "the encoded 3A090 thresholds no longer match the regulation text of "
            f"{row.ecfr_date}: " + "; ".join(check.mismatches)
        )


def _print_classification(c: Classification) -> None:
    print_table(
        [Col("classification", wrap=False), Col("")],
        [
            ["model", c.model or "(figures given)"],
            ["ECCN", c.eccn or "none of 3A090/4A090 (not controlled by these entries)"],
            ["TPP", f"{c.tpp:g}" + (f" ({c.tpp_basis})" if c.tpp_basis else "")],
            ["PD", f"{c.pd:.3f}" if c.pd is not None else "unknown"],
            *[["why" if i == 0 else "", r] for i, r in enumerate(c.reasons)],
            *[["source" if i == 0 else "", s] for i, s in enumerate(c.sources)],
        ],
    )


def classify(
    model: Annotated[str | None, typer.Argument(help="Catalog model name (fuzzy).")] = None,
    tops: Annotated[float | None, typer.Option(help="Dense TOPS/TFLOPS (2 ops per MAC).")] = None,
    bits: Annotated[int | None, typer.Option(help="Bit length of that operation.")] = None,
    die_area: Annotated[float | None, typer.Option(help="Applicable die area, mm2.")] = None,
    datacenter: Annotated[
        bool, typer.Option("--datacenter/--no-datacenter", help="Designed/marketed for DCs.")
    ] = True,
    format: FormatOption = OutputFormat.table,
    db: DbOption = None,
) -> None:
    """Classify an accelerator under ECCN 3A090 / 4A090 (by model, or by its figures)."""
    if (model is None) == (tops is None):
        fail("give a MODEL or --tops T --bits B --die-area A (not both)")
    _guard_thresholds(db)
    try:
        if model is not None:
            c = classify_model(model)
        else:
            if tops is None or bits is None:
                fail("--bits is required with --tops")
            c = classify_spec(tops, bits, die_area, datacenter)
    except UnknownModelError as exc:
        fail(str(exc))
    except ValueError as exc:
        fail(str(exc))
    if format == OutputFormat.json:
        print_json(c.to_dict())
    else:
        _print_classification(c)


def license(  # noqa: A001 - the command's name
    item: Annotated[str, typer.Option("--item", help="Catalog model name (fuzzy).")],
    destination: Annotated[str, typer.Option("--destination", help="ISO code or name.")],
    end_user: Annotated[str | None, typer.Option("--end-user", help="End user name.")] = None,
    end_user_hq: Annotated[
        str | None, typer.Option("--end-user-hq", help="Country of the end user's HQ/parent.")
    ] = None,
    on: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default today).")] = None,
    format: FormatOption = OutputFormat.table,
    db: DbOption = None,
) -> None:
    """Is a BIS license required to ship ITEM to DESTINATION (and END_USER)? Exit 1 if so."""
    try:
        on_date = date.fromisoformat(on) if on else None
    except ValueError:
        fail(f"--date {on!r} is not YYYY-MM-DD")
    _guard_thresholds(db)
    engine = engine_for(db)
    try:
        d = determine_license(item, destination, end_user=end_user, end_user_hq=end_user_hq,
                              on_date=on_date, engine=engine)  # fmt: skip
    except (UnknownModelError, LicenseInputError) as exc:
        fail(str(exc))
    if format == OutputFormat.json:
        print_json(d.to_dict())
    else:
        eccn = d.classification.eccn if d.classification else None
        verdict = "LICENSE REQUIRED" if d.license_required else "no license required"
        echo_decision(
            "LICENSE_REQUIRED" if d.license_required else "CLEAR",
            f"{d.item} ({eccn or 'not 3A090/4A090'}) to {d.destination} on {d.on_date}: {verdict}",
        )
        print_table(
            [Col("license", wrap=False, decision=True), Col("cite"), Col("why")],
            [
                ["LICENSE_REQUIRED" if r["license_required"] else "CLEAR", r["cite"],
                 shorten(r["text"], LICENSE_REASON_WIDTH)]
                for r in d.reasons
            ],
        )  # fmt: skip
        for c in d.checks:
            typer.echo(f"  checked: {c}")
    raise typer.Exit(1 if d.license_required else 0)


EXIT_NOT_VERIFIED = 3
UPDATE_TEXTS = f"compliance update {ecfr.KEY}"  # scrapes the regulation texts
RULES_HELP = (
    "Thresholds in use, the regulation texts they were checked against, and what changed.\n\n"
    "Exit status: 0 the thresholds were verified against the scraped 3A090 text; "
    "2 that text states other thresholds; "
    f"3 NOT VERIFIED: no scraped text yet (run `{UPDATE_TEXTS}`) "
    "or it does not state every threshold."
)


def rules(format: FormatOption = OutputFormat.table, db: DbOption = None) -> None:
    """Thresholds in use, the regulation texts they were checked against, and what changed."""
    engine = engine_for(db)
    sections = current_sections(engine)
    row = sections.get("3A090")
    check = check_text(row.text) if row is not None else None
    groups = load_groups(engine)
    changes = latest_changes(engine)
    dated = load_dated()
    fr_rules = sorted(
        current_meta(engine, federal_register.KEY).get("documents", []),
        key=lambda d: d.get("publication_date") or "",
        reverse=True,
    )
    if format == OutputFormat.json:
        print_json({
            "federal_register_rules": fr_rules,
            "thresholds": ENCODED.to_dict(),
            "verified_against": (
                {"ecfr_date": row.ecfr_date, "amended_on": row.amended_on, **check.to_dict()}
                if row is not None and check is not None else None
            ),
            "sections": [
                {"key": s.key, "cite": s.cite, "ecfr_date": s.ecfr_date,
                 "amended_on": s.amended_on, "sha256": s.sha256,
                 "fetched_at": s.fetched_at.isoformat(timespec="seconds")}
                for s in sections.values()
            ],
            "changes": [c.__dict__ for c in changes],
            "country_groups": {"source": groups.source,
                               "groups": {g: sorted(m) for g, m in sorted(groups.groups.items())}},
            "dated_rules": [r.to_dict() for r in dated.rules],
        })  # fmt: skip
    else:
        _print_rules(row, check, sections, groups, dated, fr_rules, changes)
    if check is not None and not check.ok:
        for m in check.mismatches:
            typer.secho(f"error: {m}", err=True, fg=typer.colors.RED, bold=True)
        raise typer.Exit(2)
    if check is None or check.missing:
        typer.echo(
            "warning: the 3A090 thresholds are NOT VERIFIED against the regulation text "
            f"(exit status {EXIT_NOT_VERIFIED}); run `{UPDATE_TEXTS}`",
            err=True,
        )
        raise typer.Exit(EXIT_NOT_VERIFIED)


def _print_rules(
    row: Any, check: Any, sections: dict[str, Any], groups: Any, dated: Any,
    fr_rules: list[dict[str, Any]], changes: list[Any],
) -> None:  # fmt: skip
    print_table(
        [Col("threshold", wrap=False), Col("value", wrap=False, right=True)],
        [[k, f"{v:g}"] for k, v in ENCODED.to_dict().items()],
        title="3A090 thresholds used by the classifier",
    )
    if row is None or check is None:
        typer.echo(f"NOT VERIFIED: no scraped 3A090 text yet (run `{UPDATE_TEXTS}`)")
    elif check.ok:
        typer.echo(f"verified against the 3A090 text current as of {row.ecfr_date}"
                   + (f" (amended {row.amended_on})" if row.amended_on else ""))  # fmt: skip
    if check and check.missing:
        typer.echo(f"NOT VERIFIED: the text does not state {', '.join(check.missing)}")
    typer.echo("")
    if not sections:
        typer.echo(f"Regulation texts: none scraped yet (run `{UPDATE_TEXTS}`)")
    else:
        print_table(
            [Col("section"), Col("eCFR date", wrap=False), Col("amended", wrap=False),
             Col("fetched", wrap=False), Col("sha256", wrap=False)],
            [[s.cite, s.ecfr_date, s.amended_on or "?", fetched(s.fetched_at),
              sha256_short(s.sha256)] for s in sections.values()],
            title="Regulation texts",
        )  # fmt: skip
    typer.echo(f"\nCountry groups: {groups.source}\n")
    print_table(
        [Col("from", wrap=False), Col("until", wrap=False), Col("rule"), Col("citation")],
        [[r.start, r.end or "now", r.id, r.citation] for r in dated.rules],
        title="Dated rules",
    )
    if fr_rules:
        typer.echo("")
        print_table(
            [Col("published", wrap=False), Col("document", wrap=False), Col("type"),
             Col("citation"), Col("title"), Col("url")],
            [[d.get("publication_date") or "?", d.get("document_number"), d.get("type"),
              d.get("citation") or "", d.get("title"), d.get("html_url") or ""]
             for d in fr_rules],
            title="BIS documents in the Federal Register (last `compliance update`)",
        )  # fmt: skip
    if changes:
        typer.echo("\nCHANGED since the previous update:")
        for c in changes:
            typer.echo(f"  {c.summary()}")
            for line in c.diff:
                typer.echo(f"      {line}")


def register(app: typer.Typer) -> None:
    app.command()(guarded(classify))
    app.command()(guarded(license))
    app.command(help=RULES_HELP)(guarded(rules))
