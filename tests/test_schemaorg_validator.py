"""Tests for the offline schema.org validator in tests/schemaorg.py."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest
from schemaorg import (
    CONTEXT_PATH,
    DATA_DIR,
    VOCABULARY_PATH,
    OfflineDocumentError,
    Vocabulary,
    expand,
    offline_document_loader,
    validate,
)

SITE = "https://trials.example.org"
PAGE = f"{SITE}/trials/nct01234567/"
TRIAL_ID = f"{PAGE}#trial"
SPONSOR_ID = f"{SITE}/#sponsor"

Doc = dict[str, Any]


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test here that tries to open a network connection."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted in the schema.org validator tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return Vocabulary.load()


def trial_node() -> Doc:
    return {
        "@type": "MedicalTrial",
        "@id": TRIAL_ID,
        "name": "Metformin versus placebo in early type 2 diabetes",
        "alternateName": ["MET-EARLY", "NCT01234567"],
        "description": "A randomised, placebo-controlled trial of metformin in adults with early type 2 diabetes.",
        "url": PAGE,
        "identifier": [
            {"@type": "PropertyValue", "propertyID": "ClinicalTrials.gov", "value": "NCT01234567"},
            "EudraCT 2023-000123-45",
        ],
        "status": "https://schema.org/Recruiting",
        "trialDesign": ["https://schema.org/MultiCenterTrial", "RandomizedTrial"],
        "sponsor": [
            {"@type": "Organization", "@id": SPONSOR_ID, "name": "Example Research Institute", "url": f"{SITE}/"},
            {"@type": "Organization", "name": "Example University Hospital"},
        ],
        "healthCondition": {
            "@type": "MedicalCondition",
            "name": "Type 2 diabetes mellitus",
            "code": {"@type": "MedicalCode", "codeValue": "E11", "codingSystem": "ICD-10"},
        },
        "studySubject": {
            "@type": "Drug",
            "name": "Metformin",
            "drugClass": {"@type": "DrugClass", "name": "Biguanides"},
        },
        "studyLocation": [
            {"@type": "City", "name": "Boston"},
            {"@type": "Country", "name": "United States"},
        ],
        "mainEntityOfPage": {"@id": PAGE},
    }


def trial_doc() -> Doc:
    return {"@context": "https://schema.org", **trial_node()}


def web_page_doc() -> Doc:
    return {
        "@context": "https://schema.org",
        "@graph": [
            {
                "@type": "MedicalWebPage",
                "@id": PAGE,
                "url": PAGE,
                "name": "MET-EARLY: metformin in early type 2 diabetes",
                "inLanguage": "en",
                "lastReviewed": "2024-03-01",
                "datePublished": "2023-11-20",
                "mainEntity": {"@id": TRIAL_ID},
                "breadcrumb": {"@id": f"{PAGE}#breadcrumb"},
                "publisher": {"@id": SPONSOR_ID},
                "audience": {
                    "@type": "PeopleAudience",
                    "requiredMinAge": 18,
                    "requiredMaxAge": 75,
                    "requiredGender": "female",
                    "healthCondition": {"@type": "MedicalCondition", "name": "Type 2 diabetes mellitus"},
                },
            },
            trial_node(),
            {
                "@type": "BreadcrumbList",
                "@id": f"{PAGE}#breadcrumb",
                "itemListElement": [
                    {"@type": "ListItem", "position": 1, "name": "Trials", "item": f"{SITE}/trials/"},
                ],
            },
        ],
    }


def faq_doc() -> Doc:
    return {
        "@context": "https://schema.org",
        "@type": "FAQPage",
        "mainEntity": [
            {
                "@type": "Question",
                "name": "Who can take part?",
                "acceptedAnswer": {"@type": "Answer", "text": "Adults aged 18 to 75 with early type 2 diabetes."},
            },
            {
                "@type": "Question",
                "name": "Is taking part paid?",
                "acceptedAnswer": {"@type": "Answer", "text": "Travel costs are reimbursed."},
            },
        ],
    }


def breadcrumb_doc() -> Doc:
    return {
        "@context": "https://schema.org",
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": 1, "name": "Home", "item": f"{SITE}/"},
            {"@type": "ListItem", "position": 2, "name": "Trials", "item": {"@id": f"{SITE}/trials/"}},
            {"@type": "ListItem", "position": "3", "name": "MET-EARLY"},
        ],
    }


def data_feed_doc() -> Doc:
    return {
        "@context": "https://schema.org",
        "@type": "DataFeed",
        "name": "All trials",
        "url": f"{SITE}/feed.jsonld",
        "dateModified": "2024-05-01T12:00:00Z",
        "dataFeedElement": [
            {
                "@type": "DataFeedItem",
                "dateCreated": "2024-01-10",
                "dateModified": "2024-04-02T09:30:00+02:00",
                "item": {"@type": "MedicalTrial", "@id": TRIAL_ID, "name": "MET-EARLY", "url": PAGE},
            }
        ],
    }


# --- the vocabulary -----------------------------------------------------------------------------------


def test_vocabulary_comes_from_the_copied_data_files(vocab: Vocabulary) -> None:
    assert VOCABULARY_PATH.parent == CONTEXT_PATH.parent == DATA_DIR
    assert DATA_DIR.parent.parent.name == "tests"
    assert VOCABULARY_PATH.is_file() and CONTEXT_PATH.is_file()
    assert Vocabulary.load() is vocab  # loaded once


def test_vocabulary_facts(vocab: Vocabulary) -> None:
    assert vocab.is_subclass("MedicalTrial", "MedicalStudy")
    assert vocab.is_subclass("MedicalTrial", "Thing")
    assert {"phase", "population", "outcome"}.isdisjoint(vocab.properties)
    assert vocab.properties["status"].ranges == {"EventStatusType", "MedicalStudyStatus", "Text"}
    assert vocab.properties["trialDesign"].ranges == {"MedicalTrialDesign"}
    assert vocab.members["Recruiting"] == {"MedicalStudyStatus"}
    assert "MultiCenterTrial" in vocab.members_of("MedicalTrialDesign")
    assert vocab.is_enumeration("MedicalStudyStatus")
    assert {"Text", "URL", "Date", "DateTime", "Number", "Integer", "Boolean"} <= vocab.datatypes
    assert not vocab.is_datatype("Thing")
    assert vocab.properties["reviews"].superseded_by == "review"


# --- valid documents ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make_doc",
    [trial_doc, web_page_doc, faq_doc, breadcrumb_doc, data_feed_doc],
    ids=["MedicalTrial", "MedicalWebPage", "FAQPage", "BreadcrumbList", "DataFeed"],
)
def test_valid_documents_pass(vocab: Vocabulary, make_doc: Callable[[], Doc]) -> None:
    assert validate(make_doc(), vocab) == []


def test_prefixed_and_http_iris_are_accepted(vocab: Vocabulary) -> None:
    doc = {
        "@context": "http://schema.org/",
        "@type": ["schema:MedicalTrial", "https://schema.org/MedicalStudy"],
        "http://schema.org/name": "A trial",
        "schema:status": "http://schema.org/Completed",
        "trialDesign": {"@id": "https://schema.org/OpenTrial"},
        "https://schema.org/sponsor": {"@type": "http://schema.org/Organization", "name": "Sponsor"},
    }
    assert validate(doc, vocab) == []


def test_strings_for_entity_ranges_must_be_urls(vocab: Vocabulary) -> None:
    doc = trial_doc()
    doc["sponsor"] = f"{SITE}/about/"
    assert validate(doc, vocab) == []
    doc["sponsor"] = "Example Research Institute"
    [error] = validate(doc, vocab)
    assert error.startswith(f"{TRIAL_ID}: property 'sponsor'")
    assert "does not fit the range Organization, Person" in error


def test_list_of_documents_and_json_ld_lists(vocab: Vocabulary) -> None:
    doc = faq_doc()
    doc["mainEntity"] = {"@list": doc["mainEntity"]}
    assert validate([doc, breadcrumb_doc()], vocab) == []


def test_value_objects_are_checked(vocab: Vocabulary) -> None:
    doc = trial_doc()
    doc["name"] = {"@value": "A trial", "@language": "en"}
    assert validate(doc, vocab) == []
    doc["url"] = {"@value": "not a url"}
    [error] = validate(doc, vocab)
    assert "property 'url'" in error and "not an absolute URL" in error


def test_lenient_enumerations_accept_text_where_the_range_allows_it(vocab: Vocabulary) -> None:
    doc = trial_doc()
    doc["status"] = "Active, not recruiting"
    assert validate(doc, vocab, strict_enumerations=False) == []
    assert validate(doc, vocab) != []
    doc["status"] = "https://schema.org/Recruting"  # a misspelt member is wrong either way
    [error] = validate(doc, vocab, strict_enumerations=False)
    assert "'https://schema.org/Recruting' is not a member of" in error


# --- planted faults -----------------------------------------------------------------------------------


def _fault_unknown_type(doc: Doc) -> None:
    doc["sponsor"][0]["@type"] = "Organisation"


def _fault_property_as_type(doc: Doc) -> None:
    doc["studySubject"]["@type"] = "drugClass"


def _fault_unknown_property(doc: Doc) -> None:
    doc["enrolment"] = 120


def _fault_phase(doc: Doc) -> None:
    doc["phase"] = "Phase 3"


def _fault_population(doc: Doc) -> None:
    doc["population"] = "Adults with early type 2 diabetes"


def _fault_domain(doc: Doc) -> None:
    doc["sponsor"][1]["drugClass"] = {"@type": "DrugClass", "name": "Biguanides"}


def _fault_status_text(doc: Doc) -> None:
    doc["status"] = "Hello"


def _fault_person_condition(doc: Doc) -> None:
    doc["healthCondition"] = [doc["healthCondition"], {"@type": "Person", "name": "Jane Doe"}]


def _fault_non_member(doc: Doc) -> None:
    doc["trialDesign"] = ["https://schema.org/MultiCenterTrial", "https://schema.org/Recruiting"]


def _fault_unknown_member(doc: Doc) -> None:
    doc["trialDesign"] = {"@id": "https://schema.org/QuadrupleBlindedTrial"}


def _fault_relative_url(doc: Doc) -> None:
    doc["url"] = "/trials/nct01234567/"


def _fault_superseded(doc: Doc) -> None:
    doc["sponsor"][0]["members"] = {"@type": "Person", "name": "Jane Doe"}


def _fault_untyped_node(doc: Doc) -> None:
    del doc["healthCondition"]["@type"]


def _fault_null(doc: Doc) -> None:
    doc["alternateName"] = None


FAULTS: list[tuple[Callable[[Doc], None], list[str]]] = [
    (_fault_unknown_type, [SPONSOR_ID, "unknown type 'Organisation'"]),
    (_fault_property_as_type, ["$.studySubject", "type 'drugClass' is a property, not a type"]),
    (_fault_unknown_property, [TRIAL_ID, "property 'enrolment'", "unknown property"]),
    (_fault_phase, [TRIAL_ID, "property 'phase'", "unknown property: not in schema.org 30.0"]),
    (_fault_population, [TRIAL_ID, "property 'population'", "unknown property"]),
    (_fault_domain, ["$.sponsor[1]", "property 'drugClass'", "not allowed on Organization", "domain is Drug"]),
    (_fault_status_text, [TRIAL_ID, "property 'status'", "'Hello' is not a member of", "MedicalStudyStatus"]),
    (
        _fault_person_condition,
        [TRIAL_ID, "property 'healthCondition'", "$.healthCondition[1]", "a Person node does not fit the range MedicalCondition"],
    ),
    (
        _fault_non_member,
        [TRIAL_ID, "property 'trialDesign'", "$.trialDesign[1]", "Recruiting is a MedicalStudyStatus value, not a member of MedicalTrialDesign"],
    ),
    (_fault_unknown_member, [TRIAL_ID, "property 'trialDesign'", "QuadrupleBlindedTrial", "not a member of MedicalTrialDesign"]),
    (_fault_relative_url, [TRIAL_ID, "property 'url'", "not an absolute URL"]),
    (_fault_superseded, [SPONSOR_ID, "property 'members'", "superseded by 'member'"]),
    (_fault_untyped_node, ["$.healthCondition", 'no "@type"']),
    (_fault_null, [TRIAL_ID, "property 'alternateName'", "null value"]),
]


@pytest.mark.parametrize(("plant", "expected"), FAULTS, ids=[plant.__name__[7:] for plant, _ in FAULTS])
def test_planted_fault_is_reported(vocab: Vocabulary, plant: Callable[[Doc], None], expected: list[str]) -> None:
    doc = trial_doc()
    plant(doc)
    errors = validate(doc, vocab)
    assert len(errors) == 1, errors
    for fragment in expected:
        assert fragment in errors[0]


@pytest.mark.parametrize(
    ("date_value", "reason"),
    [
        ("31/01/2024", "not an ISO 8601 date"),
        ("2024-13-01", "not an ISO 8601 date"),
        ("2024-02-30", "not an ISO 8601 date"),
        ("March 2024", "not an ISO 8601 date"),
    ],
)
def test_bad_date_is_reported(vocab: Vocabulary, date_value: str, reason: str) -> None:
    doc = web_page_doc()
    doc["@graph"][0]["lastReviewed"] = date_value
    [error] = validate(doc, vocab)
    assert error.startswith(f"{PAGE}: property 'lastReviewed'")
    assert repr(date_value) in error and reason in error


def test_bad_date_time_and_integer_are_reported(vocab: Vocabulary) -> None:
    doc = data_feed_doc()
    doc["dateModified"] = "2024-05-01 noon"
    doc["dataFeedElement"][0]["dateModified"] = "2024-04-02T25:00:00"
    errors = validate(doc, vocab)
    assert len(errors) == 2, errors
    assert all("not an ISO 8601 date" in error for error in errors)
    assert "$.dataFeedElement[0]: property 'dateModified'" in errors[1]

    page = web_page_doc()
    page["@graph"][0]["audience"]["requiredMinAge"] = "eighteen"
    [error] = validate(page, vocab)
    assert "$.@graph[0].audience: property 'requiredMinAge'" in error and "not an integer" in error


def test_references_are_resolved_by_id(vocab: Vocabulary) -> None:
    doc = web_page_doc()
    doc["@graph"].append({"@type": "Person", "@id": f"{SITE}/#jane", "name": "Jane Doe"})
    doc["@graph"][0]["audience"]["healthCondition"] = {"@id": f"{SITE}/#jane"}
    [error] = validate(doc, vocab)
    assert "$.@graph[0].audience: property 'healthCondition'" in error
    assert "is a Person, which does not fit the range MedicalCondition" in error

    # an unresolvable reference is accepted where the range admits entities, not where it is only Text
    doc["@graph"][0]["audience"]["healthCondition"] = {"@id": f"{SITE}/conditions/t2d"}
    assert validate(doc, vocab) == []
    doc["@graph"][0]["name"] = {"@id": f"{SITE}/names/1"}
    [error] = validate(doc, vocab)
    assert f"{PAGE}: property 'name'" in error and "does not fit the range Text" in error


def test_context_is_required(vocab: Vocabulary) -> None:
    doc = faq_doc()
    del doc["@context"]
    assert validate(doc, vocab) == ['$: missing "@context" (expected "https://schema.org")']
    doc["@context"] = "https://example.org/context.jsonld"
    [error] = validate(doc, vocab)
    assert "is not the schema.org context" in error


# --- offline expansion --------------------------------------------------------------------------------


def test_expand_uses_the_local_context() -> None:
    doc = {
        "@context": "https://schema.org",
        "@type": "MedicalTrial",
        "@id": TRIAL_ID,
        "name": "A trial",
        "url": PAGE,
        "trialDesign": {"@id": "https://schema.org/MultiCenterTrial"},
    }
    [node] = expand(doc)
    assert node["@id"] == TRIAL_ID
    assert node["@type"] == ["http://schema.org/MedicalTrial"]
    assert node["http://schema.org/name"] == [{"@value": "A trial"}]
    assert node["http://schema.org/url"] == [{"@id": PAGE}]
    assert node["http://schema.org/trialDesign"] == [{"@id": "https://schema.org/MultiCenterTrial"}]


@pytest.mark.parametrize(
    "url", ["http://schema.org", "https://schema.org/", "https://schema.org/docs/jsonldcontext.jsonld"]
)
def test_expand_accepts_every_schema_org_context_url(url: str) -> None:
    [node] = expand({"@context": url, "@type": "Drug", "name": "Metformin"})
    assert node["@type"] == ["http://schema.org/Drug"]


def test_expand_refuses_other_urls() -> None:
    with pytest.raises(OfflineDocumentError):
        offline_document_loader("https://example.org/context.jsonld", {})
    with pytest.raises(Exception) as raised:
        expand({"@context": "https://example.org/context.jsonld", "name": "x"})
    causes: list[BaseException] = []
    cause: BaseException | None = raised.value
    while cause is not None:
        causes.append(cause)
        cause = cause.__cause__
    assert any(isinstance(c, OfflineDocumentError) for c in causes)


def test_expand_does_not_share_the_cached_context_document() -> None:
    first = offline_document_loader("https://schema.org", {})
    first["document"]["@context"]["name"] = "mutated"
    assert offline_document_loader("https://schema.org", {})["document"]["@context"]["name"] == {"@id": "schema:name"}
