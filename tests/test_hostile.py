"""Hostile content (issue 15): what an attacker or an accident can put in the content is refused with its position or
shown as text, never run, never merged with other content, never printed raw to a terminal, and never allowed to
eat the machine."""

from __future__ import annotations

import functools
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from sitetext import html_pages
from test_catalog import make_catalog

from sitegen import load
from sitegen.build import build
from sitegen.cli import main
from sitegen.errors import ContentError
from sitegen.project import Project
from sitegen.slugs import slugify


def _answer(project: Project, prose: str) -> None:
    """Put a first FAQ entry answered by `prose` (one line of YAML) in the default trial."""
    trial = project.content / "trial.yaml"
    text = trial.read_text(encoding="utf-8")
    trial.write_text(text.replace("\nfaq:\n", f"\nfaq:\n  - question: What if?\n    answer: {prose}\n", 1), encoding="utf-8")


def test_control_characters_quoted_from_content_are_escaped_in_errors(project: Project, capsys) -> None:
    trial = project.content / "trial.yaml"
    hostile = "\\e]0;owned\\a\\e[2J\\u202e"  # YAML's escapes for ESC, BEL and a right-to-left override
    trial.write_text(trial.read_text(encoding="utf-8").replace("\nstatus:", f'\n"{hostile}": 1\nstatus:', 1),
                     encoding="utf-8")
    assert main(["check", "--content", str(project.content)]) == 1
    err = capsys.readouterr().err
    assert "trial.yaml:17:1: holds the invisible character U+001B" in err  # refused, by its code, not shown
    assert "\x1b" not in err and "\x07" not in err and "\u202e" not in err


def test_a_file_name_with_a_line_break_is_one_line_of_the_message(tmp_path: Path, capsys) -> None:
    """Found by a hostile review: a trial file named 'x\\n.yaml' was printed as it is, so its one problem took two
    lines, and the second, '.yaml: a trial's file name is its slug ...', read as a problem of its own."""
    project = _catalog(tmp_path)
    shutil.copy(project.content / "trials" / "trial-1.yaml", project.content / "trials" / "bad\x1b[2J\n.yaml")
    err = _refused(project, tmp_path, capsys)
    assert err.splitlines()[0] == f"{project.content / 'trials'}/bad\\x1b[2J\\x0a.yaml: a trial's file name is its " \
                                  "slug, used in its URLs: expected lowercase letters, digits and single hyphens, " \
                                  "e.g. nct05836571.yaml", err
    assert len(err.splitlines()) == 2  # and the count


def test_placeholder_text_in_prose_cannot_move_a_citation_into_an_attribute(project: Project, tmp_path: Path) -> None:
    _answer(project, '"See [the registry](https://example.org/ \\"sitegencitation0x sitegencitation1x [@chen2021]\\") '
                     'and this [@chen2021]."')
    build(project, tmp_path / "out")
    faq = (tmp_path / "out" / "faq" / "index.html").read_text(encoding="utf-8")
    title = faq.split('<a href="https://example.org/" title="', 1)[1].split('"', 1)[0]
    assert "<" not in title and "cite" not in title
    assert title.startswith("sitegencitation0x sitegencitation1x [")
    assert 'and this <sup class="cite"' in faq


def test_a_script_tag_in_a_code_span_is_shown_as_text(project: Project, tmp_path: Path) -> None:
    _answer(project, '"Type `<script>x</script>` and `<!-- y -->`; <script>alert(1)</script>gone."')
    build(project, tmp_path / "out")
    faq = (tmp_path / "out" / "faq" / "index.html").read_text(encoding="utf-8")
    assert "Type <code>&lt;script&gt;x&lt;/script&gt;</code> and <code>&lt;!-- y --&gt;</code>; gone." in faq
    assert "alert(1)" not in faq


def _catalog(tmp_path: Path) -> Project:
    return make_catalog(tmp_path / "project", count=2)


def _refused(project: Project, tmp_path: Path, capsys) -> str:
    """Build `project`: it must fail cleanly (exit 1, no traceback, nothing written); what it printed."""
    code = main(["build", "--content", str(project.content), "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "Traceback" not in err and not (tmp_path / "out").exists()
    return err


DEEP = "[" * 100_000 + "]" * 100_000  # libyaml's composer overflows the stack on this (a segmentation fault)


@pytest.mark.parametrize("name", ["trial.yaml", "glossary.yaml", "site.yaml", "trials/trial-1.yaml"])
@pytest.mark.parametrize("depth", [60, 500, 100_000])
def test_yaml_nested_any_depth_is_refused_at_its_position(project: Project, tmp_path: Path, capsys, name: str,
                                                          depth: int) -> None:
    if name.startswith("trials/"):
        project = _catalog(tmp_path)
    path = project.content / name
    path.write_text(path.read_text(encoding="utf-8") + "\nextra: " + "[" * depth + "]" * depth + "\n", encoding="utf-8")
    err = _refused(project, tmp_path, capsys)
    assert re.search(rf"{re.escape(str(path))}:\d+:\d+: .*nested more than 50 levels deep", err), err


@pytest.mark.parametrize("nested", ["- " * 100_000 + "x", "? " * 100_000 + "x", "".join(
    " " * i + f"k{i}:\n" for i in range(1, 1_500)), "k:\r" + "- " * 100_000 + "x", "k:\n\ufeff" + "- " * 100_000 + "x",
    "k:\u2028" + "- " * 100_000 + "x"])  # libyaml breaks lines at \r and LS too, and skips a BOM starting one
def test_block_collections_nested_any_depth_are_refused(project: Project, tmp_path: Path, capsys,
                                                        nested: str) -> None:
    path = project.content / "glossary.yaml"
    path.write_text("terms:\n" + nested + "\n", encoding="utf-8")
    err = _refused(project, tmp_path, capsys)
    assert re.search(rf"{re.escape(str(path))}:\d+:\d+: .*(nested more than 50 levels deep|not valid YAML)", err), err


def test_a_paragraph_on_one_line_is_read_by_libyaml() -> None:
    from sitegen import load

    text = "faq:\n  - question: Why?\n    answer: " + "A long answer, on one line as editors write. " * 200 + "\n"
    assert load._nests_shallowly(text)  # the pure-Python parser is ten times slower


def test_aliases_nesting_deeper_than_the_text_are_refused(project: Project, tmp_path: Path, capsys) -> None:
    chain = "".join(f"x{i}: &x{i} {'[' * 40}{f'*x{i - 1}' if i else '1'}{']' * 40}\n" for i in range(30))
    (project.content / "glossary.yaml").write_text(chain, encoding="utf-8")
    assert "nested more than 50 levels deep" in _refused(project, tmp_path, capsys)


def _fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _zero(path: Path) -> None:
    path.unlink()
    path.symlink_to("/dev/zero")


def _huge(path: Path) -> None:
    with open(path, "r+b") as f:
        f.truncate(2 * 1024**3)  # sparse: 2 GB long, no disk used


@pytest.mark.parametrize("make,message", [
    (_fifo, r"cannot read: this is a named pipe \(FIFO\); an input must be a regular file"),
    (_zero, (r"cannot read: this is a character device; an input must be a regular file|a symbolic link to /dev/zero, "
            "outside the project")),
    (_huge, r"the file is 2,048\.0 MB; an input file like this may be at most \d+ MB"),
], ids=["fifo", "dev-zero", "2-gb"])
@pytest.mark.parametrize("name", ["trial.yaml", "references.bib", "glossary.yaml", "trials/trial-1.yaml",
                                  "templates/base.html", "static/style.css", "static/logo.svg"])
def test_inputs_that_are_not_bounded_regular_files_are_refused_before_reading(
        project: Project, tmp_path: Path, capsys, make, message: str, name: str) -> None:
    """static/logo.svg, a static file of the project's own, not named like one of sitegen's: found by a hostile
    review, a FIFO or a link to /dev/zero of that name was left out of the site without a word."""
    if name.startswith("trials/"):
        project = _catalog(tmp_path)
    path = project.content.parent / name if "/" in name and not name.startswith("trials/") else project.content / name
    path.touch()
    make(path)
    err = _refused(project, tmp_path, capsys)
    assert re.search(f"{re.escape(str(path))}: ({message})", err), err


@pytest.mark.parametrize("catalog", [False, True], ids=["single", "catalog"])
def test_a_folder_in_the_static_folder_is_an_error_not_files_left_out(project: Project, tmp_path: Path, capsys,
                                                                      catalog: bool) -> None:
    """Found by a hostile review: static/img/logo.png was not published, and the build said nothing, so the pages
    showing it were broken; a catalog's rebuild with nothing else changed says so too."""
    if catalog:
        project = _catalog(tmp_path)
        assert main(["build", "--content", str(project.content), "--output", str(tmp_path / "built")]) == 0
    folder = project.static / "img"
    folder.mkdir(parents=True)
    (folder / "logo.png").write_bytes(b"\x89PNG")
    args = ["--content", str(project.content), "--static", str(project.static)]
    for out in ([tmp_path / "built"] if catalog else []) + [tmp_path / "out"]:
        before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
        assert main(["build", *args, "--output", str(out)]) == 1
        err = capsys.readouterr().err
        assert f"{folder}: a folder: only the files in the static folder itself are published" in err, err
        assert "Traceback" not in err and {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("name", ["trials/trial-1.yaml", "trial.yaml", "site.yaml", "glossary.yaml"])
def test_a_file_linked_from_outside_the_project_is_refused_without_quoting_it(
        project: Project, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, capsys, name: str) -> None:
    if name.startswith("trials/"):
        project = _catalog(tmp_path)
    secret = tmp_path_factory.mktemp("elsewhere") / "secret.txt"  # beside the project's folder, not in it
    secret.write_text("root:x:0:0:the secret is SWORDFISH\n", encoding="utf-8")  # a mapping of one key, or text
    link = project.content / name
    link.unlink()
    link.symlink_to(secret)
    err = _refused(project, tmp_path, capsys)
    assert f"{link}: a symbolic link to {secret}, outside the project" in err
    assert "SWORDFISH" not in err


def test_a_trials_folder_linked_from_outside_the_project_is_refused_by_a_rebuild_too(tmp_path: Path,
                                                                                   capsys) -> None:
    """Found by a hostile review: a rebuild with nothing changed reads no trial's file, and took the folder as it
    was; a fresh build refused it."""
    project = _catalog(tmp_path)
    out = tmp_path / "out"
    args = ["build", "--content", str(project.content), "--output", str(out)]
    assert main(args) == 0
    outside = tmp_path / "outside"
    outside.mkdir()
    (project.content / "trials").rename(outside / "trials")
    (project.content / "trials").symlink_to(outside / "trials")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert main(args) == 1
    err = capsys.readouterr().err
    assert f"{project.content / 'trials'}: a symbolic link to {outside / 'trials'}, outside the project" in err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_a_dangling_glossary_link_is_an_error_not_no_glossary(project: Project, tmp_path: Path, capsys) -> None:
    glossary = project.content / "glossary.yaml"
    glossary.unlink()
    glossary.symlink_to("glossary-moved.yaml")
    err = _refused(project, tmp_path, capsys)
    assert f"{glossary}: cannot read: a symbolic link to" in err and "which does not exist" in err


@pytest.mark.parametrize("line,message", [
    ("status: {secret}", "status: expected one of"),
    ("{secret}: 1", "a key must be a field name, at most 100 characters"),
], ids=["value", "key"])
def test_errors_quote_at_most_a_short_excerpt_of_the_content(project: Project, capsys, line: str, message: str) -> None:
    trial = project.content / "trial.yaml"
    secret = "SWORDFISH" * 100
    trial.write_text(trial.read_text(encoding="utf-8").replace("\nstatus: recruiting", "\n" + line.format(secret=secret)),
                     encoding="utf-8")
    assert main(["check", "--content", str(project.content)]) == 1
    err = capsys.readouterr().err
    assert message in err
    assert err.count("SWORDFISH") <= 5


def _many_answers(content: Path, count: int, cite: str = "") -> None:
    """Give the trial in `content` `count` more FAQ entries, each a prose field (ending with `cite`)."""
    trial = content / "trial.yaml"
    entries = "".join(f"  - question: Question {i}?\n    answer: Answer {i} is plain.{cite}\n" for i in range(count))
    trial.write_text(trial.read_text(encoding="utf-8").replace("\nfaq:\n", "\nfaq:\n" + entries, 1), encoding="utf-8")


def test_a_build_reads_each_template_once_however_many_citations_use_it(
        project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each cited prose field renders _citation.html: its source was read again each time (30,000 reads, about 2 s,
    for 30,000 cited answers); within one build, once. A second build of the same session reads it again."""
    from sitegen import render
    from sitegen.build import Session

    _many_answers(project.content, 2_000, cite=" [@chen2021]")
    reads: list[str] = []
    digest = render.template_digest
    monkeypatch.setattr(render, "template_digest", lambda env, name: reads.append(name) or digest(env, name))
    session = Session()
    build(project, tmp_path / "out", session=session)
    assert 0 < reads.count("_citation.html") <= 2, reads.count("_citation.html")
    (project.content / "trial.yaml").write_text(
        (project.content / "trial.yaml").read_text(encoding="utf-8").replace("Answer 7 is", "Answer seven is"),
        encoding="utf-8")
    build(project, tmp_path / "out", session=session)
    assert 0 < reads.count("_citation.html") <= 4, reads.count("_citation.html")


def test_build_time_grows_linearly_with_the_number_of_prose_fields(project: Project, tmp_path: Path) -> None:
    seconds = []
    for count in (1_500, 6_000):
        _many_answers(project.content, count if not seconds else count - 1_500)
        started = time.process_time()
        build(project, tmp_path / f"out-{count}")
        seconds.append(time.process_time() - started)
    # four times the fields: about four times the time when linear, sixteen when quadratic (7.8 times before the fix)
    assert seconds[1] < 5.5 * seconds[0], seconds


def test_citations_leave_a_trial_to_the_c_parser(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each citation's '[' was counted as a flow collection that might nest: past 1,000 citations a trial went to
    PyYAML's pure-Python parser, ten times slower (30,000 cited FAQ answers: 6 to 9 s of CPU instead of 0.5)."""
    trial = project.content / "trial.yaml"
    for deep, why in (("[ @" * 100_000, "cannot start any token"), ("[" * 2_000 + "@", "nested more than 50 levels"),
                      ("{" * 2_000 + "[@", "nested more than 50 levels")):
        with pytest.raises(ContentError, match=why):  # a bracket before '@' nests nothing: refused, as before
            load.load_yaml(trial, "x: " + deep)
    _many_answers(project.content, 2_000, cite=" [@chen2021]")
    _many_answers(project.content, 2_000, cite=" and [ @monga2020; @zhou2021 ]")

    def pure_python(*args: object) -> None:
        raise AssertionError("the trial was parsed by PyYAML's pure-Python parser")

    monkeypatch.setattr(load, "_PythonLoader", pure_python)
    assert len(load.load_yaml(trial).data["faq"]) > 4_000


VALUES = ["肉腫", "Саркома", "+++", "Sarcoma", "sarcoma!", "Sarcoma?",
          "Recurrent " * 30 + "sarcoma", "Recurrent " * 30 + "osteosarcoma"]  # longer than a folder name may be


def test_catalog_values_that_slugify_alike_each_get_their_own_listing_page(tmp_path: Path) -> None:
    project = _catalog(tmp_path)
    template = yaml.safe_load((project.content / "trials" / "trial-0.yaml").read_text(encoding="utf-8"))
    for path in (project.content / "trials").iterdir():
        path.unlink()
    for i, value in enumerate(VALUES):
        trial = {**template, "slug": f"t{i}", "title": f"Trial {i}", "condition": value,
                 "locations": {"named": [{"name": f"{value} City"}], "others": 0}}
        (project.content / "trials" / f"t{i}.yaml").write_text(yaml.safe_dump(trial, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out"
    build(project, out)
    pages = html_pages(out)
    for facet, suffix in (("conditions", ""), ("locations", " City")):
        index = pages[f"{facet}/index.html"]
        listed = [link[3:] for link in index.links if re.fullmatch(rf"\.\./{facet}/[a-z0-9-]+/index\.html", link)]
        assert len(set(listed)) == len(VALUES), listed  # one page per value, none shared
        for i, value in enumerate(VALUES):
            [link] = [link for link in listed if f"Trial {i}" in pages[link].text]
            listing = pages[link]
            assert f"{value}{suffix}" in listing.text and f"../../trials/t{i}/index.html" in listing.links
            assert not any(f"../../trials/t{j}/index.html" in listing.links for j in range(len(VALUES)) if j != i)
    # the same value under other case, accents or spacing is one value; its URL does not depend on the others
    assert slugify("Sarcoma") == slugify(" sarcoma ") == "sarcoma" and slugify("São Paulo") == slugify("Sao Paulo")
    assert slugify("sarcoma!") != slugify("sarcoma?") and "--" in slugify("sarcoma!")
    assert max(len(slugify(value)) for value in VALUES) <= 100


def test_robots_txt_is_plain_text_and_a_non_ascii_base_url_is_published_as_a_uri(project: Project,
                                                                                   tmp_path: Path) -> None:
    build(project, tmp_path / "out", base_url="https://bücher.example/a&b/stüdie")
    out = tmp_path / "out"
    assert "Sitemap: https://xn--bcher-kva.example/a&b/st%C3%BCdie/sitemap.xml\n" in (out / "robots.txt").read_text()
    sitemap = (out / "sitemap.xml").read_text(encoding="utf-8")
    assert "<loc>https://xn--bcher-kva.example/a&amp;b/st%C3%BCdie/faq/</loc>" in sitemap
    assert sitemap.isascii()
    assert '<link rel="canonical" href="https://xn--bcher-kva.example/a&amp;b/st%C3%BCdie/faq/">' in (
        out / "faq" / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("url,message", [
    ("https://editor:secret@example.org/trials/", "without a user name or password"),
    ("https://example.org:65536/trials/", "a port from 0 to 65535"),
    ("https://example.org:99999999/", "a port from 0 to 65535"),
    ("https://ex\\ample.org/", "a URL without the character '\\\\' (write it percent-encoded)"),  # host 'ex' to a browser
    ("https://[::1/", "an absolute http:// or https:// URL with a host"),  # not urlsplit's 'Invalid IPv6 URL'
], ids=["user-password", "port-65536", "port-huge", "backslash", "unclosed-ipv6"])
def test_base_urls_with_a_password_or_an_impossible_port_are_refused(project: Project, capsys, url: str,
                                                                     message: str) -> None:
    assert main(["check", "--content", str(project.content), "--base-url", url]) == 2
    assert message in capsys.readouterr().err
    settings = project.content / "site.yaml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(re.sub(r"(?m)^base_url: .*$", lambda _: f"base_url: {url}", text), encoding="utf-8")
    assert main(["check", "--content", str(project.content)]) == 1
    err = capsys.readouterr().err
    assert "site.yaml:8:" in err and message in err  # base_url's line


LIMIT_SECONDS = 5  # of CPU time, enforced by RLIMIT_CPU; the wall-clock timeout only stops a hang
BUILD_LIMIT_SECONDS = 10  # for the one input that is built, not refused: 3.7 s on one machine, 5.2-6.2 on a slower
# one; what matters is that it is linear (test_build_time_grows_linearly_with_the_number_of_prose_fields), not fast
LIMIT_BYTES = 500 * 1024**2  # of address space, enforced by RLIMIT_AS


def _explode(kind: str, project: Project) -> None:
    content = project.content
    if kind == "deep-yaml":
        (content / "glossary.yaml").write_text("terms: " + "[" * 1_000_000 + "]" * 1_000_000 + "\n", encoding="utf-8")
    elif kind == "dev-zero-bib":
        _zero(content / "references.bib")
    elif kind == "fifo-trial":
        _fifo(content / "trial.yaml")
    elif kind == "2-gb-trial":
        _huge(content / "trial.yaml")
    elif kind == "30000-faq-entries":
        _many_answers(content, 30_000)
    elif kind == "merge-keys":  # each '<<: *a' copies a's 50,000 pairs: 200 million, before any value is counted
        pairs = "".join(f"  k{i}: 1\n" for i in range(50_000))
        (content / "glossary.yaml").write_text(f"big: &a\n{pairs}other:\n  <<: [{', '.join(['*a'] * 4000)}]\n")
    elif kind == "backtick-answers":  # each answer within every length limit; 5 s each when code spans were sought
        data = yaml.safe_load((content / "trial.yaml").read_text(encoding="utf-8"))
        data["faq"] = [{"question": f"Q{i}?", "answer": "`" * (9_999 - i)} for i in range(24)]
        (content / "trial.yaml").write_text(yaml.safe_dump(data, width=10**9), encoding="utf-8")
    elif kind == "nested-merge-keys":  # 400 bytes: anchors defined inside the merge lists, ten times each level
        level = "{a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9, j: 10}"
        for n in range(1, 7):
            level = f"{{<<: [&l{n} {level}, {', '.join([f'*l{n}'] * 9)}]}}"
        (content / "glossary.yaml").write_text(f"x: {level}\n")


def _limited(seconds: int = LIMIT_SECONDS) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_BYTES, LIMIT_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds))


@pytest.mark.parametrize("kind", ["deep-yaml", "dev-zero-bib", "fifo-trial", "2-gb-trial", "30000-faq-entries",
                                  "merge-keys", "nested-merge-keys", "backtick-answers"])
def test_explosive_inputs_are_refused_in_5_s_or_built_in_10_s_and_500_mb(project: Project, tmp_path: Path,
                                                                      kind: str) -> None:
    _explode(kind, project)
    seconds = BUILD_LIMIT_SECONDS if kind == "30000-faq-entries" else LIMIT_SECONDS
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(
        [sys.executable, "-m", "sitegen", "build", "--content", str(project.content), "--output", str(tmp_path / "out"),
         "--templates", str(project.templates), "--static", str(project.static)],
        capture_output=True, text=True, timeout=60, preexec_fn=functools.partial(_limited, seconds), check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    assert result.returncode in (0, 1), (result.returncode, result.stderr[-2000:])  # not killed by a limit
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr, result.stderr[-2000:]
    assert cpu < seconds, cpu
    if kind == "30000-faq-entries":
        assert result.returncode == 0 and (tmp_path / "out" / "faq" / "index.html").stat().st_size > 3_000_000
    else:
        assert result.returncode == 1 and re.search("problems? found; nothing was written", result.stderr), result.stderr


def test_registry_texts_markdown_reads_slowly_or_too_deep_build_in_10_s(tmp_path: Path) -> None:
    """Registry texts have no length limit of ours: each of these took 30 to 51 s, or ended in a RecursionError."""
    from test_registry import make_registry_catalog, record

    texts = {"NCT05814159": "`" * 40_000, "NCT04318938": "[" * 100_000 + "](" * 1000,
             "NCT00831909": "\\" * 400_000 + "_x_" * 10_000, "NCT03606070": "".join(">" * i + " x\n" for i in range(2000)),
             "NCT05883644": "".join("    " * i + "- x\n" for i in range(300)), "NCT04326231": "<a" * 50_000,
             "NCT05005468": "`" * 201 + "a\n\n" * 33_000}  # as plain text: thousands of paragraphs
    records = {}
    for nct, text in texts.items():
        records[nct] = record(nct)
        records[nct]["protocolSection"]["descriptionModule"]["detailedDescription"] = text
    project = make_registry_catalog(tmp_path, records)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(
        [sys.executable, "-m", "sitegen", "build", "--content", str(project.content), "--output", str(tmp_path / "out"),
         "--jobs", "1"], capture_output=True, text=True, timeout=120, check=False,
        preexec_fn=functools.partial(_limited, BUILD_LIMIT_SECONDS),
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert result.returncode == 0, result.stderr[-2000:]
    assert after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime < BUILD_LIMIT_SECONDS


def test_code_spans_are_sought_in_time_linear_in_a_run_of_backticks() -> None:
    """cite.citable looks for code spans (a citation in one is not one): it tried every shorter run in a run of
    backticks, quadratic; 20,000 backticks took over 15 s."""
    result = subprocess.run([sys.executable, "-c", "from sitegen.cite import cite_keys; print(cite_keys('`' * 20_000 + "
                             "' [@a]'))"], capture_output=True, text=True, timeout=60, check=False,
                            preexec_fn=functools.partial(_limited, LIMIT_SECONDS),
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    assert result.returncode == 0 and result.stdout.strip() == "[('a',)]", result.stderr[-2000:]


def test_two_values_that_would_share_a_url_are_an_error_not_one_page() -> None:
    from sitegen.catalog import listing as catalog
    from sitegen.errors import ContentError

    # as if two values' hashes collided: the listing would show one name for both
    with pytest.raises(ContentError, match="the values 'Sarcoma!' and 'Sarcoma\\?' would share the URL conditions/x/"):
        catalog._facet("condition", "Condition", "Conditions", "conditions/", [{"x": "Sarcoma!"}, {"x": "Sarcoma?"}])
    catalog._facet("condition", "Condition", "Conditions", "conditions/", [{"x": "São Paulo"}, {"x": "sao paulo"}])


def test_a_file_that_grows_while_read_is_read_whole_or_refused_at_its_limit(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """An input is read to its size when opened, and on, should it have grown since: never past its limit."""
    from sitegen import inputs
    from sitegen.errors import ContentError

    path = tmp_path / "trial.yaml"
    path.write_bytes(b"x" * 2000)
    real_fstat = os.fstat
    monkeypatch.setattr(inputs.os, "fstat", lambda fd: os.stat_result((*real_fstat(fd)[:6], 100, *real_fstat(fd)[7:])))
    assert inputs.read_input(path) == b"x" * 2000  # 100 bytes when opened, 2,000 when read
    monkeypatch.setitem(inputs.MAX_BYTES, ".yaml", 1000)
    monkeypatch.setattr(inputs, "check_input", inputs.limit_of)  # the size when first looked at: 100 bytes too
    with pytest.raises(ContentError, match=r"the file is 0\.0 MB; an input file like this may be at most 0 MB"):
        inputs.read_input(path)
