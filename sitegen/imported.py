"""A trial imported from the registry: the editor's file (`<nct>.yaml`) merged over the registry's facts
(`<nct>.ctgov.json`), field by field, the editor's winning.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel

from .load import Document
from .pages import PHASE_LABELS, STATUS_LABELS
from .registry import Study, load_study
from .schema import Identifier, Location, Locations, RegistryTrial, Source, Sponsor, Trial
from .validate import validate_editor_file, validate_trial

REGISTRY_SUFFIX = ".ctgov.json"


def registry_file(path: Path) -> Path:
    """Where the registry's file of the trial in `path` (`<slug>.yaml`) is: beside it, as `<slug>.ctgov.json`."""
    return path.with_name(path.name.removesuffix(".yaml") + REGISTRY_SUFFIX)


def validate(doc: Document, path: Path) -> Trial:
    """The trial of an editor's file: merged with the registry's file beside it when there is one, else validated
    as a hand-written trial (exactly as without a registry)."""
    record = registry_file(path)
    if not record.is_file():
        return validate_trial(doc)
    return merge(validate_editor_file(doc), load_study(record))


def merge(editor: BaseModel, study: Study) -> RegistryTrial:
    """The registry trial: every field the editor set, and the registry's facts in the fields they fit."""
    given: dict[str, Any] = {name: getattr(editor, name) for name in editor.model_fields_set}
    dated = next((d for d in (study.last_update, study.first_posted) if d is not None), None)
    updated = dated.last_day() if dated is not None else None  # the record's date, never the clock's
    places = list(dict.fromkeys(s.city or s.country for s in study.sites if s.city or s.country))
    facts: dict[str, Any] = {
        "title": study.title,
        "official_title": study.official_title or None,
        "identifiers": [Identifier(registry="ClinicalTrials.gov", value=study.nct_id, url=study.url)] + [
            Identifier(registry=issuer or "Other identifier", value=value) for value, issuer in study.secondary_ids],
        "condition": study.conditions[0] if study.conditions else "Condition not given",
        "status": study.status_key if study.status_key in STATUS_LABELS else None,
        "phase": key if (key := study.phase_key) in PHASE_LABELS else None,
        "updated": updated,
        "sponsors": ([Sponsor(name=study.sponsor, role="Lead sponsor")] if study.sponsor else [])
        + [Sponsor(name=name, role="Collaborator") for name in study.collaborators],
        "purpose": None, "overview": None, "eligibility": None, "timeline": [], "interventions": [], "arms": [],
        "locations": Locations(named=[Location(name=place) for place in places]),
        "sources": [Source(name=f"ClinicalTrials.gov record {study.nct_id}", url=study.url)],
    }
    values: dict[str, Any] = {name: make() for name, make in _defaults().items()}
    values.update(facts)
    values.update({name: value for name, value in given.items() if value is not None})
    return RegistryTrial.model_construct(registry=study, editor_fields=frozenset(given), **values)


@functools.cache
def _defaults() -> dict[str, Callable[[], Any]]:
    """What makes each field's default value of a Trial, a new one each time (None for a field it requires).
    pydantic's get_default inspects a factory's signature on each call: half the time of loading a registry trial."""
    made: dict[str, Callable[[], Any]] = {}
    for name, info in Trial.model_fields.items():
        factory = info.default_factory
        if info.is_required():
            made[name] = lambda: None
        elif factory is not None:
            made[name] = cast(Callable[[], Any], factory)
        else:
            made[name] = functools.partial(copy.deepcopy, info.default)
    return made
