"""URL segments for values (a condition, a place, a country): the same for the same value, different for different
ones, plain ASCII so that links work from disk and under a sub-path."""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata

MAX_READABLE = 80  # characters of a slug's readable part: a folder name must stay under 255 bytes

@functools.cache  # a catalog names the same places and conditions thousands of times
def value_key(name: str) -> str:
    """What makes two values of a facet the same value: their text without case, accents, extra spaces, or hyphens
    told from spaces ('São Paulo' and 'sao  paulo' are one place, 'Non-small cell' and 'non small cell' one condition). Punctuation and every other letter count ('sarcoma!' is another
    value than 'Sarcoma', '肉腫' than 'Саркома')."""
    decomposed = unicodedata.normalize("NFKD", name.casefold()).replace("-", " ")
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


@functools.cache
def slugify(name: str) -> str:
    """A URL segment for a value, the same for the same value (`value_key`) and different for different ones.

    A value of ASCII letters and digits in words is its words joined by hyphens ('Soft tissue sarcoma' ->
    'soft-tissue-sarcoma'); any other gets what can be read of it in ASCII, then '--' (which no such plain slug has)
    and a hash of the value ('Sarcoma!' -> 'sarcoma--1f0c...', '肉腫' -> 'value--8d3e...'). Links stay plain ASCII
    folders, so they work from disk and under a sub-path. A readable part longer than MAX_READABLE is cut, and the
    hash added: a condition of 300 characters still makes a folder a file system allows."""
    key = value_key(name)
    readable = _readable(key)
    if re.fullmatch(r"[a-z0-9]+(?: [a-z0-9]+)*", key) and len(readable) <= MAX_READABLE:
        return readable
    return _hashed(readable, key)


@functools.cache
def slugify_other(name: str) -> str:
    """A URL segment for a value outside a closed list whose members have plain folders (a registry status or phase
    the API does not list): `slugify`'s form with the hash, always ('Phase 3/x' -> 'phase-3-x--e7811474e6ab'), so it is
    never a member's folder, nor '.', '..' or a path, and two such values share one only when they are one value."""
    key = value_key(name)
    return _hashed(_readable(key), key)


def _readable(key: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", key.encode("ascii", "ignore").decode("ascii")).strip("-")


def _hashed(readable: str, key: str) -> str:
    readable = readable[:MAX_READABLE].rstrip("-")
    return f"{readable or 'value'}--{hashlib.blake2b(key.encode('utf-8'), digest_size=6).hexdigest()}"
