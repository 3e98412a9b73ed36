"""One error type for everything an editor can get wrong: it carries file, line, column and message."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace


@dataclass(frozen=True, order=True)
class Problem:
    """A problem found in a content or template file; line and column are 1-based (0 when unknown)."""

    file: str
    line: int
    column: int
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}:{self.column or 1}"
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}: {prefix}{self.message}"


class ContentError(Exception):
    """Raised with every problem found, so the command line can report them all at once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def from_warnings(cls, warnings: Iterable[Problem]) -> ContentError:
        """The warnings as errors (--strict)."""
        return cls([replace(w, severity="error") for w in warnings])
