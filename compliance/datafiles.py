"""The project's curated reference tables (top-level data/, the one place they are edited).

They ship inside the package as `compliance/data` (a link to data/ in the source tree, real
files in a wheel), so they are found through importlib.resources however the package is installed.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable


def data_file(name: str) -> Traversable:
    """A curated table by file name, e.g. data_file("chip_catalog.csv").read_text()."""
    path = files("compliance") / "data" / name
    if not path.is_file():
        raise FileNotFoundError(
            f"curated table data/{name} is missing from the installed package; "
            "reinstall compliance (pip install --force-reinstall compliance)"
        )
    return path
