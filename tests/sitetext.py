"""Read a built site the way a test needs it: visible text, links, ids and JSON-LD of each page (stdlib only)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

BLOCK = {
    "p", "li", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "div", "td", "th", "caption", "section",
    "figcaption", "ul", "ol", "dl", "tr", "table", "header", "footer", "nav", "main", "br", "small", "figure",
}


@dataclass
class PageInfo:
    """What a test reads from one page."""

    text: str = ""
    links: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    jsonld: list[Any] = field(default_factory=list)
    h1_count: int = 0


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.info = PageInfo()
        self.parts: list[str] = []
        self.in_script: str | None = None
        self.script: list[str] = []
        self.depth_head = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.info.ids.append(a["id"] or "")
        if tag == "a" and a.get("href") is not None:
            self.info.links.append(a["href"] or "")
        if tag == "link" and a.get("href") and a.get("rel") in ("stylesheet", "icon", "alternate"):
            self.info.links.append(a["href"] or "")
        if tag == "h1":
            self.info.h1_count += 1
        if tag in ("script", "style", "title"):
            self.in_script = a.get("type") or tag
            self.script = []
        if tag in BLOCK:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "title") and self.in_script is not None:
            if self.in_script == "application/ld+json":
                self.info.jsonld.append(json.loads("".join(self.script)))
            self.in_script = None
        if tag in BLOCK:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if self.in_script is not None:
            self.script.append(data)
        else:
            self.parts.append(data)


def read_page(path: Path) -> PageInfo:
    """Parse one HTML file."""
    reader = _Reader()
    reader.feed(path.read_text(encoding="utf-8"))
    reader.info.text = normalize("".join(reader.parts))
    return reader.info


def normalize(text: str) -> str:
    """Whitespace folded, for comparing text across line breaks and markup."""
    return re.sub(r"\s+", " ", text).strip()


def html_pages(site: Path) -> dict[str, PageInfo]:
    """Every HTML page of a built site, keyed by its path relative to the site root."""
    return {p.relative_to(site).as_posix(): read_page(p) for p in sorted(site.rglob("*.html"))}
