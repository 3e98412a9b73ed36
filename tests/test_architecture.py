"""The package's shape, as the README's Architecture section draws it: every module has a place in the order of the
stages, and no module imports one that comes after it (data flows forward only)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "sitegen"

# The README's order: the ground every stage stands on; the import, which writes content from the registry; gather
# (load, validate, cite, decide the pages); render; write; the catalog, which runs those stages trial by trial; the
# one `build`; and the commands.
ORDER = [
    "errors", "fingerprint", "project", "inputs", "slugs",
    "registry_fetch", "registry_xml", "importer",
    "load", "bib", "registry", "schema", "cite", "markup", "pages", "glossary", "validate", "imported", "site",
    "jsonld", "record", "render",
    "write",
    "catalog.listing", "catalog.search", "catalog.state", "catalog.plan", "catalog.jsonld", "catalog.parallel",
    "catalog.build",
    "build",
    "readability", "freshness", "schemadoc", "serve", "cli", "__main__",
]


def _module_names() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] != "__init__":
            names.append(".".join(parts))
    return names


def _imports(name: str) -> set[str]:
    """The sitegen modules `name` imports (at any level, lazily too), as names relative to the package."""
    path = PACKAGE.joinpath(*name.split(".")).with_suffix(".py")
    package = name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)]
            target = base + (node.module.split(".") if node.module else [])
            if node.module is None:  # from . import jsonld
                found |= {".".join([*target, alias.name]) for alias in node.names}
            else:
                found.add(".".join(target))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sitegen."):
            found.add(node.module.removeprefix("sitegen."))  # type: ignore[union-attr]
    return {f for f in found if f in ORDER}


def test_every_module_has_its_place_in_the_order() -> None:
    assert sorted(_module_names()) == sorted(ORDER)


def test_no_module_imports_one_that_comes_after_it() -> None:
    backwards = [f"{name} imports {target}" for name in ORDER for target in sorted(_imports(name))
                 if ORDER.index(target) >= ORDER.index(name)]
    assert backwards == []


def test_the_check_itself_sees_imports() -> None:
    assert {"catalog.plan", "catalog.build", "project"} <= _imports("build")
    assert {"listing", "plan", "state"} <= {t.removeprefix("catalog.") for t in _imports("catalog.build")}
