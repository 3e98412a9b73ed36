"""The schema.org graph for each page and the site's DataFeed, using only terms of schema.org release 30.0.

Ids are absolute, stable URLs under the base URL, so the pages and the feed describe one graph.
Facts schema.org has no trial property for are carried validly: the phase as an `additionalType`
naming the NCI Thesaurus term, who may join as the eligibility page's `audience`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .bib import ARTICLE_TYPES, PART_TYPES, reference_links
from .cite import CitedReference
from .glossary import term_id
from .pages import GLOSSARY, Page, recruitment, registry_conditions, registry_phase, registry_status
from .registry import Site
from .schema import Glossary, RegistryTrial, Settings, Trial

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
    if isinstance(trial, RegistryTrial):
        return {**node, **registry_facts(trial, plain)}
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
        **({"dateModified": trial.updated.isoformat()} if trial.updated else {}),  # a registry record may give no date
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
        node["audience"] = _registry_audience(trial) if isinstance(trial, RegistryTrial) else _audience(trial)
    if page.slug == "references" and isinstance(trial, RegistryTrial):
        node["citation"] = [_publication(r.citation, r.pmid) for r in trial.registry.references]
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


def _who(trial: Trial, study: str) -> str:
    """The audience's type, as the eligibility page's heading puts it (in the past for a closed trial)."""
    return f"People who may join the {study}" if recruitment(trial) == "open" else f"People who could join the {study}"


def _audience(trial: Trial) -> JsonLd:
    audience: JsonLd = {
        "@type": "PeopleAudience",
        "audienceType": _who(trial, "trial"),
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
        organizations = ref.shown.organizations
        node["author"] = [{"@type": "Organization" if a in organizations else "Person", "name": a} for a in ref.authors]
    year = _published_year(ref.year)
    if year:
        node["datePublished"] = year
    if ref.journal and ref.entry_type in ARTICLE_TYPES:
        node["isPartOf"] = {"@type": "Periodical", "name": ref.journal}
    elif ref.journal and ref.entry_type in PART_TYPES:  # a chapter's book, a paper's proceedings
        node["isPartOf"] = {"@type": "Book", "name": ref.journal}
    elif ref.journal:  # a book's, report's or thesis's publisher, institution or school
        node["publisher"] = {"@type": "Organization", "name": ref.journal}
    if links.doi:
        node["sameAs"] = links.doi
        node["identifier"] = {"@type": "PropertyValue", "propertyID": "DOI", "value": ref.doi}
    elif links.web and not ref.doi:
        node["url"] = links.web
    return node


_YEAR = re.compile(r"(?<![0-9])[0-9]{4}(?![0-9])")


def _published_year(year: str) -> str:
    """The year as schema.org's Date takes it: '2020' of the '2020a', '(2020)' or 'Mar 2020' a BibTeX year can be
    written as; '' when it names none ('in press', 'forthcoming'), which no Date is."""
    found = _YEAR.search(year)
    return found.group() if found else ""


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
    if isinstance(trial, RegistryTrial):
        return registry_summary(trial, base)
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


# What kind of schema.org entity each type of intervention is (the rest are MedicalEntity).
SUBJECT_TYPES = {"Drug": "Drug", "Biological": "Drug", "Device": "MedicalDevice", "Procedure": "MedicalProcedure",
                 "Radiation": "MedicalProcedure", "Dietary supplement": "DietarySupplement"}
MASKING = {"None": "OpenTrial", "Single": "SingleBlindedTrial", "Double": "DoubleBlindedTrial",
           "Triple": "TripleBlindedTrial", "Quadruple": "TripleBlindedTrial"}


def registry_summary(trial: RegistryTrial, base: str) -> JsonLd:
    """A registry trial as a feed lists it: name, status, phase, conditions, every site, its ids."""
    study = trial.registry
    status, phase = registry_status(trial)[1], registry_phase(trial)[1]
    node: JsonLd = {"@type": "MedicalTrial", "@id": trial_id(base), "name": trial.title, "url": base}
    if status in STATUS:  # a registry status schema.org has no member for (UNKNOWN, say) is left out
        node["status"] = SCHEMA + STATUS[status]
    if phase in PHASE_TERMS:
        node["additionalType"] = f"http://purl.obolibrary.org/obo/NCIT_{PHASE_TERMS[phase]}"
    conditions = registry_conditions(trial)
    if conditions:
        node["healthCondition"] = [{"@type": "MedicalCondition", "name": c} for c in conditions]
    if study.sites:
        node["studyLocation"] = [_study_location(s) for s in study.sites]
    node["identifier"] = [
        {"@type": "PropertyValue", "propertyID": i.registry, "value": i.value, **({"url": i.url} if i.url else {})}
        for i in trial.identifiers
    ]
    node["sameAs"] = study.url
    return node


def _study_location(site: Site) -> JsonLd:
    """A site as an AdministrativeArea (studyLocation's range) with its address and, where known, coordinates."""
    address: JsonLd = {"@type": "PostalAddress"}
    for key, value in (("addressLocality", site.city), ("addressRegion", site.state), ("postalCode", site.zip),
                       ("addressCountry", site.country)):
        if value:
            address[key] = value
    node: JsonLd = {"@type": "AdministrativeArea", "name": site.facility or site.address or "Study site", "address": address}
    if site.latitude is not None and site.longitude is not None:
        node["geo"] = {"@type": "GeoCoordinates", "latitude": site.latitude, "longitude": site.longitude}
    return node


def registry_facts(trial: RegistryTrial, plain: dict[str, str]) -> JsonLd:
    """What the MedicalTrial node of a registry trial says beyond its summary."""
    study = trial.registry
    node: JsonLd = {}
    if trial.purpose:
        node["description"] = plain["purpose"]
    elif study.brief_summary:
        node["description"] = plain["registry.brief_summary"]
    titles = list(dict.fromkeys(t for t in (trial.official_title, study.brief_title, study.acronym)
                                if t and t != trial.title))  # the editor's official title wins, as on the page
    if titles:
        node["alternateName"] = titles
    if trial.sponsors:
        node["sponsor"] = [{"@type": "Organization", "name": s.name} for s in trial.sponsors]
    subjects = []
    for i in study.interventions:
        subject: JsonLd = {"@type": SUBJECT_TYPES.get(i.type, "MedicalEntity"), "name": i.name}
        if i.other_names:
            subject["alternateName"] = list(i.other_names)
        if i.description:
            subject["description"] = i.description
        subjects.append(subject)
    if subjects:
        node["studySubject"] = subjects
    design = dict(study.design)
    designs = []
    if design.get("Allocation") == "Randomized":
        designs.append("RandomizedTrial")
    masking = design.get("Masking", "").split(" (")[0]
    if masking in MASKING:
        designs.append(MASKING[masking])
    if any(a.type == "Placebo comparator" for a in study.arms):
        designs.append("PlaceboControlledTrial")
    if study.sites:
        designs.append("MultiCenterTrial" if len(study.sites) > 1 else "SingleCenterTrial")
    if designs:
        node["trialDesign"] = [SCHEMA + d for d in designs]
    return node


def _years(age: str) -> int | None:
    """'18 Years' -> 18; None for an age in other units ('6 Months') or none."""
    number, _, unit = age.partition(" ")
    return int(number) if number.isdecimal() and unit.lower().startswith("year") else None


def _registry_audience(trial: RegistryTrial) -> JsonLd:
    study = trial.registry
    audience: JsonLd = {"@type": "PeopleAudience", "audienceType": _who(trial, "study")}
    if study.conditions:
        audience["healthCondition"] = [{"@type": "MedicalCondition", "name": c} for c in study.conditions]
    low, high = _years(study.minimum_age), _years(study.maximum_age)
    if low is not None:
        audience["requiredMinAge"] = low
    if high is not None:
        audience["requiredMaxAge"] = high
    if study.sex in ("Female", "Male"):
        audience["requiredGender"] = study.sex
    return audience


def _publication(citation: str, pmid: str) -> JsonLd:
    node: JsonLd = {"@type": "ScholarlyArticle", "name": citation or f"PubMed {pmid}"}
    if pmid:
        node["sameAs"] = f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/"
        node["identifier"] = {"@type": "PropertyValue", "propertyID": "PMID", "value": pmid}
    return node

