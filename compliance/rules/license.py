"""Does shipping this item to this destination and end user need a BIS license, and why.

Checks, each giving reasons with their CFR cite:
- embargoed destinations (Country Groups E:1/E:2, and Russia/Belarus under 15 CFR 746.8);
- 15 CFR 742.6(a)(6)(iii): 3A090 / 4A090 items to D:1, D:4, D:5 unless also A:5/A:6, and
  Macau; and, at any destination, to an end user headquartered (or whose ultimate parent is
  headquartered) in D:5 or Macau (744.23(a)(3) until 2025-01-12, 742.6(a)(6)(iii)(A) since);
- the dated rules of data/dated_rules.json (AI diffusion, the 2026 China review policy);
- the Entity List: the end user screened with the matching engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.engine import Engine

from compliance.countries import country_name, to_iso2
from compliance.rules.chips import Classification, classify_model
from compliance.rules.country_groups import CountryGroups, load_groups
from compliance.rules.dated import DatedRules, load_dated
from compliance.sources import federal_register
from compliance.sources.federal_register import ENTITY_LIST

EMBARGO_CITES = {"CU": "15 CFR 746.2", "IR": "15 CFR 746.7", "KP": "15 CFR 746.4",
                 "SY": "15 CFR 746.9"}  # fmt: skip
RUSSIA_BELARUS = {"RU", "BY"}
ADVANCED = ("3A090.a", "3A090.b", "3A090.c", "4A090.a", "4A090.b")


class LicenseInputError(ValueError):
    """Bad input to the license check (unknown destination, date out of range...)."""


@dataclass
class LicenseDecision:
    license_required: bool
    reasons: list[dict[str, Any]]  # each: cite, text, license_required, optional match/policy
    classification: Classification | None
    item: str = ""
    destination: str = ""
    on_date: str = ""
    end_user: str | None = None
    end_user_hq: str | None = None
    country_groups: str = ""  # where the country groups came from
    checks: list[str] = field(default_factory=list)  # what was checked, incl. what could not be

    def to_dict(self) -> dict[str, Any]:
        return {
            "license_required": self.license_required,
            "item": self.item,
            "destination": self.destination,
            "date": self.on_date,
            "end_user": self.end_user,
            "end_user_hq": self.end_user_hq,
            "eccn": self.classification.eccn if self.classification else None,
            "reasons": self.reasons,
            "classification": self.classification.to_dict() if self.classification else None,
            "country_groups": self.country_groups,
            "checks": self.checks,
        }


def _country(value: str, what: str) -> str:
    code = to_iso2(value)
    if code is None:
        raise LicenseInputError(f"unknown {what} {value!r}: give an ISO country code or name")
    return code


def _name(code: str) -> str:
    return f"{country_name(code)} ({code})"


def determine_license(
    item: str,
    destination: str,
    *,
    end_user: str | None = None,
    end_user_hq: str | None = None,
    on_date: date | None = None,
    engine: Engine | None = None,
    screener: Any = None,
) -> LicenseDecision:
    dated = load_dated()
    on = on_date or date.today()
    if on < dated.earliest:
        raise LicenseInputError(
            f"no rule data before {dated.earliest} (the current 3A090 regime took effect then); "
            f"got {on}"
        )
    classification = classify_model(item)  # UnknownModelError for an unknown model
    dest = _country(destination, "destination")
    hq = _country(end_user_hq, "end-user headquarters country") if end_user_hq else None
    groups = load_groups(engine)
    d = LicenseDecision(
        False, [], classification, item=classification.model or item, destination=dest,
        on_date=on.isoformat(), end_user=end_user, end_user_hq=hq,
        country_groups=groups.source,
    )  # fmt: skip
    _embargo(d, dest, groups)
    _advanced_computing(d, classification, dest, hq, on, groups, dated)
    if end_user:
        _entity_list(d, end_user, engine, screener)
    else:
        d.checks.append("Entity List: no end user given, not screened")
    d.license_required = any(r["license_required"] for r in d.reasons)
    return d


def _reason(d: LicenseDecision, cite: str, text: str, required: bool, **extra: Any) -> None:
    d.reasons.append({"cite": cite, "text": text, "license_required": required, **extra})


def _embargo(d: LicenseDecision, dest: str, groups: CountryGroups) -> None:
    embargo = groups.members("E:1") | groups.members("E:2")
    if dest in embargo:
        in_groups = ", ".join(g for g in ("E:1", "E:2") if dest in groups.members(g))
        _reason(
            d, EMBARGO_CITES.get(dest, "15 CFR part 746"),
            f"{_name(dest)} is an embargoed destination (Country Group {in_groups}): a license "
            "is required for virtually all items subject to the EAR, generally denied",
            True, policy="policy of denial",
        )  # fmt: skip
    elif dest in RUSSIA_BELARUS:
        _reason(
            d, "15 CFR 746.8(a)",
            f"{_name(dest)}: a license is required for all items on the Commerce Control List and "
            "for the EAR99 items of supplements no. 2 and 4 to part 746, which include computers "
            "and integrated circuits (HTS 8471, 8473, 8542)",
            True, policy="policy of denial (746.8(b))",
        )  # fmt: skip
    d.checks.append(f"embargo: {_name(dest)} checked against Country Groups E:1/E:2 and 746.8")


def _advanced_computing(
    d: LicenseDecision,
    c: Classification,
    dest: str,
    hq: str | None,
    on: date,
    groups: CountryGroups,
    dated: DatedRules,
) -> None:
    eccn = c.eccn
    if eccn == "3A090.c" and not dated.active("hbm-3a090c", on):
        hbm = dated.get("hbm-3a090c")
        d.checks.append(f"3A090.c did not exist on {on} (added {hbm.start} by {hbm.citation})")
        eccn = None
    if eccn not in ADVANCED:
        why = c.reasons[-1] if c.reasons else "not classified"
        _reason(
            d, "15 CFR 742.6(a)(6)(iii)",
            f"{c.model or 'item'} is not a 3A090/4A090 item ({why}): the advanced-computing "
            "license requirements do not apply",
            False,
        )  # fmt: skip
        return
    ai = dated.get("ai-diffusion")
    if ai.active(on) and eccn in ai.extra.get("applies_to", []):
        exempt = set(ai.extra.get("exempt_destinations", []))
        _reason(
            d, ai.cite,
            f"{eccn} under the AI Diffusion rule ({ai.citation}, in force {ai.start} to "
            f"{ai.end}): license required worldwide except the License Exception AIA "
            f"destinations; {_name(dest)} "
            + ("is one of them" if dest in exempt else "is not one of them"),
            dest not in exempt, rule=ai.id,
        )  # fmt: skip
    _destination_groups(d, c, eccn, dest, hq, on, groups, dated)
    _headquarters(d, eccn, hq, on, groups, dated)


def _destination_groups(
    d: LicenseDecision, c: Classification, eccn: str, dest: str, hq: str | None, on: date,
    groups: CountryGroups, dated: DatedRules,
) -> None:  # fmt: skip
    """742.6(a)(6)(iii): D:1, D:4 or D:5 destinations (unless also A:5 or A:6) and Macau."""
    d_groups = [g for g in ("D:1", "D:4", "D:5") if dest in groups.members(g)]
    a_groups = [g for g in ("A:5", "A:6") if dest in groups.members(g)]
    cite = "15 CFR 742.6(a)(6)(iii)"
    if dest == "MO" or (d_groups and not a_groups):
        where = "Macau" if dest == "MO" else f"in Country Group {', '.join(d_groups)}"
        policy = _review_policy(c, dest, hq, on, groups, dated)
        _reason(
            d, cite,
            f"{eccn} to {_name(dest)}, {where} and not in A:5 or A:6: a license is required "
            f"(country groups from {groups.source}). Review policy: {policy['policy']}",
            True, policy=policy["policy"], policy_cite=policy["cite"],
        )  # fmt: skip
    elif d_groups:
        _reason(
            d, cite,
            f"{_name(dest)} is in Country Group {', '.join(d_groups)} but also in "
            f"{', '.join(a_groups)}, which 742.6(a)(6)(iii) excludes: no license under it",
            False,
        )  # fmt: skip
    else:
        _reason(
            d, cite,
            f"{_name(dest)} is not in Country Group D:1, D:4 or D:5 nor Macau: no license "
            f"under it for {eccn}",
            False,
        )  # fmt: skip


def _headquarters(
    d: LicenseDecision, eccn: str, hq: str | None, on: date, groups: CountryGroups,
    dated: DatedRules,
) -> None:  # fmt: skip
    """An end user headquartered (or whose ultimate parent is) in D:5 or Macau, anywhere."""
    if hq is None:
        d.checks.append("end-user headquarters not given: the D:5/Macau headquarters rule "
                        "was not checked")  # fmt: skip
        return
    rule = dated.get("hq-d5-742.6" if dated.active("hq-d5-742.6", on) else "hq-d5-744.23")
    if hq in groups.members("D:5") | {"MO"}:
        _reason(
            d, rule.cite,
            f"the end user is headquartered (or has its ultimate parent) in {_name(hq)}, "
            f"{'Macau' if hq == 'MO' else 'Country Group D:5'}: a license is required for "
            f"{eccn} items wherever the end user is located. Review policy: presumption "
            "of denial",
            True, policy="presumption of denial", rule=rule.id,
        )  # fmt: skip
    else:
        d.checks.append(f"headquarters {_name(hq)} is not in D:5 or Macau ({rule.cite})")


def _review_policy(
    c: Classification, dest: str, hq: str | None, on: date, groups: CountryGroups,
    dated: DatedRules,
) -> dict[str, str]:  # fmt: skip
    if dest not in groups.members("D:5") and dest != "MO":
        return {"policy": "case-by-case", "cite": "15 CFR 742.6(b)(10)"}
    cbc = dated.get("china-case-by-case-2026")
    hq_d5 = hq is not None and (hq in groups.members("D:5") or hq == "MO")
    bw = c.memory_bandwidth_gbs
    if (
        cbc.active(on)
        and dest in cbc.extra.get("destinations", [])
        and c.tpp < cbc.extra["max_tpp"]
        and bw is not None
        and bw < cbc.extra["max_dram_bandwidth_gbs"]
        and not hq_d5
    ):
        return {
            "policy": f"case-by-case under {cbc.citation} (TPP {c.tpp:g} < "
            f"{cbc.extra['max_tpp']:,}, DRAM bandwidth {bw:g} GB/s < "
            f"{cbc.extra['max_dram_bandwidth_gbs']:,} GB/s), for exports from the United States "
            "and only if the exporter meets the rule's certifications (US availability and "
            "supply, no diversion of foundry capacity, recipient security, third-party testing "
            "in the US)",
            "cite": cbc.citation,
        }
    return {"policy": "presumption of denial", "cite": "15 CFR 742.6(b)(10)"}


def _on_entity_list(m: Any) -> bool:
    """On the Entity List as its sources declare it: the sub-list of a source that republishes
    it (the CSL), or the Federal Register rules that publish it."""
    if ENTITY_LIST.name in (m.sub_lists or []):
        return True
    sources = {m.source, *(s.get("source") for s in (m.sources or []))}
    return federal_register.KEY in sources


def _entity_list(d: LicenseDecision, end_user: str, engine: Engine | None, screener: Any) -> None:
    if screener is None:
        if engine is None:
            d.checks.append("Entity List: no list database given, end user not screened")
            _reason(d, "15 CFR 744.11; Supp. No. 4 to part 744",
                    f"end user {end_user!r} could not be screened against the Entity List "
                    "(no list database); screen it before shipping", False)  # fmt: skip
            return
        from compliance.screening import Screener

        screener = Screener.load(engine)
    from compliance.screening import Query

    result = screener.screen(Query(name=end_user))
    hits = [m for m in result.matches if _on_entity_list(m)]
    d.checks.append(
        f"Entity List: {end_user!r} screened, {len(hits)} Entity List match(es) of "
        f"{len(result.matches)} at threshold {result.threshold:g}"
    )
    # One reason per distinct license requirement and policy, naming every entry it applies
    # to: the Entity List repeats the same 400-character requirement for each address.
    groups: dict[tuple[str, str], list[Any]] = {}
    for m in hits:
        fields = m.fields or {}
        key = (fields.get("license_requirement") or "see the entry",
               fields.get("license_policy") or "see the entry")  # fmt: skip
        groups.setdefault(key, []).append(m)
    for (req, policy), matches in groups.items():
        _reason(
            d, "15 CFR 744.11; Supp. No. 4 to part 744",
            f"end user {end_user!r} matches {_entries_text(matches)}. License requirement: "
            f"{req.rstrip('.')}. Review policy: {policy}" + _listed_by(matches),
            True, policy=policy, match=matches[0].to_dict(),
            matches=[m.to_dict() for m in matches],
        )  # fmt: skip


def _notices(m: Any) -> list[str]:
    notice = (m.fields or {}).get("federal_register_notice") or ""
    return [n.strip() for n in str(notice).split(",") if n.strip()]


def _entries_text(matches: list[Any]) -> str:
    """`Entity List entry 'X' (score 100)`, or each listed name once with its entry count."""
    if len(matches) == 1:
        m = matches[0]
        return f"Entity List entry {m.name!r} (score {m.score:.0f})"
    names: dict[str, list[Any]] = {}
    for m in matches:
        names.setdefault(m.name, []).append(m)
    parts = []
    for name, ms in names.items():
        count = f"{len(ms)} entries, " if len(ms) > 1 else ""
        parts.append(f"{name!r} ({count}score {max(m.score for m in ms):.0f})")
    return f"{len(matches)} Entity List entries: " + ", ".join(parts)


def _listed_by(matches: list[Any]) -> str:
    notices = list(dict.fromkeys(n for m in matches for n in _notices(m)))
    return f". Listed by {', '.join(notices)}" if notices else ""
