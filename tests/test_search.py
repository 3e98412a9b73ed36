"""The catalog's search index: how words are taken, what each file holds, byte-identical builds, and an index changed
in place that is, byte for byte, the index made whole from the same trials.

The files are read here as static/search.js reads them (tests/browser/test_catalog_search.py searches in Chromium).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sitegen.catalog import search
from sitegen.catalog.search import Doc, counts_of, make_index, update_index, words

DOCS = [
    Doc("trials/nct01234567/", "Doxorubicin and ifosfamide in soft-tissue sarcoma", "Soft-tissue sarcoma",
        "Active, not recruiting", "Phase 3"),
    Doc("trials/nct05836571/", "Imatinib for gastrointestinal stromal tumours", "GIST", "Recruiting", "Phase 2"),
    Doc("trials/nct09999999/", "Exercise during treatment for Ewing sarcoma", "Ewing sarcoma", "Recruiting", ""),
]
TEXTS = [
    "Chemotherapy before surgery for sarcoma of the limbs, at Zürich and São Paulo.",
    "Adults with GIST take imatinib by mouth every day. The study measures how long tumours stay controlled.",
    "Teenagers follow a supervised exercise programme while on chemotherapy.",
]


@pytest.fixture(scope="module")
def index() -> dict[str, bytes]:
    return make_index(DOCS, [counts_of(d.title, text) for d, text in zip(DOCS, TEXTS)])


def postings(index: dict[str, bytes], term: str) -> list[tuple[int, int]]:
    """The documents having `term` and how often, read as search.js reads them."""
    head = json.loads(index["search/index.json"])
    held = json.loads(index.get(search.term_file(term, head["termFiles"]), b"{}"))
    found, number = [], -1
    for value in held.get(term, []):
        number += value // 16
        found.append((number, value % 16))
    return found


def test_words_are_letters_and_digits_in_lower_case_without_accents() -> None:
    assert words("Sjögren's NAÏVE café x_y 2.8g/dL São-Paulo ﬁve") == [
        "sjogren", "s", "naive", "cafe", "x", "y", "2", "8g", "dl", "sao", "paulo", "five"]
    assert words("İstanbul") == ["istanbul"]  # its dot above, split off by NFKD, is dropped with the accents
    assert words("a" * 50) == ["a" * search.MAX_TERM]


def test_a_run_of_chinese_or_japanese_characters_is_one_word() -> None:
    """README (Search): a run of Chinese or Japanese characters is one word. NFKD splits a voiced kana (が, パ, and
    the half-width ｶﾞ) into the kana and a combining mark, which ended the word: 肉腫がん was '肉腫か' and 'ん'."""
    assert words("肉腫がん 軟部肉腫 パッチ ｶﾞﾝ") == ["肉腫かん", "軟部肉腫", "ハッチ", "カン"]


def test_search_js_drops_the_marks_search_py_drops() -> None:
    """The browser splits a query into words as the index was split, or a word of the index is never found."""
    script = (Path(search.__file__).parent.parent / "static" / "search.js").read_text(encoding="utf-8")
    marks = re.search(r"var MARKS = /(\[[^\]]*\])/g;", script)
    assert marks is not None and marks.group(1).encode().decode("unicode_escape") == search._MARKS.pattern


def test_a_title_word_counts_more_than_one_in_the_text() -> None:
    counts = counts_of("Ewing sarcoma", "Sarcoma of the bone; sarcoma again.")
    assert counts["sarcoma"] == 2 + search.TITLE_WEIGHT and counts["ewing"] == search.TITLE_WEIGHT
    assert counts["bone"] == 1


def test_each_document_is_found_by_its_words_with_how_often_it_has_them(index: dict[str, bytes]) -> None:
    assert postings(index, "sarcoma") == [(0, 1 + search.TITLE_WEIGHT), (2, search.TITLE_WEIGHT)]
    assert postings(index, "chemotherapy") == [(0, 1), (2, 1)]
    assert postings(index, "zurich") == postings(index, "sao") == [(0, 1)]
    assert postings(index, "imatinib") == [(1, 1 + search.TITLE_WEIGHT)]
    assert postings(index, "melanoma") == []


def test_the_words_files_list_each_term_by_its_start_with_its_number_of_documents(index: dict[str, bytes]) -> None:
    head = json.loads(index["search/index.json"])
    listed = json.loads(index[search.words_file("sarcoma")])
    assert search.words_file("sarcoma") == "search/words/7361.json"  # 'sa' in UTF-8
    assert listed["sarcoma"] == 2 and listed["sao"] == 1 and all(term.startswith("sa") for term in listed)
    names = sorted(name.removeprefix("search/words/").removesuffix(".json") for name in index if "/words/" in name)
    assert head["words"] == names


def test_index_json_and_the_docs_files_describe_the_documents(index: dict[str, bytes]) -> None:
    head = json.loads(index["search/index.json"])
    assert {k: v for k, v in head.items() if k not in ("version", "words")} == {
        "format": 1, "documents": 3, "termFiles": 1, "docsPerFile": search.DOCS_PER_FILE}
    assert json.loads(index["search/docs/0.json"])[2] == [
        "trials/nct09999999/", "Exercise during treatment for Ewing sarcoma", "Ewing sarcoma", "Recruiting", ""]
    assert search.term_files(10_000) == 512 and search.term_files(1_000) == 32 and search.term_files(3) == 1


def test_the_same_documents_give_the_same_bytes_and_any_change_a_new_version(index: dict[str, bytes]) -> None:
    reordered = [dict(reversed(list(counts_of(d.title, t).items()))) for d, t in zip(DOCS, TEXTS)]
    assert make_index(DOCS, reordered) == index
    other = make_index(DOCS, [counts_of(d.title, t + " more") for d, t in zip(DOCS, TEXTS)])
    assert json.loads(other["search/index.json"])["version"] != json.loads(index["search/index.json"])["version"]


def test_the_hash_naming_a_terms_file_is_fnv_1a() -> None:
    # FNV-1a 32-bit test vectors (search.js computes the same with Math.imul)
    assert search.term_file("a", 2 ** 32) == f"search/terms/{0xE40C292C}.json"
    assert search.term_file("foobar", 2 ** 32) == f"search/terms/{0xBF9CF968}.json"


def test_no_documents_give_an_index_of_nothing() -> None:
    files = make_index([], [])
    assert list(files) == ["search/index.json"]
    assert json.loads(files["search/index.json"])["documents"] == 0


def test_an_index_it_cannot_change_in_place_is_refused(index: dict[str, bytes]) -> None:
    change = {0: (counts_of(DOCS[0].title, TEXTS[0]), {"new": 1})}
    assert update_index(DOCS[:2], change, index) is None  # other documents
    assert update_index(DOCS, change, {k: v for k, v in index.items() if k != "search/index.json"}) is None
    damaged = dict(index)
    damaged[search.term_file("new", 1)] = b"not json"
    assert update_index(DOCS, change, damaged) is None


_WORDS = st.sampled_from(["sarcoma", "sarcomas", "gist", "imatinib", "zürich", "zurich", "a", "b", "ewing", "bone",
                          "2", "x" * 45])
_TEXT = st.lists(_WORDS, max_size=12).map(" ".join)


@settings(max_examples=60, deadline=None)
@given(before=st.lists(_TEXT, min_size=1, max_size=6), data=st.data())
def test_an_index_changed_in_place_is_the_index_made_whole(before: list[str], data: st.DataObject) -> None:
    docs = [Doc(f"trials/t{n}/", f"T{n}", "", "", "") for n in range(len(before))]
    counts = [counts_of(d.title, text) for d, text in zip(docs, before)]
    made = make_index(docs, counts)
    edited = data.draw(st.sets(st.integers(0, len(docs) - 1), min_size=1))
    after = list(counts)
    for n in edited:
        after[n] = counts_of(docs[n].title, data.draw(_TEXT))
    changed = update_index(docs, {n: (counts[n], after[n]) for n in edited}, made)
    assert changed == make_index(docs, after)


def test_a_cache_made_with_other_unicode_data_is_not_trusted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Python's Unicode data decides which characters are letters, so what a trial's words are."""
    from sitegen.catalog import state

    before = state.code_digest.__wrapped__()
    monkeypatch.setattr(state.unicodedata, "unidata_version", "0.0.0")
    assert state.code_digest.__wrapped__() != before
