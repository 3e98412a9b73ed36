"""The Pagefind search index: the files the UI needs, byte-identical builds, and words and filters that can be found.

The index files are read as Pagefind's search library reads them (gzip, a signature, then CBOR or JSON), so what
a browser would find is checked without a browser.
"""

from __future__ import annotations

import json
import re
import zlib
from pathlib import Path

import pytest

from sitegen.catalog import search
from sitegen.catalog.search import SearchError, SearchRecord, search_index

RECORDS = [
    SearchRecord(
        "trials/nct05836571/",
        "Imatinib for gastrointestinal stromal tumours",
        "Adults with GIST take imatinib by mouth every day.\n\nThe study measures how long tumours stay controlled.",
        {"status": ("Recruiting",), "phase": ("Phase 2",), "condition": ("GIST",)},
    ),
    SearchRecord(
        "trials/nct01234567/",
        "Doxorubicin and ifosfamide in soft-tissue sarcoma",
        "Chemotherapy before surgery for sarcoma of the limbs.",
        {"status": ("Active, not recruiting",), "phase": ("Phase 3",), "condition": ("Soft-tissue sarcoma",)},
    ),
    SearchRecord(
        "trials/nct09999999/",
        "Exercise during treatment for Ewing sarcoma",
        "Teenagers follow a supervised exercise programme while on chemotherapy.",
        {"status": ("Recruiting",), "phase": ("Phase 2", "Phase 3"), "condition": ("Ewing sarcoma",)},
    ),
]


@pytest.fixture(scope="module")
def bundle() -> dict[str, bytes]:
    return search_index(RECORDS, "en")


def unpack(data: bytes) -> bytes:
    """An index file's content: gunzipped, without the signature Pagefind checks."""
    raw = zlib.decompress(data, wbits=31)
    assert raw.startswith(b"pagefind_dcd")
    return raw[len(b"pagefind_dcd") :]


def cbor(data: bytes) -> search.Cbor:
    value, end = search._decode(data, 0)
    assert end == len(data)
    return value


def named(bundle: dict[str, bytes], pattern: str) -> list[str]:
    return sorted(name for name in bundle if re.fullmatch(pattern, name))


def test_the_bundle_has_the_index_the_library_and_the_ui(bundle: dict[str, bytes]) -> None:
    for name in [
        "pagefind/pagefind-entry.json",
        "pagefind/pagefind.js",
        "pagefind/pagefind-worker.js",
        "pagefind/pagefind-ui.js",
        "pagefind/pagefind-ui.css",
        "pagefind/pagefind-component-ui.js",
        "pagefind/pagefind-component-ui.css",
        "pagefind/wasm.en.pagefind",
        "pagefind/wasm.unknown.pagefind",
    ]:
        assert bundle.get(name), name
    assert all(name.startswith("pagefind/") for name in bundle)
    assert len(named(bundle, r"pagefind/pagefind\.en_[0-9a-f]{10}\.pf_meta")) == 1
    assert len(named(bundle, r"pagefind/fragment/en_[0-9a-f]+\.pf_fragment")) == 3
    assert len(named(bundle, r"pagefind/filter/en_[0-9a-f]+\.pf_filter")) == 3  # status, phase, condition
    assert named(bundle, r"pagefind/index/en_[0-9a-f]+\.pf_index")
    assert not any("playground" in name for name in bundle)


def test_the_entry_file_counts_the_pages_and_names_the_metadata(bundle: dict[str, bytes]) -> None:
    entry = json.loads(bundle["pagefind/pagefind-entry.json"])
    assert entry["version"] == "1.5.2"
    assert list(entry["languages"]) == ["en"]
    english = entry["languages"]["en"]
    assert english["page_count"] == 3
    assert english["wasm"] == "en"
    assert f"pagefind/pagefind.{english['hash']}.pf_meta" in bundle


def test_two_builds_are_byte_identical_whatever_the_order_of_the_records(bundle: dict[str, bytes]) -> None:
    again = search_index(list(reversed(RECORDS)), "en")
    assert list(again) == list(bundle)
    assert [name for name in bundle if again[name] != bundle[name]] == []


def test_each_record_is_a_result_with_its_url_title_text_and_filters(bundle: dict[str, bytes]) -> None:
    fragments = [json.loads(unpack(bundle[name])) for name in named(bundle, r"pagefind/fragment/.*")]
    by_url = {fragment["url"]: fragment for fragment in fragments}
    # Root-relative: the UI puts the folder above pagefind/ in front, so a site under a sub-path works.
    assert sorted(by_url) == ["/trials/nct01234567/", "/trials/nct05836571/", "/trials/nct09999999/"]
    gist = by_url["/trials/nct05836571/"]
    assert gist["meta"]["title"] == "Imatinib for gastrointestinal stromal tumours"
    assert "take imatinib by mouth" in gist["content"]
    assert "stay controlled" in gist["content"]
    assert "Recruiting" not in gist["content"]  # filter values are not searchable text
    assert gist["filters"] == {"condition": ["GIST"], "phase": ["Phase 2"], "status": ["Recruiting"]}
    assert by_url["/trials/nct09999999/"]["filters"]["phase"] == ["Phase 2", "Phase 3"]


def test_the_words_of_the_records_are_in_the_word_index(bundle: dict[str, bytes]) -> None:
    words: set[str] = set()
    for name in named(bundle, r"pagefind/index/.*"):
        chunk = cbor(unpack(bundle[name]))
        assert isinstance(chunk, list) and isinstance(chunk[0], list)
        words.update(entry[0] for entry in chunk[0] if isinstance(entry, list) and isinstance(entry[0], str))
    # Stemmed English, as the browser stems the query: 'tumours' is indexed as 'tumour', 'teenagers' as 'teenag'.
    assert {"imatinib", "doxorubicin", "sarcoma", "tumour", "teenag", "chemotherapi", "softtissu"} <= words
    assert "recruit" not in words  # filter values are not searchable text


def test_filters_list_their_values_sorted_with_their_pages(bundle: dict[str, bytes]) -> None:
    meta = cbor(unpack(bundle[named(bundle, r"pagefind/pagefind\..*\.pf_meta")[0]]))
    assert isinstance(meta, list) and isinstance(meta[3], list)
    filters: dict[str, dict[str, int]] = {}
    for item in meta[3]:
        assert isinstance(item, list) and isinstance(item[0], str) and isinstance(item[1], str)
        index = cbor(unpack(bundle[f"pagefind/filter/{item[1]}.pf_filter"]))
        assert isinstance(index, list) and index[0] == item[0] and isinstance(index[1], list)
        values = filters.setdefault(item[0], {})
        for value in index[1]:
            assert isinstance(value, list) and isinstance(value[0], str) and isinstance(value[1], list)
            values[value[0]] = len(value[1])
    assert list(filters) == ["condition", "phase", "status"]
    assert filters["status"] == {"Active, not recruiting": 1, "Recruiting": 2}
    assert filters["phase"] == {"Phase 2": 2, "Phase 3": 2}
    assert list(filters["condition"]) == ["Ewing sarcoma", "GIST", "Soft-tissue sarcoma"]


def test_no_records_give_no_files() -> None:
    assert search_index([], "en") == {}


@pytest.mark.parametrize(
    ("records", "language", "message"),
    [
        ([RECORDS[0]], "English", "not a language code"),
        ([SearchRecord("/trials/a/", "A", "a", {})], "en", "not a relative URL"),
        ([SearchRecord("../a/", "A", "a", {})], "en", "not a relative URL"),
        ([SearchRecord("a/./b/", "A", "a", {})], "en", "not a relative URL"),
        ([SearchRecord("a/b", "A", "a", {})], "en", "not a relative URL"),
        ([SearchRecord("pagefind/a/", "A", "a", {})], "en", "folder of the search index"),
        ([SearchRecord("a/", "A", "a", {}), SearchRecord("a/", "B", "b", {})], "en", "two records have the URL"),
        ([SearchRecord("a/", "A", "a", {"phase:x": ("1",)})], "en", "filter name"),
        ([SearchRecord("a/", "A", "a", {"phase": (" ",)})], "en", "empty value"),
    ],
)
def test_records_pagefind_cannot_take_are_refused(records: list[SearchRecord], language: str, message: str) -> None:
    with pytest.raises(SearchError, match=message):
        search_index(records, language)


def test_a_failing_pagefind_is_reported_with_its_own_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "pagefind"
    fake.write_text("#!/bin/sh\necho 'Error: the disk is full' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(fake))
    with pytest.raises(SearchError, match=r"exit status 3\): Error: the disk is full"):
        search_index(RECORDS, "en")


def test_a_missing_pagefind_binary_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(tmp_path / "nowhere"))
    with pytest.raises(SearchError, match="binary is missing"):
        search_index(RECORDS, "en")


def test_pagefind_reads_and_writes_in_memory_on_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    folders: list[Path] = []
    real = search._run_pagefind
    monkeypatch.setattr(search, "_run_pagefind", lambda site, *a, **k: folders.append(site) or real(site, *a, **k))
    assert search_index(RECORDS, "en")
    assert folders and folders[0].is_relative_to("/dev/shm") and not folders[0].exists()


def test_when_memory_cannot_take_the_scratch_pages_the_index_is_made_on_disk(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(search, "_scratch", lambda: str(tmp_path / "full"))  # as if /dev/shm refused every write
    assert json.loads(search_index(RECORDS, "en")["pagefind/pagefind-entry.json"])["languages"]["en"]["page_count"] == 3
