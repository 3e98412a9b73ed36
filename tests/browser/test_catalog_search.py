"""The catalog's search box in Chromium, by keyboard alone: it has a name, finds the one trial whose text has a word
(written with or without its accents, in any case, or only its start), says so when no trial has it, announces its
results in a live region, shows more on asking, passes axe, our keyboard, contrast and reflow checks with results
shown, and links to the right pages when the site lives under a sub-path. A phone's search loads a few small files.
With JavaScript off the home page says search needs it, and the lists and facets work without it.

The site is served over http: from file:// the browser refuses to load the index.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from . import checks
from .catalog_site import ACCENTED_WORD, MISSING_WORD, SEARCH_TRIAL, TRIALS, UNIQUE_WORD, build_catalog_site
from .tools import format_axe, report, run_axe, serve

SEARCH_INPUT = "#search input[type=search]"
RESULT_LINK = "#search .search-results a"
MORE = "#search button.search-more"
COMMON_WORD = "cabozantinib"  # in every trial's text: more results than the box shows at first (5)
SUB_PATH = "trials/catalog/"


def tab_to(page, selector: str, limit: int = 120) -> int:  # type: ignore[no-untyped-def]
    """Press Tab until the focused element matches selector; how many presses it took."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => Boolean(document.activeElement && document.activeElement.matches(s))", selector):
            return presses
    raise AssertionError(f"{limit} presses of Tab never reached {selector}")


def search(page, word: str) -> None:  # type: ignore[no-untyped-def]
    """From a fresh load, Tab to the search box and type word, as a keyboard user does."""
    tab_to(page, SEARCH_INPUT)
    page.keyboard.type(word)


def status(page):  # type: ignore[no-untyped-def]
    """The live region that announces the results: role=status (implicitly aria-live=polite) or aria-live."""
    return page.locator("main [role=status], main [aria-live=polite], main [aria-live=assertive]")


@pytest.fixture(scope="module")
def sub_path_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """The catalog built for and served under /trials/catalog/ (a site hosted in a folder of its server), its
    search index's terms in several files, as a catalog of thousands has them: (folder, URL)."""
    root = tmp_path_factory.mktemp("sub-path-host")
    with serve(root) as url:
        out = root / SUB_PATH
        out.mkdir(parents=True)
        build_catalog_site(out, base_url=url + SUB_PATH, terms_per_file=1)
        yield out, url + SUB_PATH


# --- JavaScript on ---------------------------------------------------------------------------------------------


def test_a_word_of_one_trial_finds_that_trial_and_its_link_opens_it_by_keyboard(open_page, catalog_url: str) -> None:
    page = open_page(catalog_url)
    expect(status(page)).to_have_count(1)  # there before any search, so that screen readers follow its changes
    expect(status(page)).to_have_text("")
    presses = tab_to(page, SEARCH_INPUT)
    box = page.locator(SEARCH_INPUT)
    expect(box).to_be_focused()
    expect(box).to_have_accessible_name("Search all trials")
    assert presses < 20, f"the search box is the {presses}th tab stop: it should come before the lists"

    page.keyboard.type(UNIQUE_WORD)
    results = page.locator(RESULT_LINK)
    expect(results).to_have_count(1, timeout=10_000)
    expect(results).to_have_text(re.compile(r"^Trial number 5 "))
    expect(status(page)).to_have_text(f"1 trial found for \u201c{UNIQUE_WORD}\u201d")
    title = results.inner_text()

    tab_to(page, RESULT_LINK, limit=15)
    expect(results).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{catalog_url}trials/{SEARCH_TRIAL}/")
    expect(page.locator("h1")).to_have_text(title)


def test_a_result_names_condition_phase_and_status_in_the_order_the_pages_do(open_page, catalog_url: str) -> None:
    """A result's line under its title reads as the trial's own page and its entry in the list say it (condition,
    phase, status), not in another order: it read 'Sarcoma · Recruiting · Phase 2' where they say 'Sarcoma · Phase
    2 · Recruiting'."""
    page = open_page(catalog_url)
    search(page, UNIQUE_WORD)
    expect(page.locator(RESULT_LINK)).to_have_count(1, timeout=10_000)
    shown = page.locator("#search .search-results .search-meta").inner_text()
    page.locator(RESULT_LINK).click()
    page.wait_for_url(f"{catalog_url}trials/{SEARCH_TRIAL}/")
    assert shown == page.locator("main p.lead").first.inner_text()


def test_a_word_in_no_trial_says_there_are_no_results(open_page, catalog_url: str) -> None:
    page = open_page(catalog_url)
    search(page, MISSING_WORD)
    message = page.locator("#search .search-status")  # shown, and announced by the live region
    expect(message).to_have_text(f"No trial has all of these words: \u201c{MISSING_WORD}\u201d", timeout=10_000)
    expect(message).to_be_visible()
    expect(status(page)).to_have_text(message.inner_text())
    expect(page.locator(RESULT_LINK)).to_have_count(0)
    # and a new search replaces the message
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type(UNIQUE_WORD)
    expect(status(page)).to_have_text(f"1 trial found for \u201c{UNIQUE_WORD}\u201d", timeout=10_000)


@pytest.mark.parametrize("query", [ACCENTED_WORD, "zurichseeklinik", "ZÜRICHSEEKLINIK", "Zürichsee",
                                   "quokkaberry cabozantinib"])
def test_a_word_is_found_without_its_accents_in_any_case_by_its_start_and_with_others(
        open_page, sub_path_site: tuple[Path, str], query: str) -> None:
    """Words are taken in the page as in the index (the terms spread over several files here): the accented word
    of one trial, however it is typed; the start of a word still being typed; every word of several."""
    _, sub_path_url = sub_path_site
    page = open_page(sub_path_url)
    search(page, query)
    results = page.locator(RESULT_LINK)
    expect(status(page)).to_have_text(f"1 trial found for \u201c{query}\u201d", timeout=10_000)
    expect(results).to_have_count(1)
    expect(results).to_have_text(re.compile(r"^Trial number 5 "))


def test_more_results_come_on_asking_and_the_first_new_one_takes_the_focus(open_page, catalog_url: str) -> None:
    page = open_page(catalog_url)
    search(page, COMMON_WORD)
    expect(status(page)).to_have_text(f"{TRIALS} trials found for \u201c{COMMON_WORD}\u201d", timeout=10_000)
    expect(page.locator(RESULT_LINK)).to_have_count(5)
    tab_to(page, MORE, limit=15)
    page.keyboard.press("Enter")
    expect(page.locator(RESULT_LINK)).to_have_count(TRIALS)
    expect(page.locator(RESULT_LINK).nth(5)).to_be_focused()
    expect(page.locator(MORE)).to_be_hidden()
    titles = page.locator(RESULT_LINK).all_inner_texts()
    assert len(set(titles)) == TRIALS, titles


def test_a_trial_with_the_word_itself_comes_before_one_with_a_longer_word_it_starts(open_page, catalog_url: str) -> None:
    """'wallaby' is in trial 5 once; 'wallabyfruit' in trial 6 twice: while 'wallaby' may still be being typed
    both are results, the word itself first."""
    page = open_page(catalog_url)
    search(page, "wallaby")
    expect(status(page)).to_have_text("2 trials found for \u201cwallaby\u201d", timeout=10_000)
    expect(page.locator(RESULT_LINK)).to_have_text([re.compile(r"^Trial number 5 "), re.compile(r"^Trial number 6 ")])


def test_a_search_is_announced_once_the_typing_stops_and_not_at_every_key(open_page, catalog_url: str) -> None:
    page = open_page(catalog_url)
    page.evaluate("""() => {
      window.announced = [];
      const live = document.querySelector('#search [role=status]');
      new MutationObserver(() => window.announced.push(live.textContent)).observe(live, {childList: true,
        characterData: true, subtree: true});
    }""")
    tab_to(page, SEARCH_INPUT)
    page.keyboard.type(COMMON_WORD, delay=260)  # slower than the box waits to search: a search at every key
    final = f"{TRIALS} trials found for \u201c{COMMON_WORD}\u201d"
    expect(status(page)).to_have_text(final, timeout=10_000)
    page.wait_for_timeout(1000)
    assert page.evaluate("() => window.announced") == [final]
    expect(page.locator("#search .search-status")).to_have_text(final)


def test_back_from_a_result_brings_the_search_again(open_page, catalog_url: str) -> None:
    page = open_page(catalog_url)
    search(page, UNIQUE_WORD)
    expect(page.locator(RESULT_LINK)).to_have_count(1, timeout=10_000)
    assert page.url == f"{catalog_url}?q={UNIQUE_WORD}"  # the search is in the address: Back, bookmarks, links
    page.locator(RESULT_LINK).click()
    page.wait_for_url(f"{catalog_url}trials/{SEARCH_TRIAL}/")
    page.go_back()
    expect(page.locator(SEARCH_INPUT)).to_have_value(UNIQUE_WORD)
    expect(page.locator(RESULT_LINK)).to_have_count(1, timeout=10_000)


def test_a_second_click_on_show_more_while_results_load_adds_them_once(open_page, catalog_url: str) -> None:
    page = open_page(catalog_url)
    search(page, COMMON_WORD)
    expect(page.locator(RESULT_LINK)).to_have_count(5, timeout=10_000)
    page.evaluate("() => { const more = document.querySelector('#search button.search-more'); more.click(); more.click(); }")
    expect(page.locator(RESULT_LINK)).to_have_count(TRIALS)
    page.wait_for_timeout(300)
    titles = page.locator(RESULT_LINK).all_inner_texts()
    assert len(titles) == len(set(titles)) == TRIALS, titles


def test_a_page_left_open_while_the_site_is_rebuilt_finds_the_new_trials(open_page, tmp_path: Path) -> None:
    """A trial added sorts first and renumbers every other: the open page's next search reads the new index.json,
    finds the new trial's words, drops the files it had read, and links each result to its own trial."""
    import shutil

    from sitegen.build import build
    from sitegen.project import Project

    with serve(tmp_path / "host") as url:
        out = build_catalog_site(tmp_path / "host" / "site", base_url=url + "site/")
        project = Project.at(out.parent / f"{out.name}-project" / "content")
        page = open_page(url + "site/")
        search(page, UNIQUE_WORD)
        expect(page.locator(RESULT_LINK)).to_have_count(1, timeout=10_000)
        trials = project.content / "trials"
        shutil.copy(trials / "trial-1.yaml", trials / "trial-00.yaml")
        (trials / "trial-00.yaml").write_text((trials / "trial-00.yaml").read_text(encoding="utf-8").replace(
            "slug: trial-1", "slug: trial-00").replace("answer: ", "answer: Wombatberry. ", 1), encoding="utf-8")
        build(project, out, base_url=url + "site/", jobs=1)
        page.locator(SEARCH_INPUT).fill("wombatberry ")
        expect(status(page)).to_have_text("1 trial found for \u201cwombatberry\u201d", timeout=10_000)
        assert page.locator(RESULT_LINK).get_attribute("href") == "/site/trials/trial-00/"
        page.locator(SEARCH_INPUT).fill(UNIQUE_WORD + " ")
        expect(status(page)).to_have_text(f"1 trial found for \u201c{UNIQUE_WORD}\u201d", timeout=10_000)
        link = page.locator(RESULT_LINK)
        assert link.get_attribute("href") == f"/site/trials/{SEARCH_TRIAL}/"
        expect(link).to_have_text(re.compile(r"^Trial number 5 "))


def test_a_search_in_the_address_is_run_when_the_page_opens(open_page, catalog_url: str) -> None:
    page = open_page(catalog_url + "?q=" + UNIQUE_WORD)
    expect(page.locator(SEARCH_INPUT)).to_have_value(UNIQUE_WORD)
    expect(page.locator(RESULT_LINK)).to_have_count(1, timeout=10_000)


def show_results(page) -> None:  # type: ignore[no-untyped-def]
    """Search for a word every trial has: all of the search UI on show."""
    search(page, COMMON_WORD)
    expect(page.locator(RESULT_LINK).first).to_be_visible(timeout=10_000)
    expect(page.locator(MORE)).to_be_visible()  # 'Show more results'
    expect(status(page)).not_to_have_text("")


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1280, 320])
def test_axe_with_search_results_shown(open_page, catalog_url: str, width: int, scheme: str) -> None:
    page = open_page(catalog_url, width, scheme)
    show_results(page)
    where = f"the home page with search results at {width}px, {scheme}"
    lines = format_axe(run_axe(page), where)
    assert not lines, report(f"axe-core violations on {where}", lines)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_search_results_keep_contrast(open_page, catalog_url: str, scheme: str) -> None:
    page = open_page(catalog_url, scheme=scheme)
    show_results(page)
    found = checks.contrast(page, f"index.html with search results ({scheme})")
    assert not found, report(f"body text under 7:1 with search results ({scheme})", found)


@pytest.mark.parametrize("width", [1280, 320])
def test_search_results_reflow_and_take_text_spacing(open_page, catalog_url: str, width: int) -> None:
    page = open_page(catalog_url, width=width)
    show_results(page)
    where = f"index.html with search results at {width}px"
    found = checks.reflow(page, where) + checks.text_spacing(page, where)
    assert not found, report(f"reflow and text spacing problems on {where}", found)


def test_every_tab_stop_of_the_search_shows_focus(open_page, catalog_url: str) -> None:
    page = open_page(catalog_url)
    show_results(page)
    checks.number_elements(page)
    stops = checks.tab_stops(page)  # after the search box: the results, 'Show more', the lists
    selectors = " ".join(s["snippet"] for s in stops)
    for part in ('href="/trials/', "search-more"):
        assert part in selectors, f"Tab never reached the {part} of the search"
    found = checks.focus_findings(page, "index.html with search results", stops)
    assert not found, report("keyboard problems in the search", found)


def test_search_links_work_on_a_site_under_a_sub_path_with_its_terms_in_several_files(
        open_page, sub_path_site: tuple[Path, str]) -> None:
    folder, sub_path_url = sub_path_site
    assert len(list((folder / "search" / "terms").iterdir())) >= 4, "the terms were not spread over several files"
    page = open_page(sub_path_url)
    search(page, COMMON_WORD)
    expect(status(page)).to_have_text(f"{TRIALS} trials found for \u201c{COMMON_WORD}\u201d", timeout=10_000)
    page.goto(sub_path_url)
    search(page, UNIQUE_WORD)
    results = page.locator(RESULT_LINK)
    expect(results).to_have_count(1, timeout=10_000)
    assert results.get_attribute("href") == f"/{SUB_PATH}trials/{SEARCH_TRIAL}/"
    tab_to(page, RESULT_LINK, limit=15)
    with page.expect_navigation() as navigation:
        page.keyboard.press("Enter")
    response = navigation.value
    assert response is not None and response.ok, f"the result link led to {page.url}"
    assert page.url == f"{sub_path_url}trials/{SEARCH_TRIAL}/"
    expect(page.locator("h1")).to_have_text(re.compile(r"^Trial number 5 "))


def _search_load():  # type: ignore[no-untyped-def]
    """bench/search_load.py, whose server logs every request it answers."""
    import importlib.util
    import sys

    from .tools import ROOT

    spec = importlib.util.spec_from_file_location("bench_search_load", ROOT / "bench" / "search_load.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_a_search_loads_nothing_before_the_box_is_used_and_a_few_small_files_after(
        open_page, sub_path_site: tuple[Path, str]) -> None:
    """A reader who never searches loads no index; one word loads index.json, its words file, the terms file of
    each term it may be and the docs files of the results shown, each once, none missing."""
    folder, _ = sub_path_site
    search_load = _search_load()
    with search_load.serving(folder.parent.parent, search_load.Throttle(0, 0)) as (root_url, server):
        page = open_page(root_url + SUB_PATH)
        server.wait_quiet(quiet=0.3, timeout=30)
        assert not [s.path for s in server.log if "/search/" in s.path], "the index was loaded by a reader who never searched"
        search(page, UNIQUE_WORD)
        expect(page.locator(RESULT_LINK)).to_have_count(1, timeout=10_000)
        server.wait_quiet(quiet=0.3, timeout=30)
    asked = [s.path.split("?")[0].removeprefix("/" + SUB_PATH) for s in server.log if "/search/" in s.path]
    assert asked[0] == "search/index.json" and len(asked) == len(set(asked)), asked
    kinds = sorted({name.split("/")[1] for name in asked[1:]})
    assert kinds == ["docs", "terms", "words"] and len(asked) <= 3 + len(UNIQUE_WORD), asked  # words of its start
    assert not [s for s in server.log if s.status >= 400], server.log


# --- JavaScript off --------------------------------------------------------------------------------------------


def test_without_javascript_the_home_page_says_so_and_its_lists_work(open_page, catalog_url: str) -> None:
    on = open_page(catalog_url)
    expect(on.locator(".no-script")).to_have_count(0)  # replaced by the search box

    page = open_page(catalog_url, js=False)
    note = page.locator("#search .no-script")
    expect(note).to_be_visible()
    expect(note).to_contain_text("Search needs JavaScript")
    expect(page.locator("#search input")).to_be_hidden()  # its form is there, hidden: no box that does nothing
    # a facet value leads to its listing, whose pages lead on to each other
    tab_to(page, "a[href='conditions/soft-tissue-sarcoma/index.html']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{catalog_url}conditions/soft-tissue-sarcoma/index.html")
    expect(page.locator("h1")).to_have_text("Condition: Soft tissue sarcoma")
    expect(page.locator("ol.trial-list > li")).to_have_count(3)
    page.get_by_role("link", name="Next page").click()
    page.wait_for_url(re.compile(r"conditions/soft-tissue-sarcoma/page/2/index\.html$"))
    expect(page.locator("ol.trial-list > li")).to_have_count(1)
    page.get_by_role("link", name="Previous page").click()
    page.wait_for_url(re.compile(r"conditions/soft-tissue-sarcoma/index\.html$"))


@pytest.mark.parametrize("width", [1280, 320])
def test_without_javascript_the_home_page_reflows_and_keeps_contrast(open_page, catalog_url: str, width: int) -> None:
    where = f"index.html without JavaScript at {width}px"
    found = checks.reflow(open_page(catalog_url, width=width, js=False), where)
    found += checks.text_spacing(open_page(catalog_url, width=width, js=False), where)
    for scheme in ("light", "dark"):
        found += checks.contrast(open_page(catalog_url, width=width, scheme=scheme, js=False), f"{where}, {scheme}")
    assert not found, report(f"layout problems on {where}", found)


# --- The keyboard check itself ---------------------------------------------------------------------------------


def test_keyboard_check_catches_an_invisible_tab_stop(open_page, tmp_path: Path) -> None:
    # Pagefind's UI (search before sitegen's own) kept its 'Clear' button in the tab order at opacity 0 while the
    # box was empty: a planted copy.
    (tmp_path / "invisible.html").write_text(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Invisible</title>'
        '<style>a:focus-visible, button:focus-visible { outline: 3px solid #b3541e; } .gone { opacity: 0; }</style>'
        '</head><body><a href="#main">Skip to main content</a><main id="main" tabindex="-1"><h1>Invisible</h1>'
        '<p><button class="gone">Clear</button> <a href="#main">Seen</a></p></main></body></html>', encoding="utf-8")
    with serve(tmp_path) as url:
        found = checks.keyboard(open_page(url + "invisible.html"), "invisible.html")
    assert [(f.rule, f.selector.split(" > ")[-1]) for f in found] == [
        ("keyboard-focus-visible-2.4.7", "button.gone")], report("keyboard findings", found)
