"""Registry trials shown as their records say, checked against real ClinicalTrials.gov records (tests/data/ctgov/,
SOURCES.tsv) where an audit of 436 real records found a page saying something else."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from test_registry import make_registry_catalog, record

from sitegen.build import build


def built_page(tmp_path: Path, nct: str, study: dict[str, Any], page: str = "") -> str:
    build(make_registry_catalog(tmp_path, {nct: study}), tmp_path / "out", jobs=1)
    return (tmp_path / "out" / "trials" / nct.lower() / page / "index.html").read_text(encoding="utf-8")


def test_a_numbered_list_in_a_description_keeps_the_number_it_starts_at(tmp_path: Path) -> None:
    """NCT06568081's description numbers its stages 1, 2a, 2b and '3. Analysis, resource development and
    dissemination', the last after paragraphs: CommonMark, which the registry writes and shows, starts that list at
    3; Python-Markdown numbered it 1."""
    study = record("NCT06568081")
    assert "\n3. Analysis, resource development" in study["protocolSection"]["descriptionModule"]["detailedDescription"]
    page = built_page(tmp_path, "NCT06568081", study)
    assert re.search(r'<ol start="3">\s*<li>Analysis, resource development and dissemination', page), page



def test_a_link_s_label_shows_the_characters_the_record_escapes(tmp_path: Path) -> None:
    """NCT06648538 names a link 'Mildeca \\[En ligne\\]. Les français " addicts "...': the registry's texts are
    CommonMark, and its link labels escape as its other texts do; the page showed the backslashes."""
    study = record("NCT06648538")
    labels = [link["label"] for link in study["protocolSection"]["referencesModule"]["seeAlsoLinks"]]
    assert any(label.startswith("Mildeca \\[En ligne\\]") for label in labels)
    page = built_page(tmp_path, "NCT06648538", study, "references")
    assert ">Mildeca [En ligne]. Les français" in page and "\\[" not in page
