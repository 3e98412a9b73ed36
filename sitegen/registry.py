"""Read a ClinicalTrials.gov API v2 study into the typed facts its pages show.

A record may be partial (search results with modules missing): every module is optional, and only the NCT ID and
a title are required. Enum values are turned into words here (`RECRUITING` -> 'Recruiting'), so templates only show.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .bib import web_link
from .errors import ContentError, Problem
from .inputs import INVISIBLE, load_json
from .load import read_text
from .slugs import slugify, slugify_other

# Words for the registry's enum values where capitalising them is not enough.
WORDS = {
    "NA": "Not applicable", "ECT": "Educational/counseling/training", "ACTIVE_NOT_RECRUITING": "Active, not recruiting",
    "EARLY_PHASE1": "Early Phase 1", "PHASE1": "Phase 1", "PHASE2": "Phase 2", "PHASE3": "Phase 3", "PHASE4": "Phase 4",
    "ALL": "All", "OLDER_ADULT": "Older adult", "UNKNOWN": "Unknown status", "PRINCIPAL_INVESTIGATOR": "Principal investigator",
    "SPONSOR_INVESTIGATOR": "Sponsor-investigator", "NIH": "NIH", "FED": "Other U.S. federal agency",
    "OTHER_GOV": "Other government", "INDUSTRY": "Industry", "INDIV": "Individual", "NETWORK": "Network",
    # compound words keep their hyphen, as the registry's own pages write them ('Non-Randomized', 'Case-Only')
    "NON_RANDOMIZED": "Non-randomized", "CASE_CONTROL": "Case-control", "CASE_ONLY": "Case-only",
    "CASE_CROSSOVER": "Case-crossover", "FAMILY_BASED": "Family-based", "CROSS_SECTIONAL": "Cross-sectional",
    "NON_PROBABILITY_SAMPLE": "Non-probability sample", "SUB_INVESTIGATOR": "Sub-investigator",
    "SAMPLES_WITH_DNA": "Samples with DNA", "SAMPLES_WITHOUT_DNA": "Samples without DNA",
    # who issued a secondary ID: agencies are named by their initials, as the registry writes them
    "FDA": "FDA", "VA": "VA", "CDC": "CDC", "AHRQ": "AHRQ", "SAMHSA": "SAMHSA", "CTIS": "CTIS",
    "EUDRACT_NUMBER": "EudraCT number", "OTHER_GRANT": "Other grant/funding number",
}
# A sponsor's class the registry could not tell: nothing to show (words() would say 'Unknown status', its status's words)
UNTOLD_CLASSES = {"UNKNOWN", "AMBIG"}
# Statuses that mean the trial stopped early: the record then says why.
STOPPED = {"TERMINATED", "WITHDRAWN", "SUSPENDED"}
OPEN = {"RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION", "AVAILABLE"}
"""The statuses of a study that takes new participants, or will (AVAILABLE: an expanded-access programme one may
ask to join). Under any other, or none known, no page invites a reader to join: a closed trial shown as open sends
a patient to a dead end."""
# The registry's values of a study's overall status and phase (the API's Status and Phase enums). Any other value in a
# record gets a folder of its own in the catalog's listings (slugs.slugify_other), never one of these values'.
STATUSES = frozenset({
    "ACTIVE_NOT_RECRUITING", "COMPLETED", "ENROLLING_BY_INVITATION", "NOT_YET_RECRUITING", "RECRUITING", "SUSPENDED",
    "TERMINATED", "WITHDRAWN", "AVAILABLE", "NO_LONGER_AVAILABLE", "TEMPORARILY_NOT_AVAILABLE",
    "APPROVED_FOR_MARKETING", "WITHHELD", "UNKNOWN",
})
PHASES = frozenset({"NA", "EARLY_PHASE1", "PHASE1", "PHASE2", "PHASE3", "PHASE4"})
# An NCT ID in ASCII digits, as the import checks it (registry_fetch.NCT_ID: that module, the network's, is not loaded
# by a build, nor this one by an import of files)
_NCT_ID = re.compile(r"NCT[0-9]{8}")
# The kinds of expanded access a programme offers (designModule.expandedAccessTypes), as the registry words them.
EXPANDED_ACCESS_TYPES = (("individual", "Individual patients"), ("intermediate", "Intermediate-size population"),
                         ("treatment", "Treatment IND/protocol"))
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


def words(value: str) -> str:
    """An enum value of the registry in words: 'ACTIVE_COMPARATOR' -> 'Active comparator'."""
    return WORDS.get(value) or value.replace("_", " ").capitalize()


def key_of(value: str) -> str:
    """An enum value as a URL segment and a key: 'NOT_YET_RECRUITING' -> 'not-yet-recruiting'."""
    return value.lower().replace("_", "-")


@dataclass(frozen=True)
class RegistryDate:
    """A date as the registry gives it ('2023-05' or '2023-05-17'), and whether it is actual or anticipated."""

    value: str
    kind: str = ""  # 'actual', 'anticipated' or '' when the record does not say

    @property
    def label(self) -> str:
        """'May 2023' or '17 May 2023'."""
        return date_words(self.value)

    def last_day(self) -> datetime.date | None:
        """The last day the date can mean (a month's last day), to tell whether it has passed."""
        return last_day(self.value)


def date_words(value: str) -> str:
    parts = value.split("-")
    if len(parts) >= 2 and parts[1].isdecimal() and 1 <= int(parts[1]) <= 12:
        month = MONTHS[int(parts[1]) - 1]
        return f"{int(parts[2])} {month} {parts[0]}" if len(parts) == 3 and parts[2].isdecimal() else f"{month} {parts[0]}"
    return value


def last_day(value: str) -> datetime.date | None:
    """The last day a 'YYYY', 'YYYY-MM' or 'YYYY-MM-DD' date can mean; None when it is not such a date."""
    try:
        parts = [int(p) for p in value.split("-")]
        if len(parts) == 3:
            return datetime.date(*parts)
        if len(parts) == 2:
            following = datetime.date(parts[0] + parts[1] // 12, parts[1] % 12 + 1, 1)
            return following - datetime.timedelta(days=1)
        if len(parts) == 1:
            return datetime.date(parts[0], 12, 31)
    except ValueError:
        return None
    return None


@dataclass(frozen=True)
class Contact:
    """A person or office to contact, as the record lists them."""

    name: str
    role: str
    phone: str
    email: str
    affiliation: str = ""


@dataclass(frozen=True)
class Site:
    """One place the study runs."""

    facility: str
    city: str
    state: str
    zip: str
    country: str
    status: str  # in words, '' when the record does not say
    contacts: tuple[Contact, ...]
    latitude: float | None
    longitude: float | None

    @property
    def address(self) -> str:
        """'Aurora, Colorado 80045, United States': the parts the record has."""
        place = " ".join(p for p in (self.state, self.zip) if p)
        return ", ".join(p for p in (self.city, place, self.country) if p)


@dataclass(frozen=True)
class Region:
    """The sites of one state or region of a country."""

    name: str  # '' when the sites give none
    sites: tuple[Site, ...]


@dataclass(frozen=True)
class Country:
    """The sites of one country, by region, with an anchor for the jump list."""

    name: str
    anchor: str
    count: int
    regions: tuple[Region, ...]


@dataclass(frozen=True)
class Intervention:
    """A treatment, device, procedure or other intervention of the study."""

    type: str
    name: str
    other_names: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class ArmGroup:
    """An arm (interventional study) or group (observational study), with its interventions."""

    label: str
    type: str
    description: str
    interventions: tuple[Intervention, ...]


@dataclass(frozen=True)
class Outcome:
    """An outcome measure and when it is measured."""

    measure: str
    description: str
    time_frame: str


@dataclass(frozen=True)
class Criterion:
    """One item of a list of criteria, as written (Markdown escapes removed), with any list nested under it."""

    text: str
    number: int | None  # the item's number in a numbered list
    children: tuple[Block, ...] = ()


@dataclass(frozen=True)
class Block:
    """A paragraph (`items` empty, `text` set) or a list of criteria (numbered or not)."""

    text: str = ""
    items: tuple[Criterion, ...] = ()
    numbered: bool = False


@dataclass(frozen=True)
class CriteriaSection:
    """A part of the criteria text: inclusion, exclusion, or text under another heading (or none)."""

    kind: str  # 'inclusion', 'exclusion' or 'other'
    heading: str  # as written, e.g. 'Key Inclusion Criteria'; '' for text before any heading
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Reference:
    """A publication the record names."""

    pmid: str
    type: str  # 'RESULT', 'BACKGROUND', 'DERIVED' or ''
    citation: str

    @property
    def results(self) -> bool:
        return self.type == "RESULT"


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class ExpandedAccess:
    """That the treatment a study tests is also given outside it, to patients who cannot join (expanded access), and
    the registry's record of that programme."""

    nct_id: str  # '' when the record names none (or no NCT ID)
    status: str  # the programme's status in words ('Available'), '' when not given

    @property
    def url(self) -> str:
        return f"https://clinicaltrials.gov/study/{self.nct_id}" if self.nct_id else ""


@dataclass(frozen=True)
class Study:
    """The facts of one ClinicalTrials.gov record that a patient or a referring doctor uses."""

    file: str
    nct_id: str
    brief_title: str
    official_title: str
    acronym: str
    org_study_id: str
    secondary_ids: tuple[tuple[str, str], ...]  # (id, what issued it)
    status: str  # the registry's value, e.g. 'RECRUITING'
    last_known_status: str
    why_stopped: str
    start: RegistryDate | None
    primary_completion: RegistryDate | None
    completion: RegistryDate | None
    first_posted: RegistryDate | None
    last_update: RegistryDate | None
    verified: RegistryDate | None  # when the sponsor last confirmed the status (an unknown status dates from it)
    conditions: tuple[str, ...]
    keywords: tuple[str, ...]
    study_type: str
    phases: tuple[str, ...]
    design: tuple[tuple[str, str], ...]  # (what, in words), e.g. ('Allocation', 'Randomized')
    design_notes: tuple[tuple[str, str], ...]  # (what, the record's text), e.g. ('Masking description', 'The ...')
    biospecimens: str  # what an observational study keeps of the samples it takes, as the record describes it
    enrollment: int | None
    enrollment_kind: str  # 'actual', 'anticipated' or ''
    brief_summary: str
    detailed_description: str
    arms: tuple[ArmGroup, ...]
    interventions: tuple[Intervention, ...]  # all of them, also those no arm names
    primary_outcomes: tuple[Outcome, ...]
    secondary_outcomes: tuple[Outcome, ...]
    other_outcomes: tuple[Outcome, ...]
    criteria_text: str
    criteria: tuple[CriteriaSection, ...]
    sex: str
    gender_based: bool
    gender_description: str  # who may join by sex or gender, in the record's words ('Assigned female at birth')
    minimum_age: str
    maximum_age: str
    age_groups: tuple[str, ...]
    healthy_volunteers: bool | None
    study_population: str
    sampling_method: str  # how an observational study chose its population ('Probability sample')
    sites: tuple[Site, ...]
    central_contacts: tuple[Contact, ...]
    officials: tuple[Contact, ...]
    sponsor: str
    sponsor_class: str
    collaborators: tuple[str, ...]
    responsible_party: str
    oversight: tuple[tuple[str, str], ...]
    references: tuple[Reference, ...]
    links: tuple[Link, ...]
    has_results: bool
    expanded_access: ExpandedAccess | None  # None unless the record says the treatment is given outside the study

    @property
    def title(self) -> str:
        return self.brief_title or self.official_title

    @property
    def url(self) -> str:
        return f"https://clinicaltrials.gov/study/{self.nct_id}"

    @property
    def status_label(self) -> str:
        label = words(self.status) if self.status else "Status not given"
        if self.status == "UNKNOWN" and self.last_known_status:
            label += f" (last known: {words(self.last_known_status)})"
        return label

    @property
    def phase_label(self) -> str:
        """'Phase 1/Phase 2', 'Not applicable', or 'No phase given' (observational studies have none)."""
        return "/".join(words(p) for p in self.phases) or "No phase given"

    @property
    def status_key(self) -> str:
        """The status as a trial file spells it ('RECRUITING' -> 'recruiting'), and as the catalog's folder of it;
        empty when the record gives none. A value the registry does not have ('Recruiting!', '../x') is slugged as a
        condition is, with its hash: a record may hold any text, and a folder must be one."""
        if self.status in STATUSES:
            return key_of(self.status)
        return slugify_other(self.status_label) if self.status else ""

    @property
    def phase_key(self) -> str:
        """'phase-1-2', 'not-applicable', 'no-phase'; phases the registry does not have are slugged, as statuses."""
        if not all(p in PHASES for p in self.phases):
            return slugify_other(self.phase_label)
        numbers = [p.removeprefix("PHASE") for p in self.phases]
        if numbers and all(n.isdecimal() for n in numbers):
            return "phase-" + "-".join(numbers)
        return "-".join(key_of(words(p)).replace(" ", "-") for p in self.phases) or "no-phase"

    @property
    def age_label(self) -> str:
        low, high = self.minimum_age.lower(), self.maximum_age.lower()
        if low and high:
            return f"{low} to {high}"
        if low:
            return f"{low} and older"
        if high:
            return f"Up to {high}"
        return "Any age"

    @property
    def countries(self) -> tuple[Country, ...]:
        """The sites grouped by country, then by state or region, each sorted by name, and by city within."""
        return group_sites(self.sites)

    @property
    def stopped(self) -> bool:
        return self.status in STOPPED

    @property
    def open(self) -> bool:
        return self.status in OPEN


def group_sites(sites: tuple[Site, ...]) -> tuple[Country, ...]:
    by_country: dict[str, dict[str, list[Site]]] = {}
    for site in sites:
        by_country.setdefault(site.country, {}).setdefault(site.state, []).append(site)
    anchors: set[str] = set()
    countries = []
    for name in sorted(by_country, key=lambda n: (n == "", n.casefold())):
        anchor = "country-" + slugify(name)
        while anchor in anchors:
            anchor += "-x"
        anchors.add(anchor)
        regions = by_country[name]
        countries.append(Country(name or "Country not given", anchor, sum(len(s) for s in regions.values()), tuple(
            Region(region, tuple(sorted(regions[region], key=lambda s: (s.city.casefold(), s.facility.casefold()))))
            for region in sorted(regions, key=lambda r: (r == "", r.casefold()))
        )))
    return tuple(countries)


def _shown(value: str) -> str:
    """A record's text without the characters no page may show (inputs.INVISIBLE): a record cannot be refused for
    them. (Looked for only in a text that is not all printable: most are.)"""
    return value if value.isprintable() else INVISIBLE.sub("", value)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    return (value if value.isprintable() else INVISIBLE.sub("", value)).strip()  # _shown, inlined: called for every fact


def _pmid(value: Any) -> str:
    """A PubMed ID, which is a number (pages link it to PubMed); '' for anything else."""
    text = _text(value)
    return text if re.fullmatch(r"[0-9]{1,9}", text) else ""


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _date(struct: Any, marked: bool = True) -> RegistryDate | None:
    """A date of the status module; `marked` for the study's own dates (start, completion), which the record marks
    actual or anticipated (the dates a record was posted are marked otherwise: not shown)."""
    struct = _dict(struct)
    value = _text(struct.get("date"))
    if not value:
        return None
    if not marked:
        return RegistryDate(value)
    kind = {"ACTUAL": "actual", "ESTIMATED": "anticipated", "ANTICIPATED": "anticipated"}.get(_text(struct.get("type")), "")
    return RegistryDate(value, kind)


def _contact(data: Any) -> Contact:
    data = _dict(data)
    role = _text(data.get("role"))
    return Contact(_text(data.get("name")), words(role) if role else "", _text(data.get("phone")) + (
        f" ext. {_text(data.get('phoneExt'))}" if _text(data.get("phoneExt")) else ""), _text(data.get("email")),
        _text(data.get("affiliation")))


def _outcomes(items: Any) -> tuple[Outcome, ...]:
    return tuple(Outcome(plain(o.get("measure")), plain(o.get("description")), plain(o.get("timeFrame")))
                 for o in map(_dict, _list(items)))


def _site(data: dict[str, Any]) -> Site:
    geo = _dict(data.get("geoPoint"))
    lat, lon = geo.get("lat"), geo.get("lon")
    valid = all(isinstance(n, (int, float)) and not isinstance(n, bool) for n in (lat, lon))
    status = _text(data.get("status"))
    return Site(_text(data.get("facility")), _text(data.get("city")), _text(data.get("state")), _text(data.get("zip")),
                _text(data.get("country")), words(status) if status else "",
                tuple(_contact(c) for c in _list(data.get("contacts"))),
                float(lat) if valid and lat is not None else None, float(lon) if valid and lon is not None else None)


def read_study(data: Any, file: str) -> Study:
    """The facts of one API v2 study object; a ContentError naming `file` when it has no NCT ID or no title. Every
    text it takes loses the characters no page may show (_shown)."""
    if not isinstance(data, dict):
        raise ContentError([Problem(file, 1, 1, "expected one ClinicalTrials.gov API v2 study (a JSON object)")])
    protocol = _dict(data.get("protocolSection"))
    ident = _dict(protocol.get("identificationModule"))
    nct_id = _text(ident.get("nctId"))
    brief, official = _text(ident.get("briefTitle")), _text(ident.get("officialTitle"))
    has_id = _NCT_ID.fullmatch(nct_id)
    if not has_id or not (brief or official):
        missing = "title (briefTitle or officialTitle)" if has_id else "NCT ID (protocolSection.identificationModule.nctId)"
        raise ContentError([Problem(file, 1, 1, f"the registry record has no {missing}; import it again")])
    status = _dict(protocol.get("statusModule"))
    design = _dict(protocol.get("designModule"))
    info = _dict(design.get("designInfo"))
    masking = _dict(info.get("maskingInfo"))
    design_words = [(what, words(_text(info.get(key)))) for what, key in (
        ("Allocation", "allocation"), ("Intervention model", "interventionModel"), ("Primary purpose", "primaryPurpose"),
        ("Observational model", "observationalModel"), ("Time perspective", "timePerspective"),
    ) if _text(info.get(key))]
    duration, biospec = _text(design.get("targetDuration")), _dict(design.get("bioSpec"))
    if duration:
        design_words.append(("Target follow-up duration", duration))
    if _text(biospec.get("retention")):
        design_words.append(("Biospecimens retained", words(_text(biospec["retention"]))))
    access_types = _dict(design.get("expandedAccessTypes"))
    offered = [what for key, what in EXPANDED_ACCESS_TYPES if access_types.get(key) is True]
    if offered:
        design_words.append(("Expanded access type", ", ".join(offered)))
    if _text(masking.get("masking")):
        who = ", ".join(words(_text(w)).lower() for w in _list(masking.get("whoMasked")) if isinstance(w, str))
        design_words.append(("Masking", words(_text(masking["masking"])) + (f" ({who})" if who else "")))
    enrollment = _dict(design.get("enrollmentInfo"))
    count = enrollment.get("count")
    arms_module = _dict(protocol.get("armsInterventionsModule"))
    interventions = [
        (i, Intervention(words(_text(i.get("type"))) if _text(i.get("type")) else "", plain(i.get("name")),
                         tuple(plain(n) for n in _list(i.get("otherNames")) if plain(n)), plain(i.get("description"))))
        for i in map(_dict, _list(arms_module.get("interventions")))
    ]
    arms = [ArmGroup(plain(label), words(_text(arm.get("type"))) if _text(arm.get("type")) else "",
                     plain(arm.get("description")), given) for arm, label, given in _arms_given(arms_module, interventions)]
    outcomes = _dict(protocol.get("outcomesModule"))
    eligibility = _dict(protocol.get("eligibilityModule"))
    criteria = eligibility.get("eligibilityCriteria")
    criteria_text = _shown(criteria) if isinstance(criteria, str) else ""
    places = _dict(protocol.get("contactsLocationsModule"))
    sponsors = _dict(protocol.get("sponsorCollaboratorsModule"))
    lead = _dict(sponsors.get("leadSponsor"))
    lead_class = _text(lead.get("class"))
    oversight = _dict(protocol.get("oversightModule"))
    refs = _dict(protocol.get("referencesModule"))
    return Study(
        file=file, nct_id=nct_id, brief_title=brief, official_title=official, acronym=_text(ident.get("acronym")),
        org_study_id=_text(_dict(ident.get("orgStudyIdInfo")).get("id")),
        secondary_ids=tuple((_text(s.get("id")), _text(s.get("domain")) or (words(_text(s.get("type"))) if _text(s.get("type")) else ""))
                            for s in map(_dict, _list(ident.get("secondaryIdInfos"))) if _text(s.get("id"))),
        status=_text(status.get("overallStatus")), last_known_status=_text(status.get("lastKnownStatus")),
        why_stopped=_text(status.get("whyStopped")), start=_date(status.get("startDateStruct")),
        primary_completion=_date(status.get("primaryCompletionDateStruct")),
        completion=_date(status.get("completionDateStruct")), first_posted=_date(status.get("studyFirstPostDateStruct"), marked=False),
        last_update=_date(status.get("lastUpdatePostDateStruct"), marked=False), verified=_date({"date": status.get("statusVerifiedDate")}, marked=False),
        conditions=tuple(_text(c) for c in _list(_dict(protocol.get("conditionsModule")).get("conditions")) if _text(c)),
        keywords=tuple(_text(c) for c in _list(_dict(protocol.get("conditionsModule")).get("keywords")) if _text(c)),
        study_type=(words(_text(design.get("studyType"))) if _text(design.get("studyType")) else "") + (
            " (patient registry)" if design.get("patientRegistry") is True and _text(design.get("studyType")) else ""),
        phases=tuple(_shown(p) for p in _list(design.get("phases")) if isinstance(p, str)),
        design=tuple(design_words), biospecimens=plain(biospec.get("description")),
        design_notes=tuple((what, plain(text)) for what, text in (
            ("Intervention model description", info.get("interventionModelDescription")),
            ("Masking description", masking.get("maskingDescription"))) if plain(text)),
        enrollment=count if isinstance(count, int) and not isinstance(count, bool) else None,
        enrollment_kind={"ACTUAL": "actual", "ESTIMATED": "anticipated", "ANTICIPATED": "anticipated"}.get(
            _text(enrollment.get("type")), ""),
        brief_summary=_text(_dict(protocol.get("descriptionModule")).get("briefSummary")),
        detailed_description=_text(_dict(protocol.get("descriptionModule")).get("detailedDescription")),
        arms=tuple(arms), interventions=tuple(found for _, found in interventions),
        primary_outcomes=_outcomes(outcomes.get("primaryOutcomes")),
        secondary_outcomes=_outcomes(outcomes.get("secondaryOutcomes")),
        other_outcomes=_outcomes(outcomes.get("otherOutcomes")),
        criteria_text=criteria_text, criteria=parse_criteria(criteria_text),
        sex=words(_text(eligibility.get("sex"))) if _text(eligibility.get("sex")) else "",
        gender_based=eligibility.get("genderBased") is True, gender_description=plain(eligibility.get("genderDescription")),
        minimum_age=_text(eligibility.get("minimumAge")), maximum_age=_text(eligibility.get("maximumAge")),
        age_groups=tuple(words(_text(a)) for a in _list(eligibility.get("stdAges")) if isinstance(a, str)),
        healthy_volunteers=eligibility.get("healthyVolunteers") if isinstance(eligibility.get("healthyVolunteers"), bool) else None,
        study_population=plain(eligibility.get("studyPopulation")),
        sampling_method=words(_text(eligibility.get("samplingMethod"))) if _text(eligibility.get("samplingMethod")) else "",
        sites=tuple(_site(s) for s in map(_dict, _list(places.get("locations")))),
        central_contacts=tuple(_contact(c) for c in _list(places.get("centralContacts"))),
        officials=tuple(_contact(c) for c in _list(places.get("overallOfficials"))),
        sponsor=_text(lead.get("name")), sponsor_class=words(lead_class) if lead_class and lead_class not in UNTOLD_CLASSES else "",
        collaborators=tuple(_text(c.get("name")) for c in map(_dict, _list(sponsors.get("collaborators"))) if _text(c.get("name"))),
        responsible_party=_responsible(_dict(sponsors.get("responsibleParty"))),
        oversight=tuple((what, "Yes" if oversight[key] else "No") for what, key in (
            ("Has a data monitoring committee", "oversightHasDmc"), ("Studies a drug the U.S. FDA regulates", "isFdaRegulatedDrug"),
            ("Studies a device the U.S. FDA regulates", "isFdaRegulatedDevice"),
        ) if isinstance(oversight.get(key), bool)),
        references=tuple(Reference(_pmid(r.get("pmid")), _text(r.get("type")), _text(r.get("citation")))
                         for r in map(_dict, _list(refs.get("references"))) if _text(r.get("citation")) or _pmid(r.get("pmid"))),
        # a link a page may not make (javascript:, a password in it) is shown as text, as a reference's is
        links=tuple(Link(plain(r.get("label")) or _text(r.get("url")), web_link(_text(r.get("url"))))
                    for r in map(_dict, _list(refs.get("seeAlsoLinks"))) if _text(r.get("label")) or _text(r.get("url"))),
        has_results=data.get("hasResults") is True, expanded_access=_expanded_access(status.get("expandedAccessInfo")),
    )


def _arms_given(module: dict[str, Any], interventions: list[tuple[dict[str, Any], Intervention]]
                ) -> list[tuple[dict[str, Any], str, tuple[Intervention, ...]]]:
    """Each arm of the module, its label, and the interventions it receives, in the record's order. An intervention
    names its arms (armGroupLabels): those it names, and no other, receive it. One that names none is given to the
    arms that name it ('Drug: Anakinra'), as two interventions may share a name. Looked up by label and by name, not
    compared arm by intervention: 2,000 of each took 4 s, and a record of 10,000 of each would take minutes."""
    by_label: dict[str, list[int]] = {}
    by_name: dict[str, list[int]] = {}
    for n, (raw, found) in enumerate(interventions):
        labels = _list(raw.get("armGroupLabels"))
        keys = (labels if labels else
                [f"{_text(raw.get('type'))}: {found.name}".casefold().replace("_", " "), f"{found.type}: {found.name}".casefold()])
        index = by_label if labels else by_name
        for key in dict.fromkeys(k for k in keys if isinstance(k, str)):
            index.setdefault(key, []).append(n)
    found_arms = []
    for arm in map(_dict, _list(module.get("armGroups"))):
        label = _text(arm.get("label"))
        names = {_text(n).casefold() for n in _list(arm.get("interventionNames"))}
        chosen = {*by_label.get(label, ()), *(n for name in names for n in by_name.get(name, ()))}
        found_arms.append((arm, label, tuple(interventions[n][1] for n in sorted(chosen))))
    return found_arms


def _expanded_access(info: Any) -> ExpandedAccess | None:
    """The expanded access a record names (statusModule.expandedAccessInfo), when it says there is some."""
    info = _dict(info)
    if info.get("hasExpandedAccess") is not True:
        return None
    nct_id, status = _text(info.get("nctId")), _text(info.get("statusForNctId"))
    return ExpandedAccess(nct_id if _NCT_ID.fullmatch(nct_id) else "", words(status) if status else "")


def _responsible(party: dict[str, Any]) -> str:
    kind = _text(party.get("type"))
    name = _text(party.get("investigatorFullName")) or _text(party.get("oldNameTitle"))
    title = _text(party.get("investigatorTitle"))
    org = _text(party.get("investigatorAffiliation")) or _text(party.get("oldOrganization"))
    parts = [words(kind) if kind else "", ", ".join(p for p in (name, title, org) if p)]
    return ": ".join(p for p in parts if p)


def load_study(path: Path) -> Study:
    """Read `<nct>.ctgov.json`; a ContentError at the file (and line) when it is not a study, or when a file named
    for one NCT ID holds another's record (copied by hand): its pages would show that study's facts at the URL of the
    one its name gives, and `sitegen import --refresh` would replace it with the named one's without a word."""
    try:
        text = read_text(path)  # bounded, a regular file, UTF-8: as every content file is read
    except OSError as e:
        raise ContentError([Problem(str(path), 0, 0, f"cannot read: {e.strerror or e}")]) from None
    study = read_study(load_json(str(path), text), str(path))
    named = path.name.removesuffix(".ctgov.json").upper()
    if _NCT_ID.fullmatch(named) and named != study.nct_id:
        found = re.search(rf'"nctId"\s*:\s*"{study.nct_id}"', text)
        at = found.start() if found else 0
        line, column = text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)
        raise ContentError([Problem(str(path), line, column, f"the record is {study.nct_id}'s, and the file is named for "
                                    f"{named}: expected {named}'s record (import it again: sitegen import {named})")])
    return study


# ---- eligibility criteria: the registry's Markdown-like text, parsed into lists without losing a word

_EMPHASIS = re.compile(r"\*\*|__")
_LEAD = re.compile(r"^(?P<head>[^:]{1,60}?criteria)\s*:\s*(?P<rest>\S.*)$", re.IGNORECASE)


def _heading(line: str) -> tuple[str, str, str] | None:
    """('inclusion' or 'exclusion', the heading as written, the text after it on its line) when the line heads a part
    of the criteria: 'Inclusion Criteria:', '**Key Exclusion Criteria**', '* Inclusion Criteria:', and
    'Exclusion Criteria: the text...' (the text then starts the part). A sentence ('Other criteria may apply.') is
    no heading."""
    item = _ITEM.match(line)
    text = item["text"] if item else line
    if item and not text.rstrip().endswith(":"):
        return None  # a list item is a heading only when it ends like one
    text = _EMPHASIS.sub("", text).strip()
    rest = ""
    lead = _LEAD.match(text)
    if lead:
        text, rest = lead["head"], lead["rest"]
    text = text.rstrip(":").strip()
    lower = text.lower()
    kinds = [k for k in ("inclusion", "exclusion") if k in lower]
    if len(kinds) != 1 or len(text) > 60 or text.endswith(".") or not ("criteri" in lower or lower == kinds[0]):
        return None
    return kinds[0], unescape(text), rest


# Lists in one another a criteria text may nest; an item indented deeper is the next item of the deepest (as many as
# prose may nest, markup.MAX_NESTING; not imported from there, which would load Markdown wherever records are read).
MAX_NESTING = 15
_ITEM = re.compile(r"^(?P<indent>[ \t]*)(?P<marker>[-*+•·]|\d{1,3}[.)])[ \t]+(?P<text>\S.*)$")
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")  # CommonMark: a backslash escapes any ASCII punctuation


def unescape(text: str) -> str:
    """The registry's Markdown escapes removed: '\\> 18' -> '> 18'."""
    return _ESCAPE.sub(r"\1", text).strip()


def plain(value: Any) -> str:
    """A text the pages show as it is (not as Markdown), its Markdown escapes removed: '\\>= 5' -> '>= 5'."""
    return unescape(_text(value))


def parse_criteria(text: str) -> tuple[CriteriaSection, ...]:
    """The criteria text as sections (inclusion, exclusion, other) of paragraphs and nested lists. Every non-blank
    line ends up in the result: as a heading, a list item, a line continuing an item, or a paragraph."""
    sections: list[tuple[str, str, list[tuple[int, str]]]] = []  # kind, heading, (indent or -1 for text, line)
    current: list[tuple[int, str]] = []
    sections.append(("other", "", current))
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        heading = _heading(line)
        if heading is not None:
            current = [(0, heading[2])] if heading[2] else []
            sections.append((heading[0], heading[1], current))
            continue
        current.append((0, line))
    found = []
    for kind, name, lines in sections:
        blocks = _blocks([line for _, line in lines])
        if blocks or name:
            found.append(CriteriaSection(kind, name, blocks))
    return tuple(found)


def _blocks(lines: list[str]) -> tuple[Block, ...]:
    """Paragraphs and lists from lines; a list item's deeper-indented items nest under it."""
    # Each entry: (indent, marker, text); marker '' for a plain line. Blank lines end paragraphs.
    entries: list[tuple[int, str, str] | None] = []
    for line in lines:
        if not line.strip():
            entries.append(None)
            continue
        m = _ITEM.match(line)
        if m:
            entries.append((len(m["indent"].expandtabs(4)), m["marker"], unescape(m["text"])))
        else:
            entries.append((len(line) - len(line.lstrip()), "", unescape(line)))
    blocks, _ = _parse_level(entries, 0, -1, 1)
    return tuple(blocks)


@dataclass
class _Item:
    """A criterion while its lines are read: its text's lines and its children are gathered, and joined once (a
    text made anew for each line took time growing with the square of the item's lines)."""

    parts: list[str]
    number: int | None
    children: list[Block] = field(default_factory=list)

    def criterion(self) -> Criterion:
        return Criterion(" ".join(self.parts), self.number, tuple(self.children))


def _parse_level(entries: list[tuple[int, str, str] | None], i: int, parent: int,
                 depth: int) -> tuple[list[Block], int]:
    """Blocks from entries[i:] whose items are indented deeper than `parent`, in the `depth`-th list down; returns
    them and where they stop. In the MAX_NESTING-th list, an item indented deeper is its next item: a record's text
    indented one space more on each line would nest as deep as it is long, past what this recursion and the
    template's can go (a traceback); every item is kept."""
    blocks: list[Block] = []
    items: list[_Item] = []
    numbered = False
    paragraph: list[str] = []
    level: int | None = None

    def close_list() -> None:
        nonlocal items
        if items:
            blocks.append(Block(items=tuple(item.criterion() for item in items), numbered=numbered))
            items = []

    def close_paragraph() -> None:
        nonlocal paragraph
        if paragraph:
            blocks.append(Block(text=" ".join(paragraph)))
            paragraph = []

    while i < len(entries):
        entry = entries[i]
        if entry is None:
            close_paragraph()
            i += 1
            continue
        indent, marker, text = entry
        if marker:
            if parent >= 0 and indent <= parent:
                break
            if level is not None and indent > level and items and depth < MAX_NESTING:
                children, i = _parse_level(entries, i, level, depth + 1)
                items[-1].children += children
                continue
            close_paragraph()
            is_number = marker[0].isdigit()
            if items and is_number != numbered:
                close_list()
            numbered = is_number
            level = indent if level is None or not items else min(level, indent)
            items.append(_Item([text], int(marker[:-1]) if is_number else None))
            i += 1
            continue
        # a plain line: inside a list item (indented under it, or right after it), it continues the item
        if parent >= 0 and indent <= parent:
            break
        if items and not paragraph and entries[i - 1] is not None:
            if items[-1].children:
                items[-1].children.append(Block(text=text))
            else:
                items[-1].parts.append(text)
            i += 1
            continue
        if items and level is not None and indent > level:
            items[-1].children.append(Block(text=text))
            i += 1
            continue
        close_list()
        paragraph.append(text)
        i += 1
    close_list()
    close_paragraph()
    return blocks, i


def criteria_lines(sections: tuple[CriteriaSection, ...]) -> list[str]:
    """Every text of the parsed criteria (headings, items, paragraphs), for search and tests."""
    out: list[str] = []

    def walk(blocks: tuple[Block, ...]) -> None:
        for block in blocks:
            if block.text:
                out.append(block.text)
            for item in block.items:
                out.append(item.text)
                walk(item.children)

    for section in sections:
        if section.heading:
            out.append(section.heading)
        walk(section.blocks)
    return out
