"""More name variations for the evaluation (see variants.py): descriptor words, misspelt or
spaced legal forms, abbreviations, titles, split and joined words, short transliterated words,
nicknames, ordinals. Each takes a real listed name and a seeded `random.Random` and returns the
varied query or None when the kind does not apply. Pure functions, no I/O."""

from __future__ import annotations

import random
import re

from variants import _find_legal, _match_case, natural_order

_DESCRIPTORS = ("Group", "International", "Trading", "Holding", "Branch", "Company", "Enterprises")
_CITIES = ("Dubai", "Moscow", "Hong Kong", "Shanghai", "Tehran", "Istanbul", "Beijing", "Minsk")


def descriptor(name: str, rng: random.Random) -> str | None:
    """An organisation's name with a descriptor added: 'X Group', 'X Dubai Branch'."""
    if len(re.findall(r"[A-Za-z]{3,}", name)) < 1:
        return None
    word = rng.choice(_DESCRIPTORS)
    if word == "Branch":
        word = f"{rng.choice(_CITIES)} Branch"
    word = word.upper() if name.isupper() else word
    hit = _find_legal(name)
    if hit and rng.random() < 0.7:  # before the legal form: 'X Trading Co., Ltd.'
        start = hit[0]
        return f"{name[:start].rstrip(' ,')} {word} {name[start:]}"
    return f"{name.rstrip(' .,')} {word}"


_MISSPELT = {
    "LIMITED": ("LIMITD", "LIMTED", "LIMITTED", "LIMITEED"),
    "COMPANY": ("COMPNAY", "COMAPNY", "COMPANIE", "KOMPANIYA"),
    "CORPORATION": ("CORPORATON", "CORPRATION", "KORPORATSIYA"),
    "INCORPORATED": ("INCORPORATD", "INCORPERATED"),
    "OBSHCHESTVO": ("OBSCHESTVO", "OBSHESTVO", "OBCHESTVO"),
    "AKTSIONERNOE": ("AKCIONERNOE", "AKTSIONERNOYE"),
    "SOCIEDAD": ("SOSIEDAD", "SOCIEDA"),
    "ANONIMA": ("ANONYMA", "ANONIMO"),
    "GESELLSCHAFT": ("GESELSCHAFT", "GESELLSHAFT"),
}
_SPACED = {"SA DE CV": "s a de c v", "LLC": "L L C", "SA": "S. A.", "BV": "B V", "JSC": "J S C"}


def legal_form_misspelt(name: str, rng: random.Random) -> str | None:
    """The legal form misspelt, transliterated or spaced out: 'LIMITD', 's a de c v'."""
    squashed = re.sub(r"\b(?:[A-Za-z]\.){2,}", lambda m: m.group().replace(".", ""), name)
    hit = _find_legal(squashed)
    if hit is None:
        return None
    start, end, _ = hit
    phrase = squashed[start:end].upper().rstrip(".")
    words = re.findall(r"\w+", phrase)
    spots = [i for i, w in enumerate(words) if w in _MISSPELT]
    if " ".join(words) in _SPACED and (not spots or rng.random() < 0.5):
        new = _SPACED[" ".join(words)]
    elif spots:
        i = rng.choice(spots)
        words[i] = rng.choice(_MISSPELT[words[i]])
        new = " ".join(words)
    else:
        return None
    new = _match_case(squashed[start:end], new) if not new.islower() else new
    return re.sub(r"\s+", " ", squashed[:start] + new + squashed[end:]).strip()


_ABBREVIATIONS = {
    "INTERNATIONAL": ("INTL", "INT'L"),
    "CORPORATION": ("CORP",),
    "INSTITUTE": ("INST",),
    "COMPANY": ("CO",),
    "GROUP": ("GRP",),
    "TECHNOLOGY": ("TECH",),
    "TECHNOLOGIES": ("TECH", "TECHS"),
    "INDUSTRIES": ("INDS", "IND"),
    "INDUSTRIAL": ("INDL", "IND"),
    "TRADING": ("TRDG",),
    "ENGINEERING": ("ENGG", "ENG"),
    "MANUFACTURING": ("MFG",),
    "UNIVERSITY": ("UNIV",),
    "ELECTRONICS": ("ELEC",),
    "DEVELOPMENT": ("DEV",),
    "MANAGEMENT": ("MGMT",),
    "SERVICES": ("SVCS",),
    "ASSOCIATION": ("ASSN",),
    "DEPARTMENT": ("DEPT",),
    "BROTHERS": ("BROS",),
    "NATIONAL": ("NATL",),
}


def abbreviation(name: str, rng: random.Random) -> str | None:
    """A word abbreviated as people write it: International -> Intl, Corporation -> Corp."""
    spots = [m for m in re.finditer(r"[A-Za-z]+", name) if m.group().upper() in _ABBREVIATIONS]
    if not spots:
        return None
    m = rng.choice(spots)
    short = rng.choice(_ABBREVIATIONS[m.group().upper()])
    short = _match_case(m.group(), short) + rng.choice(["", "."])
    return name[: m.start()] + short + name[m.end() :]


_TITLES = ("Dr", "Dr.", "Sheikh", "Shaykh", "Gen.", "General", "Mr", "Mrs", "Col.", "Haji", "Prof.")


def title(name: str, rng: random.Random) -> str | None:
    """A person's name with a title in front: 'Dr Ayman al-Zawahiri', 'Sheikh ...'."""
    parts = natural_order(name)
    if len(parts) < 2:
        return None
    return f"{rng.choice(_TITLES)} {' '.join(parts)}"


_PREFIXES = ("ABDUL", "ABDEL", "ABD", "ABU", "AL", "EL", "BIN", "BEN", "NUR", "UL")


def split_join(name: str, rng: random.Random) -> str | None:
    """Words split or joined as transliterations do: 'Abdul Rahman' <-> 'Abdulrahman'."""
    words = name.split()
    joins = [
        i
        for i in range(len(words) - 1)
        if words[i].upper().strip(",-") in _PREFIXES and words[i + 1][:1].isalpha()
    ]
    splits = [
        (i, p)
        for i, w in enumerate(words)
        for p in _PREFIXES
        if w.upper().startswith(p) and len(w) >= len(p) + 4 and w[len(p)].isalpha()
    ]
    if joins and (not splits or rng.random() < 0.5):
        i = rng.choice(joins)
        joined = words[i].strip(",-") + words[i + 1].lower()
        return " ".join([*words[:i], _match_case(words[i], joined), *words[i + 2 :]])
    if splits:
        i, p = rng.choice(splits)
        w = words[i]
        return " ".join([*words[:i], w[: len(p)], w[len(p) :], *words[i + 1 :]])
    if "-" in name:  # 'AL-ASTAL' -> 'AL ASTAL' / 'ALASTAL'
        return name.replace("-", rng.choice([" ", ""]), 1)
    return None


_SHORT_RULES = (("KS", "X"), ("X", "KS"), ("W", "V"), ("V", "W"), ("C", "K"), ("K", "C"))


def short_translit(name: str, rng: random.Random) -> str | None:
    """A short word transliterated another way: REKS / REX, LAV / LAW, KOM / COM."""
    spots = [
        (m, a, b)
        for m in re.finditer(r"[A-Za-z]{3,5}", name)
        for a, b in _SHORT_RULES
        if a in m.group().upper()
    ]
    if not spots:
        return None
    m, a, b = rng.choice(spots)
    word = m.group().upper().replace(a, b, 1)
    return name[: m.start()] + _match_case(m.group(), word) + name[m.end() :]


_NICKNAMES = {
    "WILLIAM": ("BILL", "WILL"),
    "ROBERT": ("BOB", "ROB"),
    "RICHARD": ("DICK", "RICK"),
    "JAMES": ("JIM",),
    "JOSEPH": ("JOE",),
    "MICHAEL": ("MIKE",),
    "THOMAS": ("TOM",),
    "ALEXANDER": ("ALEX", "SASHA"),
    "ALEKSANDR": ("SASHA", "ALEX"),
    "VLADIMIR": ("VOVA",),
    "DMITRY": ("DIMA",),
    "DMITRIY": ("DIMA",),
    "MUHAMMAD": ("MOHD", "MD"),
    "MOHAMMED": ("MOHD",),
    "MOHAMMAD": ("MOHD",),
    "ABDULLAH": ("ABDULLA",),
    "CHRISTOPHER": ("CHRIS",),
    "DANIEL": ("DAN",),
    "EDWARD": ("ED", "TED"),
    "ANTHONY": ("TONY",),
}
_ORDINALS = {"II": ("2", "2ND", "SECOND"), "III": ("3", "3RD", "THIRD")}
_ORDINALS |= {"2": ("II",), "3": ("III",)}
_ORDINALS |= {"1": ("I", "FIRST"), "IV": ("4",), "4": ("IV",)}


def nickname_ordinal(name: str, rng: random.Random) -> str | None:
    """A given name as its nickname (William -> Bill, Muhammad -> Mohd) or a number written
    another way (II -> 2 -> Second)."""
    spots = [
        (m, table)
        for m in re.finditer(r"[A-Za-z0-9]+", name)
        for table in (_NICKNAMES, _ORDINALS)
        if m.group().upper() in table
    ]
    if not spots:
        return None
    m, table = rng.choice(spots)
    new = _match_case(m.group(), rng.choice(table[m.group().upper()]))
    return name[: m.start()] + new + name[m.end() :]
