"""The catalog benchmark (bench/catalog.py): its generator is deterministic, valid and varied; the Hugo site it writes
has the same pages and text; its import, error lines and arithmetic. The search-load and serve-latency benchmarks
(bench/search_load.py, bench/serve_latency.py): how they sort and count what the server sent, how they serve files,
their options. Nothing is built, no browser is started and nothing is timed here."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from sitegen.bib import load_bibliography
from sitegen.cite import cite_keys
from sitegen.load import load_yaml
from sitegen.schema import Trial
from sitegen.validate import validate_trial

ROOT = Path(__file__).resolve().parent.parent
N = 80


def _load(name: str) -> Any:
    """bench/NAME.py as a module (bench/ is scripts, not a package of the project)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


catalog = _load("catalog")
fs_floor = _load("fs_floor")
search_load = _load("search_load")
serve_latency = _load("serve_latency")
profile_build = _load("profile_build")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("catalog")
    catalog.generate(N, folder, seed=0, workers=1)
    return folder


@pytest.fixture(scope="module")
def trials(generated: Path) -> dict[str, tuple[Trial, dict[str, Any]]]:
    """Every generated trial, validated by sitegen, with its raw YAML data."""
    return {
        path.stem: (validate_trial(load_yaml(path)), yaml.safe_load(path.read_text(encoding="utf-8")))
        for path in sorted((generated / "trials").glob("*.yaml"))
    }


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _strings(data: Any) -> list[str]:
    if isinstance(data, dict):
        return [s for v in data.values() for s in _strings(v)]
    if isinstance(data, list):
        return [s for v in data for s in _strings(v)]
    return [data] if isinstance(data, str) else []


def _cited(trial: Trial, data: dict[str, Any]) -> set[str]:
    """Keys cited as [@key] in any text of the trial, by sitegen's own citation finder, and the findings' sources."""
    return {k for text in _strings(data) for group in cite_keys(text) for k in group} | {
        f.source for f in trial.findings
    }


def test_same_seed_same_bytes_whatever_the_workers(generated: Path, tmp_path: Path) -> None:
    catalog.generate(N, tmp_path, seed=0, workers=2)
    assert _files(tmp_path) == _files(generated)


def test_a_trial_does_not_depend_on_the_catalog_size_and_the_seed_matters(generated: Path, tmp_path: Path) -> None:
    catalog.generate(5, tmp_path / "small", seed=0)
    small = _files(tmp_path / "small")
    assert small.pop("site.yaml") != _files(generated)["site.yaml"]  # its title counts the trials
    assert small == {name: data for name, data in _files(generated).items() if name in small}
    assert sum(1 for name in small if name.startswith("trials/") and name.endswith(".yaml")) == 5
    catalog.generate(5, tmp_path / "other", seed=1)
    other = _files(tmp_path / "other")
    assert all(other[f"trials/synthetic-0000{i}.yaml"] != small[f"trials/synthetic-0000{i}.yaml"] for i in range(5))


def test_layout_and_slugs(generated: Path, trials: dict[str, tuple[Trial, dict[str, Any]]]) -> None:
    for name in ("glossary.yaml", "references.bib"):
        assert (generated / name).read_bytes() == (ROOT / "content" / name).read_bytes()
    settings = (generated / "site.yaml").read_text(encoding="utf-8")  # the default's, with a title of its own
    demo = f"title: Demo catalog of {N:,} synthetic trials (not real trials)"
    assert f"{demo}\n" in settings
    assert settings.replace(demo, "") == \
        (ROOT / "content" / "site.yaml").read_text(encoding="utf-8").replace("title: Soft Tissue Sarcoma Trial", "")
    assert len(trials) == N
    assert all(trial.slug == stem for stem, (trial, _) in trials.items())
    assert len({trial.slug for trial, _ in trials.values()}) == N
    extra = {p.name for p in (generated / "trials").iterdir()} - {f"{s}.yaml" for s in trials} - {
        f"{s}.bib" for s in trials
    }
    assert not extra


def test_every_cited_key_exists_and_own_references_are_all_cited_and_new(
    generated: Path, trials: dict[str, tuple[Trial, dict[str, Any]]]
) -> None:
    shared = set(load_bibliography(generated / "references.bib"))
    with_own = 0
    for stem, (trial, data) in trials.items():
        bib = generated / "trials" / f"{stem}.bib"
        own = set(load_bibliography(bib)) if bib.exists() else set()
        cited = _cited(trial, data)
        assert cited <= shared | own, (stem, cited - shared - own)
        assert own <= cited, (stem, own - cited)
        assert not own & shared
        with_own += bool(own)
    assert 10 <= with_own < N
    assert catalog.check(generated) == []


def test_variety(generated: Path, trials: dict[str, tuple[Trial, dict[str, Any]]]) -> None:
    values = list(trials.values())
    sizes = [(generated / "trials" / f"{stem}.yaml").stat().st_size for stem in trials]
    assert len(set(sizes)) > N * 0.9 and max(sizes) > 2 * min(sizes)
    assert len({t.title for t, _ in values}) == N
    assert len({t.purpose for t, _ in values}) > N * 0.9 and len({t.overview for t, _ in values}) > N * 0.9
    assert len(Counter(t.status for t, _ in values)) >= 6
    assert len(Counter(t.phase for t, _ in values)) >= 5
    assert len(Counter(t.condition for t, _ in values)) >= 20
    # Optional sections are sometimes left out, sometimes present.
    for name in ("approvals", "findings", "spots_left", "faq", "official_title", "principal_investigator"):
        present = sum(1 for _, data in values if data.get(name))
        assert 0 < present < N, name
    assert any("medication_note" not in data["eligibility"] for _, data in values)
    faq_lengths = Counter(len(t.faq) for t, _ in values)
    assert faq_lengths[0] > 0 and max(faq_lengths) >= 8  # none, and doubled
    assert max(len(t.eligibility.inclusion.shown) for t, _ in values) > 8  # a doubled criteria list
    locations = [len(t.locations.named) for t, _ in values]
    assert min(locations) == 0 and max(locations) > 30
    own_counts = [len(load_bibliography(p)) for p in (generated / "trials").glob("*.bib")]
    assert max(own_counts) >= 12
    # The trial number is written into the prose, so no cache can take two trials for the same.
    assert sum(1 for t, _ in values if str(int(t.slug.split("-")[1])) in t.purpose + t.overview) > N / 2


def test_written_as_yaml_safe_dump_writes_it(trials: dict[str, tuple[Trial, dict[str, Any]]]) -> None:
    for _, data in list(trials.values())[:10]:
        assert catalog.dump(data) == yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def test_one_edit_changes_one_answer_of_one_trial(tmp_path: Path) -> None:
    catalog.generate(20, tmp_path)
    before = _files(tmp_path)
    slugs = set()
    for run in range(3):
        slug, marker = catalog.edit_one_answer(tmp_path, 20, run, seed=0)
        slugs.add(slug)
        path = tmp_path / "trials" / f"{slug}.yaml"
        old = yaml.safe_load(before[f"trials/{slug}.yaml"])
        new = yaml.safe_load(path.read_text(encoding="utf-8"))
        changed = [i for i, (a, b) in enumerate(zip(old.get("faq", []), new.get("faq", []))) if a != b]
        assert len(changed) == 1 and marker in new["faq"][changed[0]]["answer"]
        assert {k: v for k, v in old.items() if k != "faq"} == {k: v for k, v in new.items() if k != "faq"}
        validate_trial(load_yaml(path))
        before = _files(tmp_path)
    assert len(slugs) > 1


# ---------------------------------------------------------------------------
# The harness around the builds: the Hugo site it writes, the import of the real corpus, and its arithmetic. No
# build and no Hugo run here (CI has no Hugo; `python bench/catalog.py --sizes 50 --runs 2` runs them).

hugo_site = sys.modules["bench.hugo_site"]


def _front_matter(path: Path) -> tuple[dict[str, Any], str]:
    """A content file's YAML front matter and its Markdown body; fails unless the file starts with front matter."""
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n"), path
    head, body = text[4:].split("\n---\n", 1)
    data = yaml.safe_load(head)
    assert isinstance(data, dict), path
    return data, body


def test_hugo_site_of_three_trials_has_their_pages_and_text(tmp_path: Path) -> None:
    catalog.generate(3, tmp_path / "content", seed=0, workers=1)
    trials = {p.stem: yaml.safe_load(p.read_text(encoding="utf-8"))
              for p in sorted((tmp_path / "content" / "trials").glob("*.yaml"))}
    written = hugo_site.write_site(hugo_site.read_catalog(tmp_path / "content"), tmp_path / "site", "Demo")
    files = sorted((tmp_path / "site" / "content").rglob("*.md"))
    names = [name for name, _ in hugo_site.PAGES]
    # sitegen gives every trial of a catalog with a glossary these eight pages, and so does the Hugo site.
    assert written == len(files) == 3 * len(names) == 24
    assert {str(p.relative_to(tmp_path / "site" / "content")) for p in files} == {
        f"trials/{slug}/{name}.md" for slug in trials for name in names}
    for slug, data in trials.items():
        pages = {name: _front_matter(tmp_path / "site" / "content" / "trials" / slug / f"{name}.md")
                 for name in names}
        for name, (meta, body) in pages.items():
            assert meta["trial"] == slug and meta["tab"] == name and meta["nav"] == names
            assert meta["title"].endswith(data["title"]) and body.strip()
            assert "[@" not in body  # citations left out: Hugo has no bibliography
        summary, _ = pages["summary"]
        assert summary["url"] == f"/trials/{slug}/"
        assert set(hugo_site.TAXONOMIES.values()) <= set(summary)  # each listing is a taxonomy
        assert summary["conditions"] == [data["condition"]]
        assert summary["locations"] == [p["name"] for p in data["locations"]["named"]]
        assert all(name not in meta for name in hugo_site.TAXONOMIES.values() for meta, _ in
                   [pages[n] for n in names if n != "summary"])  # listed once, by the summary page
        # The same text as sitegen's pages: the summary, the criteria, the FAQ.
        assert " ".join(data["eligibility"]["summary"].split()[:6]) in pages["eligibility"][1]
        for criterion in data["eligibility"]["inclusion"]["shown"] + data["eligibility"]["exclusion"]["shown"]:
            assert f"- {criterion}\n" in pages["eligibility"][1] + "\n"
        for item in data.get("faq", []):
            assert f"## {item['question']}\n" in pages["faq"][1]
        assert " ".join(catalog._strip_citations(data["purpose"]).split()[:6]) in pages["summary"][1]
    config = (tmp_path / "site" / "config.toml").read_text(encoding="utf-8")
    assert 'title = "Demo"' in config and "paginate = 50" in config and "disableAliases = true" in config
    assert "relativeURLs = true" in config
    for singular, plural in hugo_site.TAXONOMIES.items():
        assert f'{singular} = "{plural}"' in config
    for name in ("_default/baseof.html", "_default/single.html", "index.html", "_default/taxonomy.html",
                 "_default/term.html", "404.html", "partials/item.html"):
        assert (tmp_path / "site" / "layouts" / name).read_text(encoding="utf-8").strip()
    baseof = (tmp_path / "site" / "layouts" / "_default" / "baseof.html").read_text(encoding="utf-8")
    assert "<nav" in baseof and "<footer>" in baseof and '<main id="main">' in baseof


def test_import_of_real_records_and_their_hugo_site(tmp_path: Path) -> None:
    records = sorted((ROOT / "tests" / "data" / "ctgov").glob("NCT*.json"))[:2]
    assert catalog.corpus_files([ROOT / "tests" / "data" / "ctgov"])[:2] == records
    seconds = catalog.import_corpus(records, tmp_path / "content")
    assert seconds > 0
    assert sorted(p.name for p in (tmp_path / "content" / "trials").glob("*.yaml")) == [
        f"{r.stem.lower()}.yaml" for r in records]
    trials = hugo_site.read_catalog(tmp_path / "content")
    assert hugo_site.write_site(trials, tmp_path / "site") == sum(len(t.pages) for t in trials)
    for record, trial in zip(records, trials):
        study = json.loads(record.read_text(encoding="utf-8"))["protocolSection"]
        meta, body = _front_matter(tmp_path / "site" / "content" / "trials" / trial.slug / "eligibility.md")
        assert meta["title"] == f"Eligibility: {study['identificationModule']['briefTitle']}"
        criteria = study["eligibilityModule"]["eligibilityCriteria"]
        assert criteria.strip().splitlines()[0] in body
        summary, _ = _front_matter(tmp_path / "site" / "content" / "trials" / trial.slug / "summary.md")
        assert summary["conditions"] == study["conditionsModule"]["conditions"]


def test_corpus_files_are_the_records_of_each_folder_in_order(tmp_path: Path) -> None:
    for name in ("b/NCT2.json", "b/NCT1.xml", "b/README.md", "b/SOURCES.tsv", "a/NCT9.json"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("{}", encoding="utf-8")
    (tmp_path / "b" / "folder.json").mkdir()
    assert catalog.corpus_files([tmp_path / "b", tmp_path / "a"]) == [
        tmp_path / "b" / "NCT1.xml", tmp_path / "b" / "NCT2.json", tmp_path / "a" / "NCT9.json"]


def test_a_failed_import_is_its_error_line_not_a_crash(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"nope": 1}', encoding="utf-8")
    with pytest.raises(catalog.BuildFailed) as failed:
        catalog.import_corpus([bad], tmp_path / "content")
    python = Path(sys.executable).name  # 'python' in a virtual environment, 'python3' elsewhere
    assert str(failed.value).startswith(f"{python} -m sitegen import … failed (exit code 1): ")
    assert f"{bad}: not a registry record" in str(failed.value)


@pytest.mark.parametrize(("output", "line"), [
    (("content/a.yaml:1:2: warning: uncited\ncontent/b.yaml:3:4: arms: missing required field\n"
      "sitegen: 2 problems found; nothing was written\n"),
     "content/b.yaml:3:4: arms: missing required field — sitegen: 2 problems found; nothing was written"),
    ("Traceback (most recent call last):\n  File \"x.py\", line 3, in <module>\n    f()\nKeyError: 'arms'\n",
     "KeyError: 'arms'"),
    ("sitegen: 0 trials imported\n/data/x.json: not a record\nsitegen: 1 record refused\n",
     "/data/x.json: not a record — sitegen: 1 record refused"),
    ("\n", "no output"),
])
def test_error_line(output: str, line: str) -> None:
    assert catalog.error_line(output) == line


def _measured(pages: int, seconds: list[float], hugo_pages: int, hugo_seconds: list[float]) -> Any:
    m = catalog.Measured("100 generated", 10, pages=pages, hugo_pages=hugo_pages)
    m.phases["full"] = [catalog.Run(s, 200 * 2**20, 50 * 2**20, cpu=0.5) for s in seconds]
    m.phases["no-change"] = [catalog.Run(s / 10, 100 * 2**20, 50 * 2**20) for s in seconds]
    m.hugo = [catalog.Run(s, 80 * 2**20, 80 * 2**20, cpu=0.1) for s in hugo_seconds]
    return m


def test_rates_ratios_and_table() -> None:
    m = _measured(100, [1.0, 2.0, 4.0], 200, [0.5, 1.0, 2.0])
    assert catalog.rates(100, m.phases["full"]) == [100, 50, 25]
    assert catalog.cpu_per_page(100, m.phases["full"]) == [5.0, 5.0, 5.0]
    # Round by round, each sitegen build over the Hugo build of its round: 100/400, 50/200, 25/100.
    assert catalog.ratios(m) == [0.25, 0.25, 0.25]
    m.hugo = m.hugo[::-1]  # the same Hugo times in other rounds: other ratios, the same medians of pages/s
    assert catalog.ratios(m) == [1.0, 0.25, 1 / 16]
    table = catalog.table([m]).splitlines()
    assert table[0].startswith("| catalog | HTML pages | full build (s) | pages/s | CPU/page (ms) |")
    assert table[0].count("|") - 1 == table[1].count("|") - 1 == len(table[2].split("|")) - 2 == 13
    assert table[2] == ("| 100 generated | 100 | 2.00 (1.00–4.00) | 50 (25–100) | 5.0 (5.0–5.0) | 0.20 (0.10–0.40) | – | 200 "
                        "| 200 | 1.00 (0.50–2.00) | 200 (100–400) | 0.5 (0.5–0.5) "
                        "| 0.25 (0.06–1.00) |")
    assert catalog._stats([3.0]) == "3.00" and catalog._stats([]) == "–"
    assert catalog._stats([1.0, 2.0]) == "1.50 (1.00–2.00)"  # an even count: the mean of the middle two


def test_the_file_system_floor_creates_the_same_tree_and_is_taken_off_each_builds_cpu(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "trials" / "a" / "faq").mkdir(parents=True)
    (site / "index.html").write_bytes(b"<p>home</p>")
    (site / "trials" / "a" / "faq" / "index.html").write_bytes(b"x" * 5000)
    (site / "trials" / "a" / "index.html").write_bytes(b"")
    folders, files = fs_floor.listing(str(site))
    assert folders == ["trials", "trials/a", "trials/a/faq"]
    assert files == [("index.html", 11), ("trials/a/index.html", 0), ("trials/a/faq/index.html", 5000)]
    fs_floor.create(str(tmp_path / "copy"), folders, files)
    assert fs_floor.listing(str(tmp_path / "copy")) == (folders, files)
    floor = catalog.fs_floor(site, tmp_path, tmp_path / "trash")  # in a fresh process, its copy set aside
    assert (floor.folders, floor.files) == (3, 3) and floor.cpu >= 0 and not (tmp_path / "fs-floor").exists()
    assert [p.relative_to(tmp_path / "trash").parts[1:] for p in (tmp_path / "trash").glob("*/*")] == [("fs-floor",)]
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "fs_floor.py"), "--runs", "2", str(site), str(site)],
                          capture_output=True, text=True, check=True)  # the same site twice: alternating rounds
    lines = done.stdout.splitlines()
    assert len(lines) == 5 and all(line.startswith(f"{site}: ") for line in lines)  # 2 rounds of 2, one median
    assert "run 2/2: 3 folders, 3 files" in lines[3] and "(3 pages)" in lines[3]
    assert re.fullmatch(r".*: \d+\.\d\d \(\d+\.\d\d–\d+\.\d\d\) ms of CPU per page", lines[4])
    assert not (tmp_path / "site.fs-floor").exists() and not (tmp_path / "site.fs-floor-trash").exists()
    m = _measured(100, [1.0, 2.0, 4.0], 200, [0.5, 1.0, 2.0])  # CPU 0.5 s: 5 ms per page; Hugo's 0.5 ms
    m.floors = {"sitegen": [catalog.Floor(10, 20, 0.2), catalog.Floor(10, 20, 0.1), catalog.Floor(10, 20, 0.4)],
                "Hugo": [catalog.Floor(10, 20, 0.04)]}
    assert catalog.floor_notes(m) == [
        "sitegen's output (10 folders, 20 files) created alone: 2.00 (1.00–4.00) ms of CPU per page, its build's "
        "median 3.00 ms per page above that",
        "Hugo's output (10 folders, 20 files) created alone: 0.20 ms of CPU per page, its build's median 0.30 ms per "
        "page above that"]


def test_an_output_is_set_aside_with_its_cache_and_deleted_only_at_the_end(tmp_path: Path) -> None:
    """Deleting thousands of files makes creating files slower for minutes on a file system without a journal:
    the last output is moved aside, not deleted, and what was moved aside goes once every build is timed."""
    out, trash = tmp_path / "out", tmp_path / "trash"
    for path in (out / "index.html", tmp_path / ".out.sitegen-cache" / "build.pickle"):
        path.parent.mkdir(parents=True)
        path.write_text("x")
    catalog.set_aside(out, trash)
    catalog.set_aside(out, trash)  # nothing left to move
    assert not out.exists() and not (tmp_path / ".out.sitegen-cache").exists()
    moved = sorted(p.relative_to(trash).parts[1:] for p in trash.rglob("*") if p.is_file())
    assert moved == [(".out.sitegen-cache", "build.pickle"), ("out", "index.html")]
    keep = tmp_path / "keep"
    for _ in range(2):  # the second run sets the first's folder aside and deletes it at the end
        done = subprocess.run([sys.executable, str(ROOT / "bench" / "catalog.py"), "--sizes", "2", "--no-corpus",
                               "--no-hugo", "--runs", "1", "--keep", str(keep)],
                              capture_output=True, text=True, cwd=ROOT, check=False)
        assert done.returncode == 0, done.stderr
        assert sorted(p.name for p in keep.iterdir()) == ["2-trials"]
        assert (keep / "2-trials" / "out" / "index.html").is_file()
        # sitegen ran as installed: its modules compiled, its compiled templates in the run's own user cache
        assert list((ROOT / "sitegen" / "__pycache__").glob("render.*.pyc"))
        assert list((keep / "2-trials" / "user-cache" / "sitegen" / "templates").glob("*/*.cache"))


def test_sitegen_runs_with_bytecode_written_even_where_the_machine_turns_that_off(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    check = "import os, sys; sys.exit(3 if 'PYTHONDONTWRITEBYTECODE' in os.environ else 0)"
    assert catalog.run([sys.executable, "-c", check]).seconds > 0  # (a failed command raises BuildFailed)


def test_full_builds_alternate_and_who_goes_first_alternates_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On this machine creating files costs more the more were just created: the second build of a round pays
    more, so sitegen goes first in one round and Hugo in the next."""
    order: list[str] = []
    monkeypatch.setattr(catalog.hugo_site, "read_catalog", lambda content: None)
    monkeypatch.setattr(catalog.hugo_site, "write_site", lambda *args: None)
    monkeypatch.setattr(catalog, "_site_title", lambda content: "x")
    monkeypatch.setattr(catalog, "set_aside", lambda out, trash: None)
    monkeypatch.setattr(catalog, "build", lambda content, out, jobs: order.append("sitegen") or catalog.Run(1, 0, 0))
    monkeypatch.setattr(catalog, "hugo_build", lambda hugo, site, out: order.append("Hugo") or catalog.Run(1, 0, 0))
    monkeypatch.setattr(catalog, "count_pages", lambda out: 0)
    monkeypatch.setattr(catalog, "fs_floor", lambda site, work, trash: catalog.Floor(0, 0, 0.0))
    monkeypatch.setattr(catalog, "edit_one_answer", lambda *args: ("t", "x"))
    catalog.measure(catalog.Measured("x", 1), tmp_path, tmp_path, 3, 1, "hugo", 0, tmp_path / "trash")
    assert order[:6] == ["sitegen", "Hugo", "Hugo", "sitegen", "sitegen", "Hugo"]


def test_a_failed_build_shows_in_its_column() -> None:
    m = _measured(100, [1.0], 0, [])
    m.error, m.failed = "x.yaml:1:1: bad | worse", "no-change"
    row = catalog.table([m]).splitlines()[2].split(" | ")
    assert row[2] == "1.00" and row[5] == "failed: x.yaml:1:1: bad \\| worse" and row[8:] == ["–"] * 4 + ["– |"]
    m.failed, m.pages = "full", 0  # a later full build failed: its pages were never counted
    row = catalog.table([m]).splitlines()[2].split(" | ")
    assert row[1:5] == ["–", "failed: x.yaml:1:1: bad \\| worse", "–", "–"]
    m = catalog.Measured("real corpus (2 records)", 2, error="import … failed", hugo_error="hugo … failed")
    row = catalog.table([m]).splitlines()[2].split(" | ")
    assert row[:3] == ["| real corpus (2 records)", "–", "failed: import … failed"]
    assert row[9] == "failed: hugo … failed"


def test_hugo_missing_says_how_to_install_it_and_exits_2(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "catalog.py"), "--hugo", str(tmp_path / "hugo"),
                             "--sizes", "1", "--no-corpus"], capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 2
    assert "Hugo is not installed" in result.stderr and "sudo apt-get install -y hugo" in result.stderr
    assert "--no-hugo" in result.stderr and not result.stdout


def test_instructions_are_a_build_s_process_less_one_that_only_imports(tmp_path: Path) -> None:
    """bench/instructions.py runs each process under valgrind (here a stand-in that runs the command and reports a
    count for a build and another for an import) and prints the difference for each checkout, and the change."""
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    fake = bin_folder / "valgrind"
    fake.write_text('#!/bin/sh\nwhile [ "${1#--}" != "$1" ]; do shift; done\n"$@" || exit 1\n'
                    'case "$*" in *" build") n=5,000,300;; *) n=1,000,100;; esac\n'
                    'echo "==1== I   refs:      $n" >&2\n')
    fake.chmod(0o755)
    content = tmp_path / "content"
    catalog.generate(2, content)
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "instructions.py"), "--content", str(content),
                             str(ROOT), str(ROOT)], capture_output=True, text=True, check=False, cwd=tmp_path,
                            env={**os.environ, "PATH": f"{bin_folder}{os.pathsep}{os.environ['PATH']}"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == [f"- {ROOT}: 4,000,200", f"- {ROOT}: 4,000,200 (+0.0% from the first)"]
    broken = tmp_path / "broken"
    (broken / "sitegen").mkdir(parents=True)
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "instructions.py"), "--content", str(content),
                             str(broken)], capture_output=True, text=True, check=False, cwd=tmp_path,
                            env={**os.environ, "PATH": f"{bin_folder}{os.pathsep}{os.environ['PATH']}"})
    assert result.returncode != 0 and f"{broken} has no sitegen package" in result.stderr  # not an installed one's
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "instructions.py")], capture_output=True,
                            text=True, check=False, env={**os.environ, "PATH": str(tmp_path / "empty")})
    assert result.returncode == 2 and "sudo apt-get install -y valgrind" in result.stderr and not result.stdout


def test_pages_counted_without_hugos_first_page_redirects(tmp_path: Path) -> None:
    for name in ("index.html", "page/2/index.html", "page/1/index.html", "conditions/x/page/1/index.html",
                 "trials/a/index.html", "feed.jsonld"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x", encoding="utf-8")
    assert catalog.count_pages(tmp_path) == 3


# --- bench/search_load.py --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "kind"), [
    ("/", "HTML"),
    ("/trials/synthetic-00001/", "HTML"),
    ("/404.html", "HTML"),
    ("/style.css", "site CSS/JS"),
    ("/search.js", "site CSS/JS"),
    ("/favicon.svg", "other"),
    ("/search/index.json", "index.json"),
    ("/search/words/6d65.json?v=0123abcd", "words"),
    ("/search/terms/17.json?v=0123abcd", "terms"),
    ("/search/docs/3.json?v=0123abcd", "docs"),
    ("/trials/catalog/search/terms/1.json", "terms"),  # a site under a sub-path
    ("/search/other/1.json", "other"),
    ("/words/1.json", "other"),  # named like one, outside the index
])
def test_search_load_sorts_a_request_by_kind_of_file(path: str, kind: str) -> None:
    assert search_load.kind(path) == kind


def _sent(at: float, path: str, size: int, status: int = 200) -> Any:
    return search_load.Sent(at, path, status, size)


FAKE_LOG = [
    _sent(0.0, "/", 6000), _sent(0.1, "/style.css", 3000), _sent(0.1, "/search.js", 3000),
    _sent(2.0, "/search/index.json", 1200), _sent(2.2, "/search/words/6d65.json?v=1", 900),
    _sent(2.4, "/search/terms/3.json?v=1", 4000), _sent(2.4, "/search/terms/9.json?v=1", 5000),
    _sent(2.6, "/search/docs/0.json?v=1", 1500), _sent(3.0, "/missing", 500, status=404),
]


def test_search_load_counts_requests_and_bytes_by_kind_between_two_moments() -> None:
    load = search_load.tally(search_load.between(FAKE_LOG, 0.0, 2.0))
    search = search_load.tally(search_load.between(FAKE_LOG, 2.0))
    assert load["total"] == search_load.Tally(3, 12000)
    assert load["HTML"] == search_load.Tally(1, 6000) and load["site CSS/JS"] == search_load.Tally(2, 6000)
    assert search["terms"] == search_load.Tally(2, 9000)
    assert search["index.json"] == search_load.Tally(1, 1200) and search["docs"] == search_load.Tally(1, 1500)
    assert search["other"] == search_load.Tally(1, 500)
    assert search["HTML"] == search_load.Tally(0, 0)  # every kind is there, zero when none was sent
    assert set(search) == {*search_load.KINDS, "total"}
    assert search["total"] == search_load.Tally(6, 13100)
    assert search_load.tally([])["total"] == search_load.Tally(0, 0)


def test_search_load_table_shows_the_kinds_any_column_has_and_the_totals() -> None:
    queries = [
        search_load.Query("melanoma", FAKE_LOG[:3], FAKE_LOG[3:], 1.234, "34 trials found for “melanoma”"),
        search_load.Query("olaparib", FAKE_LOG[:3], FAKE_LOG[3:5], 0.5, "117 trials found for “olaparib”"),
    ]
    lines = search_load.table(queries).splitlines()
    assert lines[0] == ("| file | page load: requests | kB | “melanoma”: requests | kB | “olaparib”: requests "
                        "| kB |")
    assert lines[1] == "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    rows = {line.split(" | ")[0].removeprefix("| "): line for line in lines[2:]}
    assert list(rows) == ["HTML", "site CSS/JS", "index.json", "words", "terms", "docs", "other", "**total**",
                          "time to results (s)"]
    assert rows["terms"] == "| terms | 0 | 0.0 | 2 | 9.0 | 0 | 0.0 |"
    assert rows["**total**"] == "| **total** | **3** | **12.0** | **6** | **13.1** | **2** | **2.1** |"
    assert rows["time to results (s)"] == "| time to results (s) | | | 1.23 | | 0.50 | |"
    assert search_load.requests_list(queries[1]).splitlines() == [
        "    0.000 s  index.json          1,200 B  200 /search/index.json",
        "    0.200 s  words                 900 B  200 /search/words/6d65.json?v=1",
    ]


@pytest.fixture
def served_files(tmp_path: Path) -> Path:
    for name, data in {"index.html": b"<p>home</p>" * 50, "404.html": b"<p>not here</p>",
                       "trials/a/index.html": b"<p>a</p>", "search.js": b"var x = 1;\n" * 100,
                       "search/terms/1.json": b"\x1f\x8b already gzip", "blob.bin": b"\x1f\x8b already gzip"}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    return tmp_path


def test_search_load_answers_as_a_static_host_does(served_files: Path) -> None:
    import gzip

    site = search_load.Site(served_files)
    status, headers, body = site.response("/", gzip_ok=True)
    assert (status, headers["Content-Encoding"]) == (200, "gzip")
    assert gzip.decompress(body) == (served_files / "index.html").read_bytes()
    status, headers, body = site.response("/search.js?v=1", gzip_ok=False)
    assert (status, headers["Content-Type"], body) == (200, "text/javascript", b"var x = 1;\n" * 100)
    assert headers.keys() == {"Content-Type", "ETag", "Last-Modified"}  # validators, as static hosts send
    status, headers, body = site.response("/blob.bin", gzip_ok=True)  # not a kind of file a host compresses
    assert (status, headers["Content-Type"], body) == (200, "application/octet-stream", b"\x1f\x8b already gzip")
    assert "Content-Encoding" not in headers
    assert site.response("/trials/a", gzip_ok=True)[:2] == (301, {"Location": "/trials/a/"})
    status, _, body = site.response("/trials/b/", gzip_ok=False)
    assert (status, body) == (404, b"<p>not here</p>")
    assert site.response("/../../etc/passwd", gzip_ok=False)[0] in (400, 404)
    assert site.response("/%2e%2e/secret", gzip_ok=False)[0] in (400, 404)


def test_search_load_server_lets_the_browser_cache_and_revalidate(served_files: Path) -> None:
    import urllib.error
    import urllib.request

    with search_load.serving(served_files, search_load.Throttle(0, 0)) as (url, server):
        with urllib.request.urlopen(url + "search/terms/1.json") as response:
            etag, cache_control = response.headers["ETag"], response.headers["Cache-Control"]
        request = urllib.request.Request(url + "search/terms/1.json", headers={"If-None-Match": etag})
        with pytest.raises(urllib.error.HTTPError) as not_modified:
            urllib.request.urlopen(request)
        server.wait_quiet(quiet=0.05, timeout=10)
    assert cache_control == "max-age=600"  # as GitHub Pages: a browser reuses the file for 10 minutes unasked
    assert not_modified.value.code == 304
    assert [(s.status, s.size) for s in sorted(server.log, key=lambda s: s.at)] == [(200, 15), (304, 0)]


def test_search_load_server_logs_the_bytes_it_sent(served_files: Path) -> None:
    import urllib.request

    with search_load.serving(served_files, search_load.Throttle(0, 0)) as (url, server):
        request = urllib.request.Request(url + "search.js", headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request) as response:
            body = response.read()
        with urllib.request.urlopen(url + "search/terms/1.json") as response:
            response.read()
        server.wait_quiet(quiet=0.05, timeout=10)
    # (in the order the requests came: the log's is the order the responses ended, which a busy machine may swap)
    assert [(s.path, s.status, s.size) for s in sorted(server.log, key=lambda s: s.at)] == [
        ("/search.js", 200, len(body)), ("/search/terms/1.json", 200, 15)]
    assert len(body) < 1100  # sent compressed


def test_search_load_options() -> None:
    args = search_load.parse_args([])
    assert (args.sizes, args.queries, args.site, args.keep) == ([1000], ["melanoma", "olaparib"], None, None)
    assert (args.latency_ms, args.kbps) == (150.0, 1600.0)
    args = search_load.parse_args(["--sizes", "1000", "10000", "--queries", "sarcoma", "--kbps", "0"])
    assert (args.sizes, args.queries, args.kbps) == ([1000, 10000], ["sarcoma"], 0.0)
    for bad in (["--sizes", "0"], ["--kbps", "-1"], ["--queries", " "], ["--site", "/nonexistent-site"]):
        with pytest.raises(SystemExit) as exit_:
            search_load.parse_args(bad)
        assert exit_.value.code == 2


# --- bench/serve_latency.py ------------------------------------------------------------------------------------


def test_serve_latency_options_keep_the_default_site() -> None:
    args = serve_latency.parse_args([])
    assert (args.runs, args.trials) == (10, None)
    assert serve_latency.parse_args(["--trials", "10000", "--runs", "3"]).trials == 10000
    for bad in (["--trials", "0"], ["--runs", "0"]):
        with pytest.raises(SystemExit) as exit_:
            serve_latency.parse_args(bad)
        assert exit_.value.code == 2


def test_serve_latency_edits_the_first_answer_and_leaves_the_rest(trials: dict[str, tuple[Trial, dict[str, Any]]]) \
        -> None:
    data = next(raw for _, raw in trials.values() if len(raw.get("faq", [])) > 1)
    before = yaml.safe_dump(data)
    edited = yaml.safe_load(serve_latency.edit_answer(data, "Edit 3: the trial does not say"))
    assert edited["faq"][0]["answer"] == f"Edit 3: the trial does not say. {data['faq'][0]['answer']}"
    assert edited["faq"][1:] == data["faq"][1:]
    assert {k: v for k, v in edited.items() if k != "faq"} == {k: v for k, v in data.items() if k != "faq"}
    assert yaml.safe_dump(data) == before  # the trial's data is not changed: every run edits the original


def test_serve_latency_sees_the_search_index_change(tmp_path: Path) -> None:
    assert serve_latency.entry_files(tmp_path) == {}
    (tmp_path / "search").mkdir()
    (tmp_path / "search" / "index.json").write_text("a", encoding="utf-8")
    before = serve_latency.entry_files(tmp_path)
    assert before == {"search": b"a"}
    assert serve_latency.changed_bundles(before, before) == []
    assert serve_latency.wait_for_new_entry(tmp_path, before, time.perf_counter(), timeout=0.05) is None
    (tmp_path / "search" / "index.json").write_text("c", encoding="utf-8")
    changed = serve_latency.wait_for_new_entry(tmp_path, before, time.perf_counter(), timeout=10)
    assert changed is not None and changed[1] == ["search"]
    # one that appears is a change; one being swapped (read as empty) or gone is not
    assert serve_latency.changed_bundles(before, {"search": b""}) == []
    assert serve_latency.changed_bundles({}, {"search": b"x"}) == ["search"]


def test_serve_latency_reads_the_servers_own_rebuild_times() -> None:
    said = [
        "Built 8329 files in 21034 ms\n",
        "Serving http://127.0.0.1:40000/  (watching content/; Ctrl-C to stop)\n",
        ("trials/synthetic-00500.yaml changed: re-rendered trials/synthetic-00500/faq/index.html, search/"
         "index.json and 3 more in 4812 ms\n"),
        "content/a.yaml changed: nothing to re-render (35 ms)\n",
        "content/x.yaml:3:4: faq: missing\n",
    ]
    assert serve_latency.rebuild_seconds(said) == [4.812, 0.035]


def test_a_sample_counts_for_the_stage_of_its_innermost_stage_function() -> None:
    """bench/profile_build.py --sampled: Markdown inside a template is Markdown, a method is found by its name."""
    stage_of = {(file, name): stage for stage, functions, _ in profile_build.STAGES for file, name in functions}
    jinja, markdown, other = "Jinja2 templates (the rest of rendering)", "Markdown prose to sanitized HTML", \
        "everything else (start-up, reading files, the cache, sitemap, feed)"
    render = "render_template (sitegen/render.py:684)"
    assert profile_build._stage(["main (sitegen/cli.py:1)", render, "root (faq.html:3)"], stage_of) == jinja
    assert profile_build._stage([render, "prose_html (sitegen/render.py:333)", "convert (markdown/core.py:1)"],
                                stage_of) == markdown
    assert profile_build._stage(["Writer.commit (sitegen/write.py:200)"], stage_of).startswith("move into output/")
    assert profile_build._stage(["commit (lib/rewrite.py:1)", "main (sitegen/cli.py:1)"], stage_of) == other
