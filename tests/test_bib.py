"""Tests for sitegen.bib: parsing BibTeX into references and formatting them in Vancouver style."""

from __future__ import annotations

import html
import itertools
import re
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sitetext import read_page

from sitegen import bib as bib_module
from sitegen.bib import (
    Reference,
    Shown,
    check_bibliography,
    decode_latex,
    format_reference_html,
    format_reference_text,
    latex_to_text,
    load_bibliography,
    reference_links,
    web_link,
)
from sitegen.build import build
from sitegen.cite import CITATION
from sitegen.errors import ContentError, Problem
from sitegen.load import MAX_TEXT
from sitegen.project import Project

DATA = Path(__file__).parent / "data" / "bib"
REAL_FILES = sorted(DATA.glob("*.bib"))
BIB = Path("references.bib")


def load(text: str) -> dict[str, Reference]:
    return load_bibliography(BIB, text)


def problems_of(text: str) -> list[Problem]:
    """The errors of a bibliography whose every entry is cited."""
    refs = load(text)
    with pytest.raises(ContentError) as caught:
        check_bibliography(refs, set(refs))
    return caught.value.problems


def reference(**fields: str) -> Reference:
    """A reference from BibTeX fields as written: an article titled "A title" unless given."""
    values = {"title": "A title", **fields}
    return Reference("k", "article", (tuple((name, value) for name, value in values.items() if value),), 1)


def article(key: str = "chen2020", **fields: str) -> str:
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields.items())
    return f"@article{{{key},\n{body}\n}}\n"


VALID = (
    "@string{nejm = {N Engl J Med}}\n"
    "\n"
    "@article{chen2020,\n"
    "  author = {Chen, Yu and Van Tine, Brian A. and M{\\\"u}ller, J{\\'e}r{\\^o}me},\n"
    "  title = {Cabozantinib in {DNA}-repair deficient tumours},\n"
    "  journal = nejm,\n"
    "  year = 2020,\n"
    "  volume = {382},\n"
    "  number = {4},\n"
    "  pages = {301--312},\n"
    "  doi = {https://doi.org/10.1056/NEJMoa1234567},\n"
    "  pmid = {31234567},\n"
    "}\n"
)


# --- decoding ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("latex", "text"),
    [
        ('{\\"u}ber', "über"),
        ("caf\\'e", "café"),
        ("{\\o}re", "øre"),
        ("R\\&D", "R&D"),
        ("10--20", "10–20"),
        ("{{DNA}} repair", "DNA repair"),
        ('na\\"{\\i}ve', "naïve"),
        ("Aks{\\i}n, Y{\\i}ld{\\i}z, {\\j}", "Aksın, Yıldız, \u0237"),  # a dotless i under no accent stays dotless
        ("\\textit{in vivo}", "in vivo"),
        ("$\\alpha$-synuclein", "α-synuclein"),
        ("{\\v C}esk\\'y", "Český"),
        ("50\\%", "50%"),
        ("unbalanced {brace", "unbalanced brace"),
        ("trailing \\", "trailing"),
        # a % no backslash escapes is a percent sign (PubMed converters, hand-written titles), not a comment that
        # drops the rest of the title: its line break is gone by the time a value is decoded
        ("A 50% reduction in mortality, 30% -- 40%", "A 50% reduction in mortality, 30% \u2013 40%"),
        ("a line break\\\\% then", "a line break % then"),
    ],
)
def test_latex_to_text_decodes_accents_braces_and_dashes(latex: str, text: str) -> None:
    assert latex_to_text(latex) == text


@pytest.mark.parametrize(
    ("latex", "text"),
    [  # what biomedical titles write that latexcodec leaves out: a dose must not lose its unit, nor a bound its sign
        ("10\\textmu g", "10\u00b5g"),
        ("3 \\ensuremath{\\mu}g", "3 \u03bcg"),
        ("\\textgreater{}50\\%, \\textless{}10\\%", ">50%, <10%"),
        ("$\\le$ 65 and $\\geq$ 18", "\u2264 65 and \u2265 18"),
        ("p$<$0.05, $>$ 5", "p<0.05, > 5"),
        ("{HbA$_{1c}$}", "HbA1c"),
        ("$^{18}$F-FDG in CD4$^+$ cells, 10$^9$/L, $a^{BC}$", "\u00b9\u2078F-FDG in CD4\u207a cells, 10\u2079/L, a^BC"),
        # technetium-99m as nuclear medicine writes it: no caret left; an ordinal on the line; a mark as itself
        ("$^{99m}$Tc-sestamibi, the 5$^{th}$ day, drug X$^{\\circledR}$$^{\\dagger}$", "\u2079\u2079\u1d50Tc-sestamibi, the 5th day, drug X\u00ae\u2020"),
        ("2\\,mg/kg at 37\\,$^\\circ$C", "2 mg/kg at 37 \u00b0C"),
        ("TNF-$\\alpha$, IL-1$\\beta$, $\\Delta$G, $\\pi$, $\\omega$", "TNF-\u03b1, IL-1\u03b2, \u0394G, \u03c0, \u03c9"),
        ("{\\textless}i{\\textgreater}In vivo{\\textless}/i{\\textgreater} study", "In vivo study"),
        ("\\href{https://example.org}{a link}", "a link"),
        ("\\LaTeX\\ and \\textquotedblleft x\\textquotedblright", "LaTeX and \u201cx\u201d"),
        ("costs \\$5 and \\$6", "costs $5 and $6"),
        ("$\\sim$30\\%", "\u223c30%"),  # not '~', which BibTeX reads as a no-break space
        ("$p<b$ and $c>d$", "p<b and c>d"),  # no Zotero tags here: nothing stripped
        ("Nguy{\\~{\\^e}}n, Tr{\\`{\\^a}}n", "Nguy\u1ec5n, Tr\u1ea7n"),  # an accent on an accented letter
        ("($95\\%$ CI: 30--60)", "(95% CI: 30\u201360)"),  # an escaped sign in a formula
        ("3 mg/m\\textsuperscript{2}, the 12\\textsuperscript{th}, H\\textsubscript{2}O", "3 mg/m\u00b2, the 12th, H2O"),
        ("\\LaTeX{} and \\TeX{} text", "LaTeX and TeX text"),  # braces after a command keep the space
        ("2 \\texttimes{} 3, 5\\textperthousand, \\textonehalf", "2 \u00d7 3, 5\u2030, \u00bd"),
        ("$\\mathrm{CO}_2$, $\\text{mg}/\\mathrm{kg}$, $\\frac{1}{2}$, $\\sqrt{2}$", "CO2, mg/kg, 1/2, \u221a2"),
        ("the set \\{1, 2\\}", "the set {1, 2}"),  # written braces are text
        ("a\\\\{b}, x \\\\{\\em y}", "a b, x y"),  # a line break before a group: no brace, no letter lost
        # LaTeX that real titles hold, which was left raw or kept what LaTeX never prints
        ("the `single' and ``double'' and O'Brien's", "the \u2018single\u2019 and \u201cdouble\u201d and O'Brien's"),
        ("At 37\\textcelsius{}, 5\\euro{}, \\textquotedbl{}x\\textquotedbl{}", "At 37\u00b0C, 5\u20ac, \"x\""),
        ("\\textcolor{red}{Red} text\\footnote{A note.}, \\emph{et al.\\@} x", "Red text, et al. x"),
        ("A\\newline B, a\\hspace{1em}b", "A B, a b"),
        ("The \\mkbibquote{Obesity Paradox} and \\enquote{A {DNA} story}", "The \u201cObesity Paradox\u201d and \u201cA DNA story\u201d"),
        ("TNF-\\textalpha{} and IL-1\\textbeta, \\textDelta G", "TNF-\u03b1 and IL-1\u03b2, \u0394G"),  # textgreek
        # publishers' HTML, which Mendeley and web imports keep in a title: tags and entities, not text
        ("Foo &amp; Bar in <i>E. coli</i>, H<sub>2</sub>O, CD4<sup>+</sup>, <scp>dna</scp>", "Foo & Bar in E. coli, H2O, CD4+, dna"),
        ("Growth of &lt;i&gt;E. coli&lt;/i&gt; in H&lt;sub&gt;2&lt;/sub&gt;O", "Growth of E. coli in H2O"),  # escaped twice
        ("x &lt;5 &#x2013; 6 &#x202e;y, R&D and cats&nothing, p<0.05, {\\&}amp; z", "x <5 \u2013 6 y, R&D and cats&nothing, p<0.05, & z"),
        ("$\\frac12$, $a \\frac{1}{\\sqrt{2}}$", "1/2, a 1/\u221a2"),
        ("Wait \\dots, a, \\ldots{} z\\textellipsis", "Wait \u2026, a, \u2026 z\u2026"),  # ellipses
        ("$\\cdots$, $\\dagger$, $\\log n$, $A \\leftrightarrow B$, $a \\mid b$", "\u22ef, \u2020, log n, A \u2194 B, a | b"),
        ("$\\mathcal{O}(n \\log n)$ on $\\mathbb{R}^n$", "O(n log n) on R\u207f"),  # fonts: the letters
        ("costs \\$5, $\\unknown{x}$ y", "costs $5, x y"),  # a formula's command nobody knows: no $ left
        ("$\\sqrt[3]{x}$, $\\sqrt[n]{2}$, $\\sqrt[q]{y}$", "\u00b3\u221ax, \u207f\u221a2, q\u221ay"),  # a root's index
        # a mark over a letter is part of it: the mean x-bar is no x, the estimate beta-hat no beta, and <00 1-bar> is
        # another direction than <001> (the title of Better BibTeX's fixture #1469, from Nano Letters 2015)
        ("{$\\langle$}00{$\\overline 1\\rangle$}, $\\bar{x}$, $\\hat{\\beta}$, $\\tilde{n}$, $\\overline{AB}$",
         "\u27e8001\u0305\u27e9, x\u0304, \u03b2\u0302, \u00f1, A\u0305B\u0305"),
    ],
)
def test_units_signs_and_greek_letters_are_decoded(latex: str, text: str) -> None:
    assert latex_to_text(latex) == text


def test_the_quick_path_decodes_as_pybtex_and_latexcodec_do() -> None:
    """Values whose only LaTeX is braces, hyphens and apostrophes skip the decoder: every short mix of them (and of
    what makes them LaTeX again: '--', "''", ',,') decodes as the decoder itself would."""
    for size in range(1, 6):
        for letters in itertools.product("a -'{},", repeat=size):
            latex = "".join(letters)
            assert latex_to_text(latex) == decode_latex(latex), latex


def test_title_and_names_are_decoded() -> None:
    text = article(
        title='{\\"U}ber {\\O}resund \\& {{DNA}}: caf\\\'e--bar',
        author="M{\\\"u}ller, J{\\'e}r{\\^o}me",
        year="2020",
    )
    ref = load(text)["chen2020"]
    assert ref.title == "Über Øresund & DNA: café–bar"
    assert ref.authors == ("Müller J",)


# --- the Reference record ---------------------------------------------------------------------


def test_valid_entry_becomes_a_reference() -> None:
    ref = load(VALID)["chen2020"]
    assert (ref.key, ref.entry_type, ref.line, ref.file, ref.problems) == ("chen2020", "article", 3, "references.bib", ())
    assert ref.shown == Shown(
        title="Cabozantinib in DNA-repair deficient tumours",
        authors=("Chen Y", "Van Tine BA", "Müller J"),
        authors_truncated=False,
        year="2020",
        journal="N Engl J Med",
        volume="382",
        number="4",
        pages="301–312",
        doi="10.1056/NEJMoa1234567",
        url="",
        pmid="31234567",
    )


@pytest.mark.parametrize(
    ("author", "display"),
    [
        ("Van Tine, Brian A.", "Van Tine BA"),
        ("Jean-Pierre Dupont", "Dupont JP"),
        ("King, Jr, Martin Luther", "King ML Jr"),
        ("Ludwig van Beethoven", "van Beethoven L"),
        ("Smith, B.A.", "Smith BA"),
        ("{World Health Organization}", "World Health Organization"),
        ("{\\'E}mile Zola", "Zola É"),
        ("Phillips, Andrew JK", "Phillips AJK"),  # Google Scholar writes initials so (CosinorAge's paper.bib)
        ("van der Heide, Frank CT", "van der Heide FCT"),
        ("Johnson, Alistair {EW}", "Johnson AEW"),  # Zotero keeps them in braces (timeseriesflattener's paper.bib)
        ("Kwa, IH", "Kwa IH"),
        ("SMITH, JO", "SMITH J"),  # a name written in capitals is not initials
        ("Kaiser, \\L ukasz", "Kaiser Ł"),  # NeurIPS's BibTeX (scorixear/master-thesis, Attention_Is_All_You_Need.md)
        ("Brage, S\\o ren", "Brage S"),
        ("Smith JA", "Smith JA"),  # as PubMed writes a name, pasted into BibTeX: not 'JA S'
        ("Van Tine BA", "Van Tine BA"),
        ("M{\\\"u}ller J", "M\u00fcller J"),
        ("Roe, J.\\,A.", "Roe JA"),  # a thin space between initials is no comma between given and family name
        ("Smith, John,", "Smith J"),  # nor is a comma the name ends in
        # biblatex's extended name format, which Better BibLaTeX and pandoc write for a name with a particle
        ("family=Doorn, given=Jan, prefix=van, useprefix=true", "van Doorn J"),
        ("given=Antonie, prefix=van, family=Leeuwenhoek, useprefix=true", "van Leeuwenhoek A"),
        ("family=King, given=Martin Luther, suffix=Jr.", "King ML Jr"),
        ("family={M{\\\"u}ller-Lyer}, given=Franz", "M\u00fcller-Lyer F"),
    ],
)
def test_authors_in_vancouver_form(author: str, display: str) -> None:
    ref = load(article(title="T", author=author))["chen2020"]
    assert ref.authors == (display,)


def test_and_others_marks_the_list_truncated() -> None:
    ref = load(article(title="T", author="Chen, Yu and Li, Wei and others"))["chen2020"]
    assert ref.authors == ("Chen Y", "Li W")
    assert ref.authors_truncated
    assert format_reference_text(ref).startswith("Chen Y, Li W, et al. T.")


def test_a_short_name_is_decoded_once_per_process_and_a_long_one_each_time(monkeypatch: pytest.MonkeyPatch) -> None:
    bib_module._short_name.cache_clear()
    parsed: list[str] = []
    person = bib_module._person
    monkeypatch.setattr(bib_module, "_person", lambda written: parsed.append(written) or person(written))
    long = "Z" * bib_module.SHORT_NAME + ", Ann"
    short = 'M{\\"u}ller, Jean-Pierre'
    author = f"{short} and {long} and others"
    first = load(article(title="T", author=author))["chen2020"]
    second = load(article(title="U", author=author))["chen2020"]
    assert first.authors == second.authors == ("Müller JP", "Z" * bib_module.SHORT_NAME + " A")
    assert first.authors_truncated and second.authors_truncated
    assert sorted(parsed) == sorted([short, "others", long, long])
    assert bib_module._short_name.cache_info().currsize == 2


def test_at_most_six_authors_then_et_al() -> None:
    authors = " and ".join(f"Author{n}, A" for n in range(1, 9))
    ref = load(article(title="T", author=authors))["chen2020"]
    assert len(ref.authors) == 8
    text = format_reference_text(ref)
    assert text.startswith("Author1 A, Author2 A, Author3 A, Author4 A, Author5 A, Author6 A, et al. T.")
    assert "Author7" not in text


def test_exactly_six_authors_has_no_et_al() -> None:
    authors = " and ".join(f"Author{n}, A" for n in range(1, 7))
    text = format_reference_text(load(article(title="T", author=authors))["chen2020"])
    assert "et al" not in text
    assert text.startswith("Author1 A, Author2 A, Author3 A, Author4 A, Author5 A, Author6 A. T.")


def test_string_macros_and_month_names_are_resolved() -> None:
    text = '@string{j = "Trials"}\n@string{full = j # " Journal"}\n' + (
        "@article{a, title = {T}, journal = full, year = 2021, month = mar}\n"
    )
    assert load(text)["a"].journal == "Trials Journal"


def test_crossref_inherits_missing_fields() -> None:
    text = (
        "@incollection{chapter, author = {Chen, Yu}, title = {A chapter}, pages = {5-9}, crossref = {book}}\n"
        "@book{book, title = {The Book}, publisher = {Wiley}, year = {2019}}\n"
    )
    refs = load(text)
    assert refs["chapter"].year == "2019"
    assert refs["chapter"].journal == "The Book"
    assert format_reference_text(refs["chapter"]) == "Chen Y. A chapter. In: The Book. Wiley; 2019:5–9."  # its book's publisher
    assert format_reference_text(refs["book"]) == "The Book. Wiley; 2019."


def test_pmid_from_a_zotero_note() -> None:
    ref = load(article(title="T", note="{PMID:} 23439512"))["chen2020"]
    assert ref.pmid == "23439512"


def test_biblatex_date_and_journaltitle() -> None:
    ref = load(article(title="T", journaltitle="Trials", date="2021-03-04"))["chen2020"]
    assert (ref.journal, ref.year) == ("Trials", "2021")


def test_a_url_in_howpublished_is_the_web_address() -> None:
    """Classic BibTeX has no url field: a @misc writes its address as howpublished = {\\url{...}}."""
    text = "@misc{site,\n  author = {{National Cancer Institute}},\n  title = {A record},\n  year = {2023},\n" \
           "  howpublished = {\\url{https://clinicaltrials.gov/study/NCT01234567}},\n}\n"
    assert load(text)["site"].url == "https://clinicaltrials.gov/study/NCT01234567"
    only_address = "@misc{bare,\n  howpublished = {\\url{https://example.org/a\\_b}},\n}\n"
    assert load(only_address)["bare"].url == "https://example.org/a_b"  # something to show: no error


# --- problems ---------------------------------------------------------------------------------


def test_duplicate_key_names_both_lines() -> None:
    text = article("smith2020", title="First") + "\n" + article("Smith2020", title="Second")
    problems = problems_of(text)
    assert len(problems) == 1
    assert (problems[0].file, problems[0].line, problems[0].column) == ("references.bib", 5, 1)
    assert "Smith2020" in problems[0].message
    assert "line 1" in problems[0].message
    assert problems[0].message.endswith("; give each entry its own key")  # what to do, not only what is wrong


def test_syntax_error_has_the_right_line_and_column() -> None:
    text = "@article{a,\n  title = {A}\n  year = 2020\n}\n"  # comma missing after the title
    [problem] = problems_of(text)
    assert (problem.line, problem.column) == (3, 3)
    assert "syntax error" in problem.message
    assert "line 1" in problem.message  # the entry it belongs to


def test_unclosed_entry_is_reported_and_names_its_start() -> None:
    text = "\n\n@article{a,\n  title = {A {b},\n  year = 2020\n}\n"
    [problem] = [p for p in problems_of(text) if "premature" in p.message]
    assert problem.line == 7
    assert "premature end of file" in problem.message
    assert "starts on line 3" in problem.message


def test_undefined_macro_is_an_error_with_its_line() -> None:
    [problem] = problems_of("@article{a,\n  title = {A},\n  journal = nejm,\n}\n")
    assert (problem.line, problem.column) == (3, 17)
    assert "nejm" in problem.message
    # a value written without its braces (journal = Nature) is the usual cause: the message says what was expected
    assert problem.message.startswith("undefined string: nejm: no @string defines it before here; a value is written in "
                                      "braces ({nejm}) or quotes, or is a number or a @string's name")


def test_missing_title_is_a_warning_and_nothing_to_show_an_error() -> None:
    refs = load("% a comment line\n" + article("notitle", year="2020", journal="Trials"))
    [warning] = check_bibliography(refs, {"notitle"})
    assert (warning.line, warning.severity) == (2, "warning")
    assert "'notitle' has no title" in warning.message
    assert format_reference_text(refs["notitle"]) == "Trials. 2020."
    [problem] = problems_of(article("empty", year="2020", note="Only a note"))
    assert (problem.line, problem.severity) == (1, "error")
    assert "'empty' has nothing to show" in problem.message


def test_all_problems_are_collected_and_sorted() -> None:
    text = (
        article("a", year="2020")  # lines 1-3: nothing to show
        + article("b", title="B", journal="{J")  # lines 4-7: unbalanced brace runs to the end
        + article("a", title="Again")
    )
    problems = problems_of(text)
    assert problems == sorted(problems)
    assert len(problems) >= 2
    assert problems[0].line == 1


def test_not_utf8_is_read_as_windows_1252_with_a_warning_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "references.bib"
    path.write_bytes(b"@article{a,\n  title = {A},\n  journal = {Caf\xe9},\n year = 2020}\n")
    refs = load_bibliography(path)
    assert refs["a"].journal == "Café"
    [problem] = check_bibliography(refs, {"a"})
    assert (problem.file, problem.line, problem.column, problem.severity) == (str(path), 3, 17, "warning")
    assert "UTF-8" in problem.message


def test_missing_file_is_a_content_error(tmp_path: Path) -> None:
    with pytest.raises(ContentError):
        load_bibliography(tmp_path / "absent.bib")


def test_crossref_cycle_is_a_warning_at_each_entry() -> None:
    path = DATA / "bibtexparser-crossref_cascading_cycle.bib"
    problems = [p for p in check_bibliography(load_bibliography(path)) if "crossref" in p.message]
    assert [p.line for p in problems] == [6, 11]
    assert all("crossref cycle" in p.message and p.file == str(path) and p.severity == "warning" for p in problems)


def test_crossref_to_a_missing_entry_is_a_warning_and_the_entry_shows_its_own_fields() -> None:
    refs = load(article(title="T", year="2020", crossref="nowhere"))
    [problem] = check_bibliography(refs, {"chen2020"})
    assert "nowhere" in problem.message and problem.severity == "warning"
    assert format_reference_text(refs["chen2020"]) == "T. 2020."


def test_missing_year_is_only_a_warning() -> None:
    refs = load(article(title="T"))
    [warning] = check_bibliography(refs)
    assert warning.severity == "warning"
    assert (warning.file, warning.line) == ("references.bib", 1)
    assert "year" in warning.message


# --- formatting -------------------------------------------------------------------------------


def test_full_article_html() -> None:
    assert format_reference_html(load(VALID)["chen2020"]) == (
        "Chen Y, Van Tine BA, Müller J. Cabozantinib in DNA-repair deficient tumours. "
        "<i>N Engl J Med</i>. 2020;382(4):301–312. "
        'doi:<a href="https://doi.org/10.1056/NEJMoa1234567">10.1056/NEJMoa1234567</a>. '
        'PMID: <a href="https://pubmed.ncbi.nlm.nih.gov/31234567/">31234567</a>.'
    )


def test_text_is_the_html_without_markup() -> None:
    ref = load(VALID)["chen2020"]
    without_tags = html.unescape(re.sub(r"<[^>]+>", "", format_reference_html(ref)))
    assert format_reference_text(ref) == without_tags


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({}, "A title."),
        ({"year": "2020"}, "A title. 2020."),
        ({"pages": "5--9"}, "A title. 5–9."),
        ({"volume": "3", "pages": "5--9"}, "A title. 3:5–9."),
        ({"journal": "Trials", "number": "2"}, "A title. Trials. (2)."),
        ({"journal": "Proc. Natl. Acad. Sci."}, "A title. Proc. Natl. Acad. Sci."),
        ({"title": "Does it work?", "year": "2020"}, "Does it work? 2020."),
        ({"title": "Ends with a period.", "author": "Chen, Y"}, "Chen Y. Ends with a period."),
        ({"title": ""}, ""),
    ],
)
def test_missing_parts_leave_no_dangling_punctuation(fields: dict[str, str], text: str) -> None:
    assert format_reference_text(reference(**fields)) == text


def test_doi_link_escapes_unsafe_characters() -> None:
    ref = reference(doi="10.1002/(SICI)1097-4636(199706)35:4<519::AID-JBM12>3.0.CO;2-M")
    out = format_reference_html(ref)
    assert 'href="https://doi.org/10.1002/%28SICI%291097-4636%28199706%2935%3A4%3C519%3A%3AAID-JBM12%3E3.0.CO%3B2-M"' in out
    assert "10.1002/(SICI)1097-4636(199706)35:4&lt;519::AID-JBM12&gt;3.0.CO;2-M</a>" in out


def test_script_in_a_title_is_escaped() -> None:
    ref = load(article(title="<script>alert(1)</script> & more", year="2020"))["chen2020"]
    out = format_reference_html(ref)
    assert "<script" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more." in out


def test_url_link_only_for_http_and_only_without_doi() -> None:
    web = format_reference_html(reference(url="https://example.org/a?b=1&c=2"))
    assert 'Available from: <a href="https://example.org/a?b=1&amp;c=2">' in web
    script = format_reference_html(reference(url="javascript:alert(1)"))
    assert "<a" not in script
    assert "javascript:alert(1)" in script
    both = format_reference_html(reference(url="https://example.org", doi="10.1/x"))
    assert "example.org" not in both


def test_doi_prefixes_are_stripped() -> None:
    for written in ("https://doi.org/10.1186/x", "http://dx.doi.org/10.1186/x", "doi:10.1186/x", "10.1186/x"):
        assert load(article(title="T", doi=written))["chen2020"].doi == "10.1186/x"


# --- real files -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.name)
def test_real_file_loads_and_formats_every_entry_without_latex(path: Path) -> None:
    refs = load_bibliography(path)
    assert refs or path.name == "bbt-endnote-no-key.bib"  # its one entry has no key: skipped, with a warning
    for problem in check_bibliography(refs):  # nothing cited: every problem is a warning at its line
        assert (problem.file, problem.severity) == (str(path), "warning")
        assert problem.line > 0, problem
    for ref in refs.values():
        out = format_reference_html(ref)
        assert not re.search(r"[\\{}]", out), out
        assert "<script" not in out
        assert not re.search(r"[\\{}]", format_reference_text(ref))


def test_zotero_export_formats_as_vancouver() -> None:
    refs = load_bibliography(DATA / "bbt-literal-names-circulation.bib")
    text = format_reference_text(refs["sasson_increasing_2013"])
    assert text.startswith("Sasson C, Meischke H, Abella BS, Berg RA, Bobrow BJ, Chan PS, et al. Increasing")
    assert text.endswith(
        "Circulation. 2013;127(12):1342–1350. doi:10.1161/CIR.0b013e318288b4dd. PMID: 23439512."
    )


def test_an_italic_correction_leaves_no_slash() -> None:
    # Old BibTeX ends an italic phrase with TeX's italic correction, \/, which prints nothing
    [report] = load_bibliography(DATA / "bbt-old-bibtex-italic-correction.bib").values()
    assert report.title == "Instrumental With and the Control Relation in English"


def test_a_title_ending_in_a_colon_ends_in_a_period() -> None:
    # Zotero's record of a Critical Care Medicine article, its title cut before the subtitle as the publisher gave it
    [cut] = load_bibliography(DATA / "abt-zotero-title-colon.bib").values()
    assert "Multiple Organ Failure After Injury. Critical Care Medicine. 2015;43(7):1429–1438." in (
        format_reference_text(cut))
    # a journal too (found by a review: its italic name kept the colon, before the period: 'Proc IEEE:.')
    assert "T. Proc IEEE. 2015." == format_reference_text(load(article(title="T", journal="Proc IEEE:", year="2015"))
                                                        ["chen2020"])


def test_a_generation_is_written_without_a_period() -> None:
    # biber's name tests: 'van Kluster, Jr., Kevin' is van Kluster K Jr, as NLM writes Jr, Sr, II and III
    names = {key: ref.authors for key, ref in load_bibliography(DATA / "biber-examples-names.bib").items()}
    assert names["L11"] == ("van Kluster K Jr",)
    assert names["L10"] == ("Jolly J III",)
    assert names["L12"] == ("de la Vallée Poussin CLXJ",)


def test_a_date_written_in_year_shows_its_year() -> None:
    # biblatex-ieee's example database writes dates, and a range of months, in `year`
    refs = load_bibliography(DATA / "biblatex-ieee-year-dates.bib")
    assert format_reference_text(refs["IEEEexample:techrep"]).endswith(
        "Digital Equipment Corporation; 1987. Report No.: DEC-TR-506.")
    assert "IEEE Trans. Ind. Appl. 1995;31:1047–1053." in format_reference_text(refs["IEEEexample:articledualmonths"])


def test_an_entry_with_no_key_is_skipped_with_a_warning_that_says_so() -> None:
    # EndNote's BibTeX export writes '@article{' and then the fields: pybtex took 'author' for the key
    path = DATA / "bbt-endnote-no-key.bib"
    refs = load_bibliography(path)
    assert not refs
    [problem] = check_bibliography(refs)
    assert (problem.line, problem.column, problem.severity) == (3, 4, "warning")
    assert problem.message.startswith("an entry with no key (its first field, 'author', is no key;")
    # written without a space before '=' (found by a review), pybtex read 'author={Huang' as the key
    refs = load("@article{author={Huang, Y.}, title={T}, journal={J}, year={2020}}\n")
    assert not refs
    [problem] = check_bibliography(refs)
    assert problem.message.startswith("an entry with no key (its first field, 'author', is no key;")


def test_biblatex_examples_decode_accents_in_names() -> None:
    refs = load_bibliography(DATA / "biblatex-examples.bib")
    assert refs["aksin"].authors[:4] == ("Aks\u0131n Ö", "Türkmen H", "Artok L", "Çetinkaya B")


# --- never a traceback ------------------------------------------------------------------------


def load_or_content_error(text: str) -> None:
    try:
        refs = load(text)
    except ContentError as error:
        assert all(p.file == "references.bib" for p in error.problems)
        return
    for ref in refs.values():
        format_reference_html(ref)
        format_reference_text(ref)
    assert all(p.severity == "warning" and p.line > 0 for p in check_bibliography(refs))  # nothing cited: never stops
    try:
        check_bibliography(refs, set(refs))
    except ContentError as error:
        assert all(p.file == "references.bib" and p.line > 0 for p in error.problems)


BIB_ALPHABET = st.sampled_from(list('@{}()",=#%\\\n ~-$^_aZ09é') + ["@article{", "title", "crossref", "and"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_random_text_never_raises_anything_else(text: str) -> None:
    load_or_content_error(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(BIB_ALPHABET, max_size=60).map("".join))
def test_random_bibtex_like_text_never_raises_anything_else(text: str) -> None:
    load_or_content_error(text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, len(VALID)), st.integers(0, 3), st.lists(BIB_ALPHABET, max_size=3).map("".join)),
        min_size=1,
        max_size=4,
    )
)
def test_mutated_valid_bibtex_never_raises_anything_else(edits: list[tuple[int, int, str]]) -> None:
    text = VALID
    for position, deleted, inserted in edits:
        text = text[:position] + inserted + text[position + deleted :]
    load_or_content_error(text)


# --- one rule for links, in the HTML and the JSON-LD -----------------------------------------


@pytest.mark.parametrize(
    ("url", "link"),
    [
        ("https://example.org/a?b=1&c=2", "https://example.org/a?b=1&c=2"),
        ("HTTP://example.org", "HTTP://example.org"),
        ("https://example.org/caf\u00e9", "https://example.org/caf%C3%A9"),
        ("https://b\u00fccher.example/", "https://xn--bcher-kva.example/"),
        ("javascript:alert(1)", ""),
        ("JaVaScRiPt:alert(1)", ""),
        ("data:text/html,<script>alert(1)</script>", ""),
        ("data:text/html;base64,PHNjcmlwdD4=", ""),
        ("ftp://example.org/file", ""),
        ("//example.org/path", ""),
        ("https://user:pw@example.org/", ""),
        ("https://doi.org@evil.example/", ""),
        ("https://example.org:99999/", ""),
        ("https://example.org:0/", ""),
        ('https://example.org/"><script>', ""),
        ("https://exa mple.org/", ""),
        ("https://example.org/\x00", ""),
        ("https:///path-only", ""),
    ],
)
def test_web_link_is_the_one_rule_for_links(url: str, link: str) -> None:
    assert web_link(url) == link


def cite_only(project: Project, key: str | None, point: str = "A finding.") -> None:
    """Make the default trial cite nothing, or only `key` (as its one finding's source, whose one point is `point`,
    a line of YAML: it may cite more)."""
    trial = project.content / "trial.yaml"
    text = CITATION.sub("", trial.read_text(encoding="utf-8"))
    start, end = text.index("\nfindings:\n"), text.index("\nsources:\n")
    findings = " []\n" if key is None else f"\n  - source: '{key}'\n    points:\n      - {point}\n"
    trial.write_text(text[:start] + "\nfindings:" + findings + text[end:], encoding="utf-8")


def findings_page(output: Path) -> tuple[str, list[Any]]:
    page = output / "findings" / "index.html"
    return page.read_text(encoding="utf-8"), read_page(page).jsonld


def articles(jsonld: list[Any]) -> list[dict[str, Any]]:
    return [node for graph in jsonld for node in graph.get("citation", [])]


HOSTILE_LINKS = (
    "@article{jsurl, title = {A script URL}, year = 2020, journal = {J},\n  url = {javascript:alert(document.cookie)}}\n"
    "@article{dataurl, title = {A data URL}, year = 2020, journal = {J},\n  url = {data:text/html,<script>alert(1)</script>}}\n"
    '@article{baddoi, title = {A DOI that is not one}, year = 2020, journal = {J},\n  doi = {10.1000/x"><script>alert(1)</script>}}\n'
    "@article{badpmid, title = {A PMID that is not one}, year = 2020, journal = {J},\n  pmid = {12ab<script>}}\n"
)


def test_urls_the_html_refuses_are_not_in_the_json_ld_and_bad_ids_warn_at_their_line(project: Project, tmp_path: Path) -> None:
    bib = project.content / "references.bib"
    bib.write_text(HOSTILE_LINKS, encoding="utf-8")
    cite_only(project, "jsurl", "A finding.[@dataurl; @baddoi; @badpmid]")
    _, warnings = build(project, tmp_path / "out")
    html_text, jsonld = findings_page(tmp_path / "out")
    assert "javascript:" not in html_text.split("<main")[0]  # nothing in the head
    for hostile in ("javascript:", "data:", "<script>alert", "%22%3E%3Cscript"):
        assert f'href="{hostile}' not in html_text and hostile not in str(articles(jsonld)), hostile
    assert not any("url" in node or "sameAs" in node for node in articles(jsonld)), articles(jsonld)
    assert "javascript:alert(document.cookie)" in html.unescape(html_text)  # shown as text, not as a link
    lines = bib.read_text().splitlines()
    where = {w.message.split(":")[0]: w for w in warnings if w.file == str(bib)}
    assert (where["entry 'baddoi'"].line, where["entry 'baddoi'"].column) == (lines.index('  doi = {10.1000/x"><script>alert(1)</script>}}') + 1, 3)
    assert where["entry 'badpmid'"].line == lines.index("  pmid = {12ab<script>}}") + 1
    assert "is not a DOI" in where["entry 'baddoi'"].message and "is not a PubMed id" in where["entry 'badpmid'"].message
    # each says what the page does with it: a DOI shown as text, a PMID that is no number left out
    assert where["entry 'baddoi'"].message.endswith("it is shown without a link")
    assert where["entry 'badpmid'"].message.endswith("it is left out") and "12ab" not in html.unescape(html_text)
    assert where["entry 'jsurl'"].line == 2 and "is not a web address" in where["entry 'jsurl'"].message
    with pytest.raises(ContentError, match="is not a DOI"):
        build(project, tmp_path / "strict", strict=True)


def test_a_howpublished_url_that_is_no_web_address_is_warned_about() -> None:
    refs = load("@misc{hp,\n  title = {T},\n  year = {2020},\n  howpublished = {\\url{javascript:alert(1)}},\n}\n")
    assert reference_links(refs["hp"]).web == ""
    [problem] = check_bibliography(refs, ["hp"])
    assert problem.line == 4 and "howpublished" in problem.message and "is not a web address" in problem.message


def test_a_url_in_note_is_the_web_address_when_the_entry_has_no_other() -> None:
    """Better BibTeX's "URLs in the note field" export, and BibTeX styles before biblatex, write an entry's web address
    as note = {\\url{...}}: the entry's only way to be found, linked as a howpublished one is."""
    [chapter] = load_bibliography(DATA / "bbt-incollection-series.bib").values()
    assert reference_links(chapter).web == "http://link.springer.com/chapter/10.1007/978-3-642-11218-8_6"
    assert format_reference_text(chapter).endswith("Available from: http://link.springer.com/chapter/10.1007/978-3-642-11218-8_6")
    refs = load("@misc{n,\n  title = {T},\n  year = {2020},\n  note = {Online at \\url{javascript:alert(1)}},\n}\n"
                "@misc{u,\n  title = {T},\n  year = {2020},\n  url = {https://example.org/u},\n  note = {\\url{https://example.org/n}},\n}\n")
    assert reference_links(refs["n"]).web == "" and reference_links(refs["u"]).web == "https://example.org/u"
    [problem] = check_bibliography(refs, ["n", "u"])
    assert problem.line == 4 and "note" in problem.message and "is not a web address" in problem.message


def test_a_url_with_a_space_links_whole_and_one_with_a_quote_is_warned_about() -> None:
    """Mendeley writes 'https://www.participations.org/Volume 9/Issue 2/7 Berenstein.pdf': linked whole, as a browser
    would (not to 'https://www.participations.org/Volume'); one that could end an attribute is no link, and a warning."""
    text = ("@misc{spaced,\n  title = {T},\n  year = {2020},\n  url = {https://example.org/some path/file.pdf},\n}\n"
            '@misc{quoted,\n  title = {T},\n  year = {2020},\n  url = {https://ex.org/a b"c<d>},\n}\n')
    refs = load(text)
    assert reference_links(refs["spaced"]).web == "https://example.org/some%20path/file.pdf"
    assert reference_links(refs["quoted"]).web == ""
    [problem] = check_bibliography(refs, ["spaced", "quoted"])
    assert problem.line == 9 and "is not a web address a page may link to" in problem.message


def test_a_good_doi_is_the_same_link_in_html_and_json_ld(project: Project, tmp_path: Path) -> None:
    build(project, tmp_path / "out")
    html_text, jsonld = findings_page(tmp_path / "out")
    same = [node["sameAs"] for node in articles(jsonld) if "sameAs" in node]
    assert same and all(f'href="{html.escape(link)}"' in html_text for link in same)


# --- real bibliographies build -----------------------------------------------------------------


def first_showable(refs: dict[str, Reference]) -> str | None:
    return next((key for key, ref in refs.items() if ref.title and re.fullmatch(r"[^\s;\[\]']+", key)), None)


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.name)
@pytest.mark.parametrize("cite", [False, True], ids=["cite-nothing", "cite-one"])
def test_real_bibliography_builds_the_default_project(project: Project, tmp_path: Path, path: Path, cite: bool) -> None:
    shutil.copyfile(path, project.content / "references.bib")
    refs = load_bibliography(path)
    key = (first_showable(refs) or next(iter(refs), None)) if cite else None
    cite_only(project, key)
    if key is not None and not (refs[key].title or refs[key].authors):  # the crossref cycle file's: only a date
        with pytest.raises(ContentError, match="has nothing to show"):
            build(project, tmp_path / "out")
        return
    build(project, tmp_path / "out")
    if key is not None:
        assert html.escape(refs[key].title or refs[key].authors[0], quote=False) in findings_page(tmp_path / "out")[0]


ODD_BUT_REAL = (
    b"% Encoding: windows-1252 (JabRef writes this line)\n"
    b"This file was made by hand; write to editor@example.org with corrections.\n"
    b"@preamble{ \"\\newcommand{\\noopsort}[1]{} \" }\n"
    b"@Comment{jabref-meta: databaseType:biblatex;}\n"
    b"@STRING{ nejm = \"N Engl J Med\" }\n"
    b"@online{who2023, author = {{World Health Organization}}, title = {Sarcoma facts}, date = {2023-05},\n"
    b"  url = {https://www.who.int/news-room/fact-sheets}, urldate = {2024-01-02}}\n"
    b"@software{sitegen, author = {Doe, Jane}, title = {sitegen}, year = 2024, version = {1.0}}\n"
    b"@dataset{ds, title = {Trial data}, year = 2022, eprint = {30032714}, eprinttype = {pubmed}}\n"
    b"@article(parens, title = \"Parenthesised entry\", journal = nejm, year = 2021)\n"
    b"@article{smith:2020/a, title = {Caf\xe9 au lait spots}, year = 2020, journal = {J}}\n"
    b"@article{cycle1, title = {One}, crossref = {cycle2}}\n@article{cycle2, title = {Two}, crossref = {cycle1}}\n"
    b"@article{dup, title = {First}, year = 2020}\n@article{DUP, title = {Second}, year = 2020}\n"
    b"@article{untitled, author = {Roe, Richard}, year = 2019}\n"
    b"@article{broken, title = {Unclosed, year = 2018,\n\n"
    b"@article{after, title = {After the broken one}, year = 2017}\n"
    b"@misc{, title = {No key}}\n"
)


def test_odd_but_real_bibtex_builds_and_its_problems_are_warnings(project: Project, tmp_path: Path) -> None:
    (project.content / "references.bib").write_bytes(ODD_BUT_REAL)
    cite_only(project, "who2023")
    trial = project.content / "trial.yaml"
    trial.write_text(trial.read_text().replace("A finding.", "A finding.[@sitegen; @ds; @parens; @smith:2020/a]"))
    _, warnings = build(project, tmp_path / "out")
    text = read_page(tmp_path / "out" / "findings" / "index.html").text
    for shown in ("World Health Organization. Sarcoma facts. 2023.", "Doe J. sitegen. Version 1.0. 2024.", "PMID: 30032714",
                  "Parenthesised entry. N Engl J Med. 2021.", "Café au lait spots"):
        assert shown in text, shown
    messages = " ".join(w.message for w in warnings)
    for expected in ("not UTF-8", "an @ that starts no entry", "crossref cycle", "duplicate entry key 'DUP'",
                     "'untitled' has no title", "premature end of file"):
        assert expected in messages, expected
    assert all(w.severity == "warning" for w in warnings)
    for key in ("dup", "broken", "untitled"):  # each is an error once a page cites it, except a missing title
        trial.write_text(trial.read_text().replace("A finding.[", f"A finding.[@{key}; "))
        if key == "untitled":
            build(project, tmp_path / "out")
        else:
            with pytest.raises(ContentError, match=f"'{key.upper() if key == 'dup' else key}'|premature"):
                build(project, tmp_path / "out")
            trial.write_text(trial.read_text().replace(f"[@{key}; ", "["))


def test_entries_nothing_cites_are_never_decoded(project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bib = project.content / "references.bib"
    bib.write_text(bib.read_text() + "@article{unread, title = {UNREAD caf\\'e}, author = {Unread, U}, year = 2020}\n")
    decoded: list[str] = []
    real = bib_module.latex_to_text
    monkeypatch.setattr(bib_module, "latex_to_text", lambda latex: decoded.append(latex) or real(latex))
    build(project, tmp_path / "out")
    assert decoded and not any("UNREAD" in latex or "Unread" in latex for latex in decoded)


def test_a_field_over_the_limit_is_an_error_when_cited_and_a_warning_when_not() -> None:
    text = article("long", title="T", year="2020", journal="x" * (MAX_TEXT + 1))  # (an abstract only warns: no page shows it)
    refs = load(text)
    [warning] = check_bibliography(refs)
    assert (warning.line, warning.column, warning.severity) == (4, 13, "warning")
    assert f"journal: expected a value of at most {MAX_TEXT:,} characters, got {MAX_TEXT + 1:,}" in warning.message
    with pytest.raises(ContentError) as caught:
        check_bibliography(refs, {"long"})
    assert [(p.line, p.severity) for p in caught.value.problems] == [(4, "error")]


@pytest.mark.parametrize("url", ["https://user:pw@clinicaltrials.gov/", 'https://clinicaltrials.gov/"><script>', "https://clinicaltrials.gov:99999/"])
@pytest.mark.parametrize("which", [0, -1], ids=["identifier", "source"])
def test_the_trial_s_own_links_follow_the_same_rule(project: Project, tmp_path: Path, url: str, which: int) -> None:
    trial = project.content / "trial.yaml"
    lines = trial.read_text(encoding="utf-8").splitlines(keepends=True)
    line = [i for i, text in enumerate(lines) if text.strip().startswith("url:")][which]
    lines[line] = f"    url: '{url}'\n"
    trial.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        build(project, tmp_path / "out")
    [problem] = caught.value.problems
    assert (problem.file, problem.line) == (str(trial), line + 1)
    assert "expected an http(s) address with a host, no user or password" in problem.message


def test_a_catalog_builds_past_broken_entries_nothing_cites_and_stops_at_one_a_trial_cites(tmp_path: Path) -> None:
    from test_catalog import make_catalog

    catalog = make_catalog(tmp_path / "project", count=2)
    shared = catalog.content / "references.bib"
    shared.write_text(shared.read_text() + "@article{emptyshared, year = 2020}\n")
    own = catalog.content / "trials" / "trial-0.bib"
    own.write_text("@article{emptyown, year = 2018}\n@article{brokenown, title = {Unclosed, year = 2018,\n\n")
    _, warnings = build(catalog, tmp_path / "out")
    assert {w.file for w in warnings if "nothing to show" in w.message} == {str(shared), str(own)}
    assert all(w.severity == "warning" for w in warnings)
    trial = catalog.content / "trials" / "trial-1.yaml"
    trial.write_text(trial.read_text().replace("[@chen2021;", "[@emptyshared; @chen2021;", 1))
    with pytest.raises(ContentError, match="'emptyshared' has nothing to show"):
        build(catalog, tmp_path / "out")


def test_an_entry_using_a_broken_string_is_an_error_when_cited() -> None:
    text = '@string{j = nosuch # " Journal"}\n' + article("a", title="T", year="2020").replace("year", "journal = j,\n  year")
    refs = load(text)
    assert [p.severity for p in check_bibliography(refs)] == ["warning", "warning"]
    [problem] = problems_of(text)
    assert (problem.line, problem.severity) == (4, "error")  # the line that uses it
    assert "j: its @string has a problem" in problem.message


@pytest.mark.parametrize("text", ["@article{a, booktitle = {Not shown for an article}, year = 2020}",
                                  "@misc{a, howpublished = {Not shown}, editor = {Nor, This}}"])
def test_nothing_to_show_means_what_the_entry_would_show(text: str) -> None:
    refs = load(text)
    assert format_reference_text(refs["a"]).strip(". 0123456789") == ""
    [problem] = [p for p in problems_of(text) if p.severity == "error"]
    assert "'a' has nothing to show" in problem.message


def test_utf16_and_windows_line_endings_read_with_the_right_lines(tmp_path: Path) -> None:
    text = "@article{a,\r\n  title = {Über},\r\n  year = 2020,\r\n  doi = {not a doi}\r\n}\r\n"
    for encoding, data in (("utf-16", text.encode("utf-16")), ("utf-8-sig", text.encode("utf-8-sig")),
                           ("utf-16-le", text.encode("utf-16-le")), ("utf-16-be", text.encode("utf-16-be"))):  # (no BOM)
        path = tmp_path / f"{encoding}.bib"
        path.write_bytes(data)
        refs = load_bibliography(path)
        assert refs["a"].title == "Über", encoding
        [warning] = check_bibliography(refs, {"a"})
        assert (warning.line, warning.column) == (4, 3), encoding


def test_editors_and_a_chapter_s_publisher_are_shown_as_vancouver_does(tmp_path: Path) -> None:
    path = tmp_path / "refs.bib"
    path.write_text(r"""
@book{cr_m, editor = {Edward Erbriss}, title = {Graphs of the Continent}, publisher = {Grimble}, year = 1974}
@incollection{cr1, author = {Gullam, Graham}, title = {Great and Good Graphs}, crossref = {cr_m}, pages = {1--20}}
@collection{gaonkar, editor = {Gaonkar, Dilip Parameshwar}, title = {Alternative Modernities}, publisher = {Duke University Press}, year = 2001}
@inproceedings{p, author = {Smith, John}, title = {A paper}, booktitle = {Proc. Things}, editor = {Jones, Kim and Brown, Lee}, publisher = {ACM}, year = 2020}
@article{a, author = {Smith, John}, title = {An article}, journal = {J Things}, year = 2020, editor = {Ignored, Ed}}
""", encoding="utf-8")
    shown = {key: format_reference_text(ref) for key, ref in load_bibliography(path).items()}
    assert shown == {
        "cr_m": "Erbriss E, editor. Graphs of the Continent. Grimble; 1974.",
        "cr1": "Gullam G. Great and Good Graphs. In: Erbriss E, editor. Graphs of the Continent. Grimble; 1974:1–20.",
        "gaonkar": "Gaonkar DP, editor. Alternative Modernities. Duke University Press; 2001.",
        "p": "Smith J. A paper. In: Jones K, Brown L, editors. Proc. Things. ACM; 2020.",
        "a": "Smith J. An article. J Things. 2020.",
    }
    many = "Erbriss, E and B, B and C, C and D, D and E, E and F, F and G, G and others"
    path.write_text(f"@book{{m, editor = {{{many}}}, title = {{T}}, year = 2000}}\n", encoding="utf-8")
    assert format_reference_text(load_bibliography(path)["m"]) == "Erbriss E, B B, C C, D D, E E, F F, et al, editors. T. 2000."


def test_a_book_s_volume_and_a_series_or_report_number_are_not_shown_as_a_journal_issue() -> None:
    """Real exports: in a book, chapter or report, `volume` is a book's volume and `number` its number in a series
    or the report's own, which Vancouver writes as such, never as the 2013;127(12) of a journal."""
    examples = load_bibliography(DATA / "biblatex-examples.bib")
    assert format_reference_text(examples["coleridge"]).endswith(
        "Vol. 7. London: Routledge and Kegan Paul; 1983. (Bollingen Series; 75).")
    assert format_reference_text(examples["knuth:ct:a"]).endswith("The TeXbook. Vol. A. Reading, Mass.: Addison-Wesley; 1984.")
    assert format_reference_text(examples["averroes/bland"]).endswith(
        "Jewish Theological Seminary of America; 1982. (Moreshet: Studies in Jewish History, Literature and Thought; 7).")
    [report] = load_bibliography(DATA / "bbt-techreport-number.bib").values()
    assert format_reference_text(report) == (
        "JTC 1/SC 22/WG 14. Programming Languages — C. ISO/IEC; 1999. Report No.: 9899:1999. "
        "Available from: https://www.iso.org/standard/29237.html")
    [chapter] = load_bibliography(DATA / "bbt-incollection-series.bib").values()
    assert ("Advances in Multi-Objective Nature Inspired Computing. Springer Berlin Heidelberg; 2010:119–141. "
            "(Studies in Computational Intelligence; 272).") in format_reference_text(chapter)
    assert format_reference_text(reference(journal="Trials", volume="3", number="2")) == "A title. Trials. 3(2)."


def test_a_book_s_edition_is_shown_as_vancouver_does() -> None:
    """A later edition is another text (its pages, even its facts, differ): Vancouver names it after the title,
    '6th ed.'; the first is not named."""
    examples = load_bibliography(DATA / "biblatex-examples.bib")
    assert format_reference_text(examples["cotton"]).endswith("Advanced inorganic chemistry. 6th ed. Chichester: Wiley; 1999.")
    assert format_reference_text(examples["massa"]).endswith("Crystal structure determination. 2nd ed. Berlin: Spinger; 2004.")
    assert "1st" not in format_reference_text(examples["companion"])
    [book] = load_bibliography(DATA / "bbt-book-edition.bib").values()
    assert "Building Blocks for Iterative Methods. Second ed. Philadelphia, PA: Society for Industrial" in format_reference_text(book)


def test_a_publisher_s_place_comes_before_it_as_vancouver_writes_it() -> None:
    """Found reading real exports: `address` (biblatex's `location`) was dropped, where NLM writes 'Place:
    Publisher; Year' for a book, a chapter's book and a report; an article's place is its journal's, not shown, and
    a place with no publisher is not shown either."""
    book = load(article(key="b", title="T", publisher="Mosby", address="St. Louis", year="2002").replace("@article",
                                                                                                       "@book"))["b"]
    assert format_reference_text(book) == "T. St. Louis: Mosby; 2002."
    chapter = load("@incollection{c, title={T}, booktitle={B}, publisher={Springer}, location={Berlin}, year={2010},"
                   " pages={1--9}}\n")["c"]
    assert "In: B. Berlin: Springer; 2010:1–9." in format_reference_text(chapter)
    report = load("@techreport{r, title={T}, institution={WHO}, address={Geneva}, year={2020}}\n")["r"]
    assert format_reference_text(report) == "T. Geneva: WHO; 2020."
    alone = load("@book{a, title={T}, address={London}, year={1990}}\n")["a"]
    assert format_reference_text(alone) == "T. 1990."
    listed = load("@book{l, title={T}, publisher={Duke University Press}, location={Durham and London}, year={2001}}\n")
    assert format_reference_text(listed["l"]) == "T. Durham: Duke University Press; 2001."  # NLM: the first place
    paper = load(article(title="T", journal="Lancet", address="London", year="2001"))["chen2020"]
    assert format_reference_text(paper) == "T. Lancet. 2001."


def test_a_program_s_version_is_shown_after_its_title(tmp_path: Path) -> None:
    """Found on real data (Ultralytics' own citation of YOLOv8): biblatex's version field was dropped, and which
    version a finding used matters. NLM cites software with its version after the title."""
    bib = tmp_path / "software.bib"
    bib.write_text("@software{yolov8,\n  author = {Jocher, Glenn and Chaurasia, Ayush and Qiu, Jing},\n"
                   "  title = {Ultralytics {YOLOv8}},\n  version = {8.0.0},\n  year = {2023},\n"
                   "  url = {https://github.com/ultralytics/ultralytics},\n  license = {AGPL-3.0}\n}\n")
    [yolo] = load_bibliography(bib).values()
    assert format_reference_text(yolo) == ("Jocher G, Chaurasia A, Qiu J. Ultralytics YOLOv8. Version 8.0.0. 2023. "
                                           "Available from: https://github.com/ultralytics/ultralytics")
    program = Reference("k", "software", ((("title", "A title"), ("version", "v2.1")),), 1)
    assert format_reference_text(program) == "A title. Version 2.1."
    program = Reference("k", "manual", ((("title", "A title"), ("version", "version 3 (beta)")),), 1)
    assert format_reference_text(program) == "A title. Version 3 (beta)."
    # a journal's article is found by its issue (biblatex's examples give one the version of its preprint)
    assert "Version" not in format_reference_text(reference(journal="J", year="2020", version="3"))


def test_an_article_number_stands_where_its_pages_would() -> None:
    """Better BibLaTeX exports Zotero's article number as biblatex's eid, and ACM's BibTeX as articleno, with no pages:
    Vancouver puts it where the pages go (PLoS One. 2013;8(2):e56890), or the article cannot be found in its volume."""
    refs = load_bibliography(DATA / "bbt-article-numbers.bib")
    assert format_reference_text(refs["lastJournalArticleVolume2000"]).endswith("Fake Journal. 2000;1:1234.")
    assert format_reference_text(refs["lastJournalArticleSeasonal2000"]).endswith("Fake Journal. 2000;1(Spring):5678.")
    assert format_reference_text(reference(journal="ACM Trans. Graph.", year="2021", volume="40", number="6",
                                           articleno="195", numpages="14")).endswith("2021;40(6):195.")
    assert format_reference_text(reference(journal="J", year="2020", pages="5--9", eid="e1")).endswith("2020:5–9.")
    assert format_reference_text(reference(journal="J", year="2020", eid="e2020-0012")).endswith("2020:e2020-0012.")


def test_json_ld_types_organizations_books_and_publishers_as_what_they_are(tmp_path: Path) -> None:
    from schemaorg import Vocabulary, validate

    from sitegen.cite import CitedReference
    from sitegen.jsonld import scholarly_article

    path = tmp_path / "refs.bib"
    path.write_text(r"""
@article{a, author = {{World Health Organization} and Smith, John and {\"O}berg, Anna}, title = {T}, journal = {J}, year = 2020}
@inproceedings{p, author = {Smith, John}, title = {A paper}, booktitle = {Proc. Things}, year = 2020}
@book{b, author = {{The {ABC} Council}}, title = {A book}, publisher = {Duke University Press}, year = 2001}
""", encoding="utf-8")
    nodes = {key: scholarly_article(CitedReference(1, ref, ())) for key, ref in load_bibliography(path).items()}
    assert [(a["@type"], a["name"]) for a in nodes["a"]["author"]] == [
        ("Organization", "World Health Organization"), ("Person", "Smith J"), ("Person", "Öberg A")]
    assert nodes["a"]["isPartOf"] == {"@type": "Periodical", "name": "J"}
    assert nodes["p"]["isPartOf"] == {"@type": "Book", "name": "Proc. Things"}  # proceedings are a book
    assert nodes["b"]["author"] == [{"@type": "Organization", "name": "The ABC Council"}]
    assert nodes["b"]["publisher"] == {"@type": "Organization", "name": "Duke University Press"}
    assert "isPartOf" not in nodes["b"]  # a publisher is no periodical
    vocabulary = Vocabulary.load()
    for node in nodes.values():
        assert validate({"@context": "https://schema.org", **node}, vocabulary) == [], node


# --- real-world BibTeX as exporters and people write it ------------------------------------------


def test_a_bare_percent_in_a_title_keeps_the_rest_of_the_title() -> None:
    """A title with a % no backslash escapes, over two lines as a converter wraps it: the whole title is shown."""
    ref = load("@article{pct,\n  title = {Aspirin gave a 50% reduction\n    in stroke: a trial},\n  year = 2020,\n}\n")["pct"]
    assert ref.title == "Aspirin gave a 50% reduction in stroke: a trial"


def test_json_ld_dates_a_reference_only_by_a_year_it_names(tmp_path: Path) -> None:
    """BibTeX's year is free text: 'in press', '2020a' (a second work of the year), '(2020)'. schema.org's
    datePublished is an ISO 8601 date: the year a value names, or none at all; the page shows the year as written."""
    from schemaorg import Vocabulary, validate

    from sitegen.cite import CitedReference
    from sitegen.jsonld import scholarly_article

    refs = load("".join(f"@article{{y{i}, title = {{T}}, journal = {{J}}, year = {{{year}}}}}\n"
                        for i, year in enumerate(["in press", "2020a", "(2019)", "Mar 2018", "{\\noopsort{a}}2017"])))
    nodes = [scholarly_article(CitedReference(1, ref, ())) for ref in refs.values()]
    assert [node.get("datePublished") for node in nodes] == [None, "2020", "2019", "2018", "2017"]
    assert format_reference_text(refs["y0"]) == "T. J. in press."
    vocabulary = Vocabulary.load()
    for node in nodes:
        assert validate({"@context": "https://schema.org", **node}, vocabulary) == [], node


def test_a_noopsort_sort_key_is_not_shown() -> None:
    """btxdoc's way to sort: @preamble{"\\newcommand{\\noopsort}[1]{}"}, then a sort key that the printed document
    leaves out, in a year or a name. A page shows neither '1973b1973' nor 'RayleighLord Rayleigh'."""
    refs = load('@preamble{ "\\newcommand{\\noopsort}[1]{} " }\n'
                "@book{knuth, author = {Knuth, Donald E.}, title = {Seminumerical Algorithms},\n"
                "  publisher = {Addison-Wesley}, year = {{\\noopsort{1973b}}1973}}\n"
                "@article{lord, author = {{\\noopsort{Rayleigh}}{Lord Rayleigh}}, title = {On waves}, journal = {J},\n"
                "  year = 1885}\n")
    assert refs["knuth"].year == "1973"
    assert format_reference_text(refs["lord"]).startswith("Lord Rayleigh. On waves.")


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [  # the mistakes people make by hand, each said as what to do, where pybtex said "'}' expected"
        ("@article{a,\n  title = {A}\n  year = 2020\n}\n", (3, 3),
         "expected ',' after the value of 'title', before the next field 'year'"),
        ("@article{a,\n  title = {A {b},\n  year = 2020\n}\n@article{b, title = {B}}\n", (5, 1),
         ("expected ',' or '}' after the value of 'title'; the value of 'title', from line 2, took in the next field, "
          "'year': is a '}' missing in it?")),
        ("@article{a,\n  title = {A {b},\n  year = 2020\n}\n", (5, 1),
         "premature end of file; the value of 'title', from line 2, took in the next field, 'year'"),
        ("@article{a,\n  title = {A},\n  year = 2020.5,\n}\n", (3, 14), "expected ',' or '}' after the value of 'year'"),
        ("@article{a,\n  title = {A},\n  = {x},\n}\n", (3, 3), "expected a field name (name = value) or '}' to end the entry"),
        ('@article{a,\n  title = "A,\n  year = 2020\n}\n', (4, 2), "in the quoted value of 'title', from line 2; is its closing '\"' missing?"),
        ("@article(a,\n  title = {A},\n  year = 2020\n", (4, 1), "premature end of file: expected ')' to close the @ command"),
    ],
)
def test_a_syntax_error_says_what_is_missing_and_where_its_value_began(text: str, where: tuple[int, int], says: str) -> None:
    [problem] = [p for p in problems_of(text) if "syntax error" in p.message]
    assert (problem.line, problem.column) == where
    assert says in problem.message, problem.message


@pytest.mark.parametrize(
    ("author", "shown"),
    [
        ("Smith, John and", ("Smith J",)),  # a list joined by a script that ends each name with ' and'
        ("Smith, John and and Doe, Jane", ("Smith J", "Doe J")),
        ("and Smith, John", ("Smith J",)),
        ("Smith JA, Doe J, Van Tine BA", ("Smith JA", "Doe J", "Van Tine BA")),  # PubMed's author list, pasted
        ("Smith, John and Doe, Jane", ("Smith J", "Doe J")),
        ("Smith JA and Doe J and Roe, Richard", ("Smith JA", "Doe J", "Roe R")),  # PubMed's names, joined by 'and'
        # family names in capitals, given names first: a short one is no initials when the list's others are not
        ("Wei LI and Jun ZHANG and Xin WU", ("LI W", "ZHANG J", "WU X")),
    ],
)
def test_an_author_list_shows_its_names_and_no_stray_and(author: str, shown: tuple[str, ...]) -> None:
    ref = load(article(title="T", author=author, editor=author))["chen2020"]
    assert ref.authors == shown
    assert ref.shown.editors == shown


@pytest.mark.parametrize(
    "written",
    ["DOI: 10.1056/NEJMoa2034577", "doi: 10.1056/NEJMoa2034577", "https://www.doi.org/10.1056/NEJMoa2034577",
     "doi.org/10.1056/NEJMoa2034577", "10.1056/NEJMoa2034577.", "https://doi.org/10.1056/NEJMoa2034577"],
)
def test_a_doi_as_people_copy_it_is_shown_and_linked(written: str) -> None:
    """'DOI: 10...' (with a space) lost its DOI altogether; one copied from the end of a PubMed citation kept its
    full stop (doi:10.1056/NEJMoa2034577..)."""
    refs = load(article(title="T", journal="N Engl J Med", year="2021", doi=written))
    ref = refs["chen2020"]
    assert ref.doi == "10.1056/NEJMoa2034577"
    assert reference_links(ref).doi == "https://doi.org/10.1056/NEJMoa2034577"
    assert format_reference_text(ref).endswith("doi:10.1056/NEJMoa2034577.")
    assert check_bibliography(refs, ["chen2020"]) == []


def test_a_first_edition_is_not_named_however_written_and_a_misc_names_its_journal() -> None:
    """Vancouver names no first edition: '1st ed.' and 'First edition' were shown, and Mendeley's '1st ed..' as
    '1st ed..'. A @misc (or Mendeley's @generic) with a journal showed its publisher instead of the journal."""
    for written in ("1st ed.", "1st ed..", "First edition", "1"):
        book = reference(publisher="Wiley", year="2019", edition=written)
        assert format_reference_text(replace(book, entry_type="book")) == "A title. Wiley; 2019.", written
    assert bib_module.edition_words("2nd ed..") == "2nd ed."
    refs = load("@generic{c, author = {Callahan, Ewa S}, title = {Cultural bias}, journal = {J Am Soc Inf Sci Technol},\n"
                "  publisher = {John Wiley & Sons, Inc}, year = {2011}, volume = {62}, pages = {1899-1915}}\n")
    assert "J Am Soc Inf Sci Technol" in format_reference_text(refs["c"])
    assert "Wiley" not in format_reference_text(refs["c"])


def test_the_same_entry_twice_is_a_warning_and_two_entries_under_one_key_an_error() -> None:
    """Two exports joined into one file hold the same work twice under its key: biber warns and uses the first, and
    nothing is in doubt, so a page can cite it. Two different entries under one key stay an error."""
    same = article("smith2020", title="First", year="2020")
    refs = load(same + "\n" + same.replace("  title", "\n  title"))
    [problem] = check_bibliography(refs, ["smith2020"])
    assert (problem.line, problem.severity) == (6, "warning")
    assert "the same entry as on line 1; this copy is ignored" in problem.message
    assert format_reference_text(refs["smith2020"]) == "First. 2020."
    [error] = problems_of(same + "\n" + article("smith2020", title="Second", year="2020"))
    assert error.severity == "error" and "already defined on line 1" in error.message


def test_an_arxiv_preprint_links_to_its_arxiv_page() -> None:
    """arXiv's own export names a preprint by its eprint and archivePrefix only, biblatex by eprint and eprinttype:
    the page showed title and year and no way to find the work."""
    refs = load("@misc{vaswani2017,\n  title = {Attention Is All You Need},\n  author = {Ashish Vaswani and Noam Shazeer},\n"
                "  year = {2017},\n  eprint = {1706.03762},\n  archivePrefix = {arXiv},\n  primaryClass = {cs.CL}\n}\n"
                "@online{old, title = {Old}, year = 1999, eprint = {hep-th/9901001v2}, eprinttype = {arxiv}}\n"
                "@online{other, title = {Other}, year = 1999, eprint = {1706.03762}, eprinttype = {jstor}}\n")
    assert format_reference_text(refs["vaswani2017"]) == (
        "Vaswani A, Shazeer N. Attention Is All You Need. 2017. Available from: https://arxiv.org/abs/1706.03762")
    assert reference_links(refs["old"]).web == "https://arxiv.org/abs/hep-th/9901001v2"
    assert reference_links(refs["other"]).web == ""


def test_a_consortium_s_author_list_and_a_long_abstract_do_not_stop_a_build() -> None:
    """A genome-wide study lists 700 authors in 19,000 characters, a Cochrane review's abstract runs past 10,000: BibTeX
    and biber read both, and citing either stopped the build ('expected a value of at most 10,000 characters')."""
    from sitegen.cite import CitedReference
    from sitegen.jsonld import scholarly_article

    names = " and ".join(f"Author{i:03d}, Given M." for i in range(700))
    refs = load(f"@article{{gwas, title = {{A study}}, journal = {{Nature}}, year = 2020,\n  author = {{{names}}}}}\n"
                f"@article{{review, title = {{A review}}, journal = {{Cochrane}}, year = 2020,\n"
                f"  abstract = {{{'word ' * 2500}}}}}\n")
    [warning] = check_bibliography(refs, ["gwas", "review"])
    assert (warning.line, warning.severity) == (4, "warning")
    assert warning.message.startswith("abstract: expected a value of at most 10,000 characters, got 12,500; no page "
                                      "shows it, and it is left out")
    assert format_reference_text(refs["gwas"]).startswith("Author000 GM, Author001 GM, Author002 GM, Author003 GM, "
                                                          "Author004 GM, Author005 GM, et al. A study. Nature. 2020.")
    assert len(scholarly_article(CitedReference(1, refs["gwas"], ()))["author"]) == bib_module.MAX_DECODED_NAMES
    too_many = " and ".join(["Author, Given M."] * 20_000)
    [error] = problems_of(f"@article{{k, title = {{T}}, year = 2020, author = {{{too_many}}}}}\n")
    assert "author: expected a value of at most 200,000 characters" in error.message


def test_texmed_s_doi_and_pmid_in_its_note_are_shown_and_linked() -> None:
    """TeXMed (PubMed to BibTeX, which the pubmed-bibtex package calls) gives an article's DOI and PMID only as \\href
    links in its note: both were lost, and with them every way to find the article."""
    [ref] = load_bibliography(DATA / "texmed-pubmed-note-links.bib").values()
    assert (ref.doi, ref.pmid) == ("10.1007/s00508-019-1494-5", "31025164")
    assert format_reference_text(ref) == (
        "Egger F, Hofer C, Hammerle FP, Lofler S, Nurnberg M, Fiedler L, et al. Influence of electrical stimulation "
        "therapy on permanent pacemaker function. Wien. Klin. Wochenschr. 2019. doi:10.1007/s00508-019-1494-5. "
        "PMID: 31025164.")
    assert reference_links(ref).pubmed == "https://pubmed.ncbi.nlm.nih.gov/31025164/"


def test_a_finding_s_source_ends_a_question_as_a_question() -> None:
    """A finding names its source by title: 'Does nivolumab work?' showed as 'Does nivolumab work?.', and a title
    cut before its subtitle as 'After Injury:.'; the reference list already wrote both as Vancouver does."""
    from sitegen.render import short_source

    refs = load(article("q", title="Does nivolumab work?", author="Chen, Yu", year="2020")
                + article("c", title="After Injury:", author="Chen, Yu", year="2020"))
    assert [short_source(ref) for ref in refs.values()] == ["Does nivolumab work? Chen Y. 2020", "After Injury. Chen Y. 2020"]


def test_a_citation_in_pandoc_s_other_forms_is_an_error_at_its_place(project: Project, tmp_path: Path) -> None:
    """'[@chen2021, p. 5]' and '[see @chen2021]' (pandoc's locator and prefix) were shown on the page as written, with
    no number and no warning; an e-mail address in brackets, code, and the forms sitegen reads are left alone."""
    trial = project.content / "trial.yaml"
    cite_only(project, "chen2021", "A finding [@chen2021, p. 5] and [see @chen2021], [mail a@b.org],\n"
              "        `[@code, p. 1]` and [@chen2021].")
    with pytest.raises(ContentError) as caught:
        build(project, tmp_path / "out")
    line = trial.read_text(encoding="utf-8").splitlines().index("      - A finding [@chen2021, p. 5] and [see @chen2021], [mail a@b.org],") + 1
    assert [(p.line, p.column) for p in caught.value.problems] == [(line, 19), (line, 41)]
    assert caught.value.problems[0].message == (
        "findings[0].points[0]: '[@chen2021, p. 5]' is no citation sitegen reads, and a page would show it as written: "
        "expected [@key] or [@key1; @key2], with nothing else in the brackets (no page, no 'see'); an @ meant as text "
        "there, a handle's, is written &#64;")


def test_an_at_sign_written_as_its_reference_in_brackets_is_text(project: Project, tmp_path: Path) -> None:
    """A handle in brackets ('[on X: @NCIsarcoma]') built before pandoc's forms were refused; the refusal names the
    way to write it, which builds and shows the @."""
    cite_only(project, "chen2021", "A finding [@chen2021] [follow &#64;NCIsarcoma].")
    build(project, tmp_path / "out")
    page, _ = findings_page(tmp_path / "out")
    assert "[follow @NCIsarcoma]" in html.unescape(page)


def test_a_bare_or_href_url_in_howpublished_or_note_is_the_web_address() -> None:
    """A web page's @misc as people write it, howpublished = {https://www.who.int/...}, or a note 'Available at
    https://...' (Mendeley's thesis: note = {http://hdl.handle.net/1842/23384}), or \\href{...}{...}: the address was lost."""
    refs = load("@misc{who, author = {{World Health Organization}}, title = {Global tuberculosis report 2023},\n"
                "  howpublished = {https://www.who.int/publications/i/item/9789240083851}, year = {2023}}\n"
                "@misc{nice, title = {Guideline}, year = {2023}, note = {Available at https://www.nice.org.uk/guidance/ng28.}}\n"
                "@misc{href, title = {Web}, year = {2020}, howpublished = {Online: \\href{https://example.org/b}{example.org}}}\n"
                "@misc{none, title = {Text}, year = {2020}, howpublished = {Poster, ASCO 2020}, note = {ID: 12}}\n"
                "@misc{wiki, title = {W}, year = {2020}, note = {(see https://en.wikipedia.org/wiki/Sarcoma_(disease)).}}\n")
    assert [reference_links(ref).web for ref in refs.values()] == [
        "https://www.who.int/publications/i/item/9789240083851", "https://www.nice.org.uk/guidance/ng28",
        "https://example.org/b", "", "https://en.wikipedia.org/wiki/Sarcoma_(disease)"]
    assert format_reference_text(refs["who"]) == ("World Health Organization. Global tuberculosis report 2023. 2023. "
                                                  "Available from: https://www.who.int/publications/i/item/9789240083851")
    assert check_bibliography(refs, list(refs)) == []


def test_a_field_commented_out_with_a_percent_is_left_out_as_biber_does() -> None:
    """'% url = {...},' in an entry, as people leave a field out (biber reads it as a comment), made the entry a syntax
    error: a page citing it could not be built."""
    text = ("@article{c,\n  title = {T},\n  % note = {left out},\n  year = 2020, % a comment\n  %url = {https://x.org}\n}\n"
            "@article{d,\r\n  % first\r\n  title = {U} % last\r\n  year = 2021\r\n}\r\n")
    refs = load(text)
    assert format_reference_text(refs["c"]) == "T. 2020."
    assert "note" not in dict(refs["c"].chain[0])
    [problem] = problems_of(text)  # a comma left out is still one, at its line and column
    assert (problem.line, problem.column) == (10, 3) and "before the next field 'year'" in problem.message


@pytest.mark.parametrize(
    ("author", "shown"),
    [
        ("Smith, John and et al.", ("Smith J",)),  # 'et al.' written out, as hands write BibTeX's 'others'
        ("Smith, John and {et al}", ("Smith J",)),
        ("Smith, John et al.", ("Smith J",)),  # not 'Smith JEA'
        ("Smith JA, Doe J, et al.", ("Smith JA", "Doe J")),  # PubMed's list, cut as PubMed cuts it
        ("Smith, John and Beet Al", ("Smith J", "Al B")),  # a name is no 'et al'
    ],
)
def test_et_al_written_out_marks_the_list_truncated(author: str, shown: tuple[str, ...]) -> None:
    ref = load(article(title="T", author=author))["chen2020"]
    assert ref.authors == shown
    assert ref.authors_truncated == (author != "Smith, John and Beet Al")


def test_bibdesk_s_bdsk_url_is_the_web_address_of_an_entry_with_no_url() -> None:
    """BibDesk (the Mac's BibTeX manager) keeps an entry's linked address in bdsk-url-1: it was lost."""
    refs = load("@misc{desk,\n  title = {Guideline},\n  year = {2019},\n  date-added = {2019-05-04 10:00:00 +0200},\n"
                "  bdsk-url-1 = {https://www.nice.org.uk/guidance/ng28}}\n"
                "@misc{bad,\n  title = {T},\n  year = {2019},\n  bdsk-url-1 = {javascript:alert(1)}}\n")
    assert reference_links(refs["desk"]).web == "https://www.nice.org.uk/guidance/ng28"
    [problem] = check_bibliography(refs, list(refs))
    assert problem.line == 9 and "bdsk-url-1" in problem.message and "is not a web address" in problem.message


def test_a_link_whose_text_starts_with_an_at_sign_is_a_link_not_a_citation(project: Project, tmp_path: Path) -> None:
    """'[@NCIsarcoma](https://twitter.com/NCIsarcoma)' is a Markdown link (pandoc reads it so): the build stopped,
    saying '@NCIsarcoma' is not in references.bib."""
    cite_only(project, "chen2021", "A finding. Follow [@NCIsarcoma](https://twitter.com/NCIsarcoma).")
    build(project, tmp_path / "out")
    page = (tmp_path / "out" / "findings" / "index.html").read_text(encoding="utf-8")
    assert '<a href="https://twitter.com/NCIsarcoma" rel="noopener">@NCIsarcoma</a>' in page


def test_biblatex_xdata_fields_are_the_entry_s_own() -> None:
    """biblatex's @xdata writes a journal's fields once (xdata = {nejm}): an article naming it showed no journal, and
    one with nothing else to show stopped the build."""
    refs = load("@xdata{nejm, journaltitle = {N Engl J Med}, publisher = {Massachusetts Medical Society}, xdata = {y}}\n"
                "@xdata{y, year = {2020}}\n"
                "@article{a, title = {A trial}, author = {Chen, Yu}, xdata = {nejm}, volume = {382}, pages = {1--9}}\n"
                "@article{b, author = {Li, Wei}, xdata = {nejm, missing}}\n")
    assert format_reference_text(refs["a"]) == "Chen Y. A trial. N Engl J Med. 2020;382:1\u20139."
    assert list(refs) == ["a", "b"]  # an @xdata is no work
    [warning] = [p for p in check_bibliography(refs, ["a", "b"]) if "xdata" in p.message]
    assert warning.message == "entry 'b': xdata 'missing' is not in the bibliography; it is shown with its own fields"


def test_a_key_s_alias_in_ids_cites_the_entry(project: Project, tmp_path: Path) -> None:
    """biblatex's ids = {old2020} (Better BibTeX keeps a renamed entry's old key so) lets a text cite the entry by its
    old key: the build stopped, saying the key is not in references.bib. Both keys are one work with one number."""
    bib = project.content / "references.bib"
    bib.write_text(bib.read_text(encoding="utf-8") + "\n@article{new2021, ids = {old2020, chen2021}, title = {Renamed},\n"
                   "  journal = {J}, year = 2021}\n", encoding="utf-8")
    cite_only(project, "new2021", "A finding.[@old2020] Again.[@new2021]")
    build(project, tmp_path / "out")
    page, _ = findings_page(tmp_path / "out")
    assert page.count("<li id=\"ref-") == 1 and "Renamed. <i>J</i>. 2021." in page  # ('chen2021' is a key of its own: no alias)


def test_a_finding_s_source_may_be_an_alias(project: Project, tmp_path: Path) -> None:
    """A finding whose source is an entry's alias (ids = {old2020}) passed the citation check, then stopped the build
    with a template error: the findings page looked the alias up among the cited entries' keys."""
    bib = project.content / "references.bib"
    bib.write_text(bib.read_text(encoding="utf-8") + "\n@article{new2021, ids = {old2020}, title = {Renamed},\n"
                   "  journal = {J}, year = 2021}\n", encoding="utf-8")
    cite_only(project, "old2020")
    build(project, tmp_path / "out")
    page, _ = findings_page(tmp_path / "out")
    assert page.count("<li id=\"ref-") == 1 and "Renamed. <i>J</i>. 2021." in page
    assert "Renamed. 2021" in page.split('class="finding-source"')[1].split("</p>")[0]  # its short source, as any


def test_an_author_list_of_commas_is_read_in_time_linear_in_its_length() -> None:
    """'et al.' (2ce8a24) was looked for after each run of commas and spaces, and from each comma of it: an author field
    of 10,000 commas, which a page decodes (MAX_TEXT of its up to 200,000), took 1.7 s, for each entry cited so."""
    seconds = []
    for commas in (2_000, 8_000):
        started = time.process_time()
        ref = load(article(title="T", author="Roe, R" + "," * commas))["chen2020"]
        assert ref.authors[0].startswith("Roe")
        seconds.append(time.process_time() - started)
    # four times the commas: about four times the time when linear (and a fixed part), sixteen when quadratic
    assert seconds[1] < 8 * max(seconds[0], 0.01), seconds


def test_a_long_author_list_is_cut_between_names_not_in_an_organization_s_braces() -> None:
    """A list over MAX_TEXT characters is decoded up to its last 'and' before them (542f0c6): one inside an
    organization's braces cut its name ('{The Long and Complicated Consortium}' became the Person 'The Long')."""
    from sitegen.cite import CitedReference
    from sitegen.jsonld import scholarly_article

    org = "{The " + "Very Long and Complicated " * 9 + "Consortium}"
    ref = load(article(title="T", author=" and ".join([org] * 45)))["chen2020"]
    assert set(ref.authors) == {org.strip("{}")} and ref.shown.authors_truncated
    authors = scholarly_article(CitedReference(1, ref, ()))["author"]
    assert {(a["@type"], a["name"]) for a in authors} == {("Organization", org.strip("{}"))}


def test_a_bare_url_with_latex_escapes_is_linked_whole() -> None:
    """Outside \\url, LaTeX needs '_', '%', '#' and '&' escaped, and a bare address in a note or howpublished has them
    so: 85fe975 cut it at the first backslash, linking https://www.who.int/news for https://www.who.int/news_room/..."""
    refs = load("@misc{a, title = {T}, year = 2020, howpublished = {https://www.who.int/news\\_room/fact\\_sheets}}\n"
                "@misc{b, title = {T}, year = 2020, note = {Available at https://example.org/a\\%20b\\#sec and more}}\n"
                "@misc{c, title = {T}, year = 2020, note = {See https://example.org/x{\\_}y.}}\n")
    assert [reference_links(ref).web for ref in refs.values()] == [
        "https://www.who.int/news_room/fact_sheets", "https://example.org/a%20b#sec", "https://example.org/x_y"]
    assert check_bibliography(refs, list(refs)) == []
