"""What search engines and static hosts see: extracted JSON-LD that expands and validates, a crawlable sub-path."""

from __future__ import annotations

import functools
import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin, urlparse
from urllib.request import urlopen

import extruct
import pytest

from schemaorg import Vocabulary, expand, validate
from sitegen.build import build
from sitetext import html_pages

SCHEMA = "http://schema.org/"
PREFIX = "/trials/sarcoma/"


def _terms(node: Any) -> set[str]:
    """Every property name (not keyword) used in a JSON-LD document, compact or expanded."""
    found: set[str] = set()
    if isinstance(node, dict):
        for k, v in node.items():
            if not k.startswith("@"):
                found.add(k)
            found |= _terms(v)
    elif isinstance(node, list):
        for v in node:
            found |= _terms(v)
    return found


def test_extracted_jsonld_expands_offline_without_losing_a_term(site: Path) -> None:
    vocab = Vocabulary.load()
    for name in html_pages(site):
        html = (site / name).read_text(encoding="utf-8")
        data = extruct.extract(html, base_url="https://example.org/", syntaxes=["json-ld"], uniform=False)["json-ld"]
        assert len(data) == 1, name
        assert validate(data[0], vocab) == [], name
        expanded = expand(data[0])
        terms = _terms(expanded)
        # JSON-LD processors silently drop terms the context does not define: none may be lost
        assert {SCHEMA + t for t in _terms(data[0])} == terms, (name, {SCHEMA + t for t in _terms(data[0])} ^ terms)
        types = {t for node in expanded for t in node.get("@type", [])}
        assert types and all(t.startswith(SCHEMA) for t in types), name


def test_planted_invalid_property_in_a_page_is_caught(site: Path) -> None:
    page = html_pages(site)["index.html"].jsonld[0]
    page["mainEntity"]["phase"] = "Phase 2"
    page["mainEntity"]["sponsor"][0]["drugClass"] = {"@type": "DrugClass", "name": "x"}
    errors = validate(page, Vocabulary.load())
    assert any("'phase'" in e for e in errors), errors
    assert any("'drugClass'" in e and "Organization" in e for e in errors), errors


class _SubPathHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the site only under PREFIX, as a host serving it from a sub-folder would."""

    def translate_path(self, path: str) -> str:
        if not path.startswith(PREFIX):
            return "/nonexistent"
        return super().translate_path("/" + path[len(PREFIX):])

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path, project: Any) -> Iterator[tuple[str, Path]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_SubPathHandler, directory=str(tmp_path / "out")))
    base = f"http://127.0.0.1:{server.server_address[1]}{PREFIX}"
    build(project, tmp_path / "out", base_url=base)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base, tmp_path / "out"
    server.shutdown()


def test_crawl_under_a_sub_path_finds_no_broken_link_and_matches_the_sitemap(served: tuple[str, Path]) -> None:
    base, _ = served
    seen: dict[str, str] = {}
    queue = [base]
    anchors: list[tuple[str, str, str]] = []
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        with urlopen(url) as response:  # raises on 404
            assert response.status == 200, url
            body = response.read().decode("utf-8")
        seen[url] = body
        if not url.endswith((".html", "/")):
            continue
        for href in re.findall(r'href="([^"]+)"', body):
            target, fragment = urldefrag(urljoin(url, href))
            if not target.startswith(base):
                assert urlparse(target).scheme in ("http", "https", "mailto"), (url, href)
                continue
            if fragment:
                anchors.append((url, target, fragment))
            queue.append(target)
    for page, target, fragment in anchors:
        assert f'id="{fragment}"' in seen[target], f"{page}: #{fragment} missing in {target}"
    pages = {u.removesuffix("index.html") for u in seen if u.endswith((".html", "/"))}
    sitemap = urlopen(base + "sitemap.xml").read().decode()
    listed = set(re.findall(r"<loc>(.*?)</loc>", sitemap))
    assert listed == pages, listed ^ pages
    assert len(pages) == 8  # the seven pages of the trial and the glossary


def test_sitemap_follows_the_protocol(site: Path) -> None:
    """sitemaps.org protocol 0.9: namespace, absolute <loc> under 2,048 characters, W3C date <lastmod>."""
    import xml.etree.ElementTree as ET

    ns = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
    root = ET.parse(site / "sitemap.xml").getroot()
    assert root.tag == f"{ns}urlset"
    urls = root.findall(f"{ns}url")
    assert 0 < len(urls) <= 50_000
    for url in urls:
        assert [child.tag for child in url] == [f"{ns}loc", f"{ns}lastmod"]
        loc = url.findtext(f"{ns}loc") or ""
        assert urlparse(loc).scheme in ("http", "https") and len(loc) < 2048
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", url.findtext(f"{ns}lastmod") or "")


def test_faq_jsonld_questions_and_answers_match_the_page_text(site: Path) -> None:
    page = html_pages(site)["faq/index.html"]
    questions = page.jsonld[0]["mainEntity"]
    assert len(questions) == 4
    for q in questions:
        assert q["@type"] == "Question" and q["acceptedAnswer"]["@type"] == "Answer"
        assert q["name"] in page.text
        assert q["acceptedAnswer"]["text"] in page.text.replace("[references 1–5]", "").replace(
            "[reference 1, reference 3, reference 4, reference 6, reference 7]", "")
