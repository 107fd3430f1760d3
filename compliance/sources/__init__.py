"""Official list sources: one module per publisher file set, each exposing `SOURCE`.

The registry is the built-in modules below plus any source registered at run time with
`register_source` (a list of your own, a test's), so adding a list needs no edit here.
`policy_of(key)` is how the index, screening and order decisions learn what a list means.
"""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path

from compliance import policy as policy_module
from compliance.policy import ListPolicy, unknown_policy
from compliance.sources.base import Source

# Order here is the order `compliance update` runs them in.
SOURCE_MODULES: tuple[str, ...] = (
    "us_ofac_sdn",
    "us_ofac_cons",
    "us_trade_csl",
    "us_bis_dpl",
    "un_sc",
    "gb_ofsi",
    "eu_fsf",
    "ca_sema",
    "au_dfat",
    "federal_register",
)
_POLICY_CODE = hashlib.sha256(Path(policy_module.__file__ or "").read_bytes()).hexdigest()
_BUILTIN: dict[str, Source] = {}
_REGISTERED: dict[str, Source] = {}


def _builtin() -> dict[str, Source]:
    if not _BUILTIN:
        for name in SOURCE_MODULES:
            mod = importlib.import_module(f"compliance.sources.{name}")
            _BUILTIN[mod.SOURCE.key] = mod.SOURCE
    return _BUILTIN


def all_sources() -> dict[str, Source]:
    """Every source by key: the built-in ones in update order, then the registered ones."""
    return {**_builtin(), **_REGISTERED}


def register_source(source: Source) -> None:
    """Add a source (its files, parser and policy) without editing this package. `compliance
    update` then runs it after the built-in ones and screening reads its policy."""
    if not isinstance(source, Source):
        raise TypeError(f"expected a Source, got {type(source).__name__}")
    if source.key in _builtin():
        raise ValueError(f"{source.key!r} is a built-in source; choose another key")
    _REGISTERED[source.key] = source


def unregister_source(key: str) -> None:
    _REGISTERED.pop(key, None)


def policy_of(key: str) -> ListPolicy:
    """The policy of a source key; a key no source declares (a list removed since it was
    loaded) gets `unknown_policy`: shown under its key, every hit reviewed."""
    source = all_sources().get(key)
    return source.policy if source is not None else unknown_policy(key)


def policy_fingerprint() -> str:
    """Changes whenever a policy changes how listings are grouped or ranked."""
    text = "|".join(f"{k}:{s.policy.fingerprint()}" for k, s in sorted(all_sources().items()))
    text += _POLICY_CODE  # the shared merge keys (OFAC, denial order, UN reference)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
