"""Turn loaded YAML documents into typed schema objects, reporting every problem at its file:line:column."""

from __future__ import annotations

import difflib
import functools
from collections import Counter
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .bib import Reference, web_link
from .cite import UnknownKey, cite_keys, cited_at, uncited_brackets
from .errors import ContentError, Problem
from .glossary import glossary_conflicts
from .load import MAX_TEXT, Document, PathKey, read_text
from .markup import markdown_problem
from .pages import STATUS_LABELS, recruitment, registry_closed, spots_past, status_of
from .registry import date_words
from .schema import EditorTrial, Glossary, RegistryTrial, Settings, Trial

M = TypeVar("M", bound=BaseModel)

_TYPE_NAMES = {
    bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list",
    dict: "a mapping", type(None): "nothing (null)",
}


def validate_settings(doc: Document) -> Settings:
    """Validate content/site.yaml."""
    return _validate(doc, Settings)


def _text_problems(doc: Document, data: Any, path: PathKey = ()) -> list[Problem]:
    """Text too long, or Markdown the parser cannot read safely (markup.markdown_problem)."""
    found = []
    for key, value in data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ():
        if isinstance(value, str):
            message = _text_problem(value)
            if message:
                found.append(problem_at(doc, path + (key,), message))
        elif isinstance(value, (dict, list)):
            found += _text_problems(doc, value, path + (key,))
    return found


def _text_problem(text: str) -> str:
    """What is wrong with one text field for the Markdown parser, or '' when nothing is."""
    if len(text) > MAX_TEXT:
        return f"expected text of at most {MAX_TEXT:,} characters, got {len(text):,}"
    return markdown_problem(text)


def validate_trial(doc: Document) -> Trial:
    """Validate one trial file, including ids that must be unique and references between them."""
    too_big = _text_problems(doc, doc.data)
    if too_big:
        raise ContentError(too_big)
    trial = _validate(doc, Trial)
    problems = [problem_at(doc, path, message) for path, message in cross_references(trial) + link_problems(trial)]
    if problems:
        raise ContentError(problems)
    return trial


def validate_editor_file(doc: Document) -> BaseModel:
    """Validate the editor's file of a registry trial: a trial's fields, each optional (an EditorTrial), its links by
    the one link rule, as a trial file's are."""
    too_big = _text_problems(doc, doc.data)
    if too_big:
        raise ContentError(too_big)
    editor: BaseModel = _validate(doc, EditorTrial)
    problems = [problem_at(doc, path, message) for path, message in link_problems(editor)]
    if problems:
        raise ContentError(problems)
    return editor


def validate_glossary(doc: Document) -> Glossary:
    """Validate content/glossary.yaml, including that no id or written form belongs to two entries."""
    glossary = _validate(doc, Glossary)
    problems = [problem_at(doc, path, message) for path, message in glossary_conflicts(glossary) + link_problems(glossary)]
    if problems:
        raise ContentError(problems)
    return glossary


def _validate(doc: Document, model: type[M]) -> M:
    if not isinstance(doc.data, dict):
        raise ContentError([problem_at(doc, (), f"expected a mapping of fields, got {_describe(doc.data)}")])
    try:
        return model.model_validate(doc.data)
    except ValidationError as e:
        errors = e.errors()
        misspelt = {
            tuple(err["loc"][:-1]) + (hint,)
            for err in errors if err["type"] == "extra_forbidden"
            for hint in difflib.get_close_matches(str(err["loc"][-1]), _fields_at(model, tuple(err["loc"][:-1])), n=1)
        }
        # A missing field whose misspelling is reported as unknown ("did you mean ...?") is one mistake, not two.
        errors = [err for err in errors if not (err["type"] == "missing" and tuple(err["loc"]) in misspelt)]
        raise ContentError([_from_pydantic(doc, model, err) for err in errors]) from None


def _from_pydantic(doc: Document, model: type[BaseModel], err: Any) -> Problem:
    loc: PathKey = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith(("function-", "literal["))))
    kind = err["type"]
    if kind == "extra_forbidden":
        name = str(loc[-1])
        fields = _fields_at(model, loc[:-1])
        hint = difflib.get_close_matches(name, fields, n=1)
        message = f"unknown field '{name}'" + (f"; did you mean '{hint[0]}'?" if hint else "")
        if fields and not hint:
            message += f"; expected one of: {', '.join(sorted(fields))}"
        return problem_at(doc, loc, message, key=True)
    if kind == "missing":
        return problem_at(doc, loc, "missing required field")
    value = err.get("input")
    expected = _expected(err)
    return problem_at(doc, loc, f"expected {expected}, got {_describe(value)}")


def _expected(err: Any) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    simple = {
        "string_type": "text", "int_type": "a whole number", "float_type": "a number", "bool_type": "true or false",
        "list_type": "a list", "dict_type": "a mapping", "model_type": "a mapping of fields",
        "date_type": "a date (YYYY-MM-DD)", "date_from_datetime_inexact": "a date (YYYY-MM-DD)",
        "model_attributes_type": "a mapping of fields", "int_from_float": "a whole number",
        "string_too_short": "non-empty text",
    }
    if kind in simple:
        return simple[kind]
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    if kind == "finite_number":
        return "a finite number"
    if kind == "literal_error":
        return f"one of {ctx.get('expected', '')}"
    if kind == "string_pattern_mismatch":
        return _pattern_name(str(ctx.get("pattern", "")))
    if kind in ("greater_than_equal", "greater_than"):
        return f"a number {'>=' if kind.endswith('equal') else '>'} {ctx.get('ge', ctx.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return f"a number {'<=' if kind.endswith('equal') else '<'} {ctx.get('le', ctx.get('lt'))}"
    if kind == "too_short":
        return f"at least {ctx.get('min_length', 1)} item(s)"
    if kind == "too_long":
        return f"at most {ctx.get('max_length', 0):,} item(s)"
    return str(err["msg"]).lower()


def _pattern_name(pattern: str) -> str:
    names = {
        "^[a-z0-9]+(?:-[a-z0-9]+)*$": "an id of lowercase letters, digits and single hyphens (e.g. 'arm-a')",
        r"^(https?://|mailto:)\S+$": "a URL starting with http://, https:// or mailto:",
        r"^\d{4}-(0[1-9]|1[0-2])$": "a month as YYYY-MM",
        "^[A-Z]{2}$": "a two-letter country code in capitals (e.g. 'CA')",
        r"^[^\s;\[\]@]+$": "a cite key of references.bib, without spaces, '@', ';' or brackets (e.g. 'chen2021')",
    }
    return names.get(pattern, f"text matching {pattern}")


def _describe(value: Any) -> str:
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"'{shown}'" if value.strip() else "empty text"
    if isinstance(value, list):
        return f"a list of {len(value):,}"
    for kind, name in _TYPE_NAMES.items():
        if type(value) is kind:
            return f"{name} ({value})" if kind in (int, float, bool) else name
    return type(value).__name__


def _fields_at(model: type[BaseModel], path: PathKey) -> list[str]:
    """The field names of the model found at `path` (skipping list indexes)."""
    current: Any = model
    for part in path:
        if isinstance(part, int):
            continue
        info = current.model_fields.get(part) if isinstance(current, type) and issubclass(current, BaseModel) else None
        if info is None:
            return []
        current = _model_in(info.annotation)
    return list(current.model_fields) if isinstance(current, type) and issubclass(current, BaseModel) else []


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def problem_at(doc: Document, path: PathKey, message: str, key: bool = False) -> Problem:
    pos = doc.position(path, key=key)
    return Problem(doc.file, pos.line, pos.column, f"{_dotted(path)}: {message}" if path else message)


def citation_problem(doc: Document, unknown: UnknownKey) -> Problem:
    """The problem of a cited key, at the place its citation is written: the key's `occurrence`th citation in the
    text of its field in the file. At the field's start when the text does not hold it as a page reads it (a key
    written with a quoted string's escapes; a finding's `source`, a bare key shown as a citation)."""
    problem = problem_at(doc, unknown.path, unknown.message)
    start, end = doc.span(unknown.path)
    try:
        lines = read_text(Path(doc.file)).splitlines()[start.line - 1: end.line]  # asked only when a key is wrong
    except (ContentError, OSError):
        return problem
    if not lines:
        return problem
    lines[-1] = lines[-1][: end.column - 1]
    lines[0] = " " * (start.column - 1) + lines[0][start.column - 1:]  # the field's text only, at its columns
    text = "\n".join(lines)
    offsets = ([offset for _, offset in uncited_brackets(text)] if unknown.written
               else [offset for key, offset in cited_at(text) if key == unknown.key])
    if unknown.occurrence >= len(offsets):
        return problem
    offset = offsets[unknown.occurrence]
    line_start = text.rfind("\n", 0, offset) + 1
    return Problem(doc.file, start.line + text.count("\n", 0, offset), offset - line_start + 1, problem.message)


def _dotted(path: PathKey) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def link_problems(model: Any, path: PathKey = ()) -> list[tuple[PathKey, str]]:
    """Every `url` field that the one link rule (bib.web_link, as for references) refuses; mailto: is allowed."""
    if isinstance(model, list):
        return [found for i, item in enumerate(model) for found in link_problems(item, path + (i,))]
    if not isinstance(model, BaseModel):
        return []
    found = []
    refused = "expected an http(s) address with a host, no user or password, a valid port and no quotes, spaces or <>"
    for name in _linking_fields(type(model)):
        value = getattr(model, name)
        if name == "url" and isinstance(value, str) and not value.startswith("mailto:") and not web_link(value):
            found.append((path + (name,), refused))
        else:
            found += link_problems(value, path + (name,))
    return found


@functools.cache
def _linking_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields of a model that may hold a link: `url`, and those whose type has a model in it."""
    return tuple(name for name, info in model.model_fields.items() if name == "url" or _model_in(info.annotation))


def cross_references(trial: Trial) -> list[tuple[PathKey, str]]:
    """Ids that must be unique, and references between parts of a trial that must point somewhere."""
    found: list[tuple[PathKey, str]] = []
    for name, ids in (
        ("interventions", [i.id for i in trial.interventions]),
        ("arms", [a.id for a in trial.arms]),
        ("timeline", [s.id for s in trial.timeline]),
    ):
        for dupe in sorted(k for k, n in Counter(ids).items() if n > 1):
            where = [i for i, x in enumerate(ids) if x == dupe][1]
            found.append(((name, where, "id"), f"id '{dupe}' is already used; ids must be unique"))
    drug_ids = [i.id for i in trial.interventions]
    for a_index, arm in enumerate(trial.arms):
        for d_index, drug in enumerate(arm.drugs):
            if drug not in drug_ids:
                found.append((("arms", a_index, "drugs", d_index), _unknown("drug", drug, drug_ids)))
    seen: set[tuple[str, str, str]] = set()
    for p_index, approval in enumerate(trial.approvals):
        if approval.drug not in drug_ids:
            found.append((("approvals", p_index, "drug"), _unknown("drug", approval.drug, drug_ids)))
        key = (approval.drug, approval.brand, approval.jurisdiction)
        if key in seen:
            found.append(
                (("approvals", p_index), f"{approval.brand} in {approval.jurisdiction} is listed twice; list it once")
            )
        seen.add(key)
    for s_index, stage in enumerate(trial.timeline):
        if stage.weeks_min and stage.weeks_max and stage.weeks_max < stage.weeks_min:
            found.append((("timeline", s_index, "weeks_max"), "expected a number >= weeks_min"))
    ages = trial.eligibility
    if ages.min_age is not None and ages.max_age is not None and ages.max_age < ages.min_age:
        found.append((("eligibility", "max_age"), "expected a number >= min_age"))
    return found


def _unknown(what: str, value: str, known: list[str]) -> str:
    hint = difflib.get_close_matches(value, known, n=1)
    suggestion = f"; did you mean '{hint[0]}'?" if hint else f"; expected one of: {', '.join(known)}"
    return f"'{value}' is not the id of any {what} in interventions{suggestion}"


def content_warnings(trial: Trial, doc: Document, uncited: list[Reference]) -> list[Problem]:
    """Things a careful editor wants to know that do not stop a build (errors under --strict)."""
    found = [Problem(r.file, r.line, 1, f"reference '{r.key}' is not cited anywhere", "warning") for r in uncited]
    for i, question in enumerate(trial.faq):
        if not cite_keys(question.answer):
            found.append(warning_at(doc, ("faq", i, "answer"), "this answer cites no source"))
    if isinstance(trial, RegistryTrial) and registry_closed(trial):
        found.append(warning_at(doc, ("status",), f"the registry's record says the trial is "
                                f"'{trial.registry.status_label}', not '{STATUS_LABELS[trial.status]}': its pages show the "
                                "registry's status; remove status from this file, or correct it"))
    if trial.spots_left is not None and recruitment(trial) != "open":
        found.append(warning_at(doc, ("spots_left",), f"the trial's status is '{status_of(trial)[0]}': its pages do not "
                                "show places left in a trial that does not take new participants; remove spots_left, "
                                "or correct the status"))
    elif trial.spots_left is not None and spots_past(trial):
        found.append(warning_at(doc, ("spots_left", "by"), f"{date_words(trial.spots_left.by)} had passed when this content was "
                                f"last checked (updated: {trial.updated}): the page says the count is an old "
                                "projection; check it against the listing and update or remove spots_left"))
    for name in ("inclusion", "exclusion") if trial.eligibility is not None else ():  # none in a registry trial
        if getattr(trial.eligibility, name).hidden is None:
            found.append(warning_at(doc, ("eligibility", name), "hidden is missing: say how many criteria the listing does not show (0 if none)"))
    return found


def warning_at(doc: Document, path: PathKey, message: str) -> Problem:
    p = problem_at(doc, path, message)
    return Problem(p.file, p.line, p.column, p.message, "warning")
