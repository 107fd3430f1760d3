"""The product catalog (data/chip_catalog.csv) and fuzzy model-name lookup.

Throughput columns are dense (no sparsity) peak figures in the vendors' convention, TFLOPS or
TOPS counting a multiply-accumulate as two operations. Every row cites its public source.

Lookup normalises a name (vendor and brand words, memory sizes and "SXM5"-style form-factor
generations dropped, punctuation removed) and takes an exact alias hit; otherwise it accepts a
fuzzy hit only when the model numbers agree, so "H20" never turns into "H200" nor "H800" into
"H100". Anything else is an `UnknownModelError` carrying the closest entries.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources.abc import Traversable

from rapidfuzz import fuzz, process

from compliance.datafiles import data_file

CATALOG_FILE = data_file("chip_catalog.csv")

# Precision column -> bit length of the operation (3A090 Technical Note 1).
PRECISION_BITS: dict[str, int] = {
    "fp64": 64,
    "fp32": 32,
    "fp16": 16,
    "fp8": 8,
    "fp4": 4,
    "int8": 8,
    "int4": 4,
}
KINDS = ("ic", "system", "hbm")
COLUMNS = [
    "model", "aliases", "vendor", "kind", "datacenter", *PRECISION_BITS, "die_area_mm2",
    "memory_bandwidth_gbs", "package_area_mm2", "contains", "contains_count", "perf_source",
    "die_area_source", "notes",
]  # fmt: skip


class CatalogError(Exception):
    """The catalog file is damaged: names the file, line and field."""


class UnknownModelError(LookupError):
    def __init__(self, query: str, suggestions: list[str], reason: str = "") -> None:
        self.query = query
        self.suggestions = suggestions
        self.reason = reason or "not in the catalog"
        hint = (
            f"; did you mean {' or '.join(suggestions)}? Or give"
            if suggestions
            else "; no catalog entry has a similar name. Give"
        )
        super().__init__(
            f"unknown model {query!r} ({self.reason}){hint} the figures from its data sheet: "
            "compliance classify --tops T --bits B --die-area A (dense TOPS or TFLOPS, the bit "
            "length of that operation, the die area in mm2)"
        )


@dataclass(frozen=True)
class Product:
    model: str
    aliases: tuple[str, ...]
    vendor: str
    kind: str  # ic | system | hbm
    datacenter: bool
    throughput: dict[str, float] = field(hash=False)  # precision -> dense TFLOPS / TOPS
    die_area_mm2: float | None
    memory_bandwidth_gbs: float | None
    package_area_mm2: float | None
    contains: str | None
    contains_count: int | None
    perf_source: str
    die_area_source: str
    notes: str
    line: int


def _num(raw: dict[str, str], col: str, where: str) -> float | None:
    value = (raw.get(col) or "").strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise CatalogError(f"{where}: field {col!r} is not a number: {value!r}") from None
    if number <= 0 or number != number or number == float("inf"):
        raise CatalogError(f"{where}: field {col!r} must be a positive number, got {value!r}")
    return number


def parse_catalog(text: str, file: str = "chip_catalog.csv") -> list[Product]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames != COLUMNS:
        raise CatalogError(f"{file} line 1: header is not the catalog's {len(COLUMNS)} columns")
    out: list[Product] = []
    seen: dict[str, int] = {}
    for raw in reader:
        line = reader.line_num
        product = _product(raw, line, f"{file} line {line}")
        for name in (product.model, *product.aliases):
            key = normalize(name)
            if not key:
                raise CatalogError(f"{file} line {line}: name {name!r} has no model letters or "
                                   "digits")  # fmt: skip
            if key in seen and seen[key] != line:
                raise CatalogError(f"{file} line {line}: name {name!r} also used on line "
                                   f"{seen[key]}")  # fmt: skip
            seen[key] = line
        out.append(product)
    by_model = {p.model for p in out}
    for p in out:
        if p.contains and p.contains not in by_model:
            raise CatalogError(f"{file} line {p.line}: contains unknown model {p.contains!r}")
    return out


def _product(raw: dict[str, str], line: int, where: str) -> Product:
    """One catalog row, checked: every field present, the kind's figures given, a source cited."""
    if None in raw or any(v is None for v in raw.values()):
        raise CatalogError(f"{where}: wrong number of fields")
    model = raw["model"].strip()
    if not model:
        raise CatalogError(f"{where}: field 'model' is empty")
    kind = raw["kind"].strip()
    if kind not in KINDS:
        raise CatalogError(f"{where}: field 'kind' must be one of {KINDS}, got {kind!r}")
    if raw["datacenter"].strip() not in ("yes", "no"):
        raise CatalogError(f"{where}: field 'datacenter' must be yes or no")
    if not raw["perf_source"].strip():
        raise CatalogError(f"{where}: field 'perf_source' is empty (every row cites a source)")
    throughput = {p: v for p in PRECISION_BITS if (v := _num(raw, p, where)) is not None}
    count = _num(raw, "contains_count", where)
    if kind == "ic" and not throughput:
        raise CatalogError(f"{where}: an ic row needs at least one throughput figure")
    if kind == "system" and (not raw["contains"].strip() or not count):
        raise CatalogError(f"{where}: a system row needs 'contains' and 'contains_count'")
    if kind == "hbm" and (
        _num(raw, "memory_bandwidth_gbs", where) is None
        or _num(raw, "package_area_mm2", where) is None
    ):
        raise CatalogError(f"{where}: an hbm row needs memory bandwidth and package area")
    return Product(
        model=model,
        aliases=tuple(a.strip() for a in raw["aliases"].split(";") if a.strip()),
        vendor=raw["vendor"].strip(),
        kind=kind,
        datacenter=raw["datacenter"].strip() == "yes",
        throughput=throughput,
        die_area_mm2=_num(raw, "die_area_mm2", where),
        memory_bandwidth_gbs=_num(raw, "memory_bandwidth_gbs", where),
        package_area_mm2=_num(raw, "package_area_mm2", where),
        contains=raw["contains"].strip() or None,
        contains_count=int(count) if count else None,
        perf_source=raw["perf_source"].strip(),
        die_area_source=raw["die_area_source"].strip(),
        notes=raw["notes"].strip(),
        line=line,
    )


@lru_cache(maxsize=4)
def load_catalog(path: Traversable = CATALOG_FILE) -> tuple[Product, ...]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"cannot read the catalog {path}: {exc}") from None
    return tuple(parse_catalog(text, path.name))


_DROP_WORDS = re.compile(
    r"\b(nvidia|amd|intel|habana|huawei|geforce|radeon|instinct|tesla|tensor\s+core|gpu|"
    r"accelerator|sk\s+hynix|samsung|micron)\b"
)
_MEMORY = re.compile(r"\b\d+\s*gb\b|\bhbm\d?e?\b|\bgddr\d+x?\b")
_FORM_GEN = re.compile(r"\b(sxm)\d\b")


def normalize(name: str) -> str:
    """Lookup key: brand words, memory sizes/types and the SXM generation dropped, then
    everything but letters and digits removed ("NVIDIA H100-SXM5 80GB" -> "h100sxm")."""
    s = name.lower()
    s = _DROP_WORDS.sub(" ", s)
    s = _MEMORY.sub(" ", s)
    s = _FORM_GEN.sub(r"\1", s)
    return re.sub(r"[^a-z0-9]+", "", s)


def _numbers(key: str) -> list[str]:
    return re.findall(r"\d+", key)


@lru_cache(maxsize=4)
def _index(catalog: tuple[Product, ...]) -> dict[str, Product]:
    index: dict[str, Product] = {}
    for p in catalog:
        for name in (p.model, *p.aliases):
            index[normalize(name)] = p
    return index


def find_product(query: str, catalog: tuple[Product, ...] | None = None) -> Product:
    """The catalog entry `query` names; `UnknownModelError` with suggestions otherwise."""
    catalog = catalog if catalog is not None else load_catalog()
    index = _index(catalog)
    key = normalize(query)
    if not key:
        raise UnknownModelError(query, [], "empty model name")
    if key in index:
        return index[key]
    scored = process.extract(key, list(index), scorer=fuzz.WRatio, limit=None)
    suggestions = close_models(key, index)
    numbers = _numbers(key)
    plausible = [(c, s) for c, s, _ in scored if s >= 85 and numbers and _numbers(c) == numbers]
    if plausible:
        top = index[plausible[0][0]]
        others = [s for c, s in plausible if index[c].model != top.model]
        if not others or plausible[0][1] - others[0] >= 5:
            return top
        best = list(dict.fromkeys(index[c].model for c, _ in plausible))
        raise UnknownModelError(query, best[:5], "ambiguous: several catalog entries match")
    return _raise_unknown(query, suggestions[:5])


SUGGEST_MIN_RATIO = 65  # edit similarity (0-100) of two lookup keys, below which none is shown
FAMILY_MIN_RATIO = 65  # similarity of the letters alone ("rtx" / "rtx"), unless they start alike


def _letters(key: str) -> str:
    return re.sub(r"\d+", "", key)


def is_close(key: str, candidate: str) -> bool:
    """A name worth suggesting: close letter for letter, and of the same family (its letters
    start alike or mostly agree), so "gtx1080" never suggests "dgxh100" nor "corei7" "agxorin"."""
    if fuzz.ratio(key, candidate) < SUGGEST_MIN_RATIO:
        return False
    a, b = _letters(key), _letters(candidate)
    return (bool(a) and a[0] == b[:1]) or fuzz.ratio(a, b) >= FAMILY_MIN_RATIO


def close_models(key: str, index: dict[str, Product], limit: int = 5) -> list[str]:
    """The catalog models whose names are close to `key`, closest first; [] when none is."""
    ranked = process.extract(key, list(index), scorer=fuzz.ratio, limit=None)
    models = [index[c].model for c, _score, _ in ranked if is_close(key, c)]
    return list(dict.fromkeys(models))[:limit]


def _raise_unknown(query: str, suggestions: list[str]) -> Product:
    raise UnknownModelError(query, suggestions)
