"""Parse a BibTeX file into References and format each one as a numbered-list entry in a medical
(Vancouver/NLM-like) style, as HTML or plain text.

Parsing keeps every field as written, with the problems of each entry; LaTeX is decoded only when a
reference is shown, so entries nothing cites cost no more than reading them. Every size is bounded.
"""

from __future__ import annotations

import codecs
import html
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from pybtex.backends.plaintext import Backend as PlainTextBackend  # type: ignore[import-untyped]
from pybtex.bibtex.utils import split_name_list, split_tex_string  # type: ignore[import-untyped]
from pybtex.database import Person  # type: ignore[import-untyped]
from pybtex.database.input.bibtex import (  # type: ignore[import-untyped]
    NAME_CHARS,
    LowLevelParser,
    SkipEntry,
    UndefinedMacro,
    month_names,
)
from pybtex.exceptions import PybtexError  # type: ignore[import-untyped]
from pybtex.richtext import Text  # type: ignore[import-untyped]
from pybtex.scanner import PrematureEOF, PybtexSyntaxError, Token, TokenRequired  # type: ignore[import-untyped]
from pybtex.utils import CaseInsensitiveDict  # type: ignore[import-untyped]

from sitegen.errors import ContentError, Problem
from sitegen.inputs import INVISIBLE, limit_of, read_input
from sitegen.load import MAX_TEXT

MAX_AUTHORS = 6
"""Vancouver lists the first six authors, then "et al."."""

MAX_BYTES = limit_of("references.bib")  # the input contract of a .bib file (inputs.py)
"""Bytes in one .bib file: thousands of entries with abstracts; reading it takes about two seconds at most."""
MAX_ENTRIES = 10_000
"""Entries in one .bib file."""
MAX_COMMANDS = 50_000
"""@ commands of any kind (entries, @string, @comment, broken ones) in one .bib file."""
MAX_CROSSREF = 8
"""Steps in a crossref chain (BibTeX itself follows one)."""
MAX_PROBLEMS = 5
"""Problems kept per entry: the first ones say what is wrong; a thousand more of the same say nothing new."""

ARTICLE_TYPES = frozenset({"article", "periodical", "suppperiodical"})
PART_TYPES = frozenset(
    {"inproceedings", "conference", "incollection", "inbook", "bookinbook", "inreference"}
    | {"suppbook", "suppcollection"}
)
BOOK_TYPES = PART_TYPES | frozenset(
    {"book", "mvbook", "collection", "mvcollection", "proceedings", "mvproceedings", "reference", "mvreference"}
    | {"booklet", "manual", "thesis", "phdthesis", "mastersthesis"} | {"report", "techreport"}
)
"""Works whose `volume` is a book's volume and whose `number` is their number in a series, or a report's own."""
REPORT_TYPES = frozenset({"report", "techreport"})
NOT_REFERENCES = frozenset({"set", "xdata"})
"""biblatex containers that group or feed other entries but are not works themselves."""

_ARTICLE_CONTAINER = ("journal", "journaltitle")
_PART_CONTAINER = ("booktitle", "maintitle")
_BOOK_CONTAINER = ("publisher", "institution", "school", "organization", *_ARTICLE_CONTAINER, "booktitle")
# (a journal first: a @misc, or Mendeley's @generic, that names one is an article, and its publisher is the journal's)
_OTHER_CONTAINER = (*_ARTICLE_CONTAINER, "publisher", "institution", "school", "organization", "booktitle")

Fields = tuple[tuple[str, str], ...]
"""An entry's fields as written in the file (LaTeX), names in lower case, in file order."""


@dataclass(frozen=True)
class Shown:
    """What a reference shows, decoded from LaTeX to plain Unicode text."""

    title: str
    authors: tuple[str, ...]
    authors_truncated: bool
    year: str
    journal: str
    volume: str
    number: str
    pages: str
    doi: str
    url: str
    pmid: str
    editors: tuple[str, ...] = ()  # Vancouver names, 'et al' for 'others'
    organizations: frozenset[str] = frozenset()  # the authors that are organizations ({World Health Organization})
    publisher: str = ""  # a chapter's or paper's book's publisher (another work's is its `journal`)
    series: str = ""  # a book's or report's series (BOOK_TYPES), which its `number` is a number in
    edition: str = ""  # a book's edition as written ('6', 'Second')
    version: str = ""  # a program's, data set's or preprint's version as written ('8.0.0'); an article has its issue
    place: str = ""  # where a publisher, institution or school is ('London'), for NLM's 'London: Routledge'


@dataclass(frozen=True)
class Reference:
    """One work from the bibliography: its fields as written, then those of each entry it inherits from
    through crossref, and what is wrong with it (the severity each problem has when the entry is cited).

    What a page shows (title, authors, ...) is decoded from LaTeX when first asked for, so a reference
    nothing cites is never decoded. Equality and repr (the build's fingerprints) are of the fields as written.
    """

    key: str
    entry_type: str
    chain: tuple[Fields, ...]
    line: int
    file: str = ""
    problems: tuple[Problem, ...] = ()

    @cached_property
    def shown(self) -> Shown:
        """The fields a page shows, decoded (once)."""
        return _decode(self.entry_type, [dict(fields) for fields in self.chain])

    @cached_property
    def html(self) -> str:
        """The entry as a page shows it, safe HTML (format_reference_html), made once: a reference of the
        catalog's shared bibliography is shown by every trial that cites it."""
        return format_reference_html(self)

    @property
    def title(self) -> str:
        return self.shown.title

    @property
    def authors(self) -> tuple[str, ...]:
        return self.shown.authors

    @property
    def authors_truncated(self) -> bool:
        return self.shown.authors_truncated

    @property
    def year(self) -> str:
        return self.shown.year

    @property
    def journal(self) -> str:
        return self.shown.journal

    @property
    def volume(self) -> str:
        return self.shown.volume

    @property
    def number(self) -> str:
        return self.shown.number

    @property
    def pages(self) -> str:
        return self.shown.pages

    @property
    def doi(self) -> str:
        return self.shown.doi

    @property
    def url(self) -> str:
        return self.shown.url

    @property
    def pmid(self) -> str:
        return self.shown.pmid


@dataclass(frozen=True)
class EntrySet:
    """A biblatex @set: a key for several entries (its `entryset`), cited in biblatex as one. It is no work itself,
    and a page cites its members."""

    key: str
    members: tuple[str, ...]
    file: str
    line: int


class Bibliography(dict[str, Reference]):
    """The references of one .bib file by key, in file order, and the problems of the file outside any entry
    (text that is not an entry, a broken @string): warnings, since no page can cite them. Its @set entries, which
    are not references, are kept apart (`sets`), so that a citation of one can say what to cite instead. `aliases`
    are the other keys an entry may be cited by (biblatex's ids = {oldkey}), each with the entry's key."""

    def __init__(self, references: Mapping[str, Reference] | None = None, problems: Sequence[Problem] = (),
                 sets: Mapping[str, EntrySet] | None = None, aliases: Mapping[str, str] | None = None) -> None:
        super().__init__(references or {})
        self.problems = tuple(problems)
        self.sets = dict(sets or {})
        self.aliases = dict(aliases or {})


# ---------------------------------------------------------------------------
# LaTeX to text


_CONTROL_WORD = re.compile(r"\\([A-Za-z]+)\*?[ \t\r\n]*")  # (not a no-break space: see _SPACING)
_CONTROL_SYMBOL = re.compile(r"\\(.)", re.DOTALL)
_DOTLESS_I = re.compile(r"(\\[`'^\"~=.uvHckrdb]\s*)(?:\{\\([ij])\}|\\([ij])(?![A-Za-z])\s*)")  # under an accent
# render_as("text") looks the backend up through package metadata on every call (~30 ms): keep one.
_PLAIN_TEXT = PlainTextBackend()
_KNOWN_WORDS = {"TeX": "TeX", "LaTeX": "LaTeX", "BibTeX": "BibTeX", "hyphen": "-", "slash": "/", "newline": " ",
                "linebreak": " ", "quad": " ", "qquad": " "}
# What decoding changes besides dropping braces (latexcodec and pybtex leave single hyphens and apostrophes as they are)
_KNOWN_WORD = re.compile(r"\\(" + "|".join(_KNOWN_WORDS) + r")\{\}")  # '\\LaTeX{} text': the braces keep the space
_DECODED = re.compile(r"[\\$~`\"%&#^_]|--|''|,,|<<|>>|</?[A-Za-z]")  # (and an HTML tag: <i>E. coli</i>)
_DASHES = re.compile(r"(?<!-)---?(?!-)")  # '--' is an en dash, '---' an em dash (page ranges, mostly)
# What latexcodec does not decode, and biomedical titles write: units, signs and Greek letters. Each a character;
# a text command takes the spaces after it (TeX's rule: '10\textmu g' is 10µg), a math symbol keeps them.
_TEXT_SYMBOLS = {
    "textmu": "\u00b5", "micro": "\u00b5", "textgreater": ">", "textless": "<", "textquotedblleft": "\u201c",
    "textquotedblright": "\u201d", "textquoteleft": "\u2018", "textquoteright": "\u2019", "textquotesingle": "'",
    "texttimes": "\u00d7", "textdiv": "\u00f7", "textminus": "\u2212", "textperthousand": "\u2030",
    "textonehalf": "\u00bd", "textonequarter": "\u00bc", "textthreequarters": "\u00be", "textasciicircum": "^",
    "j": "\u0237",  # (a dotless j; latexcodec knows the dotless i)
    "dots": "\u2026", "ldots": "\u2026", "textellipsis": "\u2026", "textdagger": "\u2020", "textdaggerdbl": "\u2021",
    "textbullet": "\u2022", "textcelsius": "\u00b0C", "euro": "\u20ac", "texteuro": "\u20ac", "textquotedbl": '"',
    "textunderscore": "_", "textasteriskcentered": "*",
}
_GREEK = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu", "nu",
          "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega")  # (LaTeX has no \omicron)
_MATH_SYMBOLS = {
    **dict(zip(_GREEK, "\u03b1\u03b2\u03b3\u03b4\u03b5\u03b6\u03b7\u03b8\u03b9\u03ba\u03bb\u03bc\u03bd\u03be\u03c0\u03c1\u03c3\u03c4\u03c5\u03c6\u03c7\u03c8\u03c9")),
    **{name.capitalize(): letter for name, letter in zip(_GREEK, "\u0391\u0392\u0393\u0394\u0395\u0396\u0397\u0398\u0399\u039a\u039b\u039c\u039d\u039e\u03a0\u03a1\u03a3\u03a4\u03a5\u03a6\u03a7\u03a8\u03a9")},
    "varepsilon": "\u03b5", "vartheta": "\u03b8", "varphi": "\u03c6", "varrho": "\u03c1", "varsigma": "\u03c2",
    "le": "\u2264", "leq": "\u2264", "leqslant": "\u2264", "ge": "\u2265", "geq": "\u2265", "geqslant": "\u2265",
    "ne": "\u2260", "neq": "\u2260", "approx": "\u2248", "sim": "\u223c", "times": "\u00d7", "pm": "\u00b1",
    "mp": "\u2213", "cdot": "\u00b7", "circ": "\u00b0", "circledR": "\u00ae", "infty": "\u221e", "to": "\u2192", "rightarrow": "\u2192",
    "leftarrow": "\u2190", "uparrow": "\u2191", "downarrow": "\u2193", "ell": "\u2113", "prime": "\u2032",
    "lt": "<", "gt": ">", "ll": "\u226a", "gg": "\u226b", "degree": "\u00b0", "percent": "%", "sqrt": "\u221a",
    "cdots": "\u22ef", "dagger": "\u2020", "ddagger": "\u2021", "leftrightarrow": "\u2194", "Rightarrow": "\u21d2",
    "Leftarrow": "\u21d0", "Leftrightarrow": "\u21d4", "mid": "|", "langle": "\u27e8", "rangle": "\u27e9",
    "in": "\u2208", "notin": "\u2209", "subset": "\u2282", "subseteq": "\u2286", "cap": "\u2229", "cup": "\u222a",
    "sum": "\u2211", "prod": "\u220f", "int": "\u222b", "partial": "\u2202", "nabla": "\u2207", "forall": "\u2200",
    "exists": "\u2203", "emptyset": "\u2205", "propto": "\u221d", "equiv": "\u2261", "neg": "\u00ac",
    "wedge": "\u2227", "vee": "\u2228", "star": "\u22c6", "bullet": "\u2022", "hbar": "\u210f",
    **{name: name for name in ("log", "ln", "exp", "sin", "cos", "tan", "min", "max", "lim", "det", "arg", "sup", "inf")},
}
# textgreek's letters in text (TNF-\\textalpha{}), as JabRef and others write a Greek letter outside a formula
_TEXT_SYMBOLS = {**{"text" + name: _MATH_SYMBOLS[name] for name in _GREEK},
                 **{"text" + name.capitalize(): _MATH_SYMBOLS[name.capitalize()] for name in _GREEK},
                 **_TEXT_SYMBOLS}  # (\\textmu stays the micro sign)
_SYMBOL = re.compile(r"\\(?:(" + "|".join(sorted(_TEXT_SYMBOLS, key=len, reverse=True)) + r")(?![A-Za-z])\s*|("
                     + "|".join(sorted(_MATH_SYMBOLS, key=len, reverse=True)) + r")(?![A-Za-z]))(?:\{\})?")
# \href{url}{text}: the text; \ensuremath{x}, and a formula's text and fonts ($\mathrm{CO}_2$): x
_WRAPPER = re.compile(r"\\(?:href\s*\{[^{}]*\}|ensuremath|text|textrm|textup|math(?:rm|it|bf|sf|tt|up|cal|bb|frak|scr)|"
                      r"boldsymbol|bm|operatorname)\s*(?=\{)")
_WRITTEN_BRACE = re.compile(r"\\([{}])")  # '\\{': a brace as text, kept to the end
_ARGUMENT = r"(?:\{((?:[^{}]|\{[^{}]*\})*)\}|(\\[A-Za-z]+|[^\s{}\\]))"  # {...} (one brace deep inside), a command, a character
_FRACTION = re.compile(rf"\\[dt]?frac\s*{_ARGUMENT}\s*{_ARGUMENT}")  # $\frac{1}{2}$, $\frac12$: 1/2
# A formula's mark over a letter ($\\bar{x}$, $\\hat{\\beta}$, $\\overline 1$): the letter and the mark's combining character
_MATH_MARKS = {"bar": "\u0304", "overline": "\u0305", "hat": "\u0302", "widehat": "\u0302", "tilde": "\u0303",
               "widetilde": "\u0303", "vec": "\u20d7", "dot": "\u0307", "ddot": "\u0308", "check": "\u030c",
               "breve": "\u0306", "acute": "\u0301", "grave": "\u0300"}
_MATH_MARK = re.compile(r"\\(" + "|".join(_MATH_MARKS) + rf")(?![A-Za-z])\s*{_ARGUMENT}")
_ROOT_INDEX = re.compile(r"\\sqrt\s*\[([^\[\]{}\\$]{1,10})\]")  # a root's index, raised before its sign
# thin, medium, thick, negative and control spaces, and the italic correction ({\em With\/}), which is no space at all
_SPACING = re.compile(r"\\([,;:! /@])")  # (and '\\@', the end of a sentence's spacing, which is nothing)
_MATH = re.compile(r"(?<!\\)\$([^$]*)(?<!\\)\$")  # $...$, not \$
_SCRIPT = re.compile(r"([_^])(?:\{([^{}]*)\}|(\\[A-Za-z]+|.))")
_SUPERSCRIPT = str.maketrans("0123456789+-=()n\u00b0", "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079\u207a\u207b\u207c\u207d\u207e\u207f\u00b0")
_SUPERSCRIPT.update(str.maketrans("abcdefghijklmoprstuvwxyz",  # (Unicode has no superscript q): $^{99m}$Tc is ⁹⁹ᵐTc
                                  "\u1d43\u1d47\u1d9c\u1d48\u1d49\u1da0\u1d4d\u02b0\u2071\u02b2\u1d4f\u02e1\u1d50\u1d52"
                                  "\u1d56\u02b3\u02e2\u1d57\u1d58\u1d5b\u02b7\u02e3\u02b8\u1dbb"))
_ORDINALS = frozenset({"st", "nd", "rd", "th"})  # '12\\textsuperscript{th}', '5$^{th}$': 12th, 5th, as typed
# An accent on a letter, or on a letter already accented ('Nguy{\\~{\\^e}}n': the inner one first): the letter and
# the accent's combining mark, composed. latexcodec knows each accent on a plain letter only.
_COMBINING = {"`": "\u0300", "'": "\u0301", "^": "\u0302", "~": "\u0303", "=": "\u0304", ".": "\u0307",
              '"': "\u0308", "u": "\u0306", "r": "\u030a", "H": "\u030b", "v": "\u030c", "d": "\u0323",
              "c": "\u0327", "k": "\u0328", "b": "\u0331"}
_ACCENT = re.compile(r"\\(?:([`'^~=.\"])\s*|([urHvdckb])(?:\s*(?=\{)|\s+))(?:\{([^\W\d_])\}|([A-Za-z]))")
_TEXT_SCRIPT = re.compile(r"\\text(super|sub)script\s*\{([^{}\\$]*)\}")  # 'm\\textsuperscript{2}': m²
_RICH_TEXT = re.compile(r"</?(?:i|b|em|strong|sub|sup|sc|scp|span)(?:\s[^<>]*)?>")  # Zotero's {\textless}i{\textgreater}
# Publishers' metadata holds HTML, and Mendeley and JabRef's web imports keep it: 'Foo &amp; <i>E. coli</i>'
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# A % that no backslash escapes: in TeX it comments out the rest of its line, but a value's lines are joined by now
# and such a % is a percent sign written by hand or by a converter ('a 50% reduction'), not a comment
_BARE_PERCENT = re.compile(r"(?<!\\)((?:\\\\)*)%")
# BibTeX's own trick for sorting (btxdoc): @preamble{"\newcommand{\noopsort}[1]{}"} and year = {{\noopsort{1973b}}1973}
# or author = {{\noopsort{Rayleigh}}{Lord Rayleigh}}: the argument is a sort key, which the document never prints
_SORT_KEY = re.compile(r"\\(?:noopsort|sortnoop)\s*\{[^{}]*\}", re.IGNORECASE)
# What a printed title never shows of a command: a colour, a space's size, a footnote, an index or cross-reference key
_NOT_PRINTED = re.compile(r"\\(?:textcolor|colorbox|color|footnote|index|label|ref|cite[tp]?|nocite|[hv]space)\*?"
                          r"\s*(?:\[[^\[\]{}]*\]\s*)?\{[^{}]*\}")
# Better BibLaTeX writes a title's quotation as \\mkbibquote{...}, csquotes users \\enquote{...}: in quotation marks
_QUOTE_COMMAND = re.compile(r"\\(?:mkbibquote|enquote|textquote)\*?\s*\{((?:[^{}]|\{[^{}]*\})*)\}")
_BACKTICK_QUOTE = re.compile(r"`([^`'\n]*)'")  # TeX's `single quotes': ‘single quotes’


def latex_to_text(latex: str) -> str:
    """Decode a BibTeX field value to plain text: accents, braces, dashes and quotes; unknown commands dropped, and
    characters no page may show (inputs.INVISIBLE) too."""
    if not latex.isprintable():
        latex = INVISIBLE.sub("", latex)
    bare = latex.replace("{", "").replace("}", "")
    if not _DECODED.search(bare):  # most fields: nothing to decode but braces (all `latex` has, `bare` has)
        return " ".join(bare.split())
    if "{" not in latex and "}" not in latex and not _DECODED.search(_DASHES.sub("", latex)):
        return " ".join(_DASHES.sub(lambda m: "\u2013" if len(m.group(0)) == 2 else "\u2014", latex).split())
    return decode_latex(latex)


def decode_latex(latex: str) -> str:
    """latex_to_text without its quick path: every value through pybtex and latexcodec."""
    if "%" in latex:
        latex = _BARE_PERCENT.sub(r"\1\\%", latex)
    if "<" in latex:  # HTML's own tags, as written ('<i>E. coli</i>'; not '$p<b$ and $c>d$', which no tag is)
        latex = _RICH_TEXT.sub("", latex)
    # A dotless i under an accent is just an i (latexcodec turns \"\i into ï but not \"{\i}); alone it is ı.
    prepared = _DOTLESS_I.sub(lambda m: f"{m.group(1)}{{{m.group(2) or m.group(3)}}}", latex)
    if "\\" in prepared or "$" in prepared:  # (most fields that get here have only dashes or quotes)
        # (a no-break space: '\\LaTeX\\ and' keeps its space, which the control word before it would take)
        prepared = prepared.replace("\\\\", " ")  # a line break ('a\\\\{b}' lost its b to the command '\\b')
        prepared = _QUOTE_COMMAND.sub("\u201c\\1\u201d", prepared)
        prepared = _NOT_PRINTED.sub(lambda m: " " if m.group().startswith(("\\hspace", "\\vspace")) else "", _SORT_KEY.sub("", prepared))
        prepared = _WRITTEN_BRACE.sub(lambda m: "\ue000" if m[1] == "{" else "\ue001", prepared)
        prepared = prepared.replace("\\$", "\ue002")  # a dollar sign as text, kept to the end
        prepared = _SPACING.sub(lambda m: "" if m.group(1) in "!/@" else "\u00a0", _WRAPPER.sub("", prepared))
        prepared = _FRACTION.sub(lambda m: f"{m[1] if m[1] is not None else m[2]}/{m[3] if m[3] is not None else m[4]}",
                                 prepared)
        prepared = _MATH_MARK.sub(_marked, prepared)
        prepared = _ROOT_INDEX.sub(lambda m: f"{_raised(m[1]) or m[1]}\\sqrt", prepared)  # $\\sqrt[3]{x}$: ³√x
        prepared = _KNOWN_WORD.sub(lambda m: _KNOWN_WORDS[m.group(1)], prepared)
        prepared = _TEXT_SCRIPT.sub(lambda m: (m.group(1) == "super" and _raised(m.group(2))) or m.group(2), prepared)
        while (accented := _ACCENT.sub(_accent, prepared)) != prepared:
            prepared = accented
        prepared = _MATH.sub(_math, _SYMBOL.sub(lambda m: _TEXT_SYMBOLS.get(m.group(1), "") or _MATH_SYMBOLS[m.group(2)],
                                                prepared))
    try:
        text = str(Text.from_latex(prepared).render(_PLAIN_TEXT))
    except (PybtexError, UnicodeError):  # unbalanced braces, a trailing backslash, lone surrogates
        try:
            import latexcodec  # noqa: F401  (registers the "ulatex" codec; most builds never need it)

            # ulatex decodes str to str, an overload typeshed does not know
            text = codecs.decode(prepared, "ulatex")  # type: ignore[call-overload]
        except UnicodeError:
            text = prepared
    text = _CONTROL_WORD.sub(lambda m: _KNOWN_WORDS.get(m.group(1), ""), text)
    text = _CONTROL_SYMBOL.sub(lambda m: " " if m.group(1) in "\\\n" else m.group(1), text)
    if "$" in text:  # a formula with a command neither sitegen nor latexcodec knows (dropped above): its text
        text = _MATH.sub(r"\1", text)  # (a written dollar sign is \ue002 by now)
    text = text.replace("\\", "").replace("{", "").replace("}", "").replace("\ue000", "{").replace("\ue001", "}")
    text = text.replace("\ue002", "$")
    if "`" in text:  # (latexcodec makes `` and '' curly, not ` and ')
        text = _BACKTICK_QUOTE.sub("\u2018\\1\u2019", text).replace("`", "\u2018")
    if "&" in text and ";" in text:
        text = _ENTITY.sub(lambda m: html.unescape(m.group()), text)
        text = text if text.isprintable() else INVISIBLE.sub("", text)  # (&#x202e; is no character a page shows)
    # (a tag written as its entities, '&lt;i&gt;', as metadata escaped twice has it, is a tag as much as '<i>' is)
    tagged = "textless" in latex or ("&lt;" in latex and "<" in text)
    return " ".join((_RICH_TEXT.sub("", text) if tagged else text).split())


def _accent(m: re.Match[str]) -> str:
    return unicodedata.normalize("NFC", (m.group(3) or m.group(4)) + _COMBINING[m.group(1) or m.group(2)])


def _marked(m: re.Match[str]) -> str:
    """$\\bar{x}$: x and a combining macron; over a group of letters ($\\overline{AB}$), each; a group holding more than
    letters keeps no mark."""
    mark, written = _MATH_MARKS[m[1]], m[2] if m[2] is not None else m[3]
    if re.fullmatch(r"\\[A-Za-z]+|\S", written):
        return unicodedata.normalize("NFC", written + mark) if not written.startswith("\\") else written + mark
    return "".join(c + mark for c in written) if re.fullmatch(r"[^\W_]+", written) else written


def _raised(written: str) -> str | None:
    """Superscript characters, when Unicode has one for every character written (an ordinal's letters stay on the
    line)."""
    if written in _ORDINALS:
        return None
    raised = written.translate(_SUPERSCRIPT)
    return raised if all(c != r for c, r in zip(written, raised)) or written == "\u00b0" else None


def _math(m: re.Match[str]) -> str:
    """A $...$ formula as text: its symbols are characters by now, a subscript is written on the line (HbA$_{1c}$:
    HbA1c), a superscript raised when Unicode has the characters (10$^9$: 10⁹), else after a caret. One with a
    command left is kept for latexcodec, which knows more."""
    formula = m.group(1)
    if "\\" in re.sub(r"\\[%&#]", "", formula):  # (an escaped sign is no command: $95\\%$ CI)
        return m.group(0)
    return _SCRIPT.sub(_script, formula)


def _script(m: re.Match[str]) -> str:
    written = m.group(2) if m.group(2) is not None else m.group(3)
    if m.group(1) == "_":
        return written
    raised = _raised(written)
    if raised is None and (written in _ORDINALS or not any(c.isalnum() for c in written)):
        return written  # 5$^{th}$ is 5th, a mark ($^{\\dagger}$, $^{*}$) the mark itself
    return f"^{written}" if raised is None else raised


def _identifier(latex: str, url: bool = False) -> str:
    r"""A DOI or URL as written, without LaTeX escapes (\_, {\%}, \url{...}); the first word only. A `url` is
    whole, a space in it written %20 as a browser would, unless each of its words is a URL: Mendeley lists several
    in one field."""
    text = re.sub(r"\\url\s*", "", latex)
    text = re.sub(r"\\([_%&#$~])", r"\1", text)
    text = text.replace("\\", "").replace("{", "").replace("}", "")
    words = text.split()
    if url and not all(re.match(r"https?://", word, re.IGNORECASE) for word in words):
        return "%20".join(words)
    return words[0] if words else ""


_DOI_PREFIX = re.compile(r"^(?:(?:https?://)?(?:dx\.|www\.)?doi\.org/|doi:\s*)", re.IGNORECASE)


def bare_doi(value: str) -> str:
    """10.1186/... from any of https://doi.org/10.1186/..., doi:10.1186/..., 'DOI: 10.1186/...' or the DOI itself,
    without the full stop a DOI copied from the end of a citation brings ('10.1186/s12885-021-07843-3.')."""
    return _DOI_PREFIX.sub("", _identifier(_DOI_PREFIX.sub("", value.strip()))).rstrip(".,;")


def en_dash_pages(pages: str) -> str:
    """Page ranges with an en dash: 12-23 and 12--23 both become 12–23."""
    return re.sub(r"\s*[-‐‑‒–—]+\s*", "–", pages)


def vancouver_name(person: Person) -> str:
    """Vancouver form, e.g. "Van Tine BA": last name with particles, initials without periods, then Jr (no period either)."""
    last = " ".join(latex_to_text(part) for part in [*person.prelast_names, *person.last_names])
    given = [*person.first_names, *person.middle_names]
    written_as_initials = not last.isupper()  # 'SMITH, JO' is a name in capitals, 'Smith, JO' two initials
    initials = "".join(_initials(latex_to_text(part), written_as_initials) for part in given)
    lineage = " ".join(latex_to_text(part) for part in person.lineage_names).rstrip(".")  # NLM: 'Costa PT Jr'
    return " ".join(part for part in (last, initials, lineage) if part)


def _initials(name: str, written_as_initials: bool = True) -> str:
    """Initials without periods: "Jean-Pierre" gives "JP", "B.A." gives "BA"; two or three capitals written
    together are initials already, as Google Scholar and PubMed write them: "Andrew JK" gives "AJK"."""
    pieces = re.split(r"[\s.\-‐]+", name)
    return "".join(
        piece if written_as_initials and _is_run_of_initials(piece)
        else next((c.upper() for c in piece if c.isalpha()), "")
        for piece in pieces
    )


def _is_run_of_initials(piece: str) -> bool:
    return 2 <= len(piece) <= 3 and piece.isalpha() and piece.isupper()


def _is_others(person: Person) -> bool:
    parts = [*person.first_names, *person.middle_names, *person.prelast_names, *person.last_names]
    return [part.lower() for part in parts] == ["others"]


SHORT_NAME = 100
"""Names of at most this many characters are decoded once per process (a catalog's references share authors:
each name parsed by pybtex, decoded and shortened costs 0.05-0.16 ms), at most 4,096 of them: 4 MB, at most."""


def shown_name(written: str, pubmed: bool = True) -> str | None:
    """One name of an author field as a page shows it (vancouver_name), or None for 'others' (et al.). With `pubmed`
    (a name alone, or one of a list written as PubMed writes names: pubmed_list), 'Smith JA' is Smith's name."""
    return _short_name(written, pubmed) if len(written) <= SHORT_NAME else _shown_name(written, pubmed)


def _shown_name(written: str, pubmed: bool) -> str | None:
    person = _person(_initials_last(written) if pubmed else written)
    return None if _is_others(person) else vancouver_name(person)


# A name as PubMed and Vancouver write it, family name first and initials last, with no comma: 'Smith JA', 'Van Tine BA'
# (BibTeX would read 'Smith' as the given name). Not a generation ('Smith III'), nor a name that is initials alone.
_PUBMED_INITIALS = re.compile(r"(?!(?:II|III|IV|VI|VII|VIII)$)[A-Z]{1,3}")


def _pubmed_name(written: str) -> tuple[str, str] | None:
    """The family name and initials of a name written as PubMed writes it ('Smith JA'), or None for any other."""
    words = written.rsplit(None, 1)
    if len(words) != 2 or not _PUBMED_INITIALS.fullmatch(words[1]) or not any(c.isalpha() for c in words[0]):
        return None
    return words[0], words[1]


def _initials_last(written: str) -> str:
    """A name written 'Smith JA' as BibTeX writes it, 'Smith, J. A.'; any other name as it is."""
    found = _pubmed_name(written)
    if found is None or split_tex_string(written, ",")[1:] or _braced_whole(written):
        return written
    return f"{found[0]}, {' '.join(letter + '.' for letter in found[1])}"


def pubmed_list(names: Sequence[str]) -> bool:
    """Whether a list's names are written as PubMed writes them, family name first: each name without a comma or
    braces of its own is one ('Smith JA and Doe J'). One that is not says the list is BibTeX's, given names first, and
    so are its names in capitals: 'Wei LI and Jun ZHANG' is Li W and Zhang J, not Wei LI and Zhang J."""
    return all(_pubmed_name(name) or "," in name or _braced_whole(name) or name.strip().lower() == "others"
               for name in names)


def name_list(written: str) -> list[str]:
    """The names of an author or editor field, as BibTeX's ' and ' separates them, without the 'and's a hand or a
    script left over ('Smith, John and', 'A and and B'); a PubMed author list pasted as it is ('Smith JA, Doe J,
    Roe R') is its names. 'et al.' written out, as a name or after one, is BibTeX's 'others'."""
    names = []
    for name in split_name_list(written):
        name = _STRAY_AND.sub("", name)
        et_al = _ET_AL.search(name)
        if et_al is None:
            names.append(name)
        else:  # 'Smith, J. and et al.', 'Smith, J. et al.'
            names += [name[: et_al.start()].rstrip(_SEPARATORS), "others"]
    names = [name.strip(" ,") if name.endswith(",") else name for name in names if name.strip()]
    if len(names) in (1, 2) and "," in names[0] and names[1:] in ([], ["others"]):
        parts = [part.strip() for part in split_tex_string(names[0], ",")]
        if len(parts) > 1 and all(_pubmed_name(part) for part in parts):
            return parts + names[1:]
    return names


# (what goes before it, spaces and commas, is looked behind at and stripped after: a pattern that took them in was
# tried from each of them, in time growing with the square of their number, 1.7 s for an author field of commas)
_ET_AL = re.compile(r"(?<![^\s,])\{?et\.?\s+al\b\.?\}?\s*$", re.IGNORECASE)
_SEPARATORS = " ,\t\r\n\f\v"


_STRAY_AND = re.compile(r"^(?:and(?:\s+|$))+|(?:(?:^|\s+)and)+$", re.IGNORECASE)


_short_name = lru_cache(maxsize=4096)(_shown_name)


# ---------------------------------------------------------------------------
# Links: one rule for every URL a reference puts in a page, HTML and JSON-LD alike


_NOT_IN_URL = re.compile(r"[\x00-\x20\x7f-\x9f\"<>\\^`{|}]")
_DOI = re.compile(r"10\.\d{4,9}/\S+")
_SICI = re.compile(r"<[\w.-]*:[\w:.-]*>")  # old Wiley DOIs hold <...::...>: 10.1002/(SICI)1097-4636(199706)35:4<519::AID-JBM12>3.0.CO;2-M
_PMID = re.compile(r"(?:PMID:?\s*)?([0-9]{1,9})", re.IGNORECASE)


def web_link(url: str) -> str:
    """The URL a page may link to, or "" if it may not: http or https with a host name, no user or password,
    a valid port, and nothing that could end an attribute or a string. Letters beyond ASCII are encoded.

    This is the one rule for every link a reference makes, in the HTML and in the JSON-LD."""
    if _NOT_IN_URL.search(url):
        return ""
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError when it is not a number, or above 65535
        host = (parts.hostname or "").encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        return ""
    if parts.scheme.lower() not in ("http", "https") or not host or "@" in parts.netloc or port == 0:
        return ""
    if url.isascii():
        return url
    netloc = parts.netloc if parts.netloc.isascii() else host + (f":{port}" if port is not None else "")
    ascii_safe = "".join(chr(c) for c in range(0x21, 0x7F))
    return urlunsplit((parts.scheme, netloc, *(quote(part, safe=ascii_safe) for part in parts[2:])))


def well_formed_doi(doi: str) -> bool:
    """A DOI as the DOI Handbook writes them: 10.<registrant>/<suffix>, the suffix with no space, quote or
    angle bracket (except the <...:...> of old SICI DOIs)."""
    return _DOI.fullmatch(doi) is not None and not re.search(r"[\"'<>\\]", _SICI.sub("", doi))


def well_formed_pmid(pmid: str) -> bool:
    """A PubMed id: digits only (1 to 9 of them), optionally after "PMID:"."""
    return _PMID.fullmatch(pmid.strip()) is not None


@dataclass(frozen=True)
class Links:
    """Where a reference links to: its DOI, its web page and its PubMed record; "" for none."""

    doi: str
    web: str
    pubmed: str


def reference_links(ref: Reference) -> Links:
    """The links of a reference, each passed through web_link; a malformed DOI or PMID links nowhere."""
    doi = web_link("https://doi.org/" + quote(ref.doi, safe="/")) if well_formed_doi(ref.doi) else ""
    pubmed = web_link(f"https://pubmed.ncbi.nlm.nih.gov/{ref.pmid}/") if ref.pmid.isdigit() else ""
    return Links(doi, web_link(ref.url) if ref.url else "", pubmed)


# ---------------------------------------------------------------------------
# Reading: a regular file of bounded size; bytes that are not UTF-8 read as Windows-1252, with a warning


_NEWLINE = re.compile(r"\r\n|\r|\n")  # the same line breaks pybtex's scanner counts


def line_starts(text: str) -> list[int]:
    """Offsets at which each line of text begins."""
    return [0, *(match.end() for match in _NEWLINE.finditer(text))]


def line_column(starts: Sequence[int], offset: int) -> tuple[int, int]:
    """1-based line and column of an offset, given line_starts of the text."""
    index = bisect_right(starts, offset) - 1
    return index + 1, offset - starts[index] + 1


def _windows_1252(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    byte = error.object[error.start : error.start + 1]
    return byte.decode("cp1252", errors="ignore") or byte.decode("latin-1"), error.start + 1


codecs.register_error("sitegen-windows-1252", _windows_1252)


def read_bibtex(path: Path) -> tuple[str, list[tuple[int, int, str]]]:
    """The text of a .bib file, and (line, column, message) where its bytes are not UTF-8.

    Raises ContentError when it is not a regular file, cannot be read, or is larger than MAX_BYTES (read_input)."""
    raw = read_input(path)
    for bom, codec in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if raw.startswith(bom):  # some Windows tools save UTF-16
            return raw[len(bom) :].decode(codec, errors="replace"), []
    raw = raw.removeprefix(codecs.BOM_UTF8)
    if b"\x00" in raw[:2]:  # UTF-16 saved without its byte-order mark: every other byte of ASCII text is zero
        head = raw[:4096]
        for zeros, codec in ((head[1::2], "utf-16-le"), (head[0::2], "utf-16-be")):
            if zeros.count(0) > len(zeros) * 0.9:
                return raw.decode(codec, errors="replace"), []
    try:
        return raw.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    lines, not_utf8 = [], []
    for number, line in enumerate(raw.splitlines(keepends=True), 1):
        try:
            lines.append(line.decode("utf-8"))
        except UnicodeDecodeError as e:
            lines.append(line.decode("utf-8", errors="sitegen-windows-1252"))
            column = len(line[: e.start].decode("utf-8")) + 1
            char = _windows_1252(e)[0]
            message = f"the byte 0x{line[e.start]:02x} is not UTF-8; read as {char!r} (Windows-1252); save the file as UTF-8"
            not_utf8.append((number, column, message))
    return "".join(lines), not_utf8


# ---------------------------------------------------------------------------
# Parsing: pybtex's scanner, bounded, noting where each entry and field starts


_BRACED = re.compile(r"[{}]")
_NAME = re.escape(NAME_CHARS.replace("@", ""))
_VALUE_PART = re.compile(rf'\s*(?:(["{{])|([0-9]+)|([{re.escape(NAME_CHARS)}][{re.escape(NAME_CHARS)}0-9]*))')
_CONCATENATION = re.compile(r"\s*#")
_EQUALS = re.compile(r"\s*=")
_FIELD_AS_KEY = re.compile(r"[^=]+=[{\"]")  # a field written without a space, which pybtex reads as one key
_COMMAND = re.compile(rf"@\s*[{_NAME}][{_NAME}0-9]{{0,40}}\s*[{{(]")  # what pybtex parses as a command; other @s are text
_QUOTED = re.compile(r'[{}"]')
_COMMENT_LINES = re.compile(r"(?:%[^\r\n]*\s*)+")  # lines commented out in an entry, and the space after them
_FIELD_START = re.compile(rf"[{_NAME}][{_NAME}0-9]*\s*=")  # 'year = ...': the next field, where a ',' was left out
_FIELD_IN_VALUE = re.compile(r"[\r\n][ \t]*[A-Za-z][\w-]*[ \t]*=")  # a value that took in the fields after it

MAX_NAMES = 20 * MAX_TEXT
"""Characters of an author or editor field: a consortium's paper lists hundreds of authors, a physics collaboration's
thousands (2,900 in 90,000 characters). A page decodes at most MAX_DECODED_NAMES of them."""
MAX_DECODED_NAMES = 50
"""Names of an author or editor list that are decoded (Vancouver shows MAX_AUTHORS; the JSON-LD lists these)."""
NAME_FIELDS = frozenset({"author", "editor"})
SHOWN_FIELDS = NAME_FIELDS | frozenset(
    {"title", "subtitle", "journal", "journaltitle", "booktitle", "maintitle", "publisher", "institution", "school"}
    | {"organization", "year", "date", "volume", "number", "issue", "pages", "eid", "articleno", "doi", "url"}
    | {"howpublished", "pmid", "eprint", "eprinttype", "archiveprefix", "series", "edition", "version", "address"}
    | {"location", "crossref", "entryset", "bdsk-url-1"}
)
"""The fields a page shows, or that say which entry another is (crossref, entryset); a field not among them that is
too long (an abstract, a note) is left out with a warning, not an error."""

MAX_EXPANDED = 2 * MAX_BYTES
"""Characters of all field and @string values of a file together, after @string macros are put in."""


class _TooMuch(Exception):
    """Parsing stops: the file holds more than a bound allows."""

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset


class _BrokenMacro(PybtexSyntaxError):  # type: ignore[misc]
    error_type = "broken string"


class _Scanner(LowLevelParser):  # type: ignore[misc]
    """pybtex's low-level BibTeX parser with bounds: a value longer than MAX_TEXT is reported and left out (so a
    @string doubling itself never grows past it), all values together stop at MAX_EXPANDED, and a braced or quoted
    string is scanned in one pass (pybtex recurses once per brace and searches ahead for each delimiter)."""

    def __init__(self, text: str, report: Any, line_of: Callable[[int], int]) -> None:
        super().__init__(text, macros=CaseInsensitiveDict(month_names), handle_error=self._syntax_error)
        self.report = report  # report(offset, message, fatal, severity="error")
        self.line_of = line_of  # the line of an offset, for a message that names where something began
        self.in_string = False
        self.field_starts: dict[str, int] = {}
        self.expanded = 0
        self.commands = 0
        self.reported = 0  # problems of the current command
        self.broken: set[str] = set()  # @string macros whose definition had a problem: their value is not as written
        self.pos: int = 0
        self.command_start: int = 0
        self.current_value: list[str] = []
        self.entry_end = "}"  # what ends the entry being read: '}', or ')' for one in parentheses

    def _syntax_error(self, error: PybtexError) -> None:
        self.reported += 1
        info = getattr(error, "error_context_info", None)
        offset = info[-1] if isinstance(info, tuple) and info and isinstance(info[-1], int) else self.pos
        message = error.args[0]
        if isinstance(error, PrematureEOF):  # (pybtex's says only "premature end of file")
            message = f"premature end of file: expected '{self.entry_end}' to close the @ command (entry, @string or @preamble)"
        self.report(offset, f"{getattr(error, 'error_type', 'error')}: {message}", False)

    def parse_bibliography(self) -> Iterator[tuple[Any, ...]]:
        """pybtex's loop, but an @ that starts no command is skipped as text (with a warning), in one search:
        pybtex raises an error for each, which takes seconds for a file full of them."""
        while True:
            found = _COMMAND.search(self.text, self.pos)
            stray = self.text.find("@", self.pos, found.start() if found else self.end_pos)
            if stray >= 0:
                self.current_entry_key, self.command_start = None, stray
                self.report(stray, "an @ that starts no entry (BibTeX skips the text up to the next entry)", False)
            if found is None:
                return
            self.commands += 1
            if self.commands > MAX_COMMANDS:
                raise _TooMuch(found.start(), f"more than {MAX_COMMANDS:,} @ commands; split the bibliography")
            self.pos = found.start() + 1
            self.command_start = found.start()
            self.entry_end = "}" if found.group().endswith("{") else ")"
            try:
                yield tuple(self.parse_command())
            except PybtexSyntaxError as error:
                self.handle_error(error)
            except SkipEntry:  # @comment
                pass

    def parse_command(self) -> Any:
        self.field_starts = {}
        self.reported = 0
        return super().parse_command()

    def substitute_macro(self, name: str) -> str:
        value = self.macros.get(name)
        if self.reported < MAX_PROBLEMS:  # pybtex would build an error for each use
            if value is None:
                self.handle_error(UndefinedMacro(f"{name}: no @string defines it before here; a value is written in braces "
                                                 f"({{{name}}}) or quotes, or is a number or a @string's name", self))
            elif name.lower() in self.broken:
                self.handle_error(_BrokenMacro(f"{name}: its @string has a problem, so its value is not as written", self))
        return "" if value is None else str(value)

    def parse_string_body(self, body_end: Any) -> None:
        self.in_string = True
        try:
            super().parse_string_body(body_end)
        finally:
            self.in_string = False
            if self.reported and self.current_field_name:
                self.broken.add(self.current_field_name.lower())

    def parse_entry_body(self, body_end: Any) -> None:
        """pybtex's, but an entry with no key ('@article{ author = ...', as EndNote exports them) is reported as that,
        and skipped: pybtex took its first field's name for its key and then stopped at the '='."""
        key = self.required([self.KEY_PAREN if body_end == self.RPAREN else self.KEY_BRACE]).value
        if not _EQUALS.match(self.text, self.pos) and not _FIELD_AS_KEY.match(key):  # ('author={Huang' is a field)
            self.current_entry_key = key
            self.parse_entry_fields()
            return
        self.pos -= len(key)
        name = key.partition("=")[0]
        self.report(self.pos, f"an entry with no key (its first field, {name[:40]!r}, is no key; EndNote exports entries "
                    "so): it cannot be cited and is skipped; give it a key", False)
        self.parse_entry_fields()
        raise SkipEntry

    def skip_comments(self) -> None:
        """Whitespace, and lines that a % comments out where a field may start: biber reads '% url = {...},' in an
        entry as a comment, as people write it to leave a field out (BibTeX itself has no comments; no field name
        starts with %)."""
        self.eat_whitespace()
        comments = _COMMENT_LINES.match(self.text, self.pos) if self.text.startswith("%", self.pos) else None
        if comments is not None:
            self.pos = comments.end()
            self.update_lineno(comments.group())

    def parse_entry_fields(self) -> None:
        """pybtex's, then what stopped the fields if it is not the entry's end: pybtex said "'}' expected", where
        what is most often missing is the ',' after a value, or a '}' inside one that then took in the fields after
        it (the error is where the value ended: this says where it began)."""
        try:
            super().parse_entry_fields()
        except PrematureEOF:
            if self.current_field_name is None:
                raise
        self.skip_comments()
        end, field = self.entry_end, self.current_field_name
        if (not self.eof() and self.text[self.pos] == end) or (self.eof() and field is None):
            return  # (pybtex reports a file that ends in an entry)
        if field is None:
            raise PybtexSyntaxError(f"expected a field name (name = value) or '{end}' to end the entry", self)
        expected = "premature end of file" if self.eof() else f"expected ',' or '{end}' after the value of {field!r}"
        start = self.field_starts.get(field.lower(), self.pos)
        value = self.text[start : self.pos]
        inside = _FIELD_IN_VALUE.search(value, value.find("="))
        if inside is not None:
            line = self.line_of(start)
            taken = value[inside.start() :].split("=")[0].strip()
            raise PybtexSyntaxError(f"{expected}; the value of {field!r}, from line {line}, took in the next field, "
                                    f"{taken!r}: is a '}}' missing in it?", self)
        if self.eof():
            raise PrematureEOF(self)
        following = _FIELD_START.match(self.text, self.pos)
        if following is not None:
            name = following.group().rstrip("= \t\r\n")
            raise PybtexSyntaxError(f"expected ',' after the value of {field!r}, before the next field {name!r}", self)
        raise PybtexSyntaxError(expected, self)

    def parse_field(self) -> None:
        self.skip_comments()
        start = self.pos
        super().parse_field()
        if self.current_field_name:
            self.field_starts.setdefault(self.current_field_name.lower(), start)

    def parse_value(self) -> None:
        """pybtex's parse_value (parts joined by #) with one regular expression per part instead of a try of
        each token pattern, and bounded: a value past MAX_TEXT is reported and left out."""
        self.eat_whitespace()
        start = self.pos
        parts: list[str] = []
        while True:
            part = _VALUE_PART.match(self.text, self.pos)
            if part is None:
                self.eat_whitespace()
                raise PrematureEOF(self) if self.eof() else TokenRequired("field value", self)
            self.pos = part.end()
            if part.group(1):
                parts.append(self.flatten_string(self.parse_string(self.QUOTE if part.group(1) == '"' else self.RBRACE)))
            else:
                parts.append(part.group(2) or self.substitute_macro(part.group(3)))
            concatenation = _CONCATENATION.match(self.text, self.pos)
            if concatenation is None:
                break
            self.pos = concatenation.end()
        self.current_value = parts
        length = sum(len(part) for part in parts)
        field = "" if self.in_string else (self.current_field_name or "").lower()
        limit = MAX_NAMES if field in NAME_FIELDS else MAX_TEXT
        if length > limit:
            name = self.current_field_name or "@preamble"
            message = f"{name}: expected a value of at most {limit:,} characters, got {length:,}"
            if field and field not in SHOWN_FIELDS:  # (an abstract, a note): what no page shows cannot be wrong on one
                message += "; no page shows it, and it is left out"
            self.report(start, message, self.in_string, "error" if not field or field in SHOWN_FIELDS else "warning")
            self.current_value = []
            return
        self.expanded += length
        if self.expanded > MAX_EXPANDED:
            raise _TooMuch(start, f"the values of the file come to more than {MAX_EXPANDED:,} characters")

    def parse_string(self, string_end: Any, level: int = 0, max_level: int = 100) -> Iterator[Token]:
        delimiters = _QUOTED if string_end is self.QUOTE else _BRACED
        start, depth = self.pos, 0
        while True:
            found = (delimiters if depth == 0 else _BRACED).search(self.text, self.pos)
            self.pos = found.end() if found else self.end_pos
            if found is None or (found.group() == "}" and depth == 0 and string_end is not self.RBRACE):
                line = self.line_of(start)
                self.update_lineno(self.text[start : self.pos])
                if found is None:
                    what = f"the value of {self.current_field_name!r}" if self.current_field_name else "a value"
                    opened = f"a '{{' in {what}" if depth else f"{what}"
                    raise PybtexSyntaxError(f"premature end of file: {opened}, from line {line}, is never closed", self)
                raise PybtexSyntaxError(f"unbalanced braces: a '}}' that closes no '{{' in the quoted value of "
                                        f"{self.current_field_name!r}, from line {line}; is its closing '\"' missing?", self)
            if found.group() == "{":
                depth += 1
                if depth > max_level:
                    self.update_lineno(self.text[start : self.pos])
                    raise PybtexSyntaxError("too many nested braces", self)
            elif depth:
                depth -= 1
            else:  # the closing brace or quote
                break
        value = self.text[start : self.pos]
        self.update_lineno(value)
        yield Token(value, string_end)


@dataclass
class _Entry:
    """An entry as read: its key as written, type, fields (LaTeX), where it and each field start, and where it ends."""

    key: str
    entry_type: str
    fields: dict[str, str]
    field_starts: dict[str, int]
    start: int
    end: int


class _Reader:
    """Reads a whole .bib text into entries, sorting each problem found into the entry it belongs to, the file's
    warnings (text outside any entry), or the problems that refuse the file (bounds)."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.starts = line_starts(text)
        self.scanner = _Scanner(text, self._report, lambda offset: line_column(self.starts, offset)[0])
        self.entries: dict[str, _Entry] = {}  # by lowercased key: BibTeX keys are case-insensitive
        self.entry_problems: dict[str, list[Problem]] = {}
        self.warnings: list[Problem] = []
        self.refused: list[Problem] = []

    def at(self, offset: int, message: str, severity: str = "error") -> Problem:
        line, column = line_column(self.starts, offset)
        return Problem(self.file, line, column, message, severity)

    def _report(self, offset: int, message: str, fatal: bool, severity: str = "error") -> None:
        start = self.scanner.command_start
        if isinstance(start, int) and line_column(self.starts, start)[0] != line_column(self.starts, offset)[0]:
            message += f" (in the entry that starts on line {line_column(self.starts, start)[0]})"
        key = self.scanner.current_entry_key
        if fatal:
            self.refused.append(self.at(offset, message))
        elif key is None:
            self._add_warning(self.at(offset, message, "warning"))
        else:
            self._add_problem(key.lower(), self.at(offset, message, severity))

    def _add_warning(self, problem: Problem) -> None:
        if len(self.warnings) < MAX_PROBLEMS * 4:
            self.warnings.append(problem)

    def _add_problem(self, key: str, problem: Problem) -> None:
        problems = self.entry_problems.setdefault(key, [])
        if len(problems) < MAX_PROBLEMS:
            problems.append(problem)

    def read(self) -> None:
        scanner, count = self.scanner, 0
        try:
            for command, body in scanner:
                if command.lower() in ("string", "preamble") or body[0] is None:
                    continue
                count += 1
                if count > MAX_ENTRIES:
                    raise _TooMuch(scanner.command_start, f"more than {MAX_ENTRIES:,} entries; split the bibliography")
                self._add(body[0], command.lower(), body[1])
        except _TooMuch as too_much:
            self.refused.append(self.at(too_much.offset, str(too_much)))

    def _add(self, key: str, entry_type: str, fields: list[tuple[str, list[str]]]) -> None:
        start = self.scanner.command_start
        first = self.entries.get(key.lower())
        if first is not None and len(self.entry_problems.get(key.lower(), ())) >= MAX_PROBLEMS:
            return
        values: dict[str, str] = {}
        for name, parts in fields:
            if name.lower() in values:
                if first is None:
                    self._add_problem(key.lower(), self.at(start, f"entry {key!r}: {name} is given twice; the first is used",
                                                           "warning"))
                continue
            values[name.lower()] = " ".join("".join(parts).split())
        if first is not None:
            line = line_column(self.starts, first.start)[0]
            if (entry_type, values) == (first.entry_type, first.fields):  # (bibliographies joined: one work, twice)
                message = f"duplicate entry key {key!r}: the same entry as on line {line}; this copy is ignored"
                self._add_problem(key.lower(), self.at(start, message, "warning"))
                return
            message = f"duplicate entry key {key!r}: it is already defined on line {line}; give each entry its own key"
            self._add_problem(key.lower(), self.at(start, message))
            return
        self.entries[key.lower()] = _Entry(key, entry_type, values, dict(self.scanner.field_starts), start, self.scanner.pos)


# ---------------------------------------------------------------------------
# From entries to references: crossref chains and the checks of each entry, all on the fields as written


def _has(chain: Sequence[_Entry], *names: str) -> bool:
    """Whether any of the fields is given, in the entry or one it inherits from, with more than braces in it."""
    return any(entry.fields.get(name, "").strip("{} ") for entry in chain for name in names)


def _given(chain: Sequence[_Entry], name: str) -> tuple[str, _Entry]:
    """The first non-empty value of a field through the chain, and the entry that gives it."""
    for entry in chain:
        value = entry.fields.get(name, "")
        if value.strip():
            return value, entry
    return "", chain[0]


class _Bibliography:
    """Turns what a _Reader read into References, each with the problems it has when cited."""

    def __init__(self, reader: _Reader, not_utf8: Sequence[tuple[int, int, str]]) -> None:
        self.reader = reader
        self.not_utf8 = not_utf8
        self.xdata_keys: dict[str, tuple[str, ...]] = {}  # by lowercased key (_xdata_keys)

    def build(self) -> Bibliography:
        reader = self.reader
        entries = [entry for entry in reader.entries.values() if entry.entry_type not in NOT_REFERENCES]
        by_line = self._not_utf8_by_entry()
        references = {}
        for entry in entries:
            chain, broken = self._chain(entry)
            problems = [*reader.entry_problems.get(entry.key.lower(), ()), *self._checks(entry, chain)]
            problems += by_line.pop(entry.key.lower(), [])[:1]
            if broken:
                problems.append(reader.at(entry.start, f"entry {entry.key!r}: {broken}; it is shown with its own fields", "warning"))
            line = line_column(reader.starts, entry.start)[0]
            fields = tuple(tuple(link.fields.items()) for link in chain)
            references[entry.key] = Reference(entry.key, entry.entry_type, fields, line, reader.file, tuple(sorted(problems)))
        sets = {entry.key: EntrySet(entry.key, tuple(m.strip() for m in entry.fields.get("entryset", "").split(",")
                                                     if m.strip()), reader.file, line_column(reader.starts, entry.start)[0])
                for entry in reader.entries.values() if entry.entry_type == "set"}
        aliases = {alias: entry.key for entry in entries if "ids" in entry.fields
                   for alias in (a.strip() for a in entry.fields["ids"].split(",")[:MAX_PROBLEMS]) if alias
                   if alias.lower() not in reader.entries}  # (a key of its own is no alias)
        return Bibliography(references, [*reader.warnings, *by_line.get("", [])[:MAX_PROBLEMS]], sets, aliases)

    def _not_utf8_by_entry(self) -> dict[str, list[Problem]]:
        """Each entry's lines that are not UTF-8, as warnings; under "" the lines of no entry."""
        reader = self.reader
        spans = sorted((line_column(reader.starts, e.start)[0], line_column(reader.starts, e.end)[0], key)
                       for key, e in reader.entries.items())
        found: dict[str, list[Problem]] = {}
        for line, column, message in self.not_utf8:
            index = bisect_right(spans, (line, line + 1)) - 1
            inside = index >= 0 and spans[index][0] <= line <= spans[index][1]
            found.setdefault(spans[index][2] if inside else "", []).append(Problem(reader.file, line, column, message, "warning"))
        return found

    def _chain(self, entry: _Entry) -> tuple[list[_Entry], str]:
        """The entry and those it inherits from through crossref and biblatex's xdata, and a message if the chain is
        broken."""
        chain, broken = self._crossref_chain(entry)
        return self._with_xdata(chain, broken) if any("xdata" in link.fields for link in chain) else (chain, broken)

    def _with_xdata(self, chain: list[_Entry], broken: str) -> tuple[list[_Entry], str]:
        """The chain with the @xdata entries each link names in its xdata (and those they name) after it: their fields
        are the link's own, where it has none of its own (biblatex's @xdata, a journal's fields written once)."""
        linked: list[_Entry] = []
        seen = {link.key.lower() for link in chain}
        looked = 0  # (keys looked up for the entry: bounded, as a file naming one key a thousand times would not be)
        for link in chain:
            linked.append(link)
            pending = list(self._xdata_keys(link))
            while pending and looked < 4 * MAX_CROSSREF:
                key, looked = pending.pop(0), looked + 1
                source = self.reader.entries.get(key.lower())
                if source is None:
                    broken = broken or f"xdata {key!r} is not in the bibliography"
                elif key.lower() not in seen and len(linked) <= 2 * MAX_CROSSREF:
                    seen.add(key.lower())
                    linked.append(source)
                    pending += self._xdata_keys(source)
        return linked, broken

    def _xdata_keys(self, entry: _Entry) -> tuple[str, ...]:
        """The keys an entry's xdata names (at most 4 * MAX_CROSSREF), read once: an @xdata many entries name is
        read once, however long."""
        found = self.xdata_keys.get(entry.key.lower())
        if found is None:
            found = tuple(key.strip() for key in entry.fields.get("xdata", "").split(",", 4 * MAX_CROSSREF)[: 4 * MAX_CROSSREF]
                          if key.strip())
            self.xdata_keys[entry.key.lower()] = found
        return found

    def _crossref_chain(self, entry: _Entry) -> tuple[list[_Entry], str]:
        """The entry and those it inherits from through crossref, and a message if the chain is broken."""
        chain = [entry]
        while True:
            target = chain[-1].fields.get("crossref", "").strip()
            if not target:
                return chain, ""
            if target.lower() in {link.key.lower() for link in chain}:
                return chain, "crossref cycle: " + " -> ".join([*(link.key for link in chain), target])
            parent = self.reader.entries.get(target.lower())
            if parent is None:
                return chain, f"crossref to {target!r}, which is not in the bibliography"
            if len(chain) > MAX_CROSSREF:
                return chain, f"a crossref chain longer than {MAX_CROSSREF}"
            chain.append(parent)

    def _checks(self, entry: _Entry, chain: Sequence[_Entry]) -> list[Problem]:
        """What is missing or malformed: nothing to show (an error when cited), no title or year, a DOI, PMID or
        URL that is not one (warnings, at the field's line)."""
        reader, key = self.reader, entry.key
        found: list[Problem] = []
        fields = [link.fields for link in chain]
        showable = [*(_field(fields, name) for name in ("title", "subtitle", "author", "doi")), _url(fields)]
        if not any(value.strip("{} ") for value in [*showable, _container(entry.entry_type, fields)]):
            found.append(reader.at(entry.start, f"entry {key!r} has nothing to show: no title, author, journal, "
                                                "publisher, DOI or URL"))
        elif not _has(chain, "title"):
            found.append(reader.at(entry.start, f"entry {key!r} has no title", "warning"))
        if not _has(chain, "year") and not re.match(r"\s*\d{4}", _given(chain, "date")[0]):
            found.append(reader.at(entry.start, f"entry {key!r} has no year", "warning"))
        checks = (
            ("doi", lambda v: well_formed_doi(bare_doi(v)), "is not a DOI (10.<digits>/<suffix>, no spaces, quotes, <>)",
             "shown without a link"),
            ("pmid", well_formed_pmid, "is not a PubMed id (digits)", "left out"),
            ("url", lambda v: bool(web_link(_identifier(v, url=True))), _NOT_A_LINK, "shown without a link"),
            ("bdsk-url-1", lambda v: _has(chain, "url") or bool(web_link(_identifier(v, url=True))), _NOT_A_LINK,
             "shown without a link"),
            ("howpublished", lambda v: _has(chain, "url") or not (found := _url_in(v))
             or bool(web_link(_identifier(found, url=True))), _NOT_A_LINK, "shown without a link"),
            ("note", lambda v: _has(chain, "url") or bool(_url_in(_given(chain, "howpublished")[0]))
             or not (found := _url_in(v)) or bool(web_link(_identifier(found, url=True))), _NOT_A_LINK,
             "shown without a link"),
        )
        for name, valid, what, then in checks:
            value, where = _given(chain, name)
            if value and not valid(value):
                offset = where.field_starts.get(name, where.start)
                shown = value if len(value) <= 60 else value[:57] + "..."
                message = f"entry {key!r}: {name} {shown!r} {what}; it is {then}"
                found.append(Problem(reader.file, *line_column(reader.starts, offset), message, "warning")
                             if where is entry else reader.at(entry.start, message, "warning"))
        return found


def load_bibliography(path: Path, text: str | None = None) -> dict[str, Reference]:
    """Every entry of a BibTeX file by key, in file order, each with its problems (a Bibliography); raises ContentError only when
    the file itself is refused (unreadable, not a regular file, or past a bound: MAX_BYTES, MAX_ENTRIES, a @string
    longer than MAX_TEXT, MAX_EXPANDED).

    text, when given, is used instead of reading path (which then only names the file in problems).
    @string macros and crossref inheritance are resolved; biblatex @set and @xdata entries are no references (a
    @set's members are kept in the Bibliography's `sets`).
    An entry's problems count only if a page cites it: see check_bibliography.
    """
    file = str(path)
    not_utf8: list[tuple[int, int, str]] = []
    if text is None:
        text, not_utf8 = read_bibtex(path)
    elif len(text) > MAX_BYTES:  # text given by a caller that read it: held to the same contract
        raise ContentError([Problem(file, 0, 0, f"the file is larger than {MAX_BYTES:,} bytes; split the bibliography")])
    reader = _Reader(file, text)
    try:
        reader.read()
        bibliography = _Bibliography(reader, not_utf8).build()
    except PybtexError as error:  # pybtex reports through handle_error; this is a safety net
        raise ContentError([Problem(file, 0, 0, f"cannot parse the bibliography: {error}")]) from error
    except Exception as error:  # any other failure inside pybtex is still a problem of the file
        message = f"cannot parse the bibliography ({type(error).__name__}: {error})"
        raise ContentError([Problem(file, 0, 0, message)]) from error
    if reader.refused:
        raise ContentError(reader.refused)
    return bibliography


def check_bibliography(refs: Mapping[str, Reference], cited: Collection[str] = ()) -> list[Problem]:
    """The problems of a bibliography: an entry's as they are when a page cites it (its errors are raised as a
    ContentError: it cannot be shown as it is), as warnings when nothing does; and those of the file outside
    any entry, as warnings. An entry nothing cites never stops a build (but --strict makes warnings errors)."""
    problems = list(refs.problems) if isinstance(refs, Bibliography) else []
    for key, ref in refs.items():
        shown = key in cited
        problems += [problem if shown else replace(problem, severity="warning") for problem in ref.problems]
    errors = [problem for problem in problems if problem.severity == "error"]
    if errors:
        raise ContentError(errors)
    return sorted(problems)


# ---------------------------------------------------------------------------
# Decoding what a page shows


def _field(chain: Sequence[Mapping[str, str]], *names: str) -> str:
    """The first non-empty field of those names, looked up through the crossref chain as BibTeX does."""
    for name in names:
        for fields in chain:
            value = fields.get(name, "")
            if value.strip():
                return value
    return ""


# A command that is a letter, then a space, then the rest of its word: TeX takes the space as the command's end
# ('Kaiser, \\L ukasz' is Łukasz, as NeurIPS's own BibTeX writes it), where a name is split into words at spaces.
_LETTER_COMMAND = re.compile(r"\\(AE|ae|OE|oe|AA|aa|ss|L|l|O|o|i|j)\s+(?=[^\W\d_])")


_NAME_PART = re.compile(r"\s*([A-Za-z-]+)\s*=(.*)", re.DOTALL)


def _extended_name(name: str) -> Person | None:
    """A name in biblatex's extended format, as Better BibLaTeX and pandoc write a name with a particle
    ('family=Doorn, given=Jan, prefix=van, useprefix=true'); None for a name in BibTeX's own."""
    parts: dict[str, str] = {}
    for part in split_tex_string(name, ","):
        found = _NAME_PART.fullmatch(part)
        if found is None:
            return None
        parts[found[1].lower()] = found[2].strip()
    if not parts.keys() & {"family", "given"}:
        return None
    return Person(first=parts.get("given", ""), prelast=parts.get("prefix", ""), last=parts.get("family", ""),
                  lineage=parts.get("suffix", ""))


_THIN_SPACE = re.compile(r"(?<![\\{])\\,")  # '\\,' not in braces of its own already ('{\\,}')


def _person(name: str) -> Person:
    """A pybtex Person; a name with too many commas is read as pybtex reads it, without pybtex's global error report.
    A thin space between initials ('Roe, J.\\,A.') is no comma between parts of the name, nor is a comma it ends in."""
    if "=" in name and (extended := _extended_name(name)) is not None:
        return extended
    if "\\," in name:
        name = _THIN_SPACE.sub(r"{\\,}", name)
    if name.endswith(","):
        name = name.rstrip(", ")
    parts = split_tex_string(name, ",")
    if len(parts) > 3:
        name = ", ".join([*parts[:2], " ".join(parts[2:])])
    if "\\" in name:
        name = _LETTER_COMMAND.sub(r"{\\\1}", name)
    return Person(name)


def _title(chain: Sequence[Mapping[str, str]]) -> str:
    title = latex_to_text(_field(chain, "title"))
    subtitle = latex_to_text(_field(chain, "subtitle"))
    if title and subtitle:
        return f"{title} {subtitle}" if title.endswith((":", "?", "!", ".")) else f"{title}: {subtitle}"
    return title


def _container(entry_type: str, chain: Sequence[Mapping[str, str]]) -> str:
    """The journal, book or publisher a reference names, as written (LaTeX)."""
    if entry_type in ARTICLE_TYPES:
        return _field(chain, *_ARTICLE_CONTAINER)
    if entry_type in PART_TYPES:
        # biblatex inheritance: a chapter's book title is its parent's title.
        return _field(chain, *_PART_CONTAINER) or _field(chain[1:], "title")
    return _field(chain, *(_BOOK_CONTAINER if entry_type in BOOK_TYPES else _OTHER_CONTAINER))


_ISO_DATE = re.compile(r"(\d{4})-\d{2}(?:-\d{2})?(?:/[\d-]*)?")  # 1992-05-20, 1987-08, 1995-09/1995-10


def _year(chain: Sequence[Mapping[str, str]]) -> str:
    year = latex_to_text(_field(chain, "year"))
    if year:  # a date written in `year` (biblatex-ieee's examples do) shows its year, as `date` does
        iso = _ISO_DATE.fullmatch(year)
        return iso.group(1) if iso else year
    date = re.match(r"\s*(\d{4})", _field(chain, "date"))  # biblatex: date = {2013-03-26}
    return date.group(1) if date else ""


_URL_COMMAND = re.compile(r"\\(?:url|href)\s*\{([^{}]*)\}")  # \url{address}, \href{address}{text}
# 'Available at https://www.nice.org.uk/guidance/ng28.'; with the characters LaTeX escapes outside \url escaped
# ('https://www.who.int/news\_room', '.../a{\%}20b'), which _identifier unescapes: not cut at the backslash
_BARE_URL = re.compile(r"(?<![\w/{])https?://(?:[^\s{}\\]|\\[_%&#$~]|\{\\[_%&#$~]\})+")


def _url_in(text: str) -> str:
    """The first web address a howpublished or note gives: in \\url{...} or \\href{...}{...}, or written bare (without
    the full stop of the sentence it ends); "" for none."""
    found = _URL_COMMAND.search(text)
    if found is not None:
        return found.group(1)
    bare = _BARE_URL.search(text) if "://" in text else None
    if bare is None:
        return ""
    url = bare.group().rstrip(".,;:]")
    while url.endswith(")") and url.count(")") > url.count("("):  # '(see https://x.org/a)', not '.../Foo_(bar)'
        url = url[:-1].rstrip(".,;:]")
    return url
_NOT_A_LINK = ("is not a web address a page may link to (http or https with a host; no quote, angle bracket, user name "
               "or password)")


def _url(chain: Sequence[Mapping[str, str]]) -> str:
    """The entry's web address: its url, or (BibTeX before biblatex had no url field) one in howpublished or, as
    Better BibTeX can export it, in note (\\url{...}, \\href or bare: howpublished = {https://www.who.int/...})."""
    url = _field(chain, "url", "bdsk-url-1")  # (BibDesk, on the Mac, keeps an entry's address in bdsk-url-1)
    if not url:
        url = _url_in(_field(chain, "howpublished")) or _url_in(_field(chain, "note")) or _arxiv_url(chain)
    return _identifier(url, url=True)


# arXiv's identifiers: 1706.03762 (since 2007, with a version or not) and hep-th/9901001, math.GT/0309136 (before)
_ARXIV_ID = re.compile(r"(?:arXiv:)?((?:\d{4}\.\d{4,5}|[a-z][a-z-]*(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?)", re.IGNORECASE)


def _arxiv_url(chain: Sequence[Mapping[str, str]]) -> str:
    """The arXiv page of a preprint that names only its arXiv id: biblatex's eprint = {1706.03762} with
    eprinttype = {arxiv}, or, as arXiv itself exports it, with archivePrefix = {arXiv}; "" for any other entry."""
    kind = (_field(chain, "eprinttype") or _field(chain, "archiveprefix")).strip().strip("{}").lower()
    found = _ARXIV_ID.fullmatch(_field(chain, "eprint").strip()) if kind == "arxiv" else None
    return f"https://arxiv.org/abs/{found.group(1)}" if found else ""


def _pmid(chain: Sequence[Mapping[str, str]]) -> str:
    field = _field(chain, "pmid")
    if field:
        digits = _PMID.fullmatch(field.strip())
        return digits.group(1) if digits else ""
    if _field(chain, "eprinttype").strip().lower() in ("pubmed", "pmid"):  # biblatex: eprint = {123}, eprinttype = {pubmed}
        digits = _PMID.fullmatch(_field(chain, "eprint").strip())
        return digits.group(1) if digits else ""
    # Zotero writes it in the note: note = {{PMID:} 23439512}; TeXMed (PubMed to BibTeX) as a link:
    # note = {[PubMed:\href{https://www.ncbi.nlm.nih.gov/pubmed/31234567}{31234567}]}
    in_note = _PMID_IN_NOTE.search(_field(chain, "note") + " " + _field(chain, "annote"))
    return in_note.group(1) if in_note else ""


_PMID_IN_NOTE = re.compile(r"(?:PMID:?\W*|ncbi\.nlm\.nih\.gov/pubmed/|pubmed\.ncbi\.nlm\.nih\.gov/)(\d{1,9})(?!\d)",
                           re.IGNORECASE)
_DOI_IN_NOTE = re.compile(r"\bdoi(?:\.org/|:\s*)(10\.\d{4,9}/[^\s{}\[\]]+)", re.IGNORECASE)


def _doi(chain: Sequence[Mapping[str, str]]) -> str:
    """The entry's DOI: its doi field, or, for an entry with none, one its note gives as TeXMed (PubMed to BibTeX)
    writes it: note = {[DOI:\\href{https://dx.doi.org/10.1056/NEJMoa2001282}{10.1056/NEJMoa2001282}]}."""
    field = _field(chain, "doi")
    if field:
        return bare_doi(field)
    in_note = _DOI_IN_NOTE.search(_field(chain, "note"))
    return bare_doi(in_note.group(1)) if in_note else ""


def _decode(entry_type: str, chain: Sequence[Mapping[str, str]]) -> Shown:
    written, more = _decoded_names(_field(chain, "author"))
    shown = _shown_names(written)
    truncated = bool(shown) and (shown[-1] is None or more)
    names = tuple(name for name in shown if name)
    listed_editors, more_editors = _decoded_names(_field(chain, "editor"))
    editors = tuple(name or "et al" for name in _shown_names(listed_editors)) + (("et al",) if more_editors else ())
    organizations = frozenset(name for raw, name in zip(written, shown) if name and _braced_whole(raw))
    return Shown(
        title=_title(chain),
        authors=names,
        authors_truncated=truncated,
        year=_year(chain),
        journal=latex_to_text(_container(entry_type, chain)),
        volume=latex_to_text(_field(chain, "volume")),
        number=latex_to_text(_field(chain, "number", "issue")),
        # an article number (biblatex's eid, ACM's articleno) stands where the pages would: 2013;8(2):e56890
        pages=en_dash_pages(latex_to_text(_field(chain, "pages"))) or latex_to_text(_field(chain, "eid", "articleno")),
        doi=_doi(chain),
        url=_url(chain),
        pmid=_pmid(chain),
        editors=tuple(e for e in editors if e != "et al")[:MAX_AUTHORS] + (
            ("et al",) if "et al" in editors or len(editors) > MAX_AUTHORS else ()),
        publisher=latex_to_text(_field(chain, "publisher")) if entry_type in PART_TYPES else "",
        series=latex_to_text(_field(chain, "series")) if entry_type in BOOK_TYPES else "",
        edition=latex_to_text(_field(chain, "edition")) if entry_type in BOOK_TYPES else "",
        version=latex_to_text(_field(chain, "version")) if entry_type not in ARTICLE_TYPES else "",  # (the issue's)
        place=_first_place(_field(chain, "address", "location")) if entry_type not in ARTICLE_TYPES else "",
        organizations=organizations,
    )


_AND = re.compile(r"\s+and\s+", re.IGNORECASE)


def _shown_names(written: list[str]) -> list[str | None]:
    """Each name of a list as a page shows it (shown_name), read as PubMed writes names if the whole list is."""
    pubmed = pubmed_list(written)
    return [shown_name(name, pubmed) for name in written]


def _decoded_names(field: str) -> tuple[list[str], bool]:
    """The names of an author or editor field that a page decodes, and whether the field lists more: at most
    MAX_DECODED_NAMES, from its first MAX_TEXT characters (a consortium's thousand names cost what a few do)."""
    more = False
    if len(field) > MAX_TEXT:  # cut at the last 'and' between names, not one in an organization's braces
        cut, depth, at = MAX_TEXT, 0, 0
        for found in _AND.finditer(field, 0, MAX_TEXT):
            depth += field.count("{", at, found.start()) - field.count("}", at, found.start())
            at = found.start()
            cut = at if depth == 0 else cut
        field, more = field[:cut], True
    names = name_list(field)
    return names[:MAX_DECODED_NAMES], more or len(names) > MAX_DECODED_NAMES


def _braced_whole(name: str) -> bool:
    """Whether an author is written in one pair of braces, as BibTeX writes an organization ({World Health
    Organization}: not split into given and family names)."""
    name = name.strip()
    if not (name.startswith("{") and name.endswith("}")):
        return False
    depth = 0
    for i, char in enumerate(name):
        depth += (char == "{") - (char == "}")
        if depth == 0:
            return i == len(name) - 1  # the first brace closes at the end
    return False


# ---------------------------------------------------------------------------
# Formatting


@dataclass(frozen=True)
class _Run:
    """A piece of text in one style: plain, italic, or a link."""

    text: str
    italic: bool = False
    href: str = ""


_Sentence = tuple[_Run, ...]


def full_stop(text: str) -> str:
    """The text ending in a period, unless it already ends in . ? or !; one ending in a colon, semicolon or comma ends
    in a period instead (publishers' metadata, and Zotero with it, can give a title cut before its subtitle: 'After
    Injury:')."""
    text = text.rstrip(":;,") if text.endswith((":", ";", ",")) else text
    return text if text.endswith((".", "?", "!")) else text + "."


def _author_list(ref: Reference) -> str:
    names = list(ref.authors[:MAX_AUTHORS])
    if names and (ref.authors_truncated or len(ref.authors) > MAX_AUTHORS):
        names.append("et al")
    return ", ".join(names)


def issue_details(year: str, volume: str, number: str, pages: str) -> str:
    """The Vancouver 2013;127(12):1342–1350, leaving out what is missing with its punctuation."""
    details = year
    if volume or number:
        details += (";" if details else "") + volume + (f"({number})" if number else "")
    if pages:
        details += (":" if details else "") + pages
    return details


def _editors(ref: Reference) -> str:
    """'Erbriss E, editor', 'Smith J, Jones K, editors' ('' when the entry names none)."""
    shown = ref.shown.editors
    return f"{', '.join(shown)}, editor{'s' if len(shown) > 1 else ''}" if shown else ""


_EDITION_WORD = re.compile(r"\b(?:ed|edn|edition)$", re.IGNORECASE)


def edition_words(edition: str) -> str:
    """An edition as Vancouver names it: '6' -> '6th ed.', 'Second' -> 'Second ed.', a phrase as written; '' for the
    first, which is not named."""
    edition = edition.strip().rstrip(".").strip()  # (Mendeley exports '1st ed..')
    if _EDITION_WORD.sub("", edition).rstrip(" .").lower() in ("", "1", "1st", "first"):  # '1st ed.', 'First edition' too
        return ""
    if edition.isdecimal() and len(edition) <= 4:  # (a longer one is no edition, and Python refuses int() past 4,300 digits)
        number = int(edition)
        suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
        return f"{number}{suffix} ed."
    text = edition[0].upper() + edition[1:]
    return full_stop(text if " " in text or text.lower().endswith(("ed", "ed.", "edn", "edn.", "edition")) else f"{text} ed")


def _book_numbers(ref: Reference) -> tuple[list[_Sentence], list[_Sentence]]:
    """A book's, chapter's or report's edition ('6th ed.'), volume ('Vol. 7.') and number, in its series
    ('(Bollingen Series; 75).') or as a report's ('Report No.: 916.'), as Vancouver writes them: the sentences before
    and after its publisher."""
    volume, number, series = ref.volume, ref.number, ref.shown.series
    if series and volume and not number:  # '(Lecture Notes in Computer Science; vol. 1234)'
        volume, number = "", f"vol. {volume}"
    edition = edition_words(ref.shown.edition)
    before: list[_Sentence] = [(_Run(text),) for text in (edition, full_stop(f"Vol. {volume}") if volume else "") if text]
    if not number:
        return before, []
    if series:
        return before, [(_Run(f"({series}; {number})."),)]
    return before, [(_Run(full_stop(f"{'Report No.:' if ref.entry_type in REPORT_TYPES else 'No.'} {number}")),)]


def _source(ref: Reference) -> list[_Sentence]:
    book = ref.entry_type in BOOK_TYPES
    volumes, numbers = _book_numbers(ref) if book else ([], [])
    details = issue_details(ref.year, "", "", ref.pages) if book else issue_details(ref.year, ref.volume, ref.number, ref.pages)
    if ref.entry_type in ARTICLE_TYPES or ref.entry_type in PART_TYPES:
        sentences: list[_Sentence] = []
        if ref.journal:
            editors = _editors(ref) if ref.entry_type in PART_TYPES else ""  # 'In: Erbriss E, editor. Graphs...'
            prefix = (_Run(f"In: {full_stop(editors)} " if editors else "In: "),) if ref.entry_type in PART_TYPES else ()
            stopped = full_stop(ref.journal)  # 'Proc IEEE:' ends 'Proc IEEE.' as a title does
            journal, stop = (ref.journal, ()) if stopped == ref.journal else (stopped[:-1], (_Run("."),))
            sentences.append((*prefix, _Run(journal, italic=True), *stop))
        sentences.extend(volumes)
        details = "; ".join(part for part in (_placed(ref.shown.place, ref.shown.publisher), details) if part)
        if details:
            sentences.append((_Run(full_stop(details)),))
        return sentences + numbers
    publication = "; ".join(part for part in (_placed(ref.shown.place, ref.journal), details) if part)
    return volumes + ([(_Run(full_stop(publication)),)] if publication else []) + numbers


def _first_place(written: str) -> str:
    """The first of a list of places ('Durham and London', biblatex's list): NLM cites the first one listed."""
    return latex_to_text(re.split(r"\s+and\s+", written.strip())[0]).strip(" ,:;")


def _placed(place: str, publisher: str) -> str:
    """A publisher with its place before it, as Vancouver writes them ('London: Routledge'); a place alone is not
    shown."""
    return f"{place}: {publisher}" if place and publisher else publisher


_V_NUMBER = re.compile(r"[vV]\d")


def _reference_sentences(ref: Reference) -> list[_Sentence]:
    """The entry as Vancouver sentences: authors, title, source, DOI or URL, PMID."""
    sentences: list[_Sentence] = []
    authors = _author_list(ref)
    if authors:
        sentences.append((_Run(full_stop(authors)),))
    elif ref.shown.editors and ref.title and ref.entry_type not in PART_TYPES:  # a book its editors made
        sentences.append((_Run(full_stop(_editors(ref))),))
    if ref.title:
        sentences.append((_Run(full_stop(ref.title)),))
    if ref.shown.version:  # a program's, as NLM cites software: 'Ultralytics YOLOv8. Version 8.0.0. 2023.'
        version = ref.shown.version
        if not version.lower().startswith("version"):
            version = "Version " + (version[1:] if _V_NUMBER.match(version) else version)  # v2.1: Version 2.1
        sentences.append((_Run(full_stop(version[0].upper() + version[1:])),))
    sentences.extend(_source(ref))
    links = reference_links(ref)
    if ref.doi:
        sentences.append((_Run("doi:"), _Run(ref.doi, href=links.doi), _Run(".")))
    elif ref.url:
        sentences.append((_Run("Available from: "), _Run(ref.url, href=links.web)))
    if ref.pmid:
        sentences.append((_Run("PMID: "), _Run(ref.pmid, href=links.pubmed), _Run(".")))
    return sentences


def _run_html(run: _Run) -> str:
    text = html.escape(run.text)
    if run.italic:
        text = f"<i>{text}</i>"
    if run.href:
        text = f'<a href="{html.escape(run.href)}">{text}</a>'
    return text


def format_reference_html(ref: Reference) -> str:
    """One bibliography entry as safe HTML, every piece of text escaped, DOI and web URL as links."""
    return " ".join("".join(_run_html(run) for run in sentence) for sentence in _reference_sentences(ref))


def format_reference_text(ref: Reference) -> str:
    """One bibliography entry as plain text, the same words as format_reference_html."""
    return " ".join("".join(run.text for run in sentence) for sentence in _reference_sentences(ref))
