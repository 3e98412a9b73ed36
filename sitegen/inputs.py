"""Read an input file (content, templates, static files) only if it is a regular file of bounded size.

Every content and static file sitegen reads goes through `read_input`, and every template through `check_input`
(render.BoundedLoader) before Jinja2 reads it: each checks the file's type and size before reading it. A FIFO would
block the build forever, a symlink to /dev/zero would fill the memory, and a 2 GB file would be read whole before any
check could refuse it. It imports nothing but the standard library, so that the build plan can use it without
loading the libraries that render pages. A registry record's JSON is read here too (`load_json`), with the line
and column of what is wrong in it: the import, which comes before the YAML reader, reads it as the build does.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any

from .errors import ContentError, Problem

MB = 1024 * 1024
# The input contract: a YAML file up to 5 MB (the default trial is 20 KB; a text field holds at most 10,000
# characters), a BibTeX file up to 5 MB (a large real bibliography is 1 to 3 MB; bib.py's bounds on expanding
# @string macros are set from it), a template or static file up to 10 MB.
MAX_BYTES = {".yaml": 5 * MB, ".yml": 5 * MB, ".bib": 5 * MB}
MAX_OTHER_BYTES = 10 * MB
INVISIBLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""Characters no page may show, in any text: controls (YAML's "\\0" and "\\e" escapes and JSON's "\\u0000" write
them; HTML has no place for them) and the invisible ones that turn the direction of the text after them (one left
open reverses the rest of a line). load.py refuses them in an editor's text; a registry record's and a BibTeX
file's, which cannot be edited at will, lose them."""

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def limit_of(path: str | Path) -> int:
    """The largest size, in bytes, an input file like `path` may have."""
    return MAX_BYTES.get(os.path.splitext(path)[1].lower(), MAX_OTHER_BYTES)


def read_input(path: str | Path) -> bytes:
    """The bytes of an input file, or a ContentError naming it: missing or unreadable, not a regular file (a FIFO,
    a device, a folder; a symlink counts as what it points to), or larger than its limit (`limit_of`)."""
    limit = check_input(path)  # before opening: opening a device can have effects of its own
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))  # a FIFO would block open()
        with os.fdopen(fd, "rb") as f:
            found = os.fstat(f.fileno())
            _check(path, found, limit)  # what was opened, should the file have been replaced meanwhile
            data = f.read(found.st_size + 1)  # read(limit + 1) would first make a buffer of the limit's size
            if len(data) > found.st_size:  # it grew while read: still cut at its limit
                data += f.read(limit + 1 - len(data))
    except OSError as e:
        raise ContentError([unreadable(path, e)]) from None
    if len(data) > limit:
        raise ContentError([_too_big(path, len(data), limit)])
    return data


def check_input(path: str | Path) -> int:
    """Raise a ContentError unless `path` is a regular file within its size limit, which is returned."""
    limit = limit_of(path)
    try:
        _check(path, os.stat(path), limit)
    except OSError as e:
        raise ContentError([unreadable(path, e)]) from None
    return limit


def unreadable(path: str | Path, e: OSError) -> Problem:
    """The problem of an input that could not be opened or looked at (`e`): a link to nothing says so."""
    why = e.strerror or str(e)
    if isinstance(e, FileNotFoundError) and os.path.islink(path):
        why = f"a symbolic link to {os.path.realpath(path)}, which does not exist"
    return Problem(str(path), 0, 0, f"cannot read: {why}")


def _check(path: str | Path, found: os.stat_result, limit: int) -> None:
    if not stat.S_ISREG(found.st_mode):
        kind = next((name for test, name in _KINDS if test(found.st_mode)), "not a regular file")
        raise ContentError([Problem(str(path), 0, 0, f"cannot read: this is {kind}; an input must be a regular file")])
    if found.st_size > limit:
        raise ContentError([_too_big(path, found.st_size, limit)])


def _too_big(path: str | Path, size: int, limit: int) -> Problem:
    return Problem(str(path), 0, 0, f"the file is {size / MB:,.1f} MB; an input file like this may be at most "
                   f"{limit // MB} MB")


def present(path: Path) -> bool:
    """Whether an optional input is there: a symlink counts even when what it points to is missing (reading it is
    then an error, not a silent 'no glossary')."""
    return os.path.lexists(path)


def links_leaving(folder: str | Path, root: str | Path) -> list[Problem]:
    """A problem for each symbolic link in `folder` (not below it) that points outside `root` (the project): content
    is read from the project only, so that a link cannot publish, or quote in an error, a file from elsewhere."""
    inside = os.path.realpath(root)
    problems = []
    try:
        with os.scandir(folder) as entries:
            links = sorted(e.path for e in entries if e.is_symlink())
    except OSError:
        return []  # a missing folder is reported by whoever needs it
    for link in links:
        target = os.path.realpath(link)
        if os.path.commonpath([inside, target]) != inside:
            problems.append(Problem(link, 0, 0, f"a symbolic link to {target}, outside the project ({inside}); "
                                    "content must be inside the project"))
    return problems


MAX_DEPTH = 50  # collections inside collections (YAML's and JSON's); a trial needs 5, a registry record 11


def not_utf8(file: str, raw: bytes, error: UnicodeDecodeError) -> Problem:
    """The problem of a file that is not UTF-8, at the line and column of the first byte that is not."""
    before = raw[: error.start].decode("utf-8-sig", errors="replace")
    line = before.count("\n") + 1
    column = len(before) - (before.rfind("\n") + 1) + 1
    return Problem(file, line, column, f"the file is not UTF-8 (byte 0x{raw[error.start]:02x}); save it as UTF-8")


# ---- JSON: a registry record, as the import reads it and the build reads what the import wrote

MAX_NUMBER_DIGITS = 100  # a registry record's numbers are counts, years and coordinates; Python's int() stops at 4,300


class _LongNumber(Exception):
    def __init__(self, digits: str) -> None:
        self.digits = digits


class _NotANumber(Exception):
    """NaN, Infinity or -Infinity, which Python's reader takes (JavaScript writes them) and JSON has not."""

    def __init__(self, written: str) -> None:
        self.written = written


class _BeyondFloat(Exception):
    """A number past the largest a float holds (1e999), which Python's reader makes infinite."""

    def __init__(self, written: str) -> None:
        self.written = written


def _integer(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise _LongNumber(digits)
    return int(digits)


def _float(written: str) -> float:
    value = float(written)
    if math.isinf(value):
        raise _BeyondFloat(written)
    return value


def _constant(written: str) -> Any:
    raise _NotANumber(written)


def load_json(file: str, data: bytes | str) -> Any:
    """The value of a JSON text (bytes in UTF-8, or UTF-16 or UTF-32 as JSON allows), or a ContentError at the line
    and column of what is wrong: a syntax error (NaN and Infinity too: Python's reader takes them, JSON has
    neither), a byte that is not UTF-8, values nested more than MAX_DEPTH levels deep, a number of more than
    MAX_NUMBER_DIGITS digits or past the largest a float holds (1e999)."""
    if isinstance(data, bytes):
        encoding = json.detect_encoding(data)
        try:
            text = data.decode(encoding)  # strict: a surrogate encoded in UTF-8 is no character, and not UTF-8
        except UnicodeDecodeError as e:
            if encoding.startswith("utf-8"):
                raise ContentError([not_utf8(file, data, e)]) from None
            raise ContentError([Problem(file, 0, 0, f"the file is not valid {encoding.upper()} (byte {e.start:,}); "
                                        "save it as UTF-8")]) from None
    else:
        text = data
    try:
        value = json.loads(text, parse_int=_integer, parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError as e:
        raise ContentError([Problem(file, e.lineno, e.colno, f"not valid JSON: {e.msg}")]) from None
    except _LongNumber as e:
        line, column = _json_position(text, _token_at(text, e.digits))
        raise ContentError([Problem(file, line, column, f"a number {len(e.digits.lstrip('-')):,} digits long: expected "
                                    f"at most {MAX_NUMBER_DIGITS} digits")]) from None
    except _NotANumber as e:
        line, column = _json_position(text, _token_at(text, e.written))
        raise ContentError([Problem(file, line, column, f"not valid JSON: {e.written} is no JSON value (JSON has no NaN "
                                    "or Infinity): expected a number, or null")]) from None
    except _BeyondFloat as e:
        line, column = _json_position(text, _token_at(text, e.written))
        shown = e.written if len(e.written) <= 30 else e.written[:27] + "..."
        raise ContentError([Problem(file, line, column, f"the number {shown} is too large (it would be read as "
                                    "infinity): expected a number between -1.79e308 and 1.79e308")]) from None
    except RecursionError:  # deeper than Python's parser goes (about 1,000 levels)
        deep = True
    else:
        deep = _nested_deeper(value, MAX_DEPTH)
    if deep:
        line, column = _json_position(text, _deeper_at(text, MAX_DEPTH))
        raise ContentError([Problem(file, line, column, f"values nested more than {MAX_DEPTH} levels deep")])
    return value


def _nested_deeper(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` levels deep (without recursion, whatever the depth)."""
    level, containers = 0, [value] if isinstance(value, (dict, list)) else []
    while containers:
        level += 1
        if level > limit:
            return True
        containers = [item for c in containers for item in (c.values() if isinstance(c, dict) else c)
                      if isinstance(item, (dict, list))]
    return False


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')  # a string (skipped whole) or a bracket


def _deeper_at(text: str, limit: int) -> int:
    """Where the first array or object nested more than `limit` levels deep opens (0 when none does)."""
    depth = 0
    for token in _JSON_TOKEN.finditer(text):
        if token.group() in "[{":
            depth += 1
            if depth > limit:
                return token.start()
        elif token.group() in "]}":
            depth -= 1
    return 0


_JSON_WORD = re.compile(r'"(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+\-]*|-?Infinity|NaN')  # a string (skipped whole), or not


def _token_at(text: str, written: str) -> int:
    """Where the first number (or NaN, Infinity) written `written` outside a string stands in the text (0 when none)."""
    return next((word.start() for word in _JSON_WORD.finditer(text) if word.group() == written), 0)


def _json_position(text: str, offset: int) -> tuple[int, int]:
    """The 1-based line and column of an offset in the text, counted as JSONDecodeError counts them."""
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1
