"""Fingerprints: a short digest of bytes, or of a value read from the site, to tell whether it changed."""

from __future__ import annotations

import hashlib


def digest(data: bytes) -> str:
    """A digest of bytes (BLAKE2b, 16 bytes, in hex)."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def fingerprint(value: object) -> str:
    """A fingerprint of a value read from the site: its content is frozen dataclasses, pydantic models,
    strings, numbers, dates, tuples, lists and dicts, whose repr shows every field."""
    return digest(repr(value).encode("utf-8"))
