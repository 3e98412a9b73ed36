"""Record what an output reads while it is rendered, with a fingerprint of each thing read.

A later build compares those fingerprints with the current ones and renders again only the outputs
whose reads changed (Lektor's build context, in small): dependencies fall out of reading, not guesswork.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import Any, Protocol, cast

from jinja2 import Environment, FileSystemLoader, TemplateNotFound
from jinja2.loaders import split_template_path
from jinja2.runtime import Context

from .fingerprint import digest
from .inputs import check_input


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


class BoundedLoader(FileSystemLoader):
    """Loads templates as FileSystemLoader does, each checked first to be a regular file of bounded size."""

    def get_source(self, environment: Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        for folder in self.searchpath:
            path = posixpath.join(folder, *split_template_path(template))
            if os.path.lexists(path):  # a FIFO or a device is refused by name, not taken as missing
                check_input(path)
                break
        return super().get_source(environment, template)


class RecordingLoader(BoundedLoader):
    """Loads templates as FileSystemLoader does, and notes every template an output uses with the digest of the
    source it was compiled from. Jinja asks `uptodate` each time it reuses a compiled template (extends, include,
    get_template), so that is where a reuse is noted too; and uptodate compares content, not modification times,
    which two quick saves can leave equal."""

    def get_source(self, environment: Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        try:
            source, filename, _ = super().get_source(environment, template)
        except TemplateNotFound:
            note(("template", template), MISSING)  # creating it later must render this output again
            raise
        compiled_from = digest(source.encode("utf-8"))
        note(("template", template), compiled_from)

        def uptodate() -> bool:
            if template_digest(environment, template) != compiled_from:
                return False
            note(("template", template), compiled_from)
            return True

        return source, filename, uptodate


def template_digest(env: Environment, name: str) -> str:
    """The digest of a template's current source, as the loader would read it now."""
    try:
        source = BoundedLoader.get_source(cast(BoundedLoader, env.loader), env, name)[0]
    except TemplateNotFound:
        return MISSING
    return digest(source.encode("utf-8"))


class RecordingContext(Context):
    """Jinja's context, noting each value a template looks up by name (the labels and sources; the trial, the
    settings, the pages, the references and the prose note their own reads)."""

    def resolve_or_missing(self, key: str) -> Any:
        reads = READS.get()
        if reads is not None and key in reads.inputs.values:
            reads.note(("value", key))
        return super().resolve_or_missing(key)
