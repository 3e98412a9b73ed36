"""An imported catalog (registry trials, tests/test_registry.py) passes the real checkers: every page of its
largest trial (162 sites) and of a trial with nested criteria, at 1280 and 320 px, light and dark: axe-core,
reflow, body-text contrast; the Nu HTML Checker on every page of the catalog; Lighthouse on the largest trial's
locations page and on that of a trial of 1,200 sites. Run alone: python -m pytest -q tests/browser/test_registry_browser.py
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import checks
from .tools import (
    ROOT,
    format_axe,
    format_vnu,
    lighthouse_failures,
    page_url,
    report,
    run_axe,
    run_lighthouse,
    run_vnu,
    serve,
    settled_lighthouse,
    vnu_messages_for,
)

LARGEST = "NCT00831909"  # the test record with the most sites (162)
RECORDS = [LARGEST, "NCT05814159", "NCT05921903", "NCT04318938"]  # nested and sectioned criteria, references
HUGE = "NCT09999999"  # LARGEST with its sites repeated to 1,200, as the largest real records have over 1,100
INDENTED = "NCT09999998"  # NCT05814159 with a description whose indented lines Markdown takes for code
# As NCT06648538's detailed description has it: a list indented four spaces after a paragraph is a code block
# (CommonMark's too), whose long lines do not wrap unless the style sheet says so.
INDENTED_TEXT = (
    "Records will be retained as the regulations require.\n10. Documentation and Archiving:\n\n"
    "    * Upon study completion, all study documentation will be archived for future reference and audit purposes.\n"
    "    * Archiving procedures will adhere to regulatory guidelines and institutional policies.\n")
CHECKED = [f"trials/{n.lower()}/{page}" for n in (LARGEST, "NCT05814159") for page in (
    "index.html", "eligibility/index.html", "arms/index.html", "outcomes/index.html", "locations/index.html",
    "sponsor/index.html")] + ["trials/nct04318938/references/index.html", "trials/nct05921903/eligibility/index.html",
                              f"trials/{HUGE.lower()}/locations/index.html", f"trials/{INDENTED.lower()}/index.html"]


@pytest.fixture(scope="module")
def registry_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    tests = str(ROOT / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    from test_registry import make_registry_catalog, record

    from sitegen.build import build

    root = tmp_path_factory.mktemp("registry-browser")
    out = root / "out"
    huge = record(LARGEST)
    huge["protocolSection"]["identificationModule"]["nctId"] = HUGE
    places = huge["protocolSection"]["contactsLocationsModule"]
    places["locations"] = [{**site, "facility": f"{site['facility']} {i}"} for i in range(8) for site in places["locations"]][:1200]
    indented = record("NCT05814159")
    indented["protocolSection"]["identificationModule"]["nctId"] = INDENTED
    indented["protocolSection"]["descriptionModule"]["detailedDescription"] = INDENTED_TEXT
    project = make_registry_catalog(root, {**{n: record(n) for n in RECORDS}, HUGE: huge, INDENTED: indented})
    with serve(out) as url:
        build(project, out, base_url=url, jobs=1)
        yield out, url


def test_the_checked_pages_exist(registry_site: tuple[Path, str]) -> None:
    out, _ = registry_site
    assert [p for p in CHECKED if not (out / p).is_file()] == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1280, 320])
@pytest.mark.parametrize("page_name", CHECKED)
def test_axe_reflow_and_contrast(open_page, registry_site: tuple[Path, str], page_name: str, width: int,  # type: ignore[no-untyped-def]
                                 scheme: str) -> None:
    where = f"{page_name} at {width}px, {scheme}"
    page = open_page(page_url(registry_site[1], page_name), width, scheme)
    lines = format_axe(run_axe(page), where)
    assert not lines, report(f"axe-core violations on {where}", lines)
    found = checks.contrast(page, where) + (checks.reflow(page, where) if width == 320 else [])
    assert not found, report(f"contrast or reflow problems on {where}", found)


def test_nu_html_checker_on_every_page(registry_site: tuple[Path, str]) -> None:
    out, _ = registry_site
    files = sorted(out.rglob("*.html"))
    messages = run_vnu(files)
    lines = []
    for f in files:
        found = [m for m in vnu_messages_for(messages, f) if m.get("type") != "info" or m.get("subType") == "warning"]
        lines += format_vnu(found, str(f.relative_to(out)))
    assert not lines, report("Nu HTML Checker errors and warnings on the imported catalog", lines)


@pytest.mark.parametrize("trial", [LARGEST, HUGE])
def test_lighthouse_on_the_largest_trials_locations(registry_site: tuple[Path, str], tmp_path: Path, trial: str) -> None:
    name = f"trials/{trial.lower()}/locations/index.html"
    url, out = page_url(registry_site[1], name), tmp_path / "report.json"
    lines = lighthouse_failures(settled_lighthouse(url, out, run_lighthouse(url, out)), name)
    assert not lines, report(f"Lighthouse on {name}", lines)
