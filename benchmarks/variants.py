"""Name variations for the screening evaluation: each function takes a real listed name and a
seeded `random.Random` and returns the kind of variation a real query would show, or None when the
kind does not apply to that name. Pure functions, no I/O."""

from __future__ import annotations

import random
import re
import unicodedata

from anyascii import anyascii

# ---------------------------------------------------------------- helpers

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_ABBREV = re.compile(r"\b(?:[A-Za-z]\.){2,}")  # L.L.C. S.A. B.V.


def is_latin(text: str) -> bool:
    return all(not c.isalpha() or ord(c) < 0x250 for c in text)


def letters(text: str) -> int:
    return sum(c.isalpha() for c in text)


def _match_case(template: str, text: str) -> str:
    if template.isupper():
        return text.upper()
    if template.islower():
        return text.lower()
    if template[:1].isupper():
        return text[:1].upper() + text[1:].lower()
    return text


def natural_order(name: str) -> list[str]:
    """'PUTIN, Vladimir Vladimirovich' -> ['Vladimir', 'Vladimirovich', 'PUTIN']."""
    if name.count(",") == 1:
        last, first = (p.strip() for p in name.split(","))
        return first.split() + last.split()
    return name.replace(",", " ").split()


def norm_key(text: str, strip_legal: bool = True) -> str:
    """Order-insensitive comparison key used to link duplicates and exclude listed negatives."""
    text = _ABBREV.sub(lambda m: m.group().replace(".", ""), anyascii(text))
    tokens = re.sub(r"[^a-z0-9]+", " ", text.lower()).split()
    if strip_legal:
        tokens = [t for t in tokens if t not in LEGAL_TOKENS] or tokens
    return " ".join(sorted(tokens))


# ---------------------------------------------------------------- case / punctuation / diacritics

_ACCENT = {"a": "á", "e": "é", "i": "í", "o": "ö", "u": "ü", "c": "ç", "n": "ñ", "s": "š", "z": "ž"}


def case_punct(name: str, rng: random.Random) -> str | None:
    style = rng.choice(["lower", "title", "upper", "swap"])
    out = {
        "lower": name.lower(),
        "title": name.title(),
        "upper": name.upper(),
        "swap": name.swapcase(),
    }[style]
    op = rng.choice(["strip_punct", "add_punct", "diacritics"])
    if op == "strip_punct" and re.search(r"[^\w\s]", out):
        out = re.sub(r"\s+", " ", re.sub(r"[^\w\s]", rng.choice(["", " "]), out)).strip()
    elif op == "add_punct" and " " in out:
        words = out.split(" ")
        i = rng.randrange(len(words) - 1)
        words[i] = words[i] + rng.choice([",", ".", " -", "-"])
        out = " ".join(words).replace("- ", "-")
    else:
        plain = "".join(
            c for c in unicodedata.normalize("NFKD", out) if not unicodedata.combining(c)
        )
        if plain != out:
            out = plain
        else:
            spots = [i for i, c in enumerate(out) if c.lower() in _ACCENT]
            for i in rng.sample(spots, min(len(spots), rng.choice([1, 2]))):
                accented = _ACCENT[out[i].lower()]
                out = out[:i] + (accented.upper() if out[i].isupper() else accented) + out[i + 1 :]
    return out if out != name and out.strip() else None


# ---------------------------------------------------------------- typos

_ALPHA = "abcdefghijklmnopqrstuvwxyz"


def _edit(word: str, rng: random.Random) -> str:
    upper = word.isupper()
    pos = rng.randrange(len(word))
    ch = rng.choice(_ALPHA)
    ch = ch.upper() if upper else ch
    op = rng.choice(["sub", "del", "ins", "swap"])
    if op == "sub":
        while ch.lower() == word[pos].lower():
            ch = rng.choice(_ALPHA)
            ch = ch.upper() if upper else ch
        return word[:pos] + ch + word[pos + 1 :]
    if op == "del":
        return word[:pos] + word[pos + 1 :]
    if op == "ins":
        return word[:pos] + ch + word[pos:]
    if pos == len(word) - 1:
        pos -= 1
    if word[pos] == word[pos + 1]:
        return word[:pos] + ch + word[pos + 1 :]
    return word[:pos] + word[pos + 1] + word[pos] + word[pos + 2 :]


def typos(name: str, rng: random.Random, count: int) -> str | None:
    spans = [m.span() for m in _WORD.finditer(name) if len(m.group()) >= 4]
    if not spans:
        return None
    if len(spans) >= count:
        chosen = rng.sample(spans, count)
    elif spans[0][1] - spans[0][0] >= 7:
        chosen = [spans[0]] * count
    else:
        return None
    out = name
    for start, end in sorted(set(chosen), reverse=True):
        word = out[start:end]
        for _ in range(chosen.count((start, end))):
            word = _edit(word, rng)
        out = out[:start] + word + out[end:]
    return out if out.lower() != name.lower() else None


# ---------------------------------------------------------------- word order, missing parts


def word_order(name: str, rng: random.Random) -> str | None:
    parts = natural_order(name)
    if len(parts) < 2:
        return None
    if "," in name:
        return " ".join(parts)  # 'PUTIN, Vladimir' -> 'Vladimir PUTIN'
    style = rng.choice(["last_first", "last_comma_first", "shuffle"])
    if style == "shuffle" and len(parts) >= 3:
        shuffled = parts[:]
        while shuffled == parts:
            rng.shuffle(shuffled)
        return " ".join(shuffled)
    rest = " ".join(parts[:-1])
    return f"{parts[-1]}, {rest}" if style == "last_comma_first" else f"{parts[-1]} {rest}"


def missing_middle(name: str, rng: random.Random) -> str | None:
    """Drop a middle name, or shorten middle names (or, in three-part 'SURNAME, Given Middle'
    names, the given names too) to initials: 'Vladimir PUTIN', 'Vladimir V. PUTIN', 'V. V. PUTIN'.
    """
    parts = natural_order(name)
    if len(parts) < 3 or any(len(p) < 2 for p in (parts[0], parts[-1])):
        return None
    middle = list(range(1, len(parts) - 1))
    styles = ["drop", "drop", "initial"] + (
        ["first_initial"] if len(parts) == 3 and "," in name else []
    )
    style = rng.choice(styles)
    out = parts[:]
    if style == "drop":
        del out[rng.choice(middle)]
    elif style == "initial":
        for i in middle if len(middle) <= 2 else [rng.choice(middle)]:
            out[i] = out[i][0] + "."
    else:
        out[0], out[1] = out[0][0] + ".", out[1][0] + "."
    return " ".join(out)


# ---------------------------------------------------------------- legal forms

LEGAL_CLASSES: tuple[tuple[tuple[str, ...], ...], ...] = (
    (("CO", "LTD"), ("COMPANY", "LIMITED"), ("CO", "LIMITED"), ("COMPANY", "LTD")),
    (("LTD",), ("LIMITED",)),
    (
        ("LLC",),
        ("LIMITED", "LIABILITY", "COMPANY"),
        ("OOO",),
        ("OBSHCHESTVO", "S", "OGRANICHENNOY", "OTVETSTVENNOSTYU"),
    ),
    (("JSC",), ("JOINT", "STOCK", "COMPANY"), ("AO",), ("AKTSIONERNOE", "OBSHCHESTVO")),
    (("PJSC",), ("PUBLIC", "JOINT", "STOCK", "COMPANY"), ("PAO",)),
    (("OJSC",), ("OPEN", "JOINT", "STOCK", "COMPANY"), ("OAO",)),
    (("CJSC",), ("CLOSED", "JOINT", "STOCK", "COMPANY"), ("ZAO",)),
    (("GMBH",), ("GESELLSCHAFT", "MIT", "BESCHRANKTER", "HAFTUNG")),
    (("SA", "DE", "CV"), ("SOCIEDAD", "ANONIMA", "DE", "CAPITAL", "VARIABLE")),
    (("SA",), ("SOCIEDAD", "ANONIMA"), ("SOCIETE", "ANONYME")),
    (("BV",), ("BESLOTEN", "VENNOOTSCHAP")),
    (("INC",), ("INCORPORATED",)),
    (("CORP",), ("CORPORATION",)),
    (("PLC",), ("PUBLIC", "LIMITED", "COMPANY")),
    (("LLP",), ("LIMITED", "LIABILITY", "PARTNERSHIP")),
    (("FZE",), ("FREE", "ZONE", "ESTABLISHMENT")),
    (("FZCO",), ("FREE", "ZONE", "COMPANY")),
)
LEGAL_TOKENS = frozenset(
    t.lower() for cls in LEGAL_CLASSES for phrase in cls for t in phrase if len(t) > 1
) | {"co", "company", "ag", "nv", "srl", "spa", "sas", "kg", "sarl", "pte", "pvt", "bhd", "sdn"}
_APPENDED = ("LTD", "LLC", "Co., Ltd.", "GmbH", "S.A.", "Inc.", "JSC", "Limited", "B.V.")
_RENDER = {("CO", "LTD"): ["Co., Ltd.", "CO LTD", "Co. Ltd"], ("SA",): ["S.A.", "SA"]}
_RENDER |= {
    ("BV",): ["B.V.", "BV"],
    ("LLC",): ["LLC", "L.L.C."],
    ("SA", "DE", "CV"): ["S.A. de C.V."],
}


def _find_legal(name: str) -> tuple[int, int, int] | None:
    """(start, end, class index) of the last legal-form phrase in `name`, if any."""
    words = [(m.group().upper(), m.start(), m.end()) for m in re.finditer(r"\w+", name)]
    found = None
    for ci, cls in enumerate(LEGAL_CLASSES):
        for phrase in sorted(cls, key=len, reverse=True):
            n = len(phrase)
            for i in range(len(words) - n + 1):
                if tuple(w for w, _, _ in words[i : i + n]) == phrase:
                    start, end = words[i][1], words[i + n - 1][2]
                    if end < len(name) and name[end] == ".":
                        end += 1
                    if found is None or end > found[1] or (end == found[1] and start < found[0]):
                        found = (start, end, ci)
    return found


def legal_form(name: str, rng: random.Random) -> str | None:
    """Swap the legal form for an equivalent one; add one when the listing has none."""
    squashed = _ABBREV.sub(lambda m: m.group().replace(".", ""), name)
    hit = _find_legal(squashed)
    if hit is None:
        if len(_WORD.findall(name)) < 1:
            return None
        return f"{name.rstrip(' .,')} {rng.choice(_APPENDED)}"
    start, end, ci = hit
    current = tuple(re.findall(r"\w+", squashed[start:end].upper()))
    options = [p for p in LEGAL_CLASSES[ci] if p != current]
    phrase = rng.choice(options)
    text = rng.choice(_RENDER.get(phrase, [" ".join(phrase)]))
    template = squashed[start:end]
    if text.isupper() and not template.isupper():
        text = text if len(phrase[0]) <= 4 and len(phrase) == 1 else text.title()
    out = squashed[:start] + text + squashed[end:]
    return re.sub(r"\s+", " ", out).strip()


def legal_form_drop(name: str, rng: random.Random) -> str | None:
    squashed = _ABBREV.sub(lambda m: m.group().replace(".", ""), name)
    hit = _find_legal(squashed)
    if hit is None:
        return None
    start, end, _ = hit
    out = squashed[:start] + " " + squashed[end:]
    out = re.sub(r"\s+", " ", re.sub(r'["“”«»]', " ", out)).strip(" ,.-()")
    out = re.sub(r"\s*,\s*,", ",", out)
    if sum(len(w) >= 3 for w in _WORD.findall(out)) < 1 or letters(out) < 4:
        return None
    return out


# ---------------------------------------------------------------- transliteration variants

_WORD_CLASSES: tuple[tuple[str, ...], ...] = (
    ("MOHAMMED", "MUHAMMAD", "MOHAMMAD", "MOHAMED", "MUHAMMED", "MOHAMAD", "MUHAMAD"),
    ("AHMED", "AHMAD"),
    ("MAHMOUD", "MAHMUD", "MAHMOOD"),
    ("YEVGENIY", "EVGENY", "EVGENIY", "YEVGENY", "EVGENII"),
    ("ALEKSANDR", "ALEXANDER", "ALEXANDR"),
    ("ALEKSEY", "ALEXEI", "ALEXEY", "ALEKSEI"),
    ("SERGEY", "SERGEI", "SERGUEI"),
    ("YURIY", "YURI", "IURII", "YURY"),
    ("DMITRIY", "DMITRY", "DMITRI"),
    ("ANDREY", "ANDREI"),
    ("NIKOLAY", "NIKOLAI"),
    ("MIKHAIL", "MICHAIL"),
    ("VALERIY", "VALERY"),
    ("ANATOLIY", "ANATOLY"),
    ("GENNADIY", "GENNADY"),
    ("VITALIY", "VITALY"),
    ("YULIYA", "YULIA", "IULIIA"),
    ("TATYANA", "TATIANA"),
    ("NATALYA", "NATALIA"),
    ("YOUSSEF", "YOUSEF", "YUSUF", "YOUSUF"),
    ("HUSSEIN", "HUSSAIN", "HUSAYN", "HOSSEIN"),
    ("HASSAN", "HASAN"),
    ("OSAMA", "USAMA"),
    ("QASIM", "KASIM", "QASEM"),
    ("KHALID", "KHALED"),
    ("SAID", "SAEED", "SAYED"),
    ("OMAR", "UMAR"),
    ("OTHMAN", "UTHMAN", "OSMAN"),
    ("ABU", "ABOU"),
    ("IBRAHIM", "EBRAHIM"),
    ("ISMAIL", "ISMAEL", "ESMAIL"),
    ("FAISAL", "FAYSAL", "FEISAL"),
    ("ABDULLAH", "ABDALLAH", "ABDULLA"),
    ("PAK", "PARK"),
    ("RI", "LEE", "YI"),
    ("CHOL", "CHEOL"),
)
_WORD_VARIANTS = {w: cls for cls in _WORD_CLASSES for w in cls}
# also ordinary words in company names ("LAKHTA PARK"): varied in person names only
_PERSONAL = frozenset({"PAK", "PARK", "RI", "LEE", "YI", "CHOL", "CHEOL", "SAID", "ABU", "ABOU"})

# (pattern, replacement) on upper-case text, applied at one position
_RULES: tuple[tuple[str, str], ...] = (
    (r"KH", "H"),
    (r"KH", "CH"),
    (r"(?<=[BCDFGHJKLMNPRSTVZ])OU", "U"),
    (r"(?<=[BCDFGJKLMNPRSTVZ])U(?=[BCDFGKLMNPRSTVZ])", "OU"),
    (r"IY\b", "I"),
    (r"(?<=[AEO])Y\b", "I"),
    (r"\bYE", "E"),
    (r"\bE(?=[VLK])", "YE"),
    (r"YU", "IU"),
    (r"YA", "IA"),
    (r"(?<=[BCDFGKLMNPRSTVZ])IA", "YA"),
    (r"EE", "I"),
    (r"OO", "U"),
    (r"Q", "K"),
    (r"DZH", "J"),
    (r"ZH", "J"),
    (r"W", "V"),
    (r"PH", "F"),
    (r"TS", "TZ"),
    (r"EI", "EY"),
    (r"AI", "AY"),
    (r"OV\b", "OFF"),
    (r"\bAL-", "EL-"),
    (r"\bABD AL-?", "ABDUL "),
    (r"\bABDUL ", "ABD AL-"),
    (r"\bABDEL", "ABDUL"),
    (r"SH", "SCH"),
)


def translit(name: str, rng: random.Random, rules: bool = True) -> str | None:
    """Swap a known name for another romanisation, else apply one spelling rule (if `rules`)."""
    words = list(re.finditer(r"[A-Za-z]+", name))
    known = [
        m
        for m in words
        if m.group().upper() in _WORD_VARIANTS and (rules or m.group().upper() not in _PERSONAL)
    ]
    if known and (rng.random() < 0.8 or not rules):
        m = rng.choice(known)
        options = [w for w in _WORD_VARIANTS[m.group().upper()] if w != m.group().upper()]
        new = _match_case(m.group(), rng.choice(options))
        return name[: m.start()] + new + name[m.end() :]
    upper = name.upper()
    if not rules:
        return None
    spots = [
        (m.start(), m.end(), repl) for pattern, repl in _RULES for m in re.finditer(pattern, upper)
    ]
    if not spots:
        return None
    start, end, repl = rng.choice(spots)
    new = _match_case(name[start:end], repl)
    out = name[:start] + new + name[end:]
    return out if out.upper() != upper else None


# ---------------------------------------------------------------- Latin -> Cyrillic (rule table)

_CYR_MULTI = (
    ("shch", "щ"),
    ("kh", "х"),
    ("zh", "ж"),
    ("ts", "ц"),
    ("ch", "ч"),
    ("sh", "ш"),
    ("yu", "ю"),
    ("ya", "я"),
    ("ye", "е"),
    ("yo", "ё"),
    ("iy", "ий"),
    ("yy", "ый"),
)
_CYR_SINGLE = dict(zip("abvgdezijklmnoprstufhcwxq", "абвгдезийклмнопрстуфхквкк", strict=True))
_CYR_SINGLE |= {"x": "кс", "j": "дж", "'": "ь"}
_VOWELS = set("aeiouy")


def to_cyrillic(text: str) -> str:
    """A simple Russian-style Latin->Cyrillic rule table (the kind a user's keyboard would give)."""
    out = []
    for word in re.split(r"(\W+)", text):
        if not word or not word[0].isalpha():
            out.append(word)
            continue
        low, i, cyr = word.lower(), 0, []
        while i < len(low):
            for lat, c in _CYR_MULTI:
                if low.startswith(lat, i):
                    cyr.append(c)
                    i += len(lat)
                    break
            else:
                ch = low[i]
                if ch == "y":
                    prev_vowel = i > 0 and low[i - 1] in _VOWELS
                    at_end = i == len(low) - 1
                    cyr.append("й" if prev_vowel else ("ий" if at_end else "ы"))
                elif ch == "e" and (i == 0 or low[i - 1] in _VOWELS):
                    cyr.append("е")
                else:
                    cyr.append(_CYR_SINGLE.get(ch, ch))
                i += 1
        cyrillic = "".join(cyr)
        if word.isupper():
            cyrillic = cyrillic.upper()
        elif word[0].isupper():
            cyrillic = cyrillic[:1].upper() + cyrillic[1:]
        out.append(cyrillic)
    return "".join(out)
