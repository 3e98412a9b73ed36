"""One error type for everything an editor can get wrong: it carries file, line, column and message."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

# What a terminal or a CI log acts on instead of showing: C0 controls but the newline (ESC starts a sequence that can
# retitle or clear the terminal; CR and backspace overwrite what was printed), DEL, C1 controls, and the bidi
# controls that reorder what a line seems to say. Content quoted in a message may hold any of them.
_UNPRINTABLE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with every control character shown as an escape (ESC as \\x1b), so printing it acts on nothing."""
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}",
                            text)


@dataclass(frozen=True, order=True)
class Problem:
    """A problem found in a content or template file; line and column are 1-based (0 when unknown)."""

    file: str
    line: int
    column: int
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = self.file.replace("\n", "\\x0a")  # a message may take lines, a file's name (it may hold one) not
        if self.line:
            where += f":{self.line}:{self.column or 1}"
        prefix = "warning: " if self.severity == "warning" else ""
        return printable(f"{where}: {prefix}{self.message}")  # the one place a problem becomes text


class ContentError(Exception):
    """Raised with every problem found, so the command line can report them all at once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def from_warnings(cls, warnings: Iterable[Problem]) -> ContentError:
        """The warnings as errors (--strict)."""
        return cls([replace(w, severity="error") for w in warnings])
