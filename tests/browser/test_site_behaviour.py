"""Every page of the default site, and one of each kind of the catalog site, works by keyboard, reflows, keeps 7:1 body text, reads without JavaScript and
prints well (checks in checks.py, each proven on a planted fault in test_00_planted_faults.py)."""

from __future__ import annotations

import pytest

from . import checks
from .tools import page_url, report


def test_keyboard(open_page, site_url: str, name: str) -> None:
    found = checks.keyboard(open_page(page_url(site_url, name)), name)
    assert not found, report(f"keyboard problems on {name}", found)


def test_reflow_at_320px(open_page, site_url: str, name: str) -> None:
    found = checks.reflow(open_page(page_url(site_url, name), width=320), name)
    assert not found, report(f"reflow problems on {name} at 320px", found)


@pytest.mark.parametrize("width", [1280, 320])
def test_text_spacing(open_page, site_url: str, name: str, width: int) -> None:
    found = checks.text_spacing(open_page(page_url(site_url, name), width=width), f"{name} at {width}px")
    assert not found, report(f"text spacing (WCAG 1.4.12) problems on {name} at {width}px", found)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_body_text_contrast(open_page, site_url: str, name: str, scheme: str) -> None:
    found = checks.contrast(open_page(page_url(site_url, name), scheme=scheme), f"{name} ({scheme})")
    assert not found, report(f"body text under 7:1 on {name} ({scheme})", found)


def test_javascript_off(open_page, site_url: str, name: str) -> None:
    on = checks.main_words(open_page(page_url(site_url, name)))
    off = checks.main_words(open_page(page_url(site_url, name), js=False))
    found = checks.javascript_off(on, off, name)
    assert not found, report(f"text missing with JavaScript off on {name}", found)


def test_print(open_page, site_url: str, name: str) -> None:
    found, links = checks.print_media(open_page(page_url(site_url, name)), name)
    assert not found, report(f"print problems on {name}", found)
    if name.endswith("findings/index.html"):
        assert links > 0, "the findings page has no external link in its references to check in print"
