"""A catalog of trials (content/trials/<slug>.yaml): its home, listing and trial pages link up, validate and build
incrementally (one trial edited renders that trial only) and in parallel, byte for byte like a full build."""

from __future__ import annotations

import html
import importlib.util
import json
import os
import pickle
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from importlib.machinery import ModuleSpec
from pathlib import Path
from unittest.mock import ANY
from urllib.parse import urldefrag

import pytest
import yaml
from schemaorg import Vocabulary, validate
from sitetext import html_pages

from sitegen import render, write
from sitegen.build import build
from sitegen.catalog import build as build_module
from sitegen.catalog import plan, search
from sitegen.catalog import state as cache
from sitegen.catalog.listing import TrialEntry, sort_key
from sitegen.record import MISSING
from sitegen.cli import ProgressBar, main
from sitegen.errors import ContentError, Problem
from sitegen.project import Project

ROOT = Path(__file__).resolve().parent.parent
CONDITIONS = ["Soft tissue sarcoma", "Breast cancer", "Lung cancer", "Soft tissue sarcoma"]
STATUSES = ["recruiting", "completed", "not-yet-recruiting", "recruiting"]
PLACES = [[], ["Palo Alto"], ["Palo Alto", "Boston", "São Paulo"], ["Zürich"]]
TRIAL_PAGES = ["", "faq/", "eligibility/", "timeline/", "arms/", "approvals/", "findings/", "glossary/"]


def make_catalog(root: Path, count: int = 4) -> Project:
    """A catalog of `count` trials made from the default trial, differing in what the listing pages group by."""
    content = root / "content"
    (content / "trials").mkdir(parents=True)
    for name in ("site.yaml", "glossary.yaml", "references.bib"):
        shutil.copy(ROOT / "content" / name, content / name)
    for name in ("templates", "static"):
        shutil.copytree(ROOT / "sitegen" / name, root / name)
    default = yaml.safe_load((ROOT / "content" / "trial.yaml").read_text(encoding="utf-8"))
    for i in range(count):
        trial = {**default, "slug": f"trial-{i}", "title": f"Trial number {i} for {CONDITIONS[i % 4]}",
                 "condition": CONDITIONS[i % 4], "status": STATUSES[i % 4],
                 "locations": {"named": [{"name": p} for p in PLACES[i % 4]], "others": i}}
        (content / "trials" / f"trial-{i}.yaml").write_text(yaml.safe_dump(trial, sort_keys=False, allow_unicode=True),
                                                           encoding="utf-8")
    return Project(content, root / "templates", root / "static")


@pytest.fixture
def catalog(tmp_path: Path) -> Project:
    return make_catalog(tmp_path / "project")


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _assert_as_a_full_build(project: Project, out: Path, full: Path) -> None:
    """The site an incremental build left in `out` is byte for byte what a full build into `full` makes."""
    build(project, full)
    assert _files(out) == _files(full)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_home_listing_and_trial_pages_link_to_each_other_and_nothing_is_broken(catalog: Project, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report, _ = build(catalog, out)
    pages = html_pages(out)
    for i in range(4):
        for page in TRIAL_PAGES:
            assert f"trials/trial-{i}/{page}index.html" in pages
    assert report.trials == 4
    home = pages["index.html"]
    assert {f"trials/trial-{i}/index.html" for i in range(4)} <= set(home.links)
    for facet in ("conditions/soft-tissue-sarcoma/", "status/recruiting/", "phases/phase-2/", "locations/palo-alto/",
                  "locations/sao-paulo/"):
        assert f"{facet}index.html" in home.links, facet
    # a listing page holds exactly the trials with that value
    sarcoma = pages["conditions/soft-tissue-sarcoma/index.html"]
    assert {link for link in sarcoma.links if link.startswith("../../trials/")} == {
        "../../trials/trial-0/index.html", "../../trials/trial-3/index.html"}
    assert "Palo Alto" in pages["locations/index.html"].text and "Zürich" in pages["locations/index.html"].text
    # every trial page leads back to the home page, and every link and anchor of the site resolves
    assert "../../../index.html" in pages["trials/trial-2/faq/index.html"].links
    for name, page in pages.items():
        for href in page.links:
            if re.match(r"^[a-z]+:", href) or name == "404.html":
                continue
            target, fragment = urldefrag(href)
            path = (out / name).parent / target if target else out / name
            assert path.resolve().is_file(), f"{name}: broken link {href}"
            if fragment and path.suffix == ".html":
                assert fragment in pages[path.resolve().relative_to(out.resolve()).as_posix()].ids, f"{name}: {href}"


def test_catalog_pages_carry_valid_schema_org_and_the_feed_lists_every_trial(catalog: Project, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(catalog, out, base_url="https://example.org/trials/")
    vocab = Vocabulary.load()
    pages = html_pages(out)
    for name, page in pages.items():
        assert len(page.jsonld) == 1, name
        assert validate(page.jsonld[0], vocab) == [], name
    home = pages["index.html"].jsonld[0]
    assert home["@type"] == "CollectionPage" and home["mainEntity"]["numberOfItems"] == 4
    faq = pages["trials/trial-1/faq/index.html"].jsonld[0]
    assert faq["url"] == "https://example.org/trials/trials/trial-1/faq/"
    assert [i["name"] for i in faq["breadcrumb"]["itemListElement"]][0] == "All trials"
    feed = json.loads((out / "feed.jsonld").read_text())
    assert validate(feed, vocab) == []
    assert [e["item"]["url"] for e in feed["dataFeedElement"]] == [
        f"https://example.org/trials/trials/trial-{i}/" for i in range(4)]
    sitemap = (out / "sitemap.xml").read_text()
    listed = set(re.findall(r"<loc>https://example.org/trials/(.*?)</loc>", sitemap))
    assert listed == {name.removesuffix("index.html") for name in pages if name != "404.html"}


def test_a_sitemap_past_the_limit_becomes_a_sitemap_index(catalog: Project, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "MAX_SITEMAP_URLS", 10)
    out = tmp_path / "out"
    build(catalog, out, base_url="https://example.org/")
    index = (out / "sitemap.xml").read_text()
    assert "<sitemapindex" in index
    parts = re.findall(r"<loc>https://example.org/(sitemap-\d+\.xml)</loc>", index)
    urls = [u for part in parts for u in re.findall(r"<loc>(.*?)</loc>", (out / part).read_text())]
    assert all(len(re.findall("<loc>", (out / part).read_text())) <= 10 for part in parts)
    assert len(urls) == len(set(urls)) == len([n for n in html_pages(out) if n != "404.html"])


def test_a_rebuild_renders_only_the_trial_that_changed_and_matches_a_full_build(catalog: Project, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(catalog, out)
    again, _ = build(catalog, out)
    assert again.rendered == 0 and again.written == ()
    edit(catalog.content / "trials" / "trial-2.yaml", "answer: ", "answer: Newly edited. ")
    report, _ = build(catalog, out)
    assert report.rendered == 1
    assert report.written and all(name.startswith(("trials/trial-2/", "search/")) for name in report.written)
    assert "search/index.json" in report.written  # the search index holds the new words
    assert "Newly edited." in (out / "trials/trial-2/faq/index.html").read_text()
    _assert_as_a_full_build(catalog, out, tmp_path / "full")


def test_an_edit_inside_a_trial_makes_none_of_the_catalogs_own_pages_again(
        catalog: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The 404 page, sitemap and robots.txt read templates, which the loader notes: an answer edited in one trial
    changes none of them, so none is rendered (at 10,000 trials the sitemap alone took a tenth of an edit's time)."""
    out = tmp_path / "out"
    build(catalog, out)
    rendered: list[str] = []
    real = build_module.render_template
    monkeypatch.setattr(build_module, "render_template", lambda env, name, context: rendered.append(name) or real(env, name, context))
    monkeypatch.setattr(build_module, "sitemaps", lambda *a: rendered.append("sitemap") or render.sitemaps(*a))
    edit(catalog.content / "trials" / "trial-2.yaml", "answer: ", "answer: Zanzibarish. ")
    report, _ = build(catalog, out)
    assert "trials/trial-2/faq/index.html" in report.written and rendered == []
    edit(catalog.content / "site.yaml", "title: ", "title: Renamed ")  # what they do read: they are made again
    build(catalog, out)
    assert "404.html" in rendered and "sitemap" in rendered


def test_what_a_listing_shows_changes_its_pages_and_a_removed_trial_disappears(catalog: Project, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(catalog, out)
    edit(catalog.content / "trials" / "trial-1.yaml", "condition: Breast cancer", "condition: Melanoma")
    report, _ = build(catalog, out)
    assert report.rendered == 1
    assert "conditions/melanoma/index.html" in report.written and not (out / "conditions/breast-cancer").exists()
    (catalog.content / "trials" / "trial-3.yaml").unlink()
    report, _ = build(catalog, out)
    assert report.rendered == 0 and not (out / "trials/trial-3").exists()
    _assert_as_a_full_build(catalog, out, tmp_path / "full")


def test_a_shared_reference_renders_again_only_the_trials_citing_it(catalog: Project, tmp_path: Path) -> None:
    trials = catalog.content / "trials"
    shared = (catalog.content / "references.bib").read_text()
    (trials / "trial-0.yaml").write_text((trials / "trial-0.yaml").read_text().replace("chen2021", "ownchen"))
    # trial-0 cites its own copy of chen2021; a copy of all the shared references repeats their keys: an error
    (trials / "trial-0.bib").write_text(shared.replace("chen2021", "ownchen"))
    with pytest.raises(ContentError) as e:
        build(catalog, tmp_path / "out")
    assert any(p.file.endswith("trial-0.bib") and "'monga2020' is also in" in p.message for p in e.value.problems)
    start = shared.index("@article{chen2021")
    (trials / "trial-0.bib").write_text(shared[start:shared.index("\n}", start) + 2].replace("chen2021", "ownchen"))
    out = tmp_path / "out"
    build(catalog, out)
    edit(catalog.content / "references.bib", "multicentre retrospective study", "multicentre retrospective study (edited)")
    report, _ = build(catalog, out)
    edited = [i for i in range(4) if "(edited)" in (out / f"trials/trial-{i}/findings/index.html").read_text()]
    assert edited == [1, 2, 3] and report.rendered == 3
    assert report.written and all(name.startswith(("trials/trial-1/", "trials/trial-2/", "trials/trial-3/"))
                                  for name in report.written)  # references are not searched: the index is as it was


def test_a_trial_citing_a_set_of_its_own_bib_is_told_its_members(catalog: Project, tmp_path: Path) -> None:
    trials = catalog.content / "trials"
    (trials / "trial-0.bib").write_text("@set{both,\n  entryset = {chen2021,monga2020}}\n")
    (trials / "trial-0.yaml").write_text((trials / "trial-0.yaml").read_text().replace("[@chen2021;", "[@both;", 1))
    with pytest.raises(ContentError) as e:
        build(catalog, tmp_path / "out")
    assert [p.message.split(": ", 1)[1] for p in e.value.problems] == [
        "cites '@both', which is a @set entry in trial-0.bib (line 1), not a work; cite its members instead: "
        "[@chen2021; @monga2020]"]
    assert e.value.problems[0].file == str(trials / "trial-0.yaml") and e.value.problems[0].column > 1


def test_a_trial_citing_a_key_it_lacks_is_told_both_files_it_could_be_in(catalog: Project, tmp_path: Path) -> None:
    trials = catalog.content / "trials"
    (trials / "trial-0.yaml").write_text((trials / "trial-0.yaml").read_text().replace("[@chen2021;", "[@nobody;", 1))
    with pytest.raises(ContentError) as e:
        build(catalog, tmp_path / "out")
    assert "cites '@nobody', which is not in references.bib or trial-0.bib" in e.value.problems[0].message


def test_what_building_a_trial_read_is_recorded_and_decides_what_is_built_again(
        catalog: Project, tmp_path: Path) -> None:
    """A trial's record holds what building it read: its files, what every trial shares, each shared reference it
    cites, and each of its own keys as missing from the shared file. Giving a shared reference one of its own keys
    later makes it read something else: it is built again, and the clash is reported."""
    trials = catalog.content / "trials"
    shared = (catalog.content / "references.bib").read_text()
    start = shared.index("@article{chen2021")
    own = shared[start:shared.index("\n}", start) + 2].replace("chen2021", "ownchen")
    (trials / "trial-0.bib").write_text(own)
    (trials / "trial-0.yaml").write_text((trials / "trial-0.yaml").read_text().replace("chen2021", "ownchen"))
    out = tmp_path / "out"
    build(catalog, out)
    record = cache.load(out, cache.code_digest())
    assert record is not None
    reads = record.trials["trial-0"].reads
    assert {key[0] for key in reads} == {"files", "shared", "reference"}
    assert reads[("reference", "ownchen")] == MISSING and reads[("reference", "monga2020")] != MISSING
    assert ("reference", "chen2021") not in reads  # trial-0 cites its own copy, not the shared one
    (catalog.content / "references.bib").write_text(shared + "\n" + own)  # the shared file now has ownchen too
    with pytest.raises(ContentError) as clash:
        build(catalog, out)
    assert any("'ownchen' is also in" in p.message for p in clash.value.problems)


def test_each_page_title_names_the_page_then_the_site_and_the_home_page_the_site_once(catalog: Project,
                                                                                   tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(catalog, out)
    site = yaml.safe_load((catalog.content / "site.yaml").read_text(encoding="utf-8"))["title"]
    title = re.compile(r"<title>([^<]*)</title>")
    assert title.findall((out / "index.html").read_text(encoding="utf-8")) == [html.escape(site)]
    assert title.findall((out / "conditions" / "index.html").read_text(encoding="utf-8")) == [
        f"Trials by condition | {html.escape(site)}"]


def test_a_build_that_changed_a_few_trials_writes_a_journal_of_them_not_the_whole_record(
        catalog: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The record of 10,000 trials is 30 MB: a build that changed a few keeps them in a journal beside the whole
    record, which is written again only once many changed. A journal older than the whole record is ignored."""
    out, place, trials = tmp_path / "out", cache.folder(tmp_path / "out"), catalog.content / "trials"
    build(catalog, out)
    whole = (place / cache.BASE).read_bytes()
    assert not (place / cache.JOURNAL).exists()
    edit(trials / "trial-0.yaml", "title: Trial number 0", "title: Edited trial number 0")
    (trials / "trial-3.yaml").unlink()
    assert build(catalog, out)[0].rendered == 1
    assert (place / cache.BASE).read_bytes() == whole and (place / cache.JOURNAL).is_file()
    journal = (place / cache.JOURNAL).read_bytes()
    assert list(pickle.loads(journal)[-2:]) == [{"trial-0": ANY}, ["trial-3"]]  # the trials changed, and removed
    record = cache.load(out, cache.code_digest())
    assert record is not None and list(record.trials) == ["trial-0", "trial-1", "trial-2"]
    assert record.trials["trial-0"].entry.title.startswith("Edited trial number 0")
    assert build(catalog, out)[0].rendered == 0  # the journal is trusted: nothing is rendered again
    _assert_as_a_full_build(catalog, out, tmp_path / "full")
    monkeypatch.setattr(cache, "JOURNAL_LIMIT", 0)  # with many trials changed: the whole record again
    edit(trials / "trial-1.yaml", "title: Trial number 1", "title: Edited trial number 1")
    assert build(catalog, out)[0].rendered == 1
    assert (place / cache.BASE).read_bytes() != whole and not (place / cache.JOURNAL).exists()
    (place / cache.JOURNAL).write_bytes(journal)  # left by a build killed after it wrote the whole record
    record = cache.load(out, cache.code_digest())
    assert record is not None and list(record.trials) == ["trial-0", "trial-1", "trial-2"]
    assert record.trials["trial-1"].entry.title.startswith("Edited trial number 1")
    assert build(catalog, out)[0].rendered == 0
    _assert_as_a_full_build(catalog, out, tmp_path / "full")


def test_a_static_file_named_like_a_catalog_page_is_an_error_in_a_rebuild_too(catalog: Project, tmp_path: Path) -> None:
    """The home page is kept as it was (no entry changed), and is still the one output of index.html."""
    out = tmp_path / "out"
    build(catalog, out)
    home = (out / "index.html").read_bytes()
    (catalog.static / "index.html").write_text("<html>mine</html>", encoding="utf-8")
    with pytest.raises(ContentError) as clash:
        build(catalog, out)
    assert str(clash.value.problems[0]) == (
        f"index.html: two outputs on one path: made by the listing page index.html and by the static file "
        f"{catalog.static / 'index.html'}; give one of them another name")
    assert (out / "index.html").read_bytes() == home
    (catalog.static / "index.html").unlink()
    build(catalog, out)
    _assert_as_a_full_build(catalog, out, tmp_path / "full")


def test_a_template_edit_renders_every_trial_but_writes_only_changed_files(catalog: Project, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(catalog, out)
    edit(catalog.templates / "faq.html", "{% block content %}", "{% block content %}<p>New intro.</p>")
    report, _ = build(catalog, out)
    assert report.rendered == 4
    assert set(report.written) == {f"trials/trial-{i}/faq/index.html" for i in range(4)}


def test_a_listing_template_edit_renders_every_listing_page_again(catalog: Project, tmp_path: Path) -> None:
    """The catalog's own pages are rendered without checking a template's file again on each use (templates do
    not change under a build); the next build sees an edit of one they include."""
    out = tmp_path / "out"
    build(catalog, out)
    listings = {p.relative_to(out).as_posix() for p in out.rglob("index.html") if not p.relative_to(out).parts[0] == "trials"}
    edit(catalog.templates / "_facet_value.html", '<span class="count">', '<span class="count edited">')
    report, _ = build(catalog, out)
    assert set(report.written) == {name for name in listings if b'class="count edited"' in (out / name).read_bytes()}
    assert "index.html" in report.written and not any(name.startswith("trials/") for name in report.written)
    _assert_as_a_full_build(catalog, out, tmp_path / "full")


def test_compiled_templates_are_kept_and_a_damaged_one_is_compiled_again(catalog: Project, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    out = tmp_path / "out"
    build(catalog, out)
    compiled_templates = render.compiled_templates()
    assert compiled_templates is not None
    folder = compiled_templates.folder
    assert folder.parent == tmp_path / "user-cache" / "sitegen" / "templates"
    compiled = sorted(folder.iterdir())
    assert len(compiled) >= 10  # Jinja2's cache: every template a trial or listing page uses
    assert not (cache.folder(out) / "templates").exists()  # not beside the output: one per user
    for n, path in enumerate(compiled):  # damaged: cut in the code, or just after Jinja2's magic bytes
        data = path.read_bytes()
        path.write_bytes(data[:-20] if n % 2 else data[:16])
    compiled[0].unlink()
    compiled[0].mkdir()  # a folder where a template's code goes: removed
    edit(catalog.templates / "_page.html", "<body", "<!-- edited -->\n<body")  # every page, every template again
    build(catalog, out)
    assert compiled[0].is_file()
    _assert_as_a_full_build(catalog, out, tmp_path / "full")
    assert "<!-- edited -->" in (out / "trials" / "trial-0" / "faq" / "index.html").read_text(encoding="utf-8")
    (folder.parent / ("0123456789abcdef" * 2)).mkdir()  # another version's: removed
    (folder.parent / "notes").mkdir()  # not sitegen's: kept, as is whatever else sitegen does not make
    mixed = folder.parent / ("fedcba9876543210" * 2)  # another version's, holding something sitegen did not put
    mixed.mkdir()
    (mixed / compiled[2].name).write_bytes(b"old code")
    (mixed / "keep.txt").write_text("mine", encoding="utf-8")
    left = folder / f"{compiled[1].name}.0123456789abcdef.tmp"
    left.write_bytes(b"half a template")  # what a build killed while Jinja2 wrote one leaves: removed
    edit(catalog.content / "trials" / "trial-0.yaml", "answer: ", "answer: Again. ")
    build(catalog, out)
    assert sorted(p.name for p in folder.parent.iterdir()) == sorted([folder.name, "notes", mixed.name])
    assert [p.name for p in mixed.iterdir()] == ["keep.txt"]
    assert not left.exists() and len(list(folder.iterdir())) == len(compiled)  # one file per template file
    shutil.rmtree(folder.parent)
    folder.parent.write_text("not a folder")  # no cache can be kept: none is
    edit(catalog.templates / "_page.html", "<!-- edited -->", "<!-- edited again -->")
    build(catalog, out)
    _assert_as_a_full_build(catalog, out, tmp_path / "full-again")


def _build_recorded_as_begun_later(project: Project, out: Path) -> None:
    """A build whose start is recorded 10 s late: to the next build, the files it read look settled (not modified
    in the two seconds before it), as files edited minutes apart do, so their stat is trusted without reading."""
    real = time.time_ns
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(time, "time_ns", lambda: real() + 10_000_000_000)
        build(project, out)


def test_a_template_edit_renders_every_trial_also_when_their_files_look_settled(catalog: Project,
                                                                                tmp_path: Path) -> None:
    out = tmp_path / "out"
    _build_recorded_as_begun_later(catalog, out)
    edit(catalog.templates / "faq.html", "{% block content %}", "{% block content %}<p>New intro.</p>")
    report, _ = build(catalog, out)
    assert report.rendered == 4
    _assert_as_a_full_build(catalog, out, tmp_path / "full")


def test_files_touched_but_unchanged_are_read_once_not_on_every_rebuild(
        catalog: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    _build_recorded_as_begun_later(catalog, out)
    for trial in (catalog.content / "trials").iterdir():  # a checkout: new times, same bytes
        os.utime(trial)
    read: list[str] = []
    read_file = plan._read
    monkeypatch.setattr(plan, "_read", lambda path: read.append(path) or read_file(path))
    real = time.time_ns
    monkeypatch.setattr(time, "time_ns", lambda: real() + 10_000_000_000)
    report, _ = build(catalog, out)
    assert report.rendered == 0 and len(read) == 4
    read.clear()
    report, _ = build(catalog, out)
    assert report.rendered == 0 and read == []


@pytest.mark.parametrize("damage", ["garbage", "empty", "cut", "row deleted"])
def test_a_damaged_search_terms_cache_is_no_cache_and_the_build_is_a_full_one(catalog: Project, tmp_path: Path,
                                                                              capsys, damage: str) -> None:
    """Found by a hostile review: a damaged terms file stopped every build that changed a trial until the cache
    was deleted by hand. A file that cannot be read, or lacks trials, is found when the record is read; a trial's
    terms missing only where the search index needs them, when it is made: the build is then made again whole."""
    out = tmp_path / "out"
    build(catalog, out)
    texts = tmp_path / ".out.sitegen-cache" / cache.TERMS
    if damage == "garbage":
        texts.write_bytes(b"not a database" * 100)
    elif damage == "empty":
        texts.write_bytes(b"")
    elif damage == "cut":
        texts.write_bytes(texts.read_bytes()[:len(texts.read_bytes()) // 2])
    else:
        with sqlite3.connect(texts) as db:
            db.execute("UPDATE terms SET latest = latest || '' WHERE slug = 'trial-0'")  # still readable...
            db.execute("DELETE FROM terms WHERE slug = 'trial-1'")
            db.execute("INSERT INTO terms VALUES ('trial-gone', '{}', NULL)")  # ...and as many rows as trials
    trials = catalog.content / "trials"
    if damage == "row deleted":  # a trial added: the index is made whole, from every trial's terms
        (trials / "trial-4.yaml").write_text((trials / "trial-3.yaml").read_text(encoding="utf-8").replace(
            "slug: trial-3", "slug: trial-4"), encoding="utf-8")
    else:  # the file's bytes only: the trial is built again, its terms kept, and the index left as it is
        edit(trials / "trial-2.yaml", "answer: ", "answer:  ")
    args = ["build", "--content", str(catalog.content), "--output", str(out)]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and "sitegen:" not in err, err
    _assert_as_a_full_build(catalog, out, tmp_path / "full")
    edit(trials / "trial-2.yaml", "answer: ", "answer: Once more. ")
    assert build(catalog, out)[0].rendered == 1  # the cache kept anew
    _assert_as_a_full_build(catalog, out, tmp_path / "full-again")


def test_a_moved_project_is_built_again_and_its_warnings_name_its_files_where_they_are(tmp_path: Path) -> None:
    """Found by a hostile review: a rebuild after the project folder was moved reused the record, and repeated its
    warnings with the paths of the files where they had been."""
    make_catalog(tmp_path / "before", 2)
    project = Project.at(tmp_path / "before" / "content")
    _, warnings = build(project, tmp_path / "before" / "out")
    assert warnings and all(w.file.startswith(str(tmp_path / "before")) for w in warnings)
    (tmp_path / "before").rename(tmp_path / "after")
    project = Project.at(tmp_path / "after" / "content")
    report, moved = build(project, tmp_path / "after" / "out")
    assert report.rendered == 2 and len(moved) == len(warnings)
    assert all(w.file.startswith(str(tmp_path / "after")) for w in moved), [w.file for w in moved]
    assert build(project, tmp_path / "after" / "out")[0].rendered == 0


@pytest.mark.parametrize("name", [cache.BASE, cache.JOURNAL, cache.HEAD, cache.TERMS, cache.BASE + ".tmp",
                                  cache.JOURNAL + ".tmp", cache.HEAD + ".tmp", "the cache folder"])
def test_a_folder_where_a_cache_file_goes_or_a_file_for_the_cache_folder_stops_no_build(
        catalog: Project, tmp_path: Path, name: str) -> None:
    """Found by a hostile review: each made every build fail (after writing the site, for the journal)."""
    out = tmp_path / "out"
    build(catalog, out)
    place = cache.folder(out)
    if name == "the cache folder":
        shutil.rmtree(place)
        place.write_text("not a folder")
    else:
        (place / name).unlink(missing_ok=True)
        (place / name / "inside").mkdir(parents=True)
    edit(catalog.content / "trials" / "trial-2.yaml", "answer: ", "answer: Again. ")
    assert main(["build", "--content", str(catalog.content), "--output", str(out)]) == 0
    _assert_as_a_full_build(catalog, out, tmp_path / "full")
    edit(catalog.content / "trials" / "trial-2.yaml", "answer: Again. ", "answer: Once more. ")
    assert build(catalog, out)[0].rendered == 1  # the cache kept anew


@pytest.mark.parametrize("parallel_outputs", [build_module.PARALLEL_OUTPUTS, 1])
def test_parallel_build_is_byte_identical_to_one_process(catalog: Project, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch, parallel_outputs: int) -> None:
    """Trials are built by --jobs processes; so are the catalog's own pages when there are PARALLEL_OUTPUTS of them
    to make (a catalog of four trials has 22, so the second run lowers it): the same site, and the same rebuilds."""
    monkeypatch.setattr(build_module, "PARALLEL_OUTPUTS", parallel_outputs)
    build(catalog, tmp_path / "one", jobs=1)
    report = build(catalog, tmp_path / "two", jobs=2)[0]
    assert _files(tmp_path / "one") == _files(tmp_path / "two")
    assert report.written == tuple(sorted(set(_files(tmp_path / "two")) - {".sitegen-output"}))  # each staged once
    # What the processes send back holds a copy of each trial's entry fingerprint per page listing it; the record
    # keeps one object for equal fingerprints, as one process has (so it pickles each once).
    records = [cache.load(tmp_path / name, cache.code_digest()) for name in ("one", "two")]
    assert records[0] is not None and records[1] is not None and records[0].listings == records[1].listings
    values = [value for made in records[1].listings.values() for value in made.reads.values()]
    assert len({id(value) for value in values}) == len(set(values)) < len(values)
    assert records[0].trials == records[1].trials  # and each trial's record: what all trials read, once
    shared = [item for trial in records[1].trials.values() for item in [*trial.reads, *trial.reads.values()]]
    assert len({id(item) for item in shared}) == len(set(shared)) < len(shared)
    edit(catalog.content / "trials" / "trial-1.yaml", "status: completed", "status: recruiting")  # listings change
    report = build(catalog, tmp_path / "two", jobs=2)[0]
    assert "status/index.html" in report.written and "conditions/index.html" not in report.written
    _assert_as_a_full_build(catalog, tmp_path / "two", tmp_path / "full")


def test_the_search_index_is_made_first_beside_the_listing_pages(catalog: Project, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """With processes making the catalog's own outputs, the search index (the one that takes longest) is started
    first and made by one of them, while the others make the listing pages; not by the build's own process after
    them. The site is the same."""
    monkeypatch.setattr(build_module, "PARALLEL_OUTPUTS", 1)
    log = tmp_path / "made"
    real_index, real_render = build_module._search_index, build_module.render_template

    def index(*args, **kwargs):  # type: ignore[no-untyped-def]
        with log.open("a") as f:
            f.write(f"index {os.getpid()}\n")
        return real_index(*args, **kwargs)

    def render_template(env, name, context):  # type: ignore[no-untyped-def]
        if "page" in context and hasattr(context["page"], "trials"):  # a listing page
            with log.open("a") as f:
                f.write(f"listing {os.getpid()}\n")
        return real_render(env, name, context)

    monkeypatch.setattr(build_module, "_search_index", index)
    monkeypatch.setattr(build_module, "render_template", render_template)
    build(catalog, tmp_path / "two", jobs=2)
    made = [line.split() for line in log.read_text().splitlines()]
    index_pid = int(made[0][1])
    assert made[0][0] == "index" and [what for what, _ in made].count("index") == 1
    assert index_pid != os.getpid()
    assert {int(pid) for what, pid in made if what == "listing"} - {index_pid}  # another process made listings
    build(catalog, tmp_path / "one", jobs=1)
    assert _files(tmp_path / "one") == _files(tmp_path / "two")


def test_an_error_in_one_trial_names_its_file_and_writes_nothing(catalog: Project, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    build(catalog, out)
    before = _files(out)
    edit(catalog.content / "trials" / "trial-1.yaml", "status: completed", "status: finished")
    edit(catalog.content / "trials" / "trial-2.yaml", "slug: trial-2", "slug: trial-two")
    code = main(["build", "--content", str(catalog.content), "--output", str(out), "--jobs", "2"])
    err = capsys.readouterr().err
    assert code == 1
    assert re.search(r"trial-1\.yaml:\d+:\d+: .*status", err), err
    assert re.search(r"trial-2\.yaml:\d+:\d+: slug 'trial-two' must be the file's name", err), err
    assert _files(out) == before
    assert not list(tmp_path.glob(".out.sitegen-new*"))


@pytest.mark.parametrize(("name", "message"), [
    ("Bad Name.yaml", "lowercase letters, digits and single hyphens"),
    ("orphan.bib", "no trial orphan.yaml"),
])
def test_files_in_trials_that_are_not_trials_are_refused(catalog: Project, tmp_path: Path, name: str, message: str) -> None:
    (catalog.content / "trials" / name).write_text("x: 1\n")
    with pytest.raises(ContentError) as e:
        build(catalog, tmp_path / "out")
    assert any(message in p.message for p in e.value.problems)


def test_a_content_folder_with_both_layouts_is_refused(catalog: Project, tmp_path: Path) -> None:
    shutil.copy(ROOT / "content" / "trial.yaml", catalog.content / "trial.yaml")
    with pytest.raises(ContentError, match="both trial.yaml and trials/"):
        build(catalog, tmp_path / "out")


def test_a_build_killed_while_moving_files_in_is_finished_by_the_next(catalog: Project, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    build(catalog, out)
    edit(catalog.content / "trials" / "trial-2.yaml", "answer: ", "answer: Edited. ")
    with monkeypatch.context() as m:
        m.setattr(write, "_finish", lambda *a: None)  # as if killed after the journal, before moving anything in
        build(catalog, out)
    assert (tmp_path / ".out.sitegen-journal").exists()
    edit(catalog.content / "trials" / "trial-2.yaml", "answer: Edited. ", "answer: ")  # and edited back
    build(catalog, out)
    _assert_as_a_full_build(catalog, out, tmp_path / "full")


def test_summary_line_and_a_progress_bar_only_on_a_terminal(catalog: Project, tmp_path: Path, capsys,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["build", "--content", str(catalog.content), "--output", str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    pages = len(list((tmp_path / "out").rglob("*.html")))
    assert re.fullmatch(rf"Built 4 trials into .*out/: {pages} pages \({pages} written, 0 unchanged\) and \d+ other files "
                        r"in \d+\.\d\d s\n", captured.out), captured.out
    assert "\r" not in captured.err  # not a terminal: no bar

    class Terminal:
        text = ""

        def isatty(self) -> bool:
            return True

        def write(self, text: str) -> None:
            self.text += text

        def flush(self) -> None:
            pass

    terminal = Terminal()
    monkeypatch.setenv("CI", "true")
    assert ProgressBar.for_stream(terminal) is None  # type: ignore[arg-type]
    monkeypatch.delenv("CI")
    bar = ProgressBar.for_stream(terminal)  # type: ignore[arg-type]
    assert bar is not None
    bar.show(1, 4)
    bar.show(4, 4)
    bar.clear()
    assert "1/4 trials" in terminal.text and "4/4 trials" in terminal.text and terminal.text.endswith("\033[K")


def test_serve_rebuilds_a_catalog_and_shows_errors_on_its_home_page(catalog: Project, tmp_path: Path) -> None:
    from sitegen.serve import LiveSite

    live = LiveSite(catalog, tmp_path / "served" / "site", "https://example.org/")
    assert live.rebuild().problems == ()
    good = _files(tmp_path / "served" / "site")
    trial = catalog.content / "trials" / "trial-1.yaml"
    edit(trial, "status: completed", "status: finished")
    failed = live.rebuild()
    assert failed.problems and "trial-1.yaml" in failed.problems[0]
    served = _files(tmp_path / "served" / "site")
    assert b'role="alert"' in served["index.html"] and b"trial-1.yaml" in served["index.html"]
    assert {k: v for k, v in served.items() if k != "index.html"} == {k: v for k, v in good.items() if k != "index.html"}
    edit(trial, "status: finished", "status: recruiting")
    fixed = live.rebuild()
    assert fixed.problems == () and "trials/trial-1/index.html" in fixed.rendered
    live.catch_up()  # the search index, after the pages
    build(catalog, tmp_path / "full", base_url="https://example.org/")
    assert _files(tmp_path / "served" / "site") == _files(tmp_path / "full")


def test_check_reports_a_catalog_without_writing_anything(catalog: Project, tmp_path: Path, capsys) -> None:
    args = ["check", "--content", str(catalog.content)]
    assert main(args) == 0
    assert "4 trials, no errors" in capsys.readouterr().out
    edit(catalog.content / "trials" / "trial-3.yaml", "phase: phase-2", "phase: phase-9")
    assert main(args) == 1
    assert re.search(r"trial-3\.yaml:\d+:\d+: phase", capsys.readouterr().err)
    assert not list(catalog.content.parent.glob("*sitegen*")) and not (catalog.content.parent / "output").exists()


def test_check_counts_a_catalog_of_one_trial_as_one_trial(tmp_path: Path, capsys) -> None:
    one = make_catalog(tmp_path / "project", count=1)
    assert main(["check", "--content", str(one.content)]) == 0
    assert "/: 1 trial, no errors" in capsys.readouterr().out


def test_an_edit_changes_the_search_index_where_its_words_did_and_reads_no_other_trials_terms(
        catalog: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    build(catalog, out)
    edit(catalog.content / "trials" / "trial-2.yaml", "answer: ", "answer: Zanzibarish. ")
    read: list[tuple[str, ...]] = []
    load_terms = cache.load_terms
    monkeypatch.setattr(cache, "load_terms", lambda output, slugs, column="latest":
                        read.append((column, *slugs)) or load_terms(output, slugs, column))
    monkeypatch.setattr(build_module, "make_index", lambda *a: pytest.fail("the whole index was made again"))
    report, _ = build(catalog, out)
    assert read == [("indexed", "trial-2"), ("latest",)]  # what the index had of trial-2; nobody else's
    files = search.term_files(4)
    changed = {search.term_file("zanzibarish", files), search.words_file("zanzibarish"), "search/index.json"}
    assert changed <= {name for name in report.written if name.startswith("search/")} <= changed | {
        search.term_file(term, files) for term in ("the", "answer")} | {"search/docs/0.json"}
    assert "zanzibarish" in json.loads((out / search.term_file("zanzibarish", files)).read_text())
    monkeypatch.undo()
    _assert_as_a_full_build(catalog, out, tmp_path / "full")


def test_serve_shows_an_edit_before_the_search_index_catches_up(catalog: Project, tmp_path: Path) -> None:
    """Under serve a rebuild leaves an out-of-date search index as it was (consistent, only behind) and says so;
    catch_up then makes it, and the site is what a full build makes. A `sitegen build` in between makes it too."""
    from sitegen.serve import LiveSite

    site = tmp_path / "served" / "site"
    live = LiveSite(catalog, site, None)
    assert live.rebuild().behind is False  # a first build makes everything
    index = {k: v for k, v in _files(site).items() if k.startswith("search/")}
    edit(catalog.content / "trials" / "trial-2.yaml", "answer: ", "answer: Zanzibarish. ")
    outcome = live.rebuild()
    assert outcome.behind and "trials/trial-2/faq/index.html" in outcome.rendered
    assert b"Zanzibarish" in (site / "trials" / "trial-2" / "faq" / "index.html").read_bytes()
    assert {k: v for k, v in _files(site).items() if k.startswith("search/")} == index  # as it was: whole
    assert live.rebuild().behind  # nothing changed, but the index is still behind: not "nothing to build"
    assert "listings and search index up to date" in live.catch_up().said
    assert {k: v for k, v in _files(site).items() if k.startswith("search/")} != index
    _assert_as_a_full_build(catalog, site, tmp_path / "full")
    edit(catalog.content / "trials" / "trial-2.yaml", "Zanzibarish. ", "Quixotic. ")
    assert live.rebuild().behind
    report, _ = build(catalog, site)  # what a user's build in another terminal does
    assert report.behind == () and any(name.startswith("search/") for name in report.written)
    _assert_as_a_full_build(catalog, site, tmp_path / "full2")


def test_a_catch_up_leaves_a_later_save_to_its_own_rebuild(catalog: Project, tmp_path: Path) -> None:
    """A save that lands before the catch-up reads the content is not built by it (its rebuild would then find
    nothing to do and reload nothing): the catch-up does nothing, and that save's rebuild shows it."""
    from sitegen.serve import LiveSite

    site = tmp_path / "served" / "site"
    live = LiveSite(catalog, site, None)
    live.rebuild()
    edit(catalog.content / "trials" / "trial-2.yaml", "answer: ", "answer: Zanzibarish. ")
    assert live.rebuild().behind
    edit(catalog.content / "trials" / "trial-3.yaml", "answer: ", "answer: Quixotic. ")  # the next save
    caught = live.catch_up()
    message, failed = caught.said, caught.failed
    assert not failed and "left to the rebuild" in message
    assert b"Quixotic" not in (site / "trials" / "trial-3" / "faq" / "index.html").read_bytes()
    outcome = live.rebuild()
    assert outcome.reload and "trials/trial-3/faq/index.html" in outcome.rendered and outcome.behind
    assert "listings and search index up to date" in live.catch_up().said
    _assert_as_a_full_build(catalog, site, tmp_path / "full")


def test_after_a_failed_catch_up_the_next_rebuild_makes_the_search_index_itself(
        catalog: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sitegen.serve import LiveSite

    site = tmp_path / "served" / "site"
    live = LiveSite(catalog, site, None)
    live.rebuild()
    edit(catalog.content / "trials" / "trial-2.yaml", "answer: ", "answer: Zanzibarish. ")
    assert live.rebuild().behind
    real = build_module._search_index
    monkeypatch.setattr(build_module, "_search_index", lambda *a: (_ for _ in ()).throw(
        ContentError([Problem("search.sqlite", 0, 0, "broken")])))
    caught = live.catch_up()
    message, failed = caught.said, caught.failed
    assert failed and "broken" in message
    edit(catalog.content / "trials" / "trial-3.yaml", "answer: ", "answer: Quixotic. ")
    assert "broken" in live.rebuild().problems[0]  # shown on the pages, as before the index could lag
    monkeypatch.setattr(build_module, "_search_index", real)
    assert live.rebuild().behind is False
    _assert_as_a_full_build(catalog, site, tmp_path / "full")


def test_an_edit_that_keeps_size_and_time_right_after_a_build_is_still_seen(catalog: Project, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(catalog, out)
    trial = catalog.content / "trials" / "trial-1.yaml"
    before = trial.stat()
    edit(trial, "status: completed", "status: suspended")  # the same length
    os.utime(trial, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert trial.stat().st_size == before.st_size
    report, _ = build(catalog, out)
    assert report.rendered == 1 and "status/suspended/index.html" in report.written


def test_a_build_shows_the_first_warnings_and_counts_the_rest(tmp_path: Path, capsys) -> None:
    # the default trial has an FAQ answer citing no source (25 warnings), and its spots_left is a warning in each
    # trial make_catalog closes
    project = make_catalog(tmp_path / "many", 25)
    # --today before "spots left by May 2026" (copied into every trial) passes: check would warn about it too
    assert main(["check", "--content", str(project.content), "--today", "2026-01-01"]) == 0
    warnings = len([line for line in capsys.readouterr().err.splitlines() if ": warning: " in line])
    assert warnings > 25
    assert main(["build", "--content", str(project.content), "--output", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len([line for line in err if ": warning: " in line]) == 20
    assert err[-1] == f"... and {warnings - 20} more warnings; 'sitegen check' lists them all"


@pytest.mark.parametrize("damage", ["delete", "overwrite"])
def test_a_search_file_damaged_by_hand_is_written_again_by_the_next_build_that_changes_the_index(
        catalog: Project, tmp_path: Path, damage: str) -> None:
    out = tmp_path / "out"
    build(catalog, out)
    damaged = out / search.words_file("trial")
    damaged.unlink() if damage == "delete" else damaged.write_text("{}", encoding="utf-8")
    edit(catalog.content / "trials" / "trial-2.yaml", "answer: ", "answer: Zanzibarish. ")
    build(catalog, out)
    _assert_as_a_full_build(catalog, out, tmp_path / "full")


def test_files_deleted_by_hand_or_a_lost_cache_file_give_a_full_build_not_a_broken_site(catalog: Project,
                                                                                         tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(catalog, out)
    full = _files(out)
    for child in out.iterdir():  # rm -rf out/*: the hidden marker stays
        if not child.name.startswith("."):
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    report, _ = build(catalog, out)
    assert report.rendered == 4 and _files(out) == full
    for name in ("sitemap.xml", "search/index.json"):  # not a page, but the catalog's own as well
        (out / name).unlink()
        build(catalog, out)
        assert _files(out) == full
    shutil.rmtree(out / "trials" / "trial-2")  # one trial's pages
    build(catalog, out)
    assert _files(out) == full
    (tmp_path / ".out.sitegen-cache" / cache.TERMS).unlink()
    edit(catalog.content / "trials" / "trial-0.yaml", "answer: ", "answer: Again. ")
    build(catalog, out)
    _assert_as_a_full_build(catalog, out, tmp_path / "full")


def test_the_feed_follows_a_changed_identifier_and_one_place_is_listed_once(catalog: Project, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(catalog, out)
    edit(catalog.content / "trials" / "trial-1.yaml", "value: NCT05836571", "value: NCT09999999")
    edit(catalog.content / "trials" / "trial-2.yaml", "- name: Boston", "- name: Sao Paulo")  # São Paulo is there too
    build(catalog, out)
    assert "NCT09999999" in (out / "feed.jsonld").read_text()
    listing = (out / "locations/sao-paulo/index.html").read_text()
    assert listing.count('href="../../trials/trial-2/index.html"') == 1
    _assert_as_a_full_build(catalog, out, tmp_path / "full")


def test_the_catalog_404_page_links_from_the_site_root(catalog: Project, tmp_path: Path) -> None:
    build(catalog, tmp_path / "out", base_url="https://example.org/trials/")
    page = (tmp_path / "out" / "404.html").read_text()
    links = re.findall(r'(?:href|src)="([^"]+)"', page)
    assert links and all(link.startswith(("/trials/", "https://", "#")) for link in links), links


RENDERING_LIBRARIES = ("jinja2", "markdown", "pybtex", "pydantic", "nh3")


def _build_in_a_fresh_process(project: Project, out: Path, modules: tuple[str, ...] = RENDERING_LIBRARIES,
                              ) -> tuple[str, set[str]]:
    """`sitegen build` in a new Python process: its summary line, and which of `modules` it loaded."""
    script = ("import json, sys; from sitegen.cli import main; code = main(sys.argv[1:]); "
              f"print(json.dumps([m for m in {modules!r} if m in sys.modules])); sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", script, "build", "--content", str(project.content),
                             "--output", str(out), "--base-url", "https://example.org/trials/"],
                            capture_output=True, text=True, cwd=ROOT, check=True)
    summary, loaded = result.stdout.splitlines()[-2:]
    return summary, set(json.loads(loaded))


def test_a_rebuild_with_nothing_changed_loads_no_rendering_library(catalog: Project, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(catalog, out, base_url="https://example.org/trials/")
    summary, loaded = _build_in_a_fresh_process(catalog, out)
    assert "pages (0 written, " in summary and loaded == set()
    edit(catalog.content / "trials" / "trial-1.yaml", "answer: ", "answer: Edited. ")
    summary, loaded = _build_in_a_fresh_process(catalog, out)
    assert "pages (0 written, " not in summary and loaded == set(RENDERING_LIBRARIES)


def test_a_rebuild_with_nothing_changed_asks_no_library_its_version(catalog: Project, tmp_path: Path) -> None:
    """importlib.metadata took 40 ms to load and answer, a tenth of such a rebuild of 10,000 trials."""
    out = tmp_path / "out"
    build(catalog, out, base_url="https://example.org/trials/")
    summary, loaded = _build_in_a_fresh_process(catalog, out, ("importlib.metadata",))
    assert "pages (0 written, " in summary and loaded == set()


def test_a_cache_made_with_another_version_of_a_library_is_not_trusted(monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: Path) -> None:
    """A library is known by the metadata folder its installer put beside it ('jinja2-3.1.6.dist-info'), which
    names its version, read without importlib.metadata: the same version installed elsewhere (a fresh virtual
    environment, another machine's) is the same, another version is not."""
    spec = importlib.util.find_spec("jinja2")
    assert spec is not None and spec.origin is not None
    [metadata] = [p.name for p in Path(spec.origin).parent.parent.iterdir()
                  if p.name.lower().startswith("jinja2-") and p.name.endswith(".dist-info")]
    before = cache.code_digest.__wrapped__()
    find = cache.util.find_spec

    def installed(site: Path, folder: str) -> str:
        (site / "jinja2").mkdir(parents=True)
        (site / "jinja2" / "__init__.py").write_text("")
        (site / folder).mkdir()
        origin = str(site / "jinja2" / "__init__.py")
        with monkeypatch.context() as m:
            m.setattr(cache.util, "find_spec", lambda name: ModuleSpec(name, None, origin=origin, is_package=True)
                      if name == "jinja2" else find(name))
            return cache.code_digest.__wrapped__()

    assert installed(tmp_path / "fresh", metadata) == before
    assert installed(tmp_path / "other", "jinja2-0.0.1.dist-info") != before
    assert installed(tmp_path / "bare", "not-metadata") != before  # none to read: the file, as installed


def test_a_rebuild_with_nothing_changed_reads_the_record_s_head_only_and_reports_what_the_record_would(
        catalog: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading the whole record took half of a rebuild with nothing changed at 10,000 trials: its head is enough."""
    out, place = tmp_path / "out", cache.folder(tmp_path / "out")
    edit(catalog.content / "trials" / "trial-1.yaml", "title: Trial number 1", "title: Trial number 1 ")  # a warning
    _build_recorded_as_begun_later(catalog, out)
    real_load = cache.load
    monkeypatch.setattr(cache, "load", lambda *args: pytest.fail("the whole record was read"))
    report, warnings = build(catalog, out)
    assert report.rendered == 0 and report.written == () and warnings
    with pytest.raises(ContentError):  # under --strict, its warnings are errors, as ever
        build(catalog, out, strict=True)
    monkeypatch.setattr(cache, "load", real_load)
    (place / cache.HEAD).unlink()  # the record itself then tells, and its head is kept again...
    with monkeypatch.context() as m:  # ...unless the disk is full, which fails no build that had nothing to do
        m.setattr(cache, "_write", lambda path, value: (_ for _ in ()).throw(OSError(28, "No space left on device")))
        assert build(catalog, out)[0].rendered == 0 and not (place / cache.HEAD).exists()
    from_record, warned = build(catalog, out)
    assert (sorted(from_record.files), from_record.trials, warned) == (sorted(report.files), report.trials, warnings)
    assert from_record.written == () and (place / cache.HEAD).is_file()


def test_a_rebuild_looks_at_the_trials_folder_and_each_trial_s_files_once(
        catalog: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The look that tells nothing changed is the one the build then starts from, when something did."""
    out = tmp_path / "out"
    _build_recorded_as_begun_later(catalog, out)
    listed, stats = [], []
    find_trials, stat = plan.find_trials, plan.trial_stat
    monkeypatch.setattr(plan, "find_trials", lambda content: listed.append(content) or find_trials(content))
    monkeypatch.setattr(plan, "trial_stat", lambda source: stats.append(source.slug) or stat(source))
    edit(catalog.content / "trials" / "trial-1.yaml", "answer: ", "answer: Edited. ")
    assert build(catalog, out)[0].rendered == 1
    assert len(listed) == 1 and sorted(stats) == ["trial-0", "trial-1", "trial-2", "trial-3"]


def test_the_record_s_head_is_trusted_only_for_the_site_it_describes(
        catalog: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A head left from an earlier build (a build killed before it kept its record), a trial file touched or
    edited, or a page deleted by hand: the whole record is read (or, without one, everything is built)."""
    out, place, trials = tmp_path / "out", cache.folder(tmp_path / "out"), catalog.content / "trials"
    _build_recorded_as_begun_later(catalog, out)

    def unchanged() -> bool:
        with write.output_lock(out):
            return plan.nothing_changed(catalog, out, None, False, plan.look_at(catalog.content)) is not None

    assert unchanged()
    before = (place / cache.HEAD).read_bytes()
    edit(trials / "trial-0.yaml", "title: Trial number 0", "title: Edited trial number 0")
    assert not unchanged()
    _build_recorded_as_begun_later(catalog, out)
    assert unchanged()
    (place / cache.HEAD).write_bytes(before)  # of the build before: its token is not the site's
    assert not unchanged()
    _build_recorded_as_begun_later(catalog, out)  # nothing to build: the record is read, and its head kept again
    assert unchanged()
    os.utime(trials / "trial-2.yaml")  # same bytes, new times: the record tells (and is kept with the new stat)
    assert not unchanged()
    (out / "trials" / "trial-3" / "index.html").unlink()
    (out / "conditions" / "index.html").unlink()
    assert not unchanged()
    report, _ = build(catalog, out)
    assert "conditions/index.html" in report.written
    _assert_as_a_full_build(catalog, out, tmp_path / "full")
    _build_recorded_as_begun_later(catalog, out)
    assert unchanged()
    (place / cache.BASE).unlink()  # the record deleted, to build everything again: so it is
    assert not unchanged() and build(catalog, out)[0].rendered == 4


def test_a_trial_added_by_a_small_build_leaves_the_next_with_nothing_to_do(
        catalog: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A build of a few trials keeps them in a journal beside the whole record, and reading the two put a new trial
    last, whatever its slug; the trials found are in slug order, so the record told, wrongly, that they differed."""
    out, trials = tmp_path / "out", catalog.content / "trials"
    _build_recorded_as_begun_later(catalog, out)
    (trials / "a-first.yaml").write_text((trials / "trial-0.yaml").read_text().replace("slug: trial-0", "slug: a-first"))
    _build_recorded_as_begun_later(catalog, out)
    assert (cache.folder(out) / cache.JOURNAL).is_file()
    (cache.folder(out) / cache.HEAD).unlink()  # the whole record then tells
    monkeypatch.setattr(build_module, "build_catalog", lambda *args: pytest.fail("something was built"))
    report, _ = build(catalog, out)
    assert report.trials == 5 and report.rendered == 0


def test_a_head_that_cannot_be_written_fails_no_build(
        catalog: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by a review: a full disk when the head was written, after the record, failed the build and said the
    next one would build everything; the record is kept, and the next build reads it."""
    out, place = tmp_path / "out", cache.folder(tmp_path / "out")
    _build_recorded_as_begun_later(catalog, out)
    write = cache._write

    def no_space_for_the_head(path: Path, value: object) -> None:
        if path.name.startswith(cache.HEAD):
            raise OSError(28, "No space left on device", str(path))
        write(path, value)

    monkeypatch.setattr(cache, "_write", no_space_for_the_head)
    edit(catalog.content / "trials" / "trial-1.yaml", "answer: ", "answer: Edited. ")
    assert build(catalog, out)[0].rendered == 1 and not (place / cache.HEAD).exists()
    monkeypatch.setattr(cache, "_write", write)
    assert build(catalog, out)[0].rendered == 0 and (place / cache.HEAD).is_file()
    _assert_as_a_full_build(catalog, out, tmp_path / "full")


def test_what_trials_holds_besides_trial_files_is_named_in_a_warning_folders_too(catalog: Project, tmp_path: Path) -> None:
    """Found by a hostile review: a folder named like a trial's file (trials/draft.yaml/) was skipped silently."""
    trials = catalog.content / "trials"
    (trials / "notes.txt").write_text("to do")
    (trials / "draft.yaml").mkdir()
    (trials / "old").mkdir()
    report, warnings = build(catalog, tmp_path / "out")
    assert report.trials == 4
    ignored = [(Path(w.file).name, w.message.partition(";")[0]) for w in warnings if w.message.startswith("ignored")]
    assert ignored == [("draft.yaml", "ignored: a folder"), ("notes.txt", "ignored: content/trials/ holds <slug>.yaml, "
                                                                          "<slug>.bib and <slug>.ctgov.json files only"),
                       ("old", "ignored: a folder")]


def test_titles_are_sorted_as_a_reader_expects() -> None:
    def entry(title: str) -> TrialEntry:
        return TrialEntry(title.lower().replace(" ", "-"), title, "", "", "", "", "", "", (), "", "2026-01-01", ())

    titles = ["Trial 19", "trial 2", "Cell dose of 2x10⁶", "Trial 10b", "Trial 10a", "Alpha"]
    assert [t.title for t in sorted(map(entry, titles), key=sort_key)] == [
        "Alpha", "Cell dose of 2x10⁶", "trial 2", "Trial 10a", "Trial 10b", "Trial 19"]


def test_listing_pages_are_not_even_worked_out_when_no_trial_entry_changed(
        catalog: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    build(catalog, out)
    calls: list[int] = []
    catalog_pages = build_module.catalog_pages
    monkeypatch.setattr(build_module, "catalog_pages",
                        lambda entries, title: calls.append(1) or catalog_pages(entries, title))
    edit(catalog.content / "trials" / "trial-1.yaml", "answer: ", "answer: Reworded. ")  # not shown in any listing
    report, _ = build(catalog, out)
    assert report.rendered == 1 and calls == [] and all(name.startswith(("trials/trial-1/", "search/"))
                                                        for name in report.written)
    edit(catalog.content / "trials" / "trial-1.yaml", "condition: Breast cancer", "condition: Bone cancer")
    report, _ = build(catalog, out)
    assert calls == [1] and "conditions/bone-cancer/index.html" in report.written
    _assert_as_a_full_build(catalog, out, tmp_path / "full")


def test_a_trial_edited_while_it_is_built_and_then_edited_back_is_built_again(
        catalog: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out, trial = tmp_path / "out", catalog.content / "trials" / "trial-2.yaml"
    before = trial.read_bytes()
    load_trial = build_module.load_trial

    def edited_after_the_scan(path: Path) -> object:  # an editor's save between the scan's read and the worker's
        if path == trial:
            edit(trial, "answer: ", "answer: Saved for a moment. ")
        return load_trial(path)

    with monkeypatch.context() as patch:
        patch.setattr(build_module, "load_trial", edited_after_the_scan)
        build(catalog, out)
    assert "Saved for a moment." in (out / "trials/trial-2/faq/index.html").read_text()
    trial.write_bytes(before)  # the save undone: the file holds what the scan read
    build(catalog, out)
    assert "Saved for a moment." not in (out / "trials/trial-2/faq/index.html").read_text()
    _assert_as_a_full_build(catalog, out, tmp_path / "full")


def test_dangling_links_among_the_trials_are_each_a_problem_of_its_file(catalog: Project, tmp_path: Path,
                                                                         capsys) -> None:
    """Found by a hostile review: a trial file that is a link to nothing stopped a catalog's build as 'sitegen:
    content/trials/x.yaml: No such file or directory', the first one alone, where a single trial's says what
    the link is."""
    trials = catalog.content / "trials"
    (trials / "gone.yaml").symlink_to("nothing.yaml")
    (trials / "lost.yaml").symlink_to("../nowhere.yaml")
    assert main(["build", "--content", str(catalog.content), "--output", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err == (
        f"{trials}/gone.yaml: cannot read: a symbolic link to {trials.resolve()}/nothing.yaml, which does not exist\n"
        f"{trials}/lost.yaml: cannot read: a symbolic link to {catalog.content.resolve()}/nowhere.yaml, which does not "
        "exist\nsitegen: 2 problems found; nothing was written\n")
    assert not (tmp_path / "out").exists()


def _build_with_a_title_saved_after_the_scan(catalog: Project, out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Build `catalog` into `out`, site.yaml's title saved as 'Passing ...' between the plan's digest of the shared
    files and their loading."""
    settings, load_shared = catalog.content / "site.yaml", build_module.load_shared

    def edited_after_the_scan(project: Project, base_url: str | None) -> object:
        edit(settings, "title: ", "title: Passing ")
        return load_shared(project, base_url)

    with monkeypatch.context() as patch:
        patch.setattr(build_module, "load_shared", edited_after_the_scan)
        build(catalog, out)


def test_a_shared_file_edited_while_the_trials_are_built_and_then_edited_back_is_built_again(
        catalog: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by a hostile review, as for a trial's file: site.yaml saved between the plan's digest of the shared
    files and their loading, then the save undone, left every page with the passing title for good."""
    out, settings = tmp_path / "out", catalog.content / "site.yaml"
    build(catalog, out)
    edit(settings, "title: ", "title: Renamed ")  # something to build again
    before = settings.read_bytes()
    _build_with_a_title_saved_after_the_scan(catalog, out, monkeypatch)
    assert "Passing Renamed" in (out / "index.html").read_text()
    settings.write_bytes(before)  # the save undone: the file holds what the plan digested
    build(catalog, out)
    assert "Passing" not in (out / "index.html").read_text()
    _assert_as_a_full_build(catalog, out, tmp_path / "full")


def test_a_shared_file_saved_while_only_a_trial_is_built_is_built_again(
        catalog: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by a review of the fix above: when the plan saw no shared file change (one trial edited), the build
    reused the last build's fingerprint of the shared files, but loaded them afresh; site.yaml saved in between was
    rendered into the trial's pages, which then noted the old fingerprint, and stayed so after the save was undone."""
    out, settings = tmp_path / "out", catalog.content / "site.yaml"
    build(catalog, out)
    before = settings.read_bytes()
    edit(catalog.content / "trials" / "trial-1.yaml", "answer: ", "answer: Edited. ")  # a trial only
    _build_with_a_title_saved_after_the_scan(catalog, out, monkeypatch)
    assert "Passing" in (out / "trials" / "trial-1" / "index.html").read_text()
    settings.write_bytes(before)  # the save undone
    build(catalog, out)
    assert [p for p in out.rglob("*.html") if "Passing" in p.read_text()] == []
    _assert_as_a_full_build(catalog, out, tmp_path / "full")
