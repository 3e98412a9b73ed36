"""Build the full-text search index of a catalog with Pagefind.

Each record becomes a small HTML page in a temporary folder, which the Pagefind binary from the `pagefind[bin]`
package indexes offline (`pagefind --site`); the bundle it writes (index, filters, fragments, the search library,
its WebAssembly and the UI scripts and styles) is read back into memory, so the caller writes it with the rest of the
site. The command line is used rather than the package's Python API: the API's client waits 0.1 s for every
message (about 1,000 s for 10,000 records) and its in-memory `get_files` hangs once the bundle passes 2 MiB.

Pagefind writes its filter files and its metadata file in hash-map order, which changes from run to run
(pagefind 1.5.2: same content, different bytes and file names). The bundle is made byte-for-byte repeatable
here by sorting each filter's values, re-encoding those files and the metadata file (gzip-compressed CBOR), and
naming them by the hash of their new content, as Pagefind does.

In the browser the UI finds the bundle from the address of its own script and prefixes result URLs (stored
root-relative, '/trials/x/') with the folder above `pagefind/`, so a site hosted under a sub-path
(https://example.org/trials/sarcoma/) works when pages load `pagefind/pagefind-ui.js` by a relative URL. A
`bundlePath` option, if given, must be an absolute path: 'pagefind/' is taken as a bare module name and fails.
Search needs http(s): from file:// the browser refuses to load the bundle.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import html
import json
import os
import re
import subprocess
import tempfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pagefind.service import get_executable

# Everything Pagefind writes goes under this folder of the site.
BUNDLE = "pagefind"
# The longest a Pagefind run may take; 10,000 records of 3 KB take about 25 s.
TIMEOUT_SECONDS = 600
# The signature Pagefind puts before the CBOR in each gzip-compressed index file.
SIGNATURE = b"pagefind_dcd"

_URL = re.compile(r"(?:[A-Za-z0-9._~-]+/)*(?:[A-Za-z0-9._~-]+\.html)?")
_FILTER_KEY = re.compile(r"[A-Za-z0-9_-]+")
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")

# CBOR as Pagefind's index files use it: unsigned and negative integers, byte and text strings, arrays.
Cbor = int | bytes | str | list["Cbor"]


@dataclass(frozen=True)
class SearchRecord:
    """One searchable page of the catalog."""

    url: str  # relative to the site root, e.g. 'trials/nct05836571/'
    title: str
    text: str  # plain text of the trial, all its pages
    filters: dict[str, tuple[str, ...]]  # e.g. {'status': ('Recruiting',), 'phase': ('Phase 2',)}


SHARD_RECORDS = 1000  # at most about this many records in one bundle: Pagefind holds ~250 KB per record in memory


def bundle_count(records: int) -> int:
    """How many bundles an index of `records` is split into: one up to SHARD_RECORDS, else a power of two, so that
    a record keeps its bundle until the catalog doubles or halves."""
    count = 1
    while records > count * SHARD_RECORDS:
        count *= 2
    return count


@functools.lru_cache(maxsize=65536)  # a catalog asks again for every trial at every build: serve's rebuilds
def bundle_of(url: str, count: int) -> int:
    """The bundle a record is in: a stable hash of its URL."""
    return int.from_bytes(hashlib.blake2b(url.encode("utf-8"), digest_size=8).digest(), "big") % count


def bundle_folder(number: int) -> str:
    """Bundle 0 is 'pagefind/' (its UI script starts the search); the others are 'pagefind-1/', 'pagefind-2/', ...
    beside it at the site root, since the UI prefixes results with the folder above each bundle."""
    return f"{BUNDLE}/" if number == 0 else f"{BUNDLE}-{number}/"


class SearchError(Exception):
    """The index could not be built: a record Pagefind cannot take, Pagefind failing, or a bundle this module does
    not understand. The message says which, for the user."""


def search_index(records: Iterable[SearchRecord], language: str) -> dict[str, bytes]:
    """The Pagefind index and UI files, keyed by path relative to the output folder (all under 'pagefind/').

    `language` is an ISO 639-1 code such as 'en'; the whole catalog is indexed as that language (stemming and
    the UI's strings follow it). No records give no files: Pagefind cannot build an empty index, and the search box
    is an enhancement that stays away when its script is missing. Raises SearchError.
    """
    ordered = sorted(records, key=lambda record: record.url)
    _check(ordered, language)
    if not ordered:
        return {}
    memory = _scratch()
    try:
        files = _pagefind_bundle(ordered, language, memory)
    except (OSError, SearchError) as error:
        if memory is None or isinstance(error.__cause__, subprocess.TimeoutExpired):
            raise  # a Pagefind that ran out of time would only run out of it again
        files = _pagefind_bundle(ordered, language, None)  # /dev/shm full (Docker gives it 64 MB): on disk, then
    _check_bundle(files, len(ordered))
    return _canonical(files)


def _pagefind_bundle(records: list[SearchRecord], language: str, scratch: str | None) -> dict[str, bytes]:
    """The bundle Pagefind makes of the records, as it wrote it, from pages written to a folder in `scratch`."""
    with tempfile.TemporaryDirectory(prefix="sitegen-search-", dir=scratch) as temporary:
        site = Path(temporary) / "site"
        for record in records:
            path = site / _page_path(record.url)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_page(record, language), encoding="utf-8")
        _run_pagefind(site, language, cwd=Path(temporary))
        bundle = site / BUNDLE
        return {
            f"{BUNDLE}/{path.relative_to(bundle).as_posix()}": path.read_bytes()
            for path in sorted(bundle.rglob("*"))
            if path.is_file()
        }


def _scratch() -> str | None:
    """Where the pages for Pagefind and its bundle are written and read back: memory (Linux's /dev/shm) when there is
    one to write to, since they are deleted at once (a third of the time of indexing 1,000 records on a disk); else,
    or when that fails, the system's temporary folder."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


def _check(records: list[SearchRecord], language: str) -> None:
    if not _LANGUAGE.fullmatch(language):
        raise SearchError(f"{language!r} is not a language code such as 'en' or 'pt-BR'")
    seen: set[str] = set()
    for record in records:
        if not _URL.fullmatch(record.url) or {".", ".."} & set(record.url.split("/")):
            raise SearchError(f"{record.url!r} is not a relative URL of a folder ('a/b/') or an .html page")
        if record.url.split("/")[0] == BUNDLE:
            raise SearchError(f"{record.url!r} is inside {BUNDLE}/, the folder of the search index")
        if record.url in seen:
            raise SearchError(f"two records have the URL {record.url!r}")
        seen.add(record.url)
        for key, values in record.filters.items():
            if not _FILTER_KEY.fullmatch(key):
                raise SearchError(f"{record.url}: filter name {key!r} must be letters, digits, '_' or '-'")
            if any(not value.strip() for value in values):
                raise SearchError(f"{record.url}: filter {key!r} has an empty value")


def _page_path(url: str) -> str:
    return url + "index.html" if url == "" or url.endswith("/") else url


def _page(record: SearchRecord, language: str) -> str:
    """The HTML page Pagefind indexes for `record`: the title (as the result title), the text, and the filters,
    which are kept out of the indexed text."""
    esc = html.escape
    filters = "".join(
        f'<span data-pagefind-filter="{esc(key)}">{esc(value)}</span>'
        for key in sorted(record.filters)
        for value in dict.fromkeys(record.filters[key])
    )
    paragraphs = "".join(f"<p>{esc(part)}</p>" for part in re.split(r"\n\s*\n", record.text) if part.strip())
    return (
        f'<!doctype html>\n<html lang="{esc(language)}"><head><meta charset="utf-8"><title>{esc(record.title)}</title>'
        f'</head><body><main data-pagefind-body><h1 data-pagefind-meta="title">{esc(record.title)}</h1>'
        f"<div data-pagefind-ignore>{filters}</div>{paragraphs}</main></body></html>\n"
    )


def _run_pagefind(site: Path, language: str, cwd: Path) -> None:
    executable = get_executable()
    if executable is None or not executable.is_file():
        raise SearchError("the Pagefind binary is missing; install it with: pip install 'pagefind[bin]'")
    # Pagefind reads PAGEFIND_* variables and a pagefind.{toml,yml,json} in its working folder: run it without
    # either, so that only the arguments here decide the index.
    env = {name: value for name, value in os.environ.items() if not name.upper().startswith("PAGEFIND_")}
    command = [
        str(executable),
        "--site", str(site),
        "--output-subdir", BUNDLE,
        "--force-language", language,
        "--quiet",
    ]  # fmt: skip
    try:
        result = subprocess.run(
            command,
            check=False,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired as error:
        raise SearchError(f"Pagefind did not finish within {TIMEOUT_SECONDS} s") from error
    except OSError as error:
        raise SearchError(f"could not run Pagefind ({executable}): {error}") from error
    if result.returncode != 0:
        output = (result.stderr.strip() or result.stdout.strip())[-2000:]
        raise SearchError(f"Pagefind failed (exit status {result.returncode}): {output}")


def _check_bundle(files: Mapping[str, bytes], pages: int) -> None:
    """Raise SearchError unless the bundle has an entry file that counts `pages` pages and every compressed
    file decompresses (a truncated file would break search in the browser, not here)."""
    entry = _entry(files)
    counted = sum(language["page_count"] for language in entry["languages"].values())
    if counted != pages:
        raise SearchError(f"Pagefind indexed {counted} pages of {pages}")
    for name, data in files.items():
        if name.endswith((".pf_meta", ".pf_index", ".pf_filter", ".pf_fragment", ".pagefind")):
            try:
                zlib.decompress(data, wbits=31)
            except zlib.error as error:
                raise SearchError(f"Pagefind wrote a damaged file {name}: {error}") from error


def _entry(files: Mapping[str, bytes]) -> dict[str, Any]:
    name = f"{BUNDLE}/pagefind-entry.json"
    try:
        entry = json.loads(files[name])
    except (KeyError, ValueError) as error:
        raise SearchError(f"Pagefind wrote no readable {name} ({error})") from error
    languages = entry.get("languages") if isinstance(entry, dict) else None
    if not isinstance(languages, dict) or not all(
        isinstance(language, dict) and isinstance(language.get("hash"), str) and type(language.get("page_count")) is int
        for language in languages.values()
    ):
        raise SearchError(f"{name} does not list its languages as pagefind 1.5 does")
    return dict(entry)


def _canonical(files: dict[str, bytes]) -> dict[str, bytes]:
    """`files` with the filter files sorted by value and every name that depends on them recomputed."""
    files = dict(files)
    entry = _entry(files)
    for code, language in sorted(entry["languages"].items()):
        meta_name = f"{BUNDLE}/pagefind.{language['hash']}.pf_meta"
        meta = _load(files, meta_name)
        if not (isinstance(meta, list) and len(meta) > 3 and isinstance(meta[3], list)):
            raise _layout(meta_name)
        filters: list[Cbor] = []
        for item in meta[3]:
            if not (
                isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) and isinstance(item[1], str)
            ):
                raise _layout(meta_name)
            name, old_hash = item[0], item[1]
            filter_name = f"{BUNDLE}/filter/{old_hash}.pf_filter"
            index = _load(files, filter_name)
            if not (isinstance(index, list) and len(index) == 2 and index[0] == name and isinstance(index[1], list)):
                raise _layout(filter_name)
            index[1] = sorted(index[1], key=_filter_value_key(filter_name))
            data = _encode(index)
            del files[filter_name]
            new_hash = _free_hash(files, code, data, 7, lambda h: f"{BUNDLE}/filter/{h}.pf_filter")
            files[f"{BUNDLE}/filter/{new_hash}.pf_filter"] = _compress(data)
            filters.append([name, new_hash])
        meta[3] = sorted(filters, key=lambda item: str(item[0]) if isinstance(item, list) else "")
        data = _encode(meta)
        del files[meta_name]
        new_hash = _free_hash(files, code, data, 10, lambda h: f"{BUNDLE}/pagefind.{h}.pf_meta")
        files[f"{BUNDLE}/pagefind.{new_hash}.pf_meta"] = _compress(data)
        language["hash"] = new_hash
    entry["languages"] = dict(sorted(entry["languages"].items()))
    files[f"{BUNDLE}/pagefind-entry.json"] = json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode()
    return dict(sorted(files.items()))


def _filter_value_key(name: str) -> Callable[[Cbor], str]:
    def key(value: Cbor) -> str:
        if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)):
            raise _layout(name)
        return value[0]

    return key


def _free_hash(files: Mapping[str, bytes], language: str, data: bytes, length: int, path: Callable[[str], str]) -> str:
    """`language`_ and the first `length` hex digits of the SHA-256 of `data`, longer if that name is taken."""
    digest = hashlib.sha256(data).hexdigest()
    while path(f"{language}_{digest[:length]}") in files:
        length += 1
    return f"{language}_{digest[:length]}"


def _layout(name: str) -> SearchError:
    return SearchError(f"{name} is not laid out as pagefind 1.5 writes it; is pagefind[bin] newer?")


def _load(files: Mapping[str, bytes], name: str) -> Cbor:
    try:
        raw = zlib.decompress(files[name], wbits=31)
        if not raw.startswith(SIGNATURE):
            raise ValueError("no pagefind_dcd signature")
        value, end = _decode(raw, len(SIGNATURE))
        if end != len(raw):
            raise ValueError("data after the CBOR value")
    except (KeyError, ValueError, IndexError, zlib.error) as error:
        raise SearchError(f"cannot read {name} from Pagefind's bundle ({error})") from error
    return value


def _compress(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def _decode(data: bytes, at: int) -> tuple[Cbor, int]:
    """The CBOR value at `data[at:]` and the offset after it."""
    major, info = data[at] >> 5, data[at] & 31
    at += 1
    if info < 24:
        argument = info
    elif info <= 27:
        size = 1 << (info - 24)
        argument = int.from_bytes(data[at : at + size], "big")
        at += size
    else:
        raise ValueError(f"unsupported CBOR item {data[at - 1]:#04x}")
    if major == 0:
        return argument, at
    if major == 1:
        return -1 - argument, at
    if major in (2, 3):
        chunk = data[at : at + argument]
        if len(chunk) != argument:
            raise ValueError("truncated CBOR string")
        return (chunk if major == 2 else chunk.decode("utf-8")), at + argument
    if major == 4:
        items: list[Cbor] = []
        for _ in range(argument):
            item, at = _decode(data, at)
            items.append(item)
        return items, at
    raise ValueError(f"unsupported CBOR major type {major}")


def _encode(value: Cbor) -> bytes:
    """`value` as CBOR with the shortest heads, as Pagefind (minicbor) writes it, after the signature."""
    return SIGNATURE + b"".join(_encode_parts(value))


def _encode_parts(value: Cbor) -> Iterable[bytes]:
    if isinstance(value, int):
        yield _head(0, value) if value >= 0 else _head(1, -1 - value)
    elif isinstance(value, bytes):
        yield _head(2, len(value))
        yield value
    elif isinstance(value, str):
        encoded = value.encode("utf-8")
        yield _head(3, len(encoded))
        yield encoded
    else:
        yield _head(4, len(value))
        for item in value:
            yield from _encode_parts(item)


def _head(major: int, argument: int) -> bytes:
    if argument < 24:
        return bytes([major << 5 | argument])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if argument < 1 << (8 * size):
            return bytes([major << 5 | info]) + argument.to_bytes(size, "big")
    raise ValueError(f"CBOR argument too large: {argument}")
