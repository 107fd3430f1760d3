"""Which writing system a name is in, from the Unicode character names (no extra package)."""

from __future__ import annotations

import unicodedata
from collections import Counter

# First word(s) of a Unicode character name -> the script's usual English name.
_PREFIXES: tuple[tuple[str, str], ...] = (
    ("CJK ", "Han"),
    ("HANGUL", "Hangul"),
    ("HIRAGANA", "Hiragana"),
    ("KATAKANA", "Katakana"),
    ("ARABIC", "Arabic"),
    ("CYRILLIC", "Cyrillic"),
    ("GREEK", "Greek"),
    ("HEBREW", "Hebrew"),
    ("GEORGIAN", "Georgian"),
    ("ARMENIAN", "Armenian"),
    ("THAI", "Thai"),
    ("MYANMAR", "Myanmar"),
    ("DEVANAGARI", "Devanagari"),
    ("BENGALI", "Bengali"),
    ("TAMIL", "Tamil"),
    ("ETHIOPIC", "Ethiopic"),
    ("KHMER", "Khmer"),
    ("LAO", "Lao"),
    ("SYRIAC", "Syriac"),
    ("THAANA", "Thaana"),
    ("TIBETAN", "Tibetan"),
    ("MONGOLIAN", "Mongolian"),
    ("LATIN", "Latin"),
)


def char_script(ch: str) -> str | None:
    """The script of one letter, None for digits, punctuation, spaces and unknown marks."""
    if not ch.isalpha():
        return None
    name = unicodedata.name(ch, "")
    for prefix, script in _PREFIXES:
        if name.startswith(prefix):
            return script
    return "Other" if name else None


def detect_script(text: str) -> str | None:
    """The script most of the letters of `text` are written in ("Latin", "Cyrillic", "Han"...).

    Japanese kana mixed with Han counts as "Japanese"; text with no letters gives None.
    """
    counts = Counter(s for s in map(char_script, text) if s)
    if not counts:
        return None
    if counts.keys() & {"Hiragana", "Katakana"}:
        return "Japanese"
    return counts.most_common(1)[0][0]


def is_latin(text: str) -> bool:
    return detect_script(text) in (None, "Latin")
