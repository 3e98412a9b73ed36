"""Read content files: YAML with the line and column of every value, and BibTeX via `bib`.

YAML is read with PyYAML's safe loader, node by node, so that every value keeps its position and a
duplicate key (which PyYAML would silently overwrite) is an error. Nothing here knows the trial schema.
"""

from __future__ import annotations

import contextlib
import gc
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml

from .errors import ContentError, Problem
from .inputs import INVISIBLE, MAX_DEPTH, not_utf8, read_input

PathKey = tuple[str | int, ...]

MAX_TEXT = 10_000
"""Characters in one text field, of YAML and BibTeX alike; Markdown's parser is slow (quadratic) on some long inputs."""


@dataclass(frozen=True)
class Position:
    """1-based line and column of a value in its file."""

    line: int
    column: int


@dataclass(frozen=True)
class Document:
    """A parsed YAML file: its data, and its node tree, which says where each value (and each mapping key) stands
    in the file."""

    file: str
    data: Any
    root: yaml.Node
    _keyed: dict[int, dict[str | None, tuple[yaml.Node, yaml.Node]]] = field(default_factory=dict, compare=False,
                                                                              repr=False)

    def position(self, path: PathKey, *, key: bool = False) -> Position:
        """The position of `path` (of its key, with `key`), or of its nearest ancestor that exists (for a missing
        field). Found by following the path down the node tree: only a problem or a warning asks."""
        key_node, node = self._node(path)
        mark = key_node.start_mark if key and key_node is not None else node.start_mark
        return Position(mark.line + 1, mark.column + 1)

    def span(self, path: PathKey) -> tuple[Position, Position]:
        """Where the value at `path` (or its nearest ancestor that exists) starts, and where it ends."""
        node = self._node(path)[1]
        return (Position(node.start_mark.line + 1, node.start_mark.column + 1),
                Position(node.end_mark.line + 1, node.end_mark.column + 1))

    def _node(self, path: PathKey) -> tuple[yaml.Node | None, yaml.Node]:
        """The key node (None unless the whole path was found, in a mapping) and value node of `path`, or of its
        nearest ancestor that exists."""
        node: yaml.Node = self.root
        key_node: yaml.Node | None = None
        for part in path:
            pair: tuple[yaml.Node | None, yaml.Node] | None
            if isinstance(node, yaml.MappingNode):
                pair = self._pairs(node).get(part) if isinstance(part, str) else None  # the data's keys are text
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                pair = (None, node.value[part])
            else:
                pair = None
            if pair is None:
                return None, node
            key_node, node = pair
        return key_node, node

    def _pairs(self, node: yaml.MappingNode) -> dict[str | None, tuple[yaml.Node, yaml.Node]]:
        """A mapping's key and value nodes by key, made when a path first goes through it: a file with thousands of
        problems in one mapping then finds each in one step."""
        pairs = self._keyed.get(id(node))
        if pairs is None:
            pairs = self._keyed[id(node)] = _first_pairs(node)
        return pairs


def read_text(path: Path) -> str:
    """Read a content file as UTF-8, or raise a ContentError: unreadable, not a regular file of bounded size
    (`read_input`), or naming the first byte that is not UTF-8."""
    raw = read_input(path)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ContentError([not_utf8(str(path), raw, e)]) from None


def load_yaml(path: Path, text: str | None = None) -> Document:
    """Parse one YAML file into a Document, or raise ContentError with every problem found."""
    file = str(path)
    if text is None:
        text = read_text(path)
    with _collector_paused():
        try:
            root = _compose(text)
        except yaml.MarkedYAMLError as e:
            raise ContentError([_yaml_problem(file, e, text)]) from None
        except yaml.reader.ReaderError as e:  # a character YAML does not allow: its place, not PyYAML's offset
            line, column = text.count("\n", 0, e.position) + 1, e.position - text.rfind("\n", 0, e.position)
            code = e.character if isinstance(e.character, int) else ord(e.character)
            raise ContentError([Problem(file, line, column, f"not valid YAML: the character U+{code:04X} is not "
                                        "allowed")]) from None
        except yaml.YAMLError as e:  # other errors without a mark
            raise ContentError([Problem(file, 1, 1, f"not valid YAML: {e}")]) from None
        if root is None:
            raise ContentError([Problem(file, 1, 1, "the file is empty; expected a mapping of fields")])
        builder = _Builder(file)
        try:
            data = builder.build(root, ())
        except _TooBig as e:
            raise ContentError([e.problem]) from None
    if builder.problems:
        raise ContentError(builder.problems)
    return Document(file, data, root)


class _TooDeep(yaml.MarkedYAMLError):
    pass


class _DepthComposer(yaml.composer.Composer):
    """PyYAML's composer, refusing a collection nested deeper than MAX_DEPTH before composing it."""

    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.depth >= MAX_DEPTH:
            mark = cast(Any, self).peek_event().start_mark  # the parser's method, mixed in beside this class
            raise _TooDeep(None, None, f"values nested more than {MAX_DEPTH} levels deep", mark)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _PythonLoader(_DepthComposer, yaml.SafeLoader):
    pass


_SAFE_RESOLVERS: dict[str | None, list[tuple[str, re.Pattern[str]]]] = yaml.SafeLoader.yaml_implicit_resolvers
_ANY_START = _SAFE_RESOLVERS.get(None, [])
_IMPLICIT = {first: resolvers + _ANY_START for first, resolvers in _SAFE_RESOLVERS.items()
             if first is not None}  # SafeLoader's implicit tags, by the first character of a plain scalar


class _Resolving:
    """SafeLoader's tag resolution, the same tags, without its machinery for paths (a SafeLoader has none), which
    libyaml's composer calls for every value: on bench/catalog.py's generated trials, half the time of composing one."""

    def descend_resolver(self, current_node: yaml.Node | None, current_index: object) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            if implicit[0]:
                for tag, regexp in _IMPLICIT.get(value[:1], _ANY_START):
                    if regexp.match(value):
                        return str(tag)
            return _STR
        return _SEQ if kind is yaml.SequenceNode else _MAP


_C_LOADER = type("_CLoader", (_Resolving, yaml.CSafeLoader), {}) if hasattr(yaml, "CSafeLoader") else None
_C_SAFE_DEPTH = 1_000  # libyaml's composer has composed 5,000 levels and crashed the process (stack overflow) at 100,000


# The start of a line before its content: a byte order mark (libyaml skips one at the start of any line),
# indentation, block indicators ('- ', '? ', ': ') and properties (&anchor, !tag). A block collection can only start
# there; the rest of the line is a scalar or a flow collection.
_BLOCK_PREFIX = re.compile(r"\ufeff*[ \t]*(?:(?:[-?:]|[&!][^ \t]*)(?:[ \t]+|$))*")

# A bracket before '@' or '`' (a citation, '[@chen2021]'): YAML reserves those characters, no token starts with them,
# so such a bracket that opens a flow collection opens one whose first entry fails to parse; it nests nothing. Counted
# as possible collections, 1,000 citations sent a trial to the pure-Python parser: 30,000 cited FAQ answers loaded
# in 6 to 9 s of CPU instead of 0.5.
_OPENS_NOTHING = re.compile(r"[\[{][ \t]*[@`]")


def _nests_shallowly(text: str) -> bool:
    """Whether the text's collections surely nest less than _C_SAFE_DEPTH deep. A flow collection opens with '['
    or '{'; a block collection inside another starts at least one column further right, but for every second level
    (a sequence may be a mapping value at the key's column), and only in a line's _BLOCK_PREFIX: so block nesting
    is at most twice the longest such prefix. (A line's length would do too, but a paragraph on one line, as
    editors write answers, would then send the file to the pure-Python parser, ten times slower; so would counting
    the brackets of citations, see _OPENS_NOTHING.)"""
    brackets = text.count("[") + text.count("{")
    # (the citations' brackets, which open nothing, are looked for only when every bracket is too many)
    return _bound_below(text, brackets) or _bound_below(text, brackets - len(_OPENS_NOTHING.findall(text)))


def _bound_below(text: str, opening: int) -> bool:
    """Whether opening + 1 + 2 * (prefix + 1) is below _C_SAFE_DEPTH, for the longest prefix of the text's lines
    (+ 1: the one level a bracket of _OPENS_NOTHING may open before failing). A prefix is no longer than its line,
    so only the lines at least as long as the room left are matched (the pattern matches every line, if emptily)."""
    room = (_C_SAFE_DEPTH - opening - 3) / 2
    # splitlines breaks lines wherever libyaml does (\n, \r, NEL, LS, PS), and at a few more places: a prefix
    # ends at those, so more lines can only make the longest prefix longer.
    return room > 0 and all(_BLOCK_PREFIX.match(line).end() < room  # type: ignore[union-attr]
                            for line in text.splitlines() if len(line) >= room)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector: while a file's nodes and values are made, none of them garbage, it would run
    over all made so far again and again (two thirds of the time of loading a 100,000-value file)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _compose(text: str) -> yaml.Node | None:
    """The node tree of a YAML text. Composing is recursive: libyaml's composer (C, many times faster) is used when
    the text cannot nest deep enough to overflow its stack, and _Builder then refuses what nests past MAX_DEPTH;
    otherwise PyYAML's composer refuses it while composing. A text libyaml refuses is parsed again by the pure-Python
    parser, whose error messages the problems quote."""
    if _C_LOADER is not None and _nests_shallowly(text):
        try:
            return yaml.compose(text, Loader=_C_LOADER)
        except yaml.YAMLError:
            pass
    return yaml.compose(text, Loader=_PythonLoader)


_CLOSERS = {'"': '"', "'": "'", "[": "]", "{": "}"}


def _yaml_problem(file: str, e: yaml.MarkedYAMLError, text: str) -> Problem:
    mark = e.problem_mark or e.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    what = e.problem or "not valid YAML"
    lines = text.splitlines()
    start = e.context_mark
    opener = lines[start.line][start.column : start.column + 1] if start and start.line < len(lines) else ""
    if "\t" in what or (0 < line <= len(lines) and "\t" in lines[line - 1][: column + 1]):
        what = "a tab character is used for indentation; YAML needs spaces"
    elif start and opener in _CLOSERS and ("end of stream" in what or "<stream end>" in what):
        # a quote or bracket left open: PyYAML finds out at the end of the file; the editor needs where it opened
        return Problem(file, start.line + 1, start.column + 1, f"not valid YAML: this {opener} is never closed: "
                       f"expected a {_CLOSERS[opener]} before the end of the file (line {line})")
    elif e.context:
        opened = f" (from line {start.line + 1}, column {start.column + 1})" if start and opener in _CLOSERS and \
            start.line + 1 != line else ""
        what = f"{e.context}{opened}, {what}"
    return Problem(file, line, column, f"not valid YAML: {what}")


MAX_KEY = 100  # characters in a key
MAX_VALUES = 100_000  # far beyond any trial; stops a few nested aliases from expanding into gigabytes
_MAP, _SEQ, _STR = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:str"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"


class _TooBig(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem


def _merged_size(node: yaml.MappingNode, sizes: dict[int, int], limit: int) -> int:
    """How many pairs a mapping holds once its merge keys (<<) are expanded, counted, not made: each mapping it
    merges counted once (`sizes` remembers them), and the count stopped once past `limit`. A merge that reaches
    the mapping it is in, or chains past Python's recursion limit, counts as past it."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    sizes[id(node)] = limit + 1  # while counting: a merge reaching back here is too big
    total = 0
    for key, value in node.value:
        if key.tag != _MERGE:
            total += 1
            continue
        for merged in value.value if isinstance(value, yaml.SequenceNode) else [value]:
            if isinstance(merged, yaml.MappingNode):
                total += _merged_size(merged, sizes, limit)
            if total > limit:
                return total
    sizes[id(node)] = total
    return total


def _key_of(node: yaml.Node) -> str | None:
    """The key a key node gives its value in the data (see _Builder._mapping); None for one that is refused."""
    if not isinstance(node, yaml.ScalarNode):
        return None
    if node.tag == _STR:
        return str(node.value)
    try:
        key = yaml.SafeLoader("").construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, OverflowError, KeyError, AttributeError):  # as _Builder._scalar refuses
        return None
    return str(key) if isinstance(key, (str, int)) and not isinstance(key, bool) else None


def _first_pairs(node: yaml.MappingNode) -> dict[str | None, tuple[yaml.Node, yaml.Node]]:
    """The key and value nodes of a mapping by the key each gives its value in the data, the first of each key."""
    pairs: dict[str | None, tuple[yaml.Node, yaml.Node]] = {}
    for key_node, value_node in node.value:
        pairs.setdefault(_key_of(key_node), (key_node, value_node))
    return pairs


class _Builder:
    """Turns a composed node tree into plain Python data, collecting every problem: duplicate keys among them."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.constructor = yaml.SafeLoader("")
        self.open: set[int] = set()  # collections being built: an alias back to one of them would never end
        self.sizes: dict[int, int] = {}  # mappings' sizes with their merge keys expanded (see _merged_size)
        self.count = 0

    def _at(self, mark: yaml.Mark, message: str) -> Problem:
        return Problem(self.file, mark.line + 1, mark.column + 1, message)

    def _problem(self, mark: yaml.Mark, message: str) -> None:
        self.problems.append(self._at(mark, message))

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.count += 1
        if len(path) > MAX_DEPTH:  # aliases nest what they refer to: a few can nest deeper than the text
            raise _TooBig(self._at(node.start_mark, f"values nested more than {MAX_DEPTH} levels deep"))
        if self.count > MAX_VALUES:
            raise _TooBig(self._at(node.start_mark, f"more than {MAX_VALUES:,} values (a trial has a few hundred; "
                                                    "aliases expanding?)"))
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            if id(node) in self.open:
                self._problem(node.start_mark, "an alias refers to a value that contains it")
                return None
            if node.tag not in (_MAP, _SEQ):
                self._problem(node.start_mark, f"the tag {node.tag} is not supported here")
                return None
            self.open.add(id(node))
            try:
                return self._mapping(node, path) if isinstance(node, yaml.MappingNode) else [
                    self.build(item, path + (i,)) for i, item in enumerate(node.value)
                ]
            finally:
                self.open.discard(id(node))
        return self._scalar(node)

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[str, Any] | None:
        if any(key.tag == _MERGE for key, _ in node.value):  # counted before merging, which copies what it merges
            try:
                merged = _merged_size(node, self.sizes, MAX_VALUES - self.count)
            except RecursionError:
                merged = MAX_VALUES + 1
            if self.count + merged > MAX_VALUES:
                raise _TooBig(self._at(node.start_mark, f"more than {MAX_VALUES:,} values once merge keys (<<) are "
                                                        "expanded"))
        try:
            self.constructor.flatten_mapping(node)  # resolves YAML merge keys (<<)
        except yaml.constructor.ConstructorError as e:
            self._problem(e.problem_mark or node.start_mark, f"not valid YAML: {e.problem}")
            return None
        result: dict[str, Any] = {}
        firsts = None  # the first key node of each key, found when a key comes twice
        for key_node, value_node in node.value:
            key = self._scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                self._problem(key_node.start_mark, "a key must be plain text")
                continue
            key = str(key)
            if len(key) > MAX_KEY:  # every key is a field name; a message quoting a key quotes no more than this
                self._problem(key_node.start_mark, f"a key must be a field name, at most {MAX_KEY} characters")
                continue
            if key in result:
                firsts = firsts if firsts is not None else _first_pairs(node)
                first = firsts[key][0].start_mark.line + 1
                self._problem(key_node.start_mark, f"duplicate key '{key}' (first given at line {first}); give each "
                              "key once")
                continue
            result[key] = self.build(value_node, path + (key,))
        return result

    def _scalar(self, node: yaml.Node) -> Any:
        if node.tag == _STR and isinstance(node, yaml.ScalarNode):
            invisible = None if node.value.isprintable() else INVISIBLE.search(node.value)
            if invisible:
                self._problem(node.start_mark, f"holds the invisible character U+{ord(invisible[0]):04X}, a control "
                              "or a change of the text's direction, which no page may show: remove it")
            return node.value  # most values: what the constructor would return, without its bookkeeping
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as e:
            self._problem(node.start_mark, f"not valid YAML: {e.problem}")
        except (ValueError, OverflowError) as e:  # e.g. a timestamp like 2026-13-45
            too_long = "integer string conversion" in str(e)  # Python's advice is for programmers, not editors
            self._problem(node.start_mark, "not a valid value: a number of more than 4,300 digits" if too_long
                          else f"not a valid date: {e}; expected a date as YYYY-MM-DD" if node.tag == _TIMESTAMP
                          else f"not a valid value: {e}")
        except (KeyError, AttributeError):  # what PyYAML raises for '!!bool abc' and '!!timestamp abc'
            self._problem(node.start_mark, f"not a valid value for the tag {node.tag}")
        return None
