"""Convert a classic ClinicalTrials.gov XML record (`<clinical_study>`, as AACT and older data sets hold it) into
the API v2 study shape, so the rest of sitegen knows one registry format only.

Only the fields the record has are written, with enum values in the v2 spelling (`RECRUITING`, `PHASE2`) and dates
as `YYYY-MM-DD` or `YYYY-MM`. Fields with no v2 counterpart (the download date, `oversight_info/authority`,
`is_section_801`, an outcome's `safety_issue`, `number_of_arms`) and posted results (`clinical_results`) are left
out; the record says `hasResults: true` when it has results.
"""

from __future__ import annotations

import datetime
import re
import textwrap
import xml.etree.ElementTree as ET
from typing import Any

Study = dict[str, Any]

# Old spellings whose v2 value is not simply the words in capitals joined by '_'.
_SPELLING = {
    "BOTH": "ALL",
    "UNKNOWN_STATUS": "UNKNOWN",
    "N_A": "NA",
    "NON_RANDOMIZED": "NON_RANDOMIZED",
    "PARALLEL_ASSIGNMENT": "PARALLEL",
    "SINGLE_GROUP_ASSIGNMENT": "SINGLE_GROUP",
    "CROSSOVER_ASSIGNMENT": "CROSSOVER",
    "FACTORIAL_ASSIGNMENT": "FACTORIAL",
    "SEQUENTIAL_ASSIGNMENT": "SEQUENTIAL",
    "EDUCATIONAL_COUNSELING_TRAINING": "ECT",
    "PROCEDURE_SURGERY": "PROCEDURE",
    "U_S_FED": "FED",
    "ESTIMATE": "ESTIMATED",
    "ANTICIPATED": "ESTIMATED",
    "SUBJECT": "PARTICIPANT",
}
_DESIGN_KEYS = ("Allocation", "Endpoint Classification", "Intervention Model", "Masking", "Primary Purpose",
                "Observational Model", "Time Perspective")
# A count of participants: ASCII digits (int() refuses '²', which isdigit() takes), at most 9 of them (the registry's
# counts are small; 5,000 digits are beyond what int() converts). Anything else is not a count, and is left out.
_COUNT = re.compile(r"[0-9]{1,9}")
_DESIGN_PART = re.compile(r"({0}):\s*(.*?)\s*(?=,\s*(?:{0}):|$)".format("|".join(_DESIGN_KEYS)))


def spelling(text: str) -> str:
    """The v2 enum spelling of an old value: 'Active, not recruiting' -> 'ACTIVE_NOT_RECRUITING'."""
    word = re.sub(r"[^A-Z0-9]+", "_", text.upper()).strip("_")
    return _SPELLING.get(word, word)


def date(text: str) -> str | None:
    """'July 9, 2013' -> '2013-07-09', 'April 1991' -> '1991-04'; None when it is no date."""
    text = " ".join(text.split())
    for form, shape in (("%B %d, %Y", "%Y-%m-%d"), ("%B %Y", "%Y-%m"), ("%Y-%m-%d", "%Y-%m-%d"), ("%Y-%m", "%Y-%m")):
        try:
            return datetime.datetime.strptime(text, form).strftime(shape)
        except ValueError:
            continue
    return None


def _line(element: ET.Element | None) -> str:
    """An element's text on one line, '' when missing."""
    return " ".join((element.text or "").split()) if element is not None else ""


def _block(element: ET.Element | None) -> str:
    """A `<textblock>`'s text as written, its common indentation removed."""
    if element is None:
        return ""
    inner = element.find("textblock")
    text = ((inner if inner is not None else element).text or "").replace("\r\n", "\n").replace("\r", "\n")
    first, _, rest = text.strip("\n").partition("\n")
    if first[:1].strip():  # text that starts beside its tag: only the lines after the first are indented
        return (first + "\n" + textwrap.dedent(rest)).strip()
    return textwrap.dedent(text.strip("\n")).strip()


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    """Set `key` only when the value holds something: a record without a field has no key for it."""
    if value not in ("", None, [], {}):
        target[key] = value


def _date_struct(element: ET.Element | None) -> dict[str, str]:
    struct: dict[str, str] = {}
    if element is not None:
        _put(struct, "date", date(_line(element)))
        if struct and element.get("type"):
            struct["type"] = spelling(element.get("type", ""))
    return struct


def _person(element: ET.Element, role: str | None = None) -> dict[str, str]:
    person: dict[str, str] = {}
    # ClinicalTrials.gov wrote a whole name in <last_name> ('Jane Doe, MD'); the schema has first and middle names
    # too, which are the name's other parts whenever a record gives them
    names = (_line(element.find(part)) for part in ("first_name", "middle_name", "last_name"))
    _put(person, "name", " ".join(name for name in names if name))
    _put(person, "affiliation", _line(element.find("affiliation")))
    _put(person, "role", role or spelling(_line(element.find("role"))))
    _put(person, "phone", _line(element.find("phone")))
    _put(person, "phoneExt", _line(element.find("phone_ext")))
    _put(person, "email", _line(element.find("email")))
    return person


def _design(root: ET.Element) -> dict[str, Any]:
    """The design facts, from `<study_design_info>` or, in older records, the one-line `<study_design>`."""
    info = root.find("study_design_info")
    parts: dict[str, str] = {}
    if info is not None:
        for child in info:
            parts[child.tag] = _line(child)
    else:
        for key, value in _DESIGN_PART.findall(_line(root.find("study_design"))):
            parts[key.lower().replace(" ", "_")] = value
    design: dict[str, Any] = {}
    for tag, key in (("allocation", "allocation"), ("intervention_model", "interventionModel"),
                     ("primary_purpose", "primaryPurpose"), ("observational_model", "observationalModel"),
                     ("time_perspective", "timePerspective")):
        if parts.get(tag):
            design[key] = spelling(parts[tag])
    _put(design, "interventionModelDescription", parts.get("intervention_model_description"))
    masking = parts.get("masking", "")
    if masking:
        level, _, who = masking.partition("(")
        level = level.strip()
        masked: dict[str, Any] = {}
        _put(masked, "masking", "NONE" if level.startswith(("None", "Open")) else spelling((level.split() or [""])[0]))
        who_masked = [spelling(w) for w in who.rstrip(")").split(",") if w.strip() and "Open Label" not in w]
        _put(masked, "whoMasked", who_masked)
        _put(masked, "maskingDescription", parts.get("masking_description"))
        _put(design, "maskingInfo", masked)
    return design


def _phases(text: str) -> list[str]:
    """'Phase 1/Phase 2' -> ['PHASE1', 'PHASE2']; 'N/A' -> ['NA']."""
    if not text:
        return []
    if text.upper() in ("N/A", "NA"):
        return ["NA"]
    return [spelling(part).replace("PHASE_", "PHASE") for part in text.split("/")]


def _location(element: ET.Element) -> dict[str, Any]:
    site: dict[str, Any] = {}
    facility = element.find("facility")
    address = facility.find("address") if facility is not None else None
    _put(site, "facility", _line(facility.find("name")) if facility is not None else "")
    _put(site, "status", spelling(_line(element.find("status"))))
    if address is not None:
        for tag, key in (("city", "city"), ("state", "state"), ("zip", "zip"), ("country", "country")):
            _put(site, key, _line(address.find(tag)))
    contacts = [_person(c, "CONTACT") for c in (*element.findall("contact"), *element.findall("contact_backup"))]
    contacts += [_person(i) for i in element.findall("investigator")]
    _put(site, "contacts", [c for c in contacts if c.get("name") or c.get("phone") or c.get("email")])
    return site


def study_from_xml(root: ET.Element) -> Study:
    """The v2 study object for a `<clinical_study>` element."""
    ident: dict[str, Any] = {}
    _put(ident, "nctId", _line(root.find("id_info/nct_id")))
    _put(ident, "orgStudyIdInfo", {"id": _line(root.find("id_info/org_study_id"))} if _line(root.find("id_info/org_study_id")) else None)
    _put(ident, "secondaryIdInfos", [{"id": _line(s)} for s in root.findall("id_info/secondary_id") if _line(s)])
    _put(ident, "organization", {"fullName": _line(root.find("source"))} if _line(root.find("source")) else None)
    _put(ident, "briefTitle", _line(root.find("brief_title")))
    _put(ident, "officialTitle", _line(root.find("official_title")))
    _put(ident, "acronym", _line(root.find("acronym")))

    status: dict[str, Any] = {}
    _put(status, "statusVerifiedDate", date(_line(root.find("verification_date"))))
    _put(status, "overallStatus", spelling(_line(root.find("overall_status"))))
    _put(status, "lastKnownStatus", spelling(_line(root.find("last_known_status"))))
    _put(status, "whyStopped", _line(root.find("why_stopped")))
    access = _line(root.find("has_expanded_access"))
    _put(status, "expandedAccessInfo", {"hasExpandedAccess": access == "Yes"} if access else None)
    for tag, key in (("start_date", "startDateStruct"), ("primary_completion_date", "primaryCompletionDateStruct"),
                     ("completion_date", "completionDateStruct"), ("study_first_posted", "studyFirstPostDateStruct"),
                     ("last_update_posted", "lastUpdatePostDateStruct"),
                     ("results_first_posted", "resultsFirstPostDateStruct")):
        _put(status, key, _date_struct(root.find(tag)))
    if "lastUpdatePostDateStruct" not in status:  # older records: the date the record last changed
        _put(status, "lastUpdatePostDateStruct", _date_struct(root.find("lastchanged_date")))
    _put(status, "studyFirstSubmitDate", date(_line(root.find("study_first_submitted")) or _line(root.find("firstreceived_date"))))
    _put(status, "lastUpdateSubmitDate", date(_line(root.find("last_update_submitted"))))

    sponsors: dict[str, Any] = {}
    lead = root.find("sponsors/lead_sponsor")
    if lead is not None:
        _put(sponsors, "leadSponsor", {k: v for k, v in (("name", _line(lead.find("agency"))),
                                                          ("class", spelling(_line(lead.find("agency_class"))))) if v})
    _put(sponsors, "collaborators", [{k: v for k, v in (("name", _line(c.find("agency"))),
                                                        ("class", spelling(_line(c.find("agency_class"))))) if v}
                                     for c in root.findall("sponsors/collaborator")])
    party = root.find("responsible_party")
    if party is not None:
        responsible: dict[str, Any] = {}
        _put(responsible, "type", spelling(_line(party.find("responsible_party_type"))))
        for tag, key in (("investigator_full_name", "investigatorFullName"), ("investigator_title", "investigatorTitle"),
                         ("investigator_affiliation", "investigatorAffiliation"), ("name_title", "oldNameTitle"),
                         ("organization", "oldOrganization")):
            _put(responsible, key, _line(party.find(tag)))
        _put(sponsors, "responsibleParty", responsible)

    oversight: dict[str, Any] = {}
    for tag, key in (("has_dmc", "oversightHasDmc"), ("is_fda_regulated_drug", "isFdaRegulatedDrug"),
                     ("is_fda_regulated_device", "isFdaRegulatedDevice"), ("is_unapproved_device", "isUnapprovedDevice"),
                     ("is_us_export", "isUsExport")):
        answer = _line(root.find(f"oversight_info/{tag}"))
        if answer in ("Yes", "No"):
            oversight[key] = answer == "Yes"

    description: dict[str, Any] = {}
    _put(description, "briefSummary", _block(root.find("brief_summary")))
    _put(description, "detailedDescription", _block(root.find("detailed_description")))

    conditions: dict[str, Any] = {}
    _put(conditions, "conditions", [_line(c) for c in root.findall("condition") if _line(c)])
    _put(conditions, "keywords", [_line(k) for k in root.findall("keyword") if _line(k)])

    design: dict[str, Any] = {}
    study_type = _line(root.find("study_type"))
    if study_type:
        design["studyType"] = spelling(study_type.split("[")[0])
        if "Patient Registry" in study_type:
            design["patientRegistry"] = True
    _put(design, "phases", _phases(_line(root.find("phase"))))
    _put(design, "expandedAccessTypes", {key: answer == "Yes" for key in ("individual", "intermediate", "treatment")
                                         if (answer := _line(root.find(f"expanded_access_info/expanded_access_type_{key}")))
                                         in ("Yes", "No")})
    _put(design, "designInfo", _design(root))
    _put(design, "targetDuration", _line(root.find("target_duration")))
    biospec: dict[str, Any] = {}
    _put(biospec, "retention", spelling(_line(root.find("biospec_retention"))))
    _put(biospec, "description", _block(root.find("biospec_descr")))
    _put(design, "bioSpec", biospec)
    enrollment = root.find("enrollment")
    if enrollment is not None and _COUNT.fullmatch(_line(enrollment)):
        info: dict[str, Any] = {"count": int(_line(enrollment))}
        _put(info, "type", spelling(enrollment.get("type", "")))
        design["enrollmentInfo"] = info

    arms: dict[str, Any] = {}
    groups = []
    for group in root.findall("arm_group"):
        arm: dict[str, Any] = {}
        _put(arm, "label", _line(group.find("arm_group_label")))
        _put(arm, "type", spelling(_line(group.find("arm_group_type"))))
        _put(arm, "description", _block(group.find("description")))
        _put(arm, "interventionNames", [
            f"{_line(i.find('intervention_type')) or 'Other'}: {_line(i.find('intervention_name'))}"
            for i in root.findall("intervention") if arm.get("label") in [_line(lbl) for lbl in i.findall("arm_group_label")]])
        groups.append(arm)
    _put(arms, "armGroups", groups)
    interventions = []
    for element in root.findall("intervention"):
        intervention: dict[str, Any] = {}
        _put(intervention, "type", spelling(_line(element.find("intervention_type"))))
        _put(intervention, "name", _line(element.find("intervention_name")))
        _put(intervention, "description", _block(element.find("description")))
        _put(intervention, "armGroupLabels", [_line(lbl) for lbl in element.findall("arm_group_label") if _line(lbl)])
        _put(intervention, "otherNames", [_line(o) for o in element.findall("other_name") if _line(o)])
        interventions.append(intervention)
    _put(arms, "interventions", interventions)

    outcomes: dict[str, Any] = {}
    for tag, key in (("primary_outcome", "primaryOutcomes"), ("secondary_outcome", "secondaryOutcomes"),
                     ("other_outcome", "otherOutcomes")):
        measures = []
        for element in root.findall(tag):
            outcome: dict[str, Any] = {}
            _put(outcome, "measure", _line(element.find("measure")))
            _put(outcome, "description", _block(element.find("description")))
            _put(outcome, "timeFrame", _line(element.find("time_frame")))
            measures.append(outcome)
        _put(outcomes, key, measures)

    eligibility: dict[str, Any] = {}
    criteria = root.find("eligibility")
    if criteria is not None:
        _put(eligibility, "eligibilityCriteria", _block(criteria.find("criteria")))
        volunteers = _line(criteria.find("healthy_volunteers"))
        if volunteers:
            eligibility["healthyVolunteers"] = volunteers.startswith(("Yes", "Accepts"))
        _put(eligibility, "sex", spelling(_line(criteria.find("gender"))))
        if _line(criteria.find("gender_based")) in ("Yes", "No"):
            eligibility["genderBased"] = _line(criteria.find("gender_based")) == "Yes"
        _put(eligibility, "genderDescription", _block(criteria.find("gender_description")))
        for tag, key in (("minimum_age", "minimumAge"), ("maximum_age", "maximumAge")):
            age = _line(criteria.find(tag))
            if age and age != "N/A":
                eligibility[key] = age
        _put(eligibility, "studyPopulation", _block(criteria.find("study_pop")))
        _put(eligibility, "samplingMethod", spelling(_line(criteria.find("sampling_method"))))

    contacts: dict[str, Any] = {}
    _put(contacts, "centralContacts", [_person(c, "CONTACT") for c in
                                       (*root.findall("overall_contact"), *root.findall("overall_contact_backup"))])
    _put(contacts, "overallOfficials", [_person(o) for o in root.findall("overall_official")])
    _put(contacts, "locations", [_location(site) for site in root.findall("location")])

    references: dict[str, Any] = {}
    cited = []
    for tag, kind in (("reference", "BACKGROUND"), ("results_reference", "RESULT")):
        for element in root.findall(tag):
            reference: dict[str, Any] = {}
            _put(reference, "pmid", _line(element.find("PMID")))
            reference["type"] = kind
            _put(reference, "citation", _line(element.find("citation")))
            cited.append(reference)
    _put(references, "references", cited)
    _put(references, "seeAlsoLinks", [{k: v for k, v in (("label", _line(link.find("description"))),
                                                          ("url", _line(link.find("url")))) if v}
                                      for link in root.findall("link")])

    ipd: dict[str, Any] = {}
    _put(ipd, "ipdSharing", spelling(_line(root.find("patient_data/sharing_ipd"))))
    _put(ipd, "description", _line(root.find("patient_data/ipd_description")))

    protocol: dict[str, Any] = {}
    for key, module in (("identificationModule", ident), ("statusModule", status),
                        ("sponsorCollaboratorsModule", sponsors), ("oversightModule", oversight),
                        ("descriptionModule", description), ("conditionsModule", conditions),
                        ("designModule", design), ("armsInterventionsModule", arms), ("outcomesModule", outcomes),
                        ("eligibilityModule", eligibility), ("contactsLocationsModule", contacts),
                        ("referencesModule", references), ("ipdSharingStatementModule", ipd)):
        _put(protocol, key, module)
    derived: dict[str, Any] = {}
    for tag, key in (("condition_browse", "conditionBrowseModule"), ("intervention_browse", "interventionBrowseModule")):
        _put(derived, key, {"meshes": [{"term": _line(m)} for m in root.findall(f"{tag}/mesh_term") if _line(m)]}
             if root.findall(f"{tag}/mesh_term") else None)
    study: dict[str, Any] = {"protocolSection": protocol}
    _put(study, "derivedSection", derived)
    study["hasResults"] = root.find("clinical_results") is not None
    return study

