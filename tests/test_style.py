"""The package stays clean under ruff and mypy --strict (settings in pyproject.toml), as STYLE.md asks, and runs on
the oldest Python it says it runs on (requires-python: 3.10)."""

from __future__ import annotations

import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import sitegen

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_is_clean() -> None:
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "sitegen"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy", "sitegen"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_regular_expression_compiles_on_python_3_10() -> None:
    """Possessive quantifiers (`++`, `*+`) and atomic groups (`(?>...)`) came with Python 3.11: on 3.10 a module
    compiling one cannot be imported. Every pattern a module of sitegen compiles when imported is looked at."""
    try:
        from re import _constants, _parser  # type: ignore[attr-defined]
    except ImportError:  # Python 3.10, which has neither: there, importing every module is the test
        import sre_constants as _constants
        import sre_parse as _parser

    newer = {getattr(_constants, name) for name in ("POSSESSIVE_REPEAT", "ATOMIC_GROUP") if hasattr(_constants, name)}

    def opcodes(tree: object) -> set[object]:
        found: set[object] = set()
        for item in tree if isinstance(tree, (list, tuple, _parser.SubPattern)) else ():
            if isinstance(item, tuple) and item and isinstance(item[0], _constants._NamedIntConstant):
                found.add(item[0])
                found |= opcodes(item[1:])
            else:
                found |= opcodes(item)
        return found

    patterns = [
        (f"{module.name}.{name}", value.pattern)
        for module in pkgutil.walk_packages(sitegen.__path__, "sitegen.") if module.name != "sitegen.__main__"
        for name, value in vars(importlib.import_module(module.name)).items()
        if isinstance(value, re.Pattern) and isinstance(value.pattern, str)
    ]
    assert len(patterns) > 50
    for where, pattern in patterns:
        assert not opcodes(_parser.parse(pattern)) & newer, f"{where} needs Python 3.11: {pattern[:80]}"
