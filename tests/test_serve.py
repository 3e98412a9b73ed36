"""`sitegen serve`: incremental rendering from what each output read, the error panel over the last good site,
the watcher's debounce, and the server itself, started as a user starts it (a subprocess)."""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sitegen.build import build
from sitegen.catalog import state as cache
from sitegen.cli import main
from sitegen.errors import ContentError
from sitegen.project import TEMPLATES as TEMPLATES_DIR
from sitegen.project import Project
from sitegen.render import RenderRecord, render_incremental, render_site
from sitegen.serve import LiveSite, Rebuild, SiteWatcher, _print_rebuild
from sitegen.site import load_site

ROOT = Path(__file__).resolve().parent.parent
# Some of the pages of the default site (a test takes them all from the first build, as pages may be added).
HTML_PAGES = {"index.html", "faq/index.html", "findings/index.html", "approvals/index.html", "404.html"}


def rebuild(project: Project, previous: RenderRecord | None) -> RenderRecord:
    """An incremental build, checked byte for byte against a full build of the same content."""
    site = load_site(project)
    record = render_incremental(site, project, previous)
    assert record.files == render_site(site, project)
    return record


def _pages(record: RenderRecord) -> set[str]:
    return {name for name in record.outputs if name.endswith(".html")}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# --- Incremental rendering ----------------------------------------------------------------------------------


def test_a_rebuild_with_nothing_changed_renders_nothing(project: Project) -> None:
    first = rebuild(project, None)
    assert set(first.rendered) == set(first.outputs) and HTML_PAGES <= set(first.outputs)
    again = rebuild(project, first)
    assert again.rendered == ()
    assert again.files == first.files


def test_one_faq_answer_re_renders_only_the_faq_page(project: Project) -> None:
    before = rebuild(project, None)
    edit(project.content / "trial.yaml", "The trial does not specify if", "The trial does not say if")
    after = rebuild(project, before)
    assert after.rendered == ("faq/index.html",)
    assert b"The trial does not say if" in after.files["faq/index.html"]


def test_a_field_shown_on_several_outputs_re_renders_exactly_those(project: Project) -> None:
    before = rebuild(project, None)
    trial = yaml.safe_load((project.content / "trial.yaml").read_text(encoding="utf-8"))
    edit(project.content / "trial.yaml", trial["purpose"].split()[0], "Purposefully")
    after = rebuild(project, before)
    assert set(after.rendered) == {"index.html", "feed.jsonld"}  # the summary shows it; the feed's trial node too
    edit(project.content / "trial.yaml", f"title: {trial['title']}", f"title: {trial['title']} (edited)")
    assert set(rebuild(project, after).rendered) >= _pages(after) | {"feed.jsonld"}  # every page's breadcrumb


def test_editing_a_template_re_renders_the_pages_that_use_it(project: Project) -> None:
    before = rebuild(project, None)
    edit(project.templates / "faq.html", "{% block content %}", "{% block content %}<p>New intro.</p>")
    after = rebuild(project, before)
    assert after.rendered == ("faq/index.html",)
    edit(project.templates / "_page.html", "<body>", "<body class=edited>")
    after = rebuild(project, after)
    assert set(after.rendered) == _pages(after)  # every page extends it; the feed, sitemap and static files do not
    # render.prose_html loads _citation.html for every prose field that cites: the pages with such prose use it.
    site = load_site(project)
    citing = {p.file for p in site.pages if any(site.citations.groups[(p.slug, f.path)] for f in p.prose)}
    assert "approvals/index.html" not in citing and "findings/index.html" in citing
    edit(project.templates / "_citation.html", '<sup class="cite"', '<sup class="cite edited"')
    after = rebuild(project, after)
    assert set(after.rendered) == citing
    # The glossary page's entries are made once a build from _glossary_entry.html; the next build makes them anew.
    edit(project.templates / "_glossary_entry.html", "<dd>", '<dd class="edited">')
    after = rebuild(project, after)
    assert after.rendered == ("glossary/index.html",)
    assert after.files["glossary/index.html"].count(b'<dd class="edited">') == len(site.glossary.terms)  # type: ignore[union-attr]


def test_editing_a_bib_entry_re_renders_the_pages_that_show_it(project: Project) -> None:
    before = rebuild(project, None)
    bib = project.content / "references.bib"
    edit(bib, "title   = {Nivolumab plus ipilimumab versus", "title   = {Nivolumab and ipilimumab versus")
    after = rebuild(project, before)
    assert after.rendered == ("findings/index.html",)  # its reference list; elsewhere citations show numbers only
    assert b"Nivolumab and ipilimumab versus" in after.files["findings/index.html"]
    bib.write_text(bib.read_text(encoding="utf-8") + "\n@misc{uncited2024,\n  title = {Not cited},\n  year = {2024}\n}\n",
                   encoding="utf-8")
    assert rebuild(project, after).rendered == ()  # an uncited entry is shown nowhere


def test_citation_numbers_changing_re_renders_the_pages_that_show_them(project: Project) -> None:
    before = rebuild(project, None)
    site = load_site(project)
    first, second = (r.reference.key for r in site.citations.references[:2])
    trial = project.content / "trial.yaml"
    text = trial.read_text(encoding="utf-8")
    at = text.index(f"@{first}")
    trial.write_text(text[:at] + f"@{second}; @{first}" + text[at + len(first) + 1:], encoding="utf-8")
    after = rebuild(project, before)
    assert "findings/index.html" in after.rendered and "approvals/index.html" not in after.rendered


def test_static_files_and_settings(project: Project) -> None:
    before = rebuild(project, None)
    with (project.static / "style.css").open("a", encoding="utf-8") as f:
        f.write("\n/* edited */\n")
    after = rebuild(project, before)
    assert after.rendered == ("style.css",)
    edit(project.content / "site.yaml", "language: en", "language: en-GB")
    assert set(rebuild(project, after).rendered) >= _pages(after) | {"feed.jsonld"}


TRIAL_TEXT = (ROOT / "content" / "trial.yaml").read_text(encoding="utf-8")
TEMPLATES = sorted(p.name for p in (ROOT / "sitegen" / "templates").glob("*.html") if p.name != "_error_panel.html")
BIB_KEYS = re.findall(r"^@\w+\{(\w+),", (ROOT / "content" / "references.bib").read_text(encoding="utf-8"), re.MULTILINE)


def _string_leaves(data: object, path: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    if isinstance(data, dict):
        return [leaf for k, v in data.items() for leaf in _string_leaves(v, (*path, k))]
    if isinstance(data, list):
        return [leaf for i, v in enumerate(data) for leaf in _string_leaves(v, (*path, i))]
    return [path] if isinstance(data, str) else []


STRING_LEAVES = _string_leaves(yaml.safe_load(TRIAL_TEXT))
words = st.text(st.sampled_from("abc <>&*_\"'`[]#-\n"), min_size=1, max_size=12)
citations = st.lists(st.sampled_from(BIB_KEYS), min_size=1, max_size=3).map(lambda ks: "[" + "; ".join(f"@{k}" for k in ks) + "]")
edits = st.one_of(
    st.tuples(st.just("trial"), st.sampled_from(STRING_LEAVES), st.one_of(words, citations)),
    st.tuples(st.just("template"), st.sampled_from(TEMPLATES), st.integers(0, 60)),
    st.tuples(st.just("bib"), st.sampled_from(BIB_KEYS), words),
    st.tuples(st.just("settings"), st.sampled_from(["title", "language"]), st.sampled_from(["Other", "de", "x y"])),
    st.tuples(st.just("static"), st.sampled_from(["style.css", "favicon.svg"]), words),
)


def _apply(project: Project, change: tuple[object, ...]) -> None:
    kind, where, what = change
    if kind == "trial":
        path = project.content / "trial.yaml"
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        node = data
        assert isinstance(where, tuple)
        for part in where[:-1]:
            node = node[part]
        node[where[-1]] = f"{node[where[-1]]} {what}"
        path.write_text(yaml.dump(data, Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False), encoding="utf-8")
    elif kind == "template":
        path = project.templates / str(where)
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        at = int(str(what)) % (len(lines) + 1)
        path.write_text("".join([*lines[:at], "<!-- edited -->\n", *lines[at:]]), encoding="utf-8")
    elif kind == "bib":
        path = project.content / "references.bib"
        text = path.read_text(encoding="utf-8")
        start = text.index(f"{{{where},")
        title = text.index("title", start)
        path.write_text(text[:title] + f"note = {{{str(what).replace('{', '').replace('}', '')}}},\n  " + text[title:],
                        encoding="utf-8")
    elif kind == "settings":
        edit(project.content / "site.yaml", f"{where}: ", f"{where}: {what}")
    else:
        with (project.static / str(where)).open("a", encoding="utf-8") as f:
            f.write(f"\n<!-- {what} -->\n" if str(where).endswith(".svg") else f"\n/* {what} */\n")


def _shapes(leaves: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """One leaf of each shape (list indexes left out): ('faq', 0, 'answer') stands for every FAQ answer."""
    shapes: dict[tuple[object, ...], tuple[object, ...]] = {}
    for leaf in leaves:
        shapes.setdefault(tuple(part for part in leaf if not isinstance(part, int)), leaf)
    return list(shapes.values())


def test_an_edit_of_any_field_of_the_trial_gives_the_output_of_a_full_build(project: Project) -> None:
    base = (project.content / "trial.yaml").read_text(encoding="utf-8")
    record = render_incremental(load_site(project), project)
    fresh = RenderRecord({}, (), tuple(project.template_folders), record.environment)  # renders everything, templates compiled
    checked = 0
    for leaf in _shapes(STRING_LEAVES):
        (project.content / "trial.yaml").write_text(base, encoding="utf-8")
        _apply(project, ("trial", leaf, "edited"))
        try:
            site = load_site(project)
            full = render_incremental(site, project, fresh)
        except ContentError:
            continue  # an id, a slug, a date, a cite key: an edit that makes the content invalid
        incremental = render_incremental(site, project, record)
        stale = [name for name, data in incremental.files.items() if data != full.files[name]]
        assert not stale, f"after editing trial.yaml at {leaf}, stale: {stale}"
        checked += 1
    assert checked > 40


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(edits, min_size=1, max_size=3))
def test_incremental_output_is_byte_identical_to_a_full_build_after_any_edits(changes: list[tuple[object, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(ROOT / "content", Path(tmp) / "content")
        for name in ("templates", "static"):
            shutil.copytree(ROOT / "sitegen" / name, Path(tmp) / name)
        project = Project(Path(tmp) / "content", Path(tmp) / "templates", Path(tmp) / "static")
        record = render_incremental(load_site(project), project)
        for change in changes:
            _apply(project, change)
            try:
                site = load_site(project)
                full = render_site(site, project)
            except ContentError:
                continue  # an edit that breaks the content: the server keeps the last good record
            record = render_incremental(site, project, record)
            assert record.files == full, f"incremental output differs from a full build after {change}"


# --- The live site: last good build, error panel ------------------------------------------------------------


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _check_lines(project: Project, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The problem lines `sitegen check` prints for the project."""
    capsys.readouterr()
    assert main(["check", "--content", str(project.content), "--templates", str(project.templates),
                 "--static", str(project.static)]) == 1
    return [line for line in capsys.readouterr().err.splitlines() if not line.startswith("sitegen:")]


def test_a_mistake_shows_an_error_panel_on_every_page_of_the_last_good_site(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = LiveSite(project, tmp_path / "site", None)
    assert live.rebuild().problems == ()
    good = _files(tmp_path / "site")
    trial = project.content / "trial.yaml"
    good_text = trial.read_text(encoding="utf-8")
    lines = good_text.splitlines(keepends=True)
    broken_line = next(i for i, line in enumerate(lines) if line.strip().startswith("- question:")) + 1
    lines[broken_line - 1] = lines[broken_line - 1].replace("question: ", "question: oops: ", 1)
    trial.write_text("".join(lines), encoding="utf-8")
    outcome = live.rebuild()
    expected = _check_lines(project, capsys)
    assert list(outcome.problems) == expected and outcome.reload
    assert expected == [f"{trial}:{broken_line}:19: not valid YAML: mapping values are not allowed here"]
    shown = _files(tmp_path / "site")
    assert set(shown) == set(good)
    for name, data in shown.items():
        if name.endswith(".html"):
            text = data.decode("utf-8")
            panel = text[text.index("<body>") + len("<body>"):text.index("<a class=\"skip-link\"")]
            assert 'role="alert"' in panel, name
            assert re.findall(r"<code[^>]*>(.*?)</code>", panel) == [_escaped(line) for line in expected]
            assert text.replace(panel, "\n") == good[name].decode("utf-8")
        else:
            assert data == good[name], name
    assert live.rebuild().reload is False  # the same mistake again: nothing new to show
    trial.write_text(good_text, encoding="utf-8")
    fixed = live.rebuild()
    assert fixed.problems == () and fixed.reload
    assert _files(tmp_path / "site") == good


def _escaped(line: str) -> str:
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;").replace("'", "&#39;")


def test_the_error_panel_escapes_what_it_shows(project: Project, tmp_path: Path) -> None:
    live = LiveSite(project, tmp_path / "site", None)
    live.rebuild()
    edit(project.content / "trial.yaml", "\nfaq:", "\n<script>alert('x')</script>: 1\nfaq:")
    outcome = live.rebuild()
    assert any("<script>alert('x')</script>" in p for p in outcome.problems)
    page = (tmp_path / "site" / "faq" / "index.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "<script>alert" not in page


def test_before_any_good_build_every_address_shows_the_panel(project: Project, tmp_path: Path) -> None:
    (project.content / "site.yaml").write_text("title: [\n", encoding="utf-8")
    live = LiveSite(project, tmp_path / "site", None)
    outcome = live.rebuild()
    assert outcome.problems and outcome.problems[0].startswith(f"{project.content / 'site.yaml'}:")
    files = _files(tmp_path / "site")
    assert set(files) == {"index.html", "404.html", ".sitegen-output"}  # the server answers a missing page with 404.html
    page = files["index.html"].decode("utf-8")
    assert page.startswith("<!DOCTYPE html>") and 'role="alert"' in page and "could not be built" in page
    shutil.copy(ROOT / "content" / "site.yaml", project.content / "site.yaml")
    assert live.rebuild().problems == ()
    assert "role=\"alert\"" not in (tmp_path / "site" / "faq" / "index.html").read_text(encoding="utf-8")


def test_a_templates_folder_made_while_serving_is_used(tmp_path: Path) -> None:
    """A project without templates of its own gets one while the server runs: its base.html is used at once."""
    shutil.copytree(ROOT / "content", tmp_path / "content")
    project = Project.at(tmp_path / "content")
    live = LiveSite(project, tmp_path / "site", None)
    assert live.rebuild().problems == ()
    (tmp_path / "templates").mkdir()
    base = (TEMPLATES_DIR / "base.html").read_text(encoding="utf-8")
    (tmp_path / "templates" / "base.html").write_text(base.replace("<footer", "<footer data-mine", 1), encoding="utf-8")
    outcome = live.rebuild()
    assert "faq/index.html" in outcome.rendered
    assert "data-mine" in (tmp_path / "site" / "faq" / "index.html").read_text(encoding="utf-8")


def test_a_single_trial_turned_into_a_catalog_while_serving_is_served_as_a_catalog(
        project: Project, tmp_path: Path) -> None:
    live = LiveSite(project, tmp_path / "site", None)
    assert live.rebuild().problems == ()
    (project.content / "trials").mkdir()
    (project.content / "trial.yaml").rename(project.content / "trials" / "nct05836571.yaml")
    assert live.rebuild().problems == ()
    site = tmp_path / "site"
    assert (site / "trials" / "nct05836571" / "faq" / "index.html").is_file() and not (site / "faq").exists()
    edit(project.content / "trials" / "nct05836571.yaml", "\nfaq:", "\nfaqs: 1\nfaq:")
    outcome = live.rebuild()  # the catalog stays, with the problem on its home page
    assert outcome.problems and 'role="alert"' in (site / "index.html").read_text(encoding="utf-8")
    assert (site / "trials" / "nct05836571" / "index.html").is_file() and not (site / "faq").exists()


def _catalog_live(tmp_path: Path) -> tuple[Project, LiveSite, Path]:
    from test_catalog import make_catalog

    project = make_catalog(tmp_path / "project", 3)
    live = LiveSite(project, tmp_path / "site", "https://example.org/")
    assert live.rebuild().problems == ()
    return project, live, project.content / "trials"


def _summary_page(site: Path, slug: str) -> str:
    return (site / "trials" / slug / "index.html").read_text(encoding="utf-8")


def test_a_catalog_under_serve_looks_again_only_at_the_files_the_watcher_names(tmp_path: Path) -> None:
    from test_catalog import _files

    project, live, trials = _catalog_live(tmp_path)
    site = tmp_path / "site"
    edit(trials / "trial-0.yaml", "title: Trial number 0", "title: Edited trial number 0")
    edit(trials / "trial-1.yaml", "title: Trial number 1", "title: Edited trial number 1")
    assert live.rebuild([str(trials / "trial-0.yaml")]).problems == ()  # the watcher named one file
    assert "Edited trial number 0" in _summary_page(site, "trial-0")
    assert "Edited trial number 1" not in _summary_page(site, "trial-1")  # not looked at
    assert live.rebuild().problems == ()  # changes not known: every file is looked at
    assert "Edited trial number 1" in _summary_page(site, "trial-1")
    (trials / "trial-3.yaml").write_text((trials / "trial-2.yaml").read_text(encoding="utf-8").replace(
        "slug: trial-2", "slug: trial-3"), encoding="utf-8")
    assert live.rebuild([str(trials / "trial-3.yaml")]).problems == ()  # a trial added: all are looked at again
    assert (site / "trials" / "trial-3" / "index.html").is_file()
    live.catch_up()
    # the record stays in the server's memory: none is written beside its folder
    assert not (cache.folder(site) / "build.pickle").exists()
    build(project, tmp_path / "full", "https://example.org/")
    assert _files(site) == _files(tmp_path / "full")


def test_a_catalog_under_serve_shows_an_edited_trial_first_and_its_listings_after(tmp_path: Path) -> None:
    from test_catalog import _files

    project, live, trials = _catalog_live(tmp_path)
    site = tmp_path / "site"
    home = (site / "index.html").read_bytes()
    edit(trials / "trial-0.yaml", "title: Trial number 0", "title: Edited trial number 0")
    outcome = live.rebuild([str(trials / "trial-0.yaml")])
    assert outcome.problems == () and outcome.behind and outcome.reload
    assert "Edited trial number 0" in _summary_page(site, "trial-0")  # its pages at once
    assert (site / "index.html").read_bytes() == home  # the list as it was: whole, only behind
    caught_up = live.catch_up()
    assert not caught_up.failed and caught_up.reload  # the open pages reload: the list shows the edit
    assert b"Edited trial number 0" in (site / "index.html").read_bytes()
    build(project, tmp_path / "full", "https://example.org/")
    assert _files(site) == _files(tmp_path / "full")


def test_a_static_file_edited_under_serve_is_served_at_once_and_the_listings_follow_later_edits(tmp_path: Path) -> None:
    project, live, trials = _catalog_live(tmp_path)
    site = tmp_path / "site"
    edit(project.static / "style.css", "}", "} /* edited */", )
    assert live.rebuild([str(project.static / "style.css")]).problems == ()
    assert b"/* edited */" in (site / "style.css").read_bytes()  # a shared file: not left behind
    edit(trials / "trial-0.yaml", "title: Trial number 0", "title: Edited trial number 0")
    assert live.rebuild([str(trials / "trial-0.yaml")]).behind
    assert "up to date" in live.catch_up().said
    assert b"Edited trial number 0" in (site / "index.html").read_bytes()


def test_an_edit_that_changes_what_a_trial_cites_builds_the_listings_with_its_pages(tmp_path: Path) -> None:
    _, live, trials = _catalog_live(tmp_path)
    path = trials / "trial-0.yaml"
    text = path.read_text(encoding="utf-8").replace("; @immunoLandscape2023]", "]")  # which references it cites
    path.write_text(text.replace("title: Trial number 0", "title: Edited trial number 0"), encoding="utf-8")
    assert live.rebuild([str(path)]).problems == ()
    # the warnings about shared references no trial cites follow what each cites: made now, with the listings
    assert b"Edited trial number 0" in (tmp_path / "site" / "index.html").read_bytes()


def test_a_catch_up_waits_while_the_pages_show_a_problem(tmp_path: Path) -> None:
    from test_catalog import _files

    project, live, trials = _catalog_live(tmp_path)
    site = tmp_path / "site"
    edit(trials / "trial-0.yaml", "title: Trial number 0", "title: Edited trial number 0")
    assert live.rebuild([str(trials / "trial-0.yaml")]).behind  # the list is behind
    edit(trials / "trial-1.yaml", "\nfaq:", "\nfaqs: 1\nfaq:")
    assert live.rebuild([str(trials / "trial-1.yaml")]).problems  # the home page shows the panel
    edit(trials / "trial-1.yaml", "\nfaqs: 1\nfaq:", "\nfaq:")  # undone; its rebuild has not run yet
    assert "left to the rebuild" in live.catch_up().said
    assert live.rebuild([str(trials / "trial-1.yaml")]).problems == ()
    live.catch_up()
    build(project, tmp_path / "full", "https://example.org/")
    assert _files(site) == _files(tmp_path / "full")


def test_a_trial_removed_under_serve_leaves_the_listings_with_its_pages(tmp_path: Path) -> None:
    _, live, trials = _catalog_live(tmp_path)
    site = tmp_path / "site"
    assert b"trials/trial-2/" in (site / "index.html").read_bytes()
    (trials / "trial-2.yaml").unlink()
    outcome = live.rebuild([str(trials / "trial-2.yaml")])
    assert outcome.problems == () and not (site / "trials" / "trial-2").exists()
    assert b"trials/trial-2/" not in (site / "index.html").read_bytes()  # no link to a page that is gone
    assert b"trials/trial-2/" not in (site / "sitemap.xml").read_bytes()


def test_a_trials_folder_swapped_under_serve_is_looked_at_whole(tmp_path: Path) -> None:
    _, live, trials = _catalog_live(tmp_path)
    swapped = trials.with_name("trials-new")
    shutil.copytree(trials, swapped)
    edit(swapped / "trial-0.yaml", "title: Trial number 0", "title: Edited trial number 0")
    os.rename(trials, trials.with_name("trials-old"))
    os.rename(swapped, trials)
    assert live.rebuild([str(trials)]).problems == ()  # what the watcher names: the folder, not its files
    assert "Edited trial number 0" in _summary_page(tmp_path / "site", "trial-0")


def test_a_linked_trials_folder_under_serve_is_looked_at_through_its_link(tmp_path: Path) -> None:
    from test_catalog import make_catalog

    project = make_catalog(tmp_path / "project", 2)
    kept = tmp_path / "project" / "data"
    kept.mkdir()
    os.rename(project.content / "trials", kept / "trials")
    (project.content / "trials").symlink_to(kept / "trials")
    live = LiveSite(project, tmp_path / "site", "https://example.org/")
    assert live.rebuild().problems == ()
    edit(kept / "trials" / "trial-0.yaml", "title: Trial number 0", "title: Edited trial number 0")
    # the watcher names the file through the link, in the watched content/ folder
    assert live.rebuild([os.path.join(os.path.realpath(project.content), "trials", "trial-0.yaml")]).problems == ()
    assert "Edited trial number 0" in _summary_page(tmp_path / "site", "trial-0")


def test_a_cache_deleted_under_serve_gives_a_full_rebuild(tmp_path: Path) -> None:
    """The server keeps the catalog's record in memory, and the trials' terms in the cache: without them (the cache
    folder deleted, as an error message may advise) the record is not trusted, and the next save builds all."""
    from test_catalog import _assert_as_a_full_build

    project, live, trials = _catalog_live(tmp_path)
    shutil.rmtree(cache.folder(tmp_path / "site"))
    edit(trials / "trial-0.yaml", "answer: ", "answer: Zanzibarish. ")
    outcome = live.rebuild([str(trials / "trial-0.yaml")])
    assert outcome.problems == () and not outcome.behind
    _assert_as_a_full_build(project, tmp_path / "site", tmp_path / "full")


def test_a_save_that_failed_to_build_is_looked_at_again_with_the_next(tmp_path: Path) -> None:
    _, live, trials = _catalog_live(tmp_path)
    edit(trials / "trial-0.yaml", "title: Trial number 0", "title: Edited trial number 0")
    edit(trials / "trial-1.yaml", "\nfaq:", "\nfaqs: 1\nfaq:")  # one save-all: one good edit, one mistake
    assert live.rebuild([str(trials / "trial-0.yaml"), str(trials / "trial-1.yaml")]).problems
    edit(trials / "trial-1.yaml", "\nfaqs: 1\nfaq:", "\nfaq:")
    assert live.rebuild([str(trials / "trial-1.yaml")]).problems == ()
    assert "Edited trial number 0" in _summary_page(tmp_path / "site", "trial-0")


def test_built_output_never_contains_the_live_reload_script(project: Project, tmp_path: Path) -> None:
    build(project, tmp_path / "output")
    LiveSite(project, tmp_path / "served", "http://127.0.0.1:8000/").rebuild()
    for folder in (tmp_path / "output", tmp_path / "served"):
        for name, data in _files(folder).items():
            assert b"livereload" not in data.lower(), f"{folder.name}/{name}"


def test_serve_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["serve", "--help"])
    assert e.value.code == 0 and "--port N" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        main(["serve", "--port", "70000"])
    assert e.value.code == 2 and "expected a port number" in capsys.readouterr().err


# --- The watcher: one rebuild a burst of saves --------------------------------------------------------------


class Runs:
    """What a watcher ran, each burst's changed files as a list; run right away in the watcher's thread."""

    def __init__(self) -> None:
        self.runs: list[list[str]] = []
        self.arrived = threading.Condition()

    def schedule(self, task: Callable[[], None]) -> None:
        task()

    def append(self, changed: list[str]) -> None:
        with self.arrived:
            self.runs.append(changed)
            self.arrived.notify_all()

    def wait(self, count: int, timeout: float = 10) -> list[list[str]]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.runs) >= count, timeout)
        return list(self.runs)


def watching(folders: list[Path], quiet: float = 0.2) -> tuple[SiteWatcher, Runs]:
    runs = Runs()
    watcher = SiteWatcher(quiet=quiet, schedule=runs.schedule)
    for folder in folders:
        watcher.watch(str(folder), runs.append, "forever")
    watcher.prime()
    return watcher, runs


def test_a_burst_of_saves_gives_one_rebuild(tmp_path: Path) -> None:
    for name in ("a.yaml", "b.yaml", "c.html"):
        (tmp_path / name).write_text("0")
    watcher, runs = watching([tmp_path])
    try:
        for step, name in enumerate(("a.yaml", "b.yaml", "c.html")):  # an editor's save-all, within the quiet time
            (tmp_path / name).write_text(f"saved {step}")
        assert runs.wait(1) == [sorted(str(tmp_path / n) for n in ("a.yaml", "b.yaml", "c.html"))]
        time.sleep(0.5)
        assert len(runs.runs) == 1
        (tmp_path / "a.yaml").write_text("saved again")  # the next save, the next rebuild
        assert runs.wait(2)[1] == [str(tmp_path / "a.yaml")]
    finally:
        watcher.stop()


def test_editor_scratch_files_and_hidden_folders_are_not_changes(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    watcher, runs = watching([tmp_path])
    try:
        for name in (".trial.yaml.swp", "trial.yaml~", "#trial.yaml#", "4913", ".#trial.yaml", ".git/index"):
            (tmp_path / name).write_text("x")
        time.sleep(0.5)
        (tmp_path / "trial.yaml").write_text("saved")
        assert runs.wait(1) == [[str(tmp_path / "trial.yaml")]]
    finally:
        watcher.stop()


def test_a_watched_folder_made_while_serving_is_watched(tmp_path: Path) -> None:
    (tmp_path / "content").mkdir()
    templates = tmp_path / "templates"
    watcher, runs = watching([tmp_path / "content", templates])
    try:
        templates.mkdir()  # the project's first template: the folder is a change, and is watched from then on
        assert runs.wait(1)[0] == [str(templates)]
        time.sleep(0.3)
        (templates / "base.html").write_text("<p>")
        assert [str(templates / "base.html")] in runs.wait(2)[1:]
    finally:
        watcher.stop()


def test_a_linked_file_is_watched_through_its_link(tmp_path: Path) -> None:
    (tmp_path / "content").mkdir()
    (tmp_path / "kept").mkdir()  # a trial kept elsewhere in the project, linked into content/
    (tmp_path / "kept" / "trial.yaml").write_text("first")
    (tmp_path / "content" / "trial.yaml").symlink_to(tmp_path / "kept" / "trial.yaml")
    watcher, runs = watching([tmp_path / "content"])
    try:
        (tmp_path / "kept" / "trial.yaml").write_text("saved")  # no event in content/: only the target changed
        assert runs.wait(1) == [[str(tmp_path / "content" / "trial.yaml")]]
    finally:
        watcher.stop()


def test_a_watched_folder_replaced_by_another_is_watched_again(tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    watcher, runs = watching([content])
    try:
        (tmp_path / "new").mkdir()
        (tmp_path / "new" / "trial.yaml").write_text("checked out")
        os.rename(content, tmp_path / "old")
        os.rename(tmp_path / "new", content)  # the system's watch stays on the folder now named old/
        assert [str(content)] in runs.wait(1)
        time.sleep(0.3)
        count = len(runs.runs)
        (content / "trial.yaml").write_text("saved")
        assert [str(content / "trial.yaml")] in runs.wait(count + 1)[count:]
    finally:
        watcher.stop()


def test_the_watcher_takes_relative_folders_as_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "content").mkdir()
    monkeypatch.chdir(tmp_path)
    watcher, runs = watching([Path("content")])
    try:
        (tmp_path / "content" / "trial.yaml").write_text("saved")
        assert runs.wait(1) == [[str(tmp_path / "content" / "trial.yaml")]]
    finally:
        watcher.stop()


_STOP_DURING_CATCH_UP = """
import sys, threading, time
from pathlib import Path
from tornado.ioloop import IOLoop
import sitegen.serve
from sitegen.project import Project

root = Path(sys.argv[1])
catch_up, loop, finished = sitegen.serve.LiveSite.catch_up, IOLoop.current(), threading.Event()

def say(text, error=False):
    print(text, flush=True)
    if text.startswith("Serving "):
        trial = root / "content" / "trials" / "trial-1.yaml"
        trial.write_text(trial.read_text(encoding="utf-8").replace("answer: ", "answer: Edited. ", 1), encoding="utf-8")

def stop_during_catch_up(live):
    loop.add_callback(loop.stop)
    time.sleep(0.2)  # the server has stopped by now, unless it waits for this thread
    outcome = catch_up(live)
    finished.set()
    return outcome

sitegen.serve._say, sitegen.serve.LiveSite.catch_up = say, stop_during_catch_up
code = sitegen.serve.serve(Project(root / "content", root / "templates", root / "static"), port=0)
print("returned", code, "finished" if finished.is_set() else "not finished",
      sorted(t.name for t in threading.enumerate() if t.name.startswith("sitegen-")))
"""


def test_a_stopped_server_leaves_no_thread_of_its_own_running(tmp_path: Path) -> None:
    """`serve` returns only once the watcher has stopped and a running catch-up has finished: none of our threads
    may run Python while the interpreter shuts down (CPython 3.11 can hang there for good), or write into the
    build folder as it is removed. The server is stopped while a catch-up is running (in a process of its own:
    its event loop is the main thread's)."""
    from test_catalog import make_catalog

    make_catalog(tmp_path / "project", 3)
    (tmp_path / "tmp").mkdir()
    run = subprocess.run([sys.executable, "-c", _STOP_DURING_CATCH_UP, str(tmp_path / "project")], cwd=ROOT,
                         capture_output=True, text=True, timeout=60,
                         env={**os.environ, "TMPDIR": str(tmp_path / "tmp"), "PYTHONPATH": str(ROOT)})
    lines = run.stdout.splitlines()
    assert run.returncode == 0 and lines[-2:] == ["Stopped.", "returned 0 finished []"], run.stdout + run.stderr
    assert list((tmp_path / "tmp").iterdir()) == []  # its build folder removed, after the catch-up


# --- The server, as a user starts it ------------------------------------------------------------------------


def _hangup_as_in_a_terminal() -> None:
    """SIGHUP's default in the server, as in a terminal's shell, whoever started the test run (nohup ignores it)."""
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


class Served:
    """`sitegen serve --port 0` in a subprocess, its output read line by line."""

    def __init__(self, project: Project, tmp: Path, *args: str, cwd: Path = ROOT, folders: bool = True) -> None:
        self.tmp = tmp
        tmp.mkdir(exist_ok=True)
        given = ["--templates", str(project.templates), "--static", str(project.static)] if folders else []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sitegen", "serve", "--content", str(project.content), *given, *args],
            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(ROOT)},
            preexec_fn=_hangup_as_in_a_terminal,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        for stream in (self.proc.stdout, self.proc.stderr):
            threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 20) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.05)
            except queue.Empty:
                continue
            self.seen.append(line)
            found = re.search(pattern, line)
            if found:
                return found
        raise AssertionError(f"no line matching {pattern!r} within {timeout} s; output so far:\n" + "\n".join(self.seen))

    def drain(self, seconds: float) -> list[str]:
        end, got = time.monotonic() + seconds, []
        while time.monotonic() < end:
            try:
                got.append(self.lines.get(timeout=0.05))
            except queue.Empty:
                pass
        self.seen += got
        return got

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=20)


@pytest.fixture
def served(project: Project, tmp_path: Path) -> Iterator[Served]:
    server = Served(project, tmp_path / "tmp", "--port", "0")
    yield server
    if server.proc.poll() is None:
        server.proc.kill()
        server.proc.wait()


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode("utf-8")


def test_serve_injects_live_reload_only_on_the_wire(served: Served, project: Project, tmp_path: Path) -> None:
    url = served.wait_for(r"^Serving (http://127\.0\.0\.1:\d+/)").group(1)
    page = _get(url + "faq/")
    assert "livereload.js" in page
    build(project, tmp_path / "output", base_url=url)  # what is on disk is a plain build for the server's URL
    on_disk = (tmp_path / "output" / "faq" / "index.html").read_text(encoding="utf-8")
    assert re.sub(r"<script type=\"text/javascript\">\(function\(\)\{.*?livereload.*?</script>", "", page) == on_disk
    with pytest.raises(urllib.error.HTTPError) as missing:
        _get(url + "no/such/page")
    body = missing.value.read().decode("utf-8")
    assert missing.value.code == 404 and "Page not found" in body and "livereload.js" in body
    assert served.stop() == 0
    assert "Stopped." in served.drain(0.5) + served.seen
    assert not any("Traceback" in line for line in served.seen)
    assert list(served.tmp.iterdir()) == []  # its build folder is gone


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_server_busy_answering_requests_stops_on_ctrl_c_or_sigterm(project: Project, tmp_path: Path,
                                                                      signum: int) -> None:
    """Tornado turns any exception raised while it handles a request, KeyboardInterrupt too, into a logged error:
    a Ctrl-C that lands there was lost, and the server ran on. The signals stop the server's loop instead. SIGHUP
    (its terminal closed; found by a hostile review) killed the server where it stood, and left its build folder."""
    for attempt in range(3):
        served = Served(project, tmp_path / f"tmp{attempt}", "--port", "0")
        try:
            url = served.wait_for(r"^Serving (http://127\.0\.0\.1:\d+/)").group(1)
            stop = threading.Event()

            def ask() -> None:
                while not stop.is_set():
                    try:
                        _get(url + "faq/")
                    except OSError:
                        pass

            askers = [threading.Thread(target=ask, daemon=True) for _ in range(4)]
            for asker in askers:
                asker.start()
            time.sleep(0.5)
            served.proc.send_signal(signum)
            try:
                assert served.proc.wait(timeout=15) == 0, served.seen
            finally:
                stop.set()
            assert "Stopped." in served.drain(0.3) + served.seen
            assert not [line for line in served.seen if "Uncaught exception" in line or "Traceback" in line], served.seen
            assert list(served.tmp.iterdir()) == []  # its build folder is gone
        finally:
            if served.proc.poll() is None:
                served.proc.kill()
                served.proc.wait()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_during_the_first_build_removes_the_build_folder(project: Project, tmp_path: Path,
                                                                 signum: int) -> None:
    """Before the loop runs (the first build: long for a large catalog), SIGTERM (and SIGHUP) killed the server where
    it stood and left its build folder in the temporary folder; it stops it as Ctrl-C does."""
    served = Served(project, tmp_path / "tmp", "--port", "0")
    try:
        deadline = time.monotonic() + 20
        while not list(served.tmp.glob("sitegen-serve-*/*")) and time.monotonic() < deadline:  # building: it has
            time.sleep(0.002)                                                                # a folder, not a loop
        served.proc.send_signal(signum)
        assert served.proc.wait(timeout=20) == 0
        assert list(served.tmp.iterdir()) == []
        assert "Stopped." in served.drain(0.3) + served.seen
    finally:
        if served.proc.poll() is None:
            served.proc.kill()
            served.proc.wait()


def test_the_banner_names_the_watched_folders_one_way(project: Project, tmp_path: Path) -> None:
    """Run from the project's folder, every watched folder is named relative to it, however it was found."""
    relative = Project(Path("content"), project.templates, project.static)
    served = Served(relative, tmp_path / "tmp", "--port", "0", cwd=tmp_path, folders=False)
    try:
        banner = served.wait_for(r"^Serving ").string
    finally:
        served.stop()
    assert banner.endswith("(watching content/, templates/, static/; Ctrl-C to stop)"), banner


def test_serve_rebuilds_once_for_a_burst_of_saves(served: Served, project: Project) -> None:
    served.wait_for(r"^Serving ")
    edit(project.content / "trial.yaml", "The trial does not specify if", "The trial does not say if")
    edit(project.content / "site.yaml", "language: en", "language: en-GB")
    with (project.static / "style.css").open("a", encoding="utf-8") as f:
        f.write("\n/* saved */\n")
    served.wait_for(r" changed: re-rendered ")
    later = served.drain(1.0)
    assert not [line for line in later if " changed:" in line], later
    rebuilt = [line for line in served.seen if " changed:" in line]
    assert len(rebuilt) == 1 and all(n in rebuilt[0] for n in ("trial.yaml", "site.yaml", "style.css")), rebuilt
    assert served.stop() == 0


def test_a_catalog_under_serve_shows_the_edit_first_and_then_brings_its_search_index_up_to_date(tmp_path: Path) -> None:
    from test_catalog import edit as edit_catalog
    from test_catalog import make_catalog

    catalog = make_catalog(tmp_path / "project")
    served = Served(catalog, tmp_path / "tmp", "--port", "0", folders=False)
    try:
        url = served.wait_for(r"^Serving (http://127\.0\.0\.1:\d+/)").group(1)
        entry = _get(url + "search/index.json")
        edit_catalog(catalog.content / "trials" / "trial-2.yaml", "answer: ", "answer: Zanzibarish. ")
        served.wait_for(r"trial-2\.yaml changed: re-rendered ")
        assert "Zanzibarish" in _get(url + "trials/trial-2/faq/")
        served.wait_for(r"^listings and search index up to date \(\d+ files\) in \d+ ms$")
        assert _get(url + "search/index.json") != entry
        assert served.stop() == 0
    finally:
        if served.proc.poll() is None:
            served.proc.kill()
    assert not any("Traceback" in line for line in served.seen)


def test_a_port_in_use_gives_a_clear_message(project: Project, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = Served(project, tmp_path / "tmp", "--port", str(port))
        code = server.proc.wait(timeout=30)
        server.drain(0.3)
    message = "\n".join(server.seen)
    assert code == 2, message
    assert f"127.0.0.1:{port}" in message and "already in use" in message and "--port" in message
    assert "Traceback" not in message
    assert list(server.tmp.iterdir()) == []


# --- The server under attack: other sites, forged headers, malformed requests -------------------------------


def _port(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1])


def _ask(port: int, target: str, host: str | None, *headers: str) -> tuple[int, bytes]:
    """One raw HTTP/1.1 request to 127.0.0.1 with exactly the Host header given (none when None): its status, body."""
    lines = [f"GET {target} HTTP/1.1", *([f"Host: {host}"] if host is not None else []), *headers, "Connection: close"]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        answer = b""
        while b"\r\n\r\n" not in answer and (chunk := s.recv(65536)):
            answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        length = re.search(rb"(?im)^content-length: *(\d+)", head)
        while length and len(body) < int(length[1]) and (chunk := s.recv(65536)):
            body += chunk
    return int(head.split()[1]), body


def _talk(url: str, origin: str | None, *messages: str | bytes, host: str | None = None) -> list[str]:
    """Open the live-reload WebSocket as a page at `origin` would, send `messages` and return what came back
    within half a second after them; an HTTPClientError when the handshake is refused."""
    import asyncio
    import concurrent.futures

    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    async def talk() -> list[str]:
        headers = {**({"Origin": origin} if origin else {}), **({"Host": host} if host else {})}
        connection = await websocket_connect(HTTPRequest(url.replace("http:", "ws:") + "livereload", headers=headers))
        for message in messages:
            await connection.write_message(message, binary=isinstance(message, bytes))
        answers = []
        while True:
            try:
                answer = await asyncio.wait_for(connection.read_message(), 0.5)
            except asyncio.TimeoutError:
                break
            if answer is None:  # closed by the server
                answers.append("<closed>")
                break
            answers.append(answer if isinstance(answer, str) else answer.decode("utf-8", "replace"))
        connection.close()
        return answers

    # In a thread of its own: Playwright's sync API (the browser tests, in the same session) keeps an event loop
    # running in this one, where asyncio.run refuses to start another.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, talk()).result()


HELLO = '{"command": "hello", "protocols": ["http://livereload.com/protocols/official-7"]}'


def test_serve_answers_only_to_its_own_host_names(served: Served) -> None:
    port = _port(served.wait_for(r"^Serving (http://127\.0\.0\.1:\d+/)").group(1))
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LocalHost:{port}", f"[::1]:{port}"):
        assert _ask(port, "/faq/", host)[0] == 200, host
    # A page on another site whose name was re-pointed at 127.0.0.1 (DNS rebinding) sends its own name.
    for host in (f"evil.example:{port}", f"127.0.0.1.evil.example:{port}", f"localhost.:{port}", "localhost",
                 f"127.0.0.1:{port + 1}", f"10.0.0.1:{port}", f"0.0.0.0:{port}"):
        status, body = _ask(port, "/faq/", host)
        assert status == 403 and b"--allowed-host" in body and b"faq" not in body, (host, status, body)
        assert _ask(port, "/livereload", host, "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13",
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==")[0] == 403, host
    for host in (None, "", f"user@127.0.0.1:{port}", f"127.0.0.1:{port}/x", "127.0.0.1:port", f"::1:{port}"):
        assert _ask(port, "/faq/", host)[0] == 400, host
    assert served.stop() == 0
    assert not any("Traceback" in line for line in served.seen)


def test_live_reload_talks_only_to_pages_of_the_same_origin(served: Served) -> None:
    from tornado.httpclient import HTTPClientError

    url = served.wait_for(r"^Serving (http://127\.0\.0\.1:\d+/)").group(1)
    port = _port(url)
    for origin in ("http://evil.example", f"http://evil.example:{port}", "null", f"http://localhost.evil.example:{port}",
                   f"http://127.0.0.1:{port + 1}"):
        with pytest.raises(HTTPClientError) as refused:
            _talk(url, origin, HELLO)
        assert refused.value.code == 403, origin
    for origin in (url.rstrip("/"), None):  # the server's own pages; a client that is not a browser sends none
        assert '"command": "hello"' in _talk(url, origin, HELLO)[0], origin
    assert '"command": "hello"' in _talk(url, f"http://localhost:{port}", HELLO, host=f"localhost:{port}")[0]
    # Nothing but a save reloads the open pages: livereload's /forcereload, which any site could load, is gone.
    answers: list[list[str]] = []
    info = json.dumps({"command": "info", "url": url})
    page = threading.Thread(target=lambda: answers.append(_talk(url, url.rstrip("/"), HELLO, info)))
    page.start()
    time.sleep(0.2)  # the page is listening (it listens for half a second after its messages)
    status, _ = _ask(port, "/forcereload?path=*", f"127.0.0.1:{port}", "Origin: http://evil.example")
    page.join()
    assert status == 404 and not any('"reload"' in a for a in answers[0]), answers
    assert served.stop() == 0


def test_a_malformed_request_gets_400_and_prints_nothing(served: Served) -> None:
    port = _port(served.wait_for(r"^Serving (http://127\.0\.0\.1:\d+/)").group(1))
    host = f"127.0.0.1:{port}"
    for target in ("/%00", "/a%00b", "/faq/%00", "/index.html%00", "/%00/..", "/%ff", "/%c0%ae%c0%ae/"):
        status, body = _ask(port, target, host)
        assert status == 400 and b"Traceback" not in body, (target, status)
    # What a client puts in a request never reaches the terminal, control characters least of all.
    for target in ("/%2e%2e/%1b%5d0%3bpwned%07", "/%1b%5b2J", "/%00%1b%5b2J"):
        assert _ask(port, target, host)[0] in (400, 403, 404)
    assert served.stop() == 0
    served.drain(0.3)
    assert not any("Traceback" in line or "\x1b" in line or "\x07" in line for line in served.seen), served.seen
    assert not any("pwned" in line or "%00" in line for line in served.seen), served.seen


def test_a_socket_message_that_is_not_json_is_ignored(served: Served) -> None:
    url = served.wait_for(r"^Serving (http://127\.0\.0\.1:\d+/)").group(1)
    junk = ("not json", b"\xff\xfe", "[]", '"hello"', "{}", '{"command": 1}', '{"command": "info"}', "{" * 5000, "[" * 100_000 + "]" * 100_000, "null")
    answers = _talk(url, url.rstrip("/"), *junk, HELLO)
    assert len(answers) == 1 and '"command": "hello"' in answers[0], answers  # still talking after the junk
    assert served.stop() == 0
    served.drain(0.3)
    assert not any("Traceback" in line for line in served.seen), served.seen
    assert len([line for line in served.seen if "sitegen serve:" in line]) <= len(junk)


@pytest.mark.parametrize("host", ["nosuch!.invalid", "a..invalid"])
def test_a_host_that_does_not_resolve_gives_a_clear_message(project: Project, tmp_path: Path, host: str) -> None:
    # Names the resolver refuses by itself ('!' is not allowed in a host name; an empty label): no DNS query is made.
    server = Served(project, tmp_path / "tmp", "--host", host, "--port", "0")
    code = server.proc.wait(timeout=30)
    server.drain(0.3)
    message = "\n".join(server.seen)
    assert code == 2, message
    assert message.startswith(f"sitegen: error: cannot serve on {host}:0:") and "--host" in message, message
    assert "Traceback" not in message and len(server.seen) == 1
    assert list(server.tmp.iterdir()) == []


def test_serve_prints_no_control_characters_from_file_names(served: Served, project: Project) -> None:
    served.wait_for(r"^Serving ")
    (project.content / "\x1b]0;pwned\x07\x1b[2J.txt").write_text("x", encoding="utf-8")
    line = served.wait_for(r" changed: ").string
    assert "\x1b" not in line and "\x07" not in line and "\\x1b]0;pwned\\x07\\x1b[2J.txt" in line, line
    assert served.stop() == 0


def test_the_host_names_a_server_answers_to() -> None:
    from sitegen.serve import HostPolicy

    with socket.socket() as loopback, socket.socket() as everywhere:
        loopback.bind(("127.0.0.1", 0))
        everywhere.bind(("0.0.0.0", 0))  # bound only: nothing listens, nothing is sent
        local = HostPolicy.listening("127.0.0.1", [loopback])
        lan = HostPolicy.listening("0.0.0.0", [everywhere], ["MyLaptop.local"])
        named = HostPolicy.listening("localhost", [loopback], ["docs.example"])
    for policy in (local, lan, named):
        port = policy.port
        for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", f"[0:0::1]:{port}"):
            assert policy.refusal(host) is None, (policy, host)
        for host in (f"evil.example:{port}", f"localhost:{port + 1}", f"{port}", f"mylaptop.local.evil.example:{port}"):
            refusal = policy.refusal(host)
            assert refusal is not None and refusal[0] in (400, 403), (policy, host)
    # On every address: any IP address (no one can point an address elsewhere), names only when allowed.
    for host in ("192.168.1.20", "10.0.0.5", "[fe80::1]", "mylaptop.local", "MYLAPTOP.LOCAL"):
        assert lan.refusal(f"{host}:{lan.port}") is None, host
    for host in ("192.168.1.20", "mylaptop.local"):  # a server on this computer only has no such address
        assert (local.refusal(f"{host}:{local.port}") or (0,))[0] == 403, host
    assert named.refusal(f"docs.example:{named.port}") is None and local.refusal(f"docs.example:{local.port}") is not None


def test_allowed_hosts_are_host_names(capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("docs.example:8000", "http://docs.example", "a b"):
        assert main(["serve", "--allowed-host", name]) == 2
        assert f"--allowed-host '{name}': expected a host name" in capsys.readouterr().err


def test_a_rebuild_names_the_files_changed_not_an_editor_s_temporary_ones(tmp_path: Path,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    trial = tmp_path / "trial.yaml"
    trial.write_text("x")
    (tmp_path / ".trial.yaml.swp").write_text("x")
    changed = [str(tmp_path / name) for name in ("sedeghpLA", "4913", ".trial.yaml.swp", "#trial.yaml#", "trial.yaml~")]
    outcome = Rebuild(problems=(), warnings=(), rendered=("faq/index.html",), files=1, seconds=0.01, reload=True)
    _print_rebuild(outcome, [*changed, str(trial), str(tmp_path / "gone.yaml")], ())
    out = capsys.readouterr().out
    assert f"{trial}, {tmp_path / 'gone.yaml'} changed: re-rendered faq/index.html" in out, out
    _print_rebuild(outcome, changed, ())
    assert capsys.readouterr().out.startswith("re-rendered faq/index.html")
