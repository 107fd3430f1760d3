"""The ECCN 3A090 thresholds as encoded, and a check of them against the scraped regulation text.

The classifier always uses `ENCODED`. `check_text` reads the numbers the current 3A090 text
states (Supplement No. 1 to part 774, as scraped from the eCFR) and reports every paragraph
whose numbers differ: a mismatch means the regulation changed and this code is out of date,
which the CLI shows as an error, never silently.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class EccnThresholds:
    a1_tpp: float = 4800  # 3A090.a.1: TPP >= 4800
    a2_tpp: float = 1600  # 3A090.a.2: TPP >= 1600 and PD >= 5.92
    a2_pd: float = 5.92
    b1_tpp_min: float = 2400  # 3A090.b.1: 2400 <= TPP < 4800 and 1.6 <= PD < 5.92
    b1_tpp_max: float = 4800
    b1_pd_min: float = 1.6
    b1_pd_max: float = 5.92
    b2_tpp: float = 1600  # 3A090.b.2: TPP >= 1600 and 3.2 <= PD < 5.92
    b2_pd_min: float = 3.2
    b2_pd_max: float = 5.92
    c_mbd: float = 2.0  # 3A090.c: HBM 'memory bandwidth density' > 2 GB/s/mm2
    note2_tpp: float = 4800  # Note 2: not 3A090 if not for datacenters and TPP < 4800

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


ENCODED = EccnThresholds()

# The paragraphs as the regulation words them (88 FR 73458, as amended by 89 FR 96790 for .c);
# quoted in the reasons of every classification.
PARAGRAPHS: dict[str, str] = {
    "3A090.a": "Integrated circuits having one or more digital processing units having either "
    "of the following:",
    "3A090.a.1": "A 'total processing performance' of 4800 or more; or",
    "3A090.a.2": "A 'total processing performance' of 1600 or more and a 'performance density' "
    "of 5.92 or more.",
    "3A090.b": "Integrated circuits having one or more digital processing units having either "
    "of the following:",
    "3A090.b.1": "A 'total processing performance' of 2400 or more and less than 4800 and a "
    "'performance density' of 1.6 or more and less than 5.92; or",
    "3A090.b.2": "A 'total processing performance' of 1600 or more and a 'performance density' "
    "of 3.2 or more and less than 5.92.",
    "3A090.c": "High bandwidth memory (HBM) having a 'memory bandwidth density' greater than "
    "2 gigabytes per second per square millimeter.",
    "3A090 Note 2": "3A090 does not apply to items that are not designed or marketed for use in "
    "datacenters and do not have a 'total processing performance' of 4800 or more.",
    "3A090 Technical Note 1": "'Total processing performance' ('TPP') is 2 x 'MacTOPS' x 'bit "
    "length of the operation', aggregated over all processing units on the integrated circuit.",
    "3A090 Technical Note 4": "'Performance density' is 'TPP' divided by 'applicable die area'. "
    "For purposes of 3A090, 'applicable die area' is measured in millimeters squared and "
    "includes all die area of logic dies manufactured with a process node that uses a "
    "non-planar transistor architecture.",
    "4A090.a": "Computers, 'electronic assemblies,' and 'components' containing integrated "
    "circuits, any of which meets or exceeds the limits specified in ECCN 3A090.a.",
    "4A090.b": "Computers, 'electronic assemblies,' and 'components' containing integrated "
    "circuits, any of which meets or exceeds the limits specified in ECCN 3A090.b.",
}

_Q = r"[`'‘’\"“”]*"
_TPP = rf"{_Q}total\s+processing\s+performance{_Q}(?:\s*\(\s*{_Q}TPP{_Q}\s*\))?"
_PD = rf"{_Q}performance\s+density{_Q}"
_N = r"(\d[\d,]*(?:\.\d+)?)"
_A = r"an?\s+"

# paragraph -> (pattern, names of the EccnThresholds fields its numbers map to, in order)
_PATTERNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "3A090.a.1": (rf"a\.1\.?\s*{_A}{_TPP}\s+of\s+{_N}\s+or\s+more", ("a1_tpp",)),
    "3A090.a.2": (
        rf"a\.2\.?\s*{_A}{_TPP}\s+of\s+{_N}\s+or\s+more\s+and\s+{_A}{_PD}\s+of\s+{_N}\s+or\s+more",
        ("a2_tpp", "a2_pd"),
    ),
    "3A090.b.1": (
        rf"b\.1\.?\s*{_A}{_TPP}\s+of\s+{_N}\s+or\s+more\s+and\s+less\s+than\s+{_N}\s+and\s+"
        rf"{_A}{_PD}\s+of\s+{_N}\s+or\s+more\s+and\s+less\s+than\s+{_N}",
        ("b1_tpp_min", "b1_tpp_max", "b1_pd_min", "b1_pd_max"),
    ),
    "3A090.b.2": (
        rf"b\.2\.?\s*{_A}{_TPP}\s+of\s+{_N}\s+or\s+more\s+and\s+{_A}{_PD}\s+of\s+{_N}\s+or\s+"
        rf"more\s+and\s+less\s+than\s+{_N}",
        ("b2_tpp", "b2_pd_min", "b2_pd_max"),
    ),
    "3A090.c": (
        rf"c\.\s*High[\s-]+bandwidth\s+memory.{{0,80}}?{_Q}memory\s+bandwidth\s+density{_Q}\s+"
        rf"greater\s+than\s+{_N}\s+(?:gigabytes?\s+per\s+second\s+per\s+square\s+millimet|GB/s)",
        ("c_mbd",),
    ),
    "3A090 Note 2": (
        rf"Note\s+2\s+to\s+3A090.{{0,160}}?not\s+designed\s+or\s+marketed\s+for\s+use\s+in\s+"
        rf"data\s*centers.{{0,80}}?{_TPP}\s+of\s+{_N}\s+or\s+more",
        ("note2_tpp",),
    ),
}


@dataclass
class TextCheck:
    """What the scraped 3A090 text states, compared with the encoded thresholds."""

    found: dict[str, dict[str, float]] = field(default_factory=dict)  # paragraph -> values
    mismatches: list[str] = field(default_factory=list)  # errors: the rule text differs
    missing: list[str] = field(default_factory=list)  # paragraphs the text does not state

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def to_dict(self) -> dict[str, object]:
        return {"found": self.found, "mismatches": self.mismatches, "missing": self.missing}


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def check_text(text: str, encoded: EccnThresholds = ENCODED) -> TextCheck:
    """Read each paragraph's numbers from the 3A090 text and compare them with `encoded`."""
    flat = re.sub(r"\s+", " ", text)
    result = TextCheck()
    for paragraph, (pattern, names) in _PATTERNS.items():
        m = re.search(pattern, flat, flags=re.IGNORECASE)
        if m is None:
            result.missing.append(paragraph)
            continue
        values = {name: _number(v) for name, v in zip(names, m.groups(), strict=True)}
        result.found[paragraph] = values
        for name, value in values.items():
            want = getattr(encoded, name)
            if abs(value - want) > 1e-9:
                result.mismatches.append(
                    f"{paragraph}: the regulation text says {value:g} where the encoded rule "
                    f"uses {want:g} ({name}); the classifier is out of date with the regulation"
                )
    return result
