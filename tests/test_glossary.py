"""The glossary: every defined term marked on its first use per page, never inside links, headings, citations or
code; a glossary page listing every entry with links back; content errors at their file, line and column."""

from __future__ import annotations

import json
import random
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator
from schemaorg import Vocabulary, validate
from sitetext import read_page

from sitegen import schemadoc
from sitegen.build import build
from sitegen.cli import main
from sitegen.errors import ContentError
from sitegen.glossary import KNOWN_LENGTH, KNOWN_TERMS, KNOWN_TEXTS, TermFinder, mark_terms, term_forms, term_id
from sitegen.load import load_yaml
from sitegen.project import Project
from sitegen.schema import Glossary
from sitegen.validate import validate_glossary

ROOT = Path(__file__).resolve().parent.parent
GLOSSARY = validate_glossary(load_yaml(ROOT / "content" / "glossary.yaml"))
FINDER = TermFinder(GLOSSARY)  # which terms a text holds (its matching is tested on its own below)
MARKED_PAGES = ["index.html", "faq/index.html", "eligibility/index.html", "timeline/index.html", "arms/index.html",
                "approvals/index.html", "findings/index.html"]
# Where a term is never marked: the tags, and the classes of citations, the reference list and hidden text.
SKIPPED_TAGS = {"a", "h1", "h2", "h3", "h4", "h5", "h6", "code", "pre", "th", "dt", "caption", "abbr", "dfn"}
SKIPPED_CLASSES = {"cite", "references", "backlinks", "visually-hidden"}
VOID = {"br", "hr", "img", "input", "link", "meta", "wbr", "source", "area", "col", "embed", "track", "base"}


class _Text(HTMLParser):
    """The text of <main>, each piece with whether a glossary mark holds it and whether it may be marked at all."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict[str, str | None]]] = []
        self.pieces: list[tuple[str, str | None, bool]] = []  # text, id of the mark holding it, markable
        self.marks: list[tuple[str, list[str]]] = []  # each mark's term id and the tags around it

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "a" and a.get("class") == "glossary-term":
            self.marks.append(((a.get("id") or "").removeprefix("use-"), [t for t, _ in self.stack]))
            assert a.get("href", "").endswith(f"glossary/index.html#term-{self.marks[-1][0]}")
        if tag not in VOID:
            self.stack.append((tag, a))

    def handle_endtag(self, tag: str) -> None:
        names = [t for t, _ in self.stack]
        if tag in names:
            del self.stack[len(names) - 1 - names[::-1].index(tag):]

    def handle_data(self, data: str) -> None:
        if not any(t == "main" for t, _ in self.stack):
            return
        mark = next((a["id"].removeprefix("use-") for t, a in self.stack
                     if t == "a" and a.get("class") == "glossary-term" and a.get("id")), None)
        outer = [(t, a) for t, a in self.stack if not (t in ("a", "abbr") and mark is not None)]
        markable = not any(
            t in SKIPPED_TAGS or set((a.get("class") or "").split()) & SKIPPED_CLASSES or a.get("aria-hidden") == "true"
            for t, a in outer
        )
        self.pieces.append((data, mark, markable))


def _read(path: Path) -> _Text:
    reader = _Text()
    reader.feed(path.read_text(encoding="utf-8"))
    return reader


def test_every_defined_term_is_marked_on_its_first_use_and_never_in_links_headings_or_citations(site: Path) -> None:
    used_somewhere: set[str] = set()
    for name in MARKED_PAGES:
        page = _read(site / name)
        ids = [m for m, _ in page.marks]
        assert len(ids) == len(set(ids)), f"{name}: a term is marked twice"
        for term_id_, around in page.marks:
            assert not {"h1", "h2", "h3", "h4", "h5", "h6", "a", "sup", "code", "pre", "th", "dt"} & set(around), (
                name, term_id_, around)
        found = [(text, mark, {term_id(f.term) for f in FINDER.find(text)}) for text, mark, markable in page.pieces
                 if markable]
        for term in GLOSSARY.terms:
            anchor = term_id(term)
            # the first markable place the term is written must be its mark; no unmarked use comes before it
            first = next(((text, mark) for text, mark, terms in found if anchor in terms), None)
            if first is None:
                assert anchor not in ids, f"{name}: '{term.term}' marked but not used in running text"
                continue
            assert first[1] == anchor, f"{name}: the first use of '{term.term}' is not marked: {first[0]!r}"
            used_somewhere.add(anchor)
    # every entry of the default glossary is a term the default pages use
    assert used_somewhere == {term_id(t) for t in GLOSSARY.terms}


def test_abbreviations_are_abbr_elements_with_their_expansion(site: Path) -> None:
    html = (site / "arms/index.html").read_text(encoding="utf-8")
    assert ('<a class="glossary-term" href="../glossary/index.html#term-po" id="use-po">'
            '<abbr title="by mouth">PO</abbr></a>') in html
    for abbreviation, expansion in (("QD", "once a day"), ("QOD", "every other day"), ("IV", "intravenous"),
                                    ("CT", "computed tomography"), ("MRI", "magnetic resonance imaging")):
        assert html.count(f'<abbr title="{expansion}">{abbreviation}</abbr>') == 1
    index = (site / "index.html").read_text(encoding="utf-8")
    assert '<abbr title="cytochrome P450 3A4">CYP3A4</abbr>' in index
    head = index[: index.index("<body")]
    assert "glossary-term" not in head  # nothing in the head, the JSON-LD or the title


def test_the_glossary_page_lists_every_entry_with_links_back(site: Path) -> None:
    html = (site / "glossary/index.html").read_text(encoding="utf-8")
    entries = re.findall(r'<dt id="term-([a-z0-9-]+)"><dfn>', html)
    assert sorted(entries) == sorted(term_id(t) for t in GLOSSARY.terms)
    backlinks = set(re.findall(r'<a href="\.\./((?:[a-z]+/)?index\.html)#use-([a-z0-9-]+)">', html))
    marks = {(name, m) for name in MARKED_PAGES for m, _ in _read(site / name).marks}
    assert backlinks == marks  # each entry links to every page that marks it, and to no other
    text = read_page(site / "glossary/index.html").text
    for term in GLOSSARY.terms:
        assert term.definition in text
    assert "PO (by mouth) Swallowed, such as a pill or a liquid." in text
    assert "Used on: PO is used on Treatment arms" in text  # the link's name says which entry it is from


def test_the_glossary_is_in_the_navigation_after_findings_and_in_the_structured_data(site: Path) -> None:
    for name in MARKED_PAGES + ["glossary/index.html"]:
        nav = re.search(r'<nav class="site-nav".*?</nav>', (site / name).read_text(encoding="utf-8"), re.DOTALL)
        assert nav is not None
        titles = re.findall(r">([^<>]+)</a></li>", nav.group(0))
        assert titles[-2:] == ["Findings", "Glossary"], name
    data = read_page(site / "glossary/index.html").jsonld[0]
    assert validate(data, Vocabulary.load()) == []
    terms = data["mainEntity"]["hasDefinedTerm"]
    assert data["mainEntity"]["@type"] == "DefinedTermSet" and len(terms) == len(GLOSSARY.terms)
    po = next(t for t in terms if t.get("alternateName") == "PO")
    assert po == {"@type": "DefinedTerm", "@id": "https://example.org/glossary/#term-po", "name": "by mouth",
                  "alternateName": "PO", "description": GLOSSARY.terms[0].definition}


def _glossary(*terms: dict[str, object]) -> Glossary:
    return Glossary.model_validate({"terms": [{"definition": "A meaning.", **t} for t in terms]})


def _mark(body: str, glossary: Glossary) -> tuple[str, tuple[str, ...]]:
    page = f"<html><head><title>PO</title></head><body><nav><a href='x'>PO</a></nav><main>{body}</main><footer>PO</footer></body></html>"
    marked, ids = mark_terms(page, TermFinder(glossary), "../glossary/index.html")
    inside = marked[marked.index("<main>") + 6: marked.index("</main>")]
    assert marked.replace(inside, body) == page  # nothing outside <main> changes, byte for byte
    return inside, ids


def test_marking_leaves_links_headings_citations_code_and_hidden_text_alone() -> None:
    glossary = _glossary({"term": "by mouth", "abbreviation": "PO"})
    body = ("<h2>PO</h2><p><a href='a'>PO</a> <sup class=\"cite\">PO</sup> <code>PO</code> "
            "<span class=\"visually-hidden\">PO</span> <span aria-hidden=\"true\">PO</span></p><ol class=\"references\">"
            "<li>PO</li></ol><table><tr><th>PO</th><td>take it PO daily; PO again</td></tr></table>")
    inside, ids = _mark(body, glossary)
    assert ids == ("po",)
    assert inside == body.replace(
        "<td>take it PO daily",
        '<td>take it <a class="glossary-term" href="../glossary/index.html#term-po" id="use-po">'
        '<abbr title="by mouth">PO</abbr></a> daily',
    )


def test_an_element_left_alone_is_passed_over_to_its_own_end_tag() -> None:
    """Elements of its name inside it are counted; the attributes of a tag may hold '>'; an element closed by an
    end tag in capitals ends there too."""
    glossary = _glossary({"term": "by mouth", "abbreviation": "PO"})
    body = ('<p><span class="visually-hidden"><span>PO</span> PO <span title="a > PO">PO</span></span> '
            '<a href="x" title="PO > PO">PO</a> <H2>PO</H2> <a>PO</A> <dt id="d">PO <em>PO</em></dt> <!-- PO --> PO</p>')
    inside, ids = _mark(body, glossary)
    assert ids == ("po",)
    assert inside == body.replace("--> PO</p>", '--> <a class="glossary-term" href="../glossary/index.html#term-po" '
                                  'id="use-po"><abbr title="by mouth">PO</abbr></a></p>')


def test_a_lone_angle_bracket_is_text_and_the_walk_goes_on_after_it() -> None:
    """Not in sitegen's own pages (text is escaped), but a project's template may write one."""
    glossary = _glossary({"term": "by mouth", "abbreviation": "PO"}, {"term": "placebo"})
    inside, ids = _mark("<p>1 < 2 PO</p><p>3 <4 placebo</p>", glossary)
    assert ids == ("po", "placebo")
    assert 'href="../glossary/index.html#term-placebo" id="use-placebo">placebo</a>' in inside


_OLD_TAG = re.compile(r"<(?:!--.*?-->|![^>]*>|\?[^>]*>|(/?)([a-zA-Z][^\s/>]*)([^>\"']*(?:(?:\"[^\"]*\"|'[^']*')[^>\"']*)*)>)",
                      re.DOTALL)


def _marked_tag_by_tag(page: str, finder: TermFinder, href: str) -> tuple[str, tuple[str, ...]]:
    """mark_terms as it was written before its walk stepped past elements: every tag read in turn, with a stack of
    the open elements (here the oracle the walk must agree with on well-formed pages)."""
    from markupsafe import escape

    from sitegen import glossary as g

    out, copied, marked, open_tags, skip_from = [], 0, [], [], -1
    start = at = page.find("<main")
    link = f'<a class="glossary-term" href="{escape(href)}'
    for m in _OLD_TAG.finditer(page, start):
        begin = m.start()
        if begin < at:
            continue
        if begin > at and skip_from < 0:
            text = page[at:begin]
            if not text.isspace():
                new = g._mark_text(text, g.html.unescape(text) if "&" in text else text, finder, link, marked)
                if new is not text:
                    out += (page[copied:at], new)
                    copied = begin
        at = m.end()
        closing, name, attributes = m.groups()
        if name is None:
            continue
        tag = name.lower()
        if closing:
            if tag == "main":
                break
            for i in range(len(open_tags) - 1, -1, -1):
                if open_tags[i] == tag:
                    del open_tags[i:]
                    skip_from = skip_from if skip_from < i else -1
                    break
        elif tag in g._RAW_TEXT:
            found = page.find(f"</{tag}", at)
            at = len(page) if found < 0 else found
            skip_from = len(open_tags) if skip_from < 0 else skip_from
            open_tags.append(tag)
        elif tag not in g._VOID and not (attributes and attributes.rstrip().endswith("/")):
            if skip_from < 0 and (tag in g._SKIP_TAGS or (("class" in attributes or "aria-hidden" in attributes)
                                                           and g._skips(attributes))):
                skip_from = len(open_tags)
            open_tags.append(tag)
    return ("".join(out) + page[copied:], tuple(marked)) if out else (page, tuple(marked))


def test_the_walk_marks_what_reading_every_tag_marks_on_well_formed_pages() -> None:
    """Random well-formed pages: elements nested (those HTML allows no element of their own name inside, never in
    themselves), end tags in either case, attributes holding '>' or naming classes, comments, scripts, void
    elements."""
    rng = random.Random(0)
    tags = ["p", "div", "span", "li", "ul", "em", "a", "h2", "h3", "dt", "dd", "th", "td", "code", "cite", "sup", "nav",
            "label", "button", "table", "dfn", "P", "SPAN", "A", "H2"]
    attributes = ["", ' class="visually-hidden"', ' class="cite x"', ' class="x"', ' aria-hidden="true"', ' title="a > PO"',
                  " title='c>lass'", ' data-class="cite"', ' CLASS="no-glossary"', ' aria-hidden="false"']
    words = ["PO", "placebo", "by mouth", "stage IV", "IV", "the", "&amp;", "&lt;", "biopsies", "\n", "x"]
    alone = {"a", "h2", "h3", "dfn", "button", "label"}

    def node(depth: int, inside: frozenset[str]) -> str:
        r = rng.random()
        if depth > 5 or r < 0.3:
            return " ".join(rng.choice(words) for _ in range(rng.randint(0, 5)))
        if r < 0.36:
            return rng.choice(["<br>", "<img alt='x > PO'>", "<hr/>", "<!-- PO -->", "<script>a < b && PO</script>"])
        tag = rng.choice(tags)
        low = tag.lower()
        if low in inside or (low in ("h2", "h3") and {"h2", "h3"} & inside):
            return "PO"
        held = "".join(node(depth + 1, inside | ({low} & alone)) for _ in range(rng.randint(0, 4)))
        end = tag if rng.random() < 0.9 else tag.swapcase()
        return f"<{tag}{rng.choice(attributes)}>{held}</{end}>"

    finder = TermFinder(_glossary({"term": "by mouth", "abbreviation": "PO"}, {"term": "placebo"}, {"term": "biopsy"},
                                  {"term": "intravenous", "abbreviation": "IV"}))
    marked = 0
    for _ in range(1_500):
        body = "".join(node(0, frozenset()) for _ in range(rng.randint(1, 6)))
        page = f"<html><body><nav><a>PO</a></nav><main>{body}</main><footer>PO</footer></body></html>"
        expected = _marked_tag_by_tag(page, finder, "g.html")
        assert mark_terms(page, finder, "g.html") == expected, page
        marked += len(expected[1])
    assert marked > 1_000  # the pages mark terms, and leave many alone


def test_matching_is_whole_words_longest_first_case_insensitive_and_plural_aware() -> None:
    glossary = _glossary(
        {"term": "kinase inhibitor"}, {"term": "tyrosine kinase inhibitor"}, {"term": "biopsy"},
        {"term": "intravenous", "abbreviation": "IV", "variants": ["intravenously"]},
    )
    inside, ids = _mark(
        "<p>Tyrosine Kinase Inhibitors and a kinase inhibitor; two biopsies; stage IV; ivy; "
        "given IV, then intravenously.</p>", glossary,
    )
    assert ids == ("tyrosine-kinase-inhibitor", "kinase-inhibitor", "biopsy", "iv")
    assert ">Tyrosine Kinase Inhibitors</a>" in inside and ">kinase inhibitor</a>" in inside
    assert ">biopsies</a>" in inside and "stage IV;" in inside and "ivy" in inside
    assert '<abbr title="intravenous">IV</abbr></a>, then intravenously.' in inside  # the entry is marked once


def test_the_finder_agrees_with_one_pattern_of_every_form_longest_first() -> None:
    """The finder looks words up rather than trying every form at every place; on random texts made of forms,
    their pieces and odd neighbours it finds what one alternation of all forms (longest first) finds."""
    glossary = _glossary(
        {"term": "kinase inhibitor"}, {"term": "tyrosine kinase inhibitor"}, {"term": "T cell"},
        {"term": "intravenous", "abbreviation": "IV", "variants": ["intravenously"]}, {"term": "g/dL"},
        {"term": "(R)-form"}, {"term": "Ki-67"}, {"term": "body", "abbreviation": "BSA"}, {"term": "study"},
        {"term": "µg per litre"}, {"term": "cross-over"},
    )
    forms = [(form, exact) for term in glossary.terms for form, exact in term_forms(term)]
    forms.sort(key=lambda f: (-len(f[0]), f[0]))
    spec = re.compile(r"(?<![^\W\d_])(?<!-)(?:%s)(?![\w-])" % "|".join(
        re.escape(form) if exact else f"(?i:{re.escape(form)})" for form, exact in forms))
    pieces = [form for form, _ in forms] + ["tyrosine", "kinase", "KINASE INHIBITORS", "x", "2.8", "-", "_", "(",
                                             "stage", "iv", "cells", "Studies", "é", " ", " ", ", ", "\n",
                                             "μg per litre", "MΜG PER LITRE", "crosſ-over", "ſtudy"]
    rng = random.Random(0)
    finder = TermFinder(glossary)
    for _ in range(3000):
        text = "".join(rng.choice(pieces) + rng.choice(["", " ", "", "-", "s"]) for _ in range(rng.randint(1, 8)))
        expected = [(m.start(), m.end()) for m in spec.finditer(text)
                    if not (re.match(r"[IVXLC]+$", m.group(0)) and re.search(r"\b(?:stage)\s+$", text[:m.start()], re.I))]
        assert [(f.start, f.end) for f in finder.find(text)] == expected, text


def test_in_ascii_text_one_search_for_the_keys_finds_the_places_every_word_start_would() -> None:
    """ASCII text (most text) is searched for the forms' first words at once; the places found are those where
    a word that is one of them starts with no letter or hyphen before it, as looking at every word start finds."""
    glossary = _glossary({"term": "HER2"}, {"term": "T790M mutation"}, {"term": "her"}, {"term": "g/dL"},
                         {"term": "(R)-form"}, {"term": "5-FU"}, {"term": "study", "abbreviation": "ST"},
                         {"term": "cross-over"}, {"term": "µg"})
    finder = TermFinder(glossary)
    pieces = ["HER2", "her", "Her2x", "her_2", "t790m", "T790M mutation", "2.8g/dL", "g", "(R)-form", "(", "5-FU",
              "5", "FU", "study", "STUDIES", "st", "x", "-", "_", " ", ".", "1", "cross-over", "over", "a9", "µg"]
    rng = random.Random(1)
    for _ in range(3000):
        text = "".join(rng.choice(pieces) + rng.choice(["", " ", "", "-", "_", "s", "1"]) for _ in range(rng.randint(1, 8)))
        every = [(at, word) for at, word in finder._starts(text) if word in finder.by_word]
        if text.isascii():
            assert list(finder._ascii_starts(text)) == every, text


def test_a_very_long_word_and_hundreds_of_words_that_start_one_another_are_found_too() -> None:
    """The keys' pattern branches on their first few characters only: a deeper one would exceed the recursion of
    Python's pattern compiler (a word of 1,000 letters, or 500 words each starting the next)."""
    glossary = _glossary({"term": "x" * 1200}, *({"term": "w" * n} for n in range(1, 600)), {"term": "wax"})
    finder = TermFinder(glossary)
    text = f"a {'x' * 1200} b {'w' * 3} {'w' * 599}, {'w' * 600} wax."
    every = [(at, word) for at, word in finder._starts(text) if word in finder.by_word]
    assert list(finder._ascii_starts(text)) == every
    assert [text[f.start:f.end] for f in finder.find(text)] == ["x" * 1200, "www", "w" * 599, "wax"]


def test_a_form_s_pattern_is_compiled_when_a_text_first_has_its_first_word() -> None:
    """A glossary has a pattern for each first word of its forms (149 for the default one); a single page uses a
    few, so each is compiled on first use, once."""
    finder = TermFinder(GLOSSARY)
    assert len(finder.by_word) > 100 and finder.compiled == {}
    found = finder.find("Placebo tablets, then a placebo again; progression-free survival.")
    assert [f.term.term for f in found] == ["placebo", "placebo", "progression-free survival"]
    assert set(finder.compiled) == {"placebo", "progression"}
    first = finder.compiled["placebo"]
    finder.find("placebo")
    assert finder.compiled["placebo"] is first


def test_a_text_s_terms_are_found_once_and_at_most_known_texts_are_kept() -> None:
    """Pages repeat texts (labels, statuses, places): a finder keeps what it found in each, up to KNOWN_TEXTS texts
    of KNOWN_LENGTH characters and KNOWN_TERMS terms, then starts again, so memory stays bounded whatever the pages."""
    finder = TermFinder(GLOSSARY)
    text = "Placebo tablets, then a placebo again."
    first = finder.find(text)
    assert finder.find(text) is first and [f.term.term for f in first] == ["placebo", "placebo"]
    for i in range(KNOWN_TEXTS + 5):
        assert [f.term.term for f in finder.find(f"text {i} with a placebo")] == ["placebo"]
    assert 0 < len(finder.known) <= KNOWN_TEXTS and text not in finder.known
    assert [f.term.term for f in finder.find(text)] == ["placebo", "placebo"]
    long = "a placebo " + "x" * KNOWN_LENGTH  # a long text is looked through each time, never kept
    assert [f.term.term for f in finder.find(long)] == ["placebo"] and long not in finder.known
    many = " ".join(["placebo"] * (KNOWN_TERMS + 1))  # nor one with many terms (each found term is an object)
    assert len(finder.find(many)) == KNOWN_TERMS + 1 and many not in finder.known
    few = " ".join(["placebo"] * KNOWN_TERMS)
    assert len(finder.find(few)) == KNOWN_TERMS and few in finder.known


def test_what_is_inserted_is_escaped_and_text_around_it_keeps_its_meaning() -> None:
    glossary = _glossary({"term": 'the "x" <y> & z', "abbreviation": "XYZ"})
    inside, _ = _mark("<p>a &lt; b &amp; XYZ &gt; c</p>", glossary)
    assert inside == ('<p>a &lt; b &amp; <a class="glossary-term" href="../glossary/index.html#term-xyz" id="use-xyz">'
                      '<abbr title="the &#34;x&#34; &lt;y&gt; &amp; z">XYZ</abbr></a> &gt; c</p>')


def test_without_a_glossary_file_there_is_no_glossary_page_and_nothing_is_marked(project: Project, tmp_path: Path) -> None:
    (project.content / "glossary.yaml").unlink()
    build(project, tmp_path / "out")
    assert not (tmp_path / "out" / "glossary").exists()
    for name in MARKED_PAGES:
        html = (tmp_path / "out" / name).read_text(encoding="utf-8")
        assert "glossary" not in html, name


@pytest.mark.parametrize("mutate, message", [
    (lambda t: t.replace("  - term: once a day\n", "  - term: once a day\n    meaning: daily\n", 1),
     r"terms\[1\]\.meaning: unknown field 'meaning'"),
    (lambda t: t.replace("    abbreviation: QD\n", "    abbreviation: PO\n", 1),
     r"terms\[1\]\.abbreviation: 'PO' is already a form of terms\[0\] \('PO'\); give each form to one entry"),
    (lambda t: t.replace("    variants: [intravenously]\n", "    variants: [Once A Day]\n", 1),
     r"terms\[3\]\.variants\[0\]: 'Once A Day' is already a form of terms\[1\] \('once a day'\)"),
    (lambda t: t.replace("  - term: placebo\n", "  - term: placebo\n    id: po\n", 1),
     r"terms\[\d+\]\.id: its id 'po' is already the id of terms\[0\]"),
    (lambda t: t.replace("    definition: Swallowed,", "    definition:\n      - Swallowed,", 1),
     r"terms\[0\]\.definition: expected text, got a list"),
    (lambda t: t.replace("    variants: [intravenously]\n", f"    variants: [{', '.join(f'v{i}' for i in range(21))}]\n", 1),
     r"terms\[3\]\.variants: expected at most 20 item\(s\), got a list of 21"),
    (lambda t: t + "".join(f"  - term: made-up term {i}\n    definition: Made up.\n" for i in range(1000)),
     r"terms: expected at most 1,000 item\(s\), got a list of 1,0[0-9][0-9]"),
])
def test_glossary_mistakes_are_reported_at_their_file_line_and_column(
    project: Project, capsys: pytest.CaptureFixture[str], mutate: object, message: str
) -> None:
    path = project.content / "glossary.yaml"
    text = mutate(path.read_text(encoding="utf-8"))  # type: ignore[operator]
    path.write_text(text, encoding="utf-8")
    assert main(["check", "--content", str(project.content)]) == 1
    err = capsys.readouterr().err
    found = re.search(rf"^{re.escape(str(path))}:(\d+):(\d+): {message}", err, re.MULTILINE)
    assert found, err
    with pytest.raises(ContentError) as e:
        validate_glossary(load_yaml(path))
    line, column = int(found.group(1)), int(found.group(2))
    assert [(p.line, p.column) for p in e.value.problems] == [(line, column)]  # one mistake, one problem
    assert 0 < line <= len(text.splitlines())


def test_glossary_schema_is_committed_and_the_default_glossary_follows_it() -> None:
    assert (ROOT / "schema" / "glossary.schema.json").read_text() == schemadoc.json_schema(Glossary), (
        "run: python -m sitegen.schemadoc"
    )
    text = (ROOT / "content" / "glossary.yaml").read_text()
    assert text.splitlines()[0] == "# yaml-language-server: $schema=../schema/glossary.schema.json"
    schema = json.loads((ROOT / "schema" / "glossary.schema.json").read_text())
    assert list(Draft202012Validator(schema).iter_errors(yaml.safe_load(text))) == []
    doc = schemadoc.markdown_reference()
    assert "## content/glossary.yaml" in doc and "| `abbreviation` |" in doc and "### Readability" in doc


def test_an_edit_of_the_glossary_or_a_page_re_renders_what_shows_it(project: Project) -> None:
    from sitegen.render import render_incremental, render_site
    from sitegen.site import load_site

    record = render_incremental(load_site(project), project)
    glossary = project.content / "glossary.yaml"
    glossary.write_text(glossary.read_text(encoding="utf-8").replace("Once each day.", "Every day, once."), encoding="utf-8")
    site = load_site(project)
    record = render_incremental(site, project, record)
    assert record.files == render_site(site, project)
    assert {"glossary/index.html", *MARKED_PAGES} <= set(record.rendered)  # every page is marked from the glossary
    # a page that starts using a term it did not use: that page, and the glossary's links back to it
    trial = project.content / "trial.yaml"
    trial.write_text(trial.read_text(encoding="utf-8").replace(
        "Participants are screened for eligibility", "Participants get a biopsy and are screened for eligibility"),
        encoding="utf-8")
    site = load_site(project)
    record = render_incremental(site, project, record)
    assert record.files == render_site(site, project)
    assert set(record.rendered) == {"timeline/index.html", "glossary/index.html"}
    assert b'href="../timeline/index.html#use-biopsy"' in record.files["glossary/index.html"]


def test_criteria_lead_with_their_threshold_in_words_and_keep_the_listed_text() -> None:
    from sitegen.pages import scannable

    spelled: set[str] = set()
    units = {"mcL": "microliter", "g/dL": "grams per deciliter"}
    views = scannable(["Platelets >= 75,000/mcL", "Serum albumin >= 2.8g/dL", "Hemoglobin < 9 g/dL",
                       "I am 18 years old or older.", "QTc ≤ 480 ms"], units, spelled)
    assert [v.lead for v in views] == [
        "Platelets: at least 75,000 per microliter (mcL)",
        "Serum albumin: at least 2.8 grams per deciliter (g/dL)",
        "Hemoglobin: less than 9 g/dL",  # spelled out on first use only
        "",
        "QTc: at most 480 ms",
    ]
    assert [v.text for v in views][0] == "Platelets >= 75,000/mcL"


def test_eligibility_page_shows_scannable_criteria(site: Path) -> None:
    html = (site / "eligibility" / "index.html").read_text()
    text = read_page(site / "eligibility" / "index.html").text
    assert "Platelets: at least 75,000 per microliter (mcL) As listed: Platelets >= 75,000/mcL" in text
    assert html.count("<strong>") >= 2
