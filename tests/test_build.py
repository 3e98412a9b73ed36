"""The built default site: pages, links, citations, JSON-LD, determinism and safety of the output."""

from __future__ import annotations

import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urlparse

import jinja2
import pytest

from schemaorg import Vocabulary, validate
from sitegen import render
from sitegen.build import build
from sitegen.cli import main
from sitegen.pages import STATUS_LABELS
from sitegen.project import Project
from sitetext import html_pages, read_page

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["index.html", "faq/index.html", "eligibility/index.html", "timeline/index.html", "arms/index.html",
         "approvals/index.html", "findings/index.html", "glossary/index.html"]


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_seven_pages_each_with_one_h1_skip_link_and_current_nav(site: Path) -> None:
    pages = html_pages(site)
    assert sorted(pages) == sorted(PAGES + ["404.html"])
    for name, page in pages.items():
        assert page.h1_count == 1, name
        html = (site / name).read_text()
        assert html.index('class="skip-link" href="#main"') < html.index("<header")
        # the nav entry and the breadcrumb's last item; the 404 page is in no nav entry
        assert html.count('aria-current="page"') == (1 if name == "404.html" else 2), name
        assert '<main id="main"' in html and "<footer" in html and 'aria-label="Breadcrumb"' in html


def test_every_internal_link_and_anchor_resolves(site: Path) -> None:
    pages = html_pages(site)
    checked = 0
    for name, page in pages.items():
        here = (site / name).parent
        for href in page.links:
            if urlparse(href).scheme in ("http", "https", "mailto"):
                continue
            path, fragment = urldefrag(href)
            base = site if path.startswith("/") else here  # the 404 page links from the site root (base path /)
            target = (base / path.lstrip("/")).resolve() if path else (site / name).resolve()
            assert target.is_file(), f"{name}: link {href} points to a missing file"
            assert site.resolve() in target.parents
            if fragment:
                ids = pages[target.relative_to(site.resolve()).as_posix()].ids
                assert fragment in ids, f"{name}: link {href} points to a missing #{fragment}"
            checked += 1
    assert checked > 100


def test_citations_resolve_to_entries_and_back(site: Path) -> None:
    pages = html_pages(site)
    findings = pages["findings/index.html"]
    references = [i for i in findings.ids if i.startswith("ref-")]
    assert references == [f"ref-{n}" for n in range(1, 8)]
    cited = set()
    for name, page in pages.items():
        for href in page.links:
            if "#ref-" in href:
                cited.add(href.split("#")[1])
    # [1–5] links to its first entry; every other cited entry is linked directly
    assert {"ref-1", "ref-3", "ref-4", "ref-6", "ref-7"} <= cited
    backlinks = [h for h in findings.links if "#cite-" in h]
    assert len(backlinks) >= 7
    for href in backlinks:
        page, anchor = href.replace("../", "").split("#")
        assert anchor in pages[page].ids


def test_numbers_follow_first_citation_in_navigation_order(site: Path) -> None:
    faq = read_page(site / "faq/index.html").text
    assert "soft tissue sarcoma.[references 1–5]" in faq
    assert "anemia.[reference 1, reference 3, reference 4, reference 6, reference 7]" in faq


def test_jsonld_parses_holds_the_named_types_and_is_valid_schema_org(site: Path) -> None:
    vocab = Vocabulary.load()
    types = {}
    for name, page in html_pages(site).items():
        assert len(page.jsonld) == 1, name
        data = page.jsonld[0]
        assert validate(data, vocab) == [], name
        assert data["breadcrumb"]["@type"] == "BreadcrumbList"
        types[name] = data["@type"]
    assert types["faq/index.html"] == "FAQPage"
    assert types["eligibility/index.html"] == "MedicalWebPage"
    summary = html_pages(site)["index.html"].jsonld[0]["mainEntity"]
    assert summary["@type"] == "MedicalTrial"
    assert summary["status"] == "https://schema.org/Recruiting"
    assert {d["name"] for d in summary["studySubject"]} == {"Cabozantinib", "Ipilimumab", "Nivolumab"}
    assert summary["identifier"][0]["value"] == "NCT05836571"
    citations = html_pages(site)["findings/index.html"].jsonld[0]["citation"]
    assert len(citations) == 7 and all(c["@type"] == "ScholarlyArticle" for c in citations)
    feed = json.loads((site / "feed.jsonld").read_text())
    assert feed["@type"] == "DataFeed" and validate(feed, vocab) == []
    assert feed["dataFeedElement"][0]["item"]["@id"] == summary["@id"]


def test_two_builds_are_byte_identical(project, tmp_path: Path) -> None:
    build(project, tmp_path / "a")
    build(project, tmp_path / "b")
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


def test_unchanged_files_keep_their_mtime_and_removed_pages_disappear(project, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(project, out)
    stale = out / "old-page" / "index.html"
    stale.parent.mkdir()
    stale.write_text("gone soon")
    os.utime(out / "faq/index.html", (1_000_000, 1_000_000))
    trial = project.content / "trial.yaml"
    trial.write_text(trial.read_text().replace("Palo Alto", "Palo Alto, California"))
    report, _ = build(project, out)
    assert not stale.exists()
    assert (out / "faq/index.html").stat().st_mtime == 1_000_000
    assert "Palo Alto, California" in (out / "index.html").read_text()
    assert 0 < len(report.written) < len(report.files)


def test_content_cannot_inject_script(project, tmp_path: Path) -> None:
    trial = project.content / "trial.yaml"
    evil = '<script>alert(1)</script> <img src=x onerror=alert(2)> [x](javascript:alert(3)) </script><script>alert(4)//'
    text = trial.read_text().replace("title: Immunotherapy + Chemotherapy for Soft Tissue Sarcoma",
                                     f"title: '{evil}'")
    text = text.replace("  summary: >-\n    Adults", f"  summary: >-\n    {evil} Adults")
    trial.write_text(text)
    build(project, tmp_path / "out")
    for name in PAGES:
        tags = _tags((tmp_path / "out" / name).read_text())
        scripts = [a for t, a in tags if t == "script"]
        assert scripts == [{"type": "application/ld+json"}], name
        assert not [t for t, _ in tags if t in ("img", "iframe", "object", "embed")], name
        for tag, attrs in tags:
            assert not [k for k in attrs if k.startswith("on")], (name, tag, attrs)
            for value in attrs.values():
                assert not (value or "").strip().lower().startswith("javascript:"), (name, tag, attrs)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in (tmp_path / "out" / "index.html").read_text()


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    found: list[tuple[str, dict[str, str | None]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, dict(attrs)))

    Collect().feed(html)
    return found


def test_unknown_citation_fails_the_build_naming_the_key(project, tmp_path: Path, capsys) -> None:
    trial = project.content / "trial.yaml"
    trial.write_text(trial.read_text().replace("such as low white blood cell count and anemia.[@chen2021;",
                                               "such as low white blood cell count and anemia.[@nobody1999; @chen2021;"))
    code = main(["build", "--content", str(project.content), "--output", str(tmp_path / "out")])
    assert code == 1
    assert "cites '@nobody1999', which is not in references.bib" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_citing_a_set_entry_names_its_members_at_each_citation(project, tmp_path: Path, capsys) -> None:
    """A biblatex @set groups entries under one key; it is no work a page can show. It was reported as 'not in
    references.bib', which it is; each wrong key is now reported where its citation stands, not where its field starts."""
    bib = project.content / "references.bib"
    bib.write_text(bib.read_text() + "\n@set{sarcoma-set,\n  entryset = {chen2021, monga2020},\n}\n")
    set_line = bib.read_text().count("\n") - 2
    trial = project.content / "trial.yaml"
    bad = (trial.read_text()
           .replace("with advanced soft tissue sarcoma, with", "with advanced soft tissue sarcoma [@sarcoma-set], with", 1)
           .replace("experienced more severe", "experienced <!-- [@sarcoma-set] --> more [@nobody1999] severe", 1)
           .replace("anemia.[@chen2021;", "anemia.[@chen2021; @sarcoma-set;", 1))
    trial.write_text(bad)
    lines = bad.splitlines()

    def place(written: str, key: str) -> str:
        line = next(i for i, text in enumerate(lines, 1) if written in text)
        return f"{trial}:{line}:{lines[line - 1].index(written) + written.index(key) + 1}: faq[2].answer: cites '{key}'"

    members = f"which is a @set entry in references.bib (line {set_line}), not a work; cite its members instead: [@chen2021; @monga2020]"
    for command in (["build", "--content", str(project.content), "--output", str(tmp_path / "out")],
                    ["check", "--content", str(project.content)]):
        assert main(command) == 1
        err = capsys.readouterr().err
        assert f"{place('sarcoma [@sarcoma-set]', '@sarcoma-set')}, {members}\n" in err
        assert f"{place('more [@nobody1999]', '@nobody1999')}, which is not in references.bib" in err
        assert f"{place('anemia.[@chen2021; @sarcoma-set', '@sarcoma-set')}, {members}\n" in err
        assert err.count("faq[2].answer: cites") == 3 and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_base_url_flag_sets_absolute_urls_only(project, tmp_path: Path) -> None:
    build(project, tmp_path / "out", base_url="https://example.org/trials/sarcoma")
    html = (tmp_path / "out" / "faq/index.html").read_text()
    assert '<link rel="canonical" href="https://example.org/trials/sarcoma/faq/">' in html
    assert 'href="../arms/index.html"' in html


@pytest.mark.parametrize("bad", ["/", "~", "content", "templates", ".", "content/site", "templates/x"])
def test_refuses_dangerous_output_folders(project, bad: str, capsys, monkeypatch) -> None:
    monkeypatch.chdir(project.content.parent)
    target = str(Path.home()) if bad == "~" else bad
    assert main(["build", "--content", str(project.content), "--output", target]) == 1
    assert "refusing" in capsys.readouterr().err


def test_refuses_a_non_empty_folder_it_did_not_make(project, tmp_path: Path, capsys) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    assert main(["build", "--content", str(project.content), "--output", str(mine)]) == 1
    assert (mine / "thesis.tex").read_text() == "precious"


def test_publishing_files_sitemap_robots_and_404(site: Path) -> None:
    sitemap = (site / "sitemap.xml").read_text()
    locs = re.findall(r"<loc>(.*?)</loc>", sitemap)
    assert locs == ["https://example.org/" + p.removesuffix("index.html") for p in PAGES]
    assert sitemap.count("<lastmod>2026-11-24</lastmod>") == len(PAGES)
    assert "Sitemap: https://example.org/sitemap.xml" in (site / "robots.txt").read_text()
    not_found = (site / "404.html").read_text()
    assert 'href="/index.html"' in not_found and "canonical" not in not_found


def test_symlinked_output_folder_is_built_through(project, tmp_path: Path) -> None:
    real = tmp_path / "real"
    build(project, real)
    link = tmp_path / "link"
    link.symlink_to(real)
    build(project, link)
    assert link.is_symlink() and (real / "index.html").is_file()
    assert not [p for p in tmp_path.iterdir() if "sitegen-" in p.name]


def test_descriptions_are_plain_text_and_the_404_page_describes_itself(site: Path) -> None:
    summary = html_pages(site)["index.html"].jsonld[0]
    assert summary["description"].startswith("The trial is testing if adding Cabozantinib")
    assert "[@" not in summary["description"] and "*" not in summary["description"]
    missing = html_pages(site)["404.html"].jsonld[0]
    assert missing["@id"] == "https://example.org/404.html"


def test_citations_hidden_in_comments_or_scripts_are_not_numbered(project, tmp_path: Path) -> None:
    trial = project.content / "trial.yaml"
    trial.write_text(trial.read_text().replace(
        "before starting the trial.\n  - question", "before starting the trial. <!-- [@tian2022] --> <script>[@olaratumab2019]</script>\n  - question", 1))
    build(project, tmp_path / "out")
    faq = (tmp_path / "out" / "faq" / "index.html").read_text()
    assert "sitegencitation" not in faq and "tian2022" not in faq
    assert 'id="cite-1"' in faq and "references </span>1–5" in faq  # numbering unchanged


@pytest.fixture
def compiled(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of each template Jinja2 compiles from its source (rather than loading it compiled), in order."""
    names: list[str] = []
    real = jinja2.Environment.compile

    def compile(self, source, name=None, filename=None, raw=False, defer_init=False):  # type: ignore[no-untyped-def]
        names.append(name)
        return real(self, source, name, filename, raw, defer_init)

    monkeypatch.setattr(jinja2.Environment, "compile", compile)
    return names


def test_a_build_loads_the_templates_an_earlier_build_compiled(compiled: list[str], tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Compiled templates are kept per user ($XDG_CACHE_HOME/sitegen/templates, else ~/.cache/...): a later build,
    into another folder, compiles none of them again, and builds the same site. A folder that is not the user's
    alone is not used, and a relative XDG_CACHE_HOME is ignored, as the XDG spec says."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    default = Project.at(ROOT / "content")
    build(default, tmp_path / "one")
    assert len(compiled) >= 10 and len(list((tmp_path / "cache" / "sitegen" / "templates").glob("*/*.cache"))) >= 10
    compiled.clear()
    build(default, tmp_path / "two")
    assert compiled == []
    assert _files(tmp_path / "one") == _files(tmp_path / "two")
    (tmp_path / "cache" / "sitegen").chmod(0o755)  # others may read it: not used, and not written
    before = _files(tmp_path / "cache")
    build(default, tmp_path / "three")
    assert len(compiled) >= 10 and _files(tmp_path / "cache") == before
    assert _files(tmp_path / "one") == _files(tmp_path / "three")
    (tmp_path / "cache" / "sitegen").chmod(0o700)
    old = tmp_path / "cache" / "sitegen" / "templates" / ("abcdef01" * 4)  # another version's folder
    (old / "notes").mkdir(parents=True)  # holding what sitegen did not put there: it cannot be removed, nor is
    assert render.compiled_templates() is not None and (old / "notes").is_dir()  # and the cache still works
    (old / "notes").rmdir()
    assert render.compiled_templates() is not None and not old.exists()
    monkeypatch.setenv("XDG_CACHE_HOME", "relative")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert render.compiled_templates() is None  # a home folder that does not exist is not made
    (tmp_path / "home").mkdir()
    cache = render.compiled_templates()
    assert cache is not None and cache.folder.parent == tmp_path / "home" / ".cache" / "sitegen" / "templates"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", "home")
    assert render.compiled_templates() is None  # not a folder relative to wherever the build runs


def test_a_build_makes_nothing_in_another_user_s_cache_or_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root building with a user's HOME (sudo without -H) must not leave root's folders in that user's cache,
    which would turn the user's own cache off: the folders here are this process's, so a build running as
    another user is played by another getuid()."""
    (tmp_path / "cache").mkdir()
    (tmp_path / "home").mkdir()
    monkeypatch.setattr(render.os, "getuid", lambda: os.getuid() + 1)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert render.compiled_templates() is None and list((tmp_path / "cache").iterdir()) == []
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert render.compiled_templates() is None and list((tmp_path / "home").iterdir()) == []
    build(Project.at(ROOT / "content"), tmp_path / "out")  # and the build goes on, compiling its templates
    assert (tmp_path / "out" / "index.html").is_file() and list((tmp_path / "home").iterdir()) == []
    monkeypatch.undo()
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert render.compiled_templates() is not None  # the user's own build makes it
    assert (tmp_path / "home" / ".cache" / "sitegen" / "templates").is_dir()


def test_compiled_templates_are_never_read_or_removed_through_a_symbolic_link(compiled: list[str], tmp_path: Path,
                                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The folder holds code: whoever can swap a folder or file in it for a link to theirs must not get their code
    run, nor what the link points to removed. Every part is opened without following links, and used through what
    was opened."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    default = Project.at(ROOT / "content")
    build(default, tmp_path / "one")
    templates = tmp_path / "cache" / "sitegen" / "templates"
    (version,) = templates.iterdir()
    theirs = tmp_path / "theirs"
    shutil.copytree(version, theirs)  # compiled templates Jinja2 would take, and other files
    (theirs / "notes.txt").write_text("keep me")
    kept = _files(theirs)
    shutil.rmtree(version)
    version.symlink_to(theirs)  # the version's folder a link
    compiled.clear()
    build(default, tmp_path / "two")
    assert len(compiled) >= 10 and _files(theirs) == kept and version.is_symlink()
    shutil.rmtree(templates)
    templates.symlink_to(theirs)  # the folder of versions a link: not emptied as holding other versions
    compiled.clear()
    build(default, tmp_path / "three")
    assert len(compiled) >= 10 and _files(theirs) == kept
    templates.unlink()
    build(default, tmp_path / "four")
    (version,) = templates.iterdir()
    for path in version.iterdir():  # each compiled template a link to a file of the same bytes
        (theirs / path.name).write_bytes(path.read_bytes())
        path.unlink()
        path.symlink_to(theirs / path.name)
    kept = _files(theirs)
    compiled.clear()
    build(default, tmp_path / "five")
    assert len(compiled) >= 10 and _files(theirs) == kept
    assert all(not path.is_symlink() for path in version.iterdir())  # removed, and compiled again in their place
    writable = sorted(version.iterdir())[0]
    writable.chmod(0o666)  # a compiled template others may write: not loaded, whoever wrote it
    compiled.clear()
    build(default, tmp_path / "six")
    assert len(compiled) == 1
    assert _files(tmp_path / "one") == _files(tmp_path / "two") == _files(tmp_path / "five")


@pytest.mark.parametrize("status", ["completed", "active-not-recruiting", "suspended", "terminated", "withdrawn"])
def test_no_page_of_a_closed_trial_invites_a_reader_to_join(project, tmp_path: Path, status: str,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    trial = project.content / "trial.yaml"
    trial.write_text(trial.read_text().replace("status: recruiting", f"status: {status}"))
    assert main(["build", "--content", str(project.content), "--output", str(tmp_path / "out")]) == 0
    assert (f"trial.yaml:20:3: warning: spots_left: the trial's status is '{STATUS_LABELS[status]}': its pages do "
            "not show places left") in capsys.readouterr().err
    notice = f"<strong>Not recruiting.</strong> This study's status is {STATUS_LABELS[status]}: it does not take new participants."
    for name in PAGES:
        page = re.sub(r'<a class="glossary-term"[^>]*>([^<]*)</a>', r"\1", (tmp_path / "out" / name).read_text())  # marks
        assert notice in page, name
        assert "Who can join" not in page and "may join" not in page, name
        assert "spots left" not in page and "Recruiting in" not in page, name
    eligibility = (tmp_path / "out" / "eligibility" / "index.html").read_text()
    assert "<h1>Who could join</h1>" in eligibility and '"audienceType":"People who could join the trial"' in eligibility
    assert "status-notice" not in (tmp_path / "out" / "404.html").read_text()  # a missing page is about no trial


def test_a_recruiting_trial_invites_and_shows_its_places_left(site: Path) -> None:
    for name in PAGES:
        assert "status-notice" not in (site / name).read_text(), name
    assert "<h1>Who can join</h1>" in (site / "eligibility" / "index.html").read_text()
    summary = (site / "index.html").read_text()
    assert "About 29 spots left by May 2026" in summary and "<li>Recruiting in Palo Alto" in summary


def test_places_left_projected_to_a_month_before_the_content_was_checked_are_said_to_be_old(
        project, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The default trial: 'About 29 spots left by May 2026', its content last checked on 24 November 2026."""
    old = "About 29 spots left by May 2026 (projected; that month had passed when this page was last checked)"
    assert main(["build", "--content", str(project.content), "--output", str(tmp_path / "out")]) == 0
    assert old in (tmp_path / "out" / "index.html").read_text()
    assert "trial.yaml:22:7: warning: spots_left.by: May 2026 had passed when this content was last checked" in \
        capsys.readouterr().err
    trial = project.content / "trial.yaml"
    trial.write_text(trial.read_text().replace("updated: 2026-11-24", "updated: 2026-05-31"))  # checked within May
    assert main(["build", "--content", str(project.content), "--output", str(tmp_path / "out")]) == 0
    summary = (tmp_path / "out" / "index.html").read_text()
    assert "About 29 spots left by May 2026</dd>" in summary and "spots_left" not in capsys.readouterr().err
