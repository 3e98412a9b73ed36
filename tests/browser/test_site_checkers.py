"""Every page of the default site, and one page of each kind of the catalog site (catalog_site.py), passes the real
checkers: axe-core, the Nu HTML Checker and Lighthouse."""

from __future__ import annotations

from pathlib import Path

import pytest

from .catalog_site import CATALOG_PAGES
from .tools import (
    A11Y,
    LIGHTHOUSE_MINIMUM,
    PAGES,
    format_axe,
    format_vnu,
    lighthouse_failures,
    page_url,
    report,
    run_axe,
    site_pages,
    vnu_messages_for,
)


def test_site_has_every_page(site_kind: str, site_dir: Path) -> None:
    built = sorted(str(p.relative_to(site_dir)) for p in site_dir.rglob("*.html"))
    if site_kind == "catalog":  # one page of each kind is checked, and all of them must be there
        assert set(CATALOG_PAGES) <= set(built), f"pages missing from the build: {set(CATALOG_PAGES) - set(built)}"
        return
    assert set(PAGES) <= set(built), f"pages missing from the build: {sorted(set(PAGES) - set(built))}"
    assert set(built) <= set(site_pages()), f"pages built but not checked: {sorted(set(built) - set(site_pages()))}"


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1280, 320])
def test_axe(open_page, site_url: str, name: str, width: int, scheme: str) -> None:
    where = f"{name} at {width}px, {scheme}"
    violations = run_axe(open_page(page_url(site_url, name), width, scheme))
    lines = format_axe(violations, where)
    assert not lines, report(f"axe-core violations on {where}", lines)


def test_nu_html_checker(vnu_messages: list[dict], site_dir: Path, name: str) -> None:
    # Errors, non-document errors and warnings (info with subType warning) all fail; plain info does not.
    found = [m for m in vnu_messages_for(vnu_messages, site_dir / name)
             if m.get("type") != "info" or m.get("subType") == "warning"]
    assert not found, report(f"Nu HTML Checker errors and warnings on {name}", format_vnu(found, name))


def test_nu_html_checker_static_files(vnu_messages: list[dict], site_dir: Path) -> None:
    lines = []
    for f in sorted(site_dir.rglob("*")):
        if f.suffix in (".css", ".svg"):
            found = [m for m in vnu_messages_for(vnu_messages, f)
                     if m.get("type") != "info" or m.get("subType") == "warning"]
            lines += format_vnu(found, str(f.relative_to(site_dir)))
    assert not lines, report("Nu HTML Checker errors and warnings on the CSS and SVG files", lines)


def test_nu_html_checker_every_page(vnu_messages: list[dict], site_dir: Path) -> None:
    # The catalog's page-level tests take one page of each kind; vnu has read all of them, so all of them count.
    lines = []
    for f in sorted(site_dir.rglob("*.html")):
        found = [m for m in vnu_messages_for(vnu_messages, f) if m.get("type") != "info" or m.get("subType") == "warning"]
        lines += format_vnu(found, str(f.relative_to(site_dir)))
    assert not lines, report("Nu HTML Checker errors and warnings on the site's pages", lines)


def test_nu_html_checker_gave_no_other_message(vnu_messages: list[dict], site_dir: Path) -> None:
    # A message about no file we know of (a crash, a file it could not read) must not go unseen.
    known = {f.resolve().as_uri().removeprefix("file://") for f in site_dir.rglob("*")}
    known |= {f.resolve().as_uri().removeprefix("file://") for f in A11Y.glob("*")}
    stray = [m for m in vnu_messages if m.get("url", "").removeprefix("file:").removeprefix("//") not in known]
    assert not stray, report("Nu HTML Checker messages about no checked file", format_vnu(stray, "?"))


def test_lighthouse(lighthouse_reports: dict[str, dict], site_url: str, name: str) -> None:
    lines = lighthouse_failures(lighthouse_reports[page_url(site_url, name)], name)
    assert not lines, report(f"Lighthouse on {name} (needs {LIGHTHOUSE_MINIMUM})", lines)
