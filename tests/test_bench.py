"""The catalog benchmark's generator (bench/catalog.py): deterministic, valid, and varied. Nothing is built here."""

from __future__ import annotations

import importlib.util
import sys
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


def _load_catalog() -> Any:
    spec = importlib.util.spec_from_file_location("bench_catalog", ROOT / "bench" / "catalog.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


catalog = _load_catalog()


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
    assert f"title: Demo catalog of {N:,} synthetic trials (not real trials)\n" in settings
    assert settings.replace(settings.split("\n")[2], "") == \
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
