"""The typed model of a trial, written once: it validates content/trial.yaml and documents every field.

Every field carries a description; `docs/schema.md` and `schema/trial.schema.json` are generated from
these classes (`python -m sitegen.schemadoc`), so the documentation cannot drift from the validation.
Prose fields are Markdown and may cite references as `[@key]` or `[@key1; @key2]`.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, create_model
from pydantic.fields import FieldInfo

from .project import site_url
from .registry import Study

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=80)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Prose = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
WebUrl = Annotated[str, StringConstraints(pattern=r"^(https?://|mailto:)\S+$")]
MAX_TERMS = 1_000  # entries of a glossary: every trial's glossary page lists them all, and every text is searched
MAX_VARIANTS = 20  # for each (a site's glossary defines tens to hundreds; 1,000 build a trial in about twice the time)
MAX_COUNT = 1_000_000_000  # places, trials, people, jurisdictions: past any listing's (a sponsor's 41,180,000 recruited)
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
Age = Annotated[int, Field(ge=0, le=150)]  # in years
YearMonth = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
CiteKey = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[^\s;\[\]@]+$")]  # as cite.CITATION reads one


SiteUrl = Annotated[str, AfterValidator(site_url)]


class Model(BaseModel):
    """Base for every content object: unknown fields are errors, values are never coerced silently. A model's
    validator is built when it is first used, not when sitegen is imported: a build of one trial never uses most."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


Status = Literal[
    "not-yet-recruiting", "recruiting", "enrolling-by-invitation", "active-not-recruiting",
    "suspended", "terminated", "completed", "withdrawn",
]
"""Recruitment status, as the listing shows it (mapped to a schema.org MedicalStudyStatus)."""

Phase = Literal["early-phase-1", "phase-1", "phase-1-2", "phase-2", "phase-2-3", "phase-3", "phase-4"]
"""Trial phase (carried in JSON-LD as the NCI Thesaurus term for that phase)."""

ArmType = Literal["experimental", "active-control", "placebo-control", "no-intervention", "other"]
"""The role of an arm in the trial."""

Sex = Literal["any", "female", "male"]
"""Who may join by sex."""


class Identifier(Model):
    """An identifier of the trial in a registry."""

    registry: Text = Field(description="Who issued it, e.g. 'ClinicalTrials.gov'.")
    value: Text = Field(description="The identifier itself, e.g. 'NCT05836571'.")
    url: WebUrl | None = Field(None, description="The public record at that registry, if any.")


class SpotsLeft(Model):
    """The listing's count of open places."""

    count: Count = Field(description="Number of places left.")
    approximate: bool = Field(False, description="True when the listing shows the count with '~'.")
    by: YearMonth = Field(description="The month the count is projected to (YYYY-MM), as the listing gives it.")


class Sponsor(Model):
    """An organisation that sponsors the trial, with the figures the listing gives for it."""

    name: Text = Field(description="Organisation name.")
    role: Text = Field(description="Its role, e.g. 'Lead Sponsor'.")
    trials: Count | None = Field(None, description="How many trials it runs, as listed.")
    recruited: Count | None = Field(None, description="How many people it has recruited, as listed.")
    recruited_at_least: bool = Field(False, description="True when the listing shows the recruited figure with '+'.")


class Person(Model):
    """A named person on the research team or in the sponsor's leadership."""

    name: Text = Field(description="Name as listed.")
    role: Text = Field(description="Role or title, e.g. 'Principal Investigator'.")
    organization: Text | None = Field(None, description="Organisation the person belongs to.")
    since: int | None = Field(None, ge=1900, le=2100, description="Year the person took the role.")
    education: Text | None = Field(None, description="Degree and school, as listed.")


class Badges(Model):
    """The listing's highlight badges; each is shown only when true (or non-zero)."""

    no_placebo_group: bool = Field(False, description="The trial has no placebo group.")
    prior_safety_data: bool = Field(False, description="Safety data exists from earlier studies.")
    breakthrough_therapy: bool = Field(False, description="A drug holds a Breakthrough Therapy designation.")
    approved_jurisdictions: Count = Field(0, description="In how many jurisdictions a trial drug is approved.")


class CriteriaList(Model):
    """A list of criteria of which the listing may show only some."""

    shown: list[Text] = Field(description="The criteria as the listing shows them, one per item.")
    hidden: Count | None = Field(
        None, description="How many more the listing hides ('See 20 more'); 0 when none; leave out when unknown."
    )


class Eligibility(Model):
    """Who can join the trial."""

    summary: Prose = Field(description="Plain summary of who can join (Markdown).")
    min_age: Age | None = Field(None, description="Minimum age in years.")
    max_age: Age | None = Field(None, description="Maximum age in years; null for no limit.")
    sex: Sex = Field(description="Who may join by sex.")
    travel_covered: Text | None = Field(None, description="Whether travel costs are covered, as listed.")
    time_reimbursement: Text | None = Field(None, description="Whether time is reimbursed, as listed.")
    must_not_take: list[Text] = Field(default_factory=list, description="Medicines participants must not take.")
    medication_note: Prose | None = Field(None, description="What this means for current medications (Markdown).")
    disqualifiers: list[Text] = Field(default_factory=list, description="Conditions that rule a person out.")
    more_disqualifiers: bool = Field(False, description="True when the listing says there are others.")
    inclusion: CriteriaList = Field(description="Inclusion criteria.")
    exclusion: CriteriaList = Field(description="Exclusion criteria.")


class Location(Model):
    """A place where the trial recruits."""

    name: Text = Field(description="Place name, e.g. 'Palo Alto'.")
    recruiting: bool = Field(True, description="Whether it recruits now.")
    distance: Text | None = Field(
        None, description="Distance as the listing shows it (measured from where the listing was viewed)."
    )


class Locations(Model):
    """Where the trial runs."""

    named: list[Location] = Field(description="Locations the listing names.")
    others: Count = Field(0, description="How many further locations the listing counts but does not name.")


class Question(Model):
    """One question and its answer."""

    question: Text = Field(description="The question.")
    answer: Prose = Field(description="The answer (Markdown, may cite).")


class Stage(Model):
    """One stage of the trial's timeline."""

    id: Slug = Field(description="Unique id of the stage, used as its anchor.")
    name: Text = Field(description="Stage name, e.g. 'Screening'.")
    description: Prose = Field(description="What happens (Markdown).")
    duration: Text = Field(description="Duration as the listing gives it, e.g. '2-4 weeks'.")
    weeks_min: float | None = Field(None, gt=0, le=520, allow_inf_nan=False, description="Shortest length in weeks, to draw the timeline; null when it varies.")
    weeks_max: float | None = Field(None, gt=0, le=520, allow_inf_nan=False, description="Longest length in weeks; equal to weeks_min when fixed.")
    visits: Text | None = Field(None, description="Visits in this stage, as listed.")


class Intervention(Model):
    """A drug given in the trial."""

    id: Slug = Field(description="Unique id, referenced by arms and approvals.")
    name: Text = Field(description="Generic name, e.g. 'Cabozantinib'.")
    drug_class: Text = Field(description="Drug class, e.g. 'Tyrosine Kinase Inhibitor'.")
    brand_names: list[Text] = Field(default_factory=list, description="Brand names, e.g. 'Cabometyx'.")


class Arm(Model):
    """A participant group (arm) of the trial."""

    id: Slug = Field(description="Unique id of the arm.")
    group: Text = Field(description="The listing's group label, e.g. 'Group I'.")
    name: Text = Field(description="Arm name, e.g. 'Arm B (cabozantinib, nivolumab, ipilimumab)'.")
    type: ArmType = Field(description="Experimental, active control, ...")
    drugs: list[Slug] = Field(description="Ids of the interventions given in this arm.")
    intervention_count: Count = Field(description="Number of interventions, as the listing counts them.")
    schedule: Prose = Field(description="The full treatment schedule (Markdown).")
    crossover: Prose | None = Field(None, description="Rules for crossing over to or from this arm (Markdown).")


class Approval(Model):
    """One drug approved in one jurisdiction, under one brand, for its indications."""

    drug: Slug = Field(description="Id of the intervention.")
    brand: Text = Field(description="Brand name it is approved as.")
    jurisdiction: Text = Field(description="Jurisdiction name, e.g. 'Canada'.")
    country_code: CountryCode | None = Field(None, description="ISO 3166-1 alpha-2 code, for the flag.")
    indications: list[Text] = Field(min_length=1, description="Indications it is approved for.")


class Finding(Model):
    """A research finding, summarised in points, from one source."""

    points: list[Prose] = Field(min_length=1, description="The finding's points (Markdown).")
    source: CiteKey = Field(description="Cite key of the source in references.bib.")


class Source(Model):
    """A source: what it is and where to read it (the trial's sources are shown in every page's footer)."""

    name: Text = Field(description="What the source is.")
    url: WebUrl | None = Field(None, description="Where to read it, if public.")


class Trial(Model):
    """One clinical trial: everything its pages show."""

    slug: Slug = Field(description="Short id of the trial, used in URLs of a catalog.")
    title: Text = Field(description="Title as the listing shows it.")
    official_title: Text | None = Field(None, description="The registry's title.")
    identifiers: list[Identifier] = Field(default_factory=list, description="Registry identifiers.")
    condition: Text = Field(description="The condition studied.")
    phase: Phase = Field(description="Trial phase.")
    status: Status = Field(description="Recruitment status.")
    updated: datetime.date = Field(description="When this content was last checked against its sources (YYYY-MM-DD).")
    spots_left: SpotsLeft | None = Field(None, description="Open places, when listed.")
    principal_investigator: Person | None = Field(None, description="The principal investigator.")
    sponsors: list[Sponsor] = Field(min_length=1, description="Sponsors.")
    leadership: list[Person] = Field(default_factory=list, description="Sponsor leadership the listing names.")
    badges: Badges = Field(default_factory=Badges, description="Highlight badges.")
    purpose: Prose = Field(description="What the trial is for (Markdown).")
    overview: Prose = Field(description="Trial overview (Markdown).")
    faq: list[Question] = Field(default_factory=list, description="Questions patients ask, with answers.")
    eligibility: Eligibility = Field(description="Who can join.")
    locations: Locations = Field(description="Where the trial runs.")
    timeline: list[Stage] = Field(min_length=1, description="Stages from screening to follow-up, in order.")
    interventions: list[Intervention] = Field(min_length=1, description="Drugs given.")
    arms: list[Arm] = Field(min_length=1, description="Participant groups.")
    approvals: list[Approval] = Field(default_factory=list, description="Existing approvals of the trial drugs.")
    findings: list[Finding] = Field(default_factory=list, description="Research findings, each from one source.")
    sources: list[Source] = Field(default_factory=list, description="Where this content comes from.")


def _annotated(info: FieldInfo) -> Any:
    """A field's type with its constraints (pydantic keeps them apart from the type)."""
    arguments = (info.annotation, *info.metadata)  # (not unpacked inside [ ]: that is Python 3.11's syntax)
    return Annotated[arguments] if info.metadata else info.annotation


EditorTrial = create_model(  # type: ignore[call-overload]
    "EditorTrial",
    __base__=Model,
    __doc__="The editor's file of a trial imported from the registry (`content/trials/<nct id>.yaml` beside "
    "`<nct id>.ctgov.json`): the fields of a trial, each optional; a field set here wins over the registry's.",
    **{name: (_annotated(info) if name == "slug" else _annotated(info) | None,
              Field(... if name == "slug" else None, description=info.description))
       for name, info in Trial.model_fields.items()},
)
"""Validated from the editor's file of a registry trial; the same fields and types as Trial, every one optional."""


class RegistryTrial(Trial):
    """A trial of the registry: the editor's fields, and where the editor says nothing the registry's facts in the
    fields they fit (title, identifiers, condition, status, phase, sponsors, sources...). Made by
    `imported.merge`, never validated from YAML: fields the registry cannot fill (a listing's timeline, drug classes,
    criteria as a listing shows them) are left empty, and the registry pages read `registry` instead."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    registry: Study = Field(description="The registry's facts, with the editor's status, phase and condition applied.")
    editor_fields: frozenset[str] = Field(description="The fields the editor's file sets.")

    @property
    def lead_sponsor(self) -> str:
        """The sponsor a page names: the editor's first, when the editor's file sets sponsors; else the record's
        lead sponsor, never a collaborator ('' when it names none)."""
        if "sponsors" in self.editor_fields:
            return self.sponsors[0].name if self.sponsors else ""
        return self.registry.sponsor


class Readability(Model):
    """How `sitegen check` judges the readability of the prose."""

    target_grade: float = Field(
        8, ge=1, le=20, description="Highest Flesch-Kincaid grade a prose section should read at; above it, a warning."
    )
    strict: bool = Field(
        False, description="True to make readability and abbreviation warnings errors under --strict (by default "
        "--strict leaves them warnings)."
    )


class Settings(Model):
    """Site settings, from content/site.yaml: one documented place for the whole site."""

    title: Text = Field(description="Site title, shown in every page's header.")
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")] = Field(
        "en", description="BCP 47 language tag of the content."
    )
    base_url: SiteUrl = Field(
        description="Absolute http(s) URL the site is published at, with a host and no query or fragment; a "
        "missing final '/' is added. Used only where a standard needs absolute URLs (canonical links, JSON-LD, "
        "sitemap). Overridden by --base-url."
    )
    readability: Readability = Field(
        Readability.model_validate({}), description="Readability target of the prose, checked by `sitegen check`."
    )
    registry_max_age_days: int = Field(
        365, ge=1, description="`sitegen check` warns about a registry trial whose record was last updated longer ago "
        "than this many days: its status may be out of date (re-import it with `sitegen import NCT...`)."
    )


class Term(Model):
    """One entry of the glossary: a term, how else the pages write it, and what it means in plain words."""

    term: Text = Field(
        description="The term in plain words, as the glossary lists it, e.g. 'progression-free survival' or, for an "
        "abbreviation, what it stands for ('by mouth'). Found in page text whatever its case, plural included."
    )
    abbreviation: Text | None = Field(
        None, description="Its abbreviation, e.g. 'PO' or 'CT': found only as written (case matters), and shown as "
        "an `<abbr>` whose title is the term."
    )
    variants: list[Text] = Field(
        default_factory=list, max_length=MAX_VARIANTS,
        description="Other ways the pages write the term, e.g. 'intravenously'; found like the term."
    )
    definition: Text = Field(
        description="What it means, in one or two short sentences of plain language: general knowledge, never a "
        "claim about the trial."
    )
    source: Source | None = Field(None, description="Where the definition comes from, if it follows a published one.")
    id: Slug | None = Field(
        None, description="Anchor of the entry on the glossary page (#term-ID); by default made from the abbreviation "
        "or the term."
    )


class Glossary(Model):
    """Plain-language definitions of the terms and abbreviations the pages use, from content/glossary.yaml (optional)."""

    terms: list[Term] = Field(min_length=1, max_length=MAX_TERMS,
                              description="The entries, in any order; the glossary page sorts them.")
