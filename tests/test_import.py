"""`sitegen import`: registry records in (files, NCT IDs, a search), the two files per trial out, idempotent, with a
change report; the API through a local fake server only (127.0.0.1, never the network)."""

from __future__ import annotations

import copy
import email.utils
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sitegen import importer, inputs
from sitegen.cli import _parser, main
from sitegen.errors import ContentError
from sitegen.registry import load_study, read_study
from sitegen.registry_fetch import FetchError, Registry, retry_after
from sitegen.schema import Badges, Settings
from sitegen.site import load_trial

DATA = Path(__file__).resolve().parent / "data"
JSON_RECORDS = sorted((DATA / "ctgov").glob("NCT*.json"))
XML_RECORDS = sorted(p for p in (DATA / "ctgov-xml").glob("*.xml") if "search" not in p.name)
FEEDS = sorted((DATA / "ctgov-xml").glob("*search.xml"))


def run(*argv: str, sleeps: list[float] | None = None) -> int:
    """`sitegen import ARGV`, with the waits between tries recorded instead of slept."""
    args = _parser().parse_args(["import", *argv])
    return importer.run(args, sleep=(sleeps if sleeps is not None else []).append)


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under `folder` with its bytes and modification time."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()}


def nct_of(path: Path) -> str:
    return str(json.loads(path.read_text())["protocolSection"]["identificationModule"]["nctId"])


# --- files -----------------------------------------------------------------------------------------------------


def test_every_json_record_writes_its_two_files_and_a_site_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    content = tmp_path / "newsite"
    assert run(*map(str, JSON_RECORDS), "--content", str(content)) == 0
    assert len(JSON_RECORDS) == 43
    for source in JSON_RECORDS:
        slug = nct_of(source).lower()
        record = content / "trials" / f"{slug}.ctgov.json"
        assert json.loads(record.read_text()) == json.loads(source.read_text())  # the study as the API gave it
        assert record.read_bytes() == (json.dumps(json.loads(source.read_text()), indent=2, sort_keys=True,
                                                  ensure_ascii=False) + "\n").encode()
        editor = yaml.safe_load((content / "trials" / f"{slug}.yaml").read_text())
        assert editor == {"slug": slug}  # only the slug; the rest is comments
    Settings.model_validate(yaml.safe_load((content / "site.yaml").read_text()))  # the build accepts it
    out = capsys.readouterr().out
    assert "43 trials imported" in out and "43 new" in out and "wrote site.yaml" in out


def test_an_imported_trial_has_the_defaults_of_the_fields_no_one_gave_each_its_own(tmp_path: Path) -> None:
    content = tmp_path / "site"
    assert run(*map(str, JSON_RECORDS[:2]), "--content", str(content)) == 0
    (first, a), (second, b) = (load_trial(path) for path in sorted((content / "trials").glob("*.yaml")))
    assert a.faq == b.faq == [] and a.badges == b.badges == Badges() and a.spots_left is None
    assert a.faq is not b.faq and a.badges is not b.badges  # an edit of one trial's list is not another's
    assert a.editor_fields == {"slug"} and a.slug == nct_of(JSON_RECORDS[0]).lower()


@pytest.mark.parametrize("source", XML_RECORDS, ids=lambda p: p.name)
def test_every_xml_record_is_converted_to_the_v2_shape(source: Path, tmp_path: Path) -> None:
    assert run(str(source), "--content", str(tmp_path)) == 0
    (record,) = (tmp_path / "trials").glob("*.ctgov.json")
    study = json.loads(record.read_text())
    ident = study["protocolSection"]["identificationModule"]
    assert record.name == f"{ident['nctId'].lower()}.ctgov.json"
    assert ident["briefTitle"] and study["protocolSection"]["statusModule"]["overallStatus"].isupper()
    assert (tmp_path / "trials" / f"{ident['nctId'].lower()}.yaml").exists()


def test_classic_xml_facts_in_the_v2_spelling(tmp_path: Path) -> None:
    run(str(DATA / "ctgov-xml" / "NCT04710303_covid_19_all_protocols.xml"), "--content", str(tmp_path))
    study = json.loads((tmp_path / "trials" / "nct04710303.ctgov.json").read_text())
    protocol = study["protocolSection"]
    assert protocol["statusModule"]["overallStatus"] == "RECRUITING"
    assert protocol["statusModule"]["startDateStruct"] == {"date": "2021-03-02", "type": "ACTUAL"}
    assert protocol["statusModule"]["primaryCompletionDateStruct"] == {"date": "2022-04", "type": "ESTIMATED"}
    design = protocol["designModule"]
    assert design["phases"] == ["PHASE1"] and design["studyType"] == "INTERVENTIONAL"
    assert design["designInfo"]["allocation"] == "NON_RANDOMIZED"
    assert design["designInfo"]["interventionModel"] == "SEQUENTIAL"
    assert design["designInfo"]["maskingInfo"]["masking"] == "NONE"
    site = protocol["contactsLocationsModule"]["locations"][0]
    assert site["status"] == "RECRUITING" and site["country"] == "South Africa" and site["contacts"]
    assert protocol["contactsLocationsModule"]["centralContacts"][0]["role"] == "CONTACT"
    assert "\r" not in protocol["descriptionModule"]["briefSummary"]
    old = json.loads(importer.record_bytes(_xml_study("raw_study.xml")))["protocolSection"]
    assert old["designModule"]["phases"] == ["PHASE2"]
    assert old["designModule"]["enrollmentInfo"] == {"count": 40, "type": "ESTIMATED"}
    assert old["eligibilityModule"]["sex"] == "ALL" and old["eligibilityModule"]["minimumAge"] == "18 Years"
    assert "maximumAge" not in old["eligibilityModule"]  # 'N/A': no limit
    assert old["statusModule"]["startDateStruct"] == {"date": "1991-04"}
    assert old["statusModule"]["lastUpdatePostDateStruct"] == {"date": "2013-07-09"}
    assert old["referencesModule"]["references"][0] == {
        "pmid": "8368765", "type": "RESULT", "citation": old["referencesModule"]["references"][0]["citation"]}


def test_an_xml_person_s_first_and_middle_names_are_part_of_the_name() -> None:
    """ClinicalTrials.gov's records write the whole name in <last_name>; its schema has <first_name> and
    <middle_name> too, which were dropped when <last_name> was there."""
    import xml.etree.ElementTree as ET

    from sitegen.registry_xml import study_from_xml

    root = ET.parse(DATA / "ctgov-xml" / "NCT04452435_covid_19.xml").getroot()
    official = root.find("overall_official")
    assert official is not None
    whole = official.findtext("last_name")
    first, middle = ET.SubElement(official, "first_name"), ET.SubElement(official, "middle_name")
    first.text, middle.text = "Ada", "B."
    officials = study_from_xml(root)["protocolSection"]["contactsLocationsModule"]["overallOfficials"]
    assert officials[0]["name"] == f"Ada B. {whole}"
    official.remove(first)
    official.remove(middle)
    officials = study_from_xml(root)["protocolSection"]["contactsLocationsModule"]["overallOfficials"]
    assert officials[0]["name"] == whole  # as every real record writes it: unchanged



def test_an_xml_record_s_gender_description_and_expanded_access_types_are_converted() -> None:
    """<gender_based>, <gender_description>, <expanded_access_info>, <target_duration> and <biospec_retention> and
    <biospec_descr> are in the classic schema and have v2 counterparts (the pages show them); the conversion dropped
    them."""
    import xml.etree.ElementTree as ET

    from sitegen.registry_xml import study_from_xml

    root = ET.parse(DATA / "ctgov-xml" / "NCT04452435_covid_19.xml").getroot()
    eligibility = root.find("eligibility")
    assert eligibility is not None
    for tag, text in (("gender_based", "Yes"), ("gender_description", "\n      Assigned female at birth\n    ")):
        ET.SubElement(eligibility, tag).text = text
    access = ET.SubElement(root, "expanded_access_info")
    for kind, answer in (("individual", "Yes"), ("intermediate", "No"), ("treatment", "Yes")):
        ET.SubElement(access, f"expanded_access_type_{kind}").text = answer
    protocol = study_from_xml(root)["protocolSection"]
    assert protocol["eligibilityModule"]["genderBased"] is True
    assert protocol["eligibilityModule"]["genderDescription"] == "Assigned female at birth"
    assert protocol["designModule"]["expandedAccessTypes"] == {"individual": True, "intermediate": False, "treatment": True}
    for tag, text in (("target_duration", "2 Years"), ("biospec_retention", "Samples Without DNA"),
                      ("biospec_descr", "\n      Whole blood\n    ")):
        ET.SubElement(root, tag).text = text
    design = study_from_xml(root)["protocolSection"]["designModule"]
    assert design["targetDuration"] == "2 Years"
    assert design["bioSpec"] == {"retention": "SAMPLES_WITHOUT_DNA", "description": "Whole blood"}
    plain = study_from_xml(ET.parse(DATA / "ctgov-xml" / "NCT04452435_covid_19.xml").getroot())["protocolSection"]
    assert "expandedAccessTypes" not in plain["designModule"] and "genderBased" not in plain["eligibilityModule"]

def test_an_import_removes_what_a_killed_import_left_and_nothing_else(tmp_path: Path) -> None:
    """A write killed between its temporary file and the rename leaves `.nct....tmp` in trials/; the next import
    deletes those older than an hour, and leaves a newer one (another import may be writing it) and other files."""
    trials = tmp_path / "trials"
    trials.mkdir()
    old, new = trials / ".nct04452435.ctgov.json.k1l2m3.tmp", trials / ".nct04452435.yaml.a1b2c3.tmp"
    site = tmp_path / ".site.yaml.x9y8z7.tmp"  # site.yaml's, written when the folder had none
    mine = trials / ".notes.tmp"
    for path in (old, new, site, mine):
        path.write_text("{", encoding="utf-8")
    hours_ago = time.time() - 2 * importer.LEFTOVER_AGE
    for path in (old, site, mine):
        os.utime(path, (hours_ago, hours_ago))
    assert run(str(DATA / "ctgov-xml" / "NCT04452435_covid_19.xml"), "--content", str(tmp_path)) == 0
    assert not old.exists() and not site.exists() and new.exists() and mine.exists()
    assert (trials / "nct04452435.ctgov.json").is_file()


def test_xml_text_keeps_its_lines_without_the_files_indentation(tmp_path: Path) -> None:
    (tmp_path / "r.xml").write_text(
        "<clinical_study><id_info><nct_id>NCT01234567</nct_id></id_info><brief_title>T</brief_title>\r\n"
        "  <arm_group><arm_group_label>A</arm_group_label><description>Cycle 1:\r\n        day 1\r\n\r\n"
        "        - nested\r\n      </description></arm_group>\n"
        "  <eligibility><criteria><textblock>\n        Inclusion:\n\n          -  one\n\n"
        "               -  nested\n      </textblock></criteria></eligibility></clinical_study>")
    protocol = _xml_study(tmp_path / "r.xml")["protocolSection"]
    assert protocol["armsInterventionsModule"]["armGroups"][0]["description"] == "Cycle 1:\nday 1\n\n- nested"
    assert protocol["eligibilityModule"]["eligibilityCriteria"] == "Inclusion:\n\n  -  one\n\n       -  nested"


@pytest.mark.parametrize("count", ["9" * 5000, "\u00b2", "\u0664\u0660", "1234567890", "N/A"],
                         ids=["5000 digits", "superscript 2", "Arabic-Indic 40", "10 digits", "N/A"])
def test_an_xml_enrollment_that_is_not_a_count_is_left_out(count: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (DATA / "ctgov-xml" / "raw_study.xml").read_text()
    assert '<enrollment type="Anticipated">40</enrollment>' in text
    (tmp_path / "r.xml").write_text(text.replace(">40</enrollment>", f">{count}</enrollment>"))
    assert run(str(tmp_path / "r.xml"), "--content", str(tmp_path / "site")) == 0
    assert "Traceback" not in capsys.readouterr().err
    study = json.loads((tmp_path / "site" / "trials" / "nct00002475.ctgov.json").read_text())
    assert "enrollmentInfo" not in study["protocolSection"]["designModule"]
    assert _xml_study("raw_study.xml")["protocolSection"]["designModule"]["enrollmentInfo"]["count"] == 40


def _xml_study(name: str | Path) -> dict[str, Any]:
    records, problems = importer.read_file(DATA / "ctgov-xml" / name)  # an absolute Path stays as it is
    assert not problems
    return records[0].study


def test_the_three_json_shapes_are_all_accepted(tmp_path: Path) -> None:
    studies = [json.loads(p.read_text()) for p in JSON_RECORDS[:3]]
    (tmp_path / "single.json").write_text(json.dumps(studies[0]))
    (tmp_path / "page.json").write_text(json.dumps({"studies": studies[1:], "nextPageToken": "x"}))
    (tmp_path / "export.json").write_text(json.dumps(studies))
    for name in ("single", "page", "export"):
        content = tmp_path / name
        assert run(str(tmp_path / f"{name}.json"), "--content", str(content)) == 0
        written = sorted(p.name for p in (content / "trials").glob("*.ctgov.json"))
        expected = {"single": studies[:1], "page": studies[1:], "export": studies}[name]
        assert written == sorted(f"{s['protocolSection']['identificationModule']['nctId'].lower()}.ctgov.json" for s in expected)



def test_a_saved_search_page_naming_a_next_page_says_the_rest_is_not_imported(tmp_path: Path,
                                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """One page of an API search saved to a file, with the token of the next page, was imported without a word: the
    catalog held 100 trials of a search that found 1,000, and nothing said so."""
    studies = [json.loads(p.read_text()) for p in JSON_RECORDS[:2]]
    (tmp_path / "page.json").write_text(json.dumps({"studies": studies, "nextPageToken": "NF0g5JGBlvQs"}))
    (tmp_path / "last.json").write_text(json.dumps({"studies": [json.loads(JSON_RECORDS[2].read_text())], "totalCount": 1}))
    assert run(str(tmp_path / "page.json"), str(tmp_path / "last.json"), "--content", str(tmp_path / "site")) == 0
    err = capsys.readouterr().err
    assert f"{tmp_path / 'page.json'}: warning: a page of a registry search that names a next page (nextPageToken): " \
           "its 2 studies imported, none of the pages after it; to import every page, import the search with --query" in err
    assert "last.json" not in err  # the last page of a search, or the whole of a small one: nothing to say

# --- idempotence and the editor's file -------------------------------------------------------------------------


def test_reimporting_unchanged_records_changes_no_byte_and_no_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sources = [str(p) for p in JSON_RECORDS[:5]] + [str(DATA / "ctgov-xml" / "raw_study.xml")]
    run(*sources, "--content", str(tmp_path))
    before = snapshot(tmp_path)
    capsys.readouterr()
    time.sleep(0.01)  # a rewrite would show in the modification time
    assert run(*sources, "--content", str(tmp_path)) == 0
    assert snapshot(tmp_path) == before
    out = capsys.readouterr().out
    assert out.count(": unchanged\n") == 6 and "0 new, 0 changed, 6 unchanged" in out


def test_the_editors_file_is_never_rewritten(tmp_path: Path) -> None:
    run(str(DATA / "ctgov-xml" / "raw_study.xml"), "--content", str(tmp_path))
    editor = tmp_path / "trials" / "nct00002475.yaml"
    editor.write_text("slug: nct00002475\ntitle: Vaccine therapy for advanced cancer\n")
    kept = (editor.read_bytes(), editor.stat().st_mtime_ns)
    record = tmp_path / "trials" / "nct00002475.ctgov.json"
    old_record = record.read_bytes()
    assert run(str(DATA / "ctgov-xml" / "raw_study_changed.xml"), "--content", str(tmp_path)) == 0
    assert (editor.read_bytes(), editor.stat().st_mtime_ns) == kept
    assert record.read_bytes() != old_record
    assert not list((tmp_path / "trials").glob(".*"))  # no temporary file left behind


def test_an_editor_s_file_saved_while_the_import_writes_it_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Found by a hostile review: the import looked for the editor's file, then renamed its own over the path; a
    file the editor saved in between (or another import's) was lost. It is kept now."""
    import tempfile

    editor = tmp_path / "trials" / "nct00002475.yaml"
    mine = "slug: nct00002475\ntitle: Saved a moment ago\n"
    make = tempfile.mkstemp

    def saved_meanwhile(*args: Any, **kwargs: Any) -> tuple[int, str]:
        if kwargs.get("prefix") == f".{editor.name}." and not editor.exists():
            editor.write_text(mine)  # the editor saves just after the import looked
        return make(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", saved_meanwhile)
    assert run(str(DATA / "ctgov-xml" / "raw_study.xml"), "--content", str(tmp_path), "--json") == 0
    assert json.loads(capsys.readouterr().out)["trials"][0]["editorFileCreated"] is False
    assert editor.read_text() == mine
    assert not list((tmp_path / "trials").glob(".*"))  # no temporary file left behind


def test_every_file_an_import_writes_is_on_the_disk_before_its_name(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A rename is not a write: after a power cut, a file renamed before its bytes reached the disk can be empty
    under its new name, and the registry record or site.yaml it replaced is lost. Each file is synced before it
    takes its name, and each folder once after them all."""
    events: list[tuple[str, str]] = []
    sync, rename, link = os.fsync, os.replace, os.link

    def synced(fd: int) -> None:
        events.append(("sync", os.readlink(f"/proc/self/fd/{fd}")))
        sync(fd)

    def renamed(source: Any, target: Any, *args: Any, **kwargs: Any) -> None:
        events.append(("name", os.path.realpath(source)))
        rename(source, target, *args, **kwargs)

    def linked(source: Any, target: Any, *args: Any, **kwargs: Any) -> None:
        events.append(("name", os.path.realpath(source)))
        link(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "fsync", synced)
    monkeypatch.setattr(os, "replace", renamed)
    monkeypatch.setattr(os, "link", linked)
    assert run(str(DATA / "ctgov-xml" / "raw_study.xml"), *map(str, JSON_RECORDS[:2]), "--content", str(tmp_path)) == 0
    named = [path for what, path in events if what == "name"]
    assert len(named) == 7 and {Path(p).name.split(".tmp")[0].rsplit(".", 1)[0] for p in named} >= {
        ".site.yaml", ".nct00002475.ctgov.json", ".nct00002475.yaml"}
    for temporary in named:
        at = events.index(("name", temporary))
        assert ("sync", temporary) in events[:at]  # its bytes first
        assert ("sync", str(Path(temporary).parent)) in events[at:]  # then its name
    folders = [path for what, path in events if what == "sync" and Path(path).is_dir()]
    assert sorted(folders) == sorted({str(Path(p).parent) for p in named})  # each once, not once a file


def test_an_editor_s_file_found_missing_is_created_and_said(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An import killed between the registry's file and the editor's leaves a record a build refuses ('no editor's
    file beside this registry record'); the next import makes the file, and says so even of an unchanged record."""
    assert run(str(DATA / "ctgov-xml" / "raw_study.xml"), "--content", str(tmp_path)) == 0
    (tmp_path / "trials" / "nct00002475.yaml").unlink()
    capsys.readouterr()
    assert run(str(DATA / "ctgov-xml" / "raw_study.xml"), "--content", str(tmp_path)) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        "NCT00002475: unchanged; its editor's file nct00002475.yaml was missing: created")
    assert (tmp_path / "trials" / "nct00002475.yaml").read_text().count("slug: nct00002475") == 1


def test_a_site_yaml_of_the_editor_is_kept(tmp_path: Path) -> None:
    (tmp_path / "site.yaml").write_text("title: Mine\nbase_url: https://example.org/\n")
    run(str(JSON_RECORDS[0]), "--content", str(tmp_path))
    assert (tmp_path / "site.yaml").read_text() == "title: Mine\nbase_url: https://example.org/\n"


# --- the change report -----------------------------------------------------------------------------------------


def test_change_report_raw_study_to_raw_study_changed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What differs between the two records, read in both files: the official title ('A Trial of Active
    Intralymphatic ...' -> 'Testing File For Import Differences') and the condition MeSH terms (Breast, Colorectal
    and Kidney Neoplasms and 'Carcinoma, Renal Cell' gone). The rest is no change of fact: gender 'All' became
    'Both' (both ALL in v2), the design moved to the one-line <study_design> (same primary purpose), the
    intervention MeSH terms were reordered, and fields with no v2 counterpart (safety_issue,
    oversight_info/authority, is_fda_regulated, is_section_801, the download date) appeared."""
    run(str(DATA / "ctgov-xml" / "raw_study.xml"), "--content", str(tmp_path))
    capsys.readouterr()
    assert run(str(DATA / "ctgov-xml" / "raw_study_changed.xml"), "--content", str(tmp_path)) == 0
    assert capsys.readouterr().out.splitlines()[0] == "NCT00002475: official title changed; 4 condition MeSH terms removed"
    run(str(DATA / "ctgov-xml" / "raw_study.xml"), "--content", str(tmp_path), "--json")
    report = json.loads(capsys.readouterr().out)
    (trial,) = report["trials"]
    assert trial["nctId"] == "NCT00002475" and trial["state"] == "changed"
    assert trial["changes"] == [
        {"field": "official title", "before": "Testing File For Import Differences",
         "after": "A Trial of Active Intralymphatic Immunotherapy With Interferon-Treated Cells and Cyclophosphamide",
         "text": "official title changed"},
        {"field": "condition MeSH terms", "added": ["Breast Neoplasms", "Colorectal Neoplasms", "Kidney Neoplasms",
                                                    "Carcinoma, Renal Cell"],
         "removed": [], "changed": [], "text": "4 condition MeSH terms added"},
    ]
    assert report["problems"] == []


def test_change_report_names_status_dates_enrollment_sites_criteria_and_more() -> None:
    old = json.loads((DATA / "ctgov" / "NCT00831909.json").read_text())  # 162 sites
    new = copy.deepcopy(old)
    p = new["protocolSection"]
    p["statusModule"]["overallStatus"] = "TERMINATED"
    p["statusModule"]["whyStopped"] = "Low accrual"
    p["statusModule"]["completionDateStruct"] = {"date": "2031-01", "type": "ESTIMATED"}
    p["designModule"]["enrollmentInfo"] = {"count": 66, "type": "ACTUAL"}
    sites = p["contactsLocationsModule"]["locations"]
    removed = sites.pop(0)
    sites += [{"facility": f"New Clinic {n}", "city": "Lyon", "country": "France"} for n in range(3)]
    sites[0]["status"] = "COMPLETED"
    p["eligibilityModule"]["eligibilityCriteria"] += "\n* One more criterion"
    p["contactsLocationsModule"]["centralContacts"] = [{"name": "A. Nurse", "role": "CONTACT"}]
    p["statusModule"]["lastUpdatePostDateStruct"] = {"date": "2026-11-01", "type": "ACTUAL"}
    p["oversightModule"] = {"oversightHasDmc": True}
    found = importer.changes(old, new)
    start = old["protocolSection"]["statusModule"]
    assert "; ".join(c["text"] for c in found) == (
        f"status Completed → Terminated; why stopped none → 'Low accrual'; "
        f"completion {importer._dated(start['completionDateStruct'])} → 2031-01 (anticipated); "
        f"enrollment {old['protocolSection']['designModule']['enrollmentInfo']['count']} (actual) → 66 (actual); "
        "3 sites added, 1 removed, 1 changed; eligibility criteria changed; 1 central contact added; "
        f"last update {importer._dated(start['lastUpdatePostDateStruct'])} → 2026-11-01 (actual); also changed: oversight"
    )
    sites_change = next(c for c in found if c["field"] == "sites")
    assert sites_change["removed"] == [importer._site(removed)]
    assert sites_change["added"] == [f"New Clinic {n}, Lyon, France" for n in range(3)]



def test_change_report_names_no_change_that_reads_the_same_in_words() -> None:
    """A field left out and the same field empty or false (a partial record re-imported whole) was reported as
    'results none → none' and 'why stopped none → none'."""
    whole = json.loads((DATA / "ctgov" / "NCT05814159.json").read_text())
    partial = copy.deepcopy(whole)
    del partial["hasResults"]
    partial["protocolSection"]["statusModule"]["whyStopped"] = ""
    assert importer.changes(partial, whole) == []
    closed = copy.deepcopy(whole)
    closed["hasResults"] = True
    assert [c["text"] for c in importer.changes(partial, closed)] == ["results none → posted"]

def test_change_report_of_arms_interventions_outcomes_and_phase() -> None:
    old = json.loads((DATA / "ctgov" / "NCT02369484.json").read_text())
    new = copy.deepcopy(old)
    p = new["protocolSection"]
    p["designModule"]["phases"] = ["PHASE2", "PHASE3"]
    p["armsInterventionsModule"]["armGroups"].append({"label": "Extra arm", "type": "EXPERIMENTAL"})
    p["armsInterventionsModule"]["interventions"][0]["description"] = "Given differently now."
    p["outcomesModule"]["primaryOutcomes"].pop()
    texts = [c["text"] for c in importer.changes(old, new)]
    assert texts[0].startswith("phase ") and texts[0].endswith("→ Phase 2/Phase 3")
    assert texts[1:] == ["1 arm added", "1 intervention changed", "1 primary outcome removed"]


# --- refused input ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("feed", FEEDS, ids=lambda p: p.name)
def test_a_registry_search_feed_is_refused_clearly(feed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(str(feed), "--content", str(tmp_path / "site")) == 1
    err = capsys.readouterr().err
    assert f"{feed}: this is a registry search feed (RSS), not a study record" in err and "Traceback" not in err
    assert not (tmp_path / "site").exists()


@pytest.mark.parametrize("root", ["FullStudiesResponse", "FullStudy", "StudyFieldsResponse"])
def test_a_record_of_the_retired_api_v1_is_refused_naming_it(root: str, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Found by a real-data review: AACT's test data (spec/support/json_data/) has v1 files, which got the message
    for any JSON that is not a study."""
    old = tmp_path / "NCT00023673.json"
    old.write_text(json.dumps({root: {"APIVrs": "1.01.05", "FullStudies": [{"Rank": 1, "Study": {
        "ProtocolSection": {"IdentificationModule": {"NCTId": "NCT00023673"}}}}]}}))
    assert run(str(old), "--content", str(tmp_path / "site")) == 1
    err = capsys.readouterr().err
    assert f"{old}: this is the registry's retired API v1 format ({root}), not a v2 study" in err
    assert "Traceback" not in err and not (tmp_path / "site").exists()


def test_a_record_without_nct_id_or_title_is_refused_naming_file_and_index(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = json.loads(JSON_RECORDS[0].read_text())
    no_id = copy.deepcopy(good)
    del no_id["protocolSection"]["identificationModule"]["nctId"]
    no_title = copy.deepcopy(good)
    no_title["protocolSection"]["identificationModule"]["nctId"] = "NCT99999999"
    for key in ("briefTitle", "officialTitle"):
        no_title["protocolSection"]["identificationModule"].pop(key, None)
    bad_id = copy.deepcopy(good)
    bad_id["protocolSection"]["identificationModule"]["nctId"] = "NCT0/../../x"
    source = tmp_path / "export.json"
    source.write_text(json.dumps([good, no_id, no_title, bad_id]))
    assert run(str(source), "--content", str(tmp_path / "site")) == 1
    err = capsys.readouterr().err
    assert f"{source}: study 2 of 4: no NCT ID (protocolSection.identificationModule.nctId)" in err
    assert f"{source}: study 3 of 4: NCT99999999 has no title" in err
    assert f"{source}: study 4 of 4: 'NCT0/../../x' is not an NCT ID" in err
    written = sorted(p.name for p in (tmp_path / "site" / "trials").iterdir())
    slug = nct_of(JSON_RECORDS[0]).lower()
    assert written == [f"{slug}.ctgov.json", f"{slug}.yaml"]  # the good record is imported, the others are not



def test_an_xml_record_s_problems_name_its_own_elements(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A classic XML record without an NCT ID, a title or a part was said to lack
    'protocolSection.identificationModule.nctId', 'briefTitle or officialTitle' or 'eligibilityModule': fields of
    the v2 shape it is converted to, which its author never wrote and cannot find in the file."""
    text = (DATA / "ctgov-xml" / "NCT04452435_covid_19.xml").read_text()
    (tmp_path / "noid.xml").write_text(text.replace("<nct_id>NCT04452435</nct_id>", ""))
    untitled = re.sub(r"<(brief|official)_title>.*</(brief|official)_title>", "", text)
    (tmp_path / "untitled.xml").write_text(untitled)
    (tmp_path / "partial.xml").write_text(re.sub(r"(?s)<eligibility>.*</eligibility>", "", text))
    assert run(*(str(tmp_path / f"{n}.xml") for n in ("noid", "untitled", "partial")), "--content", str(tmp_path / "s")) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'noid.xml'}: no NCT ID (<id_info><nct_id>); a record without one cannot be imported" in err
    assert f"{tmp_path / 'untitled.xml'}: NCT04452435 has no title (<brief_title> or <official_title>); refused" in err
    assert f"{tmp_path / 'partial.xml'}: warning: NCT04452435 is a partial record: no <eligibility>; imported" in err
    assert "Module" not in err and "protocolSection" not in err

def test_an_nct_id_is_ascii_digits_only(tmp_path: Path, registry: FakeRegistry, capsys: pytest.CaptureFixture[str]) -> None:
    study = json.loads(JSON_RECORDS[0].read_text())
    study["protocolSection"]["identificationModule"]["nctId"] = "NCT\u0660\u0660\u0664\u0661\u0665\u0662\u0662\u0660"  # Arabic-Indic digits
    (tmp_path / "arabic.json").write_text(json.dumps(study, ensure_ascii=False))
    source = "NCT0000000\u0661"
    assert run(str(tmp_path / "arabic.json"), source, "--content", str(tmp_path / "site"), "--api-url", registry.url) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'arabic.json'}: '{study['protocolSection']['identificationModule']['nctId']}' is not an NCT ID" in err
    assert f"{source}: no such file, and not an NCT ID (NCT and 8 digits, 0-9)" in err and "Traceback" not in err
    assert not (tmp_path / "site").exists() and registry.requests == []
    with pytest.raises(FetchError, match="is not an NCT ID"):
        Registry(registry.url).study(source)
    with pytest.raises(ContentError, match="no NCT ID"):  # nor does a build take one
        read_study(study, "arabic.json")


def test_a_record_holding_a_lone_surrogate_is_refused_and_nothing_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = json.loads(JSON_RECORDS[0].read_text())
    title = copy.deepcopy(good)
    title["protocolSection"]["identificationModule"]["briefTitle"] = "McM\ud800orland"  # valid JSON: "McM\\ud800orland"
    key = json.loads(JSON_RECORDS[1].read_text())
    key["protocolSection"]["conditionsModule"]["conditions"].append({"x\udc00": 1})
    nct = copy.deepcopy(good)
    nct["protocolSection"]["identificationModule"]["nctId"] = "NCT\ud800"
    (tmp_path / "title.json").write_text(json.dumps(title))
    (tmp_path / "export.json").write_text(json.dumps([key, nct]))
    sources = [str(tmp_path / "title.json"), str(tmp_path / "export.json")]
    assert run(*sources, "--content", str(tmp_path / "new")) == 1
    err = capsys.readouterr().err
    assert (f"{tmp_path / 'title.json'}: {nct_of(JSON_RECORDS[0])}: protocolSection.identificationModule.briefTitle holds "
            "\\ud800, half of a UTF-16 surrogate pair without its other half, which is no character; refused") in err
    conditions = len(key["protocolSection"]["conditionsModule"]["conditions"]) - 1
    assert (f"{tmp_path / 'export.json'}: study 1 of 2: {nct_of(JSON_RECORDS[1])}: protocolSection.conditionsModule."
            f"conditions[{conditions}].x\\udc00 holds \\udc00") in err
    assert f"{tmp_path / 'export.json'}: study 2 of 2: 'NCT\\ud800' is not an NCT ID" in err
    assert "Traceback" not in err and not (tmp_path / "new").exists()  # no site.yaml, no empty trials/ left behind
    assert run(*sources, str(JSON_RECORDS[2]), "--content", str(tmp_path / "site"), "--json") == 1
    report = json.loads(capsys.readouterr().out)  # the report is UTF-8 JSON, the surrogates escaped
    assert [t["nctId"] for t in report["trials"]] == [nct_of(JSON_RECORDS[2])]
    assert [p["file"] for p in report["problems"]] == [sources[0], sources[1], sources[1]]
    assert report["problems"][2]["message"].startswith("study 2 of 2: 'NCT\\ud800' is not an NCT ID")
    assert sorted(p.name for p in (tmp_path / "site" / "trials").iterdir()) == [
        f"{nct_of(JSON_RECORDS[2]).lower()}.ctgov.json", f"{nct_of(JSON_RECORDS[2]).lower()}.yaml"]


def test_a_partial_record_imports_what_it_holds_and_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "partial.json"
    source.write_text(json.dumps({"protocolSection": {"identificationModule": {"nctId": "NCT01234567", "briefTitle": "T"},
                                                      "statusModule": {"overallStatus": "RECRUITING"}}}))
    assert run(str(source), "--content", str(tmp_path / "site")) == 0
    assert (tmp_path / "site" / "trials" / "nct01234567.ctgov.json").exists()
    assert (f"{source}: warning: NCT01234567 is a partial record: no sponsorCollaboratorsModule, descriptionModule, "
            "conditionsModule, designModule, eligibilityModule; imported what it holds") in capsys.readouterr().err


def test_broken_files_are_refused_with_their_position(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "broken.json").write_text('{"protocolSection": {\n  "x": }\n')
    (tmp_path / "broken.xml").write_text("<clinical_study>\n<id_info></clinical_study>\n")
    (tmp_path / "other.xml").write_text("<html/>")
    (tmp_path / "deep.json").write_text("[" * 100_000)
    names = ["broken.json", "broken.xml", "other.xml", "deep.json", "missing.json"]
    assert run(*(str(tmp_path / n) for n in names), "--content", str(tmp_path / "site")) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'broken.json'}:2:8: not valid JSON: Expecting value" in err
    assert f"{tmp_path / 'broken.xml'}:2:" in err and "not well-formed XML" in err
    assert f"{tmp_path / 'other.xml'}: not a registry record: expected <clinical_study>, found <html>" in err
    assert f"{tmp_path / 'deep.json'}:1:51: values nested more than 50 levels deep" in err
    assert f"{tmp_path / 'missing.json'}: no such file, and not an NCT ID" in err
    assert "Traceback" not in err and not (tmp_path / "site").exists()


@pytest.mark.parametrize("encoding", ["x-nonexistent", "rot13", "utf-7", "shift_jis", "idna", "punycode"])
def test_an_xml_encoding_that_cannot_be_read_is_refused_clearly(encoding: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (DATA / "ctgov-xml" / "raw_study.xml").read_text()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    source = tmp_path / "r.xml"
    source.write_text(text.replace('encoding="UTF-8"', f'encoding="{encoding}"', 1))
    assert run(str(source), "--content", str(tmp_path / "site")) == 1
    err = capsys.readouterr().err
    assert (f"{source}:1:31: the XML declares the encoding '{encoding}', which cannot be read: expected UTF-8, the "
            "encoding of registry records") in err
    assert "Traceback" not in err and not (tmp_path / "site").exists()


@pytest.mark.parametrize("codec", ["utf-8", "utf-16-le", "utf-16", "utf-16-be", "utf-32", "utf-32-le"])
def test_xml_declaring_entities_is_refused_in_any_encoding(codec: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    encoding = codec.upper()[:6]  # the declaration names the encoding the file is in; 'utf-16' writes a byte-order mark
    body = (DATA / "ctgov-xml" / "raw_study.xml").read_text().split("\n", 1)[1].replace("<brief_title>", "<brief_title>&b;", 1)
    laughs = f'<?xml version="1.0" encoding="{encoding}"?>\n<!DOCTYPE clinical_study [<!ENTITY a "{"x" * 1000}">' \
             '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n' + body
    parameter = f'<?xml version="1.0" encoding="{encoding}"?>\n<!DOCTYPE clinical_study [\n  <!ENTITY % p "x">]>\n' + body.replace("&b;", "")
    (tmp_path / "laughs.xml").write_bytes(laughs.encode(codec))
    (tmp_path / "parameter.xml").write_bytes(parameter.encode(codec))
    assert (b"<!ENTITY" in (tmp_path / "laughs.xml").read_bytes()) == (codec == "utf-8")  # UTF-16 hides it from a byte search
    assert run(str(tmp_path / "laughs.xml"), str(tmp_path / "parameter.xml"), "--content", str(tmp_path / "site")) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'laughs.xml'}:2:38: XML that declares entities is refused (a registry record has none)" in err
    assert f"{tmp_path / 'parameter.xml'}:3:16: XML that declares entities is refused" in err
    assert "Traceback" not in err and not (tmp_path / "site").exists()


def test_a_json_file_of_more_studies_or_objects_than_an_import_takes_is_refused_before_reading_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A file of 3,000,000 '{}' (9 MB) took an import 43 s and 1.7 GB (each object read, each study refused and
    reported on a line), and one of the 256 MB an import reads would have taken 40 GB; an import takes 10,000."""
    (tmp_path / "many.json").write_text("[" + ",".join(["{}"] * 10_001) + "]")
    good = json.loads(JSON_RECORDS[0].read_text())
    (tmp_path / "good.json").write_text(json.dumps(good))
    assert run(str(tmp_path / "many.json"), str(tmp_path / "good.json"), "--content", str(tmp_path / "site")) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'many.json'}: 10,001 studies in one file, more than the 10,000 an import takes: import them " \
           "in parts" in err and err.count("\n") < 10, err
    monkeypatch.setattr(importer, "MAX_JSON_CONTAINERS", 1000)  # (5,000,000 in use: 15 MB of '{}' to write and read)
    (tmp_path / "deep.json").write_text(json.dumps({"studies": [good], "x": [[]] * 1000}))
    assert run(str(tmp_path / "deep.json"), str(tmp_path / "good.json"), "--content", str(tmp_path / "site")) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'deep.json'}: " in err and "JSON objects and arrays, more than the 1,000 an import reads: " \
           "expected at most 10,000 studies (a real one holds a few hundred); import them in parts" in err, err
    written = [p.name for p in (tmp_path / "site" / "trials").glob("*.ctgov.json")]
    assert written == [f"{nct_of(JSON_RECORDS[0]).lower()}.ctgov.json"]  # the good file is imported each time


def test_an_xml_file_of_more_elements_than_a_record_holds_is_refused_at_the_first_too_many(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Each element read takes about 100 bytes: a 10 MB file of '<x/>' took 250 MB and 6 s, one of the 256 MB an
    import reads would have taken 6 GB and minutes, for a file that can hold no more than one record."""
    text = (DATA / "ctgov-xml" / "NCT04452435_covid_19.xml").read_text()
    at = text.index("<brief_title>")
    (tmp_path / "record.xml").write_text(text)
    (tmp_path / "many.xml").write_text(text[:at] + "<x/>" * 1000 + text[at:])
    monkeypatch.setattr(importer, "MAX_XML_ELEMENTS", 500)  # (2,000,000 in use: as many takes 2 s to write and read)
    assert run(str(tmp_path / "many.xml"), str(tmp_path / "record.xml"), "--content", str(tmp_path / "site")) == 1
    err = capsys.readouterr().err
    line = text.count("\n", 0, at) + 1
    assert (f"{tmp_path / 'many.xml'}:{line}:" in err and "more than 500 XML elements: expected one registry record "
            "(one of 10,000 sites and posted results has a few hundred thousand); refused") in err, err
    assert [p.name for p in (tmp_path / "site" / "trials").glob("*.ctgov.json")] == ["nct04452435.ctgov.json"]


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-be", "utf-8-sig"])
def test_a_record_in_utf16_or_utf32_imports_as_its_utf8_form(codec: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With a byte-order mark ('utf-16', 'utf-32', 'utf-8-sig') or without one: an XML record, its declaration naming the
    encoding it is in, and a JSON record (RFC 8259 asks for UTF-8; the JSON reader takes UTF-16 and UTF-32 too)."""
    utf8 = {"record.xml": DATA / "ctgov-xml" / "raw_study.xml", "record.json": JSON_RECORDS[0]}
    declared = 'encoding="' + codec.upper().removesuffix("-SIG")[:6] + '"'  # as the declaration names the encoding
    for name, source in utf8.items():
        (tmp_path / name).write_bytes(source.read_text().replace('encoding="UTF-8"', declared, 1).encode(codec))
        assert run(str(source), "--content", str(tmp_path / "from-utf8")) == 0
        assert run(str(tmp_path / name), "--content", str(tmp_path / codec)) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and "refused" not in err
    files = {folder: {p.name: p.read_bytes() for p in (tmp_path / folder / "trials").iterdir()} for folder in ("from-utf8", codec)}
    assert len(files[codec]) == 4 and files[codec] == files["from-utf8"]


def test_xml_declaring_an_encoding_it_is_not_in_is_refused_at_the_declaration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    xml = (DATA / "ctgov-xml" / "raw_study.xml").read_text()
    sources = {"utf16.xml": ("UTF-8", "utf-16"), "be.xml": ("x-nonexistent", "utf-16-be"), "utf32.xml": ("UTF-16", "utf-32"),
               "utf8.xml": ("UTF-16", "utf-8")}
    for name, (declared, codec) in sources.items():
        (tmp_path / name).write_bytes(xml.replace('encoding="UTF-8"', f'encoding="{declared}"', 1).encode(codec))
    (tmp_path / "cut.xml").write_bytes(xml.encode("utf-32")[:-2])  # half a character at the end
    assert run(*(str(tmp_path / n) for n in [*sources, "cut.xml"]), "--content", str(tmp_path / "site")) == 1
    err = capsys.readouterr().err
    told = " (its byte-order mark or its zero bytes say so)"
    assert (f"{tmp_path / 'utf16.xml'}:1:31: the XML declares the encoding 'UTF-8', but the file is UTF-16{told}: expected "
            'encoding="UTF-16" or none') in err
    assert f"{tmp_path / 'be.xml'}:1:31: the XML declares the encoding 'x-nonexistent', but the file is UTF-16{told}" in err
    assert f"{tmp_path / 'utf32.xml'}:1:31: the XML declares the encoding 'UTF-16', but the file is UTF-32{told}" in err
    assert f"{tmp_path / 'utf8.xml'}:1:31: the XML declares the encoding 'UTF-16', but the file is UTF-8: expected" in err
    assert f"{tmp_path / 'cut.xml'}: the file is not valid UTF-32 (byte " in err
    assert "Traceback" not in err and not (tmp_path / "site").exists()


def test_json_too_deep_a_number_too_long_or_not_utf8_is_refused_at_its_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = JSON_RECORDS[0].read_text()
    sources = {
        "deep.json": "[" * 100_000,  # deeper than Python's parser goes
        "nested.json": '{"protocolSection": {"x":\n  ' + "[" * 60 + "]" * 60 + "}}",  # parsed, but past the limit
        "long.json": '{"protocolSection": {\n  "count": ' + "9" * 5000 + "}}",
        "negative.json": '{"protocolSection": {"count": -' + "9" * 101 + "}}",
    }
    for name, text in sources.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "latin1.json").write_bytes(study.replace('"briefTitle": "', '"briefTitle": "Caf\u00e9 ', 1).encode("latin-1"))
    (tmp_path / "cesu.json").write_bytes(b'{"protocolSection": {\n "x": "McM\xed\xa0\x80orland"}}')  # a surrogate, UTF-8-encoded
    names = [*sources, "latin1.json", "cesu.json"]
    assert run(*(str(tmp_path / n) for n in names), "--content", str(tmp_path / "site")) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'deep.json'}:1:51: values nested more than 50 levels deep" in err
    assert f"{tmp_path / 'nested.json'}:2:51: values nested more than 50 levels deep" in err
    assert f"{tmp_path / 'long.json'}:2:12: a number 5,000 digits long: expected at most 100 digits" in err
    assert f"{tmp_path / 'negative.json'}:1:31: a number 101 digits long" in err
    line = study[: study.index('"briefTitle": "')].count("\n") + 1
    column = study.splitlines()[line - 1].index('"briefTitle": "') + len('"briefTitle": "Caf') + 1
    assert f"{tmp_path / 'latin1.json'}:{line}:{column}: the file is not UTF-8 (byte 0xe9); save it as UTF-8" in err
    assert f"{tmp_path / 'cesu.json'}:2:11: the file is not UTF-8 (byte 0xed)" in err
    assert "Traceback" not in err and "RecursionError" not in err and not (tmp_path / "site").exists()
    assert run(str(JSON_RECORDS[0]), "--content", str(tmp_path / "site")) == 0  # a real record nests 11 levels at most
    (tmp_path / "site" / "trials" / f"{nct_of(JSON_RECORDS[0]).lower()}.ctgov.json").write_text(sources["long.json"])
    with pytest.raises(ContentError, match="a number 5,000 digits long"):  # the build reads it as the import does
        load_study(tmp_path / "site" / "trials" / f"{nct_of(JSON_RECORDS[0]).lower()}.ctgov.json")


def test_json_nan_infinity_and_numbers_past_a_float_are_refused_at_their_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Python's reader takes NaN, Infinity and -Infinity (JavaScript writes them) and reads 1e999 as infinity; none is
    JSON (RFC 8259, section 6), and json.dumps would write them back as they are into the registry's file."""
    head = '{"protocolSection": {"identificationModule": {"nctId": "NCT01234567", "briefTitle": "NaN and 1e999"},\n'
    sources = {"nan.json": head + '  "x": NaN}}', "infinity.json": head + '  "x": [1.5, Infinity]}}',
               "minus.json": head + '  "x": -Infinity}}', "huge.json": head + '  "x": {"y": 1e999}}}',
               "huge-minus.json": head + '  "x": -1.5E+400}}'}
    for name, text in sources.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "utf16.json").write_bytes(sources["nan.json"].encode("utf-16"))
    assert run(*(str(tmp_path / n) for n in [*sources, "utf16.json"]), "--content", str(tmp_path / "site")) == 1
    err = capsys.readouterr().err
    no = "is no JSON value (JSON has no NaN or Infinity): expected a number, or null"
    assert f"{tmp_path / 'nan.json'}:2:8: not valid JSON: NaN {no}" in err
    assert f"{tmp_path / 'infinity.json'}:2:14: not valid JSON: Infinity {no}" in err
    assert f"{tmp_path / 'minus.json'}:2:8: not valid JSON: -Infinity {no}" in err
    assert (f"{tmp_path / 'huge.json'}:2:14: the number 1e999 is too large (it would be read as infinity): expected a "
            "number between -1.79e308 and 1.79e308") in err
    assert f"{tmp_path / 'huge-minus.json'}:2:8: the number -1.5E+400 is too large" in err
    assert f"{tmp_path / 'utf16.json'}:2:8: not valid JSON: NaN {no}" in err
    assert "Traceback" not in err and not (tmp_path / "site").exists()
    assert run(str(JSON_RECORDS[0]), "--content", str(tmp_path / "site")) == 0
    written = tmp_path / "site" / "trials" / f"{nct_of(JSON_RECORDS[0]).lower()}.ctgov.json"
    written.write_text(sources["huge.json"])
    with pytest.raises(ContentError, match="1e999 is too large"):  # the build reads it as the import does
        load_study(written)


def test_api_answer_with_nan_is_refused_and_nothing_written(registry: FakeRegistry, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    registry.answer("/studies/NCT00000001", (200, {}, b'{"protocolSection": {"identificationModule": {"nctId": '
                                             b'"NCT00000001", "briefTitle": "T"}, "x": NaN}}', 0.0))
    assert run("NCT00000001", "--api-url", registry.url, "--content", str(tmp_path / "site")) == 1
    err = capsys.readouterr().err
    assert ("NCT00000001: the registry's answer is not JSON the import reads (line 1, column 96: not valid JSON: NaN is "
            "no JSON value") in err
    assert "Traceback" not in err and not (tmp_path / "site").exists()


def test_a_broken_record_in_the_folder_is_replaced_by_a_re_import(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The record already there is read for the change report: nested 100,000 levels deep, it was a RecursionError."""
    assert run(str(JSON_RECORDS[0]), "--content", str(tmp_path)) == 0
    written = tmp_path / "trials" / f"{nct_of(JSON_RECORDS[0]).lower()}.ctgov.json"
    good = written.read_bytes()
    for broken in ("[" * 100_000 + "]" * 100_000, '{"protocolSection": NaN}', "{"):
        written.write_text(broken)
        assert run(str(JSON_RECORDS[0]), "--content", str(tmp_path)) == 0
        assert written.read_bytes() == good
        out, err = capsys.readouterr()
        assert out.startswith(f"{nct_of(JSON_RECORDS[0])}: ") and "Traceback" not in err


@pytest.mark.parametrize("plant", ["fifo", "dev-zero", "2-gb"])
def test_what_is_no_record_where_the_record_goes_is_replaced_without_reading_it(tmp_path: Path, plant: str) -> None:
    """Found by a hostile review: the record already in the folder, read for the change report, was read as it was:
    a FIFO there blocked the import for good, a link to /dev/zero filled the memory (a MemoryError's traceback),
    and a 2 GB file was read whole. It is read as a build reads it, and what no build reads is replaced. (In a
    child process with 500 MB and 10 s of CPU, as the hostile inputs of a build are.)"""
    content = tmp_path / "content"
    there = content / "trials" / f"{nct_of(JSON_RECORDS[0]).lower()}.ctgov.json"
    there.parent.mkdir(parents=True)
    if plant == "fifo":
        os.mkfifo(there)
    elif plant == "dev-zero":
        there.symlink_to("/dev/zero")
    else:
        with open(there, "wb") as f:
            f.truncate(2 * 1024**3)  # sparse: no disk used
    child = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (500 * 2**20,) * 2); "
             "resource.setrlimit(resource.RLIMIT_CPU, (10, 10)); from sitegen.cli import main; sys.exit(main())")
    result = subprocess.run([sys.executable, "-c", child, "import", "--content", str(content), str(JSON_RECORDS[0])],
                            capture_output=True, text=True, timeout=30,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.stdout.startswith(f"{nct_of(JSON_RECORDS[0])}: ")
    assert not there.is_symlink() and there.read_bytes() == importer.record_bytes(json.loads(JSON_RECORDS[0].read_bytes()))


def test_a_record_larger_than_a_build_reads_is_refused_and_the_others_imported(tmp_path: Path,
                                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """A record of 50,000 sites makes a registry file of 13 to 20 MB, which every build of the catalog would refuse
    (here 5,000 sites of long names, quicker to make): the import refuses it instead, from a JSON record and from a
    classic XML one, and leaves what an earlier import wrote as it was."""
    big = json.loads(JSON_RECORDS[0].read_text())
    site = big["protocolSection"]["contactsLocationsModule"]["locations"][0]
    big["protocolSection"]["contactsLocationsModule"]["locations"] = [
        dict(site, facility=f"Site {n} " + "x" * 2_500) for n in range(5_000)]
    (tmp_path / "big.json").write_text(json.dumps(big))
    xml = (DATA / "ctgov-xml" / "raw_study.xml").read_text()
    start, end = xml.index("<location>"), xml.index("</location>") + len("</location>")
    location = xml[start:end].replace("St. Vincent", "St. Vincent " + "x" * 2_500)
    (tmp_path / "big.xml").write_text(xml[:start] + location * 5_000 + xml[end:])
    content = tmp_path / "site"
    assert run(str(JSON_RECORDS[1]), "--content", str(content)) == 0
    earlier = snapshot(content)
    limit = inputs.limit_of("x.ctgov.json") // inputs.MB
    assert run(str(tmp_path / "big.json"), str(tmp_path / "big.xml"), str(JSON_RECORDS[1]), str(JSON_RECORDS[2]),
               "--content", str(content)) == 1
    out, err = capsys.readouterr()
    for name, nct in (("big.json", nct_of(JSON_RECORDS[0])), ("big.xml", "NCT00002475")):
        assert re.search(rf"^{re.escape(str(tmp_path / name))}: {nct}: its registry file would be [0-9.]+ MB, and a "
                         rf"build reads one of at most {limit} MB; refused$", err, re.MULTILINE), err
        assert not list(content.glob(f"trials/{nct.lower()}.*"))
    assert f"{nct_of(JSON_RECORDS[1])}: unchanged" in out and f"{nct_of(JSON_RECORDS[2])}: new" in out
    assert "Traceback" not in err and all(snapshot(content)[name] == found for name, found in earlier.items())
    big["protocolSection"]["identificationModule"]["nctId"] = nct_of(JSON_RECORDS[1])  # a re-import grown too big
    (tmp_path / "big.json").write_text(json.dumps(big))
    assert run(str(tmp_path / "big.json"), "--content", str(content)) == 1
    assert "refused" in capsys.readouterr().err and all(snapshot(content)[n] == f for n, f in earlier.items())


def test_too_large_a_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(importer, "MAX_FILE_BYTES", 1000)
    assert run(str(JSON_RECORDS[0]), "--content", str(tmp_path)) == 1
    assert "larger than the 1,000 bytes an import reads" in capsys.readouterr().err


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after("0") == 0.0 and retry_after(" 12 ") == 12.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date gone by: no wait
    assert 3590 < (retry_after(email.utils.formatdate(time.time() + 3600, usegmt=True)) or 0) <= 3600
    assert retry_after("soon") is None and retry_after(None) is None
    assert retry_after("\u00b2") is None and retry_after("\u0663") is None  # digits, but not ASCII ones: not seconds


def test_a_single_trial_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "trial.yaml").write_text("slug: x\n")
    assert main(["import", str(JSON_RECORDS[0]), "--content", str(tmp_path)]) == 1
    assert "holds a single trial (trial.yaml)" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trial.yaml"]


def test_a_folder_that_cannot_be_written_is_a_message_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "trials").write_text("a file where the trials folder goes")
    assert run(str(JSON_RECORDS[0]), "--content", str(tmp_path)) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"sitegen: {tmp_path / 'trials'}: ") and "Traceback" not in err


def test_a_full_disk_names_the_file_it_could_not_write_and_leaves_every_file_whole(tmp_path: Path) -> None:
    """A full disk's error names no file, and a read-only folder's names the temporary file: the message named the
    content folder, or a file that was never there. It names the trial's file now. (A full disk is RLIMIT_FSIZE in a
    child process: Python ignores SIGXFSZ, so a write past it fails as one on a full disk does.)"""
    content = tmp_path / "content"
    assert run(str(JSON_RECORDS[0]), "--content", str(content)) == 0
    before = snapshot(content)
    child = ("import resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192)); "
             "from sitegen.cli import main; sys.exit(main())")
    result = subprocess.run([sys.executable, "-c", child, "import", "--content", str(content), *map(str, JSON_RECORDS)],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(Path(importer.__file__).resolve().parent.parent)})
    refused = next(p for p in JSON_RECORDS[1:] if p.stat().st_size > 8192)
    assert result.returncode == 1 and result.stderr == (
        f"sitegen: {content / 'trials' / (nct_of(refused).lower() + '.ctgov.json')}: File too large; the import stopped "
        "there: each file is whole, old or new (run the import again to finish)\n")
    after = snapshot(content)
    assert {name: after[name] for name in before} == before and not [n for n in after if n.endswith(".tmp")]
    assert all(json.loads(after[name][0]) for name in after if name.endswith(".ctgov.json"))


def test_wrong_use_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import"]) == 2
    assert main(["import", "--query", "x", "--status", "ALMOST_DONE"]) == 2
    assert main(["import", "NCT01234567", "--api-url", "file:///etc"]) == 2
    assert main(["import", "NCT01234567", "--limit", "5"]) == 2
    assert main(["import", "--query", "x", "--limit", "0"]) == 2
    assert main(["import", "--query", "x", "--limit", "10001"]) == 2
    err = capsys.readouterr().err
    assert "--limit 0: expected a number of studies from 1 to 10,000" in err and "--limit 10001" in err
    assert "--status and --limit go with --query" in err
    assert "name a SOURCE" in err and "--status ALMOST_DONE: expected one of" in err and "--api-url" in err


# --- the registry's API, through a fake server on 127.0.0.1 ----------------------------------------------------


class FakeRegistry:
    """A local server answering from a script: each request pops the next answer for its path (status, headers,
    body, seconds to wait first); every request is recorded."""

    def __init__(self) -> None:
        self.answers: dict[str, list[tuple[int, dict[str, str], bytes, float]]] = {}
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the name http.server calls
                url = urllib.parse.urlsplit(self.path)
                fake.requests.append((url.path, urllib.parse.parse_qs(url.query)))
                queue = fake.answers.get(url.path) or [(404, {}, b'{"error": "not found"}', 0.0)]
                status, headers, body, delay = queue.pop(0) if len(queue) > 1 else queue[0]
                time.sleep(delay)
                try:
                    self.send_response(status)
                    for name, value in {"Content-Type": "application/json", **headers}.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up waiting
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v2"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, path: str, *answers: tuple[int, dict[str, str], Any, float]) -> None:
        self.answers["/api/v2" + path] = [(s, h, b if isinstance(b, bytes) else json.dumps(b).encode(), d)
                                          for s, h, b, d in answers]


@pytest.fixture
def registry() -> Iterator[FakeRegistry]:
    fake = FakeRegistry()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def study(n: int) -> dict[str, Any]:
    return {"protocolSection": {"identificationModule": {"nctId": f"NCT{n:08d}", "briefTitle": f"Trial {n}"}}}


def test_api_fetches_a_study_by_nct_id(registry: FakeRegistry, tmp_path: Path) -> None:
    record = json.loads(JSON_RECORDS[0].read_text())
    nct = nct_of(JSON_RECORDS[0])
    registry.answer(f"/studies/{nct}", (200, {}, record, 0.0))
    assert run(nct.lower(), "--api-url", registry.url, "--content", str(tmp_path)) == 0
    assert registry.requests == [(f"/api/v2/studies/{nct}", {"format": ["json"]})]
    assert json.loads((tmp_path / "trials" / f"{nct.lower()}.ctgov.json").read_text()) == record


def test_refresh_fetches_every_imported_trial_again(registry: FakeRegistry, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """--refresh asks the registry for each trial the catalog imported, and only those; one it no longer answers
    for is reported and keeps its files, the others are brought up to date."""
    for n in (1, 2, 3):
        registry.answer(f"/studies/NCT{n:08d}", (200, {}, study(n), 0.0))
    assert run("NCT00000001", "NCT00000002", "NCT00000003", "--api-url", registry.url, "--content", str(tmp_path)) == 0
    (tmp_path / "trials" / "notes.txt").write_text("not a record")
    (tmp_path / "trials" / "hand-written.yaml").write_text("title: T\n")
    registry.requests.clear()
    newer = study(1)
    newer["protocolSection"]["statusModule"] = {"overallStatus": "COMPLETED"}
    registry.answer("/studies/NCT00000001", (200, {}, newer, 0.0))
    registry.answer("/studies/NCT00000003", (404, {}, b"NCT number NCT00000003 not found", 0.0))
    capsys.readouterr()
    assert run("--refresh", "--api-url", registry.url, "--content", str(tmp_path)) == 1
    assert sorted(path for path, _ in registry.requests) == [f"/api/v2/studies/NCT{n:08d}" for n in (1, 2, 3)]
    out, err = capsys.readouterr()
    assert "NCT00000001: status" in out and "NCT00000002: unchanged" in out and "NCT00000003" in err
    assert json.loads((tmp_path / "trials" / "nct00000001.ctgov.json").read_text()) == newer
    assert json.loads((tmp_path / "trials" / "nct00000003.ctgov.json").read_text()) == study(3)  # kept


def test_a_refresh_answered_with_an_older_record_keeps_the_newer(registry: FakeRegistry, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """A stale answer (a cache, a mirror) or an old export re-imported must not reopen a trial the catalog knows is
    completed: a record last updated before the one held is not written, with a warning; a newer one is."""
    def dated(status: str, day: str) -> dict[str, Any]:
        record = study(1)
        record["protocolSection"]["statusModule"] = {"overallStatus": status,
                                                     "lastUpdatePostDateStruct": {"date": day, "type": "ACTUAL"}}
        return record
    registry.answer("/studies/NCT00000001", (200, {}, dated("COMPLETED", "2025-06-01"), 0.0))
    assert run("NCT00000001", "--api-url", registry.url, "--content", str(tmp_path)) == 0
    held = (tmp_path / "trials" / "nct00000001.ctgov.json").read_bytes()
    registry.answer("/studies/NCT00000001", (200, {}, dated("RECRUITING", "2024-01"), 0.0))
    capsys.readouterr()
    assert run("--refresh", "--api-url", registry.url, "--content", str(tmp_path)) == 0
    out, err = capsys.readouterr()
    assert (tmp_path / "trials" / "nct00000001.ctgov.json").read_bytes() == held and "NCT00000001: unchanged" in out
    assert ("NCT00000001: this record was last updated on 2024-01, before the one this catalog holds (2025-06-01); "
            "the newer is kept (to go back to an older record, delete nct00000001.ctgov.json first)") in err
    registry.answer("/studies/NCT00000001", (200, {}, dated("TERMINATED", "2025-06-02"), 0.0))
    assert run("--refresh", "--api-url", registry.url, "--content", str(tmp_path)) == 0
    assert "NCT00000001: status Completed → Terminated" in capsys.readouterr().out
    # Found by a review: a month (as classic XML records give it) was taken for its last day, so a record of a day
    # in that month was refused as older. A date is compared only as far as both go.
    registry.answer("/studies/NCT00000001", (200, {}, dated("SUSPENDED", "2025-06"), 0.0))
    assert run("--refresh", "--api-url", registry.url, "--content", str(tmp_path)) == 0
    assert "NCT00000001: status Terminated → Suspended" in capsys.readouterr().out
    registry.answer("/studies/NCT00000001", (200, {}, dated("COMPLETED", "2025-06-20"), 0.0))
    assert run("--refresh", "--api-url", registry.url, "--content", str(tmp_path)) == 0
    assert "NCT00000001: status Suspended → Completed" in capsys.readouterr().out


def test_a_study_given_twice_in_one_import_is_imported_as_last_updated(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """The same study twice in one run: the record last updated is imported, whichever comes last (found by a
    review: the later one always was, so an old export given after a new one reopened a completed trial)."""
    def dated(status: str, day: str) -> Path:
        record = study(1)
        record["protocolSection"]["statusModule"] = {"overallStatus": status,
                                                     "lastUpdatePostDateStruct": {"date": day, "type": "ACTUAL"}}
        path = tmp_path / f"{status.lower()}.json"
        path.write_text(json.dumps(record))
        return path

    new, old = dated("COMPLETED", "2025-06-20"), dated("RECRUITING", "2024-01")
    for order, content in (((new, old), tmp_path / "a"), ((old, new), tmp_path / "b")):
        assert run(*map(str, order), "--content", str(content)) == 0
        kept = json.loads((content / "trials" / "nct00000001.ctgov.json").read_text())
        assert kept["protocolSection"]["statusModule"]["overallStatus"] == "COMPLETED"
    err = capsys.readouterr().err
    assert (f"{old}: warning: NCT00000001 was met before (in {new}), last updated on 2025-06-20, after this record "
            "(2024-01): that one is imported") in err
    assert f"{new}: warning: NCT00000001 was met before (in {old}); this later record is imported" in err


def test_an_id_the_registry_sends_on_to_another_is_imported_under_the_new_one_with_a_warning(
        registry: FakeRegistry, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    registry.answer("/studies/NCT00009113", (200, {}, study(10647), 0.0))  # an old ID: the registry answers for the new
    assert run("NCT00009113", "--api-url", registry.url, "--content", str(tmp_path)) == 0
    assert [p.name for p in (tmp_path / "trials").glob("*.ctgov.json")] == ["nct00010647.ctgov.json"]
    assert ("NCT00009113: warning: the registry answers with NCT00010647, the study's ID now: it is imported as "
            "NCT00010647; if this catalog has trials/nct00009113.*, remove them") in capsys.readouterr().err


def test_a_record_whose_title_is_only_invisible_characters_is_refused(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A page shows no control or direction character: a title of nothing else is no title (the build would refuse
    the record, and with it the catalog)."""
    invisible = {"protocolSection": {"identificationModule": {"nctId": "NCT00000001", "briefTitle": "\u202e\u0000"}}}
    (tmp_path / "r.json").write_text(json.dumps(invisible))
    assert run(str(tmp_path / "r.json"), "--content", str(tmp_path / "c")) == 1
    assert "has no title" in capsys.readouterr().err and not (tmp_path / "c" / "trials" / "nct00000001.ctgov.json").exists()


def test_refresh_of_a_catalog_with_no_imported_trial_is_wrong_use(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "--refresh", "--content", str(tmp_path)]) == 2
    assert f"--refresh: {tmp_path / 'trials'}/ holds no imported trial" in capsys.readouterr().err


def test_api_search_follows_next_page_token(registry: FakeRegistry, tmp_path: Path) -> None:
    registry.answer("/studies",
                    (200, {}, {"studies": [study(1), study(2)], "nextPageToken": "two"}, 0.0),
                    (200, {}, {"studies": [study(3), study(4)], "nextPageToken": "three"}, 0.0),
                    (200, {}, {"studies": [study(5)]}, 0.0))
    assert run("--query", "sarcoma", "--status", "recruiting", "not yet recruiting", "--api-url", registry.url,
               "--content", str(tmp_path)) == 0
    assert sorted(p.name for p in (tmp_path / "trials").glob("*.json")) == [f"nct{n:08d}.ctgov.json" for n in range(1, 6)]
    assert [q.get("pageToken") for _, q in registry.requests] == [None, ["two"], ["three"]]
    first = registry.requests[0][1]
    assert first["query.term"] == ["sarcoma"] and first["format"] == ["json"]
    assert first["filter.overallStatus"] == ["RECRUITING,NOT_YET_RECRUITING"]


def test_api_search_stops_at_the_limit(registry: FakeRegistry, tmp_path: Path) -> None:
    registry.answer("/studies",
                    (200, {}, {"studies": [study(1), study(2)], "nextPageToken": "two"}, 0.0),
                    (200, {}, {"studies": [study(3), study(4)], "nextPageToken": "three"}, 0.0))
    assert run("--query", "sarcoma", "--limit", "3", "--api-url", registry.url, "--content", str(tmp_path)) == 0
    assert len(list((tmp_path / "trials").glob("*.ctgov.json"))) == 3
    assert [q["pageSize"] for _, q in registry.requests] == [["3"], ["1"]]  # never asks for more than it keeps
    assert len(registry.requests) == 2


def test_api_search_whose_pages_never_end_stops_with_a_message(registry: FakeRegistry, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """A server naming a next page forever, with empty pages (no --limit is ever reached) or a page it named before,
    is not followed past the page that shows it; what the pages up to it hold is imported."""
    registry.answer("/studies", (200, {}, {"studies": [study(1)], "nextPageToken": "two"}, 0.0),
                    (200, {}, {"studies": [], "nextPageToken": "three"}, 0.0),
                    *[(200, {}, {"studies": [], "nextPageToken": f"page {n}"}, 0.0) for n in range(4, 50)],
                    (400, {}, b"no more pages", 0.0))  # so that a loop that did not stop ends
    assert run("--query", "x", "--api-url", registry.url, "--content", str(tmp_path)) == 1
    assert len(registry.requests) == 2 and (tmp_path / "trials" / "nct00000001.ctgov.json").exists()
    assert ("search 'x': page 2 of the registry's answer holds no study but names a next page, so its pages would never "
            "end; the studies of the pages up to it are imported") in capsys.readouterr().err
    registry.requests.clear()
    registry.answer("/studies", (200, {}, {"studies": [study(1)], "nextPageToken": "two"}, 0.0),
                    (200, {}, {"studies": [study(2)], "nextPageToken": "three"}, 0.0),
                    (200, {}, {"studies": [study(3)], "nextPageToken": "two"}, 0.0),
                    (200, {}, {"studies": [study(4)], "nextPageToken": "three"}, 0.0), (400, {}, b"no more pages", 0.0))
    assert run("--query", "x", "--api-url", registry.url, "--content", str(tmp_path)) == 1
    assert len(registry.requests) == 3 and len(list((tmp_path / "trials").glob("*.ctgov.json"))) == 3
    assert "page 3 of the registry's answer names a page it named before" in capsys.readouterr().err
    # Found by a review: the page that reaches --limit ends the search, whatever next page it names
    registry.requests.clear()
    registry.answer("/studies", (200, {}, {"studies": [study(1)], "nextPageToken": "two"}, 0.0),
                    (200, {}, {"studies": [study(2)], "nextPageToken": "two"}, 0.0), (400, {}, b"no more pages", 0.0))
    assert run("--query", "x", "--limit", "2", "--api-url", registry.url, "--content", str(tmp_path)) == 0
    assert len(registry.requests) == 2


def test_api_other_refusals_say_what_the_registry_said(registry: FakeRegistry, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    registry.answer("/studies", (400, {"Content-Type": "text/plain"}, b"filter.overallStatus: unknown value", 0.0))
    assert run("--query", "x", "--api-url", registry.url, "--content", str(tmp_path / "site")) == 1
    assert ("search 'x': the registry refused the request (400 Bad Request: filter.overallStatus: unknown value)"
            in capsys.readouterr().err)
    registry.answer("/studies", (200, {}, {"studies": [study(1), "junk", 3]}, 0.0))
    assert run("--query", "x", "--api-url", registry.url, "--content", str(tmp_path / "site")) == 1
    err = capsys.readouterr().err
    assert "search 'x': study 2: not a study object; refused" in err and "Traceback" not in err
    assert (tmp_path / "site" / "trials" / "nct00000001.ctgov.json").exists()


def test_api_redirects_nowhere_or_in_a_loop_are_one_line_messages(registry: FakeRegistry, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A redirect to what is no URL made urllib raise ValueError, a traceback; one in a loop, or to a file:// URL,
    is refused on one line, never followed."""
    registry.answer("/studies/NCT00000001", (302, {"Location": "http://[::1"}, b"", 0.0))
    registry.answer("/studies/NCT00000002", (302, {"Location": registry.url + "/studies/NCT00000002"}, b"", 0.0))
    registry.answer("/studies/NCT00000003", (302, {"Location": "file:///etc/passwd"}, b"", 0.0))
    assert run("NCT00000001", "NCT00000002", "NCT00000003", "--api-url", registry.url, "--content", str(tmp_path)) == 1
    lines = capsys.readouterr().err.splitlines()
    assert ("NCT00000001: the registry sent the request on to an address that cannot be followed (Invalid IPv6 URL)"
            in lines)
    assert any(line.startswith("NCT00000002: the registry refused the request (302 The HTTP server returned a "
                               "redirect error that would lead to an infinite loop. The last 30x") for line in lines)
    assert any(line.startswith("NCT00000003: the registry refused the request (302 Found - Redirection to url "
                               "'file:///etc/passwd' is not allowed") for line in lines)
    assert not (tmp_path / "trials").exists()
    # Found by a review: urllib follows a redirect to ftp:// too, and an FTP answer ended in a traceback
    registry.requests.clear()
    registry.answer("/studies/NCT00000004", (302, {"Location": "ftp://127.0.0.1:9/study.json"}, b"", 0.0))
    assert run("NCT00000004", "--api-url", registry.url, "--content", str(tmp_path)) == 1
    assert ("NCT00000004: the registry refused the request (302 sent on to ftp://127.0.0.1:9/study.json, which is no "
            "http(s) address)") in capsys.readouterr().err.splitlines()
    assert len(registry.requests) == 1


def test_api_url_that_urllib_cannot_read_is_wrong_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Found by a review: 'http://[::1' passed the check and ended in a traceback; a port that is no number was
    tried five times."""
    for url in ("http://[::1", "http://127.0.0.1:abc"):
        assert run("NCT00000001", "--api-url", url, "--content", str(tmp_path)) == 2
        assert capsys.readouterr().err == f"sitegen import: error: --api-url '{url}': expected an http(s) URL\n"


def test_api_404_is_a_clean_error_naming_the_nct_id(registry: FakeRegistry, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("NCT00000404", "--api-url", registry.url, "--content", str(tmp_path / "site")) == 1
    err = capsys.readouterr().err
    assert err.startswith("NCT00000404: not found in the registry (404 from ") and "Traceback" not in err
    assert not (tmp_path / "site").exists()
    assert len(registry.requests) == 1  # a 404 is not tried again


def test_api_503_is_tried_again_after_a_doubling_wait(registry: FakeRegistry, tmp_path: Path) -> None:
    registry.answer("/studies/NCT00000503", (503, {}, b"busy", 0.0), (503, {}, b"busy", 0.0), (200, {}, study(503), 0.0))
    sleeps: list[float] = []
    assert run("NCT00000503", "--api-url", registry.url, "--content", str(tmp_path), sleeps=sleeps) == 0
    assert sleeps == [1.0, 2.0] and len(registry.requests) == 3
    assert (tmp_path / "trials" / "nct00000503.ctgov.json").exists()


def test_api_429_honours_retry_after_capped(registry: FakeRegistry, tmp_path: Path) -> None:
    registry.answer("/studies/NCT00000429", (429, {"Retry-After": "7"}, b"", 0.0),
                    (429, {"Retry-After": "100000"}, b"", 0.0), (200, {}, study(429), 0.0))
    sleeps: list[float] = []
    assert run("NCT00000429", "--api-url", registry.url, "--content", str(tmp_path), sleeps=sleeps) == 0
    assert sleeps == [7.0, 60.0]


def test_api_failing_every_try_writes_nothing_for_that_trial(registry: FakeRegistry, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    registry.answer("/studies/NCT00000500", (500, {}, b"", 0.0))
    registry.answer("/studies/NCT00000001", (200, {}, study(1), 0.0))
    sleeps: list[float] = []
    assert run("NCT00000500", "NCT00000001", "--api-url", registry.url, "--content", str(tmp_path), sleeps=sleeps) == 1
    assert sleeps == [1.0, 2.0, 4.0, 8.0]
    assert "NCT00000500: 500 Internal Server Error, 5 times; nothing was written for it" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "trials").iterdir()) == ["nct00000001.ctgov.json", "nct00000001.yaml"]


def test_api_timeout(registry: FakeRegistry, tmp_path: Path) -> None:
    registry.answer("/studies/NCT00000408", (200, {}, study(408), 1.0))
    slow = Registry(registry.url, timeout=0.2, tries=2, sleep=lambda _: None)
    started = time.monotonic()
    with pytest.raises(FetchError, match="NCT00000408: no answer in time, 2 times; nothing was written for it"):
        slow.study("NCT00000408")
    assert time.monotonic() - started < 0.9
    records, problems = importer.gather(["NCT00000408"], None, [], 10, slow)
    assert records == [] and problems[0].file == "NCT00000408"


class RawServer:
    """A local server that sends each connection the bytes of `send` (a list), `pause` seconds apart: headers or a
    body a byte at a time, or a body shorter than it announced."""

    def __init__(self, send: list[bytes], pause: float) -> None:
        import socket
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/api/v2"
        self.send, self.pause, self.connections = send, pause, 0
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.answer, args=(connection,), daemon=True).start()

    def answer(self, connection: Any) -> None:
        with connection:
            connection.recv(65536)
            for piece in self.send:
                try:
                    connection.sendall(piece)
                except OSError:
                    return
                time.sleep(self.pause)


def test_api_an_answer_that_trickles_in_meets_a_deadline(tmp_path: Path) -> None:
    """A server that sends a byte more before each wait ends never meets the per-read timeout: the whole answer,
    headers or body, must come within the deadline."""
    record = json.dumps(study(7)).encode()
    body = [b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(record), *[bytes([b]) for b in record]]
    headers = [bytes([b]) for b in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000]
    for send in (body, headers):
        server = RawServer(send, 0.05)
        slow = Registry(server.url, timeout=1.0, deadline=0.5, tries=2, sleep=lambda _: None)
        started = time.monotonic()
        with pytest.raises(FetchError, match="NCT00000007: no whole answer within 0.5 s, 2 times; nothing was written"):
            slow.study("NCT00000007")
        assert time.monotonic() - started < 2.0 and server.connections == 2
        server.listener.close()
        # found by a review: a thread still reading headers read on after the deadline, for as long as they came
        reading = [t for t in threading.enumerate() if t.name == "registry request"]
        for thread in reading:
            thread.join(1.0)
        assert not any(t.is_alive() for t in reading)


def test_api_an_answer_shorter_than_it_announced_is_tried_again(tmp_path: Path) -> None:
    record = json.dumps(study(7)).encode() + b"\n"  # whole JSON, then the connection closes 100 bytes early
    server = RawServer([b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (len(record) + 100) + record], 0.0)
    with pytest.raises(FetchError, match=f"NCT00000007: the answer ended after {len(record)} bytes, 100 fewer than it "
                       "announced, 2 times"):
        Registry(server.url, tries=2, sleep=lambda _: None).study("NCT00000007")
    server.listener.close()


def test_api_answers_are_bounded_and_ids_checked_before_any_request(registry: FakeRegistry) -> None:
    registry.answer("/studies/NCT00000002", (200, {}, study(2), 0.0))
    with pytest.raises(FetchError, match="larger than 50 bytes"):
        Registry(registry.url, max_bytes=50).study("NCT00000002")
    with pytest.raises(FetchError, match="is not an NCT ID"):
        Registry(registry.url).study("NCT0/../x")
    assert len(registry.requests) == 1


def test_sources_copied_into_tests_data_keep_their_provenance() -> None:
    for folder in ("ctgov", "ctgov-xml"):
        rows = (DATA / folder / "SOURCES.tsv").read_text().splitlines()[1:]
        names = {row.split("\t")[0] for row in rows}
        files = {p.stem for p in (DATA / folder).iterdir() if p.suffix in (".json", ".xml")}
        assert names == files and (DATA / folder / "README.md").exists()


# --- whatever a record holds, an import ends in files or a clean refusal ----------------------------------------

JUNK = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12), st.lists(st.integers(), max_size=2),
                 st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
                 st.sampled_from(["N/A", "(Participant)", "Phase 1/", "Both", "July 32, 2020", "Masking: Double ("]))
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(st.data())
def test_any_damage_to_a_record_is_imported_or_refused_never_a_crash(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    old = json.loads(JSON_RECORDS[data.draw(st.integers(0, len(JSON_RECORDS) - 1))].read_text())
    new = copy.deepcopy(old)
    for _ in range(data.draw(st.integers(1, 4))):
        holder: Any = new
        while isinstance(holder, (dict, list)) and holder:
            key = data.draw(st.sampled_from(sorted(holder) if isinstance(holder, dict) else range(len(holder))))
            if data.draw(st.booleans()) or not isinstance(holder[key], (dict, list)) or not holder[key]:
                holder[key] = data.draw(JUNK)
                break
            holder = holder[key]
    importer.changes(old, new)
    importer.changes(new, old)
    content = tmp_path_factory.mktemp("fuzz")
    importer.import_records(content, [importer.Record(old, "old.json")], [])
    report = importer.import_records(content, [importer.Record(new, "new.json")], [])
    assert report.trials or any(p.severity == "error" for p in report.problems)


@FUZZ
@given(st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(["N/A", "", " ", "(x)", "Phase 1/", "/", "Both",
                                                                  "99999999999999999999", "July 32, 2020", "é",
                                                                  "Allocation: , Masking: Double ("])), max_size=25))
def test_any_damage_to_an_xml_record_converts_never_a_crash(damage: list[tuple[int, str]]) -> None:
    import xml.etree.ElementTree as ET

    from sitegen.registry_xml import study_from_xml

    root = ET.parse(DATA / "ctgov-xml" / "NCT04710303_covid_19_all_protocols.xml").getroot()
    elements = list(root.iter())
    for where, text in damage:
        elements[where % len(elements)].text = text
        elements[where % len(elements)].set("type", text)
    assert isinstance(study_from_xml(root)["protocolSection"], dict)


def test_the_readme_s_worked_example_prints_what_the_readme_shows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Each command of the README's worked example, run as written in a folder where `tests/data/` is where it is in
    a clone, prints exactly the lines the README shows under it (it left out the count each run ends with)."""
    readme = (DATA.parent.parent / "README.md").read_text(encoding="utf-8")
    example = readme[readme.index("A worked example with the records"):readme.index("A record that moved on")]
    blocks = re.findall(r"```[a-z]*\n(.*?)```", example, re.DOTALL)
    runs: list[tuple[str, list[str]]] = []
    for block in blocks:
        lines = block.splitlines()
        if lines[0].startswith("$ "):
            runs.append((lines[0][2:], lines[1:]))
        elif lines[0].startswith("sitegen "):
            runs.append((lines[0], []))
        else:
            runs[-1][1].extend(lines)
    assert len(runs) == 3
    (tmp_path / "tests").symlink_to(DATA.parent)
    monkeypatch.chdir(tmp_path)
    for command, shown in runs:
        assert main(command.split()[1:]) == 0, command
        assert capsys.readouterr().out.splitlines() == shown, command
