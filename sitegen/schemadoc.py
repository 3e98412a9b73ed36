"""Document the content schema from its one source, `schema.py`: a JSON Schema file and a Markdown field list.

Regenerate both with `python -m sitegen.schemadoc`; a test fails when the committed files drift.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .schema import EditorTrial, Glossary, Settings, Trial

ROOT = Path(__file__).resolve().parent.parent
JSON_SCHEMA = ROOT / "schema" / "trial.schema.json"
SETTINGS_SCHEMA = ROOT / "schema" / "site.schema.json"
GLOSSARY_SCHEMA = ROOT / "schema" / "glossary.schema.json"
MARKDOWN = ROOT / "docs" / "schema.md"


def json_schema(model: type[BaseModel]) -> str:
    """The model's JSON Schema, as the text committed in schema/."""
    schema = model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def markdown_reference() -> str:
    """Every field of site.yaml, trial.yaml and glossary.yaml with its type and meaning, as Markdown."""
    lines = [
        "# Content schema",
        "",
        "Generated from `sitegen/schema.py` by `python -m sitegen.schemadoc`; do not edit by hand.",
        "The same source is exported as JSON Schema in `schema/trial.schema.json`, `schema/site.schema.json` and",
        "`schema/glossary.schema.json`.",
        "",
    ]
    for title, model in (("content/site.yaml", Settings), ("content/trial.yaml", Trial), ("content/glossary.yaml", Glossary)):
        lines.append(f"## {title}")
        lines.append("")
        seen: set[str] = set()
        for name, cls in _models(model, seen):
            lines += [f"### {name}", "", (cls.__doc__ or "").strip(), "", "| field | type | required | meaning |", "| --- | --- | --- | --- |"]
            for field_name, info in cls.model_fields.items():
                required = "yes" if info.is_required() else "no"
                kind = _type_name(info.annotation).replace("|", "\\|")
                lines.append(f"| `{field_name}` | {kind} | {required} | {info.description or ''} |")
            lines.append("")
    lines += ["## content/trials/<nct id>.yaml beside a registry record", "", (EditorTrial.__doc__ or "").strip(),
              "Only `slug` is required; the others are those of content/trial.yaml above, with the same types.", ""]
    return "\n".join(lines)


def _models(model: type[BaseModel], seen: set[str]) -> list[tuple[str, type[BaseModel]]]:
    found = [(model.__name__, model)]
    seen.add(model.__name__)
    for info in model.model_fields.values():
        for sub in _nested(info.annotation):
            if sub.__name__ not in seen:
                found += _models(sub, seen)
    return found


def _nested(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _nested(arg)]


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    origin = getattr(annotation, "__origin__", None)
    args = getattr(annotation, "__args__", ())
    if str(origin) == "typing.Literal" or type(annotation).__name__ == "_LiteralGenericAlias":
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin is list and args:
        return f"list of {_type_name(args[0])}"
    if getattr(annotation, "__metadata__", None) is not None:
        base = _type_name(annotation.__origin__)
        for meta in annotation.__metadata__:
            pattern = getattr(meta, "pattern", None)
            if pattern:
                return f"{base} matching `{pattern}`"
            if getattr(meta, "ge", None) is not None:
                return f"{base} ≥ {meta.ge}"
        return base
    if args:
        return " or ".join(_type_name(a) for a in args)
    names = {str: "text", int: "whole number", float: "number", bool: "true/false", type(None): "null"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def schema_files() -> dict[str, str]:
    """The JSON Schema of each content file, by the file name committed in schema/."""
    return {JSON_SCHEMA.name: json_schema(Trial), SETTINGS_SCHEMA.name: json_schema(Settings),
            GLOSSARY_SCHEMA.name: json_schema(Glossary)}


def main() -> None:
    """Write the JSON Schema files and the Markdown reference (run from a checkout of sitegen)."""
    if not (ROOT / "pyproject.toml").is_file():
        sys.exit("sitegen.schemadoc writes into a checkout of sitegen (schema/, docs/); this sitegen is installed")
    JSON_SCHEMA.parent.mkdir(exist_ok=True)
    MARKDOWN.parent.mkdir(exist_ok=True)
    for name, text in schema_files().items():
        (JSON_SCHEMA.parent / name).write_text(text, encoding="utf-8")
    MARKDOWN.write_text(markdown_reference(), encoding="utf-8")
    written = (JSON_SCHEMA, SETTINGS_SCHEMA, GLOSSARY_SCHEMA, MARKDOWN)
    print("wrote " + ", ".join(str(p.relative_to(ROOT)) for p in written), file=sys.stderr)


if __name__ == "__main__":
    main()
