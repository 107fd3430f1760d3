"""Generate a realistic order file for `compliance check` benchmarks.

Customers and end users are real non-listed names from ../shared/data/reference (Forbes Global
2000 and S&P 500 companies, common forenames and surnames by country), ordered the way a
distributor's book is: a few big repeat customers and a long tail. About 1% of the lines name a
listed party (SDN, Denied Persons, Entity List... rows of the real CSL and DPL files) with the
variations real order entry produces: case, dropped or changed legal form, a typo, reordered
person names. Items are the chip catalog's models and aliases plus some unknown parts; the
destinations are ~90 countries, a few of them embargoed or named as a region.

    python benchmarks/gen_orders.py --lines 100000 --out /tmp/orders.csv [--seed 1]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import random
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
REFERENCE = DATA / "reference"
MIRROR = DATA / "mirror"
FIELDS = ["order_id", "customer", "customer_country", "end_user", "end_user_country",
          "end_user_hq", "destination", "item", "quantity"]  # fmt: skip
_CODES = (
    "US DE FR GB JP KR TW SG NL SE CH IT ES CA AU IN BR MX IL AE SA TR PL CZ AT BE DK FI NO IE"
    " PT GR HU RO BG HR SI SK LT LV EE NZ ZA EG MA NG KE AR CL CO PE VN TH MY ID PH PK BD LK KZ"
    " UZ AZ GE AM UA MD RS BA MK AL CN HK MO RU BY"
)
DESTINATIONS = [
    *_CODES.split(),
    "Germany",
    "United States",
    "China",
    "Hong Kong",
    "Japan",
    "Iran",
    "Cuba",
    "Syria",
    "North Korea",
    "Sevastopol, Crimea",
    "Donetsk",
    "Venezuela",
    "Myanmar",
]
UNKNOWN_ITEMS = ["USB-C cable 2m", "Xeon Gold 6338", "Rack rail kit", "Cat6 patch cord",
                 "Power supply 1600W", "NVMe SSD 3.84TB", "Service contract 3y"]  # fmt: skip
LEGAL = ["Ltd", "Ltd.", "Limited", "LLC", "Co., Ltd.", "GmbH", "S.A.", "Inc.", "JSC", "OOO", ""]


def _read(path: Path, **kw: str) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f, **kw))


def companies() -> list[tuple[str, str]]:
    """(name, country text as an ERP would hold it)."""
    out = [(r["Company"], r["Headquarters"]) for r in _read(REFERENCE /
           "forbes_global_2000_2025.csv")]  # fmt: skip
    out += [(r["Security"], "US") for r in _read(REFERENCE / "sp500_constituents.csv")]
    return out


def people(rng: random.Random, n: int) -> list[tuple[str, str]]:
    fore: dict[str, list[str]] = {}
    for r in _read(REFERENCE / "names_common_forenames_by_country.csv"):
        fore.setdefault(r["Country"], []).append(r["Romanized Name"])
    sur: dict[str, list[str]] = {}
    for r in _read(REFERENCE / "names_common_surnames_by_country.csv"):
        sur.setdefault(r["Country"], []).append(r["Romanized Name"])
    countries = sorted(set(fore) & set(sur))
    out = []
    for _ in range(n):
        c = rng.choice(countries)
        out.append((f"{rng.choice(fore[c])} {rng.choice(sur[c])}", c))
    return out


def listed() -> list[tuple[str, str, str]]:
    """(name, list, type) of real listed parties: CSL rows and the DPL."""
    out = []
    for r in _read(MIRROR / "us_trade_csl" / "consolidated.csv"):
        if r["name"].strip():
            out.append((r["name"].strip(), r["source"].split(" - ")[0], r["type"]))
    with (MIRROR / "us_bis_dpl" / "dpl.txt").open(encoding="utf-8", errors="replace") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            out.append((r["Name"].strip(), "Denied Persons List (DPL)", ""))
    return out


def vary(name: str, kind: str, rng: random.Random) -> str:
    """One realistic order-entry variation of a listed name."""
    choice = rng.randrange(6)
    if choice == 0:
        return name
    if choice == 1:
        return name.upper() if rng.random() < 0.5 else name.title()
    if choice == 2 and len(name) > 6:  # a typo: drop, double or swap a letter
        i = rng.randrange(1, len(name) - 2)
        op = rng.randrange(3)
        if op == 0:
            return name[:i] + name[i + 1 :]
        if op == 1:
            return name[:i] + name[i] + name[i:]
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    if choice == 3 and kind.lower() == "individual" and "," in name:
        last, _, first = name.partition(",")
        return f"{first.strip()} {last.strip()}"
    if choice == 4:
        base = re.sub(r"[,\s]+(co\.?,?\s*ltd\.?|ltd\.?|llc|inc\.?|jsc|ooo|gmbh|s\.a\.)$", "",
                      name, flags=re.IGNORECASE)  # fmt: skip
        return f"{base} {rng.choice(LEGAL)}".strip()
    return re.sub(r"\s+", " ", name.replace(".", "").replace(",", " "))


def catalog_items() -> list[str]:
    items = []
    for r in _read(ROOT / "data" / "chip_catalog.csv"):
        items.append(r["model"])
        items += [a for a in r["aliases"].split(";") if a]
    return items


def generate(lines: int, out: Path, seed: int = 1, listed_share: float = 0.01) -> dict[str, int]:
    rng = random.Random(seed)
    pool = companies() + people(rng, 3000)
    rng.shuffle(pool)
    # repeat customers and a long tail
    cum = list(itertools.accumulate(1 / (i + 1) ** 0.8 for i in range(len(pool))))
    bad = listed()
    items = catalog_items()
    stats = {"lines": 0, "listed_parties": 0}
    with out.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(FIELDS)
        for n in range(lines):
            cust, cust_c = rng.choices(pool, cum_weights=cum)[0]
            end, end_c, hq = "", "", ""
            if rng.random() < 0.5:
                end, end_c = rng.choices(pool, cum_weights=cum)[0]
                hq = end_c if rng.random() < 0.6 else ""
            if rng.random() < listed_share:
                name, _, kind = rng.choice(bad)
                stats["listed_parties"] += 1
                if end and rng.random() < 0.5:
                    end = vary(name, kind, rng)
                else:
                    cust = vary(name, kind, rng)
            r = rng.random()
            item = rng.choice(UNKNOWN_ITEMS) if r < 0.05 else ("" if r < 0.08 else
                                                               rng.choice(items))  # fmt: skip
            dest = rng.choice(DESTINATIONS)
            w.writerow([f"SO-{seed}-{n + 1:07d}", cust, cust_c, end, end_c, hq, dest, item,
                        rng.randint(1, 64)])  # fmt: skip
            stats["lines"] += 1
    return stats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=100_000)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--listed-share", type=float, default=0.01)
    a = ap.parse_args()
    print(generate(a.lines, a.out, a.seed, a.listed_share))


if __name__ == "__main__":
    main()
