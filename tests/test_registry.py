"""Registry trials (issue 13): a catalog of `<nct>.yaml` (the editor's file) beside `<nct>.ctgov.json` (an API v2
study) builds pages showing the record's facts, the editor's fields winning; the records are in tests/data/ctgov/."""

from __future__ import annotations

import datetime
import html
import itertools
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from schemaorg import Vocabulary, validate
from sitetext import PageInfo, html_pages

from sitegen.build import build
from sitegen.catalog import search
from sitegen.project import TEMPLATES, Project
from sitegen.slugs import slugify
from sitegen.cli import main
from sitegen.registry import parse_criteria, unescape
from sitegen.render import make_environment

ROOT = Path(__file__).resolve().parent.parent
RECORDS = Path(__file__).resolve().parent / "data" / "ctgov"
ALL = sorted(p.stem for p in RECORDS.glob("NCT*.json"))


def study_json(study: dict[str, Any]) -> str:
    """A study as `sitegen import` writes it (the integrator's interface)."""
    return json.dumps(study, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def make_registry_catalog(root: Path, records: dict[str, dict[str, Any]], editor: dict[str, str] | None = None) -> Project:
    """A catalog folder as an import leaves it: site.yaml, and per record `<nct>.yaml` holding only its slug (or the
    text given in `editor`) beside `<nct>.ctgov.json`."""
    content = root / "content"
    (content / "trials").mkdir(parents=True)
    (content / "site.yaml").write_text("title: Registry trials\nlanguage: en\nbase_url: https://example.org/\n")
    for nct, study in records.items():
        slug = nct.lower()
        (content / "trials" / f"{slug}.yaml").write_text((editor or {}).get(nct, f"slug: {slug}\n"), encoding="utf-8")
        (content / "trials" / f"{slug}.ctgov.json").write_text(study_json(study), encoding="utf-8")
    return Project.at(content)


def record(nct: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDS / f"{nct}.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, PageInfo]]:
    """The catalog of every test record, built once."""
    root = tmp_path_factory.mktemp("registry")
    project = make_registry_catalog(root, {nct: record(nct) for nct in ALL})
    out = root / "out"
    build(project, out, jobs=1)
    return out, html_pages(out)


def words(text: str) -> str:
    return " ".join(re.findall(r"\w+", unescape(text).lower()))


def trial_text(pages: dict[str, PageInfo], nct: str) -> str:
    """The words of every page of one trial, as one string (with spaces at both ends, to find whole words)."""
    return " " + " ".join(words(p.text) for name, p in pages.items() if name.startswith(f"trials/{nct.lower()}/")) + " "


def has(text: str, phrase: str) -> bool:
    return f" {words(phrase)} " in text


MARKER = re.compile(r"^\s*(?:[-*+•·]|\d{1,3}[.)])\s+")


@pytest.mark.parametrize("nct", ALL)
def test_each_record_s_facts_are_on_its_pages(built: tuple[Path, dict[str, PageInfo]], nct: str) -> None:
    _, pages = built
    text = trial_text(pages, nct)
    p = record(nct)["protocolSection"]
    ident, status = p["identificationModule"], p["statusModule"]
    for fact in (ident["nctId"], ident["briefTitle"], ident.get("officialTitle", ""), *p["conditionsModule"]["conditions"],
                 p["sponsorCollaboratorsModule"]["leadSponsor"]["name"]):
        assert has(text, fact), (nct, fact)
    state = status["overallStatus"]
    assert has(text, {"ACTIVE_NOT_RECRUITING": "Active, not recruiting", "UNKNOWN": "Unknown status"}.get(
        state, state.replace("_", " "))), (nct, state)
    enrollment = p["designModule"].get("enrollmentInfo", {}).get("count")
    if enrollment is not None:
        assert has(text, f"Enrollment {enrollment:,}"), nct
    for intervention in p.get("armsInterventionsModule", {}).get("interventions", []):
        assert has(text, intervention["name"]), (nct, intervention["name"])
    for site in p.get("contactsLocationsModule", {}).get("locations", []):
        assert has(text, site["facility"]), (nct, site["facility"])
    eligibility = words(pages[f"trials/{nct.lower()}/eligibility/index.html"].text)
    for line in p["eligibilityModule"]["eligibilityCriteria"].splitlines():
        if line.strip():
            assert f" {words(MARKER.sub('', line))} " in f" {eligibility} ", (nct, line)
    assert has(text, "Registry record last updated")



def test_the_date_a_status_was_last_verified_is_shown(built: tuple[Path, dict[str, PageInfo]]) -> None:
    """An unknown status is the registry's word for a status not verified for two years: the month it was last
    verified (statusVerifiedDate), which the registry's page shows beside it, was on no page."""
    _, pages = built
    text = pages["trials/nct05005468/index.html"].text
    assert "Status Unknown status (last known: Not yet recruiting)" in text
    assert "Status last verified August 2021" in text


def test_who_issued_an_id_and_a_sponsor_s_class_are_in_the_registry_s_words(tmp_path: Path) -> None:
    """Secondary IDs named their issuer 'Eudract number', 'Fda' or 'Other grant'; a lead sponsor of the class the
    registry could not tell (UNKNOWN, as real collaborators have it) was '(Unknown status)', a status's words."""
    study = record("NCT05814159")
    study["protocolSection"]["identificationModule"]["secondaryIdInfos"] = [
        {"id": "2020-001502-38", "type": "EUDRACT_NUMBER"}, {"id": "IND 123", "type": "FDA"},
        {"id": "R01-1", "type": "OTHER_GRANT"}, {"id": "X-1", "type": "OTHER_GRANT", "domain": "Wellcome Trust"}]
    study["protocolSection"]["sponsorCollaboratorsModule"]["leadSponsor"]["class"] = "UNKNOWN"
    build(make_registry_catalog(tmp_path, {"NCT05814159": study}), tmp_path / "out", jobs=1)
    pages = html_pages(tmp_path / "out")
    summary = pages["trials/nct05814159/index.html"].text
    for issuer, value in (("EudraCT number", "2020-001502-38"), ("FDA", "IND 123"),
                          ("Other grant/funding number", "R01-1"), ("Wellcome Trust", "X-1")):
        assert f" {issuer} {value} " in summary, issuer
    sponsor = pages["trials/nct05814159/sponsor/index.html"].text
    assert "Sponsor Swedish Orphan Biovitrum Collaborators" in sponsor or "Sponsor Swedish Orphan Biovitrum Responsible" in sponsor
    assert "Unknown" not in sponsor


def test_the_design_s_own_descriptions_are_shown(built: tuple[Path, dict[str, PageInfo]]) -> None:
    """The intervention model's and the masking's descriptions (in 100 and 50 of the 432 shared records), which the
    registry's page shows in its design, were on no page: who is blinded to what, how groups are formed."""
    _, pages = built
    assert ("Masking description Study assessment administrator is blinded to what digital tool the subject has been "
            "assigned.") in pages["trials/nct03569618/index.html"].text
    assert ("Intervention model description Parallel Assignment, Intra-patient control. Each patient serves as their "
            "own control.") in pages["trials/nct05037968/index.html"].text

def test_pages_with_nothing_to_show_are_left_out_and_the_navigation_follows(built: tuple[Path, dict[str, PageInfo]]) -> None:
    out, pages = built
    with_refs = next(n for n in ALL if record(n)["protocolSection"].get("referencesModule", {}).get("references"))
    without = next(n for n in ALL if "referencesModule" not in record(n)["protocolSection"])
    assert (out / "trials" / with_refs.lower() / "references" / "index.html").is_file()
    assert not (out / "trials" / without.lower() / "references").exists()
    assert "references/index.html" not in " ".join(pages[f"trials/{without.lower()}/index.html"].links)
    assert "references/index.html" in " ".join(pages[f"trials/{with_refs.lower()}/index.html"].links)


def test_results_publications_are_marked_in_the_numbered_bibliography(built: tuple[Path, dict[str, PageInfo]]) -> None:
    out, _ = built
    for nct in ALL:
        refs = record(nct)["protocolSection"].get("referencesModule", {}).get("references", [])
        if any(r.get("type") == "RESULT" for r in refs):
            html = (out / "trials" / nct.lower() / "references" / "index.html").read_text()
            assert html.count("Results publication") == sum(r.get("type") == "RESULT" for r in refs)
            for ref in refs:
                if ref.get("pmid"):
                    assert f"https://pubmed.ncbi.nlm.nih.gov/{ref['pmid']}/" in html
            return
    pytest.fail("no test record has a results publication")


def test_listing_entries_come_from_the_registry(built: tuple[Path, dict[str, PageInfo]]) -> None:
    out, pages = built
    assert (out / "status" / "recruiting" / "index.html").is_file()
    assert (out / "status" / "unknown" / "index.html").is_file()
    assert "Phase 1/Phase 2" in pages["phases/index.html"].text
    assert "Not applicable" in pages["phases/index.html"].text
    assert "Aurora" in pages["locations/index.html"].text  # a city of NCT03076658's site


def test_a_trial_is_listed_under_every_condition_it_studies(built: tuple[Path, dict[str, PageInfo]]) -> None:
    out, pages = built
    listed = 0
    for nct in ALL:
        for condition in record(nct)["protocolSection"].get("conditionsModule", {}).get("conditions", []):
            page = pages[f"conditions/{slugify(condition)}/index.html"]
            assert f"trials/{nct.lower()}/index.html" in {link.split("../")[-1] for link in page.links}, (nct, condition)
            listed += 1
    assert listed > len(ALL)  # some trials study more than one


def test_search_finds_a_trial_by_the_city_and_region_of_each_of_its_sites(built: tuple[Path, dict[str, PageInfo]]
                                                                          ) -> None:
    """The home page names each trial's cities and the locations listing has a page for each, so a search for a
    city finds the trials that run there (it found only a site's facility and country: `villejuif` found nothing
    though the home page says the trial runs in Villejuif). The index is read as static/search.js reads it."""
    out, _ = built
    head = json.loads((out / "search" / "index.json").read_text(encoding="utf-8"))
    urls = [doc[0] for n in range(0, head["documents"], head["docsPerFile"])
            for doc in json.loads((out / "search" / "docs" / f"{n // head['docsPerFile']}.json").read_text())]

    def found(term: str) -> set[str]:
        held = out / search.term_file(term, head["termFiles"])
        encoded = json.loads(held.read_text(encoding="utf-8")).get(term, []) if held.exists() else []
        numbers = itertools.accumulate(value // 16 for value in encoded)
        return {urls[n - 1] for n in numbers}

    places = 0
    for nct in ALL:
        for site in record(nct)["protocolSection"].get("contactsLocationsModule", {}).get("locations", []):
            for place in (site.get("city", ""), site.get("state", "")):
                for term in search.words(place):
                    assert f"trials/{nct.lower()}/" in found(term), (nct, place, term)
                    places += 1
    assert places > 100


def test_every_page_carries_valid_schema_org_with_sites_as_addresses(built: tuple[Path, dict[str, PageInfo]]) -> None:
    out, pages = built
    vocab = Vocabulary.load()
    for name, page in pages.items():
        assert len(page.jsonld) == 1, name
        assert validate(page.jsonld[0], vocab) == [], name
    trial = pages["trials/nct05814159/index.html"].jsonld[0]["mainEntity"]
    assert trial["@type"] == "MedicalTrial" and trial["status"] == "https://schema.org/Recruiting"
    site = trial["studyLocation"][0]
    assert site["address"]["@type"] == "PostalAddress" and site["address"]["addressCountry"] == "Japan"
    assert site["geo"] == {"@type": "GeoCoordinates", "latitude": 35.6, "longitude": 140.11667}
    assert [c["name"] for c in trial["healthCondition"]] == ["Still's Disease, Juvenile Onset", "Still's Disease, Adult-Onset"]
    assert [(s["@type"], s["name"]) for s in trial["studySubject"]] == [("Drug", "Anakinra"), ("Drug", "Placebo")]
    assert trial["sponsor"][0]["name"] == "Swedish Orphan Biovitrum"
    assert "https://schema.org/RandomizedTrial" in trial["trialDesign"]
    assert len(trial["studyLocation"]) == len(record("NCT05814159")["protocolSection"]["contactsLocationsModule"]["locations"])
    assert validate(json.loads((out / "feed.jsonld").read_text()), vocab) == []


def test_the_editor_s_fields_win_and_the_registry_shows_where_the_editor_says_nothing(tmp_path: Path) -> None:
    editor = (
        "slug: nct05814159\n"
        "title: Anakinra for Still's disease in Japan\n"
        "status: completed\n"
        "condition: Still's disease\n"
        "purpose: The study checks whether anakinra calms Still's disease.\n"
        "faq:\n  - question: Who pays for travel?\n    answer: Ask the study team.\n"
        "sponsors:\n  - name: Sobi Japan\n    role: Sponsor in Japan\n"
        "spots_left:\n  count: 3\n  by: 2026-05\n"
    )
    project = make_registry_catalog(tmp_path, {"NCT05814159": record("NCT05814159")}, {"NCT05814159": editor})
    out = tmp_path / "out"
    build(project, out, jobs=1)
    pages = html_pages(out)
    home = pages["trials/nct05814159/index.html"]
    assert "<h1>Anakinra for Still&#39;s disease in Japan</h1>" in (out / "trials/nct05814159/index.html").read_text()
    assert "The study checks whether anakinra calms Still's disease." in home.text
    assert "Completed" in home.text and "Recruiting" not in home.text
    assert "spots left" not in home.text.lower()  # the editor's status wins: a closed trial has no places to offer
    locations = pages["trials/nct05814159/locations/index.html"].text  # the record's sites all say Recruiting
    assert "Status: Recruiting" not in locations and "enrolment" not in locations and "Contacts" in locations
    assert "<dt>Allocation</dt><dd>Randomized</dd>" in (out / "trials/nct05814159/index.html").read_text()  # registry's
    assert "Sponsor in Japan Sobi Japan" in pages["trials/nct05814159/sponsor/index.html"].text
    assert "Sponsor Sobi Japan" in home.text and "Swedish Orphan Biovitrum" not in home.text  # the summary's too
    assert "Swedish Orphan Biovitrum" not in pages["trials/nct05814159/sponsor/index.html"].text
    assert "faq/index.html" in home.links and "Who pays for travel?" in pages["trials/nct05814159/faq/index.html"].text
    assert (out / "status" / "completed" / "index.html").is_file() and not (out / "status" / "recruiting").exists()
    assert "Still's disease" in pages["conditions/index.html"].text


def test_the_editor_s_official_title_wins_on_the_page_and_in_the_json_ld(tmp_path: Path) -> None:
    """README: a field the editor's file sets wins, official_title among them; the summary and its MedicalTrial node
    showed the registry's official title whatever the editor's file said."""
    editor = "slug: nct05814159\nofficial_title: Anakinra in Japanese patients with Still's disease\n"
    project = make_registry_catalog(tmp_path, {"NCT05814159": record("NCT05814159")}, {"NCT05814159": editor})
    out = tmp_path / "out"
    build(project, out, jobs=1)
    page = (out / "trials/nct05814159/index.html").read_text()
    registry_s = record("NCT05814159")["protocolSection"]["identificationModule"]["officialTitle"]
    assert "Official title: Anakinra in Japanese patients with Still&#39;s disease" in page
    assert html.escape(registry_s) not in page and registry_s not in page
    script = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert script is not None
    trial = json.loads(script.group(1))["mainEntity"]
    assert "Anakinra in Japanese patients with Still's disease" in trial["alternateName"]
    assert registry_s not in trial["alternateName"]


def test_an_editor_s_file_is_validated_with_the_trial_s_types(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    editor = "slug: nct05814159\nstatus: finished\ntitel: x\n"
    make_registry_catalog(tmp_path, {"NCT05814159": record("NCT05814159")}, {"NCT05814159": editor})
    assert main(["check", "--content", str(tmp_path / "content")]) == 1
    err = capsys.readouterr().err
    assert "nct05814159.yaml:2:9: status: expected one of 'not-yet-recruiting'" in err
    assert "nct05814159.yaml:3:1: titel: unknown field 'titel'; did you mean 'title'?" in err


def test_an_editor_s_links_pass_the_one_link_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A trial file's url fields must pass the link rule the references pass (README: Content); an editor's file of a
    registry trial was validated by its types only, and a source's address with a password was linked on every page."""
    editor = ("slug: nct05814159\nsources:\n  - name: Ours\n    url: https://user:secret@example.org/\n"
              "identifiers:\n  - registry: Ours\n    value: X-1\n    url: https://example.org:99999/\n")
    make_registry_catalog(tmp_path, {"NCT05814159": record("NCT05814159")}, {"NCT05814159": editor})
    assert main(["build", "--content", str(tmp_path / "content"), "--output", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "nct05814159.yaml:4:10: sources[0].url: expected an http(s) address with a host, no user or password" in err
    assert "nct05814159.yaml:8:10: identifiers[0].url: expected an http(s) address" in err
    assert not (tmp_path / "out").exists()


def test_a_registry_record_without_its_editor_s_file_is_an_error_naming_it(tmp_path: Path,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    project = make_registry_catalog(tmp_path, {"NCT05814159": record("NCT05814159")})
    (project.content / "trials" / "nct05814159.yaml").unlink()
    assert main(["build", "--content", str(project.content), "--output", str(tmp_path / "out")]) == 1
    assert "nct05814159.ctgov.json: no editor's file nct05814159.yaml beside this registry record" in capsys.readouterr().err



def test_a_record_file_named_for_another_study_is_an_error_at_its_nct_id(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """A record copied by hand under another study's name built that study's page with this one's facts (at
    trials/nct00831909/, NCT05814159's title, status and sites), and `sitegen import --refresh`, which fetches the
    study a file is named for, would have replaced it without a word."""
    project = make_registry_catalog(tmp_path, {"NCT00831909": record("NCT05814159")})
    path = project.content / "trials" / "nct00831909.ctgov.json"
    text = path.read_text()
    at = text.index('"nctId": "NCT05814159"')
    line, column = text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)
    assert main(["build", "--content", str(project.content), "--output", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert (f"{path}:{line}:{column}: the record is NCT05814159's, and the file is named for NCT00831909: expected "
            "NCT00831909's record (import it again: sitegen import NCT00831909)") in err, err
    assert not (tmp_path / "out").exists()


def test_importing_a_study_replaces_another_study_s_record_under_its_name(tmp_path: Path,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """The build's error says to import the study again; the import kept a file holding another study's record
    when that record was the newer ('the newer is kept'), so the error stayed. It is replaced, and the report says so."""
    project = make_registry_catalog(tmp_path, {"NCT00831909": record("NCT05814159")})  # updated 2023, not 2010
    source = tmp_path / "NCT00831909.json"
    source.write_text(json.dumps(record("NCT00831909")), encoding="utf-8")
    assert main(["import", str(source), "--content", str(project.content)]) == 0
    assert "NCT00831909: the file held another study's record, replaced by NCT00831909's" in capsys.readouterr().out
    assert main(["build", "--content", str(project.content), "--output", str(tmp_path / "out")]) == 0


def test_a_partial_record_builds_and_one_without_a_title_is_refused_by_name(tmp_path: Path,
                                                                            capsys: pytest.CaptureFixture[str]) -> None:
    partial = {"protocolSection": {"identificationModule": {"nctId": "NCT00000001", "briefTitle": "A partial record"}}}
    project = make_registry_catalog(tmp_path / "a", {"NCT00000001": partial})
    build(project, tmp_path / "a" / "out", jobs=1)
    pages = html_pages(tmp_path / "a" / "out")
    assert sorted(n for n in pages if n.startswith("trials/")) == ["trials/nct00000001/index.html"]
    assert "A partial record" in pages["trials/nct00000001/index.html"].text
    untitled = {"protocolSection": {"identificationModule": {"nctId": "NCT00000002"}}}
    project = make_registry_catalog(tmp_path / "b", {"NCT00000002": untitled})
    assert main(["build", "--content", str(project.content), "--output", str(tmp_path / "b" / "out")]) == 1
    assert "nct00000002.ctgov.json:1:1: the registry record has no title" in capsys.readouterr().err


def test_every_page_of_a_registry_trial_dates_the_record_not_an_editor_s_check(tmp_path: Path) -> None:
    """The editor's FAQ, findings and the glossary page of a registry trial carry the registry's footer too: no
    'Content last checked' with the record's date, and a partial record (no dates) builds with a glossary."""
    faq = "faq:\n  - question: Who pays for travel?\n    answer: Ask the study team.\n"
    partial = {"protocolSection": {"identificationModule": {"nctId": "NCT00000001", "briefTitle": "A partial record"}}}
    project = make_registry_catalog(tmp_path, {"NCT05814159": record("NCT05814159"), "NCT00000001": partial},
                                    {"NCT05814159": "slug: nct05814159\n" + faq, "NCT00000001": "slug: nct00000001\n" + faq})
    (project.content / "glossary.yaml").write_text("terms:\n  - term: travel\n    definition: Going somewhere.\n")
    build(project, tmp_path / "out", jobs=1)
    pages = html_pages(tmp_path / "out")
    for nct in ("nct05814159", "nct00000001"):
        shown = [name for name in pages if name.startswith(f"trials/{nct}/")]
        assert f"trials/{nct}/faq/index.html" in shown and f"trials/{nct}/glossary/index.html" in shown
        for name in shown:
            assert "Content last checked" not in pages[name].text, name
            assert ("Registry record last updated" in pages[name].text) == (nct == "nct05814159"), name


def test_a_re_imported_record_rebuilds_its_trial(tmp_path: Path) -> None:
    study = record("NCT05814159")
    project = make_registry_catalog(tmp_path, {"NCT05814159": study, "NCT03076658": record("NCT03076658")})
    out = tmp_path / "out"
    build(project, out, jobs=1)
    study["protocolSection"]["statusModule"]["overallStatus"] = "COMPLETED"
    (project.content / "trials" / "nct05814159.ctgov.json").write_text(study_json(study), encoding="utf-8")
    report, _ = build(project, out, jobs=1)
    assert report.rendered == 1
    assert "Completed" in html_pages(out)["trials/nct05814159/index.html"].text


def test_a_record_re_imported_as_closed_overrules_an_editor_s_open_status_everywhere(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An editor's `status: recruiting`, written while the trial recruited, must not keep a trial the registry has
    since closed listed, searched and described as recruiting: the record's status shows, with a warning at the
    editor's line; every rebuild is incremental, as a nightly refresh and build are."""
    editor = {"NCT05814159": "slug: nct05814159\nstatus: recruiting\n"}
    study, other = record("NCT05814159"), record("NCT03076658")  # recruiting, and each of their sites too
    other["protocolSection"]["statusModule"]["overallStatus"] = "COMPLETED"
    project = make_registry_catalog(tmp_path, {"NCT05814159": study, "NCT03076658": other}, editor)
    out = tmp_path / "out"
    build(project, out, jobs=1)
    assert "Recruiting" in html_pages(out)["trials/nct05814159/index.html"].text
    for status in ("COMPLETED", "TERMINATED", "WITHDRAWN", "SUSPENDED"):
        study["protocolSection"]["statusModule"]["overallStatus"] = status
        (project.content / "trials" / "nct05814159.ctgov.json").write_text(study_json(study), encoding="utf-8")
        build(project, out, jobs=1)
        for path in sorted(out.rglob("*")):
            if path.is_file():
                text = path.read_text(errors="replace").replace("Not recruiting.", "")
                assert not re.search(r"recruiting", text, re.IGNORECASE), (status, path)
        assert not (out / "status" / "recruiting").exists() and (out / "status" / status.lower()).is_dir()
        assert main(["check", "--content", str(project.content)]) == 0
        assert (f"nct05814159.yaml:2:9: warning: status: the registry's record says the trial is "
                f"'{status.capitalize()}', not 'Recruiting': its pages show the registry's status") in capsys.readouterr().err


def test_a_thousand_sites_are_grouped_by_country_with_counts_and_a_jump_list(tmp_path: Path) -> None:
    study = record("NCT00831909")
    sites = study["protocolSection"]["contactsLocationsModule"]["locations"]
    study["protocolSection"]["contactsLocationsModule"]["locations"] = [
        {**site, "facility": f"{site['facility']} {i}"} for i in range(8) for site in sites][:1200]
    project = make_registry_catalog(tmp_path, {"NCT00831909": study})
    build(project, tmp_path / "out", jobs=1)
    page = html_pages(tmp_path / "out")["trials/nct00831909/locations/index.html"]
    countries = {s.get("country") for s in sites}
    for country in countries:
        anchor = "country-" + slugify(country)
        assert f"#{anchor}" in page.links and anchor in page.ids
    assert "1,200 sites in" in page.text
    assert all(f"Research Site {i}" in page.text for i in range(8))


# ---- the criteria parser: never a criterion dropped

LINE = st.builds(
    lambda indent, marker, text: " " * indent + marker + text,
    st.sampled_from([0, 0, 2, 3, 4, 6]),
    st.sampled_from(["", "* ", "- ", "1. ", "2) ", "10. ", "• ", "+ "]),
    st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")), min_size=0, max_size=40),
)
HEADINGS = st.sampled_from(["Inclusion Criteria:", "Exclusion Criteria:", "**Key Inclusion Criteria**", "", "Other notes:"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(LINE, HEADINGS), max_size=25))
def test_every_non_blank_line_s_words_are_shown(lines: list[str]) -> None:
    text = "\n".join(lines)
    env = make_environment([TEMPLATES])
    rendered = env.from_string(
        '{% from "_registry.html" import blocks %}{% for s in sections %}<h2>{{ s.heading }}</h2>{{ blocks(s.blocks) }}{% endfor %}'
    ).render(sections=parse_criteria(text))
    shown = words(html.unescape(re.sub(r"<[^>]+>", " ", rendered)))
    for line in text.splitlines():
        said = words(MARKER.sub("", line))
        if said:
            assert f" {said} " in f" {shown} ", line



def test_criteria_indented_deeper_on_every_line_build_with_every_item(tmp_path: Path) -> None:
    """A criteria text indented one space more on each line nested a list in the last item of the one above, as deep as
    the text is long: 1,200 lines were a RecursionError traceback from the build, 250 a template error naming
    sitegen's own template. Past 15 lists (as prose may nest) an item deeper is the next item of the deepest list."""
    study = record("NCT05814159")
    study["protocolSection"]["eligibilityModule"]["eligibilityCriteria"] = "Inclusion Criteria:\n\n" + "\n".join(
        " " * n + f"* item{n}" for n in range(1200))
    build(make_registry_catalog(tmp_path, {"NCT05814159": study}), tmp_path / "out", jobs=1)
    page = (tmp_path / "out" / "trials" / "nct05814159" / "eligibility" / "index.html").read_text(encoding="utf-8")
    assert [n for n in range(1200) if f"<li>item{n}" not in page] == []
    assert page.count('<ul class="criteria">') == 15  # lists in one another, the deepest holding the rest


def test_criteria_are_read_in_time_linear_in_their_lines() -> None:
    """Each line continuing a criterion made the criterion anew, its text or its tuple of children: time grew with
    the square of its lines (40,000 lines after a nested item: 4 s), and a record's criterion of 600,000 lines (a
    build reads a record of 10 MB) held the build for minutes."""
    seconds = []
    for lines in (10_000, 40_000):
        text = "Inclusion Criteria:\n\n* first\n  - child\n" + "text\n" * lines + "* second\n" + "continued\n" * lines
        started = time.process_time()
        (section,) = parse_criteria(text)
        seconds.append(time.process_time() - started)
    first, second = section.blocks[0].items
    assert [item.text for item in first.children[0].items] == ["child"]
    assert [block.text for block in first.children[1:]] == ["text"] * 40_000
    assert second.text == "second" + " continued" * 40_000 and not second.children
    # four times the lines: about four times the time when linear, sixteen when quadratic
    assert seconds[1] < 8 * seconds[0], seconds


# ---- freshness: `sitegen check --today` warns where time has made content stale

def test_check_warns_once_that_the_default_content_s_spots_left_date_has_passed(capsys: pytest.CaptureFixture[str]) -> None:
    """May 2026 had passed when the content was last checked (updated: 2026-11-24): every build warns so, and check
    does not add a second warning, in other words, at the same line."""
    for today in ("2026-05-31", "2026-06-01", "2026-11-29"):
        assert main(["check", "--content", str(ROOT / "content"), "--today", today]) == 0
        out, err = capsys.readouterr()
        spots = [line for line in err.splitlines() if "spots_left" in line]
        assert spots == [f"{ROOT / 'content'}/trial.yaml:22:7: warning: spots_left.by: May 2026 had passed when this "
                         "content was last checked (updated: 2026-11-24): the page says the count is an old projection; "
                         "check it against the listing and update or remove spots_left"], (today, spots)
        warnings = len([line for line in err.splitlines() if ": warning: " in line])
        assert out.rstrip().endswith(f"no errors, {warnings} warning(s)")


def test_check_warns_that_a_spots_left_date_has_passed_since_the_content_was_checked(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    content = tmp_path / "content"
    content.mkdir()
    for name in ("site.yaml", "references.bib", "glossary.yaml"):
        (content / name).write_bytes((ROOT / "content" / name).read_bytes())
    text = (ROOT / "content" / "trial.yaml").read_text(encoding="utf-8")
    (content / "trial.yaml").write_text(text.replace("updated: 2026-11-24", "updated: 2026-04-30"), encoding="utf-8")
    assert main(["check", "--content", str(content), "--today", "2026-05-31"]) == 0
    assert "spots_left" not in capsys.readouterr().err
    assert main(["check", "--content", str(content), "--today", "2026-06-01"]) == 0
    spots = [line for line in capsys.readouterr().err.splitlines() if "spots_left" in line]
    assert spots == [f"{content}/trial.yaml:22:7: warning: spots_left.by: the date May 2026 (2026-05) has passed: "
                     "'spots left by May 2026' is no longer a projection; check the count against the listing and "
                     "update or remove spots_left"]


def test_check_warns_about_a_recruiting_trial_past_its_primary_completion_and_an_old_record(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = make_registry_catalog(tmp_path, {"NCT05814159": record("NCT05814159")})  # recruiting; completion 2023-12-01
    record_file = project.content / "trials" / "nct05814159.ctgov.json"
    lines = record_file.read_text().splitlines()
    completion = next(i for i, line in enumerate(lines) if "primaryCompletionDateStruct" in line) + 2
    updated = next(i for i, line in enumerate(lines) if "lastUpdatePostDateStruct" in line) + 2
    args = ["check", "--content", str(project.content)]
    assert main([*args, "--today", "2023-12-01"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert main([*args, "--today", "2023-12-02"]) == 0
    err = capsys.readouterr().err
    assert (f"nct05814159.ctgov.json:{completion}:1: warning: NCT05814159 is 'Recruiting' but its primary completion "
            "date, 1 December 2023, has passed: the status may be out of date; re-import it with "
            "`sitegen import NCT05814159` (or every imported trial: `sitegen import --refresh`)") in err
    assert "last updated" not in err  # 14 April 2023: not yet a year
    assert main([*args, "--today", "2024-04-14"]) == 0
    err = capsys.readouterr().err
    assert (f"nct05814159.ctgov.json:{updated}:1: warning: NCT05814159's registry record was last updated on 14 April "
            "2023, more than 365 days ago") in err and "its status may be out of date" in err
    (project.content / "site.yaml").write_text("title: T\nbase_url: https://example.org/\nregistry_max_age_days: 30\n")
    assert main([*args, "--today", "2023-05-15"]) == 0
    assert "more than 30 days ago" in capsys.readouterr().err



def test_check_dates_a_record_without_a_last_update_by_its_first_posting(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """A record giving no last update (a partial one) was never called old, however long ago it was posted; the build
    dates its pages by the first posting (imported.merge), and so does the check."""
    study = record("NCT05814159")  # first posted 2023-04-14
    del study["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]
    project = make_registry_catalog(tmp_path, {"NCT05814159": study})
    lines = (project.content / "trials" / "nct05814159.ctgov.json").read_text().splitlines()
    posted = next(i for i, line in enumerate(lines) if "studyFirstPostDateStruct" in line) + 2
    assert main(["check", "--content", str(project.content), "--today", "2024-04-14"]) == 0
    err = capsys.readouterr().err
    assert (f"nct05814159.ctgov.json:{posted}:1: warning: NCT05814159's registry record gives no last update; it was "
            "first posted on 14 April 2023, more than 365 days ago (registry_max_age_days in site.yaml)") in err
    assert main(["check", "--content", str(project.content), "--today", "2024-04-13"]) == 0
    assert "first posted" not in capsys.readouterr().err

def test_check_leaves_the_status_to_an_editor_who_sets_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    editor = {"NCT05814159": "slug: nct05814159\nstatus: completed\n"}  # the record: recruiting; completion 2023-12-01
    project = make_registry_catalog(tmp_path, {"NCT05814159": record("NCT05814159")}, editor)
    assert main(["check", "--content", str(project.content), "--today", "2023-12-02"]) == 0
    assert "warning" not in capsys.readouterr().err


OPEN = ("RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION")


def test_no_page_of_a_closed_or_unknown_status_trial_invites_a_reader_to_join(
        built: tuple[Path, dict[str, PageInfo]]) -> None:
    out, pages = built
    for nct in ALL:
        status = record(nct)["protocolSection"]["statusModule"]["overallStatus"]
        trial = {name: p for name, p in pages.items() if name.startswith(f"trials/{nct.lower()}/")}
        sources = [(out / name).read_text() for name in trial]
        if status in OPEN:
            assert not any("status-notice" in source for source in sources), nct
            assert any("Who can join" in p.text for p in trial.values()) or not record_has_criteria(nct), nct
            continue
        notice = "Not known to be recruiting." if status == "UNKNOWN" else "Not recruiting."
        for name, page in trial.items():
            assert notice in page.text, name
            assert "Who can join" not in page.text and "Contacts for enrolment" not in page.text, name
            assert "Status: Recruiting" not in page.text and "Status: Not yet recruiting" not in page.text, name
        assert not any("may join" in source for source in sources), nct


def record_has_criteria(nct: str) -> bool:
    return bool(record(nct)["protocolSection"].get("eligibilityModule"))


def test_check_refuses_a_today_that_is_not_a_date(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["check", "--content", str(ROOT / "content"), "--today", "May 2026"])
    assert stop.value.code == 2 and "expected a date as YYYY-MM-DD, got 'May 2026'" in capsys.readouterr().err


def test_builds_never_depend_on_the_clock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_registry_catalog(tmp_path, {"NCT05814159": record("NCT05814159")})
    build(project, tmp_path / "a", jobs=1)

    class Later(datetime.date):
        @classmethod
        def today(cls) -> Later:
            return cls(2031, 1, 1)

    monkeypatch.setattr(datetime, "date", Later)
    build(project, tmp_path / "b", jobs=1)
    first, second = html_pages(tmp_path / "a"), html_pages(tmp_path / "b")
    assert {n: p.text for n, p in first.items()} == {n: p.text for n, p in second.items()}
    assert "Registry record last updated 14 April 2023" in first["trials/nct05814159/index.html"].text


def test_criteria_headings_as_registries_write_them() -> None:
    text = ("* Inclusion Criteria:\n* Age 18 or older\n\n**Key Exclusion Criteria**\n1. Pregnancy\n   * or breastfeeding\n"
            "Other exclusion criteria may apply.\nExclusion Criteria: contra-indication to MRI\n")
    sections = parse_criteria(text)
    assert [(s.kind, s.heading) for s in sections] == [
        ("inclusion", "Inclusion Criteria"), ("exclusion", "Key Exclusion Criteria"), ("exclusion", "Exclusion Criteria")]
    assert sections[0].blocks[0].items[0].text == "Age 18 or older"
    pregnancy = sections[1].blocks[0].items[0]
    assert (pregnancy.number, pregnancy.children[0].items[0].text) == (1, "or breastfeeding")
    assert pregnancy.children[1].text == "Other exclusion criteria may apply."  # a lazy line continues its item
    assert sections[2].blocks[0].text == "contra-indication to MRI"


def test_a_hand_written_trial_beside_registry_trials_is_checked_as_before(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    project = make_registry_catalog(tmp_path, {"NCT05814159": record("NCT05814159")})
    (project.content / "trials" / "by-hand.yaml").write_text("slug: by-hand\ntitle: A trial typed by hand\n")
    assert main(["check", "--content", str(project.content)]) == 1
    err = capsys.readouterr().err
    assert "by-hand.yaml:1:1: purpose: missing required field" in err and "nct05814159" not in err


@pytest.mark.parametrize(("phase", "nct"), [("phase-1-2", "NCT06462729"), ("phase-2-3", "NCT05144685")])
def test_a_hand_written_trial_and_a_record_of_one_phase_share_its_listing(tmp_path: Path, phase: str, nct: str) -> None:
    """'Phase 1/2' (a trial file's phase-1-2) and 'Phase 1/Phase 2' (a record's PHASE1, PHASE2) are one phase: one
    page lists both, where the build stopped saying they would share its URL."""
    project = make_registry_catalog(tmp_path, {nct: record(nct)})
    text = (ROOT / "content" / "trial.yaml").read_text(encoding="utf-8").replace("\nphase: phase-2\n", f"\nphase: {phase}\n")
    (project.content / "trials" / "nct05836571.yaml").write_text(text, encoding="utf-8")
    (project.content / "references.bib").write_bytes((ROOT / "content" / "references.bib").read_bytes())
    build(project, tmp_path / "out", jobs=1)
    listed = html_pages(tmp_path / "out")[f"phases/{phase}/index.html"].links
    assert "../../trials/nct05836571/index.html" in listed and f"../../trials/{nct.lower()}/index.html" in listed


def _paths(data: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every key path of a JSON value, to knock parts out of a record."""
    found = [path] if path else []
    if isinstance(data, dict):
        found += [p for k, v in data.items() for p in _paths(v, (*path, k))]
    elif isinstance(data, list):
        found += [p for i, v in enumerate(data) for p in _paths(v, (*path, i))]
    return found


FULL = record("NCT05814159")
IDENTITY = ("protocolSection", "identificationModule")
FULL_PATHS = [p for p in _paths(FULL) if p not in (IDENTITY[:1], IDENTITY, (*IDENTITY, "nctId"), (*IDENTITY, "briefTitle"))]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(FULL_PATHS), max_size=12), st.sampled_from([None, 7, "x", [], {}, True]))
def test_a_record_missing_any_parts_or_with_odd_values_builds(tmp_path_factory: pytest.TempPathFactory,
                                                              knocked: list[tuple[str | int, ...]], odd: object) -> None:
    study = json.loads(json.dumps(FULL))
    for n, path in enumerate(knocked):
        parent = study
        for key in path[:-1]:
            parent = parent[key] if isinstance(parent, dict) and key in parent or isinstance(parent, list) and \
                isinstance(key, int) and key < len(parent) else None
            if parent is None:
                break
        if isinstance(parent, dict) and path[-1] in parent:
            if n % 2:
                parent[path[-1]] = odd
            else:
                del parent[path[-1]]
    root = tmp_path_factory.mktemp("odd")
    project = make_registry_catalog(root, {"NCT05814159": study})
    build(project, root / "out", jobs=1)
    assert "NCT05814159" in html_pages(root / "out")["trials/nct05814159/index.html"].text


ODD_VALUES = [  # (overallStatus, phases) a record may hold, though the registry's enums have neither
    ("A\u0000B", ["PHASE3/x"]), (".", ["../../etc"]), ("..", ["x\\y"]), ("status/../..", ["Phase <b>3</b>"]),
    ("", ["PHASE2", "/"]), ("index.html", ["PHASE" + "9" * 300]),
]


@pytest.mark.parametrize(("status", "phases"), ODD_VALUES)
def test_a_status_or_phase_the_registry_does_not_have_gets_a_folder_of_its_own(tmp_path: Path, status: str,
                                                                               phases: list[str]) -> None:
    study = record("NCT04318938")
    study["protocolSection"]["statusModule"]["overallStatus"] = status
    study["protocolSection"]["designModule"]["phases"] = phases
    known = record("NCT05144685")  # TERMINATED, PHASE2 and PHASE3: folders as before
    project = make_registry_catalog(tmp_path, {"NCT04318938": study, "NCT05144685": known})
    out = tmp_path / "out"
    build(project, out, jobs=1)
    for facet, folder in (("status", "terminated"), ("phases", "phase-2-3")):
        found = sorted(p.relative_to(out / facet).as_posix() for p in (out / facet).rglob("index.html"))
        assert "index.html" in found and f"{folder}/index.html" in found and len(found) == 3, found
        odd, = (name.removesuffix("/index.html") for name in found if name not in ("index.html", f"{folder}/index.html"))
        assert re.fullmatch(r"[a-z0-9-]+--[0-9a-f]{12}", odd) or odd == "not-given", odd
        assert "nct04318938" in (out / facet / odd / "index.html").read_text(encoding="utf-8")
    assert (out / "index.html").is_file() and not (out.parent / "etc").exists()


def test_an_editor_s_findings_cite_the_trial_s_own_references(tmp_path: Path) -> None:
    editor = ("slug: nct04318938\nfaq:\n  - question: Is it safe?\n    answer: Earlier work found it safe.[@smith2020]\n"
              "findings:\n  - source: smith2020\n    points:\n      - It worked in mice.\n")
    project = make_registry_catalog(tmp_path, {"NCT04318938": record("NCT04318938")}, {"NCT04318938": editor})
    (project.content / "trials" / "nct04318938.bib").write_text(
        "@article{smith2020, title={A study}, author={Smith, Jane}, journal={J Test}, year={2020}}\n")
    build(project, tmp_path / "out", jobs=1)
    pages = html_pages(tmp_path / "out")
    assert "../findings/index.html#ref-1" in pages["trials/nct04318938/faq/index.html"].links
    assert "A study" in pages["trials/nct04318938/findings/index.html"].text
    assert "references/index.html" in pages["trials/nct04318938/index.html"].links  # the record's own, numbered apart


def test_pages_say_the_registry_s_values_in_words(built: tuple[Path, dict[str, PageInfo]]) -> None:
    _, pages = built
    home = pages["trials/nct05814159/index.html"].text
    assert "Masking Quadruple (participant, care provider, investigator, outcomes assessor)" in home
    assert "Primary completion 1 December 2023 (anticipated)" in home and "Start 24 August 2022 (actual)" in home
    assert "Enrollment 15 participants (anticipated)" in home
    assert "Receives: Anakinra (drug)" in pages["trials/nct05814159/arms/index.html"].text
    assert "Unknown status (last known: Recruiting)" in pages["trials/nct03606070/index.html"].text
    assert "Why it stopped Data Safety Monitoring Board" in pages["trials/nct05144685/index.html"].text
    assert "Phase 2/Phase 3" in pages["trials/nct05144685/index.html"].text
    glance = pages["trials/nct05814159/eligibility/index.html"].text
    assert "Ages 8 months and older" in glance and "Healthy volunteers Not accepted" in glance
    # compound words keep their hyphen, as the registry's pages write them
    assert "Allocation Non-randomized" in pages["trials/nct05907980/index.html"].text
    assert "Observational model Case-only" in pages["trials/nct05923112/index.html"].text
    assert "(Sub-investigator)" in pages["trials/nct05997121/locations/index.html"].text
    # how an observational study chose whom it studies, as the registry's Participation Criteria say
    assert "Sampling method Probability sample" in pages["trials/nct05923112/eligibility/index.html"].text
    assert "Sampling method Non-probability sample" in pages["trials/nct04056520/eligibility/index.html"].text
    assert "Sampling method" not in pages["trials/nct05814159/eligibility/index.html"].text  # an interventional study


def test_no_page_shows_a_markdown_escape_of_the_record(built: tuple[Path, dict[str, PageInfo]]) -> None:
    """ClinicalTrials.gov writes its texts as CommonMark ('HgbA1c \\<7%', 'AST \\& ALT', 'score \\>= 5'): every
    text of every page shows the character escaped, not the backslash."""
    out, pages = built
    escaped = re.compile(r"\\[!-/:-@\[-`{-~]")
    assert escaped.search(json.dumps([record(nct) for nct in ALL]).replace("\\\\", "\\"))  # the records have some
    for name, page in pages.items():
        assert not escaped.search(page.text), (name, escaped.search(page.text))
    assert "HgbA1c <7%" in pages["trials/nct03908762/index.html"].text
    assert "AST & ALT" in pages["trials/nct01852578/eligibility/index.html"].text


def test_an_arm_receives_only_the_interventions_that_name_it(tmp_path: Path) -> None:
    study = record("NCT05814159")
    module = study["protocolSection"]["armsInterventionsModule"]
    module["armGroups"] = [{"label": "5 mg", "type": "EXPERIMENTAL", "interventionNames": ["Drug: TS-142"]},
                           {"label": "10 mg", "type": "EXPERIMENTAL", "interventionNames": ["Drug: TS-142"]}]
    module["interventions"] = [
        {"type": "DRUG", "name": "TS-142", "description": "5 mg once daily", "armGroupLabels": ["5 mg"]},
        {"type": "DRUG", "name": "TS-142", "description": "10 mg once daily", "armGroupLabels": ["10 mg"]}]
    build(make_registry_catalog(tmp_path, {"NCT05814159": study}), tmp_path / "out", jobs=1)
    arms = (tmp_path / "out" / "trials" / "nct05814159" / "arms" / "index.html").read_text()
    assert arms.count("TS-142 (drug)") == 2, arms  # once under each arm, not twice



def test_arms_receive_their_interventions_in_time_linear_in_the_record() -> None:
    """Each arm was compared with each intervention, formatting its name each time: 2,000 arms of 2,000
    interventions took 4 s, and a record of 10,000 of each (a build reads 10 MB) minutes."""
    from sitegen.registry import read_study

    seconds = []
    for count in (1_000, 4_000):  # (times of tens of milliseconds, the least of three: a few ms of noise is no 8x)
        study = record("NCT05814159")
        study["protocolSection"]["armsInterventionsModule"] = {
            "armGroups": [{"label": f"Arm {i}", "interventionNames": [f"Drug: D{i}"]} for i in range(count)],
            "interventions": [{"type": "DRUG", "name": f"D{i}"} for i in range(count // 2)]
            + [{"type": "DRUG", "name": f"L{i}", "armGroupLabels": [f"Arm {i}"]} for i in range(count // 2, count)]}
        tries = []
        for _ in range(3):
            started = time.process_time()
            arms = read_study(study, "x").arms
            tries.append(time.process_time() - started)
        seconds.append(min(tries))
    assert [[i.name for i in arm.interventions] for arm in arms[1998:2002]] == [["D1998"], ["D1999"], ["L2000"], ["L2001"]]
    # four times the arms and interventions: about four times the time when linear, sixteen when quadratic
    assert seconds[1] < 8 * seconds[0], seconds


def test_the_record_s_gender_description_is_shown_beside_sex(tmp_path: Path) -> None:
    study = record("NCT05814159")
    study["protocolSection"]["eligibilityModule"].update(
        {"sex": "FEMALE", "genderBased": True, "genderDescription": "Assigned female at birth and identifying as female"})
    build(make_registry_catalog(tmp_path, {"NCT05814159": study}), tmp_path / "out", jobs=1)
    page = html_pages(tmp_path / "out")["trials/nct05814159/eligibility/index.html"].text
    assert "Female (based on gender identity): Assigned female at birth and identifying as female" in page


def test_posted_results_are_linked_and_a_pmid_that_is_no_number_is_not(tmp_path: Path) -> None:
    study = record("NCT05814159")
    study["hasResults"] = True
    study["protocolSection"]["referencesModule"] = {"references": [
        {"pmid": "12345678", "type": "RESULT", "citation": "A real one."},
        {"pmid": "abc", "type": "BACKGROUND", "citation": "One with a broken PMID."}]}
    build(make_registry_catalog(tmp_path, {"NCT05814159": study}), tmp_path / "out", jobs=1)
    out = tmp_path / "out" / "trials" / "nct05814159"
    assert ('<dt>Results</dt><dd><a href="https://clinicaltrials.gov/study/NCT05814159?tab=results">Posted on '
            "ClinicalTrials.gov</a></dd>") in (out / "index.html").read_text()
    references = (out / "references" / "index.html").read_text()
    assert "https://pubmed.ncbi.nlm.nih.gov/12345678/" in references and "One with a broken PMID." in references
    assert "pubmed.ncbi.nlm.nih.gov/abc" not in references


@pytest.mark.parametrize(("line", "shown"), [("<a\n[x\n", "&lt;a<br>[x<br>&lt;a"), ("a\n-\n", "a<br>-<br>a<br>-")])
def test_a_registry_text_is_read_in_time_linear_in_its_length(tmp_path: Path, line: str, shown: str) -> None:
    """Python-Markdown searches the lines after a '<' for the end of a tag, and after a '[' for a link's: a
    description of thousands of lines of '<a' took minutes. It splits the rest of a paragraph at each rule or heading
    underline ('a\\n-' is a heading): a description of 8,000 took a build 6 s, and one of the 100,000 characters a
    page shows, a minute. The registry's text has no HTML, and such a text is shown as the text it is."""
    seconds = []
    for lines in (2_000, 8_000):
        study = record("NCT05814159")
        study["protocolSection"]["descriptionModule"]["detailedDescription"] = line * lines
        project = make_registry_catalog(tmp_path / str(lines), {"NCT05814159": study})
        started = time.process_time()
        build(project, tmp_path / str(lines) / "out", jobs=1)
        seconds.append(time.process_time() - started)
    page = (tmp_path / "8000" / "out" / "trials" / "nct05814159" / "index.html").read_text()
    assert shown in page  # line by line (8,000 "[": as text)
    # four times the lines: about four times the time when linear (and a fixed part), sixteen when quadratic
    assert seconds[1] < 8 * seconds[0], seconds


def test_a_record_s_dates_and_ages_in_other_digits_build(tmp_path: Path) -> None:
    """'²' is a digit to str.isdigit, and not to int(): a record holding it crashed the build."""
    study = record("NCT05814159")
    study["protocolSection"]["statusModule"]["startDateStruct"] = {"date": "2024-²", "type": "ACTUAL"}
    study["protocolSection"]["eligibilityModule"]["minimumAge"] = "² Years"
    study["protocolSection"]["designModule"]["phases"] = ["PHASE²"]
    build(make_registry_catalog(tmp_path, {"NCT05814159": study}), tmp_path / "out", jobs=1)
    assert "2024-²" in html_pages(tmp_path / "out")["trials/nct05814159/index.html"].text  # shown as written


def test_an_expanded_access_programme_that_is_available_invites_and_its_texts_keep_code_and_escapes(
        tmp_path: Path) -> None:
    study = record("NCT05814159")
    study["protocolSection"]["statusModule"]["overallStatus"] = "AVAILABLE"
    study["protocolSection"]["designModule"]["studyType"] = "EXPANDED_ACCESS"
    study["protocolSection"]["descriptionModule"]["detailedDescription"] = (
        "Dose: `a < b` and <b>bold</b> \\[not a link\\] " + "[" * 199)
    eligibility = study["protocolSection"]["eligibilityModule"]
    eligibility.pop("sex", None)
    eligibility["genderDescription"] = "Anyone who menstruates"
    build(make_registry_catalog(tmp_path, {"NCT05814159": study}), tmp_path / "out", jobs=1)
    pages = html_pages(tmp_path / "out")
    summary = pages["trials/nct05814159/index.html"].text
    assert "Not recruiting" not in summary and "Who can join" in pages["trials/nct05814159/eligibility/index.html"].text
    assert "Dose: a < b and <b>bold</b> [not a link] " + "[" * 199 in summary  # code, tags as text, escapes, brackets
    assert "\\" not in summary
    assert "<dt>Sex</dt><dd>Anyone who menstruates</dd>" in (
        tmp_path / "out" / "trials" / "nct05814159" / "eligibility" / "index.html").read_text()  # the record gives no sex



def test_expanded_access_is_shown_with_its_record_and_a_programme_s_types(tmp_path: Path) -> None:
    """A record saying its treatment is also given outside the study (statusModule.expandedAccessInfo), and an
    expanded-access programme's types (designModule.expandedAccessTypes), are facts the registry's page shows to a
    patient who cannot join; neither was on any page."""
    study = record("NCT05814159")
    study["protocolSection"]["statusModule"]["expandedAccessInfo"] = {
        "hasExpandedAccess": True, "nctId": "NCT03460977", "statusForNctId": "TEMPORARILY_NOT_AVAILABLE"}
    programme = record("NCT04318938")
    programme["protocolSection"]["statusModule"]["overallStatus"] = "AVAILABLE"
    programme["protocolSection"]["statusModule"]["expandedAccessInfo"] = {"hasExpandedAccess": False}
    programme["protocolSection"]["designModule"] = {
        "studyType": "EXPANDED_ACCESS", "expandedAccessTypes": {"individual": True, "intermediate": False, "treatment": True}}
    build(make_registry_catalog(tmp_path, {"NCT05814159": study, "NCT04318938": programme}), tmp_path / "out", jobs=1)
    pages = html_pages(tmp_path / "out")
    summary = pages["trials/nct05814159/index.html"]
    assert "Expanded access Temporarily not available, record NCT03460977" in summary.text
    assert "https://clinicaltrials.gov/study/NCT03460977" in summary.links
    text = pages["trials/nct04318938/index.html"].text
    assert "Expanded access type Individual patients, Treatment IND/protocol" in text
    assert "Expanded access Offered" not in text


def test_a_partial_record_s_eligibility_and_sponsor_are_shown_as_it_gives_them(tmp_path: Path) -> None:
    """A record (a search result with fields left out) giving its study population, sampling method and healthy
    volunteers but no criteria, sex or ages had no eligibility page: those facts were on none. One giving no lead
    sponsor showed its first collaborator as the sponsor; one giving no ages said 'Any age'."""
    study = record("NCT00831909")
    eligibility = study["protocolSection"]["eligibilityModule"]
    for key in ("eligibilityCriteria", "sex", "minimumAge", "maximumAge", "stdAges"):
        eligibility.pop(key, None)
    population = eligibility["studyPopulation"]
    study["protocolSection"]["sponsorCollaboratorsModule"] = {"collaborators": [{"name": "Helper University"}]}
    build(make_registry_catalog(tmp_path, {"NCT00831909": study}), tmp_path / "out", jobs=1)
    pages = html_pages(tmp_path / "out")
    shown = pages["trials/nct00831909/eligibility/index.html"].text
    assert words(population) in words(shown) and "Sampling method Probability sample" in shown
    assert "Healthy volunteers Not accepted" in shown and "Any age" not in shown and "Ages" not in shown
    summary = pages["trials/nct00831909/index.html"].text
    assert "Helper University" not in summary and "Sponsor Helper" not in summary
    assert "Collaborators Helper University" in pages["trials/nct00831909/sponsor/index.html"].text


def test_an_observational_study_s_registry_duration_and_biospecimens_are_shown(tmp_path: Path) -> None:
    """The design facts of an observational study the registry shows (its page says 'Observational [Patient
    Registry]', 'Target Follow-Up Duration', 'Biospecimen Retention' and what they are), as real records hold
    them (NCT03571217 in ../shared/data/ctgov-corpus), were on no page."""
    study = record("NCT00831909")
    study["protocolSection"]["designModule"].update({"patientRegistry": True, "targetDuration": "10 Years", "bioSpec": {
        "retention": "SAMPLES_WITH_DNA", "description": "Blood\n\nFFPE tissue \\<5 years old"}})
    build(make_registry_catalog(tmp_path, {"NCT00831909": study}), tmp_path / "out", jobs=1)
    text = html_pages(tmp_path / "out")["trials/nct00831909/index.html"].text
    for fact in ("Study type Observational (patient registry)", "Target follow-up duration 10 Years",
                 "Biospecimens retained Samples with DNA", "Biospecimens Blood FFPE tissue <5 years old"):
        assert fact in text, fact
    study["protocolSection"]["designModule"]["patientRegistry"] = False
    (tmp_path / "content" / "trials" / "nct00831909.ctgov.json").write_text(study_json(study), encoding="utf-8")
    build(Project.at(tmp_path / "content"), tmp_path / "out", jobs=1)
    assert "Study type Observational Phase" in html_pages(tmp_path / "out")["trials/nct00831909/index.html"].text

@pytest.mark.parametrize("text", ids=["brackets", "backticks", "lists", "quotes", "tags"], argvalues=[
    "<a" * 300,  # more '<' than Markdown reads in linear time, though each is written as text
    "Dose: `a < b` and <b>bold</b> \\[not a link\\] " + "[" * 201,  # more '[' than Markdown reads in linear time
    "`" * 201 + " x",  # more backticks
    "".join("    " * i + "- level\n" for i in range(200)),  # lists too deep for Python's stack
    "".join(">" * i + " level\n" for i in range(40)),  # quotes too deep
])
def test_a_registry_text_markdown_cannot_read_safely_is_shown_as_written(tmp_path: Path, text: str) -> None:
    """A registry text an editor's field could not hold is shown as plain text, every character as written."""
    study = record("NCT05814159")
    study["protocolSection"]["descriptionModule"]["detailedDescription"] = text
    build(make_registry_catalog(tmp_path, {"NCT05814159": study}), tmp_path / "out", jobs=1)
    summary = html_pages(tmp_path / "out")["trials/nct05814159/index.html"].text
    assert " ".join(line.strip() for line in text.replace("\\", "").splitlines()) in summary


def test_controls_and_direction_overrides_in_a_record_are_not_shown(tmp_path: Path) -> None:
    study = record("NCT05814159")
    study["protocolSection"]["identificationModule"]["briefTitle"] = "Tit\u0000le \u202eevil\u202c \u0007bell \u001b[31m"
    study["protocolSection"]["eligibilityModule"]["eligibilityCriteria"] = "Inclusion Criteria:\n\n* Age \u2066\u0085>= 18"
    build(make_registry_catalog(tmp_path, {"NCT05814159": study}), tmp_path / "out", jobs=1)
    for page in (tmp_path / "out").rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", text), page
    assert "Title evil bell [31m" in html_pages(tmp_path / "out")["trials/nct05814159/index.html"].text


def test_a_registry_text_longer_than_any_the_registry_takes_is_cut_with_a_note(tmp_path: Path) -> None:
    study = record("NCT05814159")
    study["protocolSection"]["descriptionModule"]["detailedDescription"] = "word " * 30_000  # 149,999 once stripped
    build(make_registry_catalog(tmp_path, {"NCT05814159": study}), tmp_path / "out", jobs=1)
    summary = html_pages(tmp_path / "out")["trials/nct05814159/index.html"].text
    assert "word " * 19_999 + "word" in summary and "word " * 20_001 not in summary
    assert "(The registry's text goes on for 49,999 more characters, not shown here.)" in summary


def test_a_registry_link_a_page_may_not_make_is_shown_as_text(tmp_path: Path) -> None:
    study = record("NCT05814159")
    study["protocolSection"]["referencesModule"] = {"seeAlsoLinks": [
        {"label": "Study site", "url": "https://example.org/study"},
        {"label": "A script", "url": "javascript:alert(1)"},
        {"label": "With a password", "url": "https://user:secret@example.org/"}]}
    build(make_registry_catalog(tmp_path, {"NCT05814159": study}), tmp_path / "out", jobs=1)
    page = (tmp_path / "out" / "trials" / "nct05814159" / "references" / "index.html").read_text()
    assert '<a href="https://example.org/study">Study site</a>' in page
    assert "<li>A script</li>" in page and "<li>With a password</li>" in page  # the label, not the link
    assert "javascript:" not in page and "secret" not in page


def test_check_reports_a_record_nested_too_deep_without_a_traceback(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from sitegen.freshness import stale_content

    project = make_registry_catalog(tmp_path, {"NCT05814159": record("NCT05814159")})
    (project.content / "trials" / "nct05814159.ctgov.json").write_text("[" * 100_000 + "]" * 100_000)
    assert stale_content(project.content, datetime.date(2026, 1, 1)) == []  # the build's reading reports it
    assert main(["check", "--content", str(project.content), "--today", "2026-01-01"]) == 1
    err = capsys.readouterr().err
    assert "nested more than 50 levels deep" in err and "Traceback" not in err


def test_a_record_holding_nan_or_1e999_fails_the_build_and_the_check_at_its_place(tmp_path: Path,
                                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Python's JSON reader takes NaN and reads 1e999 as infinity; neither is JSON, nor a fact a page can show."""
    study = record("NCT05814159")
    study["protocolSection"]["designModule"]["enrollmentInfo"]["count"] = "COUNT"
    project = make_registry_catalog(tmp_path, {"NCT05814159": study})
    path = project.content / "trials" / "nct05814159.ctgov.json"
    text = path.read_text()
    line = text[: text.index('"COUNT"')].count("\n") + 1
    column = text.splitlines()[line - 1].index('"COUNT"') + 1
    for value, message in (("NaN", "not valid JSON: NaN is no JSON value"), ("1e999", "the number 1e999 is too large")):
        path.write_text(text.replace('"COUNT"', value))
        assert main(["check", "--content", str(project.content), "--today", "2026-01-01"]) == 1
        assert main(["build", "--content", str(project.content), "--output", str(tmp_path / "out")]) == 1
        err = capsys.readouterr().err
        assert err.count(f"{path}:{line}:{column}: {message}") == 2, err
        assert "Traceback" not in err and not (tmp_path / "out").exists()
