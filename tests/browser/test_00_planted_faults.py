"""First, prove that every checker catches a planted fault (tests/data/a11y/), and passes the clean control page.

Without these, a checker that silently checks nothing (a script not injected, a report not parsed, a tool that
exits early) would let every site test pass. Named test_00_ so that they run before the site's tests.
"""

from __future__ import annotations

import pytest

from . import checks, tools
from .tools import (
    A11Y,
    lighthouse_failures,
    lighthouse_scores,
    report,
    run_axe,
    vnu_messages_for,
)


@pytest.mark.parametrize(("fixture", "rule"), [
    ("missing-alt.html", "image-alt"),
    ("low-contrast.html", "color-contrast"),
    ("duplicate-id.html", "duplicate-id-aria"),
])
def test_axe_catches_planted_fault(open_page, fixtures_url: str, fixture: str, rule: str) -> None:
    found = {v["id"] for v in run_axe(open_page(fixtures_url + fixture))}
    assert rule in found, f"axe did not report {rule} on tests/data/a11y/{fixture}; it reported {sorted(found)}"


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1280, 320])
def test_axe_passes_clean_page(open_page, fixtures_url: str, width: int, scheme: str) -> None:
    assert run_axe(open_page(fixtures_url + "clean.html", width, scheme)) == []


@pytest.mark.parametrize(("fixture", "needle"), [
    ("missing-alt.html", "img element must have an alt attribute"),
    ("duplicate-id.html", "Duplicate ID"),
    ("no-title.html", "title"),
])
def test_vnu_catches_planted_fault(vnu_messages: list[dict], fixture: str, needle: str) -> None:
    messages = vnu_messages_for(vnu_messages, A11Y / fixture)
    errors = [m["message"].replace("“", "").replace("”", "") for m in messages if m["type"] == "error"]
    assert any(needle.lower() in e.lower() for e in errors), \
        f"vnu reported no error containing {needle!r} on tests/data/a11y/{fixture}; it reported {messages}"


def test_vnu_passes_clean_page(vnu_messages: list[dict]) -> None:
    assert vnu_messages_for(vnu_messages, A11Y / "clean.html") == []


def test_vnu_reports_on_every_file_it_was_given(vnu_messages: list[dict]) -> None:
    # Messages are keyed by file URL: a planted page with no message at all would mean the URLs don't match.
    for fixture in ("missing-alt.html", "duplicate-id.html", "no-title.html"):
        assert vnu_messages_for(vnu_messages, A11Y / fixture), f"no vnu message names {fixture}"


def test_lighthouse_catches_planted_fault(lighthouse_reports: dict[str, dict], fixtures_url: str) -> None:
    result = lighthouse_reports[fixtures_url + "no-title.html"]
    scores = lighthouse_scores(result)
    assert scores["accessibility"] < 100, f"Lighthouse gave the page without title and lang {scores}"
    for audit in ("document-title", "html-has-lang"):
        assert result["audits"][audit]["score"] == 0, f"Lighthouse audit {audit} passed a page without it"
    lines = lighthouse_failures(result, "no-title.html")
    assert any("document-title" in line for line in lines), report("lighthouse failure lines", lines)


def test_a_performance_under_the_minimum_is_judged_on_the_median_of_three_lighthouse_runs(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    def made(performance: float) -> dict:
        return {"categories": {"performance": {"score": performance}, "seo": {"score": 1}}}

    again = iter([made(0.97), made(0.90)])
    monkeypatch.setattr(tools, "run_lighthouse", lambda url, out: next(again))
    assert tools.settled_lighthouse("u", tmp_path / "r.json", made(0.96)) == made(0.96)  # no second run
    assert tools.settled_lighthouse("u", tmp_path / "r.json", made(0.94)) == made(0.94)  # 0.90, 0.94, 0.97
    assert next(again, None) is None


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_contrast_check_catches_planted_fault(open_page, fixtures_url: str, scheme: str) -> None:
    found = checks.contrast(open_page(fixtures_url + "low-contrast.html", scheme=scheme), "low-contrast.html")
    assert [f.selector.split(" > ")[-1] for f in found] == ["p.faint"], report("contrast findings", found)
    assert checks.contrast(open_page(fixtures_url + "clean.html", scheme=scheme), "clean.html") == []


def test_keyboard_check_catches_planted_faults(open_page, fixtures_url: str) -> None:
    found = checks.keyboard(open_page(fixtures_url + "keyboard-faults.html"), "keyboard-faults.html")
    rules = {f.rule for f in found}
    assert {"keyboard-skip-link-first", "keyboard-focus-visible-2.4.7", "keyboard-focus-order-2.4.3"} <= rules, \
        report("keyboard findings", found)
    clean = checks.keyboard(open_page(fixtures_url + "clean.html"), "clean.html")
    assert clean == [], report("keyboard findings on the clean page", clean)


def test_reflow_checks_catch_planted_faults(open_page, fixtures_url: str) -> None:
    page = open_page(fixtures_url + "reflow-faults.html", width=320)
    found = checks.reflow(page, "reflow-faults.html")
    assert [(f.rule, f.selector.split(" > ")[-1]) for f in found] == [("reflow-1.4.10-horizontal-scroll", "p.wide")], \
        report("reflow findings", found)
    spaced = checks.text_spacing(page, "reflow-faults.html")
    assert ("text-spacing-1.4.12-clipped-text", "div.box") in [(f.rule, f.selector.split(" > ")[-1]) for f in spaced], \
        report("text spacing findings", spaced)
    clean = open_page(fixtures_url + "clean.html", width=320)
    assert checks.reflow(clean, "clean.html") == [] and checks.text_spacing(clean, "clean.html") == []


def test_javascript_off_check_catches_planted_fault(open_page, fixtures_url: str) -> None:
    on = checks.main_words(open_page(fixtures_url + "js-only.html"))
    off = checks.main_words(open_page(fixtures_url + "js-only.html", js=False))
    assert "Scriptwritten" in on and "Scriptwritten" not in off, "JavaScript was not switched on and then off"
    found = checks.javascript_off(on, off, "js-only.html")
    assert found and found[0].rule == "no-js-main-text", report("JavaScript-off findings", found)
    on = checks.main_words(open_page(fixtures_url + "clean.html"))
    off = checks.main_words(open_page(fixtures_url + "clean.html", js=False))
    assert checks.javascript_off(on, off, "clean.html") == []


def test_print_check_catches_planted_faults(open_page, fixtures_url: str) -> None:
    found, links = checks.print_media(open_page(fixtures_url + "print-faults.html"), "print-faults.html")
    assert {f.rule for f in found} == {"print-nav-hidden", "print-reference-link-target"} and links == 1, \
        report("print findings", found)
    found, links = checks.print_media(open_page(fixtures_url + "clean.html"), "clean.html")
    assert found == [] and links == 1, report("print findings on the clean page", found)
