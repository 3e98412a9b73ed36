"""Record what an output reads while it is made, with a fingerprint of each thing read, and decide from that
record whether it must be made again: the one way sitegen decides what to rebuild.

A later build compares those fingerprints with the current ones (`fresh`) and makes again only the outputs
whose reads changed (Lektor's build context, in small): dependencies fall out of reading, not guesswork. A single
trial's pages note each field, template and prose they read; a catalog's trials and pages note the coarser things
they read (a trial's files, the shared settings, a shared reference, another trial's list entry), whose
fingerprints the catalog's planner can tell without loading the libraries that render pages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol


class Inputs(Protocol):
    """What a build renders from: the fingerprint of anything an output can read, and the values templates
    look up by name."""

    values: dict[str, object]

    def fingerprint(self, key: Key) -> str: ...


Key = tuple[Any, ...]
"""What an output read, e.g. ('trial', 'faq'), ('template', 'base.html'), ('prose', 'faq', ('faq', 0, 'answer'))."""

MISSING = "<missing>"
READS: ContextVar[Reads | None] = ContextVar("sitegen_reads", default=None)


class Reads:
    """What the output being rendered has read so far: each key with its fingerprint when first read."""

    def __init__(self, inputs: Inputs) -> None:
        self.inputs = inputs
        self.fingerprints: dict[Key, str] = {}

    def note(self, key: Key, fingerprint: str | None = None) -> None:
        value = fingerprint if fingerprint is not None else self.inputs.fingerprint(key)
        if self.fingerprints.setdefault(key, value) != value:
            self.fingerprints[key] = "<changed while rendering>"  # matches nothing: rendered again next time


def note(key: Key, fingerprint: str | None = None) -> None:
    """Note that the output being rendered read `key` (with the fingerprint of a file as read, for files)."""
    reads = READS.get()
    if reads is not None:
        reads.note(key, fingerprint)


@contextmanager
def recording(inputs: Inputs | None) -> Iterator[Reads]:
    """Note what is read inside the block, with fingerprints from `inputs` (with None, note nothing: the reads
    yielded stay empty)."""
    reads = Reads(inputs) if inputs is not None else Reads(_NOTHING)
    token = READS.set(reads if inputs is not None else None)
    try:
        yield reads
    finally:
        READS.reset(token)


def fresh(reads: Mapping[Key, str], current: Callable[[Key], str]) -> bool:
    """Whether an output whose making read `reads` is still what it would be made now: every key it read has the
    fingerprint it had then (`current` gives a key's fingerprint now)."""
    return all(current(key) == print_ for key, print_ in reads.items())


class Fingerprints:
    """Inputs whose fingerprints are given by a function of the key (a catalog's coarse reads)."""

    def __init__(self, current: Callable[[Key], str]) -> None:
        self.current = current
        self.values: dict[str, object] = {}  # no template looks a value up by name

    def fingerprint(self, key: Key) -> str:
        return self.current(key)


_NOTHING = Fingerprints(lambda key: MISSING)


class Recorded:
    """An object whose attribute reads are noted as (*key, attribute); the values themselves are returned as they
    are, and each is fingerprinted whole (so reading deeper into them needs no noting)."""

    __slots__ = ("_key", "_target")

    def __init__(self, target: object, key: Key) -> None:
        self._target = target
        self._key = key

    def __getattr__(self, name: str) -> Any:
        note((*self._key, name))
        return getattr(self._target, name)

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        """The target's class, so that `isinstance` sees through the recorder (a registry trial is a RegistryTrial)."""
        note((*self._key, "__class__"))
        return type(self._target)


class RecordedPages(Sequence[Any]):
    """The site's pages for navigation: their number is noted, and each page's attributes as they are read."""

    def __init__(self, pages: Sequence[Any]) -> None:
        self._pages = [Recorded(page, ("pages", i)) for i, page in enumerate(pages)]

    def __len__(self) -> int:
        note(("pages", "len"))
        return len(self._pages)

    def __getitem__(self, index: Any) -> Any:
        note(("pages", "len"))
        return self._pages[index]


class RecordedList(Sequence[Any]):
    """A list read either whole (iterated, indexed, counted) or only as a yes/no (`{% if references %}`)."""

    def __init__(self, key: Key, items: Sequence[Any]) -> None:
        self._key = key
        self._items = items

    def __bool__(self) -> bool:
        note((*self._key, "bool"))
        return bool(self._items)

    def __len__(self) -> int:
        note(self._key)
        return len(self._items)

    def __getitem__(self, index: Any) -> Any:
        note(self._key)
        return self._items[index]
