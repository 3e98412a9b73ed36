"""Time `sitegen build` of catalogs beside Hugo building the same trials: N generated trials and the real
registry records. For each catalog: full builds, a rebuild with nothing changed, and a rebuild after one FAQ
answer of one trial changed, each a cold process, median of --runs with min–max; pages/s, CPU per page and peak
memory; Hugo's pages/s and CPU per page, and the ratio, from the same run.

Usage: python bench/catalog.py [--sizes 1000 10000] [--corpus DIR...] [--runs 3] [--jobs N] [--keep DIR]
                               [--seed S] [--check] [--hugo BIN | --no-hugo] [--no-corpus]

For each N the trials are generated from content/trial.yaml (see `generate`) into a temporary folder (or into
DIR/N-trials with --keep, which is kept with its output). The real corpus is the ClinicalTrials.gov records
(*.json, *.xml) in the --corpus folders (by default ../shared/data/ctgov-corpus and ../shared/data/ctgov beside
the repository), imported with `sitegen import FILES... --content CONTENT` into a catalog. Each catalog is built
with `python -m sitegen build --content CONTENT --output OUT --jobs J`; a failed build (or import) is reported
by its error line in the table, and the script then exits with 1.

Hugo (Debian's `hugo` package; the script says how to install it and exits with 2 when it is missing) builds a
site that bench/hugo_site.py writes from the same trial files: the same pages per trial with the same text, as
Markdown with front matter, and the listings as Hugo taxonomies. Full builds alternate, sitegen then Hugo in the
first round, Hugo then sitegen in the second, and so on, each into an output folder that does not exist: the last
one (for sitegen, OUT and every `.OUT.sitegen-*` beside it: the incremental cache and temporary trees) is moved
aside, and everything moved aside is deleted at the end. Deleting thousands of files makes creating files
slower for minutes on some file systems (see `set_aside`), which would make a build pay for the one before it.
The ratio is sitegen's pages/s over Hugo's in the same round, its median over the rounds.

Pages are the *.html files of each output (Hugo's `page/1/` redirects left out). CPU is user + system time of
the build's process and the processes it waited for (sitegen's workers), from os.wait4. Peak memory is
the sum of the RSS of the build's whole process tree, sampled every 20 ms from /proc; the largest single
process's ru_maxrss is reported beside it as a cross-check. After the full builds, a fresh process creates the
folders and files of each output alone, once (bench/fs_floor.py: as many, as large; `fs_floor.py --runs N` for
more rounds), and the notes say what that cost per page and each build's median CPU per page above it: on a
machine where creating a file is slow, the file system weighs on both generators alike. --check validates every generated trial in this
process before building. Progress goes to stderr; the results (a Markdown table and notes) to stdout.

sitegen runs as an installed copy does: its modules compiled to bytecode first (compileall; PYTHONDONTWRITEBYTECODE,
which some machines set, is unset for its processes, else each one compiles sitegen's sources again, about 50 ms),
and its compiled templates kept per user (XDG_CACHE_HOME is a folder `user-cache` beside each catalog's output,
so the first build of a catalog compiles them and the others load them, as for a user's second build).
"""

from __future__ import annotations

import argparse
import compileall
import datetime
import json
import multiprocessing
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import yaml

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import hugo_site
from sitegen.catalog.parallel import default_jobs
from sitegen.cite import CITATION
from sitegen.schema import ArmType, Phase, Sex, Status
from sitegen.slugs import slugify

STATUSES: tuple[str, ...] = get_args(Status)
PHASES: tuple[str, ...] = get_args(Phase)
ARM_TYPES: tuple[str, ...] = get_args(ArmType)
SEXES: tuple[str, ...] = get_args(Sex)

# yaml.safe_dump's output (tests/test_bench.py checks it is the same), with libyaml's emitter when PyYAML has it:
# about 7x faster.
class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    def ignore_aliases(self, data: Any) -> bool:
        return True  # no &anchors: the generated trials share no objects a reader would want aliased
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_LATEX = re.compile(r"[{}\\\"']")  # LaTeX accent markup, left out of cite keys
MARKER = ".bench-catalog"  # marks a --keep folder as made by this script, so a later run may replace it
TRASH = ".bench-trash"  # what the builds made and no longer need, deleted at the end (see set_aside)

CONDITIONS = (
    "Soft tissue sarcoma", "Breast cancer", "Non-small cell lung cancer", "Small cell lung cancer", "Melanoma",
    "Colorectal cancer", "Pancreatic cancer", "Prostate cancer", "Ovarian cancer", "Glioblastoma",
    "Multiple myeloma", "Acute myeloid leukemia", "Chronic lymphocytic leukemia", "Hodgkin lymphoma",
    "Diffuse large B-cell lymphoma", "Renal cell carcinoma", "Hepatocellular carcinoma", "Bladder cancer",
    "Head and neck squamous cell carcinoma", "Gastric cancer", "Osteosarcoma", "Ewing sarcoma", "Type 2 diabetes",
    "Rheumatoid arthritis", "Crohn's disease", "Multiple sclerosis", "Alzheimer's disease", "Parkinson's disease",
    "Heart failure", "Chronic kidney disease", "Asthma", "Psoriasis", "Sjögren's syndrome",
)
CITIES = (
    "Palo Alto", "Boston", "New York", "Houston", "Rochester", "Baltimore", "Seattle", "Chicago", "Philadelphia",
    "Los Angeles", "San Francisco", "San Diego", "Nashville", "Atlanta", "Miami", "Denver", "Salt Lake City",
    "Minneapolis", "Cleveland", "Pittsburgh", "Detroit", "St. Louis", "Columbus", "Ann Arbor", "Durham",
    "Chapel Hill", "Charlottesville", "Portland", "Phoenix", "Dallas", "San Antonio", "Omaha", "Kansas City",
    "Milwaukee", "Indianapolis", "Louisville", "Birmingham", "New Orleans", "Tampa", "Orlando", "Washington",
    "Bethesda", "New Haven", "Providence", "Hanover", "Burlington", "Albany", "Buffalo", "Sacramento", "Honolulu",
    "Anchorage", "Toronto", "Montréal", "Vancouver", "Calgary", "Edmonton", "Ottawa", "Québec City", "Halifax",
    "Winnipeg", "London", "Manchester", "Oxford", "Cambridge", "Glasgow", "Edinburgh", "Dublin", "Paris", "Lyon",
    "Marseille", "Villejuif", "Berlin", "München", "Heidelberg", "Düsseldorf", "Hamburg", "Zürich", "Basel",
    "Wien", "Milano", "Roma", "Napoli", "Madrid", "Barcelona", "Valencia", "Lisboa", "Amsterdam", "Leiden",
    "Rotterdam", "Bruxelles", "Leuven", "København", "Stockholm", "Malmö", "Oslo", "Helsinki", "Kraków",
    "Warszawa", "Praha", "Tokyo", "Osaka", "Seoul", "Singapore", "Sydney", "Melbourne", "São Paulo", "Tel Aviv",
)
DRUGS = (  # (name, drug class, brand names)
    ("Cabozantinib", "Tyrosine Kinase Inhibitor", ["Cabometyx"]),
    ("Nivolumab", "Checkpoint Inhibitor", ["Opdivo"]),
    ("Ipilimumab", "Checkpoint Inhibitor", ["Yervoy"]),
    ("Pembrolizumab", "Checkpoint Inhibitor", ["Keytruda"]),
    ("Atezolizumab", "Checkpoint Inhibitor", ["Tecentriq"]),
    ("Doxorubicin", "Anthracycline", ["Adriamycin", "Doxil"]),
    ("Trastuzumab", "HER2 Antibody", ["Herceptin"]),
    ("Osimertinib", "EGFR Tyrosine Kinase Inhibitor", ["Tagrisso"]),
    ("Olaparib", "PARP Inhibitor", ["Lynparza"]),
    ("Lenalidomide", "Immunomodulatory Drug", ["Revlimid"]),
    ("Venetoclax", "BCL-2 Inhibitor", ["Venclexta", "Venclyxto"]),
    ("Temozolomide", "Alkylating Agent", ["Temodar"]),
    ("Gemcitabine", "Antimetabolite", ["Gemzar"]),
    ("Imatinib", "Tyrosine Kinase Inhibitor", ["Gleevec", "Glivec"]),
    ("Metformin", "Biguanide", ["Glucophage"]),
    ("Dapagliflozin", "SGLT2 Inhibitor", ["Farxiga", "Forxiga"]),
    ("Adalimumab", "TNF Inhibitor", ["Humira"]),
    ("Ocrelizumab", "Anti-CD20 Antibody", ["Ocrevus"]),
    ("Dupilumab", "Interleukin Antagonist", ["Dupixent"]),
    ("Sotatercept", "Activin Signaling Inhibitor", []),
    ("Placebo", "Inactive Substance", []),
)
JURISDICTIONS = (
    ("United States", "US"), ("Canada", "CA"), ("Japan", "JP"), ("European Union", None), ("United Kingdom", "GB"),
    ("Australia", "AU"), ("Switzerland", "CH"), ("Brazil", "BR"), ("China", "CN"), ("South Korea", "KR"),
)
SPONSORS = (
    "National Cancer Institute (NCI)", "National Cancer Institute LAO", "Memorial Sloan Kettering Cancer Center",
    "M.D. Anderson Cancer Center", "Dana-Farber Cancer Institute", "Mayo Clinic", "Stanford University",
    "Alliance for Clinical Trials in Oncology", "ECOG-ACRIN Cancer Research Group", "NRG Oncology",
    "Children's Oncology Group", "Institut Gustave Roussy", "Charité – Universitätsmedizin Berlin",
    "Karolinska Institutet", "University Health Network, Toronto",
)
FIRST_NAMES = ("Alice", "Ben", "Chiara", "David", "Émilie", "Farah", "Gustavo", "Hana", "Ivan", "José", "Kenji",
               "Lena", "Mateo", "Nkechi", "Olga", "Priya", "Quentin", "Rosa", "Søren", "Tomás", "Uma", "Zoë")
LAST_NAMES = ("Andersen", "Bui", "Chen", "Dubois", "Eriksson", "Fernández", "García", "Hoffmann", "Ito", "Jansen",
              "Kowalski", "Liu", "Müller", "Nakamura", "Okafor", "Patel", "Rossi", "Smith", "Tanaka", "Van Tine",
              "Wang", "Yilmaz", "Zhou")
BIB_LAST_NAMES = ("Chen", "Smith", "M{\\\"u}ller", "Gonz{\\'a}lez", "Van Tine", "Nakamura", "Okafor", "Rossi",
                  "Patel", "Dubois", "Kowalski", "Eriksson", "Hoffmann", "Wang", "Ito", "Garc{\\'i}a")
JOURNALS = ("J Clin Oncol", "Lancet Oncol", "N Engl J Med", "JAMA Oncol", "Ann Oncol", "Clin Cancer Res",
            "BMC Cancer", "Cancers", "Nat Med", "Lancet", "Diabetes Care", "Ann Rheum Dis", "Neurology", "Blood")
STUDY_KINDS = ("a randomized phase 3 trial", "a multicentre retrospective study", "a single-arm phase 2 study",
               "a pooled analysis", "a real-world cohort", "long-term follow-up of a phase 1 trial",
               "a systematic review and meta-analysis", "a case series")
OUTCOMES = ("overall survival", "progression-free survival", "response rates", "quality of life",
            "safety and tolerability", "time to treatment failure", "symptom scores", "hospital admissions")
INCLUSION = (
    "Platelets >= 75,000/mcL", "Serum albumin >= 2.8g/dL", "I am 18 years old or older.",
    "Absolute neutrophil count >= 1,500/mcL", "Hemoglobin >= 9 g/dL", "Total bilirubin <= 1.5 x upper limit of normal",
    "Creatinine clearance >= 40 mL/min", "ECOG performance status 0 or 1", "Measurable disease per RECIST 1.1",
    "Life expectancy of at least 12 weeks", "Able to swallow tablets", "Willing to use effective contraception",
    "Confirmed diagnosis by biopsy", "At least one prior line of treatment", "No more than three prior treatments",
    "Adequate heart function (ejection fraction >= 50%)", "HbA1c between 7% and 10%", "Body mass index 18 to 40",
    "Stable dose of current medicines for 4 weeks", "Able to attend visits every 3 weeks",
    "Signed informed consent", "Negative pregnancy test within 7 days",
)
EXCLUSION = (
    "I cannot swallow pills.", "My heart's electrical cycle is longer than normal.",
    "Patients who are receiving any other investigational agents", "Active brain metastases",
    "Uncontrolled high blood pressure", "Active autoimmune disease needing treatment in the past 2 years",
    "Prior organ transplant", "Known HIV infection with detectable viral load", "Active hepatitis B or C",
    "Major surgery within 4 weeks", "Pregnant or breastfeeding", "Serious infection within 2 weeks",
    "History of another cancer within 3 years", "Severe allergy to any study drug", "Current use of steroids",
    "Bleeding disorder", "Recent heart attack or stroke (within 6 months)", "Uncontrolled diabetes",
    "Interstitial lung disease", "Live vaccine within 30 days",
)
MUST_NOT_TAKE = ("CYP3A4 inducers", "Strong CYP3A4 inhibitors", "Warfarin", "St. John's wort", "Systemic steroids",
                 "Other investigational drugs", "Proton pump inhibitors", "Grapefruit juice")
DISQUALIFIERS = ("Pregnancy", "Uncontrolled illness", "Active infection", "Recent surgery", "Heart failure",
                 "Liver disease", "Kidney failure")
EXTRA_FAQ = (
    ("How long will I be in the trial?",
     ("Most people take part for about a year. Treatment lasts as long as it helps and the side effects are "
      "manageable. After treatment, the study team keeps in touch for several months.")),
    ("Will I be paid for taking part?",
     ("Some sites pay for travel and parking. Payment for time differs from site to site. Ask the study team "
      "before you join what your site covers.")),
    ("Can I leave the trial?",
     ("Yes. You can leave at any time and for any reason. Leaving does not change the care you get outside the "
      "trial. The study team may ask you to come for one last safety visit.")),
    ("What happens after the trial ends?",
     ("Your own doctor takes over your care. The study team shares the results when they are published. If the "
      "treatment helped you, you may be able to keep getting it.")),
    ("How often do I need to visit the clinic?",
     ("Visits are most frequent during the first weeks. Later visits are spaced out. Some check-ups can be done "
      "by phone or video.")),
    ("Could I get a placebo?",
     ("It depends on the group you are placed in. The listing says whether the trial has a placebo group. Nobody "
      "goes without treatment when a standard treatment exists.")),
    ("What are the main side effects?",
     ("The most common side effects are tiredness, nausea and skin rash. Serious side effects are less common. "
      "The study team checks your blood regularly to find problems early.")),
    ("Do I need a caregiver?",
     ("You do not need one to join. Having someone with you at the first visits can help. Some sites offer "
      "support for families.")),
)
STAGE_NAMES = {"maintenance": "Maintenance", "long-term-follow-up": "Long-term Follow-up",
               "run-in": "Run-in Period", "extension": "Open-label Extension"}
NUMBER_SENTENCES = (
    "This summary belongs to synthetic trial {n}.",
    "Synthetic trial {n} follows the same plan at every site.",
    "In trial {n}, people with {condition} are the focus.",
    "The team of trial {n} reviews this text every year.",
    "Entry {n} of the catalog was written for testing.",
)
ROMAN = {"early-phase-1": "Early Phase I", "phase-1": "Phase I", "phase-1-2": "Phase I/II", "phase-2": "Phase II",
         "phase-2-3": "Phase II/III", "phase-3": "Phase III", "phase-4": "Phase IV"}


def _strip_citations(text: str) -> str:
    return CITATION.sub("", text)


def _cite(keys: list[str]) -> str:
    return "[" + "; ".join("@" + k for k in keys) + "]" if keys else ""


class _Base:
    """content/trial.yaml, loaded once, with its prose split into sentences for reuse."""

    def __init__(self) -> None:
        self.trial: dict[str, Any] = yaml.safe_load((CONTENT / "trial.yaml").read_text(encoding="utf-8"))
        bib = (CONTENT / "references.bib").read_text(encoding="utf-8")
        self.shared_keys = re.findall(r"^@\w+\{([^,\s]+),", bib, re.MULTILINE)
        self.sentences: dict[str, list[str]] = {}
        t = self.trial
        fields = {
            "purpose": t["purpose"], "overview": t["overview"], "summary": t["eligibility"]["summary"],
            "medication_note": t["eligibility"]["medication_note"],
            "schedule": " ".join(a["schedule"] for a in t["arms"]),
            "crossover": " ".join(a["crossover"] for a in t["arms"] if a.get("crossover")),
            "points": " ".join(p for f in t["findings"] for p in f["points"]),
        }
        for name, text in fields.items():
            self.sentences[name] = [_template(s) for s in _split(text)]
        self.faq = [(_template(q["question"]), [_template(s) for s in _split(q["answer"])]) for q in t["faq"]]
        self.faq += [(q, _split(a)) for q, a in EXTRA_FAQ]
        self.stages = [{**s, "description": [_template(x) for x in _split(s["description"])]} for s in t["timeline"]]


# The default trial's condition and drugs, which each synthetic trial replaces with its own: in the base sentences
# they become markers (\x01 name, case \x01), so that a trial's words go in with str.replace.
_SWAPPED = re.compile(r"\b(soft[- ]tissue sarcomas?|STS|cabozantinib|nivolumab|ipilimumab|cabometyx|opdivo|yervoy)\b",
                      re.IGNORECASE)


def _template(text: str) -> str:
    def marker(m: re.Match[str]) -> str:
        word = m.group(0)
        name = "condition" if word.lower().startswith("soft") or word == "STS" else word.lower()
        return f"\x01{name}{'U' if word[0].isupper() else 'l'}\x01"

    return _SWAPPED.sub(marker, text)


def in_sentence(condition: str) -> str:
    """A condition's name as written inside a sentence: 'breast cancer', but 'Crohn's disease'."""
    first = condition.split()[0]
    return condition if "'" in first or first in ("Hodgkin", "Ewing") else condition[0].lower() + condition[1:]


def _split(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(_strip_citations(" ".join(text.split()))) if s]


_BASE: _Base | None = None


def _base() -> _Base:
    global _BASE
    if _BASE is None:
        _BASE = _Base()
    return _BASE


class _Trial:
    """The making of one synthetic trial: its random source, number, condition and drugs."""

    def __init__(self, base: _Base, seed: int, number: int, width: int) -> None:
        self.base = base
        self.rng = rng = random.Random(f"sitegen-catalog:{seed}:{number}")
        self.n = number
        self.slug = f"synthetic-{number:0{width}d}"
        self.condition = rng.choice(CONDITIONS)
        drugs = rng.sample(DRUGS, rng.choice((1, 2, 2, 3, 3, 3, 4)))
        self.drugs = [(slugify(name), name, cls, list(brands)) for name, cls, brands in drugs]
        # Drug and brand names of the default trial become this trial's, and its condition this one's.
        swap: dict[str, str] = {"condition": in_sentence(self.condition)}
        for old, new in zip(("cabozantinib", "nivolumab", "ipilimumab"), self.drugs * 3):
            swap[old] = new[1]
        for old, new in zip(("cabometyx", "opdivo", "yervoy"), self.drugs * 3):
            swap[old] = new[3][0] if new[3] else new[1]
        self.swap = [(f"\x01{old}U\x01", new[0].upper() + new[1:]) for old, new in swap.items()]
        self.swap += [(f"\x01{old}l\x01", new if old == "condition" else new.lower()) for old, new in swap.items()]
        self.own_keys: list[str] = []

    def words(self, text: str) -> str:
        """`text` (from the base sentences) with this trial's condition and drugs in place of the default's."""
        if "\x01" in text:
            for marker, new in self.swap:
                text = text.replace(marker, new)
        return text

    def prose(self, sentences: list[str], keep: float = 0.75, number: float = 0.5, cite: list[str] | None = None,
              paragraphs: bool = True) -> str:
        """Some of `sentences`, maybe shuffled, maybe with a sentence naming the trial, its words swapped in."""
        rng = self.rng
        kept = [s for s in sentences if rng.random() < keep] or [rng.choice(sentences)]
        if len(kept) > 1 and rng.random() < 0.4:
            rng.shuffle(kept)
        if rng.random() < number:
            kept.insert(rng.randrange(len(kept) + 1),
                        rng.choice(NUMBER_SENTENCES).format(n=self.n, condition=in_sentence(self.condition)))
        if rng.random() < 0.1:
            kept = kept + kept[: rng.randint(1, len(kept))]  # a long one
        text = " ".join(kept)
        if paragraphs and len(kept) > 3 and rng.random() < 0.25:
            cut = text.find(". ", len(text) // 2)
            if cut > 0:
                text = text[: cut + 1] + "\n\n" + text[cut + 2:]
        text = self.words(text)
        text = text[0].upper() + text[1:]
        return text + _cite(cite or [])

    def cited_shared(self, most: int = 5) -> list[str]:
        return self.rng.sample(self.base.shared_keys, self.rng.randint(1, most))

    def person(self, role: str) -> dict[str, Any]:
        rng = self.rng
        person: dict[str, Any] = {"name": f"{rng.choice(('Dr. ', '', ''))}{rng.choice(FIRST_NAMES)} "
                                          f"{rng.choice(LAST_NAMES)}", "role": role}
        if rng.random() < 0.7:
            person["organization"] = rng.choice(SPONSORS)
        if rng.random() < 0.3:
            person["since"] = rng.randint(1995, 2026)
        if rng.random() < 0.3:
            person["education"] = f"MD from {rng.choice(('Harvard', 'Stanford', 'Oxford', 'Kyoto', 'Sorbonne'))} University"
        return person


def make_trial(base: _Base, seed: int, number: int, width: int = 5) -> tuple[dict[str, Any], str]:
    """Trial `number` of the catalog for `seed`, as a YAML-ready dict, and the text of its own .bib ('' for none)."""
    t = _Trial(base, seed, number, width)
    rng = t.rng
    status, phase, condition = rng.choice(STATUSES), rng.choice(PHASES), t.condition
    drug_names = [d[1] for d in t.drugs]
    own_count = rng.choice((0, 1, 2, 3, 5, 8, 12, 20, 30)) if rng.random() < 0.35 else -1
    bib = _own_bibliography(t, own_count) if own_count >= 0 else ""

    trial: dict[str, Any] = {"slug": t.slug}
    combo = " + ".join(drug_names[:3])
    trial["title"] = rng.choice((
        f"{combo} for {condition} (Study {number})", f"Trial {number}: {combo} in {condition}",
        f"{combo} for {'Advanced ' if rng.random() < 0.5 else ''}{condition} — Cohort {number}",
    ))
    if rng.random() < 0.75:
        trial["official_title"] = (
            f"A {ROMAN[phase]} {rng.choice(('Randomized', 'Open-label', 'Double-blind', 'Single-arm'))} Study of "
            f"{' and '.join(drug_names)} in People With {condition} (Synthetic Protocol {number})")
    identifiers = []
    if rng.random() < 0.9:
        nct = f"NCT9{number:07d}"
        identifiers.append({"registry": "ClinicalTrials.gov", "value": nct, "url": f"https://clinicaltrials.gov/study/{nct}"})
    if rng.random() < 0.4:
        identifiers.append({"registry": "EU CT number", "value": f"2025-5{number:05d}-{rng.randint(10, 99)}-00"})
    if identifiers or rng.random() < 0.5:
        trial["identifiers"] = identifiers
    trial["condition"] = condition
    trial["phase"] = phase
    trial["status"] = status
    trial["updated"] = datetime.date(2024, 1, 1) + datetime.timedelta(days=rng.randrange(1096))
    if status in ("recruiting", "not-yet-recruiting") and rng.random() < 0.7:
        trial["spots_left"] = {"count": rng.randint(0, 400), "approximate": rng.random() < 0.5,
                               "by": f"{rng.randint(2025, 2028)}-{rng.randint(1, 12):02d}"}
    if rng.random() < 0.8:
        trial["principal_investigator"] = t.person("Principal Investigator")
    sponsors = []
    for i, name in enumerate(rng.sample(SPONSORS, rng.choice((1, 1, 2, 2, 3)))):
        sponsor: dict[str, Any] = {"name": name, "role": "Lead Sponsor" if i == 0 else "Collaborator"}
        if rng.random() < 0.7:
            sponsor["trials"] = rng.randint(1, 15000)
            sponsor["recruited"] = rng.randint(10, 50_000_000)
            sponsor["recruited_at_least"] = rng.random() < 0.5
        sponsors.append(sponsor)
    trial["sponsors"] = sponsors
    if rng.random() < 0.6:
        trial["leadership"] = [t.person(role) for role in rng.sample(
            ("Chief Executive Officer", "Chief Medical Officer", "Director", "Head of Research"), rng.randint(1, 3))]
    if rng.random() < 0.8:
        trial["badges"] = {"no_placebo_group": "Placebo" not in drug_names, "prior_safety_data": rng.random() < 0.6,
                           "breakthrough_therapy": rng.random() < 0.2, "approved_jurisdictions": rng.randint(0, 12)}
    trial["purpose"] = t.prose(base.sentences["purpose"], cite=t.cited_shared(2) if rng.random() < 0.2 else None)
    trial["overview"] = t.prose(base.sentences["overview"], keep=0.9, number=0.8)

    # Own references: each is cited once, in a group of at most 3 in an FAQ answer, 4 in the overview, or as the
    # source of a finding of its own.
    in_prose = list(t.own_keys)
    rng.shuffle(in_prose)

    faq_pool = list(base.faq)
    rng.shuffle(faq_pool)
    n_faq = rng.choice((0, 1, 2, 3, 4, 4, 4, 5, 6))
    questions = faq_pool[:n_faq]
    if questions and rng.random() < 0.15:  # doubled: every question again, as a follow-up
        questions = questions + [(f"{q.rstrip('?')} (follow-up {k + 1})?", a) for k, (q, a) in enumerate(questions)]
    faq = []
    for question, sentences in questions:
        keys = t.cited_shared() if rng.random() < 0.85 else []
        if in_prose and rng.random() < 0.6:
            take = rng.randint(1, min(3, len(in_prose)))
            keys, in_prose = keys + in_prose[:take], in_prose[take:]
        faq.append({"question": t.words(question), "answer": t.prose(sentences, cite=keys)})
    if faq or rng.random() < 0.5:
        trial["faq"] = faq
    if in_prose and rng.random() < 0.5:
        take = rng.randint(1, min(4, len(in_prose)))
        trial["overview"] = t.prose(base.sentences["overview"], keep=0.9, number=0.8, cite=in_prose[:take])
        in_prose = in_prose[take:]
    as_findings = in_prose  # whatever the prose did not cite

    trial["eligibility"] = _eligibility(t)
    trial["locations"] = _locations(t)
    trial["timeline"] = _timeline(t)
    trial["interventions"] = [
        {"id": id_, "name": name, "drug_class": cls, **({"brand_names": brands} if brands else {})}
        for id_, name, cls, brands in t.drugs
    ]
    trial["arms"] = _arms(t)
    approvals = _approvals(t)
    if approvals or rng.random() < 0.3:
        trial["approvals"] = approvals

    findings = []
    for key in rng.sample(base.shared_keys, rng.choice((0, 0, 1, 2, 3, 3, 4))) + as_findings:
        points = [t.prose(base.sentences["points"], keep=0.3, number=0.3, paragraphs=False)
                  for _ in range(rng.choice((1, 1, 2, 2, 3)))]
        if key in as_findings:
            points[0] += _cite([key])
        findings.append({"source": key, "points": points})
    if findings or rng.random() < 0.5:
        trial["findings"] = findings
    if rng.random() < 0.85:
        sources = [{"name": "The trial's public listing page (figures as counted there)"}]
        if "identifiers" in trial and trial["identifiers"] and trial["identifiers"][0].get("url"):
            sources.append({"name": f"ClinicalTrials.gov record {trial['identifiers'][0]['value']}",
                            "url": trial["identifiers"][0]["url"]})
        trial["sources"] = sources
    return trial, bib


def _own_bibliography(t: _Trial, count: int) -> str:
    rng = t.rng
    entries = [f"% References only synthetic trial {t.n} uses."]
    for j in range(count):
        year = rng.randint(1998, 2026)
        surname = rng.choice(BIB_LAST_NAMES)
        key = f"{slugify(_LATEX.sub('', surname)).replace('-', '')}{year}t{t.n}n{j}"
        t.own_keys.append(key)
        drug = rng.choice(t.drugs)[1]
        title = (f"{drug} in {in_sentence(t.condition)}: {rng.choice(STUDY_KINDS)} of {rng.choice(OUTCOMES)}"
                 + (" in patients with {PD-L1} expression" if rng.random() < 0.2 else ""))
        authors = " and ".join(
            f"{rng.choice(BIB_LAST_NAMES)}, {rng.choice(FIRST_NAMES)[0]}." for _ in range(rng.randint(1, 8)))
        if rng.random() < 0.2:
            authors += " and others"
        if rng.random() < 0.8:
            fields = [("title", title), ("author", authors), ("journal", rng.choice(JOURNALS)), ("year", str(year))]
            if rng.random() < 0.7:
                first = rng.randint(1, 2000)
                fields += [("volume", str(rng.randint(1, 400))), ("number", str(rng.randint(1, 24))),
                           ("pages", f"{first}--{first + rng.randint(1, 20)}")]
            if rng.random() < 0.6:
                fields.append(("doi", f"10.5555/synthetic.{t.n}.{j}"))
            kind = "article"
        else:
            fields = [("title", title), ("year", str(year))]
            if rng.random() < 0.5:
                fields.append(("url", f"https://example.org/abstracts/{t.n}/{j}"))
            kind = "misc"
        body = ",\n".join(f"  {name:<7} = {{{value}}}" for name, value in fields)
        entries.append(f"@{kind}{{{key},\n{body}\n}}")
    return "\n\n".join(entries) + "\n"


def _criteria(rng: random.Random, pool: tuple[str, ...]) -> dict[str, Any]:
    shown = rng.sample(pool, rng.randint(1, 8))
    if rng.random() < 0.15:  # doubled
        shown += [f"{c} (at screening and again at week {w})" for w, c in enumerate(shown, 2)]
    criteria: dict[str, Any] = {"shown": shown}
    if rng.random() < 0.9:
        criteria["hidden"] = rng.choice((0, rng.randint(1, 40)))
    return criteria


def _eligibility(t: _Trial) -> dict[str, Any]:
    rng, base = t.rng, t.base
    e: dict[str, Any] = {"summary": t.prose(base.sentences["summary"])}
    min_age = rng.choice((18, 18, 18, 12, 0, 40, 65, None))
    if min_age is not None:
        e["min_age"] = min_age
    if rng.random() < 0.2:
        e["max_age"] = rng.choice((17, 75, 80, 85)) if min_age is not None and min_age < 17 else rng.choice((75, 85))
    e["sex"] = rng.choice(SEXES + ("any", "any"))
    if rng.random() < 0.7:
        e["travel_covered"] = rng.choice(("May Be Covered", "Covered", "Not Covered"))
    if rng.random() < 0.6:
        e["time_reimbursement"] = rng.choice(("Varies", "Paid", "Not paid"))
    must_not = rng.sample(MUST_NOT_TAKE, rng.randint(0, 4))
    if must_not:
        e["must_not_take"] = must_not
    if rng.random() < 0.6:
        e["medication_note"] = t.prose(base.sentences["medication_note"])
    disqualifiers = rng.sample(DISQUALIFIERS, rng.randint(0, 4))
    if disqualifiers:
        e["disqualifiers"] = disqualifiers
        e["more_disqualifiers"] = rng.random() < 0.5
    e["inclusion"] = _criteria(rng, INCLUSION)
    e["exclusion"] = _criteria(rng, EXCLUSION)
    return e


def _locations(t: _Trial) -> dict[str, Any]:
    rng = t.rng
    many = rng.random()
    count = rng.randint(0, 3) if many < 0.5 else rng.randint(4, 15) if many < 0.85 else rng.randint(16, 60)
    named = []
    for city in rng.sample(CITIES, count):
        place: dict[str, Any] = {"name": city, "recruiting": rng.random() < 0.85}
        if rng.random() < 0.6:
            place["distance"] = f"{rng.randint(1, 3000)} mi"
        named.append(place)
    return {"named": named, "others": rng.choice((0, rng.randint(1, 300)))}


def _timeline(t: _Trial) -> list[dict[str, Any]]:
    rng = t.rng
    stages = []
    for stage in t.base.stages:
        if stage["id"] == "crossover" and rng.random() < 0.6:
            continue
        stage = dict(stage)
        stage["description"] = t.prose(stage["description"], keep=1.0, number=0.3, paragraphs=False)
        if "weeks_min" in stage and rng.random() < 0.8:
            low = rng.choice((1, 2, 3, 4, 6, 8, 12, 24, 52))
            high = low + rng.choice((0, 0, 1, 2, 4, 12))
            stage["weeks_min"], stage["weeks_max"] = low, high
            stage["duration"] = f"{low} weeks" if low == high else f"{low}-{high} weeks"
        stages.append(stage)
    extra = rng.sample(sorted(STAGE_NAMES), rng.choice((0, 0, 1, 2)))
    for id_ in extra:
        weeks = rng.choice((4, 8, 26, 52, 104))
        stages.insert(len(stages) - 1, {
            "id": id_, "name": STAGE_NAMES[id_],
            "description": f"{STAGE_NAMES[id_]} of synthetic trial {t.n}: visits continue while the treatment helps.",
            "duration": f"{weeks} weeks", "weeks_min": weeks, "weeks_max": weeks,
        })
    return stages


def _arms(t: _Trial) -> list[dict[str, Any]]:
    rng = t.rng
    arms = []
    drug_ids = [d[0] for d in t.drugs]
    for i in range(rng.choice((1, 2, 2, 2, 3, 4))):
        letter = "ABCD"[i]
        drugs = drug_ids if i == 0 else rng.sample(drug_ids, rng.randint(1, len(drug_ids)))
        names = ", ".join(d[1].lower() for d in t.drugs if d[0] in drugs)
        arm: dict[str, Any] = {
            "id": f"arm-{letter.lower()}", "group": f"Group {('I', 'II', 'III', 'IV')[i]}",
            "name": f"Arm {letter} ({names})",
            "type": "experimental" if i == 0 else rng.choice(ARM_TYPES),
            "drugs": drugs, "intervention_count": rng.randint(len(drugs), 9),
            "schedule": t.prose(t.base.sentences["schedule"], keep=0.5),
        }
        if rng.random() < 0.4:
            arm["crossover"] = t.prose(t.base.sentences["crossover"], keep=0.5, number=0.2)
        arms.append(arm)
    return arms


def _approvals(t: _Trial) -> list[dict[str, Any]]:
    rng = t.rng
    if rng.random() < 0.35:
        return []
    approvals = []
    for id_, _, _, brands in t.drugs:
        if not brands:
            continue
        for jurisdiction, code in rng.sample(JURISDICTIONS, rng.randint(0, 6)):
            approval: dict[str, Any] = {"drug": id_, "brand": rng.choice(brands), "jurisdiction": jurisdiction}
            if code:
                approval["country_code"] = code
            approval["indications"] = rng.sample(CONDITIONS, rng.choice((1, 1, 2, 3, 5, 8)))
            approvals.append(approval)
    return approvals


def generate(n: int, folder: Path, seed: int = 0, workers: int | None = None) -> list[Path]:
    """Write a catalog of `n` synthetic trials into `folder`, the same bytes for the same `n` and `seed`.

    folder gets site.yaml (content/'s, titled as a demo catalog), glossary.yaml and references.bib (copies of
    content/'s) and trials/<slug>.yaml, each a
    variation on content/trial.yaml, some with a trials/<slug>.bib of their own. Trial i is the same whatever n
    (below 100,000) and however many `workers` (processes; by default one per usable CPU) write them.
    Returns the paths of the trial files, in order.
    """
    folder = Path(folder)
    (folder / "trials").mkdir(parents=True, exist_ok=True)
    for name in ("glossary.yaml", "references.bib"):
        shutil.copyfile(CONTENT / name, folder / name)
    settings = (CONTENT / "site.yaml").read_text(encoding="utf-8")
    title = re.search(r"^title: .*$", settings, re.MULTILINE)
    assert title is not None, "content/site.yaml has a title"
    demo = f"title: Demo catalog of {n:,} synthetic trials (not real trials)"
    (folder / "site.yaml").write_text(settings.replace(title.group(0), demo, 1), encoding="utf-8")
    width = max(5, len(str(n - 1)))
    workers = min(workers or default_jobs(), max(1, n // 200))
    if workers == 1:
        return _write_trials(folder, seed, width, range(n))
    _base()  # loaded once, before the workers fork
    step = -(-n // (workers * 4))
    chunks = [range(start, min(start + step, n)) for start in range(0, n, step)]
    context = multiprocessing.get_context("fork")
    with context.Pool(workers) as pool:
        parts = pool.starmap(_write_trials, [(folder, seed, width, chunk) for chunk in chunks])
    return [path for part in parts for path in part]


def _write_trials(folder: Path, seed: int, width: int, numbers: range) -> list[Path]:
    base = _base()
    paths = []
    for number in numbers:
        trial, bib = make_trial(base, seed, number, width)
        path = folder / "trials" / f"{trial['slug']}.yaml"
        path.write_text(dump(trial), encoding="utf-8")
        if bib:
            path.with_suffix(".bib").write_text(bib, encoding="utf-8")
        paths.append(path)
    return paths


def dump(data: Any) -> str:
    """YAML as yaml.safe_dump(sort_keys=False, allow_unicode=True) writes it (with libyaml when available)."""
    return str(yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True))


def cited_keys(data: Any) -> list[str]:
    """Every key a trial cites: [@key] in any text, and each finding's source."""
    keys: list[str] = []
    if isinstance(data, dict):
        for value in data.values():
            keys += cited_keys(value)
        keys += [f["source"] for f in data.get("findings", []) if isinstance(f, dict) and "source" in f]
    elif isinstance(data, list):
        for value in data:
            keys += cited_keys(value)
    elif isinstance(data, str):
        keys += [k.strip().lstrip("@") for m in CITATION.finditer(data) for k in m.group(1).split(";")]
    return keys


def check(folder: Path) -> list[str]:
    """Problems with a generated catalog, by sitegen's own validator and bibliography loader; [] when valid."""
    from sitegen.bib import load_bibliography
    from sitegen.errors import ContentError
    from sitegen.load import load_yaml
    from sitegen.validate import validate_trial

    problems: list[str] = []
    shared = set(load_bibliography(folder / "references.bib"))
    for path in sorted((folder / "trials").glob("*.yaml")):
        try:
            trial = validate_trial(load_yaml(path))
            own = load_bibliography(path.with_suffix(".bib")) if path.with_suffix(".bib").exists() else {}
        except ContentError as e:
            problems += [f"{p.file}:{p.line}:{p.column}: {p.message}" for p in e.problems]
            continue
        if trial.slug != path.stem:
            problems.append(f"{path}: slug {trial.slug!r} is not the file's name")
        problems += [f"{path}: own reference {k!r} clashes with a shared one" for k in sorted(shared & set(own))]
        cited = cited_keys(yaml.safe_load(path.read_text(encoding="utf-8")))
        problems += [f"{path}: cites unknown key {k!r}" for k in cited if k not in shared and k not in own]
        problems += [f"{path}: own reference {k!r} is not cited" for k in own if k not in cited]
    return problems


# ---------------------------------------------------------------------------
# Running builds

PAGE = os.sysconf("SC_PAGE_SIZE")
HUGO_MISSING = """\
bench: Hugo is not installed: there is no {hugo!r} on PATH, and this benchmark builds the same trials with Hugo to
compare. Install Debian's package (0.111.3 is the version measured), then run this again:

    sudo apt-get install -y hugo

or pass --hugo PATH to use another Hugo binary, or --no-hugo to time sitegen alone."""


class BuildFailed(Exception):
    """A command that ended with a non-zero exit code; its message names it and its error line."""


@dataclass
class Run:
    seconds: float
    peak_rss: int  # bytes: the largest sum of RSS over the build's process tree
    maxrss: int  # bytes: ru_maxrss of the build and its reaped descendants (the largest single process)
    cpu: float = 0.0  # seconds: user + system CPU of the build and its reaped descendants (os.wait4)


def _tree_rss(root: int) -> int:
    parents: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
            parents.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += parents.get(pid, [])
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                total += int(f.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            pass
    return total


_POSITIONED = re.compile(r"^\S.*?:\d+:\d+: (?!warning:)")  # FILE:LINE:COLUMN: problem, not a warning
_NAMED = re.compile(r"^(?!sitegen:)[^\s:]+: (?!warning:)")  # FILE: problem, or a traceback's Exception: message


def error_line(output: str) -> str:
    """What a failed command's output says went wrong, in one line: its first `FILE:LINE:COLUMN: problem`, else
    its first `FILE: problem` (or a traceback's exception), else its last line; with its last line (sitegen's
    count of problems) after a dash when that says more."""
    lines = [line.rstrip() for line in output.splitlines() if line.strip()]
    if not lines:
        return "no output"
    first = next((line for line in lines if _POSITIONED.match(line)), None) or \
        next((line for line in lines if _NAMED.match(line)), lines[-1])
    return first if first == lines[-1] or not lines[-1].startswith("sitegen:") else f"{first} — {lines[-1]}"


def run(command: list[str], env: dict[str, str] | None = None) -> Run:
    """`command` in a fresh process from the project folder, timed, its process tree's memory sampled, its CPU
    time taken from os.wait4; raises BuildFailed with the error line when it fails."""
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},  # as installed (see above)
           "PYTHONPATH": os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH")))), **(env or {})}
    with tempfile.TemporaryFile() as output:
        peak = [0]
        done = threading.Event()
        started = time.perf_counter()
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], _tree_rss(proc.pid))
                done.wait(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            output.seek(0)
            line = error_line(output.read().decode(errors="replace"))
            name = " ".join(Path(c).name if i == 0 else c for i, c in enumerate(command[:4]))
            raise BuildFailed(f"{name} … failed (exit code {proc.returncode}): {line}")
    return Run(seconds, peak[0], usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime)


def build(content: Path, out: Path, jobs: int) -> Run:
    """One `sitegen build` in a fresh process (see `run`), its compiled templates kept in the folder `user-cache`
    beside `out`."""
    return run([sys.executable, "-m", "sitegen", "build", "--content", str(content), "--output", str(out),
                "--jobs", str(jobs)], env={"XDG_CACHE_HOME": str(out.parent / "user-cache")})


def hugo_build(hugo: str, site: Path, out: Path) -> Run:
    """One `hugo` build of `site` into `out` in a fresh process, with a cache folder of its own (see `run`)."""
    return run([hugo, "--source", str(site), "--destination", str(out), "--quiet"],
               env={"HUGO_CACHEDIR": str(site.parent / "hugo-cache")})


def count_pages(out: Path) -> int:
    """The HTML pages in `out`; Hugo's `page/1/` redirects to the first page of a list are not pages."""
    return sum(1 for p in out.rglob("*.html") if not p.as_posix().endswith("/page/1/index.html"))


def set_aside(out: Path, trash: Path) -> None:
    """Move the output folder and everything the build keeps beside it (.OUT.sitegen-*: cache, temporary trees) into
    `trash`, which is deleted once every build has been timed.

    Deleting them would make the next build slower, and by how much would depend on the order. On a file system
    without a journal (the ext4 of the README's machine), a file created within minutes of deleting thousands costs
    up to 40 times more: to allocate its inode, the kernel checks and skips each inode deleted in the last minute,
    or in the last five while its table block is unwritten (`recently_deleted`, at the top of `perf report` for such
    a build)."""
    trash.mkdir(exist_ok=True)
    for path in [out, *out.parent.glob(f".{out.name}.sitegen-*")]:
        if path.exists() or path.is_symlink():
            path.rename(Path(tempfile.mkdtemp(dir=trash)) / path.name)


def edit_one_answer(folder: Path, n: int, run: int, seed: int) -> tuple[str, str]:
    """Change one FAQ answer of one trial (a different one each run); return the trial's slug and the new text.

    If no trial has an FAQ, the overview of one trial is changed (or, in an imported trial's file, set) instead.
    """
    rng = random.Random(f"sitegen-catalog-edit:{seed}:{n}:{run}")
    paths = sorted((folder / "trials").glob("*.yaml"))
    start = rng.randrange(len(paths))
    marker = f"Edit number {rng.randint(1000, 9999)}{run}"
    for path in paths[start:] + paths[:start]:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if data.get("faq"):
            item = data["faq"][rng.randrange(len(data["faq"]))]
            item["answer"] = f"{marker}: the study team reworded this answer. {item['answer']}"
            break
    else:
        path = paths[start]
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["overview"] = f"{marker}: the study team reworded this overview. {data.get('overview', '')}".strip()
    path.write_text(dump(data), encoding="utf-8")
    return str(data["slug"]), marker


def import_corpus(files: list[Path], content: Path) -> float:
    """`sitegen import FILES... --content CONTENT` in a fresh process; its wall time. Raises BuildFailed."""
    return run([sys.executable, "-m", "sitegen", "import", *map(str, files), "--content", str(content)]).seconds


def corpus_files(folders: list[Path]) -> list[Path]:
    """The registry records (*.json, *.xml) in `folders`, each folder's in name order."""
    return [p for folder in folders for p in sorted(folder.iterdir()) if p.suffix in (".json", ".xml") and p.is_file()]


def default_corpus() -> list[Path]:
    """../shared/data/ctgov-corpus and ../shared/data/ctgov beside the repository (or, from a git worktree, beside
    its main checkout), those that exist."""
    bases = [ROOT]
    try:
        common = subprocess.run(["git", "rev-parse", "--path-format=absolute", "--git-common-dir"], cwd=ROOT,
                                capture_output=True, text=True, check=True).stdout.strip()
        bases.append(Path(common).parent)
    except (OSError, subprocess.CalledProcessError):
        pass
    for base in bases:
        found = [base.parent / "shared" / "data" / name for name in ("ctgov-corpus", "ctgov")]
        if any(f.is_dir() for f in found):
            return [f for f in found if f.is_dir()]
    return []


# ---------------------------------------------------------------------------
# Measuring and reporting

@dataclass
class Floor:
    """What creating a built site's folders and files cost a process that does nothing else (bench/fs_floor.py)."""

    folders: int
    files: int
    cpu: float  # seconds, user + system


def fs_floor(site: Path, work: Path, trash: Path) -> Floor:
    """Create the tree of `site` (its folders, and files of its files' sizes) in a fresh process; set aside after."""
    copy = work / "fs-floor"
    set_aside(copy, trash)
    try:
        done = subprocess.run([sys.executable, str(ROOT / "bench" / "fs_floor.py"), str(site), str(copy)],
                              capture_output=True, text=True, check=True)
        return Floor(**json.loads(done.stdout))
    finally:
        set_aside(copy, trash)


@dataclass
class Measured:
    """One catalog's measurements: sitegen's builds by kind, Hugo's full builds of the same trials."""

    label: str
    trials: int
    pages: int = 0
    phases: dict[str, list[Run]] = field(default_factory=lambda: {"full": [], "no-change": [], "one-edit": []})
    hugo: list[Run] = field(default_factory=list)
    hugo_pages: int = 0
    error: str | None = None  # the error line of a failed sitegen command (no later build of that kind ran)
    failed: str = "full"  # which kind of build failed
    hugo_error: str | None = None
    notes: list[str] = field(default_factory=list)
    floors: dict[str, list[Floor]] = field(default_factory=dict)  # "sitegen", "Hugo": creating its output alone


def rates(pages: int, runs: list[Run]) -> list[float]:
    """Pages per second of each run (none while the number of pages is unknown: a later build failed)."""
    return [pages / r.seconds for r in runs if r.seconds > 0] if pages else []


def cpu_per_page(pages: int, runs: list[Run]) -> list[float]:
    """User + system CPU milliseconds per page of each run."""
    return [r.cpu * 1000 / pages for r in runs] if pages else []


def ratios(m: Measured) -> list[float]:
    """sitegen's pages/s over Hugo's, round by round (the builds of a round ran one after the other)."""
    return [s / h for s, h in zip(rates(m.pages, m.phases["full"]), rates(m.hugo_pages, m.hugo)) if h > 0]


def _stats(values: list[float], fmt: str = "{:.2f}") -> str:
    if not values:
        return "–"
    median = fmt.format(statistics.median(values))
    return median if len(values) == 1 else f"{median} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


TABLE_HEAD = (
    "| catalog | HTML pages | full build (s) | pages/s | CPU/page (ms) | no-change rebuild (s) | one-edit rebuild (s) "
    "| peak RSS (MB) | Hugo pages | Hugo full build (s) | Hugo pages/s | Hugo CPU/page (ms) | pages/s ratio "
    "sitegen/Hugo |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")


def table(results: list[Measured]) -> str:
    """The results as a Markdown table, a row per catalog; a failed build's row shows its error line."""
    rows = [TABLE_HEAD]
    mb = 1024 * 1024
    for m in results:
        p = m.phases
        everything = [x for runs in p.values() for x in runs]
        ours = [_stats([x.seconds for x in p["full"]]), _stats(rates(m.pages, p["full"]), "{:,.0f}"),
                _stats(cpu_per_page(m.pages, p["full"]), "{:.1f}"), _stats([x.seconds for x in p["no-change"]]),
                _stats([x.seconds for x in p["one-edit"]]),
                f"{max(x.peak_rss for x in everything) / mb:,.0f}" if everything else "–"]
        if m.error:
            ours[{"no-change": 3, "one-edit": 4}.get(m.failed, 0)] = f"failed: {_cell(m.error)}"
        hugo = [f"{m.hugo_pages:,}" if m.hugo else "–", _stats([x.seconds for x in m.hugo]),
                _stats(rates(m.hugo_pages, m.hugo), "{:,.0f}"), _stats(cpu_per_page(m.hugo_pages, m.hugo), "{:.1f}"),
                _stats(ratios(m))]
        if m.hugo_error:
            hugo[1] = f"failed: {_cell(m.hugo_error)}"
        rows.append(f"| {m.label} | {f'{m.pages:,}' if m.pages else '–'} | " + " | ".join(ours + hugo) + " |")
    return "\n".join(rows)


def notes(m: Measured) -> str:
    mb = 1024 * 1024
    memory = [f"{name} {max(x.peak_rss for x in runs) / mb:,.0f}/{max(x.maxrss for x in runs) / mb:,.0f}"
              for name, runs in [*m.phases.items(), ("Hugo", m.hugo)] if runs]
    return (f"- {m.label}: {m.trials:,} trials; " + "; ".join(m.notes + floor_notes(m)) +
            ("; peak RSS MB, process tree/largest process: " + ", ".join(memory) if memory else ""))


def floor_notes(m: Measured) -> list[str]:
    """For each output, what creating its folders and files alone cost per page, and its build's CPU per page
    above that (the median of its full builds less the floor)."""
    said = []
    for name, floors in m.floors.items():
        pages, runs = (m.pages, m.phases["full"]) if name == "sitegen" else (m.hugo_pages, m.hugo)
        if pages and runs and floors:
            per_page = [floor.cpu * 1000 / pages for floor in floors]
            above = statistics.median(cpu_per_page(pages, runs)) - statistics.median(per_page)
            said.append(f"{name}'s output ({floors[0].folders:,} folders, {floors[0].files:,} files) created alone: "
                        f"{_stats(per_page)} ms of CPU per page, its build's median {above:.2f} ms per page above that")
    return said


def _site_title(content: Path) -> str:
    settings = yaml.safe_load((content / "site.yaml").read_text(encoding="utf-8")) if (content / "site.yaml").exists() \
        else None
    return str((settings or {}).get("title", "Clinical trials"))


def _failed(m: Measured, error: BuildFailed, work: Path) -> None:
    """Note a failed sitegen command in `m` (paths in the work folder shortened) and in the progress log."""
    m.error = str(error).replace(f"{work}{os.sep}", "")
    print(f"[{m.label}] {m.error}", file=sys.stderr, flush=True)


def measure(m: Measured, content: Path, work: Path, runs: int, jobs: int, hugo: str | None, seed: int,
            trash: Path) -> Measured:
    """Full builds, alternating sitegen and Hugo round by round (the last output set aside into `trash` before
    each), which goes first alternating too, then sitegen's no-change and one-edit rebuilds. A failed build is
    recorded in `m`, not raised."""
    out, site, hugo_out, log = work / "out", work / "hugo", work / "hugo-out", sys.stderr
    if hugo:
        started = time.perf_counter()
        hugo_site.write_site(hugo_site.read_catalog(content), site, _site_title(content))
        m.notes.append(f"Hugo site written in {time.perf_counter() - started:.1f} s")

    def ours(i: int) -> None:
        if m.error is None:
            set_aside(out, trash)
            try:
                m.phases["full"].append(build(content, out, jobs))
                print(f"[{m.label}] sitegen full build {i + 1}/{runs}: {m.phases['full'][-1].seconds:.2f} s",
                      file=log, flush=True)
            except BuildFailed as e:
                _failed(m, e, work)

    def theirs(i: int) -> None:
        if hugo and m.hugo_error is None:
            set_aside(hugo_out, trash)
            try:
                m.hugo.append(hugo_build(hugo, site, hugo_out))
                print(f"[{m.label}] Hugo full build {i + 1}/{runs}: {m.hugo[-1].seconds:.2f} s", file=log, flush=True)
            except BuildFailed as e:
                m.hugo_error = str(e)
                print(f"[{m.label}] {e}", file=log, flush=True)

    for i in range(runs):  # should creating files still cost more the more were just created, the second build
        for one in (ours, theirs) if i % 2 == 0 else (theirs, ours):  # of a round would pay: who goes first alternates
            one(i)
    if m.hugo:
        m.hugo_pages = count_pages(hugo_out)
    if m.error is not None:
        return m
    m.pages = count_pages(out)
    outputs = [("sitegen", out)] + ([("Hugo", hugo_out)] if m.hugo and m.hugo_error is None else [])
    for name, folder in outputs:  # once each: `python bench/fs_floor.py --runs N SITE...` for a closer look
        m.floors.setdefault(name, []).append(fs_floor(folder, work, trash))
        print(f"[{m.label}] {name}'s output created alone: {m.floors[name][-1].cpu:.2f} s of CPU", file=log,
              flush=True)
    try:
        m.failed = "no-change"
        for i in range(runs):
            m.phases["no-change"].append(build(content, out, jobs))
            print(f"[{m.label}] no-change rebuild {i + 1}/{runs}: {m.phases['no-change'][-1].seconds:.2f} s",
                  file=log, flush=True)
        m.failed = "one-edit"
        for i in range(runs):
            slug, marker = edit_one_answer(content, m.trials, i, seed)
            m.phases["one-edit"].append(build(content, out, jobs))
            print(f"[{m.label}] one-edit rebuild {i + 1}/{runs} ({slug}): {m.phases['one-edit'][-1].seconds:.2f} s",
                  file=log, flush=True)
            if not any(p.exists() and marker in p.read_text(encoding="utf-8") for p in (  # an answer, or an overview
                    out / "trials" / slug / "faq" / "index.html", out / "trials" / slug / "arms" / "index.html",
                    out / "trials" / slug / "index.html")):
                print(f"[{m.label}] warning: the edit ({marker!r}) is not in trials/{slug}/, its faq/ or arms/ of the "
                      "output", file=log, flush=True)
    except BuildFailed as e:
        _failed(m, e, work)
    return m


def bench_size(n: int, work: Path, runs: int, jobs: int, seed: int, check_content: bool,
               hugo: str | None, trash: Path) -> Measured:
    content = work / "content"
    log = sys.stderr
    print(f"[N={n}] generating {n} trials into {content}", file=log, flush=True)
    started = time.perf_counter()
    generate(n, content, seed)
    generated = time.perf_counter() - started
    size = sum(p.stat().st_size for p in content.rglob("*") if p.is_file())
    print(f"[N={n}] generated in {generated:.1f} s ({size / 1e6:.1f} MB)", file=log, flush=True)
    if check_content:
        problems = check(content)
        if problems:
            print("\n".join(problems[:50]), file=log)
            sys.exit(f"bench: {len(problems)} problems in the generated content")
        print(f"[N={n}] all {n} trials valid", file=log, flush=True)
    m = Measured(f"{n:,} generated", n, notes=[f"content generated in {generated:.1f} s ({size / 1e6:.1f} MB)"])
    return measure(m, content, work, runs, jobs, hugo, seed, trash)


def bench_corpus(files: list[Path], work: Path, runs: int, jobs: int, seed: int, hugo: str | None,
                 trash: Path) -> Measured:
    content = work / "content"
    m = Measured(f"real corpus ({len(files)} records)", 0)
    print(f"[{m.label}] sitegen import {len(files)} records into {content}", file=sys.stderr, flush=True)
    try:
        seconds = import_corpus(files, content)
    except BuildFailed as e:
        _failed(m, e, work)
        return m
    m.trials = sum(1 for _ in (content / "trials").glob("*.yaml"))
    m.notes.append(f"imported in {seconds:.1f} s")
    return measure(m, content, work, runs, jobs, hugo, seed, trash)


def _workdir(root: Path, name: str, trash: Path) -> Path:
    """ROOT/name (a --keep DIR's, or a temporary folder's), made empty: one this script made is set aside."""
    work = root / name
    if work.exists():
        if not (work / MARKER).exists():
            sys.exit(f"bench: {work} exists and was not made by this script; remove it or choose another DIR")
        set_aside(work, trash)
    work.mkdir(parents=True)
    (work / MARKER).touch()
    return work


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000], metavar="N",
                        help="catalog sizes to measure, in generated trials (default: 1000 10000; none: the "
                             "real corpus only)")
    parser.add_argument("--corpus", type=Path, nargs="+", metavar="DIR",
                        help="folders of ClinicalTrials.gov records (*.json, *.xml) to import and measure as the "
                             "real corpus (default: ../shared/data/ctgov-corpus and ../shared/data/ctgov beside "
                             "the repository, if they exist)")
    parser.add_argument("--no-corpus", action="store_true", help="do not measure the real corpus")
    parser.add_argument("--hugo", default="hugo", metavar="BIN", help="the Hugo binary (default: hugo on PATH)")
    parser.add_argument("--no-hugo", action="store_true", help="time sitegen alone, without Hugo")
    parser.add_argument("--runs", type=int, default=3, help="builds of each kind per catalog (default: 3)")
    parser.add_argument("--jobs", type=int, default=default_jobs(),
                        help="passed to sitegen build --jobs (default: the CPUs this process may use)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="work in DIR/N-trials (and DIR/corpus): content, out, hugo, hugo-out; keep them")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated trials (default: 0)")
    parser.add_argument("--check", action="store_true", help="validate every generated trial before building")
    args = parser.parse_args()
    if args.runs < 1 or args.jobs < 1 or min(args.sizes, default=1) < 1:
        parser.error("--runs, --jobs and --sizes must be at least 1")
    hugo = None if args.no_hugo else shutil.which(args.hugo)
    if not args.no_hugo and hugo is None:
        print(HUGO_MISSING.format(hugo=args.hugo), file=sys.stderr)
        sys.exit(2)
    files: list[Path] = []
    if not args.no_corpus:
        folders = args.corpus or default_corpus()
        missing = [str(f) for f in folders if not f.is_dir()]
        if missing:
            parser.error(f"--corpus: not a folder: {', '.join(missing)}")
        files = corpus_files(folders)
        if args.corpus and not files:
            parser.error(f"--corpus: no *.json or *.xml records in {', '.join(map(str, folders))}")
        if not files:
            print("bench: no real corpus found beside the repository (../shared/data/ctgov-corpus, ctgov); "
                  "pass --corpus DIR... to measure one", file=sys.stderr)
    if not args.sizes and not files:
        parser.error("nothing to measure: give --sizes or a corpus")

    tmp = tempfile.TemporaryDirectory(prefix="sitegen-catalog-") if args.keep is None else None
    root = Path(tmp.name) if tmp is not None else args.keep.resolve()  # the builds run from the project folder
    trash = root / TRASH  # deleted once every build is timed (see set_aside), with what an earlier run left there
    results = []
    compileall.compile_dir(ROOT / "sitegen", quiet=1)  # as `pip install` does (see above)
    try:
        for n in args.sizes:
            work = _workdir(root, f"{n}-trials", trash)
            results.append(bench_size(n, work, args.runs, args.jobs, args.seed, args.check, hugo, trash))
        if files:
            work = _workdir(root, "corpus", trash)
            results.append(bench_corpus(files, work, args.runs, args.jobs, args.seed, hugo, trash))
    finally:
        shutil.rmtree(trash, ignore_errors=True)
        if tmp is not None:
            tmp.cleanup()

    version = subprocess.run([hugo, "version"], capture_output=True, text=True, check=False).stdout.split()[:2] \
        if hugo else []
    print(f"sitegen build of a catalog beside Hugo: python bench/catalog.py {' '.join(sys.argv[1:])}")
    print(f"- date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"- Python {sys.version.split()[0]} on {sys.platform}; {' '.join(version) or 'Hugo not run'}; "
          f"CPUs: os.cpu_count() = {os.cpu_count()}, usable (sched_getaffinity) = {default_jobs()}; "
          f"sitegen build --jobs {args.jobs}")
    print(f"- times: median of {args.runs} (min–max), a cold process each; full builds alternate sitegen and Hugo, "
          "each into a new folder (the last one moved aside, all deleted at the end); pages/s and CPU/page (user + "
          "system, the process and its workers) per run; the ratio is sitegen's pages/s over Hugo's in the same round; peak RSS: largest sum over the "
          "build's process tree, any sitegen build of that catalog\n")
    print(table(results))
    print()
    for m in results:
        print(notes(m))
    if any(m.error or m.hugo_error for m in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
