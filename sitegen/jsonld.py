"""The schema.org graph for each page and the site's DataFeed, using only terms of schema.org release 30.0.

Ids are absolute, stable URLs under the base URL, so the pages and the feed describe one graph.
Facts schema.org has no trial property for are carried validly: the phase as an `additionalType`
naming the NCI Thesaurus term, who may join as the eligibility page's `audience`.
"""

from __future__ import annotations

import json
from typing import Any

from .bib import reference_links
from .cite import CitedReference
from .glossary import term_id
from .pages import GLOSSARY, Page
from .schema import Glossary, Settings, Trial

JsonLd = dict[str, Any]
SCHEMA = "https://schema.org/"

STATUS = {
    "not-yet-recruiting": "NotYetRecruiting", "recruiting": "Recruiting",
    "enrolling-by-invitation": "EnrollingByInvitation", "active-not-recruiting": "ActiveNotRecruiting",
    "suspended": "Suspended", "terminated": "Terminated", "completed": "Completed", "withdrawn": "Withdrawn",
}
# NCI Thesaurus concepts for trial phases (the terms ClinicalTrials.gov's phases map to).
PHASE_TERMS = {
    "early-phase-1": "C54721", "phase-1": "C15600", "phase-1-2": "C15693", "phase-2": "C15601",
    "phase-2-3": "C15694", "phase-3": "C15602", "phase-4": "C15603",
}
GENDER = {"female": "Female", "male": "Male"}


def trial_id(base_url: str) -> str:
    """The @id of the trial node."""
    return f"{base_url}#trial"


def page_url(base_url: str, page: Page) -> str:
    """The absolute, canonical URL of a page."""
    return base_url + page.path


def medical_trial(trial: Trial, settings: Settings, plain: dict[str, str]) -> JsonLd:
    """The MedicalTrial node with everything the content states."""
    base = settings.base_url
    node = trial_summary(trial, settings)
    node["description"] = plain["purpose"]
    node["sponsor"] = [{"@type": "Organization", "name": s.name} for s in trial.sponsors]
    node["studySubject"] = [_drug(trial, base, d.id) for d in trial.interventions]
    if trial.official_title:
        node["alternateName"] = trial.official_title
    if len(trial.locations.named) + trial.locations.others > 1:
        node["trialDesign"] = SCHEMA + "MultiCenterTrial"
    return node


def _drug(trial: Trial, base: str, drug_id: str) -> JsonLd:
    drug = next(d for d in trial.interventions if d.id == drug_id)
    node: JsonLd = {
        "@type": "Drug",
        "@id": f"{base}#drug-{drug.id}",
        "name": drug.name,
        "nonProprietaryName": drug.name,
        "drugClass": {"@type": "DrugClass", "name": drug.drug_class},
    }
    if drug.brand_names:
        node["proprietaryName"] = drug.brand_names[0] if len(drug.brand_names) == 1 else list(drug.brand_names)
    statuses = [
        {
            "@type": "DrugLegalStatus",
            "name": f"Approved in {a.jurisdiction} as {a.brand} for: {'; '.join(a.indications)}",
            "applicableLocation": {"@type": "AdministrativeArea", "name": a.jurisdiction},
        }
        for a in trial.approvals
        if a.drug == drug.id
    ]
    if statuses:
        node["legalStatus"] = statuses
    return node


def page_graph(
    trial: Trial, settings: Settings, page: Page, pages: list[Page], plain: dict[str, str],
    references: tuple[CitedReference, ...], glossary: Glossary | None = None,
) -> JsonLd:
    """The JSON-LD of one page: the page node (with what it is about) and its breadcrumb."""
    base = settings.base_url
    home = base.removesuffix(page.trial_base)  # the whole site's root: in a catalog, above the trial's folder
    url = page_url(base, page)
    node: JsonLd = {
        "@type": "WebPage",
        "@id": url,
        "url": url,
        "name": page.heading,
        "description": page.description,
        "inLanguage": settings.language,
        "dateModified": trial.updated.isoformat(),
        "isPartOf": {"@type": "WebSite", "@id": f"{home}#website", "name": settings.title, "url": home},
        "breadcrumb": breadcrumb(trial, settings, page),
    }
    if page.slug == "":
        node["mainEntity"] = medical_trial(trial, settings, plain)
    else:
        node["about"] = {"@id": trial_id(base)}
    if page.slug == "faq":
        node["@type"] = "FAQPage"
        node["mainEntity"] = [
            {
                "@type": "Question",
                "name": q.question,
                "acceptedAnswer": {"@type": "Answer", "text": plain[f"faq.{i}.answer"]},
            }
            for i, q in enumerate(trial.faq)
        ]
    if page.slug == "eligibility":
        node["@type"] = "MedicalWebPage"
        node["audience"] = _audience(trial)
    if page.slug == "findings" and references:
        node["citation"] = [scholarly_article(r) for r in references]
    if page.slug == GLOSSARY and glossary is not None:
        node["mainEntity"] = defined_term_set(glossary, url)
    return {"@context": "https://schema.org", **node}


def defined_term_set(glossary: Glossary, url: str) -> JsonLd:
    """The glossary as a DefinedTermSet: each entry a DefinedTerm, its abbreviation an alternateName."""
    terms = []
    for term in glossary.terms:
        node: JsonLd = {"@type": "DefinedTerm", "@id": f"{url}#term-{term_id(term)}", "name": term.term}
        if term.abbreviation:
            node["alternateName"] = term.abbreviation
        node["description"] = term.definition
        terms.append(node)
    return {"@type": "DefinedTermSet", "@id": f"{url}#terms", "name": "Glossary", "hasDefinedTerm": terms}


def _audience(trial: Trial) -> JsonLd:
    audience: JsonLd = {
        "@type": "PeopleAudience",
        "audienceType": "People who may join the trial",
        "healthCondition": {"@type": "MedicalCondition", "name": trial.condition},
    }
    if trial.eligibility.min_age is not None:
        audience["requiredMinAge"] = trial.eligibility.min_age
    if trial.eligibility.max_age is not None:
        audience["requiredMaxAge"] = trial.eligibility.max_age
    if trial.eligibility.sex in GENDER:
        audience["requiredGender"] = GENDER[trial.eligibility.sex]
    return audience


def scholarly_article(cited: CitedReference) -> JsonLd:
    """A cited reference as a ScholarlyArticle."""
    ref = cited.reference
    links = reference_links(ref)  # the links the HTML makes, by the same rule
    node: JsonLd = {"@type": "ScholarlyArticle"}
    if ref.title:
        node["name"] = ref.title
    if ref.authors:
        node["author"] = [{"@type": "Person", "name": a} for a in ref.authors]
    if ref.year:
        node["datePublished"] = ref.year
    if ref.journal:
        node["isPartOf"] = {"@type": "Periodical", "name": ref.journal}
    if links.doi:
        node["sameAs"] = links.doi
        node["identifier"] = {"@type": "PropertyValue", "propertyID": "DOI", "value": ref.doi}
    elif links.web and not ref.doi:
        node["url"] = links.web
    return node


def breadcrumb(trial: Trial, settings: Settings, page: Page) -> JsonLd:
    """The BreadcrumbList shown at the top of a page."""
    items = []
    if page.trial_base:
        items.append({"@type": "ListItem", "position": 1, "name": "All trials", "item": settings.base_url.removesuffix(page.trial_base)})
    items.append({"@type": "ListItem", "position": len(items) + 1, "name": trial.title, "item": settings.base_url})
    if page.slug:
        items.append({"@type": "ListItem", "position": len(items) + 1, "name": page.nav_title, "item": page_url(settings.base_url, page)})
    return {"@type": "BreadcrumbList", "itemListElement": items}


def feed(trial: Trial, settings: Settings, pages: list[Page], plain: dict[str, str]) -> JsonLd:
    """The site's DataFeed: the trial and each of its pages, with stable ids and dateModified."""
    base = settings.base_url
    modified = trial.updated.isoformat()
    elements: list[JsonLd] = [
        {"@type": "DataFeedItem", "dateModified": modified, "item": medical_trial(trial, settings, plain)}
    ]
    for page in pages:
        elements.append(
            {
                "@type": "DataFeedItem",
                "dateModified": modified,
                "item": {
                    "@type": "WebPage", "@id": page_url(base, page), "url": page_url(base, page),
                    "name": page.heading, "about": {"@id": trial_id(base)},
                },
            }
        )
    return {
        "@context": "https://schema.org",
        "@type": "DataFeed",
        "@id": f"{base}feed.jsonld",
        "name": f"{settings.title}: trials and pages",
        "url": f"{base}feed.jsonld",
        "inLanguage": settings.language,
        "dateModified": modified,
        "dataFeedElement": elements,
    }


def json_text(data: JsonLd) -> str:
    """Deterministic JSON whose `<`, `>` and `&` are escaped, so inside <script> it can never close the tag."""
    # On one line: json's C encoder does not indent, and the Python one takes a tenth of a catalog's build time.
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def trial_summary(trial: Trial, settings: Settings) -> JsonLd:
    """The trial as a catalog's feed lists it (what it is, its status, where, its ids); its page says the rest."""
    base = settings.base_url
    node: JsonLd = {
        "@type": "MedicalTrial",
        "@id": trial_id(base),
        "name": trial.title,
        "url": base,
        "status": SCHEMA + STATUS[trial.status],
        "additionalType": f"http://purl.obolibrary.org/obo/NCIT_{PHASE_TERMS[trial.phase]}",
        "healthCondition": {"@type": "MedicalCondition", "name": trial.condition},
        "studyLocation": [{"@type": "AdministrativeArea", "name": loc.name} for loc in trial.locations.named],
    }
    if trial.identifiers:
        node["identifier"] = [
            {"@type": "PropertyValue", "propertyID": i.registry, "value": i.value, **({"url": i.url} if i.url else {})}
            for i in trial.identifiers
        ]
    return node
