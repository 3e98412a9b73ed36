"""Read content files: YAML with the line and column of every value, and BibTeX via `bib`.

YAML is read with PyYAML's safe loader, node by node, so that every value keeps its position and a
duplicate key (which PyYAML would silently overwrite) is an error. Nothing here knows the trial schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ContentError, Problem

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    """1-based line and column of a value in its file."""

    line: int
    column: int


@dataclass(frozen=True)
class Document:
    """A parsed YAML file: its data, and where each value (and each mapping key) stands in the file."""

    file: str
    data: Any
    values: dict[PathKey, Position] = field(default_factory=dict)
    keys: dict[PathKey, Position] = field(default_factory=dict)

    def position(self, path: PathKey, *, key: bool = False) -> Position:
        """The position of `path`, or of its nearest ancestor that exists (for a missing field)."""
        table = self.keys if key and path in self.keys else self.values
        while path not in table and path:
            path = path[:-1]
            table = self.values
        return table.get(path, Position(1, 1))


def read_text(path: Path) -> str:
    """Read a content file as UTF-8, or raise a ContentError naming the first byte that is not."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        column = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise ContentError(
            [Problem(str(path), line, column, f"the file is not UTF-8 (byte 0x{raw[e.start]:02x}); save it as UTF-8")]
        ) from None


def load_yaml(path: Path, text: str | None = None) -> Document:
    """Parse one YAML file into a Document, or raise ContentError with every problem found."""
    file = str(path)
    if text is None:
        text = read_text(path)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        raise ContentError([_yaml_problem(file, e, text)]) from None
    except yaml.YAMLError as e:  # errors without a mark, e.g. from the reader
        raise ContentError([Problem(file, 1, 1, f"not valid YAML: {e}")]) from None
    if root is None:
        raise ContentError([Problem(file, 1, 1, "the file is empty; expected a mapping of fields")])
    builder = _Builder(file)
    data = builder.build(root, ())
    if builder.problems:
        raise ContentError(builder.problems)
    return Document(file, data, builder.values, builder.keys)


def _yaml_problem(file: str, e: yaml.MarkedYAMLError, text: str) -> Problem:
    mark = e.problem_mark or e.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    what = e.problem or "not valid YAML"
    lines = text.splitlines()
    if "\t" in what or (0 < line <= len(lines) and "\t" in lines[line - 1][: column + 1]):
        what = "a tab character is used for indentation; YAML needs spaces"
    elif e.context:
        what = f"{e.context}, {what}"
    return Problem(file, line, column, f"not valid YAML: {what}")


class _Builder:
    """Turns a composed node tree into plain Python data, recording positions and duplicate keys."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.values: dict[PathKey, Position] = {}
        self.keys: dict[PathKey, Position] = {}
        self.problems: list[Problem] = []
        self.constructor = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.values[path] = Position(node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            self.constructor.flatten_mapping(node)  # resolves YAML merge keys (<<)
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.constructor.construct_object(key_node, deep=True)
                here = Position(key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                if not isinstance(key, (str, int)):
                    self.problems.append(Problem(self.file, here.line, here.column, "a key must be plain text"))
                    continue
                key = str(key)
                if key in result:
                    first = self.keys[path + (key,)]
                    self.problems.append(
                        Problem(
                            self.file, here.line, here.column,
                            f"duplicate key '{key}' (first given at line {first.line}); give each key once",
                        )
                    )
                    continue
                self.keys[path + (key,)] = here
                result[key] = self.build(value_node, path + (key,))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as e:
            self.problems.append(
                Problem(self.file, self.values[path].line, self.values[path].column, f"not valid YAML: {e.problem}")
            )
            return None
        except ValueError as e:  # e.g. a timestamp like 2026-13-45
            self.problems.append(
                Problem(self.file, self.values[path].line, self.values[path].column, f"not a valid value: {e}")
            )
            return None
