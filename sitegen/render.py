"""The Jinja2 environment (autoescape, StrictUndefined) and Markdown prose turned into safe HTML with citations."""

from __future__ import annotations

import html as html_text
import re
from pathlib import Path
from typing import Any

import nh3
from jinja2 import Environment, StrictUndefined, select_autoescape
from markupsafe import Markup

from .cite import CITATION, Citation, citable
from .jsonld import json_text
from .markup import markdown_html
from .record import BoundedLoader

# Markdown may produce these; anything else (script, style, iframe, event handlers, javascript: URLs) is removed.
ALLOWED_TAGS = {
    "p", "br", "em", "strong", "a", "ul", "ol", "li", "code", "pre", "blockquote",
    "h3", "h4", "h5", "h6", "sub", "sup", "abbr", "table", "thead", "tbody", "tr", "th", "td", "hr",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "th": {"scope"}}
URL_SCHEMES = {"http", "https", "mailto"}
# A citation's place while Markdown and nh3 work: private-use characters, removed from the prose first, so that no
# content can hold a placeholder (before, prose holding the placeholder text swapped a citation into an attribute).
_PLACEHOLDER = "\ue000{}\ue001"
_PLACEHOLDERS = re.compile("\ue000([0-9]+)\ue001")
_MARKERS = re.compile("[\ue000\ue001]")
_TAG = re.compile(r'(<(?:[^>"]|"[^"]*")*>)')  # a tag as nh3 writes it: attribute values always in double quotes


def make_environment(templates: Path) -> Environment:
    """A Jinja2 environment over `templates` that escapes everything and fails on undefined names."""
    env = Environment(
        loader=BoundedLoader(str(templates)),
        # every template is HTML or XML but robots.txt, which is plain text: an escaped '&' there is a wrong URL
        autoescape=select_autoescape(disabled_extensions=("txt",), default=True, default_for_string=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["jsonld"] = jsonld_script
    return env


def jsonld_script(data: Any) -> Markup:
    """JSON-LD for a <script type="application/ld+json"> element."""
    return Markup(json_text(data))


def prose_html(env: Environment, text: str, citations: tuple[Citation, ...], findings_href: str) -> Markup:
    """Markdown to sanitized HTML, each `[@key]` group replaced by its numbered citation link(s)."""
    groups = iter(range(len(citations)))
    source = CITATION.sub(lambda _: _PLACEHOLDER.format(next(groups)), citable(_MARKERS.sub("", text)))
    html = nh3.clean(
        markdown_html(source),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener",
    )
    if not citations:  # most prose cites nothing: its HTML then depends on no template
        return Markup(html)
    template = env.get_template("_citation.html")
    links = [template.render(citation=c, findings_href=findings_href).strip() for c in citations]
    # In text a citation becomes its links; inside a tag (a link's title) only its numbers, as text.
    numbers = [html_text.escape("[" + ", ".join(str(n) for n in c.numbers) + "]") for c in citations]
    parts = _TAG.split(html)
    for i, part in enumerate(parts):
        if "\ue000" in part:
            chosen = numbers if i % 2 else links
            parts[i] = _PLACEHOLDERS.sub(lambda m, chosen=chosen: chosen[int(m.group(1))], part)
    return Markup("".join(parts))


def inline_html(html: Markup) -> Markup:
    """Prose rendered for a place that is already a block (a list item, a table cell): the outer <p> removed."""
    text = str(html)
    if text.startswith("<p>") and text.endswith("</p>") and text.count("<p>") == 1:
        return Markup(text[3:-4])
    return html
