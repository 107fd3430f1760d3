"""The layering of docs/architecture.md, read from the code: every import of the project (at the
top of a module, inside a function or under TYPE_CHECKING) and every module named in a string
(importlib) goes to the same layer or one to its left, never back."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "compliance"

# Left to right. A module belongs to the last prefix it starts with.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "neutral",
        (
            "compliance",
            "compliance.policy",
            "compliance.progress",
            "compliance.countries",
            "compliance.datafiles",
            "compliance.gctune",
        ),
    ),
    ("sources", ("compliance.sources",)),
    ("store", ("compliance.store",)),
    ("lists update", ("compliance.lists_update",)),
    ("matching", ("compliance.matching",)),
    ("screening", ("compliance.screening", "compliance.screen_file")),
    ("rules", ("compliance.rules",)),
    ("orders", ("compliance.orders", "compliance.batch")),
    ("api", ("compliance.api", "compliance.schema")),
    ("entry points", ("compliance.update", "compliance.cli")),
]
_MODULE_NAME = re.compile(r"compliance(\.[a-z_]+)+")


def layer_of(module: str) -> int:
    best, length = -1, -1
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            hit = module == prefix or (prefix != "compliance" and module.startswith(prefix + "."))
            if hit and len(prefix) > length:
                best, length = rank, len(prefix)
    if best < 0 and module.startswith("compliance."):
        raise AssertionError(f"{module} is in no layer: add it to LAYERS (and the docs)")
    return best


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(dotted: str) -> bool:
    """A module or package of the project ("compliance.db", a file name, is not)."""
    path = PACKAGE.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _names_module(value: object) -> bool:
    return isinstance(value, str) and bool(_MODULE_NAME.fullmatch(value)) and _is_module(value)


def _submodule(name: str) -> str:
    """`from compliance import NAME`: a module, or a name of the package itself."""
    return f"compliance.{name}" if _is_module(f"compliance.{name}") else "compliance"


def imported(tree: ast.AST, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, module) for each project module this code imports or names in a string."""
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            if base == "compliance":  # from compliance import policy: the submodule
                out += [(node.lineno, _submodule(a.name)) for a in node.names]
            else:
                out.append((node.lineno, base))
        elif isinstance(node, ast.Constant) and _names_module(node.value):
            out.append((node.lineno, node.value))
    return [(line, name) for line, name in out if name.split(".")[0] == "compliance"]


def backward_imports(source: str, module: str, is_package: bool = False) -> list[str]:
    here = layer_of(module)
    found = []
    for line, target in imported(ast.parse(source), module, is_package):
        there = layer_of(target)
        if there > here:
            found.append(
                f"{module}:{line} imports {target} "
                f"({LAYERS[here][0]} -> {LAYERS[there][0]}: backward)"
            )
    return found


def test_no_module_imports_a_layer_to_its_right() -> None:
    problems = []
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 100  # the whole package was read
    for path in modules:
        problems += backward_imports(
            path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py"
        )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("module", "code"),
    [
        ("compliance.store.db", "from compliance.orders import models"),
        ("compliance.store.db", "def f():\n    import compliance.rules.models"),
        ("compliance.store.db", "importlib.import_module('compliance.api.models')"),
        ("compliance.matching.index", "from ..screening import Screener"),
        ("compliance.sources.base", "from compliance import screening"),
        ("compliance.policy", "from compliance.matching.normalize import normalize_name"),
        ("compliance.orders.run", "from compliance.schema import register_tables"),
    ],
)
def test_a_backward_import_is_found(module: str, code: str) -> None:
    assert backward_imports(code, module), f"{code!r} in {module} went unnoticed"


def test_imports_to_the_left_are_allowed() -> None:
    code = (
        "from compliance.store.db import get_engine\n"
        "from compliance.policy import BLOCK\n"
        "from . import decide\n"
    )
    assert backward_imports(code, "compliance.orders.run") == []


def test_one_module_per_role() -> None:
    """One countries module, one progress module and one update module per role (lists,
    regulation texts, both)."""
    names = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py"))
    assert [n for n in names if Path(n).stem == "countries"] == ["countries.py"]
    assert [n for n in names if Path(n).stem == "progress"] == ["progress.py"]
    updates = [n for n in names if "update" in Path(n).stem]
    assert updates == ["lists_update.py", "rules/regulations_update.py", "update.py"]


MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def test_modules_and_functions_stay_short() -> None:
    """Split along a seam before a module passes 400 lines or a function 60 (signature and
    docstring included), so that each can be read in one sitting."""
    long: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_MODULE_LINES:
            long.append(f"{module_name(path)}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > MAX_FUNCTION_LINES:
                    long.append(f"{module_name(path)}.{node.name}: {size} lines")
    assert not long, "\n".join(long)
