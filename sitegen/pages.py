"""Decide which pages exist, their URLs and titles, and the data each shows (grouped and ready to display)."""

from __future__ import annotations

import datetime
import html
import re
from dataclasses import dataclass, replace

from .cite import CITING_AT, ProseField
from .markup import markdown_problem, plain_text, text_html
from .registry import OPEN, STATUSES, date_words, last_day
from .schema import Approval, Intervention, RegistryTrial, Stage, Trial

GLOSSARY = "glossary"


@dataclass(frozen=True)
class Page:
    """One page of a trial's site: where it lives and what it shows."""

    slug: str  # '' for the summary page at the trial's root
    nav_title: str
    heading: str
    template: str
    description: str
    prose: tuple[ProseField, ...]
    not_found: str = ""  # for the 404 page: the site root as an absolute path, since hosts serve it at any URL
    trial_base: str = ""  # in a catalog, where the trial's pages live: 'trials/<slug>/'; '' for a single trial

    @property
    def path(self) -> str:
        """The page's URL path relative to the site root: '' or 'faq/'."""
        if self.not_found:
            return "404.html"
        return f"{self.slug}/" if self.slug else ""

    @property
    def file(self) -> str:
        """The output file relative to the site root."""
        return self.path if self.not_found else f"{self.path}index.html"

    @property
    def root(self) -> str:
        """The prefix from this page back to the site root: relative, except on the 404 page."""
        return self.not_found or "../" * self.path.count("/")

    @property
    def site_root(self) -> str:
        """The prefix from this page back to the root of the whole site (the catalog's, in a catalog)."""
        return self.not_found or self.root + "../" * self.trial_base.count("/")


@dataclass(frozen=True)
class JurisdictionApprovals:
    """The approvals of one drug in one jurisdiction, grouped for display."""

    jurisdiction: str
    flag: str
    approvals: tuple[Approval, ...]


@dataclass(frozen=True)
class DrugApprovals:
    """Every approval of one drug, grouped by jurisdiction."""

    drug: Intervention
    jurisdictions: tuple[JurisdictionApprovals, ...]


@dataclass(frozen=True)
class TimelineBar:
    """A stage drawn on the visual timeline: its share of the drawn width, in percent."""

    stage: Stage
    percent: float
    varies: bool


def trial_pages(trial: Trial, glossary: bool = False, trial_base: str = "") -> list[Page]:
    """The seven pages of a trial, and the glossary page when there is a glossary, in navigation order (the order
    citations are numbered in). In a catalog, `trial_base` is where the trial's pages live ('trials/<slug>/')."""
    if isinstance(trial, RegistryTrial):
        pages = registry_pages(trial, glossary)
        return [replace(page, trial_base=trial_base) for page in pages] if trial_base else pages
    faq = [ProseField(("faq", i, "answer"), q.answer) for i, q in enumerate(trial.faq)]
    arms = [ProseField(("overview",), trial.overview)]
    for i, arm in enumerate(trial.arms):
        arms.append(ProseField(("arms", i, "schedule"), arm.schedule))
        if arm.crossover:
            arms.append(ProseField(("arms", i, "crossover"), arm.crossover))
    eligibility = [ProseField(("eligibility", "summary"), trial.eligibility.summary)]
    if trial.eligibility.medication_note:
        eligibility.append(ProseField(("eligibility", "medication_note"), trial.eligibility.medication_note))
    findings = findings_prose(trial)
    name = trial.title
    pages = [
        Page("", "Summary", name, "summary.html", _first_sentence(plain_text(trial.overview)), (ProseField(("purpose",), trial.purpose),)),
        Page("faq", "FAQ", "Questions and answers", "faq.html", f"Common questions about the trial: {name}.", tuple(faq)),
        Page("eligibility", "Eligibility", _who_can_join(trial), "eligibility.html",
             f"{_who_can_join(trial)} the trial {name}: age, sex, criteria and medicines to avoid.", tuple(eligibility)),
        Page("timeline", "Timeline", "Trial timeline", "timeline.html",
             f"The stages of the trial {name}, from screening to follow-up, with durations and visits.",
             tuple(ProseField(("timeline", i, "description"), s.description) for i, s in enumerate(trial.timeline))),
        Page("arms", "Treatment arms", "Treatment arms", "arms.html",
             f"The drugs and treatment groups of the trial {name}, side by side.", tuple(arms)),
        Page("approvals", "Approvals", "Existing approvals of the trial drugs", "approvals.html",
             f"Where the drugs tested in the trial {name} are already approved, and for what.", ()),
        Page("findings", "Findings", "Findings from research", "findings.html",
             f"Published research behind the trial {name}, with numbered references.", tuple(findings)),
    ] + ([glossary_page(trial)] if glossary else [])
    return [replace(page, trial_base=trial_base) for page in pages] if trial_base else pages


def findings_prose(trial: Trial) -> list[ProseField]:
    """The prose of the findings page: each finding's points, then its source as a citation."""
    found = []
    for i, finding in enumerate(trial.findings):
        found += [ProseField(("findings", i, "points", j), p) for j, p in enumerate(finding.points)]
        found.append(ProseField(("findings", i, "source"), f"[@{finding.source}]"))
    return found


_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")  # CommonMark: a backslash escapes any ASCII punctuation
_MARKDOWN_ESCAPES = set("\\`*_{}[]()>#+-.!")  # those Python-Markdown also reads as escapes (its ESCAPED_CHARS)


def _unescaped(m: re.Match[str]) -> str:
    return m[0] if m[1] in _MARKDOWN_ESCAPES else html.escape(m[1], quote=False)


_TAG_START = re.compile(r"<(?=[A-Za-z/!?])(?!https?://)")  # a '<' that may start a tag (not '<7%'), not an autolink
# A line starting with '#' that CommonMark reads as text ('#1 priority', '##x', seven '#'): Python-Markdown, which
# needs no space after the '#', made it a heading, its '#' lost. Its first '#' is escaped.
_NO_HEADING = re.compile(r"^([ \t]*)(?=#{7}|#{1,6}[^#\s])#", re.MULTILINE)
MAX_REGISTRY_PROSE = 100_000
"""Characters of a registry text shown (the registry itself takes at most 32,000, in a detailed description)."""


_BREAK = re.compile(r" *([-*_])(?:[ \t]*\1){2,}[ \t]*$")  # a thematic break, never an item
_LIST_ITEM = re.compile(r"( *)([-*+]|([0-9]{1,9})\.)( {1,4}|$)")  # Python-Markdown reads no '1)' list


def commonmark_indents(text: str) -> str:
    """The registry's Markdown with its lists written as Python-Markdown reads them. CommonMark (the registry's) nests
    a line under a list item when it starts at the item's text ('1. Step' then '   * detail', three spaces), and lets
    a list start or go on right after a line of text; Python-Markdown nests only four spaces further per level, and
    starts a list only after a blank line, so it read NCT06648538's ten numbered steps as bullets and paragraphs,
    their numbers lost. Each line inside N items is indented 4 * N spaces (plus what it has beyond the item's text),
    and a blank line is put before an item that follows text, or that ends a nested list after a blank line; lines
    outside any list are left as they are, and so is a line that continues a paragraph lazily. What CommonMark reads
    as no item is none here either (else the lines after it would be indented into a code block): a thematic break
    ('* * *'), an item indented more than three spaces past the one holding it, and after text an empty item or a
    numbered one not at 1; and '1)', which Python-Markdown never reads as an item."""
    if "\n" not in text:
        return text
    out: list[str] = []
    columns: list[int] = []  # the column of the text of each list item the line is in, outermost first
    before = "blank"  # what the line before was: 'blank', 'item' or 'text'
    loose = False  # whether a blank line came inside the list (Python-Markdown then reads the rest of a nested
    # block, up to the next blank line, as part of the nested list)
    for line in text.split("\n"):
        if not line.strip():
            out.append(line)
            before, loose = "blank", bool(columns)
            continue
        spaced = line.expandtabs(4)
        indent = len(spaced) - len(spaced.lstrip(" "))
        item = _LIST_ITEM.match(spaced)
        if item and _BREAK.match(spaced):
            item = None
        if item:  # CommonMark: an item is indented at most 3 spaces past the item holding it
            holder = max((c for c in columns if c <= indent), default=0)
            if indent - holder > 3:
                item = None
        open_items = len(columns)
        if item or before == "blank":  # a line right after a paragraph's may continue it lazily: it closes no item
            while columns and indent < columns[-1]:
                columns.pop()
        if item and before != "blank":
            closed = open_items - len(columns)
            # after text, an item starts a list (a numbered one only at 1, as CommonMark has it) or goes on with one
            if not closed and (item[3] not in (None, "1") or not spaced[item.end():].strip()):
                item = None  # CommonMark: it cannot interrupt a paragraph; the line goes on with it
            elif (closed > 1 and loose) or (before == "text" and (closed or item[3] in (None, "1"))):
                out.append("")
        loose = loose and bool(columns)
        if columns and indent >= columns[-1]:
            line = " " * (4 * len(columns) + indent - columns[-1]) + spaced.lstrip(" ")
        if item:
            columns.append(indent + len(item[2]) + max(len(item[4]), 1))
        before = "item" if item else "text"
        out.append(line)
    return "\n".join(out)


def registry_prose(text: str) -> str:
    """The registry's Markdown as prose: an escape Python-Markdown would show ('\\<7%') written as the character
    it escapes; a '<' that could start a tag written as text (the registry has no HTML, and Markdown's search for a
    tag's end, over the lines after, takes time that grows with the square of their number); as it cites nothing,
    every '@' that starts a word as its character reference, so that no bracket in it reads as a citation, or as one
    in a form sitegen refuses ('[see @team]'), while an e-mail address stays as written (in code, the reference would
    be shown); and a '#' that starts no CommonMark heading ('#1 priority') as text. A text an editor's field could not hold (more '[', '<', '`' or rule lines than Markdown reads in linear time, lists
    nested too deep), or longer than MAX_REGISTRY_PROSE, is shown as plain text (markup.text_html), cut there."""
    shown, cut = text[:MAX_REGISTRY_PROSE], len(text) - MAX_REGISTRY_PROSE
    nested = commonmark_indents(shown) if cut <= 0 else shown  # (checked as Markdown will read it)
    if cut <= 0 and not markdown_problem(nested):
        shown = _TAG_START.sub("&lt;", _ESCAPED.sub(_unescaped, nested))
        shown = CITING_AT.sub("&#64;", shown) if "@" in shown else shown
        return _NO_HEADING.sub(r"\1\\#", shown) if "#" in shown else shown
    more = f"\n\n(The registry's text goes on for {cut:,} more characters, not shown here.)" if cut > 0 else ""
    return text_html(_ESCAPED.sub(lambda m: m[1], shown) + more)


def registry_pages(trial: RegistryTrial, glossary: bool) -> list[Page]:
    """The pages of a registry trial, in navigation order: a page with nothing to show is left out."""
    study, name = trial.registry, trial.title
    summary = [ProseField(("purpose",), trial.purpose)] if trial.purpose else []
    if study.brief_summary:
        summary.append(ProseField(("registry", "brief_summary"), registry_prose(study.brief_summary)))
    if trial.overview:
        summary.append(ProseField(("overview",), trial.overview))
    if study.detailed_description:
        summary.append(ProseField(("registry", "detailed_description"), registry_prose(study.detailed_description)))
    lead = plain_text(summary[0].text) if summary else ""
    findings = findings_prose(trial)
    outcomes = study.primary_outcomes + study.secondary_outcomes + study.other_outcomes
    shown = [
        (True, Page("", "Summary", name, "registry_summary.html",
                    _first_sentence(lead) or f"{name}: a study registered as {study.nct_id}.", tuple(summary))),
        (bool(trial.faq), Page("faq", "FAQ", "Questions and answers", "faq.html", f"Common questions about the trial: {name}.",
                               tuple(ProseField(("faq", i, "answer"), q.answer) for i, q in enumerate(trial.faq)))),
        (bool(study.criteria or study.sex or study.minimum_age or study.maximum_age or study.age_groups
              or study.gender_description or study.healthy_volunteers is not None or study.study_population
              or study.sampling_method),
         Page("eligibility", "Eligibility", _who_can_join(trial), "registry_eligibility.html",
              f"{_who_can_join(trial)} the study {name}: sex, ages, and every inclusion and exclusion criterion.", ())),
        (bool(study.arms or study.interventions),
         Page("arms", "Arms and interventions", "Arms and interventions", "registry_arms.html",
              f"The groups of the study {name} and what each receives.", ())),
        (bool(outcomes), Page("outcomes", "Outcome measures", "Outcome measures", "registry_outcomes.html",
                              f"What the study {name} measures, and when.", ())),
        (bool(study.sites or study.central_contacts),
         Page("locations", "Locations", "Where the study runs", "registry_locations.html",
              f"Every site of the study {name} by country and region, with contacts.", ())),
        (bool(study.sponsor or study.collaborators or study.responsible_party or study.oversight or study.officials),
         Page("sponsor", "Who runs it", "Who runs the study", "registry_sponsor.html",
              f"The sponsor, collaborators, responsible party and oversight of the study {name}.", ())),
        (bool(study.references or study.links),
         Page("references", "References", "References from the registry record", "registry_references.html",
              f"Publications and links the registry record of {name} names.", ())),
        (bool(trial.findings), Page("findings", "Findings", "Findings from research", "findings.html",
                                    f"Published research behind the trial {name}, with numbered references.", tuple(findings))),
    ]
    return [page for show, page in shown if show] + ([glossary_page(trial)] if glossary else [])


def recruitment(trial: Trial) -> str:
    """'open' when the trial takes new participants or will, 'unknown' when the registry does not know (or say)
    its status, 'closed' otherwise; from the editor's status when set, else the registry's."""
    key = status_of(trial)[1]
    return "open" if key in ENROLLING else "unknown" if key in ("unknown", "not-given") else "closed"


def spots_past(trial: Trial) -> bool:
    """Whether the month the places left are projected to had passed when the content was last checked (a page
    that says 'About 29 spots left by May 2026' and 'last checked on 24 November 2026' must say which is old)."""
    end = last_day(trial.spots_left.by) if trial.spots_left else None
    return end is not None and isinstance(trial.updated, datetime.date) and end < trial.updated


def _who_can_join(trial: Trial) -> str:
    """The eligibility page's heading: in the past for a trial that does not take new participants."""
    return "Who can join" if recruitment(trial) == "open" else "Who could join"


def status_of(trial: Trial) -> tuple[str, str]:
    """The status in words and as a key (for a registry trial, see registry_status)."""
    return registry_status(trial) if isinstance(trial, RegistryTrial) else (STATUS_LABELS[trial.status], trial.status)


def registry_status(trial: RegistryTrial) -> tuple[str, str]:
    """The status in words and as a key: the editor's when set, else the registry's; the registry's too when the
    editor's says the trial takes participants and the record says it no longer does (see registry_closed)."""
    if "status" in trial.editor_fields and not registry_closed(trial):
        return STATUS_LABELS[trial.status], trial.status
    study = trial.registry
    return study.status_label, study.status_key or "not-given"


def registry_closed(trial: RegistryTrial) -> bool:
    """Whether the editor's status says open (recruiting, say) while the registry's record says the trial is closed
    (completed, terminated, withdrawn, suspended...), whichever was written last: an editor's status written while
    the trial recruited must not keep sending patients to it. A status the registry does not know (UNKNOWN, or a
    value never seen) closes nothing: the editor's stands."""
    status = trial.registry.status
    return ("status" in trial.editor_fields and trial.status in ENROLLING and status in STATUSES
            and status not in OPEN and status != "UNKNOWN")


def registry_phase(trial: RegistryTrial) -> tuple[str, str]:
    """The phase in words and as a key: the editor's when set, else the registry's ('Phase 1/Phase 2')."""
    if "phase" in trial.editor_fields:
        return PHASE_LABELS[trial.phase], trial.phase
    return trial.registry.phase_label, trial.registry.phase_key


def registry_conditions(trial: RegistryTrial) -> list[str]:
    """The conditions: the editor's first when set, then the registry's, each once."""
    return list(dict.fromkeys(([trial.condition] if "condition" in trial.editor_fields else []) + list(trial.registry.conditions)))


def glossary_page(trial: Trial) -> Page:
    """The glossary: plain-language meanings of the terms the other pages use (see glossary.py)."""
    return Page(GLOSSARY, "Glossary", "Glossary", "glossary.html",
                f"Plain-language meanings of the medical words and abbreviations used on the pages about {trial.title}.", ())


def not_found_page(trial: Trial, base_path: str) -> Page:
    """The page static hosts show for a missing URL; its links start at `base_path` (e.g. '/trials/sarcoma/')."""
    return Page("404", "Page not found", "Page not found", "404.html",
                f"This page does not exist. Start again from the summary of {trial.title}.", (), base_path)


def _first_sentence(text: str) -> str:
    end = text.find(". ")
    return text if end < 0 else text[: end + 1]


def group_approvals(trial: Trial) -> tuple[DrugApprovals, ...]:
    """Approvals grouped by drug (in intervention order), then by jurisdiction (in order of first mention)."""
    groups = []
    for drug in trial.interventions:
        mine = [a for a in trial.approvals if a.drug == drug.id]
        places = list(dict.fromkeys(a.jurisdiction for a in mine))
        if mine:
            groups.append(
                DrugApprovals(
                    drug,
                    tuple(
                        JurisdictionApprovals(
                            place,
                            flag_emoji(next((a.country_code for a in mine if a.jurisdiction == place and a.country_code), None)),
                            tuple(a for a in mine if a.jurisdiction == place),
                        )
                        for place in places
                    ),
                )
            )
    return tuple(groups)


def approval_jurisdictions(trial: Trial) -> tuple[str, ...]:
    """The distinct jurisdictions the approvals name, in order of first mention."""
    return tuple(dict.fromkeys(a.jurisdiction for a in trial.approvals))


def flag_emoji(country_code: str | None) -> str:
    """The flag emoji of an ISO 3166-1 alpha-2 code ('' when there is none)."""
    if not country_code:
        return ""
    return "".join(chr(0x1F1E6 + ord(c) - ord("A")) for c in country_code)


def timeline_bars(stages: list[Stage]) -> tuple[TimelineBar, ...]:
    """Each stage's share of the drawn timeline; a stage whose length varies gets the average share."""
    known = [length for s in stages if (length := s.weeks_max or s.weeks_min)]
    typical = sum(known) / len(known) if known else 1.0
    lengths = [(s.weeks_max or s.weeks_min or typical) for s in stages]
    total = sum(lengths) or 1.0
    return tuple(
        TimelineBar(s, round(100 * length / total, 2), not (s.weeks_max or s.weeks_min))
        for s, length in zip(stages, lengths)
    )


def drugs_by_id(trial: Trial) -> dict[str, Intervention]:
    """Interventions keyed by id, for arms and approvals to name their drugs."""
    return {i.id: i for i in trial.interventions}


PHASE_LABELS = {
    "early-phase-1": "Early Phase 1", "phase-1": "Phase 1", "phase-1-2": "Phase 1/2", "phase-2": "Phase 2",
    "phase-2-3": "Phase 2/3", "phase-3": "Phase 3", "phase-4": "Phase 4",
}
STATUS_LABELS = {
    "not-yet-recruiting": "Not yet recruiting", "recruiting": "Recruiting",
    "enrolling-by-invitation": "Enrolling by invitation", "active-not-recruiting": "Active, not recruiting",
    "suspended": "Suspended", "terminated": "Terminated", "completed": "Completed", "withdrawn": "Withdrawn",
}
ENROLLING = {status.lower().replace("_", "-") for status in OPEN}  # registry.OPEN as trial files spell them
ARM_TYPE_LABELS = {
    "experimental": "Experimental Treatment", "active-control": "Active Control",
    "placebo-control": "Placebo Control", "no-intervention": "No Intervention", "other": "Other",
}

@dataclass(frozen=True)
class CriterionView:
    """A criterion as a patient scans it: the measure and its threshold in words first, then the text as listed."""

    lead: str  # e.g. 'Platelets: at least 75,000 per microliter (mcL)'; '' when the criterion has no threshold
    text: str


THRESHOLD = re.compile(
    r"^(?P<measure>[^\W\d][^<>=≤≥]*?)\s*(?P<op>>=|<=|≥|≤|>|<)\s*(?P<amount>\d[\d,.]*)\s*(?P<unit>/?[^\s\d][^\s]*)?\s*$"
)
THRESHOLD_WORDS = {">=": "at least", "≥": "at least", "<=": "at most", "≤": "at most", ">": "more than", "<": "less than"}


def scannable(criteria: list[str], units: dict[str, str], spelled: set[str]) -> tuple[CriterionView, ...]:
    """Criteria with a threshold ('Platelets >= 75,000/mcL') led by it in words; a unit the glossary defines is
    spelled out on its first use on the page (`spelled` holds those already spelled out). Meaning is unchanged:
    the criterion as listed is always shown too."""
    views = []
    for text in criteria:
        m = THRESHOLD.match(text)
        if m is None:
            views.append(CriterionView("", text))
            continue
        unit = (m["unit"] or "").rstrip(".")
        per = unit.startswith("/")
        name = unit.lstrip("/")
        if name in units and name not in spelled:
            spelled.add(name)
            name = f"{units[name]} ({name})"
        words = f"{'per ' if per else ''}{name}".strip()
        views.append(CriterionView(f"{m['measure'].strip()}: {THRESHOLD_WORDS[m['op']]} {m['amount']} {words}".strip(), text))
    return tuple(views)


def display_labels(trial: Trial, units: dict[str, str] | None = None) -> dict[str, object]:
    """The words and groupings the templates show, computed once from the trial.

    `units` maps abbreviations to what they stand for (from the glossary), to spell units out in criteria.
    """
    spots = date_words(trial.spots_left.by) if trial.spots_left else ""
    if isinstance(trial, RegistryTrial):
        return {"status_label": registry_status(trial)[0], "recruitment": recruitment(trial), "spots_past": spots_past(trial),
                "phase_label": registry_phase(trial)[0], "spots_month": spots,
                "registry_url": trial.registry.url, "conditions": registry_conditions(trial)}
    e = trial.eligibility
    if e.min_age is not None and e.max_age is not None:
        age = f"{e.min_age} to {e.max_age} years"
    elif e.min_age is not None:
        age = f"{e.min_age}+ ({e.min_age} years and older)"
    elif e.max_age is not None:
        age = f"Up to {e.max_age} years"
    else:
        age = "Any age"
    badges = [
        text for shown, text in (
            (trial.badges.no_placebo_group, "No Placebo Group"),
            (trial.badges.prior_safety_data, "Prior Safety Data"),
            (trial.badges.breakthrough_therapy, "Breakthrough Therapy"),
            (trial.badges.approved_jurisdictions > 0, f"Approved in {trial.badges.approved_jurisdictions} Jurisdictions"),
        ) if shown
    ]
    groups = group_approvals(trial)
    spelled: set[str] = set()
    return {
        "phase_label": PHASE_LABELS[trial.phase],
        "status_label": STATUS_LABELS[trial.status],
        "recruitment": recruitment(trial),
        "spots_past": spots_past(trial),
        "arm_types": ARM_TYPE_LABELS,
        "age_label": age,
        "badges": badges,
        "spots_month": spots,
        "criteria_lists": [
            ("inclusion", "Inclusion criteria", e.inclusion, scannable(e.inclusion.shown, units or {}, spelled)),
            ("exclusion", "Exclusion criteria", e.exclusion, scannable(e.exclusion.shown, units or {}, spelled)),
        ],
        "registry_url": next((i.url for i in trial.identifiers if i.url), None),
        "approval_groups": groups,
        "approval_drugs": " and ".join(g.drug.name for g in groups),
        "jurisdictions": approval_jurisdictions(trial),
        "timeline_bars": timeline_bars(trial.timeline),
        "drugs": drugs_by_id(trial),
    }
