"""A Hugo site of the trials in a sitegen catalog folder, so that bench/catalog.py can time Hugo on the same work.

`read_catalog(CONTENT)` reads `CONTENT/trials/*.yaml` (and, for a trial `sitegen import` wrote, the registry record
`<slug>.ctgov.json` beside it) into `TrialPages`: per trial, the pages a sitegen catalog gives it (summary, FAQ,
eligibility, timeline, arms, approvals, findings and, with a glossary, the glossary) as Markdown, made of the
same text (citations left out: Hugo has no bibliography). `write_site(trials, SITE)` writes a Hugo project:
`config.toml`, layouts written here (a base layout with a skip link, the trial's navigation and a footer; a
paginated home list; taxonomy and term lists; a 404 page; no theme, nothing downloaded) and one content file
per page, each with YAML front matter. The catalog's own pages map onto Hugo's: the home page lists the
trials 50 to a page, and the condition, status, phase and location listings are taxonomies whose term pages
list 50 to a page; aliases and section pages are off, so the HTML pages match sitegen's in number (for
generated trials, exactly). Links are relative, as sitegen's are, so that both sites work from disk.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sitegen.cite import CITATION

# A trial's pages, in sitegen's navigation order: (name, label); "summary" is the trial's own URL.
PAGES = (("summary", "Summary"), ("faq", "FAQ"), ("eligibility", "Eligibility"), ("timeline", "Timeline"),
         ("arms", "Treatment arms"), ("approvals", "Approvals"), ("findings", "Findings"), ("glossary", "Glossary"))
TAXONOMIES = {"condition": "conditions", "state": "status", "phase": "phases", "location": "locations"}
PER_PAGE = 50
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it: several times faster
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@dataclass
class TrialPages:
    slug: str
    title: str
    summary: str  # one plain line for the lists
    terms: dict[str, list[str]]  # taxonomy (plural) -> values, for the listings
    pages: dict[str, str] = field(default_factory=dict)  # page name (PAGES) -> Markdown body


def _text(value: Any) -> str:
    """Prose without [@key] citations, its whitespace as written."""
    return CITATION.sub("", str(value or "")).strip()


def _line(value: Any, limit: int = 240) -> str:
    line = " ".join(_text(value).split())
    return line if len(line) <= limit else line[: limit - 1].rsplit(" ", 1)[0] + "…"


def _bullets(items: list[str]) -> str:
    return "\n".join(f"- {' '.join(_text(i).split())}" for i in items if _text(i))


def _section(title: str, body: str) -> str:
    return f"## {title}\n\n{body.strip()}\n" if body.strip() else ""


def _join(*parts: str) -> str:
    return "\n\n".join(p.strip() for p in parts if p and p.strip()) + "\n"


def _words(value: Any) -> str:
    """'NOT_YET_RECRUITING' -> 'Not yet recruiting', 'PHASE2' -> 'Phase 2', 'phase-1-2' -> 'Phase 1 2'."""
    text = re.sub(r"PHASE(\d)", r"PHASE \1", str(value)).replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:].lower() if text.isupper() or text.islower() else text


def glossary_entries(content: Path) -> list[dict[str, Any]]:
    """The entries of CONTENT/glossary.yaml ([] without one)."""
    path = content / "glossary.yaml"
    if not path.exists():
        return []
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader) or {}
    return [e for e in data.get("terms", []) if isinstance(e, dict) and e.get("term")]


def _abbreviated(entry: dict[str, Any]) -> str:
    return f" ({entry['abbreviation']})" if entry.get("abbreviation") else ""


def _glossary_page(text: str, entries: list[dict[str, Any]]) -> str:
    """The glossary entries the trial's text uses (term in any case, abbreviation as written), as sitegen shows."""
    lower = text.lower()
    used = [e for e in entries if str(e["term"]).lower() in lower
            or (e.get("abbreviation") and re.search(rf"\b{re.escape(str(e['abbreviation']))}\b", text))]
    body = "\n\n".join(f"## {e['term']}{_abbreviated(e)}\n\n{' '.join(str(e.get('definition', '')).split())}"
                       for e in used)
    return body + "\n" if used else "No term of the glossary appears on this trial's pages.\n"


def from_trial(data: dict[str, Any], glossary: list[dict[str, Any]]) -> TrialPages:
    """A trial in sitegen's own schema (content/trials/<slug>.yaml), as the bench's generator writes it."""
    e = data.get("eligibility") or {}
    places = [p["name"] for p in (data.get("locations") or {}).get("named", []) if p.get("name")]
    others = (data.get("locations") or {}).get("others", 0)
    facts = [f"Condition: {data.get('condition', '')}", f"Phase: {_words(data.get('phase', ''))}",
             f"Status: {_words(data.get('status', ''))}"]
    facts += [f"Sponsor: {s['name']} ({s.get('role', 'Sponsor')})" for s in data.get("sponsors") or []]
    if data.get("principal_investigator"):
        facts.append(f"Principal investigator: {data['principal_investigator']['name']}")
    pages = {"summary": _join(
        _section("Purpose", _text(data.get("purpose"))), _section("Overview", _text(data.get("overview"))),
        _section("Key facts", _bullets(facts)),
        _section("Locations", _bullets(places) + (f"\n\nAnd {others} more places." if others else "")))}
    pages["faq"] = _join(*(f"## {' '.join(str(q['question']).split())}\n\n{_text(q['answer'])}"
                           for q in data.get("faq") or [])) if data.get("faq") else "No questions yet.\n"
    ages = f"Age: {e.get('min_age', 'any')} to {e.get('max_age', 'any')} years; sex: {e.get('sex', 'any')}."

    def criteria(name: str) -> str:
        c = e.get(name) or {}
        hidden = c.get("hidden")
        return _bullets(c.get("shown", [])) + (f"\n\n{hidden} more are listed in the registry." if hidden else "")

    pages["eligibility"] = _join(
        _text(e.get("summary")), ages, _section("Medicines you must not take", _bullets(e.get("must_not_take", []))),
        _text(e.get("medication_note")), _section("What rules you out", _bullets(e.get("disqualifiers", []))),
        _section("Inclusion criteria", criteria("inclusion")), _section("Exclusion criteria", criteria("exclusion")))
    pages["timeline"] = _join(*(
        _section(f"{s.get('name', s.get('id', ''))}" + (f" ({s['duration']})" if s.get("duration") else ""),
                 _text(s.get("description"))) for s in data.get("timeline") or []))
    drugs = [f"{i['name']} ({i.get('drug_class', '')}" + ("; " + ", ".join(i["brand_names"]) if i.get("brand_names")
                                                        else "") + ")" for i in data.get("interventions") or []]
    pages["arms"] = _join(_section("Overview", _text(data.get("overview"))), _section("Interventions", _bullets(drugs)),
                          *(_section(f"{a.get('group', '')}: {a.get('name', '')}", _join(
                              f"Type: {a.get('type', '')}. Drugs: {', '.join(a.get('drugs', []))}.",
                              _text(a.get("schedule")), _text(a.get("crossover"))))
                            for a in data.get("arms") or []))
    rows = [f"| {a.get('drug', '')} | {a.get('brand', '')} | {a.get('jurisdiction', '')} | "
            f"{', '.join(a.get('indications', []))} |" for a in data.get("approvals") or []]
    pages["approvals"] = ("| Drug | Brand | Where | For |\n| --- | --- | --- | --- |\n" + "\n".join(rows) + "\n"
                          if rows else "No approvals are listed.\n")
    pages["findings"] = _join(*(_section(f"Source {f.get('source', '')}", _bullets(f.get("points", [])))
                                for f in data.get("findings") or [])) if data.get("findings") else \
        "No findings are listed.\n"
    if glossary:
        pages["glossary"] = _glossary_page("\n".join(pages.values()), glossary)
    return TrialPages(str(data["slug"]), str(data.get("title", data["slug"])), _line(data.get("purpose")), {
        "conditions": [str(data["condition"])] if data.get("condition") else [],
        "status": [_words(data["status"])] if data.get("status") else [],
        "phases": [_words(data["phase"])] if data.get("phase") else [],
        "locations": places,
    }, pages)


def _get(study: dict[str, Any], path: str) -> Any:
    value: Any = study.get("protocolSection", study)
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def from_ctgov(data: dict[str, Any], study: dict[str, Any], glossary: list[dict[str, Any]]) -> TrialPages:
    """A trial `sitegen import` wrote: its file (`data`, whose fields win) over the registry's record (`study`)."""
    conditions = [str(c) for c in _list(_get(study, "conditionsModule.conditions"))]
    phases = [_words(p) for p in _list(_get(study, "designModule.phases"))] or ["Not applicable"]
    status = _words(_get(study, "statusModule.overallStatus") or "Unknown")
    sites = [s for s in _list(_get(study, "contactsLocationsModule.locations")) if isinstance(s, dict)]
    cities = list(dict.fromkeys(str(s["city"]) for s in sites if s.get("city")))
    sponsor = _get(study, "sponsorCollaboratorsModule.leadSponsor.name")
    facts = [f"Conditions: {', '.join(conditions)}", f"Phase: {', '.join(phases)}", f"Status: {status}",
             f"Sponsor: {sponsor or 'not given'}", f"Enrollment: {_get(study, 'designModule.enrollmentInfo.count')}"]
    summary = _text(data.get("purpose")) or _text(_get(study, "descriptionModule.briefSummary"))
    places = [", ".join(str(s[k]) for k in ("facility", "city", "state", "country") if s.get(k)) for s in sites]
    pages = {"summary": _join(
        _section("Purpose", summary), _section("Description", _text(_get(study, "descriptionModule.detailedDescription"))),
        _section("Key facts", _bullets(facts)), _section("Locations", _bullets(places)))}
    if data.get("faq"):
        pages["faq"] = _join(*(f"## {q['question']}\n\n{_text(q['answer'])}" for q in data["faq"]))

    def e(key: str) -> Any:
        return _get(study, f"eligibilityModule.{key}")

    pages["eligibility"] = _join(f"Age: {e('minimumAge') or 'any'} to {e('maximumAge') or 'any'}; sex: "
                                 f"{_words(e('sex') or 'ALL')}.", _text(e("eligibilityCriteria")))
    dates = [f"{name}: {(_get(study, f'statusModule.{key}') or {}).get('date', 'not given')}" for name, key in
             (("Start", "startDateStruct"), ("Primary completion", "primaryCompletionDateStruct"),
              ("Completion", "completionDateStruct"))]
    outcomes = [f"{o.get('measure', '')} ({o.get('timeFrame', '')})" for kind in ("primary", "secondary")
                for o in _list(_get(study, f"outcomesModule.{kind}Outcomes")) if isinstance(o, dict)]
    pages["timeline"] = _join(_section("Dates", _bullets(dates)), _section("Outcomes measured", _bullets(outcomes)))
    groups = [a for a in _list(_get(study, "armsInterventionsModule.armGroups")) if isinstance(a, dict)]
    drugs = [f"{i.get('name', '')} ({_words(i.get('type', ''))}): {_line(i.get('description'), 400)}"
             for i in _list(_get(study, "armsInterventionsModule.interventions")) if isinstance(i, dict)]
    pages["arms"] = _join(_section("Interventions", _bullets(drugs)), *(
        _section(f"{a.get('label', '')} ({_words(a.get('type', ''))})", _text(a.get("description")))
        for a in groups))
    references = [str(r.get("citation", "")) for r in _list(_get(study, "referencesModule.references"))
                  if isinstance(r, dict)]
    pages["findings"] = _section("References", _bullets(references)) or "No publications are listed.\n"
    if glossary:
        pages["glossary"] = _glossary_page("\n".join(pages.values()), glossary)
    title = data.get("title") or _get(study, "identificationModule.briefTitle") or data["slug"]
    return TrialPages(str(data["slug"]), str(title), _line(summary), {
        "conditions": conditions, "status": [status], "phases": phases, "locations": cities}, pages)


def read_catalog(content: Path) -> list[TrialPages]:
    """Every trial of a catalog folder, in file-name order."""
    glossary = glossary_entries(content)
    trials = []
    for path in sorted((content / "trials").glob("*.yaml")):
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader) or {}
        data.setdefault("slug", path.stem)
        record = path.with_name(f"{path.stem}.ctgov.json")
        if record.exists():
            trials.append(from_ctgov(data, json.loads(record.read_text(encoding="utf-8")), glossary))
        else:
            trials.append(from_trial(data, glossary))
    return trials


CONFIG = """\
baseURL = "https://example.org/"
languageCode = "en"
title = {title}
disableAliases = true
relativeURLs = true
disableKinds = ["section"]
paginate = {per_page}
enableRobotsTXT = false

[taxonomies]
{taxonomies}

[outputs]
home = ["HTML", "RSS"]
page = ["HTML"]
taxonomy = ["HTML"]
term = ["HTML"]

[params.labels]
{labels}
"""

ITEM = """\
<li><a href="{{ .RelPermalink }}">{{ .Title }}</a>
  <p>{{ delimit .Params.conditions ", " }} · {{ delimit .Params.phases ", " }} · {{ delimit .Params.status ", " }}</p>
  <p>{{ .Params.teaser }}</p>
  {{ with .Params.locations }}<p>Where: {{ delimit (first 5 .) ", " }}{{ if gt (len .) 5 }} and {{ sub (len .) 5 }} more{{ end }}</p>{{ end }}
</li>
"""

LAYOUTS = {
    "_default/baseof.html": """\
<!DOCTYPE html>
<html lang="{{ site.LanguageCode }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ if not .IsHome }}{{ .Title }} | {{ end }}{{ site.Title }}</title>
<meta name="description" content="{{ with .Params.teaser }}{{ . }}{{ else }}{{ site.Title }}{{ end }}">
<link rel="canonical" href="{{ .Permalink }}">
</head>
<body>
<a href="#main">Skip to main content</a>
<header>
  <p><a href="{{ "" | relURL }}">{{ site.Title }}</a></p>
  {{ with .Params.trial }}<nav aria-label="This trial"><ul>
    {{ range $.Params.nav }}<li><a href="{{ printf "/trials/%s/%s" $.Params.trial (cond (eq . "summary") "" (printf "%s/" .)) | relURL }}"{{ if eq . $.Params.tab }} aria-current="page"{{ end }}>{{ index site.Params.labels . }}</a></li>
    {{ end }}</ul></nav>{{ end }}
  <nav aria-label="Browse"><ul>{{ range $plural, $_ := site.Taxonomies }}<li><a href="{{ printf "/%s/" $plural | relURL }}">{{ title $plural }}</a></li>{{ end }}</ul></nav>
</header>
<main id="main">
{{ block "main" . }}{{ end }}
</main>
<footer><p>{{ site.Title }} · <a href="{{ "sitemap.xml" | relURL }}">Sitemap</a> · <a href="{{ "index.xml" | relURL }}">Feed</a></p></footer>
</body>
</html>
""",
    "_default/single.html": """\
{{ define "main" }}
<h1>{{ .Title }}</h1>
{{ .Content }}
{{ end }}
""",
    "partials/item.html": ITEM,
    "index.html": """\
{{ define "main" }}
<h1>{{ site.Title }}</h1>
{{ $pager := .Paginate (where site.RegularPages "Params.tab" "summary") }}
<ul>{{ range $pager.Pages }}{{ partial "item.html" . }}{{ end }}</ul>
{{ template "_internal/pagination.html" . }}
{{ end }}
""",
    "_default/taxonomy.html": """\
{{ define "main" }}
<h1>{{ .Title }}</h1>
<ul>{{ range .Data.Terms.ByCount }}<li><a href="{{ .Page.RelPermalink }}">{{ .Page.Title }}</a> ({{ .Count }})</li>{{ end }}</ul>
{{ end }}
""",
    "_default/term.html": """\
{{ define "main" }}
<h1>{{ .Title }}</h1>
{{ $pager := .Paginate .Pages }}
<ul>{{ range $pager.Pages }}{{ partial "item.html" . }}{{ end }}</ul>
{{ template "_internal/pagination.html" . }}
{{ end }}
""",
    "404.html": """\
{{ define "main" }}
<h1>Page not found</h1>
<p><a href="{{ "" | relURL }}">See every trial</a></p>
{{ end }}
""",
}


def _toml(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def front_matter(data: dict[str, Any]) -> str:
    return "---\n" + str(yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000)) + "---\n"


def write_site(trials: list[TrialPages], folder: Path, title: str = "Clinical trials") -> int:
    """Write a Hugo project for `trials` into `folder` (made if missing); return how many content files it has."""
    labels = dict(PAGES)
    (folder / "content" / "trials").mkdir(parents=True, exist_ok=True)
    (folder / "config.toml").write_text(CONFIG.format(
        title=_toml(title), per_page=PER_PAGE,
        taxonomies="\n".join(f"{singular} = {_toml(plural)}" for singular, plural in TAXONOMIES.items()),
        labels="\n".join(f"{name} = {_toml(label)}" for name, label in PAGES)), encoding="utf-8")
    for name, text in LAYOUTS.items():
        path = folder / "layouts" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    written = 0
    for trial in trials:
        own = folder / "content" / "trials" / trial.slug
        own.mkdir(exist_ok=True)
        nav = [name for name, _ in PAGES if name in trial.pages]
        for name in nav:
            meta: dict[str, Any] = {"title": trial.title if name == "summary" else f"{labels[name]}: {trial.title}",
                                    "trial": trial.slug, "tab": name, "nav": nav}
            if name == "summary":
                meta.update({"url": f"/trials/{trial.slug}/", "teaser": trial.summary, **trial.terms})
            (own / f"{name}.md").write_text(front_matter(meta) + "\n" + trial.pages[name], encoding="utf-8")
            written += 1
    return written
